/*
 * test_query.c: the query protocol codec (common/query.c).
 *
 * The codec is the line between the daemon and everything that trusts it,
 * so besides round trips these tests throw malformed and hostile lines at
 * every parser and check that each is refused with the right code.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "bytes.h"
#include "error.h"
#include "query.h"
#include "unit.h"

/* Parse a NUL-terminated request line. */
static int
req_parse(const char *line, struct query_request *req)
{
	return query_request_parse(line, strlen(line), req);
}

static int
req_rc(const char *line)
{
	struct query_request req;

	return req_parse(line, &req);
}

/* Format req, check the line ends in "\n" and parse it back into out. */
static void
req_roundtrip(const struct query_request *req, struct query_request *out,
    char *line, size_t size)
{
	int n;

	n = query_request_format(req, line, size);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL((size_t)n, strlen(line));
	CU_ASSERT_EQUAL_FATAL(line[n - 1], '\n');
	CU_ASSERT_EQUAL(query_request_parse(line, (size_t)n - 1, out), 0);
}

static void
test_request_sessions_stats(void)
{
	struct query_request req, out;
	char line[QUERY_REQUEST_MAX + 1];

	memset(&req, 0, sizeof(req));
	req.verb = QUERY_SESSIONS;
	req_roundtrip(&req, &out, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "MTLS/1 SESSIONS\n");
	CU_ASSERT_EQUAL(out.verb, QUERY_SESSIONS);

	req.verb = QUERY_STATS;
	req_roundtrip(&req, &out, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "MTLS/1 STATS\n");
	CU_ASSERT_EQUAL(out.verb, QUERY_STATS);
}

static void
test_request_whois(void)
{
	struct query_request req, out;
	char line[QUERY_REQUEST_MAX + 1];

	memset(&req, 0, sizeof(req));
	req.verb = QUERY_WHOIS;
	strcpy(req.addr, "192.0.2.1:5555");
	req_roundtrip(&req, &out, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "MTLS/1 WHOIS 192.0.2.1:5555\n");
	CU_ASSERT_EQUAL(out.verb, QUERY_WHOIS);
	CU_ASSERT_STRING_EQUAL(out.addr, "192.0.2.1:5555");
	CU_ASSERT_STRING_EQUAL(out.peer, "");

	strcpy(req.addr, "[2001:db8::1]:443");
	req_roundtrip(&req, &out, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(out.addr, "[2001:db8::1]:443");
}

static void
test_request_lookup(void)
{
	struct query_request req, out;
	char line[QUERY_REQUEST_MAX + 1];

	memset(&req, 0, sizeof(req));
	req.verb = QUERY_LOOKUP;
	strcpy(req.addr, "127.0.0.1:22");
	strcpy(req.peer, "[::1]:40000");
	req_roundtrip(&req, &out, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "MTLS/1 LOOKUP 127.0.0.1:22 [::1]:40000\n");
	CU_ASSERT_EQUAL(out.verb, QUERY_LOOKUP);
	CU_ASSERT_STRING_EQUAL(out.addr, "127.0.0.1:22");
	CU_ASSERT_STRING_EQUAL(out.peer, "[::1]:40000");
}

/* REDEEM: a ticket of 16..64 base64url characters, nothing else. */
static void
test_request_redeem(void)
{
	struct query_request req, out;
	char line[QUERY_REQUEST_MAX + 1];

	memset(&req, 0, sizeof(req));
	req.verb = QUERY_REDEEM;
	strcpy(req.ticket, "UVq-WoZV2QRFeUUD_Wsbe3_OVmHiN8gsk1stTwNwsZc");
	req_roundtrip(&req, &out, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "MTLS/1 REDEEM "
	    "UVq-WoZV2QRFeUUD_Wsbe3_OVmHiN8gsk1stTwNwsZc\n");
	CU_ASSERT_EQUAL(out.verb, QUERY_REDEEM);
	CU_ASSERT_STRING_EQUAL(out.ticket, req.ticket);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 REDEEM abcdefghijklmno"),
	    MTLS_ERR_INVALID);				/* 15 */
	CU_ASSERT_EQUAL(req_rc("MTLS/1 REDEEM abcdefghijklmnop"), 0); /* 16 */
	CU_ASSERT_EQUAL(req_rc("MTLS/1 REDEEM "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    MTLS_ERR_INVALID);				/* 65 */
	CU_ASSERT_EQUAL(req_rc("MTLS/1 REDEEM abcdefghijklmnop+"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 REDEEM abcdefghijklmnop/"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 REDEEM"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 REDEEM abcdefghijklmnop x"),
	    MTLS_ERR_INVALID);
	strcpy(req.ticket, "short");
	CU_ASSERT(query_request_format(&req, line, sizeof(line)) < 0);
}

/* Unix-socket upstreams: the listening path and mtlsd's end by inode. */
static void
test_request_lookup_unix(void)
{
	struct query_request req, out;
	char line[QUERY_REQUEST_MAX + 1];

	memset(&req, 0, sizeof(req));
	req.verb = QUERY_LOOKUP;
	strcpy(req.addr, "unix:/run/svc.sock");
	strcpy(req.peer, "unix:socket:[123456]");
	req_roundtrip(&req, &out, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line,
	    "MTLS/1 LOOKUP unix:/run/svc.sock unix:socket:[123456]\n");
	CU_ASSERT_STRING_EQUAL(out.addr, "unix:/run/svc.sock");
	CU_ASSERT_STRING_EQUAL(out.peer, "unix:socket:[123456]");

	/* Both ends unix or both inet, never mixed. */
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP unix:/run/svc.sock "
	    "127.0.0.1:22"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP 127.0.0.1:22 "
	    "unix:socket:[1]"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP unix:run/svc.sock "
	    "unix:socket:[1]"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP unix:/ unix:socket:[1]"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP unix:/s unix:socket:[]"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP unix:/s unix:socket:[12a]"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP unix:/s unix:socket:[012]"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP unix:/s unix:socket:[1"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP unix:/s "
	    "unix:socket:[123456789012345678901]"), MTLS_ERR_INVALID);
	/* WHOIS stays inet only. */
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS unix:/run/svc.sock"),
	    MTLS_ERR_INVALID);
}

