/*
 * tls.h: the TLS layer of mtlsd.  Only tls.c calls wolfSSL_*; the rest of
 * the daemon sees opaque contexts and connections, project error codes,
 * and refusal reasons.
 */
#ifndef MTLSD_TLS_H
#define MTLSD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "identity.h"

/* Why a handshake was refused (DESIGN 3.5), as logged in reason=. */
enum tls_reason {
	TLS_REASON_NONE = 0,
	TLS_REASON_NO_CERT,
	TLS_REASON_UNKNOWN_CA,
	TLS_REASON_EXPIRED,
	TLS_REASON_NOT_YET_VALID,
	TLS_REASON_BAD_EKU,
	TLS_REASON_REVOKED,
	TLS_REASON_DEPTH,
	TLS_REASON_BAD_SIGNATURE,
	TLS_REASON_TIMEOUT,
	TLS_REASON_PROTOCOL,
	TLS_REASON_NO_MAPPING,		/* verified, but maps to no account */
	TLS_REASON_CRL_EXPIRED,		/* the issuer's CRL is past nextUpdate */
	TLS_REASON_CRL_MISSING,		/* crl is set, but none for this CA */
	TLS_REASON_OCSP_UNKNOWN,	/* the responder does not know it */
	TLS_REASON_OCSP_UNAVAILABLE,	/* no OCSP answer in time (hard) */
	TLS_REASON_MAX
};

struct tls_ctx;
struct tls_conn;

const char	*tls_reason_name(enum tls_reason reason);

/* Once per process, before any other call. */
int		 tls_global_init(void);
void		 tls_global_cleanup(void);
/* Before a thread that used TLS or certificates ends. */
void		 tls_thread_cleanup(void);

/*
 * A server context for one listener: certificate chain, key (checked to
 * match), client trust anchors, CRLs, minimum version, depth, EKU policy.
 * prev, the same listener's previous context or NULL, lends files mtlsd
 * can no longer read but that are unchanged on disk.  On failure returns
 * NULL with "FILE:LINE: listener "x": message" in err.
 */
struct tls_ctx	*tls_ctx_new(const struct listener_config *lc,
		    const char *conf_file, const struct tls_ctx *prev, char *err,
		    size_t errsize);
void		 tls_ctx_free(struct tls_ctx *ctx);

/* A server-side connection on a non-blocking socket. */
struct tls_conn	*tls_conn_new(struct tls_ctx *ctx, int fd);
void		 tls_conn_free(struct tls_conn *c);

/*
 * Drive the handshake.  0: done and the client is verified; MTLS_ERR_AGAIN:
 * call again when the socket is ready (tls_conn_wants_write tells which
 * way); MTLS_ERR_TLS: refused, see tls_conn_reason and tls_conn_detail.
 */
int		 tls_handshake(struct tls_conn *c);
bool		 tls_conn_wants_write(const struct tls_conn *c);
enum tls_reason	 tls_conn_reason(const struct tls_conn *c);
const char	*tls_conn_detail(const struct tls_conn *c);

/*
 * The verified leaf's identity, moved out of the connection (valid once
 * tls_handshake returned 0).
 */
void		 tls_conn_take_identity(struct tls_conn *c, struct identity *out);
/* The verified leaf's DER, moved out (malloc'd; free it). */
void		 tls_conn_take_leaf(struct tls_conn *c, unsigned char **der,
		    size_t *len);
/*
 * Is this certificate (DER) revoked by the context's CRLs?  1 revoked,
 * 0 not (or the listener has no CRLs), negative when it cannot be told.
 */
int		 tls_ctx_revoked(struct tls_ctx *t, const unsigned char *der,
		    size_t len);
/*
 * Set when the handshake was accepted although an issuer's CRL is past
 * its nextUpdate (crl_expired = "warn"): what to log; else NULL.
 */
const char	*tls_conn_crl_warning(const struct tls_conn *c);
/* SHA-256 of the certificate that issued the leaf (for issuer pins). */
const unsigned char *tls_conn_issuer_sha256(const struct tls_conn *c);
/* OCSP answers, as tls_ocsp_check gives them. */
enum tls_ocsp { TLS_OCSP_GOOD, TLS_OCSP_REVOKED, TLS_OCSP_UNKNOWN,
	TLS_OCSP_UNAVAILABLE };

/*
 * Ask the listener's OCSP responder (its override URL or the leaf's AIA
 * URL) about a verified leaf; issuer is the DER of the certificate that
 * signed it.  Blocks until an answer or deadline (CLOCK_MONOTONIC ms):
 * call it from an OCSP thread, never from an event loop.
 */
enum tls_ocsp	 tls_ocsp_check(struct tls_ctx *t, const unsigned char *leaf,
		    size_t leaflen, const unsigned char *issuer,
		    size_t issuerlen, uint64_t deadline, char *detail,
		    size_t detailsize);
/* The DER of the certificate that signed the leaf (moved out). */
void		 tls_conn_take_issuer(struct tls_conn *c, unsigned char **der,
		    size_t *len);
const char	*tls_conn_version(struct tls_conn *c);
const char	*tls_conn_cipher(struct tls_conn *c);

/*
 * Plaintext I/O.  read: >0 bytes, 0 on the peer's close_notify,
 * MTLS_ERR_AGAIN, MTLS_ERR_CLOSED (connection closed without close_notify)
 * or MTLS_ERR_TLS.  write: all len bytes or a negative code; after
 * MTLS_ERR_AGAIN the same buffer must be offered again.
 */
int		 tls_read(struct tls_conn *c, void *buf, size_t len);
int		 tls_write(struct tls_conn *c, const void *buf, size_t len);
/* Send close_notify: 0 sent, MTLS_ERR_AGAIN, or MTLS_ERR_TLS. */
int		 tls_shutdown(struct tls_conn *c);

#endif
