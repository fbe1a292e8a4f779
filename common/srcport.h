/*
 * srcport.h: source ports for mtlsd's TCP connections to backends, chosen
 * explicitly so a session can be published under its address pair before
 * connect() (see srcport.c for why not bind() with port 0).
 */
#ifndef MTLS_SRCPORT_H
#define MTLS_SRCPORT_H

#include <stdint.h>

#define SRCPORT_TRIES		64	/* ports tried for one connection */

struct srcports {
	uint16_t	 lo, hi;		/* ip_local_port_range */
	uint8_t		 reserved[65536 / 8];	/* ip_local_reserved_ports */
};

/* Read the kernel's range and reserved ports (warns, keeps defaults). */
void		 srcports_init(struct srcports *sp);
/* The same from the two files' text (for tests); 0, or -1 when range is
 * not "LO HI" with 1 <= LO <= HI <= 65535. */
int		 srcports_parse(struct srcports *sp, const char *range,
		    const char *reserved);
/* A random starting point, one per worker. */
uint32_t	 srcports_cursor(void);
/* The next port after *cursor that is not reserved, or 0 if none is. */
uint16_t	 srcports_next(const struct srcports *sp, uint32_t *cursor);

#endif
