/*
 * tls_int.h: the insides of tls.h's opaque types, shared by tls.c
 * (contexts, handshakes, CRLs) and tls_ocsp.c (OCSP questions).  Only
 * these files call wolfSSL.
 */
#ifndef MTLSD_TLS_INT_H
#define MTLSD_TLS_INT_H

#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "identity.h"
#include "tls.h"
#include "x509.h"

#define TLS_DETAIL_MAX	160

/* The CRLs of one crl file. */
struct crl_file {
	struct x509_crl	*crls;
	size_t		 n;
};

/*
 * A file as read for a context.  After the privilege drop, a file mtlsd
 * can no longer read (a root-only key) is reused from the previous
 * context as long as it is unchanged on disk; a changed one is an error.
 */
struct blob {
	char		*path;
	unsigned char	*data;		/* NUL-terminated */
	size_t		 len;
	struct stat	 st;
};

struct tls_ctx {
	WOLFSSL_CTX	*ctx;
	bool		 ocsp_on;	/* ocsp.mode is not off */
	char		*ocsp_responder; /* override URL, or NULL (AIA) */
	struct blob	 cert, key, ca;
	struct x509_anchors *anchors;	/* client_ca, for our own path check */
	struct crl_file	*crl_files;	/* parsed, for lookups of our own */
	size_t		 n_crl_files;
	const struct x509_crl **crls;	/* all of them */
	size_t		 n_crls;
	bool		 crl_warn;	/* crl_expired = "warn" */
	int		 verify_depth;
	bool		 require_eku;
};

struct tls_conn {
	WOLFSSL		*ssl;
	struct tls_ctx	*ctx;
	bool		 want_write;
	bool		 have_identity;
	bool		 have_issuer;
	char		 crl_warning[TLS_DETAIL_MAX];
	unsigned char	*leaf;		/* DER of the verified leaf */
	size_t		 leaf_len;
	unsigned char	*issuer;	/* DER of its issuer (for OCSP) */
	size_t		 issuer_len;
	unsigned char	 issuer_sha256[IDENTITY_SHA256_LEN];
	enum tls_reason	 reason;
	char		 detail[TLS_DETAIL_MAX];
	struct identity	 identity;
};

/* tls_ocsp.c */
/* Note the listener's OCSP settings in its context: 0 or -1. */
int	 tls_ocsp_setup(struct tls_ctx *t, const struct listener_config *lc);

#endif
