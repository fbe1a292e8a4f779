/*
 * query_server.c: the query socket (DESIGN 3.3, 4.3).
 *
 * One thread, one epoll loop, non-blocking clients.  Every caller is
 * checked with SO_PEERCRED: root, the daemon's own user, or a member of
 * query.group (primary or supplementary group, read from the kernel).
 * Lookups that reveal a session are answered to root, or to the uid that
 * owns the backend end of that session's connection (read from the kernel
 * with sock_diag for TCP, SO_PEERCRED of the upstream socket for unix
 * sockets); anyone else learns nothing ("not_found").  One request
 * per connection: read one line, answer, close.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"
#include "query.h"

#define QUERY_CLIENT_TIMEOUT_MS	5000
#define QUERY_MAX_CLIENTS	4096
#define QUERY_MAX_GROUPS	1024

struct qclient {
	int		 fd;
	struct ucred	 cred;
	bool		 allowed;
	uint64_t	 deadline;
	char		 in[QUERY_REQUEST_MAX + 1];
	size_t		 in_len;
	struct mtls_buf	 out;
	size_t		 out_off;
	bool		 writing;
	struct qclient	*prev, *next;
};

/* One matching session, copied out of the table under its lock. */
struct snapshot {
	char		 id[SESSION_ID_TEXT];
	char		 upstream[NETADDR_TEXT_MAX];
	char		 upstream_local[NETADDR_TEXT_MAX];
	bool		 tcp;
	bool		 has_owner;	/* unix: backend uid from the kernel */
	uid_t		 owner;
	struct mtls_buf	 line;
	struct snapshot	*next;
};

struct qserver {
	struct mtlsd	*d;
	pthread_t	 thread;
	int		 epfd;
	int		 listen_tag, stop_tag;
	struct qclient	*clients;
	size_t		 nclients;
};

static struct qserver qs;

/* Does something still accept connections on this socket? */
static bool
socket_in_use(const struct sockaddr_un *sun)
{
	int fd;
	bool used;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	used = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return used;
}

/*
 * The socket's directory: created (root-owned, 0755) when missing, as
 * systemd's RuntimeDirectory would; pam_mtls refuses a socket in a
 * directory that others can write to (DESIGN 4.4).
 */
static int
query_make_dir(const char *path, char *err, size_t errsize)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errsize, "query socket directory %s: %s", dir,
		    strerror(errno));
		return MTLS_ERR_SYSTEM;
	}
	return 0;
}

int
query_open(struct mtlsd *d, char *err, size_t errsize)
{
	const char *path = d->boot->cfg.query_socket;
	struct sockaddr_un sun;
	struct stat st;
	struct group gr, *grp = NULL;
	char buf[16384];
	mode_t old;
	int fd, rc, bound, saved_errno;
	bool root;

	if (getgrnam_r(d->boot->cfg.query_group, &gr, buf, sizeof(buf), &grp) != 0 ||
	    grp == NULL) {
		snprintf(err, errsize, "%s: query.group \"%s\" does not exist",
		    d->boot->cfg.file, d->boot->cfg.query_group);
		return MTLS_ERR_CONFIG;
	}
	d->query_gid = gr.gr_gid;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errsize, "query socket path too long: %s", path);
		return MTLS_ERR_CONFIG;
	}
	strcpy(sun.sun_path, path);
	if ((rc = query_make_dir(path, err, errsize)) != 0)
		return rc;
	/* Remove a stale socket from an earlier run, nothing else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errsize, "query socket %s exists and is "
			    "not a socket", path);
			return MTLS_ERR_CONFIG;
		}
		if (socket_in_use(&sun)) {
			snprintf(err, errsize, "query socket %s is in use: is "
			    "another mtlsd running?", path);
			return MTLS_ERR_CONFIG;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	/*
	 * Never a moment where the socket is open to everyone.  As root, the
	 * file is made with query.group as our effective group, so it has
	 * that group from the start and needs no chown (nor CAP_CHOWN, which
	 * the systemd unit does not grant).
	 */
	old = umask(0177);
	root = geteuid() == 0;
	if (root && setegid(d->query_gid) == -1) {
		umask(old);
		close(fd);
		goto fail;
	}
	bound = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved_errno = errno;
	if (root && setegid(0) == -1)
		fatal("setegid(0) after creating the query socket");
	umask(old);
	if (bound == -1) {
		close(fd);
		errno = saved_errno;
		goto fail;
	}
	/* A set-group-ID directory gives its own group: then chown. */
	if (stat(path, &st) == -1 ||
	    (root && st.st_gid != d->query_gid &&
	    chown(path, 0, d->query_gid) == -1) ||
	    chmod(path, (mode_t)d->boot->cfg.query_mode) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		close(fd);
		goto fail;
	}
	d->query_fd = fd;
	return 0;
