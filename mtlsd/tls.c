/*
 * tls.c: wolfSSL behind tls.h.  The only file of mtlsd that calls
 * wolfSSL_*.  Library errors are mapped here: want-read/want-write become
 * MTLS_ERR_AGAIN, verification errors become one refusal reason.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/evp.h>
#include <wolfssl/openssl/pem.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "der.h"
#include "error.h"
#include "tls.h"
#include "tls_int.h"
#include "x509.h"

/* wolfSSL's MAX_CHAIN_DEPTH: certificates above the leaf it will process */
#define TLS_LIBRARY_MAX_DEPTH	9
/* ex_data slot of a WOLFSSL that points back at its struct tls_conn */
#define TLS_EXDATA_CONN	0

static const char *const reason_names[TLS_REASON_MAX] = {
	[TLS_REASON_NONE] = "none",
	[TLS_REASON_NO_CERT] = "no_cert",
	[TLS_REASON_UNKNOWN_CA] = "unknown_ca",
	[TLS_REASON_EXPIRED] = "expired",
	[TLS_REASON_NOT_YET_VALID] = "not_yet_valid",
	[TLS_REASON_BAD_EKU] = "bad_eku",
	[TLS_REASON_REVOKED] = "revoked",
	[TLS_REASON_DEPTH] = "depth",
	[TLS_REASON_BAD_SIGNATURE] = "bad_signature",
	[TLS_REASON_TIMEOUT] = "timeout",
	[TLS_REASON_PROTOCOL] = "protocol",
	[TLS_REASON_NO_MAPPING] = "no_mapping",
	[TLS_REASON_CRL_EXPIRED] = "crl_expired",
	[TLS_REASON_CRL_MISSING] = "crl_missing",
	[TLS_REASON_OCSP_UNKNOWN] = "ocsp_unknown",
	[TLS_REASON_OCSP_UNAVAILABLE] = "ocsp_unavailable",
};

const char *
tls_reason_name(enum tls_reason reason)
{
	if (reason >= TLS_REASON_MAX)
		return "protocol";
	return reason_names[reason];
}

int
tls_global_init(void)
{
	return wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : MTLS_ERR_TLS;
}

void
tls_thread_cleanup(void)
{
#ifdef FP_ECC
	/* The library keeps a per-thread cache of ECC points. */
	wc_ecc_fp_free();
#endif
}

void
tls_global_cleanup(void)
{
	wolfSSL_Cleanup();
}

/*
 * Map a verification error, either a wolfSSL code (negative) or an
 * OpenSSL-compatible X509_V_ERR_* code (positive), to a reason.
 */
static enum tls_reason
reason_from_error(int e)
{
	switch (e) {
	case ASN_AFTER_DATE_E:
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return TLS_REASON_EXPIRED;
	case ASN_BEFORE_DATE_E:
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
		return TLS_REASON_NOT_YET_VALID;
	case ASN_NO_SIGNER_E:
	case ASN_SELF_SIGNED_E:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return TLS_REASON_UNKNOWN_CA;
	case ASN_SIG_CONFIRM_E:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return TLS_REASON_BAD_SIGNATURE;
	case MAX_CHAIN_ERROR:
	case ASN_PATHLEN_SIZE_E:
	case ASN_PATHLEN_INV_E:
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
		return TLS_REASON_DEPTH;
	case EXTKEYUSAGE_E:
	case EXTKEYUSE_AUTH_E:
	case X509_V_ERR_INVALID_PURPOSE:
		return TLS_REASON_BAD_EKU;
	case CRL_CERT_REVOKED:
	case X509_V_ERR_CERT_REVOKED:
		return TLS_REASON_REVOKED;
	case CRL_MISSING:
		return TLS_REASON_CRL_MISSING;
	case CRL_CERT_DATE_ERR:
		return TLS_REASON_CRL_EXPIRED;
	case NO_PEER_CERT:
		return TLS_REASON_NO_CERT;
	}
	return TLS_REASON_PROTOCOL;
}