static void
test_request_session(void)
{
	static const char id[] = "0123456789abcdef0123456789abcdef";
	struct query_request req, out;
	char line[QUERY_REQUEST_MAX + 1];

	memset(&req, 0, sizeof(req));
	req.verb = QUERY_SESSION;
	strcpy(req.id, id);
	req_roundtrip(&req, &out, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line,
	    "MTLS/1 SESSION 0123456789abcdef0123456789abcdef\n");
	CU_ASSERT_EQUAL(out.verb, QUERY_SESSION);
	CU_ASSERT_STRING_EQUAL(out.id, id);
	CU_ASSERT_STRING_EQUAL(out.addr, "");
	CU_ASSERT_STRING_EQUAL(out.peer, "");

	strcpy(req.id, "ffffffffffffffffffffffffffffffff");
	req_roundtrip(&req, &out, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(out.id, "ffffffffffffffffffffffffffffffff");
	CU_ASSERT_EQUAL(req_parse("MTLS/1 SESSION "
	    "00000000000000000000000000000000", &out), 0);
	CU_ASSERT_STRING_EQUAL(out.id, "00000000000000000000000000000000");

	/* Exactly 32 lower-case hex digits, one argument. */
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdef0123456789abcde"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdef0123456789abcdef0"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789ABCDEF0123456789abcdef"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdef0123456789abcdeF"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdeg0123456789abcdef"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0x23456789abcdef0123456789abcdef"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdef-123456789abcdef"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdef:123456789abcdef"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION 127.0.0.1:22"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdef0123456789abcdef "), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdef0123456789abcdef "
	    "0123456789abcdef0123456789abcdef"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION "
	    "0123456789abcdef0123456789abcdef 127.0.0.1:22"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSION  "
	    "0123456789abcdef0123456789abcdef"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 session "
	    "0123456789abcdef0123456789abcdef"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSIONS "
	    "0123456789abcdef0123456789abcdef"), MTLS_ERR_INVALID);
	/* A refused line leaves no id behind. */
	CU_ASSERT_EQUAL(req_parse("MTLS/1 SESSION "
	    "0123456789ABCDEF0123456789abcdef", &out), MTLS_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(out.id, "");

	/* The formatter refuses ids that would not make one valid line. */
	memset(&req, 0, sizeof(req));
	req.verb = QUERY_SESSION;
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
	strcpy(req.id, "0123456789abcdef0123456789abcde");
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
	strcpy(req.id, "0123456789abcdef 123456789abcdef");
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
	strcpy(req.id, "0123456789abcdef\n123456789abcdef");
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
}