fail:
	snprintf(err, errsize, "query socket %s: %s", path, strerror(errno));
	return MTLS_ERR_SYSTEM;
}

static bool
caller_allowed(struct mtlsd *d, int fd, const struct ucred *cred)
{
	gid_t groups[QUERY_MAX_GROUPS];
	socklen_t len = sizeof(groups);
	size_t i;

	if (cred->uid == 0 || cred->uid == d->self_uid ||
	    cred->gid == d->query_gid)
		return true;
	/* Supplementary groups of the caller, as the kernel saw them. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return false;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == d->query_gid)
			return true;
	return false;
}

static void
client_free(struct qclient *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		qs.clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	epoll_ctl(qs.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	buf_free(&c->out);
	free(c);
	qs.nclients--;
}

/*
 * One audit line per query: who asked (from the kernel), what, and which
 * sessions were revealed, so "who asked about alice's session" can be
 * answered from the log.
 */
static void
log_query(const struct qclient *c, const char *verb,
    const struct query_request *req, const char *result, const char *ids)
{
	struct logfmt lf;

	logfmt_init(&lf, "query");
	logfmt_int(&lf, "uid", c->cred.uid);
	logfmt_int(&lf, "pid", c->cred.pid);
	logfmt_str(&lf, "lookup", verb);
	if (req != NULL && (req->verb == QUERY_WHOIS ||
	    req->verb == QUERY_LOOKUP))
		logfmt_str(&lf, "addr", req->addr);
	if (req != NULL && req->verb == QUERY_LOOKUP)
		logfmt_str(&lf, "peer", req->peer);
	if (req != NULL && req->verb == QUERY_SESSION)
		logfmt_str(&lf, "id", req->id);
	logfmt_str(&lf, "result", result);
	if (ids != NULL && ids[0] != '\0')
		logfmt_str(&lf, "sessions", ids);
	logfmt_emit(&lf, strcmp(result, "denied") == 0 ? LOGLVL_NOTICE :
	    LOGLVL_INFO);
}

static int
snapshot_one(const struct session *s, void *arg)
{
	struct snapshot **head = arg, *snap;
	struct query_record r;
	int rc;

	if ((snap = calloc(1, sizeof(*snap))) == NULL)
		return 1;
	buf_init(&snap->line, QUERY_RECORD_MAX);
	memcpy(snap->id, s->id, sizeof(snap->id));
	memcpy(snap->upstream, s->upstream, sizeof(snap->upstream));
	memcpy(snap->upstream_local, s->upstream_local,
	    sizeof(snap->upstream_local));
	snap->tcp = strncmp(s->upstream, "unix:", 5) != 0;
	snap->has_owner = s->has_backend_uid;
	snap->owner = s->backend_uid;
	query_record_init(&r);
	rc = session_to_record(s, &r);
	if (rc == 0)
		rc = query_record_format(&r, &snap->line);
	query_record_free(&r);
	if (rc != 0) {
		buf_free(&snap->line);
		free(snap);
		return 0;
	}
	snap->next = *head;
	*head = snap;
	return 0;
}

/* May this caller see the session?  Root: yes; others: the backend owner. */
static bool
may_see(const struct qclient *c, const struct snapshot *snap)
{
	uid_t owner;

	if (c->cred.uid == 0)
		return true;
	if (!snap->tcp)
		return snap->has_owner && snap->owner == c->cred.uid;
	if (sockdiag_tcp_owner(snap->upstream, snap->upstream_local,
	    &owner) != 0)
		return false;
	return owner == c->cred.uid;
}

static void
answer_sessions(struct qclient *c, const struct query_request *req)
{
	struct snapshot *head = NULL, *snap, *next;
	struct mtls_buf body, ids;
	size_t count = 0;
	const char *verb;

	buf_init(&body, 0);
	buf_init(&ids, 4096);
	switch (req->verb) {
	case QUERY_SESSIONS:
		verb = "sessions";
		session_foreach(qs.d->sessions, NULL, NULL, snapshot_one,
		    &head);
		break;
	case QUERY_WHOIS:
		verb = "whois";
		session_foreach(qs.d->sessions, req->addr, NULL, snapshot_one,
		    &head);
		break;
	case QUERY_SESSION:
		verb = "session";
		session_find_id(qs.d->sessions, req->id, snapshot_one, &head);
		break;
	default:
		verb = "lookup";
		session_foreach(qs.d->sessions, req->addr, req->peer,
		    snapshot_one, &head);
		break;
	}
	for (snap = head; snap != NULL; snap = next) {
		next = snap->next;
		if (may_see(c, snap) && count < QUERY_MAX_RECORDS &&
		    buf_append(&body, snap->line.data, snap->line.len) == 0) {
			buf_printf(&ids, "%s%s", count ? "," : "", snap->id);
			count++;
		}
		buf_free(&snap->line);
		free(snap);
	}
	if (req->verb != QUERY_SESSIONS && count == 0) {
		query_format_err(&c->out, QUERY_E_NOT_FOUND,
		    "no such session");
		log_query(c, verb, req, "not_found", NULL);
	} else {
		query_format_ok(&c->out, count);
		buf_append(&c->out, body.data, body.len);
		log_query(c, verb, req, count ? "found" : "none", ids.data);
	}
	buf_free(&body);
	buf_free(&ids);
}

static void
answer_stats(struct qclient *c)
{
	struct stats *st = &qs.d->stats;
	struct query_record r;
	char key[48], num[32];
	int i;

	query_record_init(&r);
	query_record_add_str(&r, "type", "stats");
#define NUM(k, v) do {							\
	snprintf(num, sizeof(num), "%llu", (unsigned long long)(v));	\
	query_record_add_str(&r, (k), num);				\
} while (0)
	NUM("uptime", time(NULL) - qs.d->started);
	NUM("workers", qs.d->workers);
	NUM("connections_active", atomic_load(&st->connections_active));
	NUM("sessions_active", session_count(qs.d->sessions));
	NUM("accepted", atomic_load(&st->accepted));
	NUM("handshakes_ok", atomic_load(&st->handshakes_ok));
	for (i = 1; i < TLS_REASON_MAX; i++) {
		snprintf(key, sizeof(key), "rejected_%s",
		    tls_reason_name((enum tls_reason)i));
		NUM(key, atomic_load(&st->rejected[i]));
	}
	NUM("rejected_limit", atomic_load(&st->rejected_limit));
	NUM("upstream_failures", atomic_load(&st->upstream_failures));
	NUM("sessions_closed", atomic_load(&st->sessions_closed));
	NUM("revoked_live", atomic_load(&st->revoked_live));
	NUM("reloads", atomic_load(&st->reloads));
	NUM("reload_failures", atomic_load(&st->reload_failures));
	NUM("generation", atomic_load(&qs.d->gen_serial));
	NUM("queries", atomic_load(&st->queries));
	NUM("queries_denied", atomic_load(&st->queries_denied));
#undef NUM
	query_format_ok(&c->out, 1);
	query_record_format(&r, &c->out);
	query_record_free(&r);
	log_query(c, "stats", NULL, "found", NULL);
}

