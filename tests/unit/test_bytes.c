/*
 * test_bytes.c: the small building blocks in common/: length-carrying byte
 * strings and buffers (bytes.c), socket address text (netaddr.c) and the
 * logfmt quoting of audit lines (log.c).
 *
 * Byte strings must never lose a byte to an embedded NUL, and a logfmt
 * value must never be able to pass itself off as another key or another
 * line: those are the properties checked hardest here.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "bytes.h"
#include "error.h"
#include "log.h"
#include "netaddr.h"
#include "unit.h"

/* --- bytes --- */

static void
test_bytes_set(void)
{
	struct mtls_bytes b = { NULL, 0 };
	static const char val[] = { 'a', '\0', 'b', 'c' };

	CU_ASSERT_EQUAL_FATAL(bytes_set(&b, val, sizeof(val)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
	CU_ASSERT_EQUAL(b.len, 4);
	CU_ASSERT_EQUAL(memcmp(b.data, val, sizeof(val)), 0);
	/* One terminating NUL after the value. */
	CU_ASSERT_EQUAL(b.data[4], '\0');

	/* Setting again replaces the value. */
	CU_ASSERT_EQUAL_FATAL(bytes_set(&b, "xyz", 3), 0);
	CU_ASSERT_EQUAL(b.len, 3);
	CU_ASSERT_EQUAL(memcmp(b.data, "xyz", 4), 0);

	/* An empty value is an empty string, not NULL. */
	CU_ASSERT_EQUAL_FATAL(bytes_set(&b, "", 0), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(b.data[0], '\0');

	bytes_free(&b);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	/* Freeing twice is harmless. */
	bytes_free(&b);
	CU_ASSERT_PTR_NULL(b.data);
}

static void
test_bytes_equal_str(void)
{
	struct mtls_bytes b = { NULL, 0 };

	/* An unset value equals nothing, not even "". */
	CU_ASSERT_FALSE(bytes_equal_str(&b, ""));

	CU_ASSERT_EQUAL_FATAL(bytes_set(&b, "alice", 5), 0);
	CU_ASSERT_TRUE(bytes_equal_str(&b, "alice"));
	CU_ASSERT_FALSE(bytes_equal_str(&b, "alic"));
	CU_ASSERT_FALSE(bytes_equal_str(&b, "alice2"));
	CU_ASSERT_FALSE(bytes_equal_str(&b, "Alice"));
	CU_ASSERT_FALSE(bytes_equal_str(&b, ""));

	/* "alice\0.evil" is not "alice". */
	CU_ASSERT_EQUAL_FATAL(bytes_set(&b, "alice\0.evil", 11), 0);
	CU_ASSERT_FALSE(bytes_equal_str(&b, "alice"));
	CU_ASSERT_FALSE(bytes_equal_str(&b, "alice.evil"));

	CU_ASSERT_EQUAL_FATAL(bytes_set(&b, "", 0), 0);
	CU_ASSERT_TRUE(bytes_equal_str(&b, ""));
	CU_ASSERT_FALSE(bytes_equal_str(&b, "a"));
	bytes_free(&b);
}

static int
has_control(const void *v, size_t len)
{
	struct mtls_bytes b = { NULL, 0 };
	int r;

	if (bytes_set(&b, v, len) != 0)
		return -1;
	r = bytes_has_control(&b);
	bytes_free(&b);
	return r;
}

static void
test_bytes_has_control(void)
{
	CU_ASSERT_EQUAL(has_control("alice", 5), 0);
	CU_ASSERT_EQUAL(has_control("", 0), 0);
	CU_ASSERT_EQUAL(has_control(" ~!", 3), 0);
	/* UTF-8 (and stray high bytes) are not control characters. */
	CU_ASSERT_EQUAL(has_control("J\xc3\xbcrgen", 7), 0);
	CU_ASSERT_EQUAL(has_control("\xe6\x97\xa5\xf0\x9f\x98\x80", 7), 0);
	CU_ASSERT_EQUAL(has_control("\x80\xff", 2), 0);

	CU_ASSERT_EQUAL(has_control("alice\0.evil", 11), 1);
	CU_ASSERT_EQUAL(has_control("\0", 1), 1);
	CU_ASSERT_EQUAL(has_control("a\x1f", 2), 1);
	CU_ASSERT_EQUAL(has_control("\x7f", 1), 1);
	CU_ASSERT_EQUAL(has_control("a\nb", 3), 1);
	CU_ASSERT_EQUAL(has_control("tab\t", 4), 1);
	CU_ASSERT_EQUAL(has_control("\r", 1), 1);
}

static void
test_bytes_list(void)
{
	struct mtls_bytes_list l = { NULL, 0 };

	/* Freeing an empty list is safe. */
	bytes_list_free(&l);
	CU_ASSERT_EQUAL(l.count, 0);

	CU_ASSERT_EQUAL_FATAL(bytes_list_add(&l, "one", 3), 0);
	CU_ASSERT_EQUAL_FATAL(bytes_list_add(&l, "t\0o", 3), 0);
	CU_ASSERT_EQUAL_FATAL(bytes_list_add(&l, "", 0), 0);
	CU_ASSERT_EQUAL_FATAL(bytes_list_add(&l, "four", 4), 0);
	CU_ASSERT_EQUAL_FATAL(l.count, 4);
	CU_ASSERT_TRUE(bytes_equal_str(&l.items[0], "one"));
	CU_ASSERT_EQUAL(l.items[1].len, 3);
	CU_ASSERT_EQUAL(memcmp(l.items[1].data, "t\0o", 4), 0);
	CU_ASSERT_TRUE(bytes_equal_str(&l.items[2], ""));
	CU_ASSERT_TRUE(bytes_equal_str(&l.items[3], "four"));

	bytes_list_free(&l);
	CU_ASSERT_PTR_NULL(l.items);
	CU_ASSERT_EQUAL(l.count, 0);
	bytes_list_free(&l);

	/* Usable again after free. */
	CU_ASSERT_EQUAL_FATAL(bytes_list_add(&l, "again", 5), 0);
	CU_ASSERT_EQUAL(l.count, 1);
	CU_ASSERT_TRUE(bytes_equal_str(&l.items[0], "again"));
	bytes_list_free(&l);
}

static void
test_buf_growth(void)
{
	struct mtls_buf b;
	char *want;
	size_t i;

	buf_init(&b, 0);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);

	/* 10000 bytes in steps of 10 cross several reallocations. */
	for (i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL_FATAL(buf_append(&b, "0123456789", 10), 0);
	CU_ASSERT_EQUAL_FATAL(b.len, 10000);
	CU_ASSERT_TRUE(b.cap >= b.len + 1);
	CU_ASSERT_EQUAL(b.data[10000], '\0');
	for (i = 0; i < 10000; i++)
		if (b.data[i] != (char)('0' + i % 10))
			break;
	CU_ASSERT_EQUAL(i, 10000);

	/* Embedded NULs are kept; len counts them. */
	buf_reset(&b);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_STRING_EQUAL(b.data, "");
	CU_ASSERT_EQUAL_FATAL(buf_append(&b, "a\0b", 3), 0);
	CU_ASSERT_EQUAL_FATAL(buf_append_str(&b, "cd"), 0);
	CU_ASSERT_EQUAL(b.len, 5);
	CU_ASSERT_EQUAL(memcmp(b.data, "a\0bcd", 6), 0);
	/* Appending nothing changes nothing. */
	CU_ASSERT_EQUAL(buf_append(&b, "", 0), 0);
	CU_ASSERT_EQUAL(b.len, 5);

	/* buf_printf appends and grows past the first allocation. */
	buf_reset(&b);
	CU_ASSERT_EQUAL_FATAL(buf_printf(&b, "%s=%d", "n", 42), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "n=42");
	CU_ASSERT_EQUAL(b.len, 4);
	CU_ASSERT_EQUAL_FATAL(buf_printf(&b, ";%0600d", 7), 0);
	CU_ASSERT_EQUAL_FATAL(b.len, 4 + 1 + 600);
	CU_ASSERT_EQUAL(strlen(b.data), b.len);
	want = malloc(606);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	memcpy(want, "n=42;", 5);
	memset(want + 5, '0', 599);
	want[604] = '7';
	want[605] = '\0';
	CU_ASSERT_STRING_EQUAL(b.data, want);
	free(want);

	buf_free(&b);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(b.cap, 0);
	buf_free(&b);
}

static void
test_buf_limit(void)
{
	struct mtls_buf b;

	buf_init(&b, 10);
	CU_ASSERT_EQUAL(b.limit, 10);
	CU_ASSERT_EQUAL_FATAL(buf_append(&b, "12345678", 8), 0);

	/* Over the limit: refused, content untouched. */
	CU_ASSERT_EQUAL(buf_append(&b, "abc", 3), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 8);
	CU_ASSERT_STRING_EQUAL(b.data, "12345678");
	CU_ASSERT_EQUAL(buf_append_str(&b, "abcdef"), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 8);
	CU_ASSERT_EQUAL(buf_printf(&b, "%s", "xyz"), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 8);
	CU_ASSERT_STRING_EQUAL(b.data, "12345678");
	CU_ASSERT_EQUAL(buf_printf(&b, "%d", 12345), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_STRING_EQUAL(b.data, "12345678");

	/* Exactly up to the limit is fine, one more byte is not. */
	CU_ASSERT_EQUAL(buf_printf(&b, "%d", 9), 0);
	CU_ASSERT_EQUAL(buf_append(&b, "0", 1), 0);
	CU_ASSERT_EQUAL(b.len, 10);
	CU_ASSERT_STRING_EQUAL(b.data, "1234567890");
	CU_ASSERT_EQUAL(buf_append(&b, "x", 1), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 10);
	CU_ASSERT_STRING_EQUAL(b.data, "1234567890");

	/* After a reset the room is there again. */
	buf_reset(&b);
	CU_ASSERT_EQUAL(buf_append(&b, "abc", 3), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "abc");
	buf_free(&b);

	/* A single append larger than the limit on an empty buffer. */
	buf_init(&b, 4);
	CU_ASSERT_EQUAL(buf_append(&b, "hello", 5), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(buf_printf(&b, "%s", "hello"), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 0);
	buf_free(&b);
}

/* --- netaddr --- */

static void
test_netaddr_parse(void)
{
	struct netaddr a;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	struct sockaddr_un *sun;
	char text[NETADDR_TEXT_MAX];

	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("127.0.0.1:443", &a), 0);
	CU_ASSERT_EQUAL_FATAL(a.ss.ss_family, AF_INET);
	CU_ASSERT_EQUAL(a.len, sizeof(struct sockaddr_in));
	sin = (struct sockaddr_in *)&a.ss;
	CU_ASSERT_EQUAL(ntohs(sin->sin_port), 443);
	CU_ASSERT_EQUAL(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&a.ss, a.len, text,
	    sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "127.0.0.1:443");

	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("[::1]:8443", &a), 0);
	CU_ASSERT_EQUAL_FATAL(a.ss.ss_family, AF_INET6);
	CU_ASSERT_EQUAL(a.len, sizeof(struct sockaddr_in6));
	sin6 = (struct sockaddr_in6 *)&a.ss;
	CU_ASSERT_EQUAL(ntohs(sin6->sin6_port), 8443);
	CU_ASSERT_TRUE(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&a.ss, a.len, text,
	    sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "[::1]:8443");

	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL_FATAL(netaddr_parse("unix:/run/x.sock", &a), 0);
	CU_ASSERT_EQUAL_FATAL(a.ss.ss_family, AF_UNIX);
	sun = (struct sockaddr_un *)&a.ss;
	CU_ASSERT_STRING_EQUAL(sun->sun_path, "/run/x.sock");
	CU_ASSERT_TRUE(a.len > offsetof(struct sockaddr_un, sun_path));
	CU_ASSERT_TRUE(a.len <= sizeof(struct sockaddr_un));
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&a.ss, a.len, text,
	    sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, "unix:/run/x.sock");

	/* Edge ports. */
	CU_ASSERT_EQUAL(netaddr_parse("0.0.0.0:1", &a), 0);
	CU_ASSERT_EQUAL(netaddr_parse("192.0.2.1:65535", &a), 0);
	sin = (struct sockaddr_in *)&a.ss;
	CU_ASSERT_EQUAL(ntohs(sin->sin_port), 65535);
}

static void
test_netaddr_reject(void)
{
	static const char *bad[] = {
		"::1:80",		/* unbracketed IPv6 */
		"2001:db8::1:443",
		"host",			/* no port */
		"127.0.0.1",
		"127.0.0.1:0",		/* port 0 */
		"127.0.0.1:65536",	/* port too large */
		"127.0.0.1:99999",
		"127.0.0.1:-1",
		"127.0.0.1:+80",
		"127.0.0.1:80x",
		"127.0.0.1:",
		"abc",
		"",
		"[::1]",		/* no port */
		"[::1]:",
		"[::1]80",
		"[::1:80",
		"[]:80",
		":80",
		"unix:relative",	/* relative path */
		"unix:",
		"localhost:80",		/* names are not numeric */
		"256.0.0.1:80",
	};
	struct netaddr a;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = netaddr_parse(bad[i], &a);
		if (rc >= 0)
			fprintf(stderr, "netaddr_parse accepted \"%s\"\n",
			    bad[i]);
		CU_ASSERT_TRUE(rc < 0);
	}
}

static void
test_netaddr_canonical(void)
{
	char out[NETADDR_TEXT_MAX];

	CU_ASSERT_EQUAL(netaddr_canonical("[::ffff:127.0.0.1]:5", out,
	    sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "127.0.0.1:5");
	CU_ASSERT_EQUAL(netaddr_canonical("[2001:0db8:0:0::0001]:443", out,
	    sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "[2001:db8::1]:443");
	CU_ASSERT_EQUAL(netaddr_canonical("192.0.2.7:22", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "192.0.2.7:22");
	CU_ASSERT_EQUAL(netaddr_canonical("[::1]:8443", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "[::1]:8443");

	CU_ASSERT_TRUE(netaddr_canonical("unix:/run/x.sock", out,
	    sizeof(out)) < 0);
	CU_ASSERT_TRUE(netaddr_canonical("::1:80", out, sizeof(out)) < 0);
	CU_ASSERT_TRUE(netaddr_canonical("", out, sizeof(out)) < 0);
	/* Too small an output buffer is an error, not an overrun. */
	CU_ASSERT_EQUAL(netaddr_canonical("192.0.2.7:22", out, 5),
	    MTLS_ERR_TOO_LARGE);
}

static void
test_netaddr_format(void)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	struct sockaddr_un sun;
	char out[NETADDR_TEXT_MAX];

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, "2001:db8::1",
	    &sin6.sin6_addr), 1);
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&sin6, sizeof(sin6),
	    out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "[2001:db8::1]:443");

	/* IPv4-mapped addresses are shown as IPv4. */
	sin6.sin6_port = htons(22);
	CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, "::ffff:192.0.2.9",
	    &sin6.sin6_addr), 1);
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&sin6, sizeof(sin6),
	    out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "192.0.2.9:22");

	/* A short length or a small buffer is refused. */
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&sin6,
	    sizeof(sin6) - 1, out, sizeof(out)), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&sin6, sizeof(sin6),
	    out, 8), MTLS_ERR_TOO_LARGE);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5555);
	sin.sin_addr.s_addr = htonl(0xc0000201);
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&sin, sizeof(sin),
	    out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "192.0.2.1:5555");

	/* An unnamed unix socket (a client end) is just "unix:". */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&sun,
	    sizeof(sa_family_t), out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "unix:");

	/* Unknown families are refused. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_UNSPEC;
	CU_ASSERT_EQUAL(netaddr_format((struct sockaddr *)&sin, sizeof(sin),
	    out, sizeof(out)), MTLS_ERR_INVALID);
}

/* --- logfmt --- */

