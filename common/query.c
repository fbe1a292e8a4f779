/*
 * query.c: encoding and decoding of query protocol v1 (see query.h).
 *
 * Everything here is pure: lines in, structures out and back.  The parsers
 * accept exactly one spelling of each message (single spaces, upper-case
 * %XX, escapes only where the encoder would write them), so a line that
 * parses re-encodes to the same bytes and there is no second, looser
 * reading for an attacker to aim at.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "error.h"
#include "netaddr.h"
#include "query.h"

#define QUERY_CODE_MAX		64	/* longest ERR code we accept */
#define QUERY_TOKENS_MAX	4	/* magic, verb and at most two addresses */

static const char hexdigits[] = "0123456789ABCDEF";

struct query_verbinfo {
	const char	*name;
	enum query_verb	 verb;
	int		 nargs;
};

static const struct query_verbinfo query_verbs[] = {
	{ "SESSIONS",	QUERY_SESSIONS,	0 },
	{ "STATS",	QUERY_STATS,	0 },
	{ "WHOIS",	QUERY_WHOIS,	1 },
	{ "LOOKUP",	QUERY_LOOKUP,	2 },
	{ "RELOAD",	QUERY_RELOAD,	0 },
	{ "SESSION",	QUERY_SESSION,	1 },
	{ "REDEEM",	QUERY_REDEEM,	1 },
};

struct token {
	const char	*p;
	size_t		 len;
};

/*
 * True for bytes that travel unescaped: printable ASCII except the three
 * characters that carry meaning in a record line.
 */
static bool
query_plain(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '%' && c != '=' && c != ' ';
}

static int
query_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;	/* lower case is refused: one spelling per byte */
}

static bool
query_key_valid(const char *key, size_t len)
{
	size_t i;

	if (len == 0 || len >= QUERY_KEY_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_'))
			return false;
	}
	return true;
}

static bool
query_tok_eq(const struct token *t, const char *s)
{
	size_t n = strlen(s);

	return t->len == n && memcmp(t->p, s, n) == 0;
}

/*
 * Split line into tokens separated by exactly one space.  Empty tokens
 * (leading, trailing or doubled spaces) are malformed.  Returns the number
 * of tokens, or -1 when malformed or when there are more than max.
 */
static int
query_split(const char *line, size_t len, struct token *tok, int max)
{
	size_t i, start = 0;
	int n = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start || n == max)
			return -1;
		tok[n].p = line + start;
		tok[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

/*
 * Classify the magic token: 0 for "MTLS/1", MTLS_ERR_VERSION for another
 * "MTLS/<digits>", MTLS_ERR_INVALID for anything else.
 */
static int
query_magic(const struct token *t)
{
	static const char prefix[] = "MTLS/";
	size_t i, plen = sizeof(prefix) - 1;

	if (query_tok_eq(t, QUERY_MAGIC))
		return 0;
	if (t->len <= plen || memcmp(t->p, prefix, plen) != 0)
		return MTLS_ERR_INVALID;
	for (i = plen; i < t->len; i++)
		if (t->p[i] < '0' || t->p[i] > '9')
			return MTLS_ERR_INVALID;
	return MTLS_ERR_VERSION;
}

/* query_magic on the first space-separated word of a line. */
static int
query_magic_line(const char *line, size_t len)
{
	struct token t;
	const char *sp;

	t.p = line;
	t.len = (sp = memchr(line, ' ', len)) == NULL ? len :
	    (size_t)(sp - line);
	return query_magic(&t);
}

/* Copy an address token into a C string and canonicalise it into out. */
static int
query_addr(const struct token *t, char *out, size_t size)
{
	char tmp[QUERY_ADDR_MAX];

	if (t->len >= sizeof(tmp))
		return MTLS_ERR_INVALID;
	memcpy(tmp, t->p, t->len);
	tmp[t->len] = '\0';
	if (netaddr_canonical(tmp, out, size) != 0)
		return MTLS_ERR_INVALID;
	return 0;
}

/*
 * The unix-socket forms of a LOOKUP pair: the backend's listening path
 * "unix:/path" (local) and mtlsd's end "unix:socket:[INODE]" (peer).  The
 * request line is already known to be printable without spaces.
 */
static bool
query_unix_local(const struct token *t)
{
	return t->len > 6 && t->len < QUERY_ADDR_MAX &&
	    memcmp(t->p, "unix:/", 6) == 0;
}

static bool
query_unix_peer(const struct token *t)
{
	size_t i, digits = 0;

	if (t->len < 15 || t->len >= QUERY_ADDR_MAX ||
	    memcmp(t->p, "unix:socket:[", 13) != 0 || t->p[t->len - 1] != ']')
		return false;
	for (i = 13; i < t->len - 1; i++, digits++)
		if (t->p[i] < '0' || t->p[i] > '9')
			return false;
	return digits >= 1 && digits <= 20 && !(t->p[13] == '0' && digits > 1);
}

/* A session id: exactly 32 lower-case hex digits. */
static int
query_session_id(const struct token *t, char out[33])
{
	size_t i;

	if (t->len != 32)
		return MTLS_ERR_INVALID;
	for (i = 0; i < 32; i++)
		if (!((t->p[i] >= '0' && t->p[i] <= '9') ||
		    (t->p[i] >= 'a' && t->p[i] <= 'f')))
			return MTLS_ERR_INVALID;
	memcpy(out, t->p, 32);
	out[32] = '\0';
	return 0;
}

/* A ticket: 16..64 characters of the base64url alphabet. */
static bool
ticket_ok(const char *p, size_t n)
{
	size_t i;

	if (n < 16 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '_'))
			return false;
	return true;
}

