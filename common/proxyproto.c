/*
 * proxyproto.c: PROXY protocol headers (haproxy's proxy-protocol.txt,
 * versions 1 and 2).
 */
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "proxyproto.h"

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* An IPv4-mapped IPv6 address, seen as the IPv4 address it is. */
static void
unmap(const struct sockaddr *sa, struct sockaddr_in *v4, const
    struct sockaddr **out)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	*out = sa;
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memset(v4, 0, sizeof(*v4));
		v4->sin_family = AF_INET;
		v4->sin_port = s6->sin6_port;
		memcpy(&v4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
		*out = (const struct sockaddr *)v4;
	}
}

int
proxyproto_v1(struct mtls_buf *out, const struct sockaddr *src,
    socklen_t srclen, const struct sockaddr *dst, socklen_t dstlen)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	struct sockaddr_in v4s, v4d;
	const struct sockaddr *s, *d;

	(void)srclen;
	(void)dstlen;
	unmap(src, &v4s, &s);
	unmap(dst, &v4d, &d);
	if (s->sa_family != d->sa_family ||
	    (s->sa_family != AF_INET && s->sa_family != AF_INET6))
		return buf_append_str(out, "PROXY UNKNOWN\r\n");
	if (s->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)s, *y = (const void *)d;

		inet_ntop(AF_INET, &x->sin_addr, a, sizeof(a));
		inet_ntop(AF_INET, &y->sin_addr, b, sizeof(b));
		return buf_printf(out, "PROXY TCP4 %s %s %u %u\r\n", a, b,
		    ntohs(x->sin_port), ntohs(y->sin_port));
	} else {
		const struct sockaddr_in6 *x = (const void *)s,
		    *y = (const void *)d;

		inet_ntop(AF_INET6, &x->sin6_addr, a, sizeof(a));
		inet_ntop(AF_INET6, &y->sin6_addr, b, sizeof(b));
		return buf_printf(out, "PROXY TCP6 %s %s %u %u\r\n", a, b,
		    ntohs(x->sin6_port), ntohs(y->sin6_port));
	}
}

static int
put16(struct mtls_buf *b, size_t v)
{
	unsigned char x[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	return buf_append(b, x, 2);
}

static int
tlv(struct mtls_buf *b, unsigned char type, const void *v, size_t len)
{
	int rc;

	if (len > 0xffff)
		return MTLS_ERR_TOO_LARGE;
	if ((rc = buf_append(b, &type, 1)) != 0 || (rc = put16(b, len)) != 0)
		return rc;
	return buf_append(b, v, len);
}

static int
tlv_str(struct mtls_buf *b, unsigned char type, const char *s)
{
	return s != NULL && *s != '\0' ? tlv(b, type, s, strlen(s)) : 0;
}

/*
 * A unix address as the v2 block carries it: the path within the
 * address's length (an unnamed socket has none), NUL-padded to 108.
 */
static void
unix_path(const struct sockaddr *sa, socklen_t len, char path[108])
{
	const struct sockaddr_un *u = (const struct sockaddr_un *)sa;
	size_t n = 0, max;

	memset(path, 0, 108);
	if (len > offsetof(struct sockaddr_un, sun_path)) {
		max = len - offsetof(struct sockaddr_un, sun_path);
		if (max > 108)
			max = 108;
		n = strnlen(u->sun_path, max);
	}
	memcpy(path, u->sun_path, n);
}

/* The address block and its family/protocol byte. */
static int
v2_addresses(struct mtls_buf *b, const struct sockaddr *s, socklen_t slen,
    const struct sockaddr *d, socklen_t dlen, unsigned char *fam)
{
	int rc = 0;

	if (s->sa_family != d->sa_family) {
		*fam = 0x00;			/* UNSPEC: nothing to say */
		return 0;
	}
	switch (s->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *x = (const void *)s, *y = (const void *)d;

		*fam = 0x11;			/* TCP over IPv4 */
		if ((rc = buf_append(b, &x->sin_addr, 4)) == 0 &&
		    (rc = buf_append(b, &y->sin_addr, 4)) == 0 &&
		    (rc = buf_append(b, &x->sin_port, 2)) == 0)
			rc = buf_append(b, &y->sin_port, 2);
		return rc;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *x = (const void *)s,
		    *y = (const void *)d;

		*fam = 0x21;			/* TCP over IPv6 */
		if ((rc = buf_append(b, &x->sin6_addr, 16)) == 0 &&
		    (rc = buf_append(b, &y->sin6_addr, 16)) == 0 &&
		    (rc = buf_append(b, &x->sin6_port, 2)) == 0)
			rc = buf_append(b, &y->sin6_port, 2);
		return rc;
	}
	case AF_UNIX: {
		char path[108];

		*fam = 0x31;			/* stream over unix */
		unix_path(s, slen, path);
		if ((rc = buf_append(b, path, sizeof(path))) != 0)
			return rc;
		unix_path(d, dlen, path);
		return buf_append(b, path, sizeof(path));
	}
	}
	*fam = 0x00;
	return 0;
}

