/*
 * relay.c: the worker threads.  Each runs one epoll loop that accepts on
 * every listener, drives non-blocking TLS handshakes, connects to the
 * upstream and moves bytes both ways with backpressure and half-close.
 * No thread or process per connection.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"

#define RELAY_BUF		(16 * 1024)	/* one TLS record */
#define RELAY_MAX_EVENTS	64
#define RELAY_ACCEPT_BURST	32
#define RELAY_TICK_MS		250

enum src_kind { SRC_LISTENER, SRC_CLIENT, SRC_UPSTREAM, SRC_STOP, SRC_OCSP };

/* What an epoll event points at. */
struct ev_src {
	enum src_kind	 kind;
	void		*ptr;
	size_t		 index;		/* SRC_LISTENER: listen socket */
};

enum conn_state { CONN_HANDSHAKE, CONN_OCSP, CONN_CONNECTING, CONN_RELAY };

struct worker;

struct conn {
	struct worker	*w;
	struct generation *g;			/* held: c->l points into it */
	struct listener	*l;
	struct listen_socket *sock;
	enum conn_state	 state;
	int		 cfd, ufd;
	struct ev_src	 csrc, usrc;
	uint32_t	 cev, uev;		/* registered epoll masks */
	struct tls_conn	*tls;
	uint64_t	 deadline;		/* ms; handshake or idle */
	uint64_t	 opened;		/* ms, when relaying began */
	bool		 in_table;
	bool		 dead;			/* closed; freed after the batch */
	bool		 client_eof;		/* no more data from client */
	bool		 upstream_eof;		/* no more data from upstream */
	bool		 upstream_shut;		/* sent FIN to upstream */
	bool		 tls_shut;		/* sent close_notify */
	/* what each blocked operation waits for, recomputed each run */
	bool		 c_want_in, c_want_out, u_want_in, u_want_out;
	size_t		 c2u_len, c2u_off, u2c_len;
	struct session	 s;
	struct ocsp_job	*ocsp;			/* pending OCSP question */
	unsigned char	*issuer_der;		/* for OCSP requests */
	size_t		 issuer_len;
	unsigned char	*leaf_der;		/* for revocation re-checks */
	size_t		 leaf_len;
	bool		 has_issuer;
	unsigned char	 issuer_sha256[IDENTITY_SHA256_LEN];
	struct conn	*prev, *next;
	unsigned char	 c2u[RELAY_BUF];
	unsigned char	 u2c[RELAY_BUF];
};

struct worker {
	struct mtlsd	*d;
	pthread_t	 thread;
	int		 epfd;
	int		 index;
	bool		 listening;
	bool		 stopping;
	uint64_t	 relisten_at;		/* after EMFILE */
	struct ev_src	*lsrc;			/* one per listener */
	struct ev_src	 stopsrc;
	struct conn	*conns;			/* all live connections */
	struct conn	*dead;			/* closed in this epoll batch */
	int		 ocsp_fd;		/* eventfd: OCSP answers back */
	uint64_t	 ocsp_revocations_seen;
	struct ev_src	 ocspsrc;
	pthread_mutex_t	 ocsp_lock;
	struct ocsp_job	*ocsp_done;		/* answered, not yet taken */
};

static struct worker *workers;

static void	conn_close(struct conn *c, const char *reason);

static void
conn_log_refusal(struct conn *c, const char *reason, const char *detail)
{
	struct logfmt lf;

	logfmt_init(&lf, "handshake");
	logfmt_str(&lf, "result", "fail");
	logfmt_str(&lf, "reason", reason);
	logfmt_str(&lf, "listener", c->l->cfg->name);
	logfmt_str(&lf, "client", c->s.client);
	if (detail != NULL && detail[0] != '\0')
		logfmt_str(&lf, "detail", detail);
	logfmt_emit(&lf, LOGLVL_NOTICE);
}

