/*
 * test_proxyproto.c: the PROXY protocol header builder (common/proxyproto.c)
 * against haproxy's proxy-protocol.txt, byte for byte.
 *
 * Every expected header below is written out by hand from the
 * specification (section 2.1 for the text header, 2.2 for the binary one,
 * 2.2.5 and 2.2.6 for the TLVs, 2.2.8 for the application range), not
 * derived from the builder.  Lengths and ports are chosen above 255 where
 * it matters, so that a little-endian slip shows.  A small consumer-style
 * parser (pp2_parse) then walks built headers the way a backend would and
 * checks every TLV.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "bytes.h"
#include "error.h"
#include "proxyproto.h"
#include "unit.h"

/* Section 2.2: the 12-byte signature, then version 2 / command PROXY. */
#define SIG	"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a"
#define V2	SIG "\x21"

/* --- helpers --- */

static void
mk4(struct sockaddr_in *s, const char *addr, unsigned port)
{
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	s->sin_port = htons((uint16_t)port);
	CU_ASSERT_FATAL(inet_pton(AF_INET, addr, &s->sin_addr) == 1);
}

static void
mk6(struct sockaddr_in6 *s, const char *addr, unsigned port)
{
	memset(s, 0, sizeof(*s));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons((uint16_t)port);
	CU_ASSERT_FATAL(inet_pton(AF_INET6, addr, &s->sin6_addr) == 1);
}

static void
mkun(struct sockaddr_un *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->sun_family = AF_UNIX;
	memcpy(s->sun_path, path, strlen(path));
}

#define SA(x)	((const struct sockaddr *)(x))

static void
dump(const char *label, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	fprintf(stderr, "%s (%zu bytes):", label, n);
	for (i = 0; i < n && i < 512; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n  ", b[i]);
	fprintf(stderr, "%s\n", n > 512 ? " ..." : "");
}

/* The buffer holds exactly want[0..n); on a difference, show both. */
static bool
same_bytes(const char *what, const struct mtls_buf *b, const void *want,
    size_t n)
{
	size_t i;

	if (b->len == n && (n == 0 || memcmp(b->data, want, n) == 0))
		return true;
	for (i = 0; i < b->len && i < n; i++)
		if ((unsigned char)b->data[i] != ((const unsigned char *)want)[i])
			break;
	fprintf(stderr, "\n%s: got %zu bytes, want %zu; first difference at "
	    "byte %zu\n", what, b->len, n, i);
	dump("got", b->data, b->len);
	dump("want", want, n);
	return false;
}

#define EXPECT_BYTES(what, b, lit)					\
	CU_ASSERT(same_bytes((what), (b), (lit), sizeof(lit) - 1))

static int
v1(struct mtls_buf *b, const void *src, socklen_t sl, const void *dst,
    socklen_t dl)
{
	buf_reset(b);
	return proxyproto_v1(b, SA(src), sl, SA(dst), dl);
}

static int
v2(struct mtls_buf *b, const void *src, socklen_t sl, const void *dst,
    socklen_t dl, const struct pp_tls *t)
{
	buf_reset(b);
	return proxyproto_v2(b, SA(src), sl, SA(dst), dl, t);
}

/* --- a consumer's view of a v2 header --- */

struct pp2_val {
	bool			 present;
	const unsigned char	*v;
	size_t			 len;
};

struct pp2_parsed {
	unsigned char	 fam;
	size_t		 total;		/* 16 + the length field */
	unsigned char	 src[108], dst[108];
	size_t		 addrlen;	/* of one address: 4, 16 or 108 */
	uint16_t	 sport, dport;
	unsigned char	 client;
	uint32_t	 verify;
	struct pp2_val	 top[256];	/* by type */
	struct pp2_val	 ssl[256];	/* PP2_TYPE_SSL sub-TLVs, by type */
	char		 why[128];
};

/*
 * Walk a v2 header as a strict receiver would (sections 2.2 to 2.2.6):
 * signature, version 2 with the PROXY command, a known family, a length
 * that the address block fits in, TLVs that exactly fill the rest, an SSL
 * TLV of at least client + verify whose sub-TLVs exactly fill it, no type
 * twice.  0 when well formed; -1 with p->why otherwise.
 */
static int
pp2_parse(const unsigned char *h, size_t n, struct pp2_parsed *p)
{
	size_t len, off, end, alen, tl, soff, send;
	unsigned char type, st;

	memset(p, 0, sizeof(*p));
#define BAD(...) do {							\
	snprintf(p->why, sizeof(p->why), __VA_ARGS__);			\
	return -1;							\
} while (0)
	if (n < 16)
		BAD("shorter than 16 bytes");
	if (memcmp(h, SIG, 12) != 0)
		BAD("bad signature");
	if ((h[12] & 0xf0) != 0x20)
		BAD("version %u", h[12] >> 4);
	if ((h[12] & 0x0f) != 0x01)
		BAD("command %u (want PROXY)", h[12] & 0x0f);
	p->fam = h[13];
	len = (size_t)h[14] << 8 | h[15];
	p->total = 16 + len;
	if (p->total > n)
		BAD("length %zu beyond the %zu bytes given", len, n - 16);
	switch (p->fam) {
	case 0x00: alen = 0; break;
	case 0x11: alen = 4; break;
	case 0x21: alen = 16; break;
	case 0x31: alen = 108; break;
	default: BAD("family/protocol 0x%02x", p->fam);
	}
	p->addrlen = alen;
	off = 16;
	if (alen > 0) {
		size_t block = 2 * alen + (p->fam == 0x31 ? 0 : 4);

		if (len < block)
			BAD("address block %zu > length %zu", block, len);
		memcpy(p->src, h + off, alen);
		memcpy(p->dst, h + off + alen, alen);
		off += 2 * alen;
		if (p->fam != 0x31) {
			p->sport = (uint16_t)(h[off] << 8 | h[off + 1]);
			p->dport = (uint16_t)(h[off + 2] << 8 | h[off + 3]);
			off += 4;
		}
	}
	end = p->total;
	while (off < end) {
		if (end - off < 3)
			BAD("TLV header cut at %zu", off);
		type = h[off];
		tl = (size_t)h[off + 1] << 8 | h[off + 2];
		if (tl > end - off - 3)
			BAD("TLV 0x%02x length %zu overruns", type, tl);
		if (p->top[type].present)
			BAD("TLV 0x%02x twice", type);
		p->top[type].present = true;
		p->top[type].v = h + off + 3;
		p->top[type].len = tl;
		if (type == PP2_TYPE_SSL) {
			if (tl < 5)
				BAD("SSL TLV of %zu bytes", tl);
			p->client = h[off + 3];
			p->verify = (uint32_t)h[off + 4] << 24 |
			    (uint32_t)h[off + 5] << 16 |
			    (uint32_t)h[off + 6] << 8 | h[off + 7];
			soff = off + 8;
			send = off + 3 + tl;
			while (soff < send) {
				size_t sl;

				if (send - soff < 3)
					BAD("sub-TLV header cut");
				st = h[soff];
				sl = (size_t)h[soff + 1] << 8 | h[soff + 2];
				if (sl > send - soff - 3)
					BAD("sub-TLV 0x%02x overruns", st);
				if (p->ssl[st].present)
					BAD("sub-TLV 0x%02x twice", st);
				p->ssl[st].present = true;
				p->ssl[st].v = h + soff + 3;
				p->ssl[st].len = sl;
				soff += 3 + sl;
			}
		}
		off += 3 + tl;
	}
#undef BAD
	return 0;
}

