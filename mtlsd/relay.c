/*
 * relay.c: the worker threads.  Each runs one epoll loop that accepts on
 * every listener, drives non-blocking TLS handshakes, connects to the
 * upstream and moves bytes both ways with backpressure and half-close.
 * No thread or process per connection.  What decides whether a verified
 * connection becomes a session (OCSP, mapping, re-checks) is admit.c.
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
#include "proxyproto.h"
#include "relay.h"

static struct worker *workers;

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

void
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
	buf_free(&c->pp);
	buf_free(&c->resp);
	conn_buf_give(c, &c->c2u);
	conn_buf_give(c, &c->u2c);
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

int
conn_buf_take(struct conn *c, unsigned char **bufp)
{
	struct worker *w = c->w;
	void *buf;

	if (*bufp != NULL)
		return 0;
	if ((buf = w->buf_pool) != NULL) {
		memcpy(&w->buf_pool, buf, sizeof(void *));
		w->buf_pooled--;
	} else if ((buf = malloc(RELAY_BUF)) == NULL) {
		return -1;
	}
	*bufp = buf;
	return 0;
}

void
conn_buf_give(struct conn *c, unsigned char **bufp)
{
	struct worker *w = c->w;
	void *buf = *bufp;

	if (buf == NULL)
		return;
	*bufp = NULL;
	if (w->buf_pooled >= RELAY_POOL_MAX) {
		free(buf);
		return;
	}
	memcpy(buf, &w->buf_pool, sizeof(void *));
	w->buf_pool = buf;
	w->buf_pooled++;
}

static void
worker_pool_free(struct worker *w)
{
	void *buf;

	while ((buf = w->buf_pool) != NULL) {
		memcpy(&w->buf_pool, buf, sizeof(void *));
		free(buf);
	}
	w->buf_pooled = 0;
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
void
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
 * One attempt at a TCP upstream from the next source port (srcport.c):
 * bind, publish the session under the address pair, connect.  -EAGAIN
 * when that port or address pair is taken, so another port should be
 * tried; the session is withdrawn again then.
 */
static int
upstream_tcp_try(struct conn *c)
{
	const struct listener_config *lc = c->l->cfg;
	struct sockaddr_storage src = c->l->upstream_src;
	uint16_t port;
	int fd, one = 1, err;

	if ((port = srcports_next(&c->w->d->srcports,
	    &c->w->srcport_cursor)) == 0)
		return -EADDRNOTAVAIL;
	if (src.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&src)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&src)->sin_port = htons(port);
	fd = socket(lc->upstream_addr.ss.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	c->ufd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Lets bind take a port whose old connections are in TIME_WAIT;
	 * connect still refuses a pair that is in use. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&src, c->l->upstream_src_len)
	    == -1) {
		err = errno;
		goto fail;
	}
	if (netaddr_format((struct sockaddr *)&src, c->l->upstream_src_len,
	    c->s.upstream_local, sizeof(c->s.upstream_local)) != 0) {
		err = EINVAL;
		goto fail;
	}
	c->s.since = time(NULL);
	session_add(c->w->d->sessions, &c->s);
	c->in_table = true;
	if (connect(fd, (const struct sockaddr *)&lc->upstream_addr.ss,
	    lc->upstream_addr.len) == -1 && errno != EINPROGRESS) {
		err = errno;
		goto fail;
	}
	return 0;
fail:
	if (c->in_table) {
		session_remove(c->w->d->sessions, &c->s);
		c->in_table = false;
	}
	close(fd);
	c->ufd = -1;
	return err == EADDRINUSE || err == EADDRNOTAVAIL ? -EAGAIN : -err;
}

/*
 * Name our end of the upstream connection, publish the session, and only
 * then connect: the backend can accept (and ask mtlsd about the
 * connection) the moment connect() starts, so the session must already be
 * in the table.  Returns 0 or -errno; on failure the caller's conn_close
 * undoes what was done.
 */
int
conn_connect_upstream(struct conn *c)
{
	const struct listener_config *lc = c->l->cfg;
	struct ucred cred;
	struct stat st;
	socklen_t cl;
	int fd, rc, tries;

	netaddr_format((const struct sockaddr *)&lc->upstream_addr.ss,
	    lc->upstream_addr.len, c->s.upstream, sizeof(c->s.upstream));
	if (lc->upstream_addr.ss.ss_family != AF_UNIX) {
		for (tries = 0; tries < SRCPORT_TRIES; tries++)
			if ((rc = upstream_tcp_try(c)) != -EAGAIN)
				return rc;
		return -EADDRNOTAVAIL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	c->ufd = fd;
	/* Unnamed: name our end by its inode, as /proc/PID/fd does. */
	if (fstat(fd, &st) == -1)
		return -errno;
	snprintf(c->s.upstream_local, sizeof(c->s.upstream_local),
	    "unix:socket:[%lu]", (unsigned long)st.st_ino);
	c->s.since = time(NULL);
	session_add(c->w->d->sessions, &c->s);
	c->in_table = true;
	if (connect(fd, (const struct sockaddr *)&lc->upstream_addr.ss,
	    lc->upstream_addr.len) == -1 && errno != EINPROGRESS)
		return -errno;
	/* A unix connect completes at once: the kernel names the backend's
	 * uid, the owner of the other end (query access). */
	cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == -1)
		return -errno;
	session_set_backend_uid(c->w->d->sessions, &c->s, cred.uid);
	return 0;
}