static int
ep_set(struct worker *w, int fd, struct ev_src *src, uint32_t *cur,
    uint32_t want)
{
	struct epoll_event ev;
	int op;

	if (*cur == want)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = src;
	op = want == 0 ? EPOLL_CTL_DEL : (*cur == 0 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD);
	if (epoll_ctl(w->epfd, op, fd, &ev) == -1) {
		log_warn("epoll_ctl");
		return MTLS_ERR_SYSTEM;
	}
	*cur = want;
	return 0;
}

static void
conn_unlink(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

static void
conn_free(struct conn *c)
{
	struct mtlsd *d = c->w->d;

	conn_unlink(c);
	if (c->cfd != -1) {
		ep_set(c->w, c->cfd, &c->csrc, &c->cev, 0);
		close(c->cfd);
	}
	tls_conn_free(c->tls);
	c->tls = NULL;
	identity_free(&c->s.identity);
	free(c->s.accounts);
	c->s.accounts = NULL;
	free(c->leaf_der);
	c->leaf_der = NULL;
	free(c->issuer_der);
	c->issuer_der = NULL;
	if (c->ocsp != NULL) {
		/* Its answer, if it still comes, finds nobody waiting. */
		atomic_store(&c->ocsp->cancelled, true);
		ocsp_job_release(c->ocsp);
		c->ocsp = NULL;
	}
	atomic_fetch_sub(&c->sock->active, 1);
	gen_release(c->g);
	c->g = NULL;
	atomic_fetch_sub(&d->stats.connections_active, 1);
	/*
	 * Later events of the same epoll batch may still point at c: keep
	 * the memory until the batch is done.
	 */
	c->dead = true;
	c->next = c->w->dead;
	c->w->dead = c;
}

static void
worker_reap(struct worker *w)
{
	struct conn *c;

	while ((c = w->dead) != NULL) {
		w->dead = c->next;
		free(c);
	}
}

/*
 * Close both sides.  The session leaves the table before the upstream
 * socket is closed (DESIGN 4.2).
 */
static void
conn_close(struct conn *c, const char *reason)
{
	struct mtlsd *d = c->w->d;
	struct logfmt lf;

	if (c->in_table) {
		session_remove(d->sessions, &c->s);
		c->in_table = false;
		atomic_fetch_add(&d->stats.sessions_closed, 1);
		logfmt_init(&lf, "session_close");
		logfmt_str(&lf, "id", c->s.id);
		logfmt_str(&lf, "listener", c->l->cfg->name);
		logfmt_str(&lf, "client", c->s.client);
		logfmt_bytes(&lf, "subject", c->s.identity.subject.rfc4514.data,
		    c->s.identity.subject.rfc4514.len);
		logfmt_str(&lf, "serial", c->s.identity.serial);
		logfmt_str(&lf, "reason", reason);
		logfmt_int(&lf, "bytes_in", (long long)c->s.bytes_in);
		logfmt_int(&lf, "bytes_out", (long long)c->s.bytes_out);
		logfmt_int(&lf, "duration_ms", c->opened ?
		    (long long)(now_ms() - c->opened) : 0);
		logfmt_emit(&lf, LOGLVL_INFO);
	}
	if (c->ufd != -1) {
		ep_set(c->w, c->ufd, &c->usrc, &c->uev, 0);
		close(c->ufd);
		c->ufd = -1;
	}
	/* Best effort: a clean close_notify if the socket takes it now. */
	if (c->state != CONN_HANDSHAKE && !c->tls_shut)
		(void)tls_shutdown(c->tls);
	conn_free(c);
}

static void
conn_refuse(struct conn *c, enum tls_reason reason, const char *detail)
{
	atomic_fetch_add(&c->w->d->stats.rejected[reason], 1);
	conn_log_refusal(c, tls_reason_name(reason), detail);
	conn_free(c);
}

/*
 * Name our end of the upstream connection, publish the session, and only
 * then connect: the backend can accept (and ask mtlsd about the
 * connection) the moment connect() starts, so the session must already be
 * in the table.  Returns 0 or -errno; on failure the caller's conn_close
 * undoes what was done.
 */
static int
conn_connect_upstream(struct conn *c)
{
	const struct listener_config *lc = c->l->cfg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss), cl;
	struct ucred cred;
	struct stat st;
	bool is_unix = lc->upstream_addr.ss.ss_family == AF_UNIX;
	int fd, one = 1;

	fd = socket(lc->upstream_addr.ss.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	c->ufd = fd;
	if (is_unix) {
		/* Unnamed: name our end by its inode, as /proc/PID/fd does. */
		if (fstat(fd, &st) == -1)
			return -errno;
		snprintf(c->s.upstream_local, sizeof(c->s.upstream_local),
		    "unix:socket:[%lu]", (unsigned long)st.st_ino);
	} else {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* The source address the kernel picks, with a fresh port. */
		if (bind(fd, (const struct sockaddr *)&c->l->upstream_src,
		    c->l->upstream_src_len) == -1 ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
			return -errno;
		if (netaddr_format((struct sockaddr *)&ss, sl,
		    c->s.upstream_local, sizeof(c->s.upstream_local)) != 0)
			return -EINVAL;
	}
	netaddr_format((const struct sockaddr *)&lc->upstream_addr.ss,
	    lc->upstream_addr.len, c->s.upstream, sizeof(c->s.upstream));
	c->s.since = time(NULL);
	session_add(c->w->d->sessions, &c->s);
	c->in_table = true;

	if (connect(fd, (const struct sockaddr *)&lc->upstream_addr.ss,
	    lc->upstream_addr.len) == -1 && errno != EINPROGRESS)
		return -errno;
	if (is_unix) {
		/* A unix connect completes at once: the kernel names the
		 * backend's uid, the owner of the other end (query access). */
		cl = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == -1)
			return -errno;
		session_set_backend_uid(c->w->d->sessions, &c->s, cred.uid);
	}
	return 0;
}

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

static void
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
static void	conn_update_events(struct conn *c);

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
static void
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

static void
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

static int
conn_connected(struct conn *c)
{
	struct logfmt lf;
	socklen_t sl = sizeof(int);
	int err = 0;

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
		err = errno;
	if (err != 0) {
		atomic_fetch_add(&c->w->d->stats.upstream_failures, 1);
		logfmt_init(&lf, "upstream");
		logfmt_str(&lf, "result", "fail");
		logfmt_str(&lf, "reason", err == ECONNREFUSED ?
		    "connect_refused" : "connect_failed");
		logfmt_str(&lf, "listener", c->l->cfg->name);
		logfmt_str(&lf, "client", c->s.client);
		logfmt_str(&lf, "upstream", c->l->cfg->upstream);
		logfmt_str(&lf, "error", strerror(err));
		logfmt_emit(&lf, LOGLVL_WARNING);
		conn_close(c, "upstream_failed");
		return -1;
	}
	c->state = CONN_RELAY;
	c->opened = now_ms();
	c->deadline = c->opened + (uint64_t)c->l->cfg->idle_timeout * 1000;
	logfmt_init(&lf, "session_open");
	logfmt_str(&lf, "id", c->s.id);
	logfmt_str(&lf, "listener", c->l->cfg->name);
	logfmt_str(&lf, "client", c->s.client);
	logfmt_str(&lf, "upstream", c->s.upstream);
	logfmt_str(&lf, "upstream_local", c->s.upstream_local);
	logfmt_bytes(&lf, "subject", c->s.identity.subject.rfc4514.data,
	    c->s.identity.subject.rfc4514.len);
	logfmt_str(&lf, "serial", c->s.identity.serial);
	logfmt_emit(&lf, LOGLVL_INFO);
	return 0;
}

/* Note which way a TLS operation that returned AGAIN is waiting. */
static void
want_tls(struct conn *c)
{
	if (tls_conn_wants_write(c->tls))
		c->c_want_out = true;
	else
		c->c_want_in = true;
}

/*
 * Move bytes until nothing more can move.  Returns 0 while the connection
 * lives, -1 once it has been closed and freed.
 */
static int
conn_pump(struct conn *c)
{
	bool progress;
	ssize_t n;
	int rc;

	do {
		progress = false;
		c->c_want_in = c->c_want_out = false;
		c->u_want_in = c->u_want_out = false;

		/* client -> upstream */
		if (!c->client_eof && c->c2u_len == 0) {
			rc = tls_read(c->tls, c->c2u, sizeof(c->c2u));
			if (rc > 0) {
				c->c2u_len = (size_t)rc;
				c->c2u_off = 0;
				progress = true;
			} else if (rc == 0 || rc == MTLS_ERR_CLOSED) {
				c->client_eof = true;
				progress = true;
			} else if (rc == MTLS_ERR_AGAIN) {
				want_tls(c);
			} else {
				conn_close(c, "tls_error");
				return -1;
			}
		}
		if (c->c2u_off < c->c2u_len) {
			n = send(c->ufd, c->c2u + c->c2u_off,
			    c->c2u_len - c->c2u_off, MSG_NOSIGNAL);
			if (n > 0) {
				c->c2u_off += (size_t)n;
				atomic_fetch_add(&c->s.bytes_in,
				    (unsigned long long)n);
				if (c->c2u_off == c->c2u_len)
					c->c2u_len = c->c2u_off = 0;
				progress = true;
			} else if (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK)) {
				c->u_want_out = true;
			} else {
				conn_close(c, "upstream_error");
				return -1;
			}
		}
		if (c->client_eof && c->c2u_len == 0 && !c->upstream_shut) {
			/* Half-close passes through. */
			shutdown(c->ufd, SHUT_WR);
			c->upstream_shut = true;
			progress = true;
		}

		/* upstream -> client */
		if (!c->upstream_eof && c->u2c_len == 0) {
			n = recv(c->ufd, c->u2c, sizeof(c->u2c), 0);
			if (n > 0) {
				c->u2c_len = (size_t)n;
				progress = true;
			} else if (n == 0) {
				c->upstream_eof = true;
				progress = true;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->u_want_in = true;
			} else {
				conn_close(c, "upstream_error");
				return -1;
			}
		}
		if (c->u2c_len > 0) {
			rc = tls_write(c->tls, c->u2c, c->u2c_len);
			if (rc > 0) {
				atomic_fetch_add(&c->s.bytes_out,
				    (unsigned long long)c->u2c_len);
				c->u2c_len = 0;
				progress = true;
			} else if (rc == MTLS_ERR_AGAIN) {
				want_tls(c);
			} else {
				/* The client is gone: nothing more to deliver. */
				conn_close(c, "client_closed");
				return -1;
			}
		}
		if (c->upstream_eof && c->u2c_len == 0 && !c->tls_shut) {
			rc = tls_shutdown(c->tls);
			if (rc == 0) {
				c->tls_shut = true;
				progress = true;
			} else if (rc == MTLS_ERR_AGAIN) {
				want_tls(c);
			} else {
				c->tls_shut = true;
			}
		}
		if (c->client_eof && c->upstream_eof && c->c2u_len == 0 &&
		    c->u2c_len == 0 && c->tls_shut) {
			conn_close(c, "closed");
			return -1;
		}
		if (progress)
			c->deadline = now_ms() +
			    (uint64_t)c->l->cfg->idle_timeout * 1000;
	} while (progress);
	return 0;
}