/*
 * REDEEM: use a one-time ticket up.  Any allowed caller (root, the query
 * group): the ticket itself is the credential, and it works once.  The
 * ticket is never logged; its id (a digest prefix) is.
 */
static void
answer_redeem(struct qclient *c, struct query_request *req)
{
	char id[TICKET_ID_TEXT];
	struct mtls_buf rec;
	struct logfmt lf;
	int rc;

	buf_init(&rec, QUERY_RECORD_MAX);
	rc = ticket_redeem(req->ticket, &rec, id);
	explicit_bzero(req->ticket, sizeof(req->ticket));
	if (rc == 0) {
		query_format_ok(&c->out, 1);
		buf_append(&c->out, rec.data, rec.len);
	} else
		query_format_err(&c->out, QUERY_E_NOT_FOUND,
		    "no such ticket (unknown, used or expired)");
	buf_free(&rec);
	logfmt_init(&lf, "query");
	logfmt_int(&lf, "uid", c->cred.uid);
	logfmt_int(&lf, "pid", c->cred.pid);
	logfmt_str(&lf, "lookup", "redeem");
	logfmt_str(&lf, "ticket_id", id);
	logfmt_str(&lf, "result", rc == 0 ? "found" : "not_found");
	logfmt_emit(&lf, LOGLVL_NOTICE);
}

