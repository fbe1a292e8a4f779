/*
 * json.c: JSON strings from byte strings (mtlsctl's output, the
 * responder's answers).
 */
#include <stddef.h>

#include "bytes.h"
#include "json.h"

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 if there is none.
 */
static size_t
utf8_seq(const unsigned char *p, size_t len)
{
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (len < n)
		return 0;
	/* Only the second byte has a narrowed range. */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

int
json_string(struct mtls_buf *b, const unsigned char *s, size_t len)
{
	size_t i, n;
	int rc;

	if ((rc = buf_append(b, "\"", 1)) != 0)
		return rc;
	for (i = 0; i < len && rc == 0; i += n) {
		n = 1;
		if (s[i] == '"')
			rc = buf_append(b, "\\\"", 2);
		else if (s[i] == '\\')
			rc = buf_append(b, "\\\\", 2);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			rc = buf_printf(b, "\\u%04x", s[i]);
		else if ((n = utf8_seq(s + i, len - i)) == 0) {
			/* One replacement per bad byte; resync on the next. */
			n = 1;
			rc = buf_append_str(b, "\\ufffd");
		} else
			rc = buf_append(b, s + i, n);
	}
	if (rc == 0)
		rc = buf_append(b, "\"", 1);
	return rc;
}