static bool
val_is(const struct pp2_val *v, const void *want, size_t n)
{
	return v->present && v->len == n && memcmp(v->v, want, n) == 0;
}

static bool
val_str(const struct pp2_val *v, const char *want)
{
	return val_is(v, want, strlen(want));
}

/* Types other than the ones listed are absent. */
static void
only_types(const struct pp2_val *tab, const unsigned char *allowed,
    size_t n)
{
	size_t t, i;
	bool ok;

	for (t = 0; t < 256; t++) {
		if (!tab[t].present)
			continue;
		for (ok = false, i = 0; i < n; i++)
			if (allowed[i] == t)
				ok = true;
		if (!ok)
			fprintf(stderr, "\nunexpected TLV type 0x%02zx\n", t);
		CU_ASSERT(ok);
	}
}

/* --- version 1 (section 2.1) --- */

static void
test_v1_ipv4(void)
{
	struct sockaddr_in s, d;
	struct mtls_buf b;

	buf_init(&b, 0);
	mk4(&s, "192.0.2.1", 56324);
	mk4(&d, "198.51.100.11", 443);
	CU_ASSERT_EQUAL(v1(&b, &s, sizeof(s), &d, sizeof(d)), 0);
	EXPECT_BYTES("v1 tcp4", &b,
	    "PROXY TCP4 192.0.2.1 198.51.100.11 56324 443\r\n");

	/* No leading zeroes anywhere; port 0 is "0". */
	mk4(&s, "10.0.0.1", 0);
	mk4(&d, "10.0.20.3", 8);
	CU_ASSERT_EQUAL(v1(&b, &s, sizeof(s), &d, sizeof(d)), 0);
	EXPECT_BYTES("v1 tcp4 small", &b, "PROXY TCP4 10.0.0.1 10.0.20.3 0 8\r\n");

	/* The longest TCP4 line: 56 characters with the CRLF. */
	mk4(&s, "255.255.255.255", 65535);
	mk4(&d, "255.255.255.255", 65535);
	CU_ASSERT_EQUAL(v1(&b, &s, sizeof(s), &d, sizeof(d)), 0);
	EXPECT_BYTES("v1 tcp4 longest", &b,
	    "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n");
	CU_ASSERT_EQUAL(b.len, 56);

	/* Appends: what the buffer held stays in front. */
	buf_reset(&b);
	CU_ASSERT_EQUAL_FATAL(buf_append_str(&b, "XY"), 0);
	mk4(&s, "127.0.0.1", 1);
	mk4(&d, "127.0.0.1", 2);
	CU_ASSERT_EQUAL(proxyproto_v1(&b, SA(&s), sizeof(s), SA(&d),
	    sizeof(d)), 0);
	EXPECT_BYTES("v1 appends", &b, "XYPROXY TCP4 127.0.0.1 127.0.0.1 1 2\r\n");
	buf_free(&b);
}