/* Words for the log; the library's own text where ours has none. */
static const char *
reason_text(enum tls_reason r, int e)
{
	switch (r) {
	case TLS_REASON_EXPIRED:	return "certificate has expired";
	case TLS_REASON_NOT_YET_VALID:	return "certificate is not yet valid";
	case TLS_REASON_UNKNOWN_CA:	return "issuer is not a trusted CA";
	case TLS_REASON_BAD_SIGNATURE:	return "signature does not verify";
	case TLS_REASON_DEPTH:		return "chain too long";
	case TLS_REASON_BAD_EKU:	return "extended key usage lacks clientAuth";
	case TLS_REASON_REVOKED:	return "certificate is revoked";
	default:
		return wolfSSL_X509_verify_cert_error_string(e);
	}
}

static void
conn_refuse(struct tls_conn *c, enum tls_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_refuse(struct tls_conn *c, enum tls_reason reason, const char *fmt, ...)
{
	va_list ap;

	/* The first refusal is the one that counts. */
	if (c->reason != TLS_REASON_NONE)
		return;
	c->reason = reason;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

/*
 * The path from the leaf to a client_ca anchor through the certificates
 * this client sent, never through intermediates wolfSSL remembers from
 * earlier connections (see x509.h).  It also names the leaf's issuer.
 */
static bool
path_ok(struct tls_conn *c, WOLFSSL_X509_STORE_CTX *store)
{
	const unsigned char *certs[X509_MAX_CHAIN], *issuer = NULL;
	size_t lens[X509_MAX_CHAIN], issuer_len = 0;
	int i, n = store->totalCerts, inter, rc;

	if (store->certs == NULL || n < 1 || n > X509_MAX_CHAIN) {
		conn_refuse(c, n > X509_MAX_CHAIN ? TLS_REASON_DEPTH :
		    TLS_REASON_PROTOCOL, "client sent %d certificates", n);
		return false;
	}
	for (i = 0; i < n; i++) {
		certs[i] = store->certs[i].buffer;
		lens[i] = store->certs[i].length;
	}
	rc = x509_path_issuer(c->ctx->anchors, certs, lens, (size_t)n,
	    c->ctx->verify_depth, &inter, c->issuer_sha256, &issuer,
	    &issuer_len);
	if (rc == MTLS_ERR_TOO_LARGE) {
		conn_refuse(c, TLS_REASON_DEPTH, "chain has more than "
		    "verify_depth %d intermediate CAs", c->ctx->verify_depth);
		return false;
	}
	if (rc != 0) {
		conn_refuse(c, TLS_REASON_UNKNOWN_CA, "no path to a client_ca "
		    "anchor through the certificates the client sent");
		return false;
	}
	c->have_issuer = true;
	free(c->issuer);
	if ((c->issuer = malloc(issuer_len)) != NULL) {
		memcpy(c->issuer, issuer, issuer_len);
		c->issuer_len = issuer_len;
	}
	return true;
}

/*
 * The library found no CRL it may use for this certificate's issuer: our
 * own copy says whether that CRL exists but is past its nextUpdate (then
 * crl_expired decides), or is missing altogether (refused).
 */
static int
crl_decide(struct tls_conn *c, WOLFSSL_X509_STORE_CTX *store, int depth)
{
	const struct x509_crl *which = NULL;
	const unsigned char *der;
	char when[32];
	int derlen, r;

	der = wolfSSL_X509_get_der(store->current_cert, &derlen);
	if (der == NULL || derlen <= 0) {
		conn_refuse(c, TLS_REASON_PROTOCOL, "no DER at depth %d", depth);
		return 0;
	}
	r = x509_crl_lookup(c->ctx->crls, c->ctx->n_crls, der,
	    (size_t)derlen, &which);
	if (r == X509_CRL_REVOKED) {
		conn_refuse(c, TLS_REASON_REVOKED, "certificate at depth %d "
		    "is listed by its issuer's CRL", depth);
		return 0;
	}
	if (r != X509_CRL_GOOD || which == NULL) {
		conn_refuse(c, TLS_REASON_CRL_MISSING, "no CRL for the issuer "
		    "of the certificate at depth %d (with crl set, every CA "
		    "needs one)", depth);
		return 0;
	}
	identity_time_text(which->next_update, when, sizeof(when));
	if (!c->ctx->crl_warn) {
		conn_refuse(c, TLS_REASON_CRL_EXPIRED, "the CRL that covers "
		    "the certificate at depth %d expired at %s "
		    "(crl_expired = refuse)", depth, when);
		return 0;
	}
	snprintf(c->crl_warning, sizeof(c->crl_warning), "accepted with the "
	    "CRL that covers the certificate at depth %d, expired at %s "
	    "(crl_expired = warn)", depth, when);
	return 1;
}

/*
 * Called for every certificate of the peer's chain (WOLFSSL_ALWAYS_VERIFY_CB),
 * top down, the leaf (depth 0) last.  wolfSSL has checked signature, dates
 * and trust; we add the depth limit and the clientAuth EKU, and parse the
 * leaf once into the identity record.
 */
static int
verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	WOLFSSL *ssl;
	struct tls_conn *c;
	const unsigned char *der;
	char err[128];
	int derlen, depth = store->error_depth;

	ssl = wolfSSL_X509_STORE_CTX_get_ex_data(store,
	    wolfSSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL ||
	    (c = wolfSSL_get_ex_data(ssl, TLS_EXDATA_CONN)) == NULL)
		return 0;
	/*
	 * wolfSSL itself refuses a leaf whose EKU lacks clientAuth; with
	 * require_client_auth_eku = false that is the admin's call to make.
	 */
	if (!preverify && depth == 0 && store->error == EXTKEYUSE_AUTH_E &&
	    !c->ctx->require_eku)
		preverify = 1;
	if (!preverify && (store->error == CRL_MISSING ||
	    store->error == CRL_CERT_DATE_ERR ||
	    store->error == X509_V_ERR_UNABLE_TO_GET_CRL ||
	    store->error == X509_V_ERR_CRL_HAS_EXPIRED)) {
		if (!crl_decide(c, store, depth))
			return 0;
		preverify = 1;		/* accepted with a warning */
	}
	if (!preverify) {
		enum tls_reason r = reason_from_error(store->error);

		conn_refuse(c, r, "certificate at depth %d: %s (error %d)",
		    depth, reason_text(r, store->error), store->error);
		return 0;
	}
	if (depth != 0)
		return 1;
	if (!path_ok(c, store))
		return 0;
	if (c->have_identity) {
		identity_free(&c->identity);
		c->have_identity = false;
	}
	der = wolfSSL_X509_get_der(store->current_cert, &derlen);
	if (der == NULL || derlen <= 0 ||
	    identity_from_der(&c->identity, der, (size_t)derlen, err,
	    sizeof(err)) != 0) {
		conn_refuse(c, TLS_REASON_PROTOCOL, "client certificate: %s",
		    der == NULL ? "no DER" : err);
		return 0;
	}
	c->have_identity = true;
	free(c->leaf);
	if ((c->leaf = malloc((size_t)derlen)) == NULL) {
		conn_refuse(c, TLS_REASON_PROTOCOL, "out of memory");
		return 0;
	}
	memcpy(c->leaf, der, (size_t)derlen);
	c->leaf_len = (size_t)derlen;
	if (c->identity.is_ca) {
		conn_refuse(c, TLS_REASON_BAD_EKU,
		    "a CA certificate cannot be a client certificate");
		return 0;
	}
	if (c->ctx->require_eku && !c->identity.eku_client_auth) {
		conn_refuse(c, TLS_REASON_BAD_EKU, "%s",
		    c->identity.has_eku ?
		    "extended key usage lacks clientAuth" :
		    "no extended key usage extension (clientAuth required)");
		return 0;
	}
	return 1;
}

/* Is crls[k] the one x509_crl_lookup answers with for its issuer? */
static bool
crl_is_newest(const struct tls_ctx *t, size_t k)
{
	const struct x509_crl *c = t->crls[k], *o;
	size_t i;

	for (i = 0; i < t->n_crls; i++) {
		o = t->crls[i];
		if (i == k || o->issuer_len != c->issuer_len ||
		    memcmp(o->issuer, c->issuer, c->issuer_len) != 0)
			continue;
		/* Newest first; among equals, the first listed. */
		if (o->this_update > c->this_update ||
		    (o->this_update == c->this_update && i < k))
			return false;
	}
	return true;
}

/* Which crl file a parsed CRL came from, for messages. */
static const char *
crl_file_of(const struct tls_ctx *t, const struct listener_config *lc,
    const struct x509_crl *c)
{
	size_t i;

	for (i = 0; i < t->n_crl_files; i++)
		if (c >= t->crl_files[i].crls &&
		    c < t->crl_files[i].crls + t->crl_files[i].n)
			return lc->crl[i];
	return "?";
}

/*
 * Every CRL of every crl file: the library checks the ones still current
 * (and their signatures against client_ca); we keep our own list of all
 * of them, to tell "expired" from "missing" and to re-check live sessions.
 */
static int
load_crls(struct tls_ctx *t, const struct listener_config *lc, char *err,
    size_t errsize)
{
	const struct x509_crl **all;
	struct crl_file *f;
	time_t now = time(NULL);
	size_t i, j;
	int rc;

	if ((t->crl_files = calloc(lc->n_crl, sizeof(*t->crl_files))) ==
	    NULL) {
		snprintf(err, errsize, "out of memory");
		return MTLS_ERR_NOMEM;
	}
	t->crl_warn = lc->crl_expired_warn;
	if (wolfSSL_CTX_EnableCRL(t->ctx, WOLFSSL_CRL_CHECKALL) !=
	    WOLFSSL_SUCCESS) {
		snprintf(err, errsize, "cannot enable CRL checks");
		return MTLS_ERR_TLS;
	}
	for (i = 0; i < lc->n_crl; i++) {
		f = &t->crl_files[t->n_crl_files];
		if ((rc = x509_crl_read(lc->crl[i], &f->crls, &f->n, err,
		    errsize)) != 0)
			return rc;
		t->n_crl_files++;
		all = reallocarray(t->crls, t->n_crls + f->n, sizeof(*all));
		if (all == NULL) {
			snprintf(err, errsize, "out of memory");
			return MTLS_ERR_NOMEM;
		}
		t->crls = all;
		for (j = 0; j < f->n; j++)
			t->crls[t->n_crls++] = &f->crls[j];
	}
	/*
	 * The library gets each issuer's newest CRL only, the one our own
	 * lookups (x509_crl_lookup) answer with too.
	 */
	for (i = 0; i < t->n_crls; i++) {
		const struct x509_crl *c = t->crls[i];

		if (!crl_is_newest(t, i))
			continue;
		/* An expired CRL cannot be loaded: ours decides. */
		if (c->has_next_update && c->next_update <= now)
			continue;
		if ((rc = wolfSSL_CTX_LoadCRLBuffer(t->ctx, c->der,
		    (long)c->len, WOLFSSL_FILETYPE_ASN1)) != WOLFSSL_SUCCESS) {
			snprintf(err, errsize, "crl: a CRL in %s does not "
			    "verify against any CA of client_ca (%d)",
			    crl_file_of(t, lc, c), rc);
			return MTLS_ERR_TLS;
		}
	}
	return 0;
}

#define BLOB_MAX	(4 * 1024 * 1024)

static void
blob_free(struct blob *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);	/* may be a key */
	free(b->data);
	free(b->path);
	memset(b, 0, sizeof(*b));
}