static int
query_ticket(const struct token *t, char out[65])
{
	if (!ticket_ok(t->p, t->len))
		return MTLS_ERR_INVALID;
	memcpy(out, t->p, t->len);
	out[t->len] = '\0';
	return 0;
}

static int
query_lookup_pair(const struct token *local, const struct token *peer,
    struct query_request *out)
{
	int rc;

	if (query_unix_local(local) || query_unix_peer(peer)) {
		if (!query_unix_local(local) || !query_unix_peer(peer))
			return MTLS_ERR_INVALID;
		memcpy(out->addr, local->p, local->len);
		out->addr[local->len] = '\0';
		memcpy(out->peer, peer->p, peer->len);
		out->peer[peer->len] = '\0';
		return 0;
	}
	if ((rc = query_addr(local, out->addr, sizeof(out->addr))) != 0 ||
	    (rc = query_addr(peer, out->peer, sizeof(out->peer))) != 0)
		return rc;
	return 0;
}

int
query_request_parse(const char *line, size_t len, struct query_request *out)
{
	struct token tok[QUERY_TOKENS_MAX];
	const struct query_verbinfo *vi = NULL;
	size_t i;
	int n, rc;

	memset(out, 0, sizeof(*out));
	/* QUERY_REQUEST_MAX counts the "\n" the caller has stripped. */
	if (len >= QUERY_REQUEST_MAX)
		return MTLS_ERR_TOO_LARGE;
	/* Printable ASCII and the separating space only: no NUL, CR, tab. */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] > 0x7e)
			return MTLS_ERR_INVALID;
	/* Judge the version first: the rest may be another version's syntax. */
	if ((rc = query_magic_line(line, len)) != 0)
		return rc;
	if ((n = query_split(line, len, tok, QUERY_TOKENS_MAX)) < 2)
		return MTLS_ERR_INVALID;
	for (i = 0; i < sizeof(query_verbs) / sizeof(query_verbs[0]); i++)
		if (query_tok_eq(&tok[1], query_verbs[i].name))
			vi = &query_verbs[i];
	if (vi == NULL || n != 2 + vi->nargs)
		return MTLS_ERR_INVALID;

	out->verb = vi->verb;
	if (vi->verb == QUERY_LOOKUP)
		rc = query_lookup_pair(&tok[2], &tok[3], out);
	else if (vi->verb == QUERY_SESSION)
		rc = query_session_id(&tok[2], out->id);
	else if (vi->verb == QUERY_REDEEM)
		rc = query_ticket(&tok[2], out->ticket);
	else if (vi->nargs == 1)
		rc = query_addr(&tok[2], out->addr, sizeof(out->addr));
	else
		rc = 0;
	if (rc != 0)
		goto fail;
	return 0;
 fail:
	memset(out, 0, sizeof(*out));
	return rc;
}

/*
 * An address about to be written into a request: NUL-terminated inside its
 * array and free of anything that would split or end the line.
 */
static bool
query_addr_writable(const char *addr)
{
	size_t i;

	for (i = 0; i < QUERY_ADDR_MAX && addr[i] != '\0'; i++)
		if ((unsigned char)addr[i] <= 0x20 ||
		    (unsigned char)addr[i] > 0x7e)
			return false;
	return i > 0 && i < QUERY_ADDR_MAX;
}

