/*
 * x509.c: PEM bundles and per-connection certificate paths (see x509.h).
 *
 * Signatures are checked through wolfSSL's X509 compatibility layer; names
 * are compared as DER bytes (X.509 name matching by exact encoding, which
 * is what every CA in practice produces for its own subject and issuer).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "bytes.h"
#include "der.h"
#include "error.h"
#include "x509.h"

#define PEM_FILE_MAX	(4 * 1024 * 1024)
#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----"
#define PEM_END		"-----END CERTIFICATE-----"

struct anchor {
	unsigned char		*der;
	size_t			 len;
	struct der		 subject;	/* window into der */
	unsigned char		 sha256[IDENTITY_SHA256_LEN];
	WOLFSSL_X509		*x509;
	WOLFSSL_EVP_PKEY	*pkey;
};

/*
 * Signatures this anchor set has already seen verify.  That the
 * certificate whose DER hashes to child was signed by the key of the
 * certificate whose DER hashes to parent can never stop being true, so a
 * client that comes back (the usual case for logins) costs no public-key
 * operation here; wolfSSL still verifies its chain in full on every
 * handshake.  Direct-mapped: a newer pair replaces an older one.
 */
#define SIG_MEMO_SLOTS	1024

struct sig_memo {
	unsigned char	 child[IDENTITY_SHA256_LEN];
	unsigned char	 parent[IDENTITY_SHA256_LEN];
	bool		 used;
};

struct x509_anchors {
	struct anchor	*a;
	size_t		 n;
	pthread_mutex_t	 memo_lock;	/* workers share an anchor set */
	struct sig_memo	*memo;		/* SIG_MEMO_SLOTS */
};

/* The issuer and subject Name TLVs of a DER certificate. */
static int
cert_names(const unsigned char *der, size_t len, struct der *issuer,
    struct der *subject)
{
	struct der in = { der, len }, tbs;
	struct der_elem e;

	if (der_expect(&in, DER_SEQUENCE, &e) != 0)
		return MTLS_ERR_INVALID;
	in = e.content;
	if (der_expect(&in, DER_SEQUENCE, &e) != 0)
		return MTLS_ERR_INVALID;
	tbs = e.content;
	if (der_peek(&tbs, 0xa0) && der_next(&tbs, &e) != 0)
		return MTLS_ERR_INVALID;
	if (der_expect(&tbs, DER_INTEGER, &e) != 0 ||
	    der_expect(&tbs, DER_SEQUENCE, &e) != 0 ||
	    der_expect(&tbs, DER_SEQUENCE, &e) != 0)
		return MTLS_ERR_INVALID;
	if (issuer != NULL)
		*issuer = e.whole;
	if (der_expect(&tbs, DER_SEQUENCE, &e) != 0 ||
	    der_expect(&tbs, DER_SEQUENCE, &e) != 0)
		return MTLS_ERR_INVALID;
	if (subject != NULL)
		*subject = e.whole;
	return 0;
}

static bool
der_same(const struct der *a, const struct der *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64 text (whitespace ignored, '=' padding) into out. */
static int
b64_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	unsigned int acc = 0;
	size_t i, o = 0;
	int bits = 0, v, pad = 0;

	if ((buf = malloc(n / 4 * 3 + 3)) == NULL)
		return MTLS_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n')
			continue;
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value((unsigned char)s[i])) < 0) {
			free(buf);
			return MTLS_ERR_INVALID;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (pad > 2 || o == 0) {
		free(buf);
		return MTLS_ERR_INVALID;
	}
	*out = buf;
	*outlen = o;
	return 0;
}

