/*
 * admit.c: what happens between a verified TLS handshake and a published
 * session: the OCSP question (answered by the OCSP pool while the worker
 * serves others), the mapping to accounts, the audit line; and, for live
 * sessions, the re-checks after a reload or a CRL change.  Every refusal
 * here comes after a successful handshake, so it is logged with the
 * certificate's identity and ends with close_notify.
 */
#include <sys/eventfd.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"
#include "relay.h"

/* "rule: result (reason); ..." for the log, bounded. */
static void
mapping_summary(const struct mapping_result *res, struct mtls_buf *out)
{
	size_t i;

	for (i = 0; i < res->nsteps; i++)
		buf_printf(out, "%s%s: %s (%s)", i ? "; " : "",
		    res->steps[i].rule->name,
		    mapping_step_kind_name(res->steps[i].kind),
		    res->steps[i].reason);
}

void
logfmt_identity(struct logfmt *lf, const struct identity *id)
{
	char fpr[IDENTITY_FPR_TEXT];

	identity_fingerprint_text(id->cert_sha256, fpr);
	logfmt_bytes(lf, "subject", id->subject.rfc4514.data,
	    id->subject.rfc4514.len);
	logfmt_bytes(lf, "issuer", id->issuer.rfc4514.data,
	    id->issuer.rfc4514.len);
	logfmt_str(lf, "serial", id->serial);
	logfmt_str(lf, "sha256", fpr);
}

/*
 * Run the listener's rule set on the verified identity.  Returns 0 to go
 * on, -1 when the connection was refused (no_mapping) and freed.
 *
 * Account lookups go through NSS (getpwnam_r) on this worker thread; with
 * nscd/SSSD caches that is fast, a slow directory slows this worker.
 */
static int
conn_map(struct conn *c)
{
	const struct listener_config *lc = c->l->cfg;
	struct mtlsd *d = c->w->d;
	struct account_policy pol;
	struct mapping_result res;
	struct mtls_buf summary;
	struct logfmt lf;

	if (lc->mapping_set == NULL)
		return 0;
	memset(&pol, 0, sizeof(pol));
	pol.min_uid = c->g->conf->cfg.accounts_min_uid;
	pol.allow_root = c->g->conf->cfg.accounts_allow_root;
	if (mapping_evaluate(lc->mapping_set, &c->s.identity,
	    c->has_issuer ? c->issuer_sha256 : NULL, &pol, &res) != 0)
		memset(&res, 0, sizeof(res));	/* out of memory: no account */
	if (res.naccounts > 0) {
		c->s.accounts = res.accounts;
		c->s.naccounts = res.naccounts;
		res.accounts = NULL;
		res.naccounts = 0;
		mapping_result_free(&res);
		return 0;
	}
	if (!lc->require_mapping) {
		mapping_result_free(&res);
		return 0;
	}
	atomic_fetch_add(&d->stats.rejected[TLS_REASON_NO_MAPPING], 1);
	buf_init(&summary, 4096);
	mapping_summary(&res, &summary);
	logfmt_init(&lf, "handshake");
	logfmt_str(&lf, "result", "fail");
	logfmt_str(&lf, "reason", "no_mapping");
	logfmt_str(&lf, "listener", lc->name);
	logfmt_str(&lf, "client", c->s.client);
	logfmt_identity(&lf, &c->s.identity);
	logfmt_str(&lf, "mapping", lc->mapping_set->name);
	logfmt_str(&lf, "detail", summary.data ? summary.data :
	    "no rule matched");
	logfmt_emit(&lf, LOGLVL_NOTICE);
	buf_free(&summary);
	mapping_result_free(&res);
	(void)tls_shutdown(c->tls);
	conn_free(c);
	return -1;
}

static void	conn_verified(struct conn *c);

/*
 * Refuse a connection whose handshake succeeded but whose certificate a
 * later check turned down (OCSP): one audit line, close_notify, close.
 */
static void
conn_refuse_verified(struct conn *c, enum tls_reason reason,
    const char *detail)
{
	struct logfmt lf;

	atomic_fetch_add(&c->w->d->stats.rejected[reason], 1);
	logfmt_init(&lf, "handshake");
	logfmt_str(&lf, "result", "fail");
	logfmt_str(&lf, "reason", tls_reason_name(reason));
	logfmt_str(&lf, "listener", c->l->cfg->name);
	logfmt_str(&lf, "client", c->s.client);
	logfmt_identity(&lf, &c->s.identity);
	logfmt_str(&lf, "detail", detail);
	logfmt_emit(&lf, LOGLVL_NOTICE);
	(void)tls_shutdown(c->tls);
	conn_free(c);
}

