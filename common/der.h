/*
 * der.h: a minimal, bounded DER reader (definite lengths, single-byte
 * tags), enough to walk an X.509 certificate that wolfSSL already
 * verified.  Used by identity.c; no allocation, no recursion.
 */
#ifndef MTLS_DER_H
#define MTLS_DER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DER_BOOLEAN		0x01
#define DER_INTEGER		0x02
#define DER_BIT_STRING		0x03
#define DER_OCTET_STRING	0x04
#define DER_OID			0x06
#define DER_UTF8STRING		0x0c
#define DER_NUMERICSTRING	0x12
#define DER_PRINTABLESTRING	0x13
#define DER_T61STRING		0x14
#define DER_IA5STRING		0x16
#define DER_UTCTIME		0x17
#define DER_GENERALIZEDTIME	0x18
#define DER_VISIBLESTRING	0x1a
#define DER_UNIVERSALSTRING	0x1c
#define DER_BMPSTRING		0x1e
#define DER_SEQUENCE		0x30
#define DER_SET			0x31

/* A window on DER bytes. */
struct der {
	const uint8_t	*p;
	size_t		 len;
};

/* One element: its tag, content, and the whole encoding (tag..end). */
struct der_elem {
	uint8_t		 tag;
	struct der	 content;
	struct der	 whole;
};

/*
 * Read the next element from in and advance in past it.  Returns 0, or
 * MTLS_ERR_INVALID on a malformed, indefinite or over-long encoding.
 */
int	 der_next(struct der *in, struct der_elem *out);
/* As der_next, but the element must carry tag. */
int	 der_expect(struct der *in, uint8_t tag, struct der_elem *out);
/* True when the next element (if any) carries tag. */
int	 der_peek(const struct der *in, uint8_t tag);
/* True when an OID's content equals the given bytes. */
int	 der_oid_is(const struct der *oid, const uint8_t *bytes, size_t len);
/* Seconds since the epoch of a UTCTime or GeneralizedTime element. */
int	 der_time(const struct der_elem *e, time_t *out);
/* Dotted text of an OID ("1.2.840.113549"); MTLS_ERR_* on failure. */
int	 der_oid_text(const struct der *oid, char *out, size_t size);

#endif
