/*
 * client.c: ask mtlsd about one connection, trusting it only as far as
 * the kernel vouches for it (after sss_client/common.c):
 *
 *  - the socket's directory and the socket are owned by root (or
 *    daemon_uid) and not writable by others, so nobody else can have put
 *    a socket there;
 *  - after connect, SO_PEERCRED says the server is root (or daemon_uid);
 *  - the fd is close-on-exec, non-blocking and never one of 0-2;
 *  - every read and write polls against one deadline;
 *  - the answer must parse, completely, as protocol version 1.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "pam_mtls.h"

/* Longest answer we accept to a LOOKUP: one status line, one record. */
#define ANSWER_MAX	(QUERY_RECORD_MAX + 128)
/* How long to wait before connecting again when mtlsd's queue is full. */
#define CONNECT_RETRY_MS 5

uint64_t
mtls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool
owner_ok(const struct mtls_opts *o, uid_t uid)
{
	return uid == 0 || uid == o->daemon_uid;
}

static enum mtls_status
check_path(const struct mtls_opts *o, char *why, size_t whysize)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *slash;

	if (strlen(o->socket) >= sizeof(dir) || o->socket[0] != '/') {
		snprintf(why, whysize, "socket path %s is not usable",
		    o->socket);
		return MTLS_ST_UNTRUSTED;
	}
	memcpy(dir, o->socket, strlen(o->socket) + 1);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (lstat(dir, &st) == -1) {
		snprintf(why, whysize, "%s: %s", dir, strerror(errno));
		return MTLS_ST_UNAVAILABLE;
	}
	if (!S_ISDIR(st.st_mode) || !owner_ok(o, st.st_uid) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, whysize, "directory %s is not trusted (must be "
		    "a directory owned by root%s, writable by neither group "
		    "nor others)", dir, o->daemon_uid ? " or daemon_uid" : "");
		return MTLS_ST_UNTRUSTED;
	}
	if (lstat(o->socket, &st) == -1) {
		snprintf(why, whysize, "%s: %s", o->socket, strerror(errno));
		return MTLS_ST_UNAVAILABLE;
	}
	if (!S_ISSOCK(st.st_mode) || !owner_ok(o, st.st_uid) ||
	    (st.st_mode & S_IWOTH) != 0) {
		snprintf(why, whysize, "%s is not trusted (must be a socket "
		    "owned by root%s, not writable by others)", o->socket,
		    o->daemon_uid ? " or daemon_uid" : "");
		return MTLS_ST_UNTRUSTED;
	}
	return MTLS_ST_OK;
}

/* Wait until fd is ready for events or the deadline passes. */
static enum mtls_status
wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now;
	int rc;

	for (;;) {
		now = mtls_now_ms();
		if (now >= deadline)
			return MTLS_ST_TIMEOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc > 0)
			return MTLS_ST_OK;
		if (rc == 0)
			return MTLS_ST_TIMEOUT;
		if (errno != EINTR)
			return MTLS_ST_ERROR;
	}
}

