/*
 * tls_ocsp.c: OCSP questions about client certificates.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>

#include "der.h"
#include "error.h"
#include "tls.h"
#include "tls_int.h"

/*
 * OCSP over HTTP, with wolfSSL building the request and checking the
 * answer (signature by the issuer or its delegated responder, status,
 * dates).  Our callback moves the bytes, bounded by the deadline the
 * calling OCSP thread set; wolfSSL's own lookup would block without one.
 */
static __thread uint64_t ocsp_deadline;
static __thread bool ocsp_io_called;	/* a responder was asked */
static __thread int ocsp_io_status;	/* certStatus seen: 0 good, 1
					 * revoked, 2 unknown, -1 none */

static int	ocsp_peek_status(const unsigned char *p, size_t len);

#define OCSP_RESPONSE_MAX	(64 * 1024)

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for fd until the OCSP deadline; 0 ready, -1 not in time. */
static int
ocsp_wait(int fd, short events)
{
	struct pollfd pfd = { fd, events, 0 };
	uint64_t now;
	int rc;

	for (;;) {
		if ((now = mono_ms()) >= ocsp_deadline)
			return -1;
		rc = poll(&pfd, 1, (int)(ocsp_deadline - now));
		if (rc > 0)
			return 0;
		if (rc == 0 || errno != EINTR)
			return -1;
	}
}