static bool
blob_same_file(const struct blob *b, const char *path, const struct stat *st)
{
	return b != NULL && b->path != NULL && strcmp(b->path, path) == 0 &&
	    b->st.st_dev == st->st_dev && b->st.st_ino == st->st_ino &&
	    b->st.st_size == st->st_size &&
	    b->st.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	    b->st.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

static int
blob_copy(struct blob *b, const struct blob *from)
{
	if ((b->data = malloc(from->len + 1)) == NULL ||
	    (b->path = strdup(from->path)) == NULL)
		return -1;
	memcpy(b->data, from->data, from->len + 1);
	b->len = from->len;
	b->st = from->st;
	return 0;
}

static int
blob_read(struct blob *b, const char *path, const struct blob *prev,
    char *err, size_t errsize)
{
	struct stat st;
	ssize_t r;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		e = errno;
		/* Unreadable now, but exactly what was read before. */
		if ((e == EACCES || e == EPERM) && stat(path, &st) == 0 &&
		    blob_same_file(prev, path, &st))
			return blob_copy(b, prev) == 0 ? 0 : -1;
		snprintf(err, errsize, "%s: %s%s", path, strerror(e),
		    e == EACCES && geteuid() != 0 ? " (mtlsd now runs as its "
		    "own user: a file changed since start-up must be "
		    "readable by it, or restart mtlsd)" : "");
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > BLOB_MAX) {
		snprintf(err, errsize, "%s: not a regular file of at most %d "
		    "bytes", path, BLOB_MAX);
		close(fd);
		return -1;
	}
	if ((b->data = malloc((size_t)st.st_size + 1)) == NULL ||
	    (b->path = strdup(path)) == NULL) {
		close(fd);
		snprintf(err, errsize, "%s: out of memory", path);
		return -1;
	}
	for (b->len = 0; b->len < (size_t)st.st_size; b->len += (size_t)r) {
		r = read(fd, b->data + b->len, (size_t)st.st_size - b->len);
		if (r <= 0) {
			snprintf(err, errsize, "%s: %s", path,
			    r == 0 ? "shorter than its size" : strerror(errno));
			close(fd);
			return -1;
		}
	}
	b->data[b->len] = '\0';
	b->st = st;
	close(fd);
	return 0;
}

