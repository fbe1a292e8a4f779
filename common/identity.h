/*
 * identity.h: the identity record of a verified client certificate.
 *
 * Built once, from the DER of the verified leaf, by a bounded DER walk of
 * our own (so NULs and odd strings are kept exactly as the certificate
 * holds them).  The record carries no trust of its own: mtlsd builds it
 * only after wolfSSL verified the chain.  Every value is a length-carrying
 * byte string.
 */
#ifndef MTLS_IDENTITY_H
#define MTLS_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bytes.h"

#define IDENTITY_DER_MAX	(64 * 1024)	/* largest certificate accepted */
#define IDENTITY_MAX_ATTRS	64		/* attributes per name */
#define IDENTITY_MAX_SANS	1024		/* SAN entries per kind */
#define IDENTITY_SHA256_LEN	32
/* "AB:CD:..." for 32 bytes, plus NUL */
#define IDENTITY_FPR_TEXT	(IDENTITY_SHA256_LEN * 3)
#define IDENTITY_SERIAL_TEXT	(2 * 20 + 1 + 8)

/* One attribute of a distinguished name, e.g. type "CN", value "alice". */
struct identity_attr {
	char			 type[64];	/* short name or dotted OID */
	struct mtls_bytes	 value;
	bool			 hex_form;	/* not a string: "#" + hex */
};

struct identity_name {
	struct identity_attr	*attrs;		/* in certificate order */
	size_t			 count;
	struct mtls_bytes	 rfc4514;	/* RFC 4514 string, escaped */
};

struct identity {
	struct identity_name	 subject;
	struct identity_name	 issuer;
	char			 serial[IDENTITY_SERIAL_TEXT];	/* upper hex */
	unsigned char		 cert_sha256[IDENTITY_SHA256_LEN];
	unsigned char		 spki_sha256[IDENTITY_SHA256_LEN];
	struct mtls_bytes_list	 san_email;
	struct mtls_bytes_list	 san_dns;
	struct mtls_bytes_list	 san_uri;
	time_t			 not_before;
	time_t			 not_after;
	bool			 has_eku;	/* extendedKeyUsage present */
	bool			 eku_client_auth;
	bool			 eku_server_auth;
	bool			 eku_any;
	bool			 is_ca;		/* basicConstraints cA TRUE */
	char			 sig_alg[24];	/* "ECDSA-SHA256", or dotted OID */
	char			 key_alg[24];	/* "EC256", "RSA2048", "ED25519" */
};

/*
 * Parse a DER certificate into id.  On failure returns a negative
 * MTLS_ERR_* code and, when err is not NULL, a one-line reason.
 */
int	 identity_from_der(struct identity *id, const unsigned char *der,
	    size_t len, char *err, size_t errlen);
void	 identity_free(struct identity *id);

/* True for the attribute type names identity_from_der produces
 * ("CN", "emailAddress", ...), not counting dotted OIDs. */
bool	 identity_attr_type_known(const char *type);

/* "AB:CD:..." upper-case hex of a SHA-256 digest. */
void	 identity_fingerprint_text(const unsigned char digest[IDENTITY_SHA256_LEN],
	    char out[IDENTITY_FPR_TEXT]);
/* "2026-11-23T16:47:28Z" */
void	 identity_time_text(time_t t, char *out, size_t size);

/* Append the RFC 4514 escaped form of one attribute value to b. */
int	 identity_escape_rfc4514(struct mtls_buf *b, const unsigned char *v,
	    size_t len);

#endif