int
query_request_format(const struct query_request *req, char *out, size_t size)
{
	int n;

	switch (req->verb) {
	case QUERY_SESSIONS:
		n = snprintf(out, size, "%s SESSIONS\n", QUERY_MAGIC);
		break;
	case QUERY_STATS:
		n = snprintf(out, size, "%s STATS\n", QUERY_MAGIC);
		break;
	case QUERY_RELOAD:
		n = snprintf(out, size, "%s RELOAD\n", QUERY_MAGIC);
		break;
	case QUERY_REDEEM:
		if (!ticket_ok(req->ticket, strnlen(req->ticket,
		    sizeof(req->ticket))))
			return MTLS_ERR_INVALID;
		n = snprintf(out, size, "%s REDEEM %s\n", QUERY_MAGIC,
		    req->ticket);
		break;
	case QUERY_SESSION:
		if (strnlen(req->id, sizeof(req->id)) != 32 ||
		    !query_addr_writable(req->id))
			return MTLS_ERR_INVALID;
		n = snprintf(out, size, "%s SESSION %s\n", QUERY_MAGIC,
		    req->id);
		break;
	case QUERY_WHOIS:
		if (!query_addr_writable(req->addr))
			return MTLS_ERR_INVALID;
		n = snprintf(out, size, "%s WHOIS %s\n", QUERY_MAGIC,
		    req->addr);
		break;
	case QUERY_LOOKUP:
		if (!query_addr_writable(req->addr) ||
		    !query_addr_writable(req->peer))
			return MTLS_ERR_INVALID;
		n = snprintf(out, size, "%s LOOKUP %s %s\n", QUERY_MAGIC,
		    req->addr, req->peer);
		break;
	default:
		return MTLS_ERR_INVALID;
	}
	if (n < 0)
		return MTLS_ERR_INVALID;
	if ((size_t)n >= size || n > QUERY_REQUEST_MAX)
		return MTLS_ERR_TOO_LARGE;
	return n;
}

/* Append the percent-encoding of data, copying runs of plain bytes at once. */
static int
query_encode(struct mtls_buf *out, const unsigned char *data, size_t len)
{
	size_t i, run = 0;
	char esc[3];
	int rc;

	for (i = 0; i < len; i++) {
		if (query_plain(data[i]))
			continue;
		if (i > run && (rc = buf_append(out, data + run, i - run)) != 0)
			return rc;
		esc[0] = '%';
		esc[1] = hexdigits[data[i] >> 4];
		esc[2] = hexdigits[data[i] & 0x0f];
		if ((rc = buf_append(out, esc, sizeof(esc))) != 0)
			return rc;
		run = i + 1;
	}
	if (len > run)
		return buf_append(out, data + run, len - run);
	return 0;
}

/*
 * Decode a percent-encoded span into dst (which holds at least len bytes).
 * Refuses raw bytes the encoder would have escaped, lower-case or short
 * escapes, and escapes of bytes that needed none.  Returns the decoded
 * length or MTLS_ERR_INVALID.
 */
static long
query_decode(const char *src, size_t len, unsigned char *dst)
{
	size_t i, n = 0;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = src[i];
		if (c != '%') {
			if (!query_plain(c))
				return MTLS_ERR_INVALID;
			dst[n++] = c;
			continue;
		}
		if (len - i < 3)
			return MTLS_ERR_INVALID;
		hi = query_hexval(src[i + 1]);
		lo = query_hexval(src[i + 2]);
		if (hi < 0 || lo < 0)
			return MTLS_ERR_INVALID;
		c = (unsigned char)(hi << 4 | lo);
		if (query_plain(c))
			return MTLS_ERR_INVALID;
		dst[n++] = c;
		i += 2;
	}
	return (long)n;
}

int
query_format_ok(struct mtls_buf *out, size_t count)
{
	if (count > QUERY_MAX_RECORDS)
		return MTLS_ERR_TOO_LARGE;
	return buf_printf(out, "%s OK %zu\n", QUERY_MAGIC, count);
}

static bool
query_code_valid(const char *code, size_t len)
{
	size_t i;

	if (len == 0 || len >= QUERY_CODE_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((code[i] >= 'a' && code[i] <= 'z') || code[i] == '_'))
			return false;
	return true;
}