static void
conn_update_events(struct conn *c)
{
	uint32_t cw = 0, uw = 0;

	if (c->state == CONN_HANDSHAKE) {
		cw = tls_conn_wants_write(c->tls) ? EPOLLOUT : EPOLLIN;
	} else if (c->state == CONN_OCSP) {
		cw = 0;
	} else if (c->state == CONN_CONNECTING) {
		uw = EPOLLOUT;
	} else {
		cw = (c->c_want_in ? EPOLLIN : 0) |
		    (c->c_want_out ? EPOLLOUT : 0);
		uw = (c->u_want_in ? EPOLLIN : 0) |
		    (c->u_want_out ? EPOLLOUT : 0);
	}
	if (ep_set(c->w, c->cfd, &c->csrc, &c->cev, cw) != 0 ||
	    (c->ufd != -1 &&
	    ep_set(c->w, c->ufd, &c->usrc, &c->uev, uw) != 0))
		conn_close(c, "internal_error");
}

static void
conn_run(struct conn *c)
{
	int rc;

	if (c->state == CONN_HANDSHAKE) {
		rc = tls_handshake(c->tls);
		if (rc == MTLS_ERR_AGAIN) {
			conn_update_events(c);
			return;
		}
		if (rc != 0) {
			conn_refuse(c, tls_conn_reason(c->tls),
			    tls_conn_detail(c->tls));
			return;
		}
		conn_handshake_done(c);
		/* conn_handshake_done closes c itself when connect fails */
		if (c->dead)
			return;
		conn_update_events(c);
		return;
	}
	if (c->state == CONN_CONNECTING || c->state == CONN_OCSP)
		return;
	if (conn_pump(c) == 0)
		conn_update_events(c);
}

