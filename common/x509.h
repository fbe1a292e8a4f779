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

#include <stddef.h>

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

#endif
