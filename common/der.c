/*
 * der.c: bounded DER reader.
 */
#include <stdio.h>
#include <time.h>
#include <string.h>

#include "der.h"
#include "error.h"

int
der_next(struct der *in, struct der_elem *out)
{
	size_t hdr = 2, clen, i, nbytes;

	if (in->len < 2)
		return MTLS_ERR_INVALID;
	/* Multi-byte (high) tag numbers never appear where we read. */
	if ((in->p[0] & 0x1f) == 0x1f)
		return MTLS_ERR_INVALID;
	clen = in->p[1];
	if (clen & 0x80) {
		nbytes = clen & 0x7f;
		/* 0x80 is BER's indefinite length, never valid in DER. */
		if (nbytes == 0 || nbytes > 4 || in->len < 2 + nbytes)
			return MTLS_ERR_INVALID;
		/* DER: the shortest form only, so one value has one encoding. */
		if (in->p[2] == 0)
			return MTLS_ERR_INVALID;
		clen = 0;
		for (i = 0; i < nbytes; i++)
			clen = (clen << 8) | in->p[2 + i];
		if (clen < 0x80)
			return MTLS_ERR_INVALID;
		hdr += nbytes;
	}
	if (clen > in->len - hdr)
		return MTLS_ERR_INVALID;
	out->tag = in->p[0];
	out->content.p = in->p + hdr;
	out->content.len = clen;
	out->whole.p = in->p;
	out->whole.len = hdr + clen;
	in->p += hdr + clen;
	in->len -= hdr + clen;
	return 0;
}

int
der_expect(struct der *in, uint8_t tag, struct der_elem *out)
{
	int rc;

	if ((rc = der_next(in, out)) != 0)
		return rc;
	return out->tag == tag ? 0 : MTLS_ERR_INVALID;
}

int
der_peek(const struct der *in, uint8_t tag)
{
	return in->len > 0 && in->p[0] == tag;
}

int
der_oid_is(const struct der *oid, const uint8_t *bytes, size_t len)
{
	return oid->len == len && memcmp(oid->p, bytes, len) == 0;
}

int
der_oid_text(const struct der *oid, char *out, size_t size)
{
	unsigned long long arc = 0;
	size_t i, used = 0;
	int first = 1, n;

	if (oid->len == 0 || size == 0)
		return MTLS_ERR_INVALID;
	for (i = 0; i < oid->len; i++) {
		if (arc > (~0ULL >> 7))
			return MTLS_ERR_INVALID;
		arc = (arc << 7) | (oid->p[i] & 0x7f);
		if (oid->p[i] & 0x80) {
			if (i + 1 == oid->len)
				return MTLS_ERR_INVALID;
			continue;
		}
		if (first) {
			unsigned long long top = arc < 80 ? arc / 40 : 2;
			n = snprintf(out + used, size - used, "%llu.%llu", top,
			    arc - top * 40);
			first = 0;
		} else
			n = snprintf(out + used, size - used, ".%llu", arc);
		if (n < 0 || (size_t)n >= size - used)
			return MTLS_ERR_TOO_LARGE;
		used += (size_t)n;
		arc = 0;
	}
	return 0;
}

/* UTCTime or GeneralizedTime, "Z" only, as RFC 5280 requires. */
int
der_time(const struct der_elem *e, time_t *out)
{
	char digits[16];
	struct tm tm;
	size_t n = e->content.len, i, off = 0;
	int year;

	if (e->tag == DER_UTCTIME && n == 13)
		off = 0;
	else if (e->tag == DER_GENERALIZEDTIME && n == 15)
		off = 2;
	else
		return MTLS_ERR_INVALID;
	if (e->content.p[n - 1] != 'Z')
		return MTLS_ERR_INVALID;
	for (i = 0; i < n - 1; i++) {
		if (e->content.p[i] < '0' || e->content.p[i] > '9')
			return MTLS_ERR_INVALID;
		digits[i] = (char)(e->content.p[i] - '0');
	}
#define D2(k) (digits[(k)] * 10 + digits[(k) + 1])
	memset(&tm, 0, sizeof(tm));
	if (off == 0) {
		year = D2(0);
		year += year < 50 ? 2000 : 1900;	/* RFC 5280 4.1.2.5.1 */
	} else
		year = D2(0) * 100 + D2(2);
	tm.tm_year = year - 1900;
	tm.tm_mon = D2(2 + off) - 1;
	tm.tm_mday = D2(4 + off);
	tm.tm_hour = D2(6 + off);
	tm.tm_min = D2(8 + off);
	tm.tm_sec = D2(10 + off);
#undef D2
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return MTLS_ERR_INVALID;
	*out = timegm(&tm);
	return 0;
}