static enum mtls_status
connect_daemon(const struct mtls_opts *o, uint64_t deadline, int *fdp,
    char *why, size_t whysize)
{
	struct sockaddr_un sun;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	enum mtls_status st;
	int fd, high, rc, err = 0;

	if ((st = check_path(o, why, whysize)) != MTLS_ST_OK)
		return st;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(why, whysize, "socket: %s", strerror(errno));
		return MTLS_ST_ERROR;
	}
	/* Never on 0-2, where a careless write could reach the socket. */
	if (fd <= 2) {
		high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		close(fd);
		if (high == -1) {
			snprintf(why, whysize, "fcntl: %s", strerror(errno));
			return MTLS_ST_ERROR;
		}
		fd = high;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
			close(fd);
			return MTLS_ST_ERROR;
		}
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, o->socket, strlen(o->socket) + 1);
	/*
	 * A full listen queue makes a non-blocking connect to a unix socket
	 * fail with EAGAIN, and unlike TCP nothing is left pending: try
	 * again, briefly, until the deadline.
	 */
	while ((rc = connect(fd, (struct sockaddr *)&sun,
	    sizeof(sun))) == -1 && errno == EAGAIN) {
		if (mtls_now_ms() + CONNECT_RETRY_MS >= deadline) {
			snprintf(why, whysize, "connect to %s: timed out "
			    "(its listen queue stayed full)", o->socket);
			close(fd);
			return MTLS_ST_TIMEOUT;
		}
		(void)poll(NULL, 0, CONNECT_RETRY_MS);
	}
	if (rc == -1) {
		if (errno != EINPROGRESS) {
			snprintf(why, whysize, "cannot connect to %s: %s",
			    o->socket, strerror(errno));
			close(fd);
			return MTLS_ST_UNAVAILABLE;
		}
		if ((st = wait_fd(fd, POLLOUT, deadline)) != MTLS_ST_OK) {
			snprintf(why, whysize, "connect to %s: %s", o->socket,
			    st == MTLS_ST_TIMEOUT ? "timed out" : "failed");
			close(fd);
			return st;
		}
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			snprintf(why, whysize, "cannot connect to %s: %s",
			    o->socket, strerror(err ? err : errno));
			close(fd);
			return MTLS_ST_UNAVAILABLE;
		}
		len = sizeof(cred);
	}
	/* The kernel tells who listens there; the file system can lie. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    !owner_ok(o, cred.uid)) {
		snprintf(why, whysize, "%s: server runs as uid %ld, not root%s",
		    o->socket, len == sizeof(cred) ? (long)cred.uid : -1L,
		    o->daemon_uid ? " or daemon_uid" : "");
		close(fd);
		return MTLS_ST_UNTRUSTED;
	}
	*fdp = fd;
	return MTLS_ST_OK;
}

static enum mtls_status
send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
	enum mtls_status st;
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if ((st = wait_fd(fd, POLLOUT, deadline)) != MTLS_ST_OK)
				return st;
			continue;
		}
		return MTLS_ST_UNAVAILABLE;
	}
	return MTLS_ST_OK;
}

/*
 * Read until the peer closes (the daemon answers one request and closes),
 * at most ANSWER_MAX bytes, before the deadline.
 */
static enum mtls_status
read_answer(int fd, char *buf, size_t *len, uint64_t deadline)
{
	enum mtls_status st;
	ssize_t n;

	*len = 0;
	for (;;) {
		if (*len == ANSWER_MAX)
			return MTLS_ST_GARBAGE;
		n = recv(fd, buf + *len, ANSWER_MAX - *len, 0);
		if (n > 0) {
			*len += (size_t)n;
			continue;
		}
		if (n == 0)
			return MTLS_ST_OK;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return MTLS_ST_UNAVAILABLE;
		if ((st = wait_fd(fd, POLLIN, deadline)) != MTLS_ST_OK)
			return st;
	}
}

/* Status line then at most one record, nothing after it. */
static enum mtls_status
parse_answer(const char *buf, size_t len, struct query_record *rec,
    char *why, size_t whysize)
{
	char code[32], msg[128];
	const char *nl, *line2;
	size_t count = 0, l2;
	int rc;

	if ((nl = memchr(buf, '\n', len)) == NULL) {
		snprintf(why, whysize, "answer without a complete line");
		return MTLS_ST_GARBAGE;
	}
	rc = query_status_parse(buf, (size_t)(nl - buf), &count, code,
	    sizeof(code), msg, sizeof(msg));
	if (rc == MTLS_ERR_NOT_FOUND)
		return MTLS_ST_NOT_FOUND;
	if (rc == MTLS_ERR_DENIED) {
		snprintf(why, whysize, "mtlsd refused the query: %s", msg);
		return MTLS_ST_DENIED;
	}
	if (rc != 0) {
		snprintf(why, whysize, "mtlsd answered with an error or "
		    "garbage (%s)", code[0] ? code : "unparsable");
		return MTLS_ST_GARBAGE;
	}
	line2 = nl + 1;
	l2 = len - (size_t)(line2 - buf);
	if (count == 0 && l2 == 0)
		return MTLS_ST_NOT_FOUND;
	if (count != 1 || l2 == 0 || line2[l2 - 1] != '\n' ||
	    memchr(line2, '\n', l2 - 1) != NULL) {
		snprintf(why, whysize, "answer does not hold exactly one "
		    "record");
		return MTLS_ST_GARBAGE;
	}
	if (query_record_parse(line2, l2 - 1, rec) != 0) {
		snprintf(why, whysize, "answer record does not parse");
		return MTLS_ST_GARBAGE;
	}
	if (query_record_get(rec, "type", 0) == NULL ||
	    !bytes_equal_str(query_record_get(rec, "type", 0), "session") ||
	    query_record_count(rec, "listener") != 1 ||
	    query_record_count(rec, "subject") != 1 ||
	    query_record_count(rec, "serial") != 1 ||
	    query_record_count(rec, "sha256") != 1 ||
	    query_record_count(rec, "not_after") != 1) {
		query_record_free(rec);
		snprintf(why, whysize, "answer record lacks session fields");
		return MTLS_ST_GARBAGE;
	}
	return MTLS_ST_OK;
}