int
query_format_err(struct mtls_buf *out, const char *code, const char *message)
{
	size_t start = out->len, mlen;
	int rc;

	if (code == NULL || !query_code_valid(code, strlen(code)))
		return MTLS_ERR_INVALID;
	mlen = message == NULL ? 0 : strlen(message);
	/* The status line is read with the same bound as a record line. */
	if (mlen > QUERY_RECORD_MAX / 4)
		mlen = QUERY_RECORD_MAX / 4;
	if ((rc = buf_printf(out, "%s ERR %s", QUERY_MAGIC, code)) != 0)
		goto fail;
	/* An empty message is sent as no message, never as a trailing space. */
	if (mlen > 0) {
		if ((rc = buf_append(out, " ", 1)) != 0 ||
		    (rc = query_encode(out, (const unsigned char *)message,
		    mlen)) != 0)
			goto fail;
	}
	if ((rc = buf_append(out, "\n", 1)) != 0)
		goto fail;
	return 0;
 fail:
	out->len = start;
	return rc;
}

static void
query_copy_str(char *dst, size_t size, const char *src, size_t len)
{
	if (dst == NULL || size == 0)
		return;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * Parse "<digits>" with no sign, no leading zero and no overflow; the
 * count is also bounded by QUERY_MAX_RECORDS.
 */
static int
query_count(const struct token *t, size_t *count)
{
	size_t i, v = 0;

	if (t->len == 0 || t->len > 9 || (t->p[0] == '0' && t->len > 1))
		return MTLS_ERR_INVALID;
	for (i = 0; i < t->len; i++) {
		if (t->p[i] < '0' || t->p[i] > '9')
			return MTLS_ERR_INVALID;
		v = v * 10 + (size_t)(t->p[i] - '0');
	}
	if (v > QUERY_MAX_RECORDS)
		return MTLS_ERR_INVALID;
	*count = v;
	return 0;
}

int
query_status_parse(const char *line, size_t len, size_t *count,
    char *code, size_t codesize, char *message, size_t msgsize)
{
	struct token tok[4];
	unsigned char *dec = NULL;
	long dlen;
	size_t i;
	int n, rc;

	*count = 0;
	query_copy_str(code, codesize, "", 0);
	query_copy_str(message, msgsize, "", 0);
	/*
	 * Over-long status lines are malformed, not "too_large": that code
	 * is reserved for what the server itself reports.
	 */
	if (len >= QUERY_RECORD_MAX)
		return MTLS_ERR_INVALID;
	if ((rc = query_magic_line(line, len)) != 0)
		return rc;
	if ((n = query_split(line, len, tok, 4)) < 2)
		return MTLS_ERR_INVALID;

	if (query_tok_eq(&tok[1], "OK")) {
		if (n != 3)
			return MTLS_ERR_INVALID;
		return query_count(&tok[2], count);
	}
	if (!query_tok_eq(&tok[1], "ERR") || n < 3 ||
	    !query_code_valid(tok[2].p, tok[2].len))
		return MTLS_ERR_INVALID;
	if (n == 4) {
		if ((dec = malloc(tok[3].len)) == NULL)
			return MTLS_ERR_NOMEM;
		if ((dlen = query_decode(tok[3].p, tok[3].len, dec)) < 0) {
			free(dec);
			return MTLS_ERR_INVALID;
		}
		/*
		 * The message is for people and is returned as a C string:
		 * make it safe to print rather than trust the server's bytes.
		 */
		for (i = 0; i < (size_t)dlen; i++)
			if (dec[i] < 0x20 || dec[i] > 0x7e)
				dec[i] = '?';
		query_copy_str(message, msgsize, (const char *)dec,
		    (size_t)dlen);
		free(dec);
	}
	query_copy_str(code, codesize, tok[2].p, tok[2].len);

	if (query_tok_eq(&tok[2], QUERY_E_DENIED))
		return MTLS_ERR_DENIED;
	if (query_tok_eq(&tok[2], QUERY_E_NOT_FOUND))
		return MTLS_ERR_NOT_FOUND;
	if (query_tok_eq(&tok[2], QUERY_E_TOO_LARGE))
		return MTLS_ERR_TOO_LARGE;
	if (query_tok_eq(&tok[2], QUERY_E_VERSION))
		return MTLS_ERR_VERSION;
	return MTLS_ERR_INVALID;
}

void
query_record_init(struct query_record *r)
{
	r->fields = NULL;
	r->count = 0;
	r->cap = 0;
}

void
query_record_free(struct query_record *r)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		bytes_free(&r->fields[i].value);
	free(r->fields);
	query_record_init(r);
}