/*
 * Does the private key belong to the certificate (the leaf, first in the
 * chain file)?  wolfSSL 5.5's check_private_key accepts a mismatched ECC
 * key, so prove it: sign with the key, verify with the certificate.
 */
static bool
key_matches(const struct blob *cert, const struct blob *key)
{
	static const unsigned char msg[] = "mtlsd key check";
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	WOLFSSL_EVP_PKEY *priv = NULL, *pub = NULL;
	WOLFSSL_EVP_MD_CTX *md = NULL;
	WOLFSSL_X509 *x = NULL;
	WOLFSSL_BIO *bio = NULL;
	bool ok = false;

	if ((bio = wolfSSL_BIO_new_mem_buf(key->data, (int)key->len)) ==
	    NULL ||
	    (priv = wolfSSL_PEM_read_bio_PrivateKey(bio, NULL, NULL,
	    NULL)) == NULL ||
	    (x = wolfSSL_X509_load_certificate_buffer(cert->data,
	    (int)cert->len, WOLFSSL_FILETYPE_PEM)) == NULL ||
	    (pub = wolfSSL_X509_get_pubkey(x)) == NULL ||
	    (md = wolfSSL_EVP_MD_CTX_new()) == NULL)
		goto done;
	if (wolfSSL_EVP_DigestSignInit(md, NULL, wolfSSL_EVP_sha256(), NULL,
	    priv) != WOLFSSL_SUCCESS ||
	    wolfSSL_EVP_DigestSignUpdate(md, msg, sizeof(msg)) !=
	    WOLFSSL_SUCCESS ||
	    wolfSSL_EVP_DigestSignFinal(md, sig, &siglen) != WOLFSSL_SUCCESS)
		goto done;
	wolfSSL_EVP_MD_CTX_free(md);
	if ((md = wolfSSL_EVP_MD_CTX_new()) == NULL)
		goto done;
	ok = wolfSSL_EVP_DigestVerifyInit(md, NULL, wolfSSL_EVP_sha256(), NULL,
	    pub) == WOLFSSL_SUCCESS &&
	    wolfSSL_EVP_DigestVerifyUpdate(md, msg, sizeof(msg)) ==
	    WOLFSSL_SUCCESS &&
	    wolfSSL_EVP_DigestVerifyFinal(md, sig, siglen) == WOLFSSL_SUCCESS;
done:
	if (md != NULL)
		wolfSSL_EVP_MD_CTX_free(md);
	if (pub != NULL)
		wolfSSL_EVP_PKEY_free(pub);
	if (priv != NULL)
		wolfSSL_EVP_PKEY_free(priv);
	if (x != NULL)
		wolfSSL_X509_free(x);
	if (bio != NULL)
		wolfSSL_BIO_free(bio);
	return ok;
}