static int
read_file(const char *path, char **data, size_t *len, char *err,
    size_t errsize)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return MTLS_ERR_SYSTEM;
	}
	if ((buf = malloc(PEM_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return MTLS_ERR_NOMEM;
	}
	n = fread(buf, 1, PEM_FILE_MAX + 1, f);
	fclose(f);
	if (n > PEM_FILE_MAX) {
		free(buf);
		snprintf(err, errsize, "%s: larger than %d bytes", path,
		    PEM_FILE_MAX);
		return MTLS_ERR_TOO_LARGE;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

/*
 * Every "-----BEGIN label-----" block of a PEM text as DER; a text with
 * no PEM block at all is taken as one DER object when der_ok.
 */
static int
pem_blocks_mem(const char *path, char *data, size_t flen, const char *label,
    bool der_ok, unsigned char ***der, size_t **len, char *err,
    size_t errsize)
{
	unsigned char **list = NULL, **nl, *one;
	size_t *lens = NULL, *nlen, n = 0, onelen;
	char *p, *begin, *end, bline[64], eline[64];
	int rc;

	snprintf(bline, sizeof(bline), "-----BEGIN %s-----", label);
	snprintf(eline, sizeof(eline), "-----END %s-----", label);
	if (der_ok && strstr(data, "-----BEGIN") == NULL && flen > 0) {
		if ((list = malloc(sizeof(*list))) == NULL ||
		    (lens = malloc(sizeof(*lens))) == NULL) {
			free(list);
			free(data);
			return MTLS_ERR_NOMEM;
		}
		list[0] = (unsigned char *)data;	/* the whole text */
		lens[0] = flen;
		*der = list;
		*len = lens;
		return 1;
	}
	for (p = data; (begin = strstr(p, bline)) != NULL; p = end) {
		begin += strlen(bline);
		if ((end = strstr(begin, eline)) == NULL) {
			snprintf(err, errsize, "%s: block %zu has no END line",
			    path, n + 1);
			rc = MTLS_ERR_INVALID;
			goto fail;
		}
		if (n >= X509_MAX_ANCHORS) {
			snprintf(err, errsize, "%s: more than %d blocks", path,
			    X509_MAX_ANCHORS);
			rc = MTLS_ERR_TOO_LARGE;
			goto fail;
		}
		if ((rc = b64_decode(begin, (size_t)(end - begin), &one,
		    &onelen)) != 0) {
			snprintf(err, errsize, "%s: block %zu is not valid "
			    "base64", path, n + 1);
			rc = MTLS_ERR_INVALID;
			goto fail;
		}
		nl = reallocarray(list, n + 1, sizeof(*list));
		nlen = nl ? reallocarray(lens, n + 1, sizeof(*lens)) : NULL;
		if (nl != NULL)
			list = nl;
		if (nlen == NULL) {
			free(one);
			rc = MTLS_ERR_NOMEM;
			goto fail;
		}
		lens = nlen;
		list[n] = one;
		lens[n++] = onelen;
		end += strlen(eline);
	}
	free(data);
	if (n == 0) {
		snprintf(err, errsize, "%s: no PEM %s", path, label);
		free(list);
		free(lens);
		return MTLS_ERR_INVALID;
	}
	*der = list;
	*len = lens;
	return (int)n;
fail:
	free(data);
	x509_der_list_free(list, lens, n);
	return rc;
}

/* pem_blocks_mem over a file; data is NUL-terminated and consumed. */
static int
pem_blocks(const char *path, const char *label, bool der_ok,
    unsigned char ***der, size_t **len, char *err, size_t errsize)
{
	char *data;
	size_t flen;
	int rc;

	if ((rc = read_file(path, &data, &flen, err, errsize)) != 0)
		return rc;
	return pem_blocks_mem(path, data, flen, label, der_ok, der, len, err,
	    errsize);
}

int
x509_pem_read(const char *path, unsigned char ***der, size_t **len,
    char *err, size_t errsize)
{
	size_t i;
	int n;

	if ((n = pem_blocks(path, "CERTIFICATE", false, der, len, err,
	    errsize)) < 0)
		return n;
	for (i = 0; i < (size_t)n; i++) {
		if (cert_names((*der)[i], (*len)[i], NULL, NULL) != 0) {
			snprintf(err, errsize, "%s: certificate %zu is not "
			    "valid PEM/DER", path, i + 1);
			x509_der_list_free(*der, *len, (size_t)n);
			return MTLS_ERR_INVALID;
		}
	}
	return n;
}

/* Parse one DER CertificateList (RFC 5280 5.1) into c. */
static int
crl_parse(struct x509_crl *c, const unsigned char *der, size_t len)
{
	struct der in = { der, len }, tbs, list, entry;
	struct der_elem e, issuer, t1, serial;
	int rc;

	if (der_expect(&in, DER_SEQUENCE, &e) != 0 || in.len != 0)
		return MTLS_ERR_INVALID;
	in = e.content;
	if (der_expect(&in, DER_SEQUENCE, &e) != 0)
		return MTLS_ERR_INVALID;
	tbs = e.content;
	if (der_peek(&tbs, DER_INTEGER) && der_next(&tbs, &e) != 0)
		return MTLS_ERR_INVALID;
	if (der_expect(&tbs, DER_SEQUENCE, &e) != 0 ||
	    der_expect(&tbs, DER_SEQUENCE, &issuer) != 0 ||
	    der_next(&tbs, &t1) != 0 || der_time(&t1, &c->this_update) != 0)
		return MTLS_ERR_INVALID;
	if (der_peek(&tbs, DER_UTCTIME) || der_peek(&tbs, DER_GENERALIZEDTIME)) {
		if (der_next(&tbs, &e) != 0 ||
		    der_time(&e, &c->next_update) != 0)
			return MTLS_ERR_INVALID;
		c->has_next_update = true;
	}
	if ((c->issuer = malloc(issuer.whole.len)) == NULL)
		return MTLS_ERR_NOMEM;
	memcpy(c->issuer, issuer.whole.p, issuer.whole.len);
	c->issuer_len = issuer.whole.len;
	if (!der_peek(&tbs, DER_SEQUENCE))
		return 0;			/* nothing revoked */
	if (der_next(&tbs, &e) != 0)
		return MTLS_ERR_INVALID;
	list = e.content;
	while (list.len > 0) {
		if (der_expect(&list, DER_SEQUENCE, &e) != 0)
			return MTLS_ERR_INVALID;
		entry = e.content;
		if (der_expect(&entry, DER_INTEGER, &serial) != 0)
			return MTLS_ERR_INVALID;
		if ((rc = bytes_list_add(&c->serials, serial.content.p,
		    serial.content.len)) != 0)
			return rc;
	}
	return 0;
}

int
x509_crl_read(const char *path, struct x509_crl **out, size_t *nout,
    char *err, size_t errsize)
{
	struct x509_crl *crls;
	unsigned char **der;
	size_t *len, i;
	int n, rc;

	if ((n = pem_blocks(path, "X509 CRL", true, &der, &len, err,
	    errsize)) < 0)
		return n;
	if ((crls = calloc((size_t)n, sizeof(*crls))) == NULL) {
		x509_der_list_free(der, len, (size_t)n);
		return MTLS_ERR_NOMEM;
	}
	for (i = 0; i < (size_t)n; i++) {
		if ((rc = crl_parse(&crls[i], der[i], len[i])) != 0) {
			snprintf(err, errsize, "%s: CRL %zu is not a valid "
			    "DER or PEM CRL", path, i + 1);
			x509_crl_free(crls, (size_t)n);
			x509_der_list_free(der, len, (size_t)n);
			return rc;
		}
		crls[i].der = der[i];
		crls[i].len = len[i];
		der[i] = NULL;
	}
	x509_der_list_free(der, len, (size_t)n);
	*out = crls;
	*nout = (size_t)n;
	return 0;
}

void
x509_crl_free(struct x509_crl *crls, size_t n)
{
	size_t i;

	for (i = 0; crls != NULL && i < n; i++) {
		free(crls[i].issuer);
		free(crls[i].der);
		bytes_list_free(&crls[i].serials);
	}
	free(crls);
}

int
x509_crl_lookup(const struct x509_crl *const *crls, size_t n,
    const unsigned char *cert, size_t certlen, const struct x509_crl **which)
{
	struct der in = { cert, certlen }, tbs, issuer;
	struct der_elem e, serial;
	const struct x509_crl *c;
	size_t i, j;

	*which = NULL;
	if (cert_names(cert, certlen, &issuer, NULL) != 0 ||
	    der_expect(&in, DER_SEQUENCE, &e) != 0)
		return MTLS_ERR_INVALID;
	in = e.content;
	if (der_expect(&in, DER_SEQUENCE, &e) != 0)
		return MTLS_ERR_INVALID;
	tbs = e.content;
	if (der_peek(&tbs, 0xa0) && der_next(&tbs, &e) != 0)
		return MTLS_ERR_INVALID;
	if (der_expect(&tbs, DER_INTEGER, &serial) != 0)
		return MTLS_ERR_INVALID;
	for (i = 0; i < n; i++) {
		c = crls[i];
		if (c->issuer_len != issuer.len ||
		    memcmp(c->issuer, issuer.p, issuer.len) != 0)
			continue;
		/* The issuer's newest CRL answers for it. */
		if (*which == NULL || c->this_update > (*which)->this_update)
			*which = c;
	}
	if (*which == NULL)
		return X509_CRL_NONE;
	c = *which;
	for (j = 0; j < c->serials.count; j++)
		if (c->serials.items[j].len == serial.content.len &&
		    memcmp(c->serials.items[j].data, serial.content.p,
		    serial.content.len) == 0)
			return X509_CRL_REVOKED;
	return X509_CRL_GOOD;
}

void
x509_der_list_free(unsigned char **der, size_t *len, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(der[i]);
	free(der);
	free(len);
}

int
x509_anchors_load(const char *path, struct x509_anchors **out, char *err,
    size_t errsize)
{
	char *data;
	size_t flen;
	int rc;

	if ((rc = read_file(path, &data, &flen, err, errsize)) != 0)
		return rc;
	rc = x509_anchors_load_mem(path, data, flen, out, err, errsize);
	free(data);
	return rc;
}

int
x509_anchors_load_mem(const char *path, const char *pem, size_t pemlen,
    struct x509_anchors **out, char *err, size_t errsize)
{
	struct x509_anchors *a;
	unsigned char **der;
	size_t *len, i;
	char *copy;
	int n;

	/* pem_blocks_mem takes a NUL-terminated copy it may keep or free. */
	if ((copy = malloc(pemlen + 1)) == NULL)
		return MTLS_ERR_NOMEM;
	memcpy(copy, pem, pemlen);
	copy[pemlen] = '\0';
	if ((n = pem_blocks_mem(path, copy, pemlen, "CERTIFICATE", false, &der,
	    &len, err, errsize)) < 0)
		return n;
	for (i = 0; i < (size_t)n; i++) {
		if (cert_names(der[i], len[i], NULL, NULL) != 0) {
			snprintf(err, errsize, "%s: certificate %zu is not "
			    "valid PEM/DER", path, i + 1);
			x509_der_list_free(der, len, (size_t)n);
			return MTLS_ERR_INVALID;
		}
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->a = calloc((size_t)n, sizeof(*a->a))) == NULL ||
	    (a->memo = calloc(SIG_MEMO_SLOTS, sizeof(*a->memo))) == NULL) {
		if (a != NULL)
			free(a->a);
		free(a);
		x509_der_list_free(der, len, (size_t)n);
		return MTLS_ERR_NOMEM;
	}
	pthread_mutex_init(&a->memo_lock, NULL);
	for (i = 0; i < (size_t)n; i++) {
		struct anchor *an = &a->a[a->n++];

		an->der = der[i];
		an->len = len[i];
		der[i] = NULL;
		cert_names(an->der, an->len, NULL, &an->subject);
		wc_Sha256Hash(an->der, (word32)an->len, an->sha256);
		an->x509 = wolfSSL_X509_load_certificate_buffer(an->der,
		    (int)an->len, WOLFSSL_FILETYPE_ASN1);
		if (an->x509 == NULL ||
		    (an->pkey = wolfSSL_X509_get_pubkey(an->x509)) == NULL) {
			snprintf(err, errsize, "%s: certificate %zu cannot be "
			    "used as a CA", path, i + 1);
			x509_der_list_free(der, len, (size_t)n);
			x509_anchors_free(a);
			return MTLS_ERR_INVALID;
		}
	}
	x509_der_list_free(der, len, (size_t)n);
	*out = a;
	return 0;
}

size_t
x509_anchors_count(const struct x509_anchors *a)
{
	return a->n;
}

void
x509_anchors_free(struct x509_anchors *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		if (a->a[i].pkey != NULL)
			wolfSSL_EVP_PKEY_free(a->a[i].pkey);
		if (a->a[i].x509 != NULL)
			wolfSSL_X509_free(a->a[i].x509);
		free(a->a[i].der);
	}
	free(a->a);
	if (a->memo != NULL) {
		pthread_mutex_destroy(&a->memo_lock);
		free(a->memo);
	}
	free(a);
}

/* One certificate a client sent, loaded and hashed only when needed. */
struct sent_cert {
	const unsigned char	*der;
	size_t			 len;
	unsigned char		 sha256[IDENTITY_SHA256_LEN];
	bool			 hashed;
	WOLFSSL_X509		*x509;
	WOLFSSL_EVP_PKEY	*pkey;
};

static const unsigned char *
sent_hash(struct sent_cert *c)
{
	if (!c->hashed) {
		wc_Sha256Hash(c->der, (word32)c->len, c->sha256);
		c->hashed = true;
	}
	return c->sha256;
}

static WOLFSSL_X509 *
sent_x509(struct sent_cert *c)
{
	if (c->x509 == NULL)
		c->x509 = wolfSSL_X509_load_certificate_buffer(c->der,
		    (int)c->len, WOLFSSL_FILETYPE_ASN1);
	return c->x509;
}

static WOLFSSL_EVP_PKEY *
sent_pkey(struct sent_cert *c)
{
	if (c->pkey == NULL && sent_x509(c) != NULL)
		c->pkey = wolfSSL_X509_get_pubkey(c->x509);
	return c->pkey;
}

static void
sent_free(struct sent_cert *c)
{
	if (c->pkey != NULL)
		wolfSSL_EVP_PKEY_free(c->pkey);
	if (c->x509 != NULL)
		wolfSSL_X509_free(c->x509);
	c->pkey = NULL;
	c->x509 = NULL;
}

static size_t
memo_slot(const unsigned char *child, const unsigned char *parent)
{
	/* SHA-256 output: any bytes index evenly. */
	return ((size_t)(child[0] ^ parent[1]) << 8 |
	    (size_t)(child[2] ^ parent[3])) % SIG_MEMO_SLOTS;
}

static bool
memo_has(struct x509_anchors *a, const unsigned char *child,
    const unsigned char *parent)
{
	struct sig_memo *m = &a->memo[memo_slot(child, parent)];
	bool hit;

	pthread_mutex_lock(&a->memo_lock);
	hit = m->used &&
	    memcmp(m->child, child, IDENTITY_SHA256_LEN) == 0 &&
	    memcmp(m->parent, parent, IDENTITY_SHA256_LEN) == 0;
	pthread_mutex_unlock(&a->memo_lock);
	return hit;
}

static void
memo_add(struct x509_anchors *a, const unsigned char *child,
    const unsigned char *parent)
{
	struct sig_memo *m = &a->memo[memo_slot(child, parent)];

	pthread_mutex_lock(&a->memo_lock);
	memcpy(m->child, child, IDENTITY_SHA256_LEN);
	memcpy(m->parent, parent, IDENTITY_SHA256_LEN);
	m->used = true;
	pthread_mutex_unlock(&a->memo_lock);
}

/*
 * Was child signed by the key of the certificate whose DER hashes to
 * parent_sha256?  pkey is that key, or NULL to take it from parent.
 */
static bool
signed_by(struct x509_anchors *a, struct sent_cert *child,
    const unsigned char *parent_sha256, WOLFSSL_EVP_PKEY *pkey,
    struct sent_cert *parent)
{
	WOLFSSL_X509 *x;

	if (memo_has(a, sent_hash(child), parent_sha256))
		return true;
	if (pkey == NULL && (pkey = sent_pkey(parent)) == NULL)
		return false;
	if ((x = sent_x509(child)) == NULL ||
	    wolfSSL_X509_verify(x, pkey) != WOLFSSL_SUCCESS)
		return false;
	memo_add(a, child->sha256, parent_sha256);
	return true;
}

int
x509_path(const struct x509_anchors *a, const unsigned char *const *certs,
    const size_t *lens, size_t n, int max_intermediates, int *intermediates,
    unsigned char issuer_sha256[IDENTITY_SHA256_LEN])
{
	return x509_path_issuer(a, certs, lens, n, max_intermediates,
	    intermediates, issuer_sha256, NULL, NULL);
}

int
x509_path_issuer(const struct x509_anchors *anchors,
    const unsigned char *const *certs, const size_t *lens, size_t n,
    int max_intermediates, int *intermediates,
    unsigned char issuer_sha256[IDENTITY_SHA256_LEN],
    const unsigned char **issuer_der, size_t *issuer_len)
{
	/* Only the memo changes, under its own lock. */
	struct x509_anchors *a = (struct x509_anchors *)anchors;
	struct sent_cert sent[X509_MAX_CHAIN];
	bool used[X509_MAX_CHAIN] = { false };
	struct der issuer, subject;
	size_t i, curi = 0, found;
	int depth = 0, rc = MTLS_ERR_NOT_FOUND;

	if (n == 0 || n > X509_MAX_CHAIN)
		return MTLS_ERR_TOO_LARGE;
	memset(sent, 0, sizeof(sent));
	for (i = 0; i < n; i++) {
		sent[i].der = certs[i];
		sent[i].len = lens[i];
	}
	used[0] = true;
	for (;;) {
		if (cert_names(certs[curi], lens[curi], &issuer, NULL) != 0) {
			rc = MTLS_ERR_INVALID;
			break;
		}
		/* A trust anchor ends the path. */
		for (i = 0; i < a->n; i++) {
			if (der_same(&a->a[i].subject, &issuer) &&
			    signed_by(a, &sent[curi], a->a[i].sha256,
			    a->a[i].pkey, NULL)) {
				if (curi == 0) {
					memcpy(issuer_sha256, a->a[i].sha256,
					    IDENTITY_SHA256_LEN);
					if (issuer_der != NULL) {
						*issuer_der = a->a[i].der;
						*issuer_len = a->a[i].len;
					}
				}
				*intermediates = depth;
				rc = 0;
				goto done;
			}
		}
		/* Else one of the certificates this client sent. */
		found = n;
		for (i = 1; i < n && found == n; i++) {
			if (used[i] || cert_names(certs[i], lens[i], NULL,
			    &subject) != 0 || !der_same(&subject, &issuer))
				continue;
			if (signed_by(a, &sent[curi], sent_hash(&sent[i]), NULL,
			    &sent[i]))
				found = i;
		}
		if (found == n)
			break;		/* MTLS_ERR_NOT_FOUND */
		if (curi == 0) {
			memcpy(issuer_sha256, sent_hash(&sent[found]),
			    IDENTITY_SHA256_LEN);
			if (issuer_der != NULL) {
				*issuer_der = certs[found];
				*issuer_len = lens[found];
			}
		}
		if (++depth > max_intermediates) {
			rc = MTLS_ERR_TOO_LARGE;
			break;
		}
		used[found] = true;
		curi = found;
	}
done:
	for (i = 0; i < n; i++)
		sent_free(&sent[i]);
	return rc;
}
