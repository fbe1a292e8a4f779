/*
 * proxyproto.h: PROXY protocol headers (version 1 text, version 2
 * binary), as mtlsd sends them to an upstream before any client data.
 * Pure: addresses and facts in, bytes out.
 *
 * Version 2 TLVs (besides the addresses):
 *	0x20 PP2_TYPE_SSL: client flags (SSL | CERT_CONN | CERT_SESS), verify
 *	     0, and sub-TLVs 0x21 version, 0x22 CN, 0x23 cipher, 0x24
 *	     signature algorithm, 0x25 key algorithm, 0x28 the client
 *	     certificate (DER)
 *	0x05 PP2_TYPE_UNIQUE_ID: the session id (query: MTLS/1 SESSION <id>)
 *	0xE0 the mapped accounts, comma-separated (application range)
 *	0xE1 the certificate's SHA-256 fingerprint, "AB:CD:..."
 */
#ifndef MTLS_PROXYPROTO_H
#define MTLS_PROXYPROTO_H

#include <sys/socket.h>

#include <stddef.h>

#include "bytes.h"

#define PP2_TYPE_UNIQUE_ID	0x05
#define PP2_TYPE_SSL		0x20
#define PP2_SUBTYPE_SSL_VERSION	0x21
#define PP2_SUBTYPE_SSL_CN	0x22
#define PP2_SUBTYPE_SSL_CIPHER	0x23
#define PP2_SUBTYPE_SSL_SIG_ALG	0x24
#define PP2_SUBTYPE_SSL_KEY_ALG	0x25
#define PP2_SUBTYPE_SSL_CERT	0x28
#define PP2_TYPE_MTLS_ACCOUNTS	0xE0
#define PP2_TYPE_MTLS_SHA256	0xE1

#define PP2_CLIENT_SSL		0x01
#define PP2_CLIENT_CERT_CONN	0x02
#define PP2_CLIENT_CERT_SESS	0x04

/* What a v2 header says about the TLS connection (NULL/0: left out). */
struct pp_tls {
	const char		*version;
	const unsigned char	*cn;
	size_t			 cn_len;
	const char		*cipher;
	const char		*sig_alg;
	const char		*key_alg;
	const unsigned char	*cert;
	size_t			 cert_len;
	const char		*unique_id;
	const char		*accounts;
	const char		*sha256;
};

/*
 * Append a header for a connection from src to dst.  v1: "PROXY TCP4 ...",
 * "PROXY TCP6 ..." or "PROXY UNKNOWN" (other families); v2 also covers
 * unix sockets.  Returns 0, MTLS_ERR_TOO_LARGE (over 65535 bytes of v2
 * payload) or MTLS_ERR_NOMEM.
 */
int	 proxyproto_v1(struct mtls_buf *out, const struct sockaddr *src,
	    socklen_t srclen, const struct sockaddr *dst, socklen_t dstlen);
int	 proxyproto_v2(struct mtls_buf *out, const struct sockaddr *src,
	    socklen_t srclen, const struct sockaddr *dst, socklen_t dstlen,
	    const struct pp_tls *tls);

#endif
