/*
 * srcport.c: source ports for TCP connections to backends.
 *
 * mtlsd publishes a session under its upstream address pair before it
 * connects, because the backend may ask who is behind a connection as
 * soon as it accepts it.  So the local port must be known before
 * connect().  bind() with port 0 would find one, but that search cannot
 * reuse a port whose earlier connection is in TIME_WAIT: under a steady
 * load of short connections it took most of the server's CPU in the
 * kernel, and once TIME_WAIT holds the whole range it fails.  An explicit
 * port costs one hash lookup; the caller skips a port in use (bind) and
 * an address pair still in TIME_WAIT (connect), as the kernel's own
 * connect-time choice does.
 *
 * The range and the reserved ports are the kernel's own
 * (net.ipv4.ip_local_port_range, net.ipv4.ip_local_reserved_ports), read
 * once at start-up.
 */
#include <sys/random.h>

#include <time.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "srcport.h"

#define PORT_RANGE_FILE		"/proc/sys/net/ipv4/ip_local_port_range"
#define RESERVED_PORTS_FILE	"/proc/sys/net/ipv4/ip_local_reserved_ports"
#define DEFAULT_LO		32768	/* the kernel's defaults */
#define DEFAULT_HI		60999

static bool
read_line(const char *path, char *buf, size_t size)
{
	FILE *f;
	bool ok;

	if ((f = fopen(path, "re")) == NULL)
		return false;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	return ok;
}

/* "1000-1010,2000": mark each listed port as reserved. */
static void
parse_reserved(struct srcports *sp, const char *text)
{
	const char *p = text;
	unsigned long a, b, port;
	char *end;

	while (*p != '\0' && *p != '\n') {
		a = strtoul(p, &end, 10);
		if (end == p)
			return;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
			if (end == p)
				return;
		}
		for (port = a; port <= b && port <= 65535; port++)
			sp->reserved[port / 8] |= (uint8_t)(1u << (port % 8));
		p = *end == ',' ? end + 1 : end;
	}
}

int
srcports_parse(struct srcports *sp, const char *range, const char *reserved)
{
	unsigned lo, hi;

	memset(sp, 0, sizeof(*sp));
	sp->lo = DEFAULT_LO;
	sp->hi = DEFAULT_HI;
	if (reserved != NULL)
		parse_reserved(sp, reserved);
	if (range == NULL || sscanf(range, "%u %u", &lo, &hi) != 2 ||
	    lo < 1 || lo > hi || hi > 65535)
		return -1;
	sp->lo = (uint16_t)lo;
	sp->hi = (uint16_t)hi;
	return 0;
}

void
srcports_init(struct srcports *sp)
{
	char range[256], reserved[4096];
	bool have_range, have_reserved;

	have_range = read_line(PORT_RANGE_FILE, range, sizeof(range));
	have_reserved = read_line(RESERVED_PORTS_FILE, reserved,
	    sizeof(reserved));
	if (srcports_parse(sp, have_range ? range : NULL,
	    have_reserved ? reserved : NULL) != 0)
		log_warnx("cannot read %s: upstream source ports from %u to %u",
		    PORT_RANGE_FILE, DEFAULT_LO, DEFAULT_HI);
}

uint32_t
srcports_cursor(void)
{
	uint32_t r = 0;

	/* Each worker starts somewhere else in the range. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)time(NULL);
	return r;
}

uint16_t
srcports_next(const struct srcports *sp, uint32_t *cursor)
{
	uint32_t span = (uint32_t)sp->hi - sp->lo + 1, i;
	uint16_t port;

	for (i = 0; i < span; i++) {
		port = (uint16_t)(sp->lo + (*cursor)++ % span);
		if (!(sp->reserved[port / 8] & (1u << (port % 8))))
			return port;
	}
	return 0;	/* the whole range is reserved */
}