/*
 * Act on an OCSP answer.  Returns 0 to go on, -1 when the connection was
 * refused and freed.
 */
static int
conn_ocsp_apply(struct conn *c, enum tls_ocsp st, bool cached,
    const char *detail)
{
	static const char *const names[] = { "good", "revoked", "unknown",
	    "unavailable" };
	bool hard = c->l->cfg->ocsp_mode == OCSP_HARD;
	char why[256];
	struct logfmt lf;

	snprintf(why, sizeof(why), "OCSP: %s", detail && *detail ? detail :
	    names[st]);
	if (st == TLS_OCSP_REVOKED) {
		/* News for live sessions of the same certificate too. */
		if (!cached)
			atomic_fetch_add(&c->w->d->ocsp_revocations, 1);
		conn_refuse_verified(c, TLS_REASON_REVOKED, why);
		return -1;
	}
	if (st != TLS_OCSP_GOOD && hard) {
		conn_refuse_verified(c, st == TLS_OCSP_UNKNOWN ?
		    TLS_REASON_OCSP_UNKNOWN : TLS_REASON_OCSP_UNAVAILABLE, why);
		return -1;
	}
	logfmt_init(&lf, "ocsp");
	logfmt_str(&lf, "result", names[st]);
	logfmt_str(&lf, "cached", cached ? "yes" : "no");
	logfmt_str(&lf, "listener", c->l->cfg->name);
	logfmt_str(&lf, "client", c->s.client);
	logfmt_str(&lf, "serial", c->s.identity.serial);
	if (st != TLS_OCSP_GOOD) {
		logfmt_str(&lf, "mode", "soft");
		logfmt_str(&lf, "detail", why);
	}
	logfmt_emit(&lf, st == TLS_OCSP_GOOD ? LOGLVL_INFO : LOGLVL_WARNING);
	return 0;
}

/*
 * Ask about the certificate: from the cache, or through the OCSP pool
 * while this worker serves others.  Returns 0 when the answer is already
 * known and good enough, 1 when waiting, -1 when refused (and freed).
 */
static int
conn_ocsp_ask(struct conn *c)
{
	const struct listener_config *lc = c->l->cfg;
	struct ocsp_job *j;
	enum tls_ocsp st;
	uint64_t wait_ms;

	if (ocsp_cache_get(lc->name, c->s.identity.cert_sha256, &st))
		return conn_ocsp_apply(c, st, true, NULL);
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->leaf = malloc(c->leaf_len)) == NULL) {
		free(j);
		return conn_ocsp_apply(c, TLS_OCSP_UNAVAILABLE, false,
		    "out of memory");
	}
	atomic_init(&j->refs, 1);		/* the connection's */
	j->worker = c->w;
	j->conn = c;
	j->g = c->g;
	atomic_fetch_add(&c->g->refs, 1);
	j->l = c->l;
	memcpy(j->leaf, c->leaf_der, c->leaf_len);
	j->leaf_len = c->leaf_len;
	if (c->issuer_der != NULL && (j->issuer = malloc(c->issuer_len)) !=
	    NULL) {
		memcpy(j->issuer, c->issuer_der, c->issuer_len);
		j->issuer_len = c->issuer_len;
	}
	memcpy(j->sha256, c->s.identity.cert_sha256, IDENTITY_SHA256_LEN);
	/* Never past ocsp.timeout, nor past what is left of the handshake. */
	wait_ms = (uint64_t)lc->ocsp_timeout * 1000;
	j->deadline = now_ms() + wait_ms;
	if (j->deadline > c->deadline)
		j->deadline = c->deadline;
	c->ocsp = j;
	c->state = CONN_OCSP;
	c->deadline = j->deadline;
	ocsp_submit(j);
	conn_update_events(c);		/* nothing to read meanwhile */
	return 1;
}

/* From an OCSP thread: hand the answered job to the worker that asked. */
void
relay_ocsp_done(struct ocsp_job *j)
{
	struct worker *w = j->worker;

	pthread_mutex_lock(&w->ocsp_lock);
	j->next = w->ocsp_done;
	w->ocsp_done = j;
	pthread_mutex_unlock(&w->ocsp_lock);
	if (eventfd_write(w->ocsp_fd, 1) == -1)
		log_warn("eventfd_write (ocsp)");
}