int
proxyproto_v2(struct mtls_buf *out, const struct sockaddr *src,
    socklen_t srclen, const struct sockaddr *dst, socklen_t dstlen,
    const struct pp_tls *t)
{
	struct mtls_buf body, ssl;
	struct sockaddr_in v4s, v4d;
	const struct sockaddr *s, *d;
	unsigned char fam, head[2], client;
	static const unsigned char verify_ok[4] = { 0, 0, 0, 0 };
	int rc;

	buf_init(&body, 0);
	buf_init(&ssl, 0);
	unmap(src, &v4s, &s);
	unmap(dst, &v4d, &d);
	if ((rc = v2_addresses(&body, s, srclen, d, dstlen, &fam)) != 0)
		goto done;
	if (t != NULL) {
		client = PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN |
		    PP2_CLIENT_CERT_SESS;
		if ((rc = buf_append(&ssl, &client, 1)) != 0 ||
		    (rc = buf_append(&ssl, verify_ok, 4)) != 0 ||
		    (rc = tlv_str(&ssl, PP2_SUBTYPE_SSL_VERSION,
		    t->version)) != 0 ||
		    (t->cn != NULL && (rc = tlv(&ssl, PP2_SUBTYPE_SSL_CN, t->cn,
		    t->cn_len)) != 0) ||
		    (rc = tlv_str(&ssl, PP2_SUBTYPE_SSL_CIPHER, t->cipher)) != 0 ||
		    (rc = tlv_str(&ssl, PP2_SUBTYPE_SSL_SIG_ALG,
		    t->sig_alg)) != 0 ||
		    (rc = tlv_str(&ssl, PP2_SUBTYPE_SSL_KEY_ALG,
		    t->key_alg)) != 0 ||
		    (t->cert != NULL && (rc = tlv(&ssl, PP2_SUBTYPE_SSL_CERT,
		    t->cert, t->cert_len)) != 0) ||
		    (rc = tlv(&body, PP2_TYPE_SSL, ssl.data, ssl.len)) != 0 ||
		    (rc = tlv_str(&body, PP2_TYPE_UNIQUE_ID,
		    t->unique_id)) != 0 ||
		    (rc = tlv_str(&body, PP2_TYPE_MTLS_ACCOUNTS,
		    t->accounts)) != 0 ||
		    (rc = tlv_str(&body, PP2_TYPE_MTLS_SHA256, t->sha256)) != 0)
			goto done;
	}
	if (body.len > 0xffff) {
		rc = MTLS_ERR_TOO_LARGE;
		goto done;
	}
	head[0] = 0x21;				/* version 2, PROXY */
	head[1] = fam;
	if ((rc = buf_append(out, v2_sig, sizeof(v2_sig))) != 0 ||
	    (rc = buf_append(out, head, 2)) != 0 ||
	    (rc = put16(out, body.len)) != 0 ||
	    (rc = buf_append(out, body.data, body.len)) != 0)
		goto done;
done:
	buf_free(&body);
	buf_free(&ssl);
	return rc;
}