#define CTX_FAIL(...) do {						\
	snprintf(err, errsize, "%s:%d: listener \"%s\": ", conf_file,	\
	    lc->line, lc->name);					\
	n = strlen(err);						\
	snprintf(err + n, errsize - n, __VA_ARGS__);			\
	goto fail;							\
} while (0)

struct tls_ctx *
tls_ctx_new(const struct listener_config *lc, const char *conf_file,
    const struct tls_ctx *prev, char *err, size_t errsize)
{
	struct tls_ctx *t;
	char msg[512];
	size_t n;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	t->verify_depth = lc->verify_depth;
	t->require_eku = lc->require_client_auth_eku;
	if (blob_read(&t->cert, lc->certificate, prev ? &prev->cert : NULL,
	    msg, sizeof(msg)) != 0)
		CTX_FAIL("certificate %s", msg);
	if (blob_read(&t->key, lc->private_key, prev ? &prev->key : NULL,
	    msg, sizeof(msg)) != 0)
		CTX_FAIL("private_key %s", msg);
	if (blob_read(&t->ca, lc->client_ca, prev ? &prev->ca : NULL, msg,
	    sizeof(msg)) != 0)
		CTX_FAIL("client_ca %s", msg);
	if ((t->ctx = wolfSSL_CTX_new(wolfSSLv23_server_method())) == NULL)
		CTX_FAIL("cannot create TLS context");
	if (wolfSSL_CTX_SetMinVersion(t->ctx, lc->tls_min_version == 13 ?
	    WOLFSSL_TLSV1_3 : WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
		CTX_FAIL("cannot set minimum TLS version");
	if (wolfSSL_CTX_use_certificate_chain_buffer(t->ctx, t->cert.data,
	    (long)t->cert.len) != WOLFSSL_SUCCESS)
		CTX_FAIL("certificate %s: cannot load PEM certificate chain",
		    lc->certificate);
	if (wolfSSL_CTX_use_PrivateKey_buffer(t->ctx, t->key.data,
	    (long)t->key.len, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
		CTX_FAIL("private_key %s: cannot load PEM private key",
		    lc->private_key);
	if (wolfSSL_CTX_check_private_key(t->ctx) != WOLFSSL_SUCCESS ||
	    !key_matches(&t->cert, &t->key))
		CTX_FAIL("private_key %s does not match certificate %s",
		    lc->private_key, lc->certificate);
	if (wolfSSL_CTX_load_verify_buffer(t->ctx, t->ca.data,
	    (long)t->ca.len, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
		CTX_FAIL("client_ca %s: cannot load PEM CA certificates",
		    lc->client_ca);
	if (x509_anchors_load_mem(lc->client_ca, (const char *)t->ca.data,
	    t->ca.len, &t->anchors, msg, sizeof(msg)) != 0)
		CTX_FAIL("client_ca %s", msg);
	if (lc->n_crl > 0 && load_crls(t, lc, msg, sizeof(msg)) != 0)
		CTX_FAIL("%s", msg);
	if (lc->ocsp_mode != OCSP_OFF && tls_ocsp_setup(t, lc) != 0)
		CTX_FAIL("cannot set up OCSP");
	wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_PEER |
	    WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	/*
	 * Our path check enforces verify_depth exactly; the library's own
	 * limit is opened up to its maximum so that it never refuses first
	 * (a client may send more CA certificates than its path needs).
	 */
	wolfSSL_CTX_set_verify_depth(t->ctx, TLS_LIBRARY_MAX_DEPTH);
	/*
	 * No resumption: a resumed handshake carries no client certificate
	 * to verify, and every session must be backed by a full verification.
	 */
	wolfSSL_CTX_set_session_cache_mode(t->ctx, WOLFSSL_SESS_CACHE_OFF);
	wolfSSL_CTX_NoTicketTLSv12(t->ctx);
	wolfSSL_CTX_no_ticket_TLSv13(t->ctx);
	/*
	 * Send each flight of handshake messages in one write instead of one
	 * write a message: on loopback a send also runs the receiver's side
	 * of TCP, and the server's first flight is six messages.
	 */
	wolfSSL_CTX_set_group_messages(t->ctx);
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->ctx != NULL)
		wolfSSL_CTX_free(t->ctx);
	free(t->ocsp_responder);
	x509_anchors_free(t->anchors);
	blob_free(&t->cert);
	blob_free(&t->key);
	blob_free(&t->ca);
	for (i = 0; i < t->n_crl_files; i++)
		x509_crl_free(t->crl_files[i].crls, t->crl_files[i].n);
	free(t->crl_files);
	free(t->crls);
	free(t);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *t, int fd)
{
	struct tls_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ctx = t;
	if ((c->ssl = wolfSSL_new(t->ctx)) == NULL ||
	    wolfSSL_set_fd(c->ssl, fd) != WOLFSSL_SUCCESS ||
	    wolfSSL_set_ex_data(c->ssl, TLS_EXDATA_CONN, c) !=
	    WOLFSSL_SUCCESS) {
		tls_conn_free(c);
		return NULL;
	}
	wolfSSL_set_using_nonblock(c->ssl, 1);
	return c;
}

void
tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		wolfSSL_free(c->ssl);
	if (c->have_identity)
		identity_free(&c->identity);
	free(c->leaf);
	free(c->issuer);
	free(c);
}

/* Translate a failed wolfSSL call: AGAIN, CLOSED or TLS. */
static int
conn_error(struct tls_conn *c, int ret)
{
	int e = wolfSSL_get_error(c->ssl, ret);

	switch (e) {
	case WOLFSSL_ERROR_WANT_READ:
		c->want_write = false;
		return MTLS_ERR_AGAIN;
	case WOLFSSL_ERROR_WANT_WRITE:
		c->want_write = true;
		return MTLS_ERR_AGAIN;
	case WOLFSSL_ERROR_ZERO_RETURN:
		return 0;
	case SOCKET_PEER_CLOSED_E:
		/* EOF without close_notify: treated as a half-close */
		return MTLS_ERR_CLOSED;
	}
	return MTLS_ERR_TLS;
}

int
tls_handshake(struct tls_conn *c)
{
	char buf[WOLFSSL_MAX_ERROR_SZ];
	int ret, e, rc;

	ret = wolfSSL_accept(c->ssl);
	if (ret == WOLFSSL_SUCCESS) {
		if (!c->have_identity) {
			/* Cannot happen with VERIFY_FAIL_IF_NO_PEER_CERT. */
			conn_refuse(c, TLS_REASON_NO_CERT,
			    "handshake finished without a verified certificate");
			return MTLS_ERR_TLS;
		}
		/*
		 * wolfSSL keeps the handshake's secrets and random values
		 * (5.5 KiB) for the connection's life when it was built with
		 * post-handshake authentication and tickets; mtlsd uses
		 * neither, and key updates work from the traffic secrets.
		 */
		wolfSSL_FreeArrays(c->ssl);
		return 0;
	}
	if ((rc = conn_error(c, ret)) == MTLS_ERR_AGAIN)
		return rc;
	e = wolfSSL_get_error(c->ssl, ret);
	if (rc == MTLS_ERR_CLOSED || rc == 0)
		conn_refuse(c, TLS_REASON_PROTOCOL,
		    "client closed the connection during the handshake");
	else if (e == NO_PEER_CERT)
		conn_refuse(c, TLS_REASON_NO_CERT,
		    "client sent no certificate");
	else {
		wolfSSL_ERR_error_string_n((unsigned long)e, buf, sizeof(buf));
		conn_refuse(c, reason_from_error(e), "%s (%d)", buf, e);
	}
	return MTLS_ERR_TLS;
}

bool
tls_conn_wants_write(const struct tls_conn *c)
{
	return c->want_write;
}

enum tls_reason
tls_conn_reason(const struct tls_conn *c)
{
	return c->reason;
}

const char *
tls_conn_detail(const struct tls_conn *c)
{
	return c->detail;
}

void
tls_conn_take_identity(struct tls_conn *c, struct identity *out)
{
	*out = c->identity;
	memset(&c->identity, 0, sizeof(c->identity));
	c->have_identity = false;
}

void
tls_conn_take_leaf(struct tls_conn *c, unsigned char **der, size_t *len)
{
	*der = c->leaf;
	*len = c->leaf_len;
	c->leaf = NULL;
	c->leaf_len = 0;
}

void
tls_conn_take_issuer(struct tls_conn *c, unsigned char **der, size_t *len)
{
	*der = c->issuer;
	*len = c->issuer_len;
	c->issuer = NULL;
	c->issuer_len = 0;
}

int
tls_ctx_revoked(struct tls_ctx *t, const unsigned char *der, size_t len)
{
	const struct x509_crl *which;
	int r;

	if (t->n_crls == 0)
		return 0;
	r = x509_crl_lookup(t->crls, t->n_crls, der, len, &which);
	return r == X509_CRL_REVOKED ? 1 : r < 0 ? r : 0;
}

const char *
tls_conn_crl_warning(const struct tls_conn *c)
{
	return c->crl_warning[0] != '\0' ? c->crl_warning : NULL;
}

const unsigned char *
tls_conn_issuer_sha256(const struct tls_conn *c)
{
	return c->have_issuer ? c->issuer_sha256 : NULL;
}

const char *
tls_conn_version(struct tls_conn *c)
{
	return wolfSSL_get_version(c->ssl);
}

const char *
tls_conn_cipher(struct tls_conn *c)
{
	const char *name = wolfSSL_get_cipher_name(c->ssl);

	return name != NULL ? name : "unknown";
}

int
tls_read(struct tls_conn *c, void *buf, size_t len)
{
	int ret;

	if (len > 0x7fffffff)
		len = 0x7fffffff;
	ret = wolfSSL_read(c->ssl, buf, (int)len);
	if (ret > 0) {
		c->want_write = false;
		return ret;
	}
	return conn_error(c, ret);
}

int
tls_write(struct tls_conn *c, const void *buf, size_t len)
{
	int ret, rc;

	if (len > 0x7fffffff)
		return MTLS_ERR_TOO_LARGE;
	ret = wolfSSL_write(c->ssl, buf, (int)len);
	if (ret > 0) {
		c->want_write = false;
		return ret;
	}
	rc = conn_error(c, ret);
	return rc == 0 ? MTLS_ERR_CLOSED : rc;
}

int
tls_shutdown(struct tls_conn *c)
{
	int ret = wolfSSL_shutdown(c->ssl);

	/* 0 means "sent, peer's not seen yet": enough for us. */
	if (ret == WOLFSSL_SUCCESS || ret == WOLFSSL_SHUTDOWN_NOT_DONE)
		return 0;
	return conn_error(c, ret) == MTLS_ERR_AGAIN ? MTLS_ERR_AGAIN :
	    MTLS_ERR_TLS;
}