/* On the worker: the answers that came back. */
void
worker_ocsp_answers(struct worker *w)
{
	struct ocsp_job *j, *next;
	struct conn *c;
	eventfd_t v;

	(void)eventfd_read(w->ocsp_fd, &v);
	pthread_mutex_lock(&w->ocsp_lock);
	j = w->ocsp_done;
	w->ocsp_done = NULL;
	pthread_mutex_unlock(&w->ocsp_lock);
	for (; j != NULL; j = next) {
		next = j->next;
		if (!atomic_load(&j->cancelled)) {
			c = j->conn;
			c->ocsp = NULL;
			c->deadline = now_ms() +
			    (uint64_t)c->l->cfg->handshake_timeout * 1000;
			if (conn_ocsp_apply(c, j->status, false,
			    j->detail) == 0) {
				conn_verified(c);
				if (!c->dead)
					conn_update_events(c);
			}
			ocsp_job_release(j);	/* the connection's */
		}
		ocsp_job_release(j);		/* the pool's */
	}
}

void
conn_handshake_done(struct conn *c)
{
	struct logfmt lf;

	tls_conn_take_identity(c->tls, &c->s.identity);
	if (tls_conn_issuer_sha256(c->tls) != NULL) {
		memcpy(c->issuer_sha256, tls_conn_issuer_sha256(c->tls),
		    IDENTITY_SHA256_LEN);
		c->has_issuer = true;
	}
	tls_conn_take_leaf(c->tls, &c->leaf_der, &c->leaf_len);
	if (tls_conn_crl_warning(c->tls) != NULL) {
		logfmt_init(&lf, "crl");
		logfmt_str(&lf, "result", "expired");
		logfmt_str(&lf, "listener", c->l->cfg->name);
		logfmt_str(&lf, "client", c->s.client);
		logfmt_bytes(&lf, "subject", c->s.identity.subject.rfc4514.data,
		    c->s.identity.subject.rfc4514.len);
		logfmt_str(&lf, "detail", tls_conn_crl_warning(c->tls));
		logfmt_emit(&lf, LOGLVL_WARNING);
	}
	snprintf(c->s.tls_version, sizeof(c->s.tls_version), "%s",
	    tls_conn_version(c->tls));
	snprintf(c->s.cipher, sizeof(c->s.cipher), "%s",
	    tls_conn_cipher(c->tls));
	tls_conn_take_issuer(c->tls, &c->issuer_der, &c->issuer_len);
	if (c->l->cfg->ocsp_mode != OCSP_OFF && conn_ocsp_ask(c) != 0)
		return;			/* waiting for OCSP, or refused */
	conn_verified(c);
}

/*
 * Everything after the certificate checks: mapping, the audit line,
 * publishing the session and connecting upstream.
 */
static void
conn_verified(struct conn *c)
{
	struct mtlsd *d = c->w->d;
	struct mtls_buf names, rules;
	struct logfmt lf;
	size_t i;
	int rc;

	if (conn_map(c) != 0)
		return;
	session_new_id(c->s.id);
	atomic_fetch_add(&d->stats.handshakes_ok, 1);

	logfmt_init(&lf, "handshake");
	logfmt_str(&lf, "result", "ok");
	logfmt_str(&lf, "listener", c->l->cfg->name);
	logfmt_str(&lf, "client", c->s.client);
	logfmt_str(&lf, "id", c->s.id);
	logfmt_identity(&lf, &c->s.identity);
	buf_init(&names, 0);
	buf_init(&rules, 0);
	for (i = 0; i < c->s.naccounts; i++) {
		buf_printf(&names, "%s%s", i ? "," : "",
		    c->s.accounts[i].name);
		buf_printf(&rules, "%s%s", i ? "," : "",
		    c->s.accounts[i].rule->name);
	}
	if (c->s.naccounts > 0) {
		logfmt_str(&lf, "accounts", names.data);
		logfmt_str(&lf, "rules", rules.data);
	}
	buf_free(&names);
	buf_free(&rules);
	logfmt_str(&lf, "tls_version", c->s.tls_version);
	logfmt_str(&lf, "cipher", c->s.cipher);
	logfmt_emit(&lf, LOGLVL_INFO);

	if (c->l->cfg->responder) {
		/* mtlsd answers itself (responder.c): no upstream. */
		c->state = CONN_HTTP;
		c->deadline = now_ms() +
		    (uint64_t)c->l->cfg->handshake_timeout * 1000;
		(void)responder_pump(c);	/* a request may be here already */
		return;
	}
	if ((rc = conn_connect_upstream(c)) != 0) {
		atomic_fetch_add(&d->stats.upstream_failures, 1);
		logfmt_init(&lf, "upstream");
		logfmt_str(&lf, "result", "fail");
		logfmt_str(&lf, "reason", "connect_failed");
		logfmt_str(&lf, "listener", c->l->cfg->name);
		logfmt_str(&lf, "client", c->s.client);
		logfmt_str(&lf, "upstream", c->l->cfg->upstream);
		logfmt_str(&lf, "error", strerror(-rc));
		logfmt_emit(&lf, LOGLVL_WARNING);
		c->state = CONN_CONNECTING;	/* so close sends close_notify */
		conn_close(c, "upstream_failed");
		return;
	}
	c->state = CONN_CONNECTING;
	c->deadline = now_ms() + (uint64_t)c->l->cfg->handshake_timeout * 1000;
}