/* One request, one answer (status line and at most one record). */
static enum mtls_status
ask(const struct mtls_opts *o, const struct query_request *req,
    uint64_t deadline, struct query_record *rec, char *why, size_t whysize)
{
	char line[QUERY_REQUEST_MAX + 1], *answer;
	enum mtls_status st;
	size_t len;
	int fd = -1, n;

	query_record_init(rec);
	if ((n = query_request_format(req, line, sizeof(line))) < 0) {
		snprintf(why, whysize, "cannot form the request");
		return MTLS_ST_ERROR;
	}
	if ((answer = malloc(ANSWER_MAX)) == NULL) {
		snprintf(why, whysize, "out of memory");
		explicit_bzero(line, sizeof(line));
		return MTLS_ST_ERROR;
	}
	if ((st = connect_daemon(o, deadline, &fd, why, whysize)) !=
	    MTLS_ST_OK)
		goto done;
	if ((st = send_all(fd, line, (size_t)n, deadline)) != MTLS_ST_OK ||
	    (st = read_answer(fd, answer, &len, deadline)) != MTLS_ST_OK) {
		snprintf(why, whysize, "query to %s: %s", o->socket,
		    st == MTLS_ST_TIMEOUT ? "timed out" :
		    st == MTLS_ST_GARBAGE ? "answer too large" :
		    "connection failed");
		goto done;
	}
	st = parse_answer(answer, len, rec, why, whysize);
done:
	/* A REDEEM line carries a ticket: leave no copy behind. */
	explicit_bzero(line, sizeof(line));
	if (fd != -1)
		close(fd);
	free(answer);
	return st;
}

enum mtls_status
mtls_lookup(const struct mtls_opts *o, const struct candidate *c,
    uint64_t deadline, struct query_record *rec, char *why, size_t whysize)
{
	struct query_request req;

	memset(&req, 0, sizeof(req));
	req.verb = QUERY_LOOKUP;
	memcpy(req.addr, c->local, sizeof(req.addr));
	memcpy(req.peer, c->peer, sizeof(req.peer));
	return ask(o, &req, deadline, rec, why, whysize);
}

enum mtls_status
mtls_redeem(const struct mtls_opts *o, const char *ticket, uint64_t deadline,
    struct query_record *rec, char *why, size_t whysize)
{
	struct query_request req;
	enum mtls_status st;

	size_t n = strlen(ticket);

	memset(&req, 0, sizeof(req));
	req.verb = QUERY_REDEEM;
	/* Not even the shape of a ticket: no need to ask. */
	if (n < 16 || n >= sizeof(req.ticket) || strspn(ticket,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != n) {
		snprintf(why, whysize, "not a ticket");
		query_record_init(rec);
		return MTLS_ST_NOT_FOUND;
	}
	memcpy(req.ticket, ticket, strlen(ticket) + 1);
	st = ask(o, &req, deadline, rec, why, whysize);
	explicit_bzero(req.ticket, sizeof(req.ticket));
	return st;
}