static void
worker_accept(struct worker *w, size_t idx)
{
	struct mtlsd *d = w->d;
	struct listen_socket *sock = &d->socks[idx];
	struct generation *g;
	struct listener *l;
	struct sockaddr_storage ss;
	struct conn *c;
	struct logfmt lf;
	char addr[NETADDR_TEXT_MAX];
	socklen_t sl;
	int fd, i, one = 1;

	for (i = 0; i < RELAY_ACCEPT_BURST; i++) {
		sl = sizeof(ss);
		fd = accept4(sock->fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Stop accepting for a moment, keep serving. */
				atomic_fetch_add(&d->stats.rejected_limit, 1);
				log_warn("listen %s: accept", sock->text);
				w->relisten_at = now_ms() + 1000;
				w->listening = false;
			}
			return;
		}
		atomic_fetch_add(&d->stats.accepted, 1);
		if (netaddr_format((struct sockaddr *)&ss, sl, addr,
		    sizeof(addr)) != 0)
			snprintf(addr, sizeof(addr), "unknown");
		/* The generation current now serves this connection. */
		g = gen_acquire(d);
		l = &g->listeners[idx];
		if (atomic_fetch_add(&sock->active, 1) >=
		    l->cfg->max_connections) {
			atomic_fetch_sub(&sock->active, 1);
			atomic_fetch_add(&d->stats.rejected_limit, 1);
			logfmt_init(&lf, "limit");
			logfmt_str(&lf, "reason", "max_connections");
			logfmt_str(&lf, "listener", l->cfg->name);
			logfmt_str(&lf, "client", addr);
			logfmt_int(&lf, "max_connections",
			    l->cfg->max_connections);
			logfmt_emit(&lf, LOGLVL_WARNING);
			gen_release(g);
			close(fd);
			continue;
		}
		atomic_fetch_add(&d->stats.connections_active, 1);
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->tls = tls_conn_new(l->tls, fd)) == NULL) {
			log_warnx("listener %s: out of memory for %s",
			    l->cfg->name, addr);
			free(c);
			close(fd);
			gen_release(g);
			atomic_fetch_sub(&sock->active, 1);
			atomic_fetch_sub(&d->stats.connections_active, 1);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->w = w;
		c->g = g;
		c->l = l;
		c->sock = sock;
		c->cfd = fd;
		c->ufd = -1;
		c->csrc.kind = SRC_CLIENT;
		c->csrc.ptr = c;
		c->usrc.kind = SRC_UPSTREAM;
		c->usrc.ptr = c;
		c->s.listener = l->cfg->name;
		memcpy(c->s.client, addr, sizeof(addr));
		c->deadline = now_ms() +
		    (uint64_t)l->cfg->handshake_timeout * 1000;
		c->next = w->conns;
		if (w->conns != NULL)
			w->conns->prev = c;
		w->conns = c;
		conn_run(c);
	}
}