static void
test_v1_ipv6(void)
{
	struct sockaddr_in6 s, d;
	struct mtls_buf b;

	buf_init(&b, 0);
	mk6(&s, "2001:db8::1", 1234);
	mk6(&d, "2001:db8:0:1::5", 8443);
	CU_ASSERT_EQUAL(v1(&b, &s, sizeof(s), &d, sizeof(d)), 0);
	EXPECT_BYTES("v1 tcp6", &b,
	    "PROXY TCP6 2001:db8::1 2001:db8:0:1::5 1234 8443\r\n");

	mk6(&s, "::1", 40000);
	mk6(&d, "::1", 2222);
	CU_ASSERT_EQUAL(v1(&b, &s, sizeof(s), &d, sizeof(d)), 0);
	EXPECT_BYTES("v1 tcp6 loopback", &b, "PROXY TCP6 ::1 ::1 40000 2222\r\n");

	/* The longest TCP6 line: 104 characters with the CRLF. */
	mk6(&s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	mk6(&d, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	CU_ASSERT_EQUAL(v1(&b, &s, sizeof(s), &d, sizeof(d)), 0);
	EXPECT_BYTES("v1 tcp6 longest", &b, "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n");
	CU_ASSERT_EQUAL(b.len, 104);
	buf_free(&b);
}

static void
test_v1_mapped(void)
{
	struct sockaddr_in6 s, d;
	struct sockaddr_in d4;
	struct mtls_buf b;

	/* An IPv4 client on a [::] listener is an IPv4 client: TCP4. */
	buf_init(&b, 0);
	mk6(&s, "::ffff:192.0.2.7", 40000);
	mk6(&d, "::ffff:127.0.0.1", 2222);
	CU_ASSERT_EQUAL(v1(&b, &s, sizeof(s), &d, sizeof(d)), 0);
	EXPECT_BYTES("v1 mapped", &b,
	    "PROXY TCP4 192.0.2.7 127.0.0.1 40000 2222\r\n");

	/* Mapped on one side, plain IPv4 on the other: the same family. */
	mk4(&d4, "198.51.100.2", 443);
	CU_ASSERT_EQUAL(v1(&b, &s, sizeof(s), &d4, sizeof(d4)), 0);
	EXPECT_BYTES("v1 mapped + v4", &b,
	    "PROXY TCP4 192.0.2.7 198.51.100.2 40000 443\r\n");
	CU_ASSERT_EQUAL(v1(&b, &d4, sizeof(d4), &s, sizeof(s)), 0);
	EXPECT_BYTES("v1 v4 + mapped", &b,
	    "PROXY TCP4 198.51.100.2 192.0.2.7 443 40000\r\n");
	buf_free(&b);
}

static void
test_v1_unknown(void)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 d6;
	struct sockaddr_un su, du;
	struct mtls_buf b;

	buf_init(&b, 0);
	/* Mixed families: no one TCP4/TCP6 line can say it. */
	mk4(&s4, "192.0.2.1", 5000);
	mk6(&d6, "2001:db8::1", 443);
	CU_ASSERT_EQUAL(v1(&b, &s4, sizeof(s4), &d6, sizeof(d6)), 0);
	EXPECT_BYTES("v1 v4->v6", &b, "PROXY UNKNOWN\r\n");
	CU_ASSERT_EQUAL(v1(&b, &d6, sizeof(d6), &s4, sizeof(s4)), 0);
	EXPECT_BYTES("v1 v6->v4", &b, "PROXY UNKNOWN\r\n");

	/* Unix sockets: version 1 only knows TCP. */
	mkun(&su, "/run/client.sock");
	mkun(&du, "/run/mtlsd/listen.sock");
	CU_ASSERT_EQUAL(v1(&b, &su, sizeof(su), &du, sizeof(du)), 0);
	EXPECT_BYTES("v1 unix", &b, "PROXY UNKNOWN\r\n");
	CU_ASSERT_EQUAL(v1(&b, &su, sizeof(su), &s4, sizeof(s4)), 0);
	EXPECT_BYTES("v1 unix->v4", &b, "PROXY UNKNOWN\r\n");
	CU_ASSERT_EQUAL(v1(&b, &s4, sizeof(s4), &du, sizeof(du)), 0);
	EXPECT_BYTES("v1 v4->unix", &b, "PROXY UNKNOWN\r\n");
	buf_free(&b);
}

/* --- version 2 addresses (section 2.2) --- */

static void
test_v2_ipv4(void)
{
	struct sockaddr_in s, d;
	struct mtls_buf b;
	struct pp2_parsed p;

	buf_init(&b, 0);
	mk4(&s, "192.0.2.1", 56324);
	mk4(&d, "198.51.100.11", 443);
	CU_ASSERT_EQUAL(v2(&b, &s, sizeof(s), &d, sizeof(d), NULL), 0);
	EXPECT_BYTES("v2 tcp4", &b, V2 "\x11" "\x00\x0c"
	    "\xc0\x00\x02\x01"		/* 192.0.2.1 */
	    "\xc6\x33\x64\x0b"		/* 198.51.100.11 */
	    "\xdc\x04"			/* 56324 */
	    "\x01\xbb");		/* 443 */
	CU_ASSERT_EQUAL_FATAL(pp2_parse((unsigned char *)b.data, b.len, &p),
	    0);
	CU_ASSERT_EQUAL(p.total, b.len);
	CU_ASSERT_EQUAL(p.sport, 56324);
	CU_ASSERT_EQUAL(p.dport, 443);
	CU_ASSERT_EQUAL(memcmp(p.src, &s.sin_addr, 4), 0);
	CU_ASSERT_EQUAL(memcmp(p.dst, &d.sin_addr, 4), 0);

	/* Appends after what the buffer held. */
	buf_reset(&b);
	CU_ASSERT_EQUAL_FATAL(buf_append(&b, "\x00Z", 2), 0);
	CU_ASSERT_EQUAL(proxyproto_v2(&b, SA(&s), sizeof(s), SA(&d),
	    sizeof(d), NULL), 0);
	EXPECT_BYTES("v2 appends", &b, "\x00Z" V2 "\x11" "\x00\x0c"
	    "\xc0\x00\x02\x01" "\xc6\x33\x64\x0b" "\xdc\x04" "\x01\xbb");
	buf_free(&b);
}

static void
test_v2_ipv6(void)
{
	struct sockaddr_in6 s, d;
	struct mtls_buf b;

	buf_init(&b, 0);
	mk6(&s, "2001:db8::1", 1234);
	mk6(&d, "2001:db8:0:1::5", 8443);
	CU_ASSERT_EQUAL(v2(&b, &s, sizeof(s), &d, sizeof(d), NULL), 0);
	EXPECT_BYTES("v2 tcp6", &b, V2 "\x21" "\x00\x24"
	    "\x20\x01\x0d\xb8\x00\x00\x00\x00"
	    "\x00\x00\x00\x00\x00\x00\x00\x01"	/* 2001:db8::1 */
	    "\x20\x01\x0d\xb8\x00\x00\x00\x01"
	    "\x00\x00\x00\x00\x00\x00\x00\x05"	/* 2001:db8:0:1::5 */
	    "\x04\xd2"				/* 1234 */
	    "\x20\xfb");			/* 8443 */
	buf_free(&b);
}

static void
test_v2_mapped_mixed(void)
{
	struct sockaddr_in6 s, d;
	struct sockaddr_in s4;
	struct mtls_buf b;

	buf_init(&b, 0);
	/* IPv4-mapped IPv6 on both sides: TCP over IPv4. */
	mk6(&s, "::ffff:192.0.2.7", 40000);
	mk6(&d, "::ffff:127.0.0.1", 2222);
	CU_ASSERT_EQUAL(v2(&b, &s, sizeof(s), &d, sizeof(d), NULL), 0);
	EXPECT_BYTES("v2 mapped", &b, V2 "\x11" "\x00\x0c"
	    "\xc0\x00\x02\x07" "\x7f\x00\x00\x01" "\x9c\x40" "\x08\xae");

	/* Mixed families: AF_UNSPEC, no address block. */
	mk4(&s4, "192.0.2.1", 5000);
	mk6(&d, "2001:db8::1", 443);
	CU_ASSERT_EQUAL(v2(&b, &s4, sizeof(s4), &d, sizeof(d), NULL), 0);
	EXPECT_BYTES("v2 mixed", &b, V2 "\x00" "\x00\x00");
	CU_ASSERT_EQUAL(v2(&b, &d, sizeof(d), &s4, sizeof(s4), NULL), 0);
	EXPECT_BYTES("v2 mixed reversed", &b, V2 "\x00" "\x00\x00");
	buf_free(&b);
}

static void
test_v2_unix(void)
{
	struct sockaddr_un s, d;
	unsigned char want[16 + 216];
	struct mtls_buf b;

	buf_init(&b, 0);
	/* 108 bytes each, NUL-padded; a path that fills all 108 bytes
	 * (no NUL, as Linux allows) is carried whole. */
	mkun(&s, "/run/client.sock");
	memset(&d, 0, sizeof(d));
	d.sun_family = AF_UNIX;
	memset(d.sun_path, 'p', sizeof(d.sun_path));
	CU_ASSERT_EQUAL(v2(&b, &s, sizeof(s), &d, sizeof(d), NULL), 0);
	memset(want, 0, sizeof(want));
	memcpy(want, V2 "\x31" "\x00\xd8", 16);
	memcpy(want + 16, "/run/client.sock", 16);	/* then 92 NULs */
	memset(want + 16 + 108, 'p', 108);
	CU_ASSERT(same_bytes("v2 unix", &b, want, sizeof(want)));
	buf_free(&b);
}

/*
 * A unix client is normally unnamed: getpeername() gives only the family
 * (length sizeof(sa_family_t)).  Its address in the header is then 108
 * NULs, whatever bytes lie past the length in the caller's storage.
 */
static void
test_v2_unix_unnamed(void)
{
	struct sockaddr_un s, d;
	unsigned char want[16 + 216];
	struct mtls_buf b;

	buf_init(&b, 0);
	memset(&s, 'Z', sizeof(s));		/* stale bytes past the family */
	s.sun_family = AF_UNIX;
	mkun(&d, "/run/svc.sock");
	CU_ASSERT_EQUAL(v2(&b, &s, sizeof(sa_family_t), &d, sizeof(d), NULL),
	    0);
	memset(want, 0, sizeof(want));
	memcpy(want, V2 "\x31" "\x00\xd8", 16);
	memcpy(want + 16 + 108, "/run/svc.sock", 13);
	CU_ASSERT(same_bytes("v2 unix unnamed client", &b, want,
	    sizeof(want)));
	buf_free(&b);
}

/* --- version 2 TLVs (sections 2.2, 2.2.5, 2.2.6, 2.2.8) --- */

#define UID	"0123456789abcdef0123456789abcdef"

static unsigned char cert300[300];

static void
fill_cert(void)
{
	size_t i;

	for (i = 0; i < sizeof(cert300); i++)
		cert300[i] = (unsigned char)(i * 7 + 3);
	cert300[0] = 0x30;
}

static void
full_tls(struct pp_tls *t)
{
	memset(t, 0, sizeof(*t));
	fill_cert();
	t->version = "TLSv1.3";
	t->cn = (const unsigned char *)"alice";
	t->cn_len = 5;
	t->cipher = "TLS_AES_128_GCM_SHA256";
	t->sig_alg = "ECDSA-SHA256";
	t->key_alg = "EC256";
	t->cert = cert300;
	t->cert_len = sizeof(cert300);
	t->unique_id = UID;
	t->accounts = "alice,bob";
	t->sha256 = "AB:CD:EF";
}

static void
test_v2_tlvs(void)
{
	static const char head[] =
	    V2 "\x11" "\x01\xbf"		/* 12 + 435 = 447 */
	    "\xc0\x00\x02\x01" "\xc6\x33\x64\x0b" "\xdc\x04" "\x01\xbb"
	    "\x20" "\x01\x76"			/* PP2_TYPE_SSL, 374 */
	    "\x07"				/* SSL|CERT_CONN|CERT_SESS */
	    "\x00\x00\x00\x00"			/* verify: 0, verified */
	    "\x21" "\x00\x07" "TLSv1.3"
	    "\x22" "\x00\x05" "alice"
	    "\x23" "\x00\x16" "TLS_AES_128_GCM_SHA256"
	    "\x24" "\x00\x0c" "ECDSA-SHA256"
	    "\x25" "\x00\x05" "EC256"
	    "\x28" "\x01\x2c";			/* the certificate, 300 */
	static const char tail[] =
	    "\x05" "\x00\x20" UID		/* PP2_TYPE_UNIQUE_ID, 32 */
	    "\xe0" "\x00\x09" "alice,bob"	/* accounts */
	    "\xe1" "\x00\x08" "AB:CD:EF";	/* sha256 */
	unsigned char want[sizeof(head) - 1 + 300 + sizeof(tail) - 1];
	static const unsigned char top[] = { PP2_TYPE_SSL,
	    PP2_TYPE_UNIQUE_ID, 0xe0, 0xe1 };
	static const unsigned char subs[] = { 0x21, 0x22, 0x23, 0x24, 0x25,
	    0x28 };
	struct sockaddr_in s, d;
	struct mtls_buf b;
	struct pp2_parsed p;
	struct pp_tls t;

	buf_init(&b, 0);
	mk4(&s, "192.0.2.1", 56324);
	mk4(&d, "198.51.100.11", 443);
	full_tls(&t);
	CU_ASSERT_EQUAL_FATAL(v2(&b, &s, sizeof(s), &d, sizeof(d), &t), 0);
	memcpy(want, head, sizeof(head) - 1);
	memcpy(want + sizeof(head) - 1, cert300, 300);
	memcpy(want + sizeof(head) - 1 + 300, tail, sizeof(tail) - 1);
	CU_ASSERT_EQUAL(sizeof(want), 16 + 447);
	CU_ASSERT(same_bytes("v2 all TLVs", &b, want, sizeof(want)));

	/* And as a consumer reads it. */
	if (pp2_parse((unsigned char *)b.data, b.len, &p) != 0)
		fprintf(stderr, "\npp2_parse: %s\n", p.why);
	CU_ASSERT_EQUAL_FATAL(pp2_parse((unsigned char *)b.data, b.len, &p),
	    0);
	CU_ASSERT_EQUAL(p.total, b.len);
	CU_ASSERT_EQUAL(p.fam, 0x11);
	CU_ASSERT_EQUAL(p.sport, 56324);
	CU_ASSERT_EQUAL(p.dport, 443);
	CU_ASSERT_EQUAL(p.client, PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN |
	    PP2_CLIENT_CERT_SESS);
	CU_ASSERT_EQUAL(p.verify, 0);
	CU_ASSERT(val_str(&p.ssl[0x21], "TLSv1.3"));
	CU_ASSERT(val_str(&p.ssl[0x22], "alice"));
	CU_ASSERT(val_str(&p.ssl[0x23], "TLS_AES_128_GCM_SHA256"));
	CU_ASSERT(val_str(&p.ssl[0x24], "ECDSA-SHA256"));
	CU_ASSERT(val_str(&p.ssl[0x25], "EC256"));
	CU_ASSERT(val_is(&p.ssl[0x28], cert300, sizeof(cert300)));
	CU_ASSERT(val_str(&p.top[0x05], UID));
	CU_ASSERT(val_str(&p.top[0xe0], "alice,bob"));
	CU_ASSERT(val_str(&p.top[0xe1], "AB:CD:EF"));
	only_types(p.top, top, sizeof(top));
	only_types(p.ssl, subs, sizeof(subs));
	buf_free(&b);
}

static void
test_v2_tlvs_ipv6(void)
{
	static const unsigned char top[] = { PP2_TYPE_SSL,
	    PP2_TYPE_UNIQUE_ID, 0xe0, 0xe1 };
	struct sockaddr_in6 s, d;
	struct mtls_buf b;
	struct pp2_parsed p;
	struct pp_tls t;

	buf_init(&b, 0);
	mk6(&s, "2001:db8::1", 1234);
	mk6(&d, "::1", 8443);
	full_tls(&t);
	CU_ASSERT_EQUAL_FATAL(v2(&b, &s, sizeof(s), &d, sizeof(d), &t), 0);
	/* 36 address bytes + the same 435 TLV bytes = 471 = 0x01d7. */
	CU_ASSERT_EQUAL_FATAL(b.len, 16 + 471);
	CU_ASSERT_EQUAL(memcmp(b.data, V2 "\x21" "\x01\xd7", 16), 0);
	CU_ASSERT_EQUAL(memcmp(b.data + 16,
	    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x04\xd2" "\x20\xfb", 36), 0);
	CU_ASSERT_EQUAL_FATAL(pp2_parse((unsigned char *)b.data, b.len, &p),
	    0);
	CU_ASSERT_EQUAL(p.fam, 0x21);
	CU_ASSERT_EQUAL(p.sport, 1234);
	CU_ASSERT_EQUAL(p.dport, 8443);
	CU_ASSERT(val_str(&p.ssl[0x22], "alice"));
	CU_ASSERT(val_is(&p.ssl[0x28], cert300, sizeof(cert300)));
	CU_ASSERT(val_str(&p.top[0x05], UID));
	CU_ASSERT(val_str(&p.top[0xe0], "alice,bob"));
	CU_ASSERT(val_str(&p.top[0xe1], "AB:CD:EF"));
	only_types(p.top, top, sizeof(top));
	buf_free(&b);
}

static void
test_v2_cn_nul(void)
{
	static const unsigned char cn[] = { 'a', 'l', 0, 'i', 'c', 'e' };
	struct sockaddr_in s, d;
	struct mtls_buf b;
	struct pp2_parsed p;
	struct pp_tls t;

	buf_init(&b, 0);
	mk4(&s, "127.0.0.1", 1);
	mk4(&d, "127.0.0.1", 2);
	memset(&t, 0, sizeof(t));
	t.version = "TLSv1.2";
	t.cn = cn;
	t.cn_len = sizeof(cn);
	CU_ASSERT_EQUAL_FATAL(v2(&b, &s, sizeof(s), &d, sizeof(d), &t), 0);
	/* SSL value: 5 + 10 + 9 = 24; payload 12 + 27 = 39. */
	EXPECT_BYTES("v2 CN with NUL", &b, V2 "\x11" "\x00\x27"
	    "\x7f\x00\x00\x01" "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"
	    "\x20" "\x00\x18" "\x07" "\x00\x00\x00\x00"
	    "\x21" "\x00\x07" "TLSv1.2"
	    "\x22" "\x00\x06" "al\0ice");
	CU_ASSERT_EQUAL_FATAL(pp2_parse((unsigned char *)b.data, b.len, &p),
	    0);
	CU_ASSERT(val_is(&p.ssl[0x22], cn, sizeof(cn)));
	buf_free(&b);
}

static void
test_v2_omitted(void)
{
	struct sockaddr_in s, d;
	struct sockaddr_in6 d6;
	struct mtls_buf b;
	struct pp2_parsed p;
	struct pp_tls t;

	buf_init(&b, 0);
	mk4(&s, "127.0.0.1", 1);
	mk4(&d, "127.0.0.1", 2);

	/* Nothing known but the version: SSL holds client, verify, version. */
	memset(&t, 0, sizeof(t));
	t.version = "TLSv1.3";
	CU_ASSERT_EQUAL_FATAL(v2(&b, &s, sizeof(s), &d, sizeof(d), &t), 0);
	EXPECT_BYTES("v2 version only", &b, V2 "\x11" "\x00\x1e"
	    "\x7f\x00\x00\x01" "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"
	    "\x20" "\x00\x0f" "\x07" "\x00\x00\x00\x00"
	    "\x21" "\x00\x07" "TLSv1.3");

	/* Empty strings are left out too (no accounts mapped). */
	memset(&t, 0, sizeof(t));
	t.version = "TLSv1.3";
	t.cipher = "";
	t.sig_alg = "";
	t.key_alg = "";
	t.accounts = "";
	t.sha256 = "";
	t.unique_id = UID;
	CU_ASSERT_EQUAL_FATAL(v2(&b, &s, sizeof(s), &d, sizeof(d), &t), 0);
	EXPECT_BYTES("v2 empty left out", &b, V2 "\x11" "\x00\x41"
	    "\x7f\x00\x00\x01" "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"
	    "\x20" "\x00\x0f" "\x07" "\x00\x00\x00\x00"
	    "\x21" "\x00\x07" "TLSv1.3"
	    "\x05" "\x00\x20" UID);
	CU_ASSERT_EQUAL_FATAL(pp2_parse((unsigned char *)b.data, b.len, &p),
	    0);
	CU_ASSERT_FALSE(p.top[0xe0].present);
	CU_ASSERT_FALSE(p.top[0xe1].present);
	CU_ASSERT_FALSE(p.ssl[0x22].present);
	CU_ASSERT_FALSE(p.ssl[0x28].present);

	/* Mixed families still carry the TLVs, right after the header. */
	mk6(&d6, "2001:db8::1", 443);
	CU_ASSERT_EQUAL_FATAL(v2(&b, &s, sizeof(s), &d6, sizeof(d6), &t), 0);
	EXPECT_BYTES("v2 mixed with TLVs", &b, V2 "\x00" "\x00\x35"
	    "\x20" "\x00\x0f" "\x07" "\x00\x00\x00\x00"
	    "\x21" "\x00\x07" "TLSv1.3"
	    "\x05" "\x00\x20" UID);
	buf_free(&b);
}

static void
test_v2_too_large(void)
{
	struct sockaddr_in s, d;
	struct sockaddr_un us, ud;
	struct mtls_buf b;
	struct pp2_parsed p;
	struct pp_tls t;
	unsigned char *big;
	size_t n = 70000;

	big = calloc(1, n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	big[0] = 0x30;
	big[65511] = 0xee;
	buf_init(&b, 0);
	mk4(&s, "127.0.0.1", 1);
	mk4(&d, "127.0.0.1", 2);
	memset(&t, 0, sizeof(t));
	t.cert = big;

	/* 12 address bytes + SSL TLV (3 + 5 + 3 + cert): 65535 exactly. */
	t.cert_len = 65512;
	CU_ASSERT_EQUAL(v2(&b, &s, sizeof(s), &d, sizeof(d), &t), 0);
	CU_ASSERT_EQUAL_FATAL(b.len, 16 + 65535);
	CU_ASSERT_EQUAL((unsigned char)b.data[14], 0xff);
	CU_ASSERT_EQUAL((unsigned char)b.data[15], 0xff);
	CU_ASSERT_EQUAL_FATAL(pp2_parse((unsigned char *)b.data, b.len, &p),
	    0);
	CU_ASSERT(val_is(&p.top[PP2_TYPE_SSL], b.data + 28 + 3, 65520));
	CU_ASSERT(val_is(&p.ssl[0x28], big, 65512));

	/* One byte more: over 65535, refused, nothing appended. */
	t.cert_len = 65513;
	buf_reset(&b);
	CU_ASSERT_EQUAL(proxyproto_v2(&b, SA(&s), sizeof(s), SA(&d),
	    sizeof(d), &t), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 0);

	/* A certificate that no 16-bit length can hold. */
	t.cert_len = 65536;
	CU_ASSERT_EQUAL(proxyproto_v2(&b, SA(&s), sizeof(s), SA(&d),
	    sizeof(d), &t), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 0);
	t.cert_len = n;
	CU_ASSERT_EQUAL(proxyproto_v2(&b, SA(&s), sizeof(s), SA(&d),
	    sizeof(d), &t), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 0);

	/* The SSL TLV fits, the rest pushes the total over. */
	t.cert_len = 65500;
	t.unique_id = UID;
	CU_ASSERT_EQUAL(proxyproto_v2(&b, SA(&s), sizeof(s), SA(&d),
	    sizeof(d), &t), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 0);

	/* Unix: 216 address bytes count too. */
	mkun(&us, "/a");
	mkun(&ud, "/b");
	t.unique_id = NULL;
	t.cert_len = 65512 - 204;
	CU_ASSERT_EQUAL(v2(&b, &us, sizeof(us), &ud, sizeof(ud), &t), 0);
	CU_ASSERT_EQUAL(b.len, 16 + 65535);
	t.cert_len++;
	buf_reset(&b);
	CU_ASSERT_EQUAL(proxyproto_v2(&b, SA(&us), sizeof(us), SA(&ud),
	    sizeof(ud), &t), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 0);

	buf_free(&b);
	free(big);
}

/* The real client certificate of the test PKI, carried whole. */
static void
test_v2_real_cert(void)
{
	struct sockaddr_in6 s, d;
	struct mtls_buf b;
	struct pp2_parsed p;
	struct pp_tls t;
	unsigned char *der;
	size_t len;
	char path[4096];
	const char *dir = unit_pki_dir();

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	snprintf(path, sizeof(path), "%s/alice.crt", dir);
	der = unit_pem_cert(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	buf_init(&b, 0);
	mk6(&s, "::ffff:10.1.2.3", 65001);
	mk6(&d, "::ffff:10.1.2.4", 443);
	full_tls(&t);
	t.cert = der;
	t.cert_len = len;
	CU_ASSERT_EQUAL_FATAL(v2(&b, &s, sizeof(s), &d, sizeof(d), &t), 0);
	CU_ASSERT_EQUAL_FATAL(pp2_parse((unsigned char *)b.data, b.len, &p),
	    0);
	CU_ASSERT_EQUAL(p.total, b.len);
	CU_ASSERT_EQUAL(p.fam, 0x11);
	CU_ASSERT_EQUAL(memcmp(p.src, "\x0a\x01\x02\x03", 4), 0);
	CU_ASSERT_EQUAL(memcmp(p.dst, "\x0a\x01\x02\x04", 4), 0);
	CU_ASSERT_EQUAL(p.sport, 65001);
	CU_ASSERT_EQUAL(p.dport, 443);
	CU_ASSERT(val_is(&p.ssl[0x28], der, len));
	/* The length field counts the whole payload and nothing else. */
	CU_ASSERT_EQUAL(b.len, 16 + 12 + (3 + 5 + 10 + 8 + 25 + 15 + 8 +
	    3 + len) + 35 + 12 + 11);
	buf_free(&b);
	free(der);
}

void
unit_register_proxyproto(void)
{
	CU_pSuite s;

	s = CU_add_suite("proxyproto", NULL, NULL);
	CU_add_test(s, "v1 tcp4", test_v1_ipv4);
	CU_add_test(s, "v1 tcp6", test_v1_ipv6);
	CU_add_test(s, "v1 ipv4-mapped is tcp4", test_v1_mapped);
	CU_add_test(s, "v1 unknown (mixed, unix)", test_v1_unknown);
	CU_add_test(s, "v2 tcp4", test_v2_ipv4);
	CU_add_test(s, "v2 tcp6", test_v2_ipv6);
	CU_add_test(s, "v2 mapped and mixed", test_v2_mapped_mixed);
	CU_add_test(s, "v2 unix", test_v2_unix);
	CU_add_test(s, "v2 unix unnamed client", test_v2_unix_unnamed);
	CU_add_test(s, "v2 TLVs byte for byte", test_v2_tlvs);
	CU_add_test(s, "v2 TLVs over IPv6", test_v2_tlvs_ipv6);
	CU_add_test(s, "v2 CN with a NUL", test_v2_cn_nul);
	CU_add_test(s, "v2 omitted fields", test_v2_omitted);
	CU_add_test(s, "v2 over 65535 bytes", test_v2_too_large);
	CU_add_test(s, "v2 real client certificate", test_v2_real_cert);
}