/* logfmt_append(key, value) on an empty buffer must give exactly want. */
static void
lf_check(const char *key, const void *value, size_t len, const char *want)
{
	struct mtls_buf b;

	buf_init(&b, 0);
	CU_ASSERT_EQUAL(logfmt_append(&b, key, value, len), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
	CU_ASSERT_EQUAL(b.len, strlen(want));
	CU_ASSERT_STRING_EQUAL(b.data, want);
	if (b.len != strlen(want) || strcmp(b.data, want) != 0)
		fprintf(stderr, "logfmt: got [%s], want [%s]\n", b.data, want);
	buf_free(&b);
}

/*
 * Split a logfmt line into keys as a reader would: key=value pairs
 * separated by single spaces, values either bare (no space, quote,
 * backslash or '=') or quoted with backslash escapes.  Returns the number
 * of keys, writing them space-separated into keys; -1 if the line does not
 * parse or holds a byte a line must never hold.
 */
static int
lf_keys(const char *line, size_t len, char *keys, size_t size)
{
	size_t i = 0, k, used = 0;
	int n = 0;

	keys[0] = '\0';
	while (i < len) {
		if (n > 0) {
			if (line[i] != ' ')
				return -1;
			i++;
		}
		k = i;
		while (i < len && line[i] != '=' && line[i] != ' ' &&
		    line[i] != '"')
			i++;
		if (i == k || i >= len || line[i] != '=')
			return -1;
		if (used + (i - k) + 2 > size)
			return -1;
		if (used > 0)
			keys[used++] = ' ';
		memcpy(keys + used, line + k, i - k);
		used += i - k;
		keys[used] = '\0';
		i++;
		if (i < len && line[i] == '"') {
			for (i++; i < len && line[i] != '"'; i++) {
				if ((unsigned char)line[i] < 0x20 ||
				    (unsigned char)line[i] >= 0x7f)
					return -1;
				if (line[i] == '\\' && ++i >= len)
					return -1;
			}
			if (i >= len)
				return -1;
			i++;
		} else {
			for (; i < len && line[i] != ' '; i++)
				if ((unsigned char)line[i] <= 0x20 ||
				    (unsigned char)line[i] >= 0x7f ||
				    line[i] == '"' || line[i] == '=' ||
				    line[i] == '\\')
					return -1;
		}
		n++;
	}
	return n;
}

static void
test_logfmt_quoting(void)
{
	lf_check("user", "alice", 5, "user=alice");
	lf_check("cn", "a.b-c_d@e/f:1", 13, "cn=a.b-c_d@e/f:1");
	lf_check("cn", "a b", 3, "cn=\"a b\"");
	lf_check("cn", "say \"hi\"", 8, "cn=\"say \\\"hi\\\"\"");
	lf_check("cn", "back\\slash", 10, "cn=\"back\\\\slash\"");
	lf_check("cn", "line1\nline2", 11, "cn=\"line1\\nline2\"");
	lf_check("cn", "cr\rtab\t", 7, "cn=\"cr\\rtab\\t\"");
	lf_check("cn", "alice\0.evil", 11, "cn=\"alice\\x00.evil\"");
	lf_check("cn", "\x80", 1, "cn=\"\\x80\"");
	lf_check("cn", "J\xc3\xbc", 3, "cn=\"J\\xC3\\xBC\"");
	lf_check("cn", "\x1f\x7f", 2, "cn=\"\\x1F\\x7F\"");
	lf_check("cn", "", 0, "cn=\"\"");
	lf_check("cn", "a=b", 3, "cn=\"a=b\"");
}

static void
test_logfmt_sequence(void)
{
	struct mtls_buf b;
	char keys[256];

	/* Pairs after the first are separated by one space. */
	buf_init(&b, 0);
	CU_ASSERT_EQUAL(logfmt_append(&b, "event", "handshake", 9), 0);
	CU_ASSERT_EQUAL(logfmt_append(&b, "result", "ok", 2), 0);
	CU_ASSERT_EQUAL(logfmt_append(&b, "cn", "", 0), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "event=handshake result=ok cn=\"\"");
	CU_ASSERT_EQUAL(lf_keys(b.data, b.len, keys, sizeof(keys)), 3);
	CU_ASSERT_STRING_EQUAL(keys, "event result cn");
	buf_free(&b);

	/* A buffer limit is honoured. */
	buf_init(&b, 8);
	CU_ASSERT_EQUAL(logfmt_append(&b, "k", "0123456789", 10),
	    MTLS_ERR_TOO_LARGE);
	CU_ASSERT_TRUE(b.len <= 8);
	buf_free(&b);
}

static void
test_logfmt_forgery(void)
{
	static const struct {
		const char	*v;
		size_t		 len;
	} hostile[] = {
		{ "x event=forged", 14 },
		{ "x\" event=forged", 15 },
		{ "x\\\" event=forged", 16 },
		{ "x\\", 2 },
		{ "\" event=forged \"", 16 },
		{ "x\nevent=forged", 14 },
		{ "x\r\nevent=forged", 15 },
		{ "x\0 event=forged", 15 },
		{ "event=forged", 12 },
		{ "=", 1 },
		{ "\"", 1 },
	};
	struct mtls_buf b;
	char keys[256];
	size_t i;
	int n;

	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		buf_init(&b, 0);
		CU_ASSERT_EQUAL_FATAL(logfmt_append(&b, "event", "handshake",
		    9), 0);
		CU_ASSERT_EQUAL_FATAL(logfmt_append(&b, "cn", hostile[i].v,
		    hostile[i].len), 0);
		CU_ASSERT_EQUAL_FATAL(logfmt_append(&b, "result", "fail", 4),
		    0);
		/* No raw line break or NUL can end up in the line. */
		CU_ASSERT_EQUAL(strlen(b.data), b.len);
		CU_ASSERT_PTR_NULL(memchr(b.data, '\n', b.len));
		CU_ASSERT_PTR_NULL(memchr(b.data, '\r', b.len));
		n = lf_keys(b.data, b.len, keys, sizeof(keys));
		if (n != 3 || strcmp(keys, "event cn result") != 0)
			fprintf(stderr, "logfmt forgery %zu: [%s]\n", i,
			    b.data);
		CU_ASSERT_EQUAL(n, 3);
		CU_ASSERT_STRING_EQUAL(keys, "event cn result");
		buf_free(&b);
	}
	lf_check("cn", "x event=forged", 14, "cn=\"x event=forged\"");
}

void
unit_register_bytes(void)
{
	CU_pSuite s;

	s = CU_add_suite("bytes", NULL, NULL);
	CU_add_test(s, "bytes_set keeps NULs", test_bytes_set);
	CU_add_test(s, "bytes_equal_str", test_bytes_equal_str);
	CU_add_test(s, "bytes_has_control", test_bytes_has_control);
	CU_add_test(s, "bytes_list add/free", test_bytes_list);
	CU_add_test(s, "buf growth", test_buf_growth);
	CU_add_test(s, "buf limit", test_buf_limit);

	s = CU_add_suite("netaddr", NULL, NULL);
	CU_add_test(s, "parse", test_netaddr_parse);
	CU_add_test(s, "parse rejects", test_netaddr_reject);
	CU_add_test(s, "canonical", test_netaddr_canonical);
	CU_add_test(s, "format", test_netaddr_format);

	s = CU_add_suite("logfmt", NULL, NULL);
	CU_add_test(s, "quoting", test_logfmt_quoting);
	CU_add_test(s, "sequence", test_logfmt_sequence);
	CU_add_test(s, "forgery", test_logfmt_forgery);
}