static void
worker_listen(struct worker *w, bool on)
{
	struct epoll_event ev;
	size_t i;

	for (i = 0; i < w->d->n_socks; i++) {
		memset(&ev, 0, sizeof(ev));
		/* EPOLLEXCLUSIVE: one worker wakes per new connection. */
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.ptr = &w->lsrc[i];
		if (epoll_ctl(w->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
		    w->d->socks[i].fd, on ? &ev : NULL) == -1)
			log_warn("epoll_ctl listener");
	}
	w->listening = on;
}

/*
 * After a reload or a CRL change: does this session still stand under the
 * new generation?  A revoked certificate closes it; new mapping rules
 * replace its accounts (or close it when it now maps to nothing and the
 * listener requires a mapping).  Then it moves to the new generation.
 */
static void
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

static void
worker_timeouts(struct worker *w)
{
	struct conn *c, *next;
	struct generation *g = NULL;
	uint64_t now = now_ms(), serial = atomic_load(&w->d->gen_serial),
	    revocations = atomic_load(&w->d->ocsp_revocations);
	bool ocsp_news = revocations != w->ocsp_revocations_seen;
	enum tls_ocsp st;
	time_t wall = time(NULL);

	w->ocsp_revocations_seen = revocations;
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		/* A responder said "revoked" about some certificate: is it
		 * one of ours? */
		if (ocsp_news && (c->state == CONN_RELAY ||
		    c->state == CONN_CONNECTING) &&
		    c->l->cfg->ocsp_mode != OCSP_OFF &&
		    ocsp_cache_get(c->l->cfg->name, c->s.identity.cert_sha256,
		    &st) && st == TLS_OCSP_REVOKED) {
			atomic_fetch_add(&w->d->stats.revoked_live, 1);
			conn_close(c, "revoked");
			continue;
		}
		if (c->state != CONN_HANDSHAKE) {
			/* Good through its not_after second (RFC 5280
			 * 4.1.2.5), as the handshake check counts it. */
			if (wall > c->s.identity.not_after) {
				conn_close(c, "certificate_expired");
				continue;
			}
			if (c->state != CONN_OCSP && c->g->serial != serial) {
				if (g == NULL)
					g = gen_acquire(w->d);
				conn_recheck(c, g);
				if (c->dead)
					continue;
			}
		}
		if (now < c->deadline)
			continue;
		switch (c->state) {
		case CONN_HANDSHAKE:
			conn_refuse(c, TLS_REASON_TIMEOUT,
			    "no complete handshake within handshake_timeout");
			break;
		case CONN_OCSP:
			/* Not answered in time: as if unreachable. */
			atomic_store(&c->ocsp->cancelled, true);
			ocsp_job_release(c->ocsp);
			c->ocsp = NULL;
			c->deadline = now + (uint64_t)c->l->cfg->handshake_timeout *
			    1000;
			if (conn_ocsp_apply(c, TLS_OCSP_UNAVAILABLE, false,
			    "no answer within ocsp.timeout") == 0) {
				conn_verified(c);
				if (!c->dead)
					conn_update_events(c);
			}
			break;
		case CONN_CONNECTING:
			atomic_fetch_add(&w->d->stats.upstream_failures, 1);
			log_warnx("event=upstream result=fail reason=timeout "
			    "listener=%s client=%s", c->l->cfg->name,
			    c->s.client);
			conn_close(c, "upstream_timeout");
			break;
		case CONN_RELAY:
			conn_close(c, "idle_timeout");
			break;
		}
	}
	gen_release(g);
	if (!w->listening && !w->stopping && now >= w->relisten_at)
		worker_listen(w, true);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[RELAY_MAX_EVENTS];
	struct ev_src *src;
	struct conn *c;
	uint64_t last_tick = 0;
	int n, i;

	while (!w->stopping) {
		n = epoll_wait(w->epfd, evs, RELAY_MAX_EVENTS, RELAY_TICK_MS);
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait");
		for (i = 0; i < n; i++) {
			src = evs[i].data.ptr;
			switch (src->kind) {
			case SRC_STOP:
				w->stopping = true;
				break;
			case SRC_OCSP:
				worker_ocsp_answers(w);
				break;
			case SRC_LISTENER:
				if (w->listening)
					worker_accept(w, src->index);
				break;
			case SRC_CLIENT:
			case SRC_UPSTREAM:
				c = src->ptr;
				if (c->dead)
					break;
				if (c->state == CONN_CONNECTING &&
				    src->kind == SRC_UPSTREAM &&
				    conn_connected(c) != 0)
					break;
				conn_run(c);
				break;
			}
		}
		worker_reap(w);
		if (now_ms() - last_tick >= RELAY_TICK_MS) {
			worker_timeouts(w);
			last_tick = now_ms();
		}
	}
	/* Stopping: no new connections; close every session cleanly. */
	if (w->listening)
		worker_listen(w, false);
	while (w->conns != NULL) {
		c = w->conns;
		if (c->state == CONN_HANDSHAKE || c->state == CONN_OCSP)
			conn_free(c);
		else
			conn_close(c, "shutdown");
	}
	worker_reap(w);
	tls_thread_cleanup();
	return NULL;
}