static int
ocsp_connect(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	socklen_t sl;
	int fd = -1, err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		sl = sizeof(err);
		if (errno == EINPROGRESS && ocsp_wait(fd, POLLOUT) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 &&
		    err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
ocsp_http(void *ctx, const char *url, int urlsz, unsigned char *req,
    int reqsz, unsigned char **response)
{
	char u[512], head[768], *host, *port, *path, *p, *body;
	unsigned char *buf = NULL;
	size_t len = 0, hlen, off;
	ssize_t n;
	int fd;

	(void)ctx;
	*response = NULL;
	ocsp_io_called = true;
	if (urlsz <= 7 || (size_t)urlsz >= sizeof(u) ||
	    strncmp(url, "http://", 7) != 0)
		return -1;
	memcpy(u, url + 7, (size_t)urlsz - 7);
	u[urlsz - 7] = '\0';
	host = u;
	path = strchr(host, '/');
	if (path != NULL)
		*path++ = '\0';
	port = "80";
	if ((p = strrchr(host, ':')) != NULL && strchr(host, ']') < p) {
		*p = '\0';
		port = p + 1;
	}
	if (*host == '[') {
		host++;
		if ((p = strchr(host, ']')) != NULL)
			*p = '\0';
	}
	snprintf(head, sizeof(head), "POST /%s HTTP/1.0\r\nHost: %s\r\n"
	    "Content-Type: application/ocsp-request\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n",
	    path ? path : "", host, reqsz);
	if ((fd = ocsp_connect(host, port)) == -1)
		return -1;
	for (off = 0, hlen = strlen(head); off < hlen + (size_t)reqsz; ) {
		const void *src = off < hlen ? (const void *)(head + off) :
		    (const void *)(req + off - hlen);
		size_t left = off < hlen ? hlen - off :
		    (size_t)reqsz - (off - hlen);

		n = send(fd, src, left, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n == -1 && errno == EAGAIN && ocsp_wait(fd,
		    POLLOUT) == 0)
			continue;
		else
			goto fail;
	}
	if ((buf = malloc(OCSP_RESPONSE_MAX + 1)) == NULL)
		goto fail;
	for (;;) {
		if (len == OCSP_RESPONSE_MAX)
			goto fail;
		n = recv(fd, buf + len, OCSP_RESPONSE_MAX - len, 0);
		if (n > 0)
			len += (size_t)n;
		else if (n == 0)
			break;
		else if (errno == EAGAIN && ocsp_wait(fd, POLLIN) == 0)
			continue;
		else
			goto fail;
	}
	close(fd);
	fd = -1;
	buf[len] = '\0';
	/* "HTTP/1.x 200" then headers, a blank line, the DER body. */
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    memcmp(buf + 8, " 200", 4) != 0 ||
	    (body = strstr((char *)buf, "\r\n\r\n")) == NULL)
		goto fail;
	body += 4;
	len -= (size_t)(body - (char *)buf);
	memmove(buf, body, len);
	ocsp_io_status = ocsp_peek_status(buf, len);
	*response = buf;
	return (int)len;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	return -1;
}

/*
 * The certStatus of the first SingleResponse, read without checking the
 * signature: only used to name a refusal (unknown vs unavailable) when
 * the library has rejected the answer anyway.
 */
static int
ocsp_peek_status(const unsigned char *p, size_t len)
{
	struct der in = { p, len }, d;
	struct der_elem e;

	/* OCSPResponse { status, [0] { SEQ { oid, OCTET STRING {
	 *   BasicOCSPResponse { tbsResponseData { [0]? responderID
	 *   producedAt responses { SingleResponse { certID certStatus */
	if (der_expect(&in, DER_SEQUENCE, &e) != 0)
		return -1;
	d = e.content;
	if (der_next(&d, &e) != 0 || der_next(&d, &e) != 0 || e.tag != 0xa0)
		return -1;
	d = e.content;
	if (der_expect(&d, DER_SEQUENCE, &e) != 0)
		return -1;
	d = e.content;
	if (der_expect(&d, DER_OID, &e) != 0 ||
	    der_expect(&d, DER_OCTET_STRING, &e) != 0)
		return -1;
	d = e.content;
	if (der_expect(&d, DER_SEQUENCE, &e) != 0)
		return -1;
	d = e.content;
	if (der_expect(&d, DER_SEQUENCE, &e) != 0)
		return -1;
	d = e.content;
	if (der_peek(&d, 0xa0) && der_next(&d, &e) != 0)
		return -1;
	if (der_next(&d, &e) != 0 || der_next(&d, &e) != 0 ||
	    der_expect(&d, DER_SEQUENCE, &e) != 0)
		return -1;
	d = e.content;
	if (der_expect(&d, DER_SEQUENCE, &e) != 0)
		return -1;
	d = e.content;
	if (der_expect(&d, DER_SEQUENCE, &e) != 0 || der_next(&d, &e) != 0)
		return -1;
	switch (e.tag) {
	case 0x80:	return 0;
	case 0xa1:	return 1;
	case 0x82:	return 2;
	}
	return -1;
}

static void
ocsp_http_free(void *ctx, unsigned char *response)
{
	(void)ctx;
	free(response);
}

/*
 * A certificate manager for one OCSP question: the client CAs and the
 * leaf's issuer (an intermediate the client sent, verified on the path).
 * A fresh one each time, so that the library keeps no answers of its own
 * beyond ocsp.cache.
 */
static WOLFSSL_CERT_MANAGER *
ocsp_manager(const struct tls_ctx *t, const unsigned char *issuer,
    size_t issuerlen)
{
	WOLFSSL_CERT_MANAGER *cm;
	int opts = t->ocsp_responder != NULL ? WOLFSSL_OCSP_URL_OVERRIDE : 0;

	if ((cm = wolfSSL_CertManagerNew()) == NULL)
		return NULL;
	if (wolfSSL_CertManagerLoadCABuffer(cm, t->ca.data, (long)t->ca.len,
	    WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
	    (issuer != NULL && wolfSSL_CertManagerLoadCABuffer(cm, issuer,
	    (long)issuerlen, WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS) ||
	    wolfSSL_CertManagerEnableOCSP(cm, opts) != WOLFSSL_SUCCESS ||
	    (t->ocsp_responder != NULL &&
	    wolfSSL_CertManagerSetOCSPOverrideURL(cm,
	    t->ocsp_responder) != WOLFSSL_SUCCESS) ||
	    wolfSSL_CertManagerSetOCSP_Cb(cm, ocsp_http, ocsp_http_free,
	    NULL) != WOLFSSL_SUCCESS) {
		wolfSSL_CertManagerFree(cm);
		return NULL;
	}
	return cm;
}

int
tls_ocsp_setup(struct tls_ctx *t, const struct listener_config *lc)
{
	t->ocsp_on = true;
	if (lc->ocsp_responder != NULL &&
	    (t->ocsp_responder = strdup(lc->ocsp_responder)) == NULL)
		return -1;
	return 0;
}

enum tls_ocsp
tls_ocsp_check(struct tls_ctx *t, const unsigned char *leaf, size_t leaflen,
    const unsigned char *issuer, size_t issuerlen, uint64_t deadline,
    char *detail, size_t detailsize)
{
	int rc;

	WOLFSSL_CERT_MANAGER *cm;

	detail[0] = '\0';
	if (!t->ocsp_on)
		return TLS_OCSP_GOOD;
	if ((cm = ocsp_manager(t, issuer, issuerlen)) == NULL) {
		snprintf(detail, detailsize, "cannot set up the OCSP request");
		return TLS_OCSP_UNAVAILABLE;
	}
	ocsp_deadline = deadline;
	ocsp_io_called = false;
	ocsp_io_status = -1;
	/* The library takes a non-const buffer it does not write. */
	rc = wolfSSL_CertManagerCheckOCSP(cm, (unsigned char *)(uintptr_t)
	    leaf, (int)leaflen);
	wolfSSL_CertManagerFree(cm);
	/* The library skips certificates without an OCSP URL: not good. */
	if (rc == WOLFSSL_SUCCESS && !ocsp_io_called)
		rc = OCSP_NEED_URL;
	/* It refuses an "unknown" answer as a failed lookup: name it. */
	if (rc == OCSP_LOOKUP_FAIL && ocsp_io_status == 2)
		rc = OCSP_CERT_UNKNOWN;
	switch (rc) {
	case WOLFSSL_SUCCESS:
		return TLS_OCSP_GOOD;
	case OCSP_CERT_REVOKED:
		snprintf(detail, detailsize, "OCSP responder says revoked");
		return TLS_OCSP_REVOKED;
	case OCSP_CERT_UNKNOWN:
		snprintf(detail, detailsize, "OCSP responder does not know "
		    "the certificate");
		return TLS_OCSP_UNKNOWN;
	case OCSP_NEED_URL:
		snprintf(detail, detailsize, "no OCSP URL: the certificate "
		    "has no AIA OCSP entry and no responder is set");
		return TLS_OCSP_UNAVAILABLE;
	}
	snprintf(detail, detailsize, "no usable OCSP answer%s (%s, %d)",
	    mono_ms() >= deadline ? " in time" : "",
	    wolfSSL_ERR_reason_error_string((unsigned long)rc), rc);
	return TLS_OCSP_UNAVAILABLE;
}