static int
query_record_add_key(struct query_record *r, const char *key, size_t klen,
    const void *value, size_t len)
{
	struct query_field *f;
	size_t ncap;

	if (!query_key_valid(key, klen))
		return MTLS_ERR_INVALID;
	if (value == NULL) {
		if (len != 0)
			return MTLS_ERR_INVALID;
		value = "";
	}
	if (r->count >= QUERY_MAX_FIELDS)
		return MTLS_ERR_TOO_LARGE;
	if (r->count == r->cap) {
		ncap = r->cap == 0 ? 16 : r->cap * 2;
		if (ncap > QUERY_MAX_FIELDS)
			ncap = QUERY_MAX_FIELDS;
		f = reallocarray(r->fields, ncap, sizeof(*f));
		if (f == NULL)
			return MTLS_ERR_NOMEM;
		r->fields = f;
		r->cap = ncap;
	}
	f = &r->fields[r->count];
	memset(f, 0, sizeof(*f));
	if (bytes_set(&f->value, value, len) != 0)
		return MTLS_ERR_NOMEM;
	memcpy(f->key, key, klen);
	f->key[klen] = '\0';
	r->count++;
	return 0;
}

int
query_record_add(struct query_record *r, const char *key, const void *value,
    size_t len)
{
	if (key == NULL)
		return MTLS_ERR_INVALID;
	return query_record_add_key(r, key, strnlen(key, QUERY_KEY_MAX),
	    value, len);
}

int
query_record_add_str(struct query_record *r, const char *key,
    const char *value)
{
	if (value == NULL)
		return MTLS_ERR_INVALID;
	return query_record_add(r, key, value, strlen(value));
}

int
query_record_format(const struct query_record *r, struct mtls_buf *out)
{
	const struct query_field *f;
	size_t i, start = out->len;
	int rc;

	/* An empty line is not a record; the parser refuses it too. */
	if (r->count == 0)
		return MTLS_ERR_INVALID;
	if (r->count > QUERY_MAX_FIELDS)
		return MTLS_ERR_TOO_LARGE;
	for (i = 0; i < r->count; i++) {
		f = &r->fields[i];
		if (!query_key_valid(f->key, strnlen(f->key, QUERY_KEY_MAX))) {
			rc = MTLS_ERR_INVALID;
			goto fail;
		}
		if ((i > 0 && (rc = buf_append(out, " ", 1)) != 0) ||
		    (rc = buf_append_str(out, f->key)) != 0 ||
		    (rc = buf_append(out, "=", 1)) != 0 ||
		    (rc = query_encode(out, f->value.data, f->value.len)) != 0)
			goto fail;
		/* Stop early instead of encoding megabytes we will drop. */
		if (out->len - start >= QUERY_RECORD_MAX) {
			rc = MTLS_ERR_TOO_LARGE;
			goto fail;
		}
	}
	if ((rc = buf_append(out, "\n", 1)) != 0)
		goto fail;
	return 0;
 fail:
	out->len = start;
	return rc;
}

int
query_record_parse(const char *line, size_t len, struct query_record *r)
{
	unsigned char *scratch = NULL;
	const char *p, *end, *eq, *sp;
	long dlen;
	int rc;

	query_record_init(r);
	if (len >= QUERY_RECORD_MAX)
		return MTLS_ERR_TOO_LARGE;
	if (len == 0)
		return MTLS_ERR_INVALID;
	/* Decoded values are never longer than the line. */
	if ((scratch = malloc(len)) == NULL)
		return MTLS_ERR_NOMEM;

	p = line;
	end = line + len;
	for (;;) {
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp == NULL)
			sp = end;
		eq = memchr(p, '=', (size_t)(sp - p));
		if (eq == NULL) {
			rc = MTLS_ERR_INVALID;
			goto fail;
		}
		dlen = query_decode(eq + 1, (size_t)(sp - eq - 1), scratch);
		if (dlen < 0) {
			rc = (int)dlen;
			goto fail;
		}
		if ((rc = query_record_add_key(r, p, (size_t)(eq - p), scratch,
		    (size_t)dlen)) != 0)
			goto fail;
		if (sp == end)
			break;
		/* A space must be followed by another field. */
		p = sp + 1;
		if (p == end) {
			rc = MTLS_ERR_INVALID;
			goto fail;
		}
	}
	free(scratch);
	return 0;
 fail:
	free(scratch);
	query_record_free(r);
	return rc;
}

const struct mtls_bytes *
query_record_get(const struct query_record *r, const char *key, size_t index)
{
	size_t i;

	for (i = 0; i < r->count; i++) {
		if (strcmp(r->fields[i].key, key) != 0)
			continue;
		if (index-- == 0)
			return &r->fields[i].value;
	}
	return NULL;
}

size_t
query_record_count(const struct query_record *r, const char *key)
{
	size_t i, n = 0;

	for (i = 0; i < r->count; i++)
		if (strcmp(r->fields[i].key, key) == 0)
			n++;
	return n;
}