int
relay_start(struct mtlsd *d)
{
	struct epoll_event ev;
	struct worker *w;
	size_t j;
	int i;

	if ((workers = calloc((size_t)d->workers, sizeof(*workers))) == NULL)
		return MTLS_ERR_NOMEM;
	for (i = 0; i < d->workers; i++) {
		w = &workers[i];
		w->d = d;
		w->index = i;
		if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
			return MTLS_ERR_SYSTEM;
		if ((w->lsrc = calloc(d->n_socks, sizeof(*w->lsrc))) == NULL)
			return MTLS_ERR_NOMEM;
		for (j = 0; j < d->n_socks; j++) {
			w->lsrc[j].kind = SRC_LISTENER;
			w->lsrc[j].ptr = &d->socks[j];
			w->lsrc[j].index = j;
		}
		if ((w->ocsp_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) ==
		    -1)
			return MTLS_ERR_SYSTEM;
		pthread_mutex_init(&w->ocsp_lock, NULL);
		w->ocspsrc.kind = SRC_OCSP;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &w->ocspsrc;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->ocsp_fd, &ev) == -1)
			return MTLS_ERR_SYSTEM;
		w->stopsrc.kind = SRC_STOP;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &w->stopsrc;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, d->stop_fd, &ev) == -1)
			return MTLS_ERR_SYSTEM;
		worker_listen(w, true);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			return MTLS_ERR_SYSTEM;
	}
	return 0;
}

void
relay_join(struct mtlsd *d)
{
	int i;

	for (i = 0; i < d->workers; i++)
		pthread_join(workers[i].thread, NULL);
}

void
relay_free(struct mtlsd *d)
{
	struct ocsp_job *j;
	int i;

	/* After ocsp_join: answers that came too late are dropped here. */
	for (i = 0; i < d->workers; i++) {
		while ((j = workers[i].ocsp_done) != NULL) {
			workers[i].ocsp_done = j->next;
			ocsp_job_release(j);
		}
		close(workers[i].ocsp_fd);
		close(workers[i].epfd);
		free(workers[i].lsrc);
	}
	free(workers);
	workers = NULL;
}