/*
 * After a reload or a CRL change: does this session still stand under the
 * new generation?  A revoked certificate closes it; new mapping rules
 * replace its accounts (or close it when it now maps to nothing and the
 * listener requires a mapping).  Then it moves to the new generation.
 */
void
conn_recheck(struct conn *c, struct generation *g)
{
	struct mtlsd *d = c->w->d;
	struct listener *nl = &g->listeners[c->sock - d->socks];
	struct mapping_account *old;
	struct account_policy pol;
	struct mapping_result res;
	struct logfmt lf;
	bool changed;
	size_t i;

	if (c->leaf_der != NULL &&
	    tls_ctx_revoked(nl->tls, c->leaf_der, c->leaf_len) > 0) {
		atomic_fetch_add(&d->stats.revoked_live, 1);
		conn_close(c, "revoked");
		return;
	}
	memset(&res, 0, sizeof(res));
	if (nl->cfg->mapping_set != NULL) {
		memset(&pol, 0, sizeof(pol));
		pol.min_uid = g->conf->cfg.accounts_min_uid;
		pol.allow_root = g->conf->cfg.accounts_allow_root;
		if (mapping_evaluate(nl->cfg->mapping_set, &c->s.identity,
		    c->has_issuer ? c->issuer_sha256 : NULL, &pol, &res) != 0)
			memset(&res, 0, sizeof(res));
	}
	if (res.naccounts == 0 && nl->cfg->require_mapping) {
		mapping_result_free(&res);
		conn_close(c, "no_mapping");
		return;
	}
	changed = res.naccounts != c->s.naccounts;
	for (i = 0; !changed && i < res.naccounts; i++)
		changed = strcmp(res.accounts[i].name,
		    c->s.accounts[i].name) != 0;
	old = session_update(d->sessions, &c->s, nl->cfg->name, res.accounts,
	    res.naccounts);
	res.accounts = NULL;
	res.naccounts = 0;
	mapping_result_free(&res);
	free(old);

	if (changed) {
		struct mtls_buf names;

		logfmt_init(&lf, "session_update");
		logfmt_str(&lf, "id", c->s.id);
		logfmt_str(&lf, "listener", nl->cfg->name);
		logfmt_str(&lf, "client", c->s.client);
		logfmt_int(&lf, "generation", (long long)g->serial);
		buf_init(&names, 0);
		for (i = 0; i < c->s.naccounts; i++)
			buf_printf(&names, "%s%s", i ? "," : "",
			    c->s.accounts[i].name);
		logfmt_str(&lf, "accounts", names.data ? names.data : "");
		buf_free(&names);
		logfmt_emit(&lf, LOGLVL_INFO);
	}

	atomic_fetch_add(&g->refs, 1);
	gen_release(c->g);
	c->g = g;
	c->l = nl;
}


/* No OCSP answer in time: as if the responder could not be reached. */
void
conn_ocsp_timeout(struct conn *c)
{
	atomic_store(&c->ocsp->cancelled, true);
	ocsp_job_release(c->ocsp);
	c->ocsp = NULL;
	c->deadline = now_ms() + (uint64_t)c->l->cfg->handshake_timeout * 1000;
	if (conn_ocsp_apply(c, TLS_OCSP_UNAVAILABLE, false,
	    "no answer within ocsp.timeout") == 0) {
		conn_verified(c);
		if (!c->dead)
			conn_update_events(c);
	}
}