static void
test_request_canonical(void)
{
	struct query_request out;

	/* Non-canonical spellings become the one form the daemon keys on. */
	CU_ASSERT_EQUAL(req_parse("MTLS/1 WHOIS [2001:0db8:0:0::0001]:443",
	    &out), 0);
	CU_ASSERT_STRING_EQUAL(out.addr, "[2001:db8::1]:443");
	CU_ASSERT_EQUAL(req_parse("MTLS/1 WHOIS [::ffff:127.0.0.1]:1", &out),
	    0);
	CU_ASSERT_STRING_EQUAL(out.addr, "127.0.0.1:1");
	CU_ASSERT_EQUAL(req_parse("MTLS/1 LOOKUP [::ffff:10.0.0.1]:22 "
	    "[::FFFF:10.0.0.2]:5000", &out), 0);
	CU_ASSERT_STRING_EQUAL(out.addr, "10.0.0.1:22");
	CU_ASSERT_STRING_EQUAL(out.peer, "10.0.0.2:5000");
}

static void
test_request_reject(void)
{
	struct query_request out;
	char big[QUERY_REQUEST_MAX + 16];
	static const char nul[] = "MTLS/1 SES\0SIONS";
	size_t n;

	CU_ASSERT_EQUAL(req_rc(""), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("SESSIONS"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS1 SESSIONS"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("mtls/1 SESSIONS"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/ SESSIONS"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("XMTLS/1 SESSIONS"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/2 SESSIONS"), MTLS_ERR_VERSION);
	CU_ASSERT_EQUAL(req_rc("MTLS/10 SESSIONS"), MTLS_ERR_VERSION);
	CU_ASSERT_EQUAL(req_rc("MTLS/2 SOMETHING NEW AND LONGER"),
	    MTLS_ERR_VERSION);
	CU_ASSERT_EQUAL(req_rc("MTLS/0"), MTLS_ERR_VERSION);
	CU_ASSERT_EQUAL(req_rc("MTLS/1"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 sessions"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 Stats"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1  SESSIONS"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSIONS "), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc(" MTLS/1 SESSIONS"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1\tSESSIONS"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS\t127.0.0.1:1"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(query_request_parse(nul, sizeof(nul) - 1, &out),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSIONS\r"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSIONS\n"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSIONS\x7f"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSIONS\xc3\xa9"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 DELETE"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP 127.0.0.1:22"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 SESSIONS 127.0.0.1:22"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS 127.0.0.1:22 127.0.0.1:23"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP 127.0.0.1:22 127.0.0.1:23 "
	    "127.0.0.1:24"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS alice"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS 127.0.0.1"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS 300.0.0.1:22"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS localhost:22"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS 2001:db8::1:22"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS unix:/run/x.sock"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS 127.0.0.1:65536"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS 127.0.0.1:-1"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 WHOIS 127.0.0.1:http"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP 127.0.0.1:22 [::1]:99999"),
	    MTLS_ERR_INVALID);

	/* Longest legal line: QUERY_REQUEST_MAX - 1 bytes before the "\n". */
	memset(big, 'A', sizeof(big));
	memcpy(big, "MTLS/1 WHOIS ", 13);
	CU_ASSERT_EQUAL(query_request_parse(big, QUERY_REQUEST_MAX - 1, &out),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(query_request_parse(big, QUERY_REQUEST_MAX, &out),
	    MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(query_request_parse(big, sizeof(big), &out),
	    MTLS_ERR_TOO_LARGE);
	/* Size is judged before content: a huge valid-looking line too. */
	n = QUERY_REQUEST_MAX + 4;
	memset(big, ' ', sizeof(big));
	memcpy(big, "MTLS/1 SESSIONS", 15);
	CU_ASSERT_EQUAL(query_request_parse(big, n, &out), MTLS_ERR_TOO_LARGE);

	/* A refused line leaves nothing behind in out. */
	CU_ASSERT_EQUAL(req_rc("MTLS/1 LOOKUP 127.0.0.1:22 bad"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(req_parse("MTLS/1 LOOKUP 127.0.0.1:22 bad", &out),
	    MTLS_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(out.addr, "");
}

static void
test_request_format_reject(void)
{
	struct query_request req;
	char line[QUERY_REQUEST_MAX + 1];

	memset(&req, 0, sizeof(req));
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
	req.verb = QUERY_WHOIS;
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
	/* A space or newline in an address would split or end the line. */
	strcpy(req.addr, "127.0.0.1:1 STATS");
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
	strcpy(req.addr, "127.0.0.1:1\nMTLS/1 STATS");
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
	/* Not NUL-terminated inside the array. */
	memset(req.addr, '1', sizeof(req.addr));
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
	req.verb = QUERY_LOOKUP;
	strcpy(req.addr, "127.0.0.1:1");
	CU_ASSERT_EQUAL(query_request_format(&req, line, sizeof(line)),
	    MTLS_ERR_INVALID);
	/* Too small an output buffer. */
	req.verb = QUERY_SESSIONS;
	CU_ASSERT_EQUAL(query_request_format(&req, line, 5),
	    MTLS_ERR_TOO_LARGE);
}

/* Format r, check the "\n", parse back into out. */
static void
rec_roundtrip(const struct query_record *r, struct query_record *out,
    struct mtls_buf *b)
{
	buf_init(b, 0);
	CU_ASSERT_EQUAL_FATAL(query_record_format(r, b), 0);
	CU_ASSERT_FATAL(b->len > 0);
	CU_ASSERT_EQUAL_FATAL(b->data[b->len - 1], '\n');
	/* One line: the only newline is the last byte. */
	CU_ASSERT_PTR_EQUAL(memchr(b->data, '\n', b->len),
	    b->data + b->len - 1);
	CU_ASSERT_EQUAL_FATAL(query_record_parse(b->data, b->len - 1, out), 0);
}

static void
test_record_roundtrip(void)
{
	static const unsigned char nulval[] = { 'a', 0, 'b', 0 };
	static const char *texts[] = {
		"plain", "line\nbreak", "a=b", "two words", "100%", "",
		"CN=alice,O=Example\\, Inc.", "\r\t\x1b[31m", "\"quoted\"",
	};
	unsigned char high[128];
	struct query_record r, out;
	const struct mtls_bytes *v;
	struct mtls_buf b;
	size_t i;

	for (i = 0; i < sizeof(high); i++)
		high[i] = (unsigned char)(0x80 + i);
	query_record_init(&r);
	CU_ASSERT_EQUAL(query_record_add_str(&r, "type", "session"), 0);
	CU_ASSERT_EQUAL(query_record_add(&r, "subject", nulval,
	    sizeof(nulval)), 0);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		CU_ASSERT_EQUAL(query_record_add_str(&r, "san_dns", texts[i]),
		    0);
	CU_ASSERT_EQUAL(query_record_add(&r, "high", high, sizeof(high)), 0);
	CU_ASSERT_EQUAL(query_record_add(&r, "empty", NULL, 0), 0);

	rec_roundtrip(&r, &out, &b);
	CU_ASSERT_EQUAL(out.count, r.count);
	v = query_record_get(&out, "subject", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(v->len, sizeof(nulval));
	CU_ASSERT_EQUAL(memcmp(v->data, nulval, sizeof(nulval)), 0);
	CU_ASSERT_EQUAL(query_record_count(&out, "san_dns"),
	    sizeof(texts) / sizeof(texts[0]));
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = query_record_get(&out, "san_dns", i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_EQUAL(v->len, strlen(texts[i]));
		CU_ASSERT(bytes_equal_str(v, texts[i]));
	}
	CU_ASSERT_PTR_NULL(query_record_get(&out, "san_dns", i));
	v = query_record_get(&out, "high", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(v->len, sizeof(high));
	CU_ASSERT_EQUAL(memcmp(v->data, high, sizeof(high)), 0);
	v = query_record_get(&out, "empty", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(v->len, 0);
	/* Field order survives. */
	for (i = 0; i < r.count; i++)
		CU_ASSERT_STRING_EQUAL(out.fields[i].key, r.fields[i].key);

	query_record_free(&out);
	query_record_free(&r);
	buf_free(&b);
}

static void
test_record_encoding(void)
{
	static const unsigned char val[] = { 'a', ' ', '=', '%', 0, '\n',
	    0xff, '~', '!' };
	struct query_record r;
	struct mtls_buf b;

	query_record_init(&r);
	CU_ASSERT_EQUAL(query_record_add(&r, "k", val, sizeof(val)), 0);
	CU_ASSERT_EQUAL(query_record_add_str(&r, "e", ""), 0);
	buf_init(&b, 0);
	CU_ASSERT_EQUAL_FATAL(query_record_format(&r, &b), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "k=a%20%3D%25%00%0A%FF~! e=\n");
	/* A failed format leaves the buffer as it was. */
	query_record_free(&r);
	CU_ASSERT_EQUAL(query_record_format(&r, &b), MTLS_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(b.data, "k=a%20%3D%25%00%0A%FF~! e=\n");
	buf_free(&b);
}

static void
test_record_forgery(void)
{
	struct query_record r, out;
	const struct mtls_bytes *v;
	struct mtls_buf b;

	query_record_init(&r);
	CU_ASSERT_EQUAL(query_record_add_str(&r, "subject",
	    "alice accounts=root"), 0);
	CU_ASSERT_EQUAL(query_record_add_str(&r, "san_email",
	    "x\ntype=session accounts=root"), 0);
	rec_roundtrip(&r, &out, &b);
	CU_ASSERT_EQUAL(out.count, 2);
	CU_ASSERT_EQUAL(query_record_count(&out, "accounts"), 0);
	CU_ASSERT_EQUAL(query_record_count(&out, "type"), 0);
	CU_ASSERT_EQUAL(query_record_count(&out, "subject"), 1);
	v = query_record_get(&out, "subject", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT(bytes_equal_str(v, "alice accounts=root"));
	v = query_record_get(&out, "san_email", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT(bytes_equal_str(v, "x\ntype=session accounts=root"));
	query_record_free(&out);
	query_record_free(&r);
	buf_free(&b);
}

static int
rec_rc(const char *line)
{
	struct query_record r;
	int rc;

	rc = query_record_parse(line, strlen(line), &r);
	/* Whatever the outcome, r is safe to free. */
	query_record_free(&r);
	return rc;
}

static void
test_record_parse(void)
{
	struct query_record r;
	const struct mtls_bytes *v;
	static const char line[] = "type=session accounts=alice accounts=bob "
	    "subject=CN%3Dalice e=";

	CU_ASSERT_EQUAL_FATAL(query_record_parse(line, strlen(line), &r), 0);
	CU_ASSERT_EQUAL(r.count, 5);
	CU_ASSERT_EQUAL(query_record_count(&r, "accounts"), 2);
	v = query_record_get(&r, "accounts", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT(bytes_equal_str(v, "bob"));
	v = query_record_get(&r, "subject", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT(bytes_equal_str(v, "CN=alice"));
	CU_ASSERT_PTR_NULL(query_record_get(&r, "missing", 0));
	CU_ASSERT_EQUAL(query_record_count(&r, "missing"), 0);
	query_record_free(&r);

	/* A key may be as long as QUERY_KEY_MAX - 1 and hold digits, '_'. */
	CU_ASSERT_EQUAL(rec_rc("abcdefghijklmnopqrstuvwxyz_0123=1"), 0);
}

static void
test_record_reject(void)
{
	struct query_record r;
	struct mtls_buf b;
	char *big;
	size_t i;
	int rc;

	CU_ASSERT_EQUAL(rec_rc(""), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("key"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=1 key"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("=value"), MTLS_ERR_INVALID);
	/* Raw bytes the encoder would have escaped. */
	CU_ASSERT_EQUAL(rec_rc("subject=a=b"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=1  b=2"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=1 "), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc(" a=1"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=x\ty"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=x\ry"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=x\x7fy"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=\xc3\xa9"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(query_record_parse("a=x\0y", 5, &r), MTLS_ERR_INVALID);
	query_record_free(&r);
	/* Bad escapes. */
	CU_ASSERT_EQUAL(rec_rc("a=%G1"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=%1G"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=%4"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=%"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=x% b=1"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=%0a"), MTLS_ERR_INVALID);
	/* The length bounds the line, not a NUL: "%0" cut short by len. */
	big = malloc(4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memcpy(big, "a=%0", 4);
	CU_ASSERT_EQUAL(query_record_parse(big, 4, &r), MTLS_ERR_INVALID);
	query_record_free(&r);
	free(big);
	CU_ASSERT_EQUAL(query_record_parse("a=%0A", 4, &r), MTLS_ERR_INVALID);
	query_record_free(&r);
	/* Only one spelling: an escaped 'A' is not accepted as "A". */
	CU_ASSERT_EQUAL(rec_rc("a=%41"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("a=%0A"), 0);
	/* Bad keys. */
	CU_ASSERT_EQUAL(rec_rc("Type=session"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("san-dns=x"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("san.dns=x"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("k%41=x"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(rec_rc("abcdefghijklmnopqrstuvwxyz_01234=1"),
	    MTLS_ERR_INVALID);
	/* The same bad keys are refused when building a record. */
	query_record_init(&r);
	CU_ASSERT_EQUAL(query_record_add_str(&r, "Bad", "x"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(query_record_add_str(&r, "", "x"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(query_record_add_str(&r, "a b", "x"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(query_record_add_str(&r,
	    "abcdefghijklmnopqrstuvwxyz_01234", "x"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(query_record_add(&r, "k", NULL, 3), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(r.count, 0);
	query_record_free(&r);

	/* Over-long line: QUERY_RECORD_MAX - 1 bytes is the most allowed. */
	big = malloc(QUERY_RECORD_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', QUERY_RECORD_MAX + 1);
	memcpy(big, "k=", 2);
	CU_ASSERT_EQUAL(query_record_parse(big, QUERY_RECORD_MAX - 1, &r), 0);
	CU_ASSERT_EQUAL(r.count, 1);
	query_record_free(&r);
	CU_ASSERT_EQUAL(query_record_parse(big, QUERY_RECORD_MAX, &r),
	    MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(r.count, 0);
	query_record_free(&r);
	CU_ASSERT_EQUAL(query_record_parse(big, QUERY_RECORD_MAX + 1, &r),
	    MTLS_ERR_TOO_LARGE);
	query_record_free(&r);
	free(big);

	/* Too many fields: QUERY_MAX_FIELDS parse, one more does not. */
	buf_init(&b, 0);
	for (i = 0; i < QUERY_MAX_FIELDS; i++)
		if (buf_append_str(&b, i ? " a=1" : "a=1") != 0)
			break;
	CU_ASSERT_EQUAL_FATAL(i, QUERY_MAX_FIELDS);
	CU_ASSERT_EQUAL(query_record_parse(b.data, b.len, &r), 0);
	CU_ASSERT_EQUAL(r.count, QUERY_MAX_FIELDS);
	query_record_free(&r);
	CU_ASSERT_EQUAL_FATAL(buf_append_str(&b, " a=1"), 0);
	rc = query_record_parse(b.data, b.len, &r);
	CU_ASSERT_EQUAL(rc, MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(r.count, 0);
	query_record_free(&r);
	buf_free(&b);
}

static void
test_record_build_limits(void)
{
	struct query_record r;
	struct mtls_buf b;
	char *big;
	size_t i;

	query_record_init(&r);
	for (i = 0; i < QUERY_MAX_FIELDS; i++)
		if (query_record_add_str(&r, "a", "1") != 0)
			break;
	CU_ASSERT_EQUAL_FATAL(i, QUERY_MAX_FIELDS);
	CU_ASSERT_EQUAL(query_record_add_str(&r, "a", "1"),
	    MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(r.count, QUERY_MAX_FIELDS);
	query_record_free(&r);
	CU_ASSERT_EQUAL(r.count, 0);
	CU_ASSERT_PTR_NULL(r.fields);

	/* A value that would encode past QUERY_RECORD_MAX is refused. */
	big = malloc(QUERY_RECORD_MAX / 3 + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '\n', QUERY_RECORD_MAX / 3 + 1);
	CU_ASSERT_EQUAL(query_record_add(&r, "k", big,
	    QUERY_RECORD_MAX / 3 + 1), 0);
	buf_init(&b, 0);
	CU_ASSERT_EQUAL(buf_append_str(&b, "keep"), 0);
	CU_ASSERT_EQUAL(query_record_format(&r, &b), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 4);
	free(big);
	buf_free(&b);
	query_record_free(&r);
}

static int
status_rc(const char *line, size_t *count, char *code, char *msg)
{
	return query_status_parse(line, strlen(line), count, code, 64,
	    msg, 128);
}

static void
test_status_format(void)
{
	struct mtls_buf b;
	size_t count;
	char code[64], msg[128];

	buf_init(&b, 0);
	CU_ASSERT_EQUAL(query_format_ok(&b, 0), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "MTLS/1 OK 0\n");
	buf_reset(&b);
	CU_ASSERT_EQUAL(query_format_ok(&b, 42), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "MTLS/1 OK 42\n");
	CU_ASSERT_EQUAL(query_status_parse(b.data, b.len - 1, &count, code,
	    sizeof(code), msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(count, 42);
	CU_ASSERT_STRING_EQUAL(code, "");
	buf_reset(&b);
	CU_ASSERT_EQUAL(query_format_ok(&b, QUERY_MAX_RECORDS + 1),
	    MTLS_ERR_TOO_LARGE);

	buf_reset(&b);
	CU_ASSERT_EQUAL(query_format_err(&b, QUERY_E_NOT_FOUND,
	    "no session for 1.2.3.4:5"), 0);
	CU_ASSERT_STRING_EQUAL(b.data,
	    "MTLS/1 ERR not_found no%20session%20for%201.2.3.4:5\n");
	CU_ASSERT_EQUAL(query_status_parse(b.data, b.len - 1, &count, code,
	    sizeof(code), msg, sizeof(msg)), MTLS_ERR_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(code, "not_found");
	CU_ASSERT_STRING_EQUAL(msg, "no session for 1.2.3.4:5");

	/* An empty message is no message, without a trailing space. */
	buf_reset(&b);
	CU_ASSERT_EQUAL(query_format_err(&b, QUERY_E_DENIED, ""), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "MTLS/1 ERR denied\n");
	buf_reset(&b);
	CU_ASSERT_EQUAL(query_format_err(&b, "Bad Code", "x"),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(query_format_err(&b, "", "x"), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(b.len, 0);
	buf_free(&b);
}

static void
test_status_parse(void)
{
	size_t count = 99;
	char code[64], msg[128];

	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK 0", &count, code, msg), 0);
	CU_ASSERT_EQUAL(count, 0);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK 100000", &count, code, msg), 0);
	CU_ASSERT_EQUAL(count, QUERY_MAX_RECORDS);

	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR denied", &count, code, msg),
	    MTLS_ERR_DENIED);
	CU_ASSERT_STRING_EQUAL(code, "denied");
	CU_ASSERT_STRING_EQUAL(msg, "");
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR not_found x", &count, code,
	    msg), MTLS_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR too_large x", &count, code,
	    msg), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR unsupported_version x", &count,
	    code, msg), MTLS_ERR_VERSION);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR bad_request x", &count, code,
	    msg), MTLS_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(code, "bad_request");
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR internal oops", &count, code,
	    msg), MTLS_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(code, "internal");
	CU_ASSERT_STRING_EQUAL(msg, "oops");
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR whatever", &count, code, msg),
	    MTLS_ERR_INVALID);
	/* Control bytes in the decoded message are made printable. */
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR internal a%0Ab%1B", &count,
	    code, msg), MTLS_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(msg, "a?b?");

	/* Malformed lines: INVALID with an empty code. */
	CU_ASSERT_EQUAL(status_rc("", &count, code, msg), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK -1", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK 01", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK 1x", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK 100001", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK 99999999999999999999", &count,
	    code, msg), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK 1 2", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK  1", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 OK 1 ", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ok 1", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR Denied", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(code, "");
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR denied two words", &count, code,
	    msg), MTLS_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(code, "");
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR denied %G0", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(code, "");
	CU_ASSERT_EQUAL(status_rc("MTLS/1 ERR denied ", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/1 MAYBE 1", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("HTTP/1.1 200 OK", &count, code, msg),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(status_rc("MTLS/2 OK 1", &count, code, msg),
	    MTLS_ERR_VERSION);
	CU_ASSERT_STRING_EQUAL(code, "");
	CU_ASSERT_EQUAL(query_status_parse("MTLS/1 OK 1\0", 12, &count, code,
	    sizeof(code), msg, sizeof(msg)), MTLS_ERR_INVALID);
	/* A refused OK line never leaves a count behind. */
	CU_ASSERT_EQUAL(count, 0);

	/* Small output buffers are truncated, not overrun. */
	CU_ASSERT_EQUAL(query_status_parse("MTLS/1 ERR not_found abcdef", 27,
	    &count, code, 4, msg, 3), MTLS_ERR_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(code, "not");
	CU_ASSERT_STRING_EQUAL(msg, "ab");
}

void
unit_register_query(void)
{
	CU_pSuite s;

	s = CU_add_suite("query", NULL, NULL);
	CU_add_test(s, "request sessions/stats", test_request_sessions_stats);
	CU_add_test(s, "request whois", test_request_whois);
	CU_add_test(s, "request lookup", test_request_lookup);
	CU_add_test(s, "request lookup unix", test_request_lookup_unix);
	CU_add_test(s, "request redeem", test_request_redeem);
	CU_add_test(s, "request session", test_request_session);
	CU_add_test(s, "request canonical addresses", test_request_canonical);
	CU_add_test(s, "request rejects malformed", test_request_reject);
	CU_add_test(s, "request format rejects", test_request_format_reject);
	CU_add_test(s, "record round trip", test_record_roundtrip);
	CU_add_test(s, "record encoding", test_record_encoding);
	CU_add_test(s, "record forgery", test_record_forgery);
	CU_add_test(s, "record parse", test_record_parse);
	CU_add_test(s, "record rejects malformed", test_record_reject);
	CU_add_test(s, "record build limits", test_record_build_limits);
	CU_add_test(s, "status format", test_status_format);
	CU_add_test(s, "status parse", test_status_parse);
}