/*
 * The PROXY protocol header for the upstream: the client's address and
 * the one it connected to, and with v2 the TLS facts and the identity.
 */
static int
conn_proxy_header(struct conn *c)
{
	const struct identity *id = &c->s.identity;
	struct sockaddr_storage dst;
	socklen_t dl = sizeof(dst);
	char fpr[IDENTITY_FPR_TEXT];
	struct mtls_buf accounts;
	struct pp_tls t;
	size_t i;
	int rc;

	if (getsockname(c->cfd, (struct sockaddr *)&dst, &dl) == -1)
		return -1;
	buf_init(&c->pp, 0);
	c->pp_off = 0;
	if (c->l->cfg->proxy_protocol == PROXY_V1)
		return proxyproto_v1(&c->pp, (struct sockaddr *)&c->client_ss,
		    c->client_len, (struct sockaddr *)&dst, dl);
	memset(&t, 0, sizeof(t));
	t.version = c->s.tls_version;
	t.cipher = c->s.cipher;
	t.sig_alg = id->sig_alg;
	t.key_alg = id->key_alg;
	for (i = 0; i < id->subject.count; i++)
		if (strcmp(id->subject.attrs[i].type, "CN") == 0) {
			t.cn = id->subject.attrs[i].value.data;
			t.cn_len = id->subject.attrs[i].value.len;
		}
	t.cert = c->leaf_der;
	t.cert_len = c->leaf_len;
	t.unique_id = c->s.id;
	identity_fingerprint_text(id->cert_sha256, fpr);
	t.sha256 = fpr;
	buf_init(&accounts, 0);
	for (i = 0; i < c->s.naccounts; i++)
		buf_printf(&accounts, "%s%s", i ? "," : "",
		    c->s.accounts[i].name);
	t.accounts = accounts.data;
	rc = proxyproto_v2(&c->pp, (struct sockaddr *)&c->client_ss,
	    c->client_len, (struct sockaddr *)&dst, dl, &t);
	buf_free(&accounts);
	return rc;
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
	if (c->l->cfg->proxy_protocol != PROXY_OFF && conn_proxy_header(c) != 0) {
		conn_close(c, "proxy_header_failed");
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
			if (conn_buf_take(c, &c->c2u) == -1) {
				conn_close(c, "no_memory");
				return -1;
			}
			rc = tls_read(c->tls, c->c2u, RELAY_BUF);
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
		/* The PROXY header goes first, before any client byte. */
		if (c->pp_off < c->pp.len) {
			n = send(c->ufd, c->pp.data + c->pp_off,
			    c->pp.len - c->pp_off, MSG_NOSIGNAL);
			if (n > 0) {
				c->pp_off += (size_t)n;
				progress = true;
			} else if (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK)) {
				c->u_want_out = true;
			} else {
				conn_close(c, "upstream_error");
				return -1;
			}
		}
		if (c->pp_off == c->pp.len && c->c2u_off < c->c2u_len) {
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
		if (c->client_eof && c->c2u_len == 0 && c->pp_off == c->pp.len &&
		    !c->upstream_shut) {
			/* Half-close passes through. */
			shutdown(c->ufd, SHUT_WR);
			c->upstream_shut = true;
			progress = true;
		}

		/* upstream -> client */
		if (!c->upstream_eof && c->u2c_len == 0) {
			if (conn_buf_take(c, &c->u2c) == -1) {
				conn_close(c, "no_memory");
				return -1;
			}
			n = recv(c->ufd, c->u2c, RELAY_BUF, 0);
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
	if (c->c2u_len == 0)
		conn_buf_give(c, &c->c2u);
	if (c->u2c_len == 0)
		conn_buf_give(c, &c->u2c);
	return 0;
}

void
conn_update_events(struct conn *c)
{
	uint32_t cw = 0, uw = 0;

	if (c->state == CONN_HANDSHAKE) {
		cw = tls_conn_wants_write(c->tls) ? EPOLLOUT : EPOLLIN;
	} else if (c->state == CONN_OCSP) {
		cw = 0;
	} else if (c->state == CONN_HTTP) {
		cw = (c->c_want_in ? EPOLLIN : 0) |
		    (c->c_want_out ? EPOLLOUT : 0);
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
	if (c->state == CONN_HTTP) {
		if (responder_pump(c) == 0)
			conn_update_events(c);
		return;
	}
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
		memcpy(&c->client_ss, &ss, sizeof(ss));
		c->client_len = sl;
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
			conn_ocsp_timeout(c);
			break;
		case CONN_CONNECTING:
			atomic_fetch_add(&w->d->stats.upstream_failures, 1);
			log_warnx("event=upstream result=fail reason=timeout "
			    "listener=%s client=%s", c->l->cfg->name,
			    c->s.client);
			conn_close(c, "upstream_timeout");
			break;
		case CONN_RELAY:
		case CONN_HTTP:
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
		w->srcport_cursor = srcports_cursor();
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
		worker_pool_free(&workers[i]);
		free(workers[i].lsrc);
	}
	free(workers);
	workers = NULL;
}