/*
 * RELOAD: root or the daemon's own user only.  Runs the reload on this
 * thread (it takes milliseconds) and answers with its outcome.
 */
static void
answer_reload(struct qclient *c)
{
	struct query_record r;
	char err[CONFIG_ERR_MAX], num[32];
	uint64_t serial = 0;
	int rc;

	if (c->cred.uid != 0 && c->cred.uid != qs.d->self_uid) {
		atomic_fetch_add(&qs.d->stats.queries_denied, 1);
		query_format_err(&c->out, QUERY_E_DENIED,
		    "reload needs root or the daemon's own user");
		log_query(c, "reload", NULL, "denied", NULL);
		return;
	}
	rc = mtlsd_reload_audit(qs.d, "query", &serial, err, sizeof(err));
	query_record_init(&r);
	query_record_add_str(&r, "type", "reload");
	query_record_add_str(&r, "result", rc == 0 ? "ok" : "fail");
	if (rc == 0) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)serial);
		query_record_add_str(&r, "serial", num);
	} else
		query_record_add_str(&r, "error", err);
	query_format_ok(&c->out, 1);
	query_record_format(&r, &c->out);
	query_record_free(&r);
	log_query(c, "reload", NULL, rc == 0 ? "ok" : "fail", NULL);
}

static void
client_respond(struct qclient *c)
{
	struct query_request req;
	struct epoll_event ev;
	int rc;

	atomic_fetch_add(&qs.d->stats.queries, 1);
	if (!c->allowed) {
		atomic_fetch_add(&qs.d->stats.queries_denied, 1);
		query_format_err(&c->out, QUERY_E_DENIED,
		    "need root or membership in the query group");
		log_query(c, "connect", NULL, "denied", NULL);
	} else if ((rc = query_request_parse(c->in, c->in_len, &req)) != 0) {
		const char *code = rc == MTLS_ERR_VERSION ? QUERY_E_VERSION :
		    rc == MTLS_ERR_TOO_LARGE ? QUERY_E_TOO_LARGE :
		    QUERY_E_BAD_REQUEST;

		query_format_err(&c->out, code, mtls_strerror(rc));
		log_query(c, "invalid", NULL, code, NULL);
	} else if (req.verb == QUERY_STATS) {
		answer_stats(c);
	} else if (req.verb == QUERY_RELOAD) {
		answer_reload(c);
	} else if (req.verb == QUERY_REDEEM) {
		answer_redeem(c, &req);
	} else {
		answer_sessions(c, &req);
	}
	c->writing = true;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	epoll_ctl(qs.epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
client_too_large(struct qclient *c)
{
	struct epoll_event ev;

	atomic_fetch_add(&qs.d->stats.queries, 1);
	query_format_err(&c->out, QUERY_E_TOO_LARGE, "request line longer "
	    "than 1024 bytes");
	log_query(c, "invalid", NULL, QUERY_E_TOO_LARGE, NULL);
	c->writing = true;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	epoll_ctl(qs.epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
client_io(struct qclient *c)
{
	char *nl;
	ssize_t n;

	if (c->writing) {
		while (c->out_off < c->out.len) {
			n = send(c->fd, c->out.data + c->out_off,
			    c->out.len - c->out_off, MSG_NOSIGNAL);
			if (n > 0)
				c->out_off += (size_t)n;
			else if (n == -1 && errno == EAGAIN)
				return;
			else
				break;
		}
		client_free(c);
		return;
	}
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		client_free(c);
		return;
	}
	if (n < 0)
		return;
	c->in_len += (size_t)n;
	if ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
		c->in_len = (size_t)(nl - c->in);
		client_respond(c);
	} else if (c->in_len >= QUERY_REQUEST_MAX) {
		/* A request may not exceed the limit, newline included. */
		client_too_large(c);
	}
}

static void
query_accept(void)
{
	struct epoll_event ev;
	struct qclient *c;
	socklen_t len;
	int fd;

	while ((fd = accept4(qs.d->query_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		if (qs.nclients >= QUERY_MAX_CLIENTS ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			log_warnx("event=query result=refused reason=too_many_clients");
			close(fd);
			continue;
		}
		c->fd = fd;
		len = sizeof(c->cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred,
		    &len) == -1) {
			free(c);
			close(fd);
			continue;
		}
		c->allowed = caller_allowed(qs.d, fd, &c->cred);
		c->deadline = now_ms() + QUERY_CLIENT_TIMEOUT_MS;
		buf_init(&c->out, 0);
		c->next = qs.clients;
		if (qs.clients != NULL)
			qs.clients->prev = c;
		qs.clients = c;
		qs.nclients++;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(qs.epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			client_free(c);
			continue;
		}
		/* Refuse outsiders at once, before they send anything. */
		if (!c->allowed)
			client_respond(c);
	}
}

static void *
query_main(void *arg)
{
	struct epoll_event evs[64];
	struct qclient *c, *next;
	uint64_t now;
	bool stopping = false;
	int n, i;

	(void)arg;
	while (!stopping) {
		n = epoll_wait(qs.epfd, evs, 64, 500);
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait (query)");
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &qs.stop_tag)
				stopping = true;
			else if (evs[i].data.ptr == &qs.listen_tag)
				query_accept();
			else
				client_io(evs[i].data.ptr);
		}
		now = now_ms();
		for (c = qs.clients; c != NULL; c = next) {
			next = c->next;
			if (now >= c->deadline)
				client_free(c);
		}
	}
	while (qs.clients != NULL)
		client_free(qs.clients);
	tls_thread_cleanup();		/* reloads ran here */
	return NULL;
}

int
query_start(struct mtlsd *d)
{
	struct epoll_event ev;

	qs.d = d;
	if ((qs.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return MTLS_ERR_SYSTEM;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &qs.listen_tag;
	if (epoll_ctl(qs.epfd, EPOLL_CTL_ADD, d->query_fd, &ev) == -1)
		return MTLS_ERR_SYSTEM;
	ev.data.ptr = &qs.stop_tag;
	if (epoll_ctl(qs.epfd, EPOLL_CTL_ADD, d->stop_fd, &ev) == -1)
		return MTLS_ERR_SYSTEM;
	if (pthread_create(&qs.thread, NULL, query_main, NULL) != 0)
		return MTLS_ERR_SYSTEM;
	return 0;
}

void
query_join(struct mtlsd *d)
{
	pthread_join(qs.thread, NULL);
	close(qs.epfd);
	close(d->query_fd);
	/* The directory may not be ours after the drop; a stale socket is
	 * removed at the next start. */
	if (unlink(d->boot->cfg.query_socket) == -1)
		log_debug("unlink %s: %s", d->boot->cfg.query_socket,
		    strerror(errno));
}
