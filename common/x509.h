/*
 * x509.h: certificate chains, on top of wolfSSL's X509 compatibility
 * layer.  Used by mtlsd's TLS layer (to know the exact path a client's
 * certificate was verified through, and so its issuer) and by
 * "mtlsctl map" (to find the issuer of a certificate offline).
 *
 * Why our own path: wolfSSL 5.5 keeps every intermediate CA it ever
 * verified in the context's certificate manager, so later clients could
 * leave their intermediates out, and verify_depth would only count what
 * they sent.  mtlsd requires each connection's path to end at an anchor
 * from client_ca using only the certificates that connection sent.
 */
#ifndef MTLS_X509_H
#define MTLS_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "bytes.h"

#include "identity.h"

#define X509_MAX_ANCHORS	256
#define X509_MAX_CHAIN		16	/* certificates a client may send */

struct x509_anchors;

/*
 * Load the trust anchors of a PEM bundle.  Returns 0, or a negative code
 * with "PATH: message" in err (no certificate, unreadable, bad PEM).
 */
int	 x509_anchors_load(const char *path, struct x509_anchors **out,
	    char *err, size_t errsize);
/* The same from a PEM text already in memory (path only names it). */
int	 x509_anchors_load_mem(const char *path, const char *pem,
	    size_t pemlen, struct x509_anchors **out, char *err,
	    size_t errsize);
size_t	 x509_anchors_count(const struct x509_anchors *a);
void	 x509_anchors_free(struct x509_anchors *a);

/*
 * Read every certificate of a PEM file (leaf first) as DER.  Returns the
 * count (>= 1) or a negative code; free with x509_der_list_free.
 */
int	 x509_pem_read(const char *path, unsigned char ***der, size_t **len,
	    char *err, size_t errsize);
void	 x509_der_list_free(unsigned char **der, size_t *len, size_t n);

/*
 * Find the path from certs[0] (the leaf) to an anchor, through the other
 * certs[] only: each step goes to a certificate whose subject is the
 * current one's issuer and whose key verifies its signature.  Anchors are
 * preferred, so a client that also sends the root still ends at our copy.
 *
 * Returns 0 with *intermediates (CA certificates between leaf and anchor)
 * and issuer_sha256 (SHA-256 of the certificate that signed the leaf),
 * MTLS_ERR_NOT_FOUND when no such path exists, MTLS_ERR_TOO_LARGE when the
 * shortest path found needs more than max_intermediates intermediates.
 */
int	 x509_path(const struct x509_anchors *a, const unsigned char *const *certs,
	    const size_t *lens, size_t n, int max_intermediates,
	    int *intermediates, unsigned char issuer_sha256[IDENTITY_SHA256_LEN]);

/* One CRL, parsed: who issued it, its dates, which serials it lists. */
struct x509_crl {
	unsigned char		*issuer;	/* DER Name */
	size_t			 issuer_len;
	time_t			 this_update;
	time_t			 next_update;
	bool			 has_next_update;
	struct mtls_bytes_list	 serials;	/* INTEGER contents, as DER */
	unsigned char		*der;		/* the whole CRL */
	size_t			 len;
};

/*
 * Read every CRL of a file: one or more PEM "X509 CRL" blocks, or one DER
 * CRL.  The signature is not checked here (the TLS layer has the CAs).
 */
int	 x509_crl_read(const char *path, struct x509_crl **crls, size_t *n,
	    char *err, size_t errsize);
void	 x509_crl_free(struct x509_crl *crls, size_t n);

#define X509_CRL_GOOD		0	/* the issuer's CRL does not list it */
#define X509_CRL_REVOKED	1	/* listed */
#define X509_CRL_NONE		2	/* no CRL of its issuer */
/*
 * Look a DER certificate up in the CRLs (the newest CRL of its issuer
 * answers, *which).  Returns one of the above or a negative code.
 */
int	 x509_crl_lookup(const struct x509_crl *const *crls, size_t n,
	    const unsigned char *cert, size_t certlen,
	    const struct x509_crl **which);

/*
 * x509_path, also pointing issuer_der/issuer_len at the DER of the
 * certificate that signed the leaf (an anchor's, or one of certs[]).
 */
int	 x509_path_issuer(const struct x509_anchors *a,
	    const unsigned char *const *certs, const size_t *lens, size_t n,
	    int max_intermediates, int *intermediates,
	    unsigned char issuer_sha256[IDENTITY_SHA256_LEN],
	    const unsigned char **issuer_der, size_t *issuer_len);

#endif
