/*
 * echo.c: the benchmark backend.  A single-threaded epoll TCP echo server
 * for loopback benchmarks of mtlsd.
 *
 *	echo --listen 127.0.0.1:PORT [--sink]
 *	echo --listen [::1]:PORT [--sink]
 *
 * Everything read is written back (or, with --sink, thrown away).  It has
 * to hold tens of thousands of mostly idle connections, so a connection
 * costs a small struct: all reads go through one shared buffer, and only
 * when the peer does not take our writes fast enough is the unsent rest
 * copied to the heap; the connection is then not read again until that
 * rest is gone, which pushes the backpressure to the sender.  On EOF from
 * the peer the rest is flushed, our side is shut down and the socket
 * closed, so the peer sees an orderly FIN.  SIGTERM or SIGINT stops it.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchnet.h"

#define READ_CHUNK		(64 * 1024)
/* Reads per readiness event, so one fast sender cannot starve the rest. */
#define READS_PER_EVENT		4
#define LISTEN_BACKLOG		4096
#define MAX_EVENTS		256
/* With the descriptor table full, stop accepting for this long. */
#define ACCEPT_PAUSE_MS		100
/* Aim for this many descriptors when we may raise the hard limit. */
#define WANTED_NOFILE		65536

struct echo_conn {
	char		*pending;	/* unsent rest of a read, or NULL */
	uint32_t	 pending_len;
	uint32_t	 pending_off;
};

struct echo_server {
	int		  listen_fd;
	int		  signal_fd;
	int		  epoll_fd;
	bool		  sink;
	bool		  accept_paused;
	bool		  told_full;	/* said so once per episode */
	struct timespec	  accept_resume;
	struct echo_conn **by_fd;	/* indexed by descriptor */
	size_t		  nfds;		/* size of by_fd */
	size_t		  nconns;
	char		 *buf;		/* the shared READ_CHUNK buffer */
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: echo --listen ADDR:PORT [--sink]\n"
	    "       ADDR is an IPv4 literal or [IPv6 literal]\n");
	exit(2);
}

/*
 * Soft limit up to the hard limit; when we are allowed to (root), the hard
 * limit up too, since a stock 1024/4096 would not hold a benchmark run.
 * Returns the soft limit now in force.
 */
static rlim_t
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < WANTED_NOFILE) {
		struct rlimit want = { WANTED_NOFILE, WANTED_NOFILE };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return WANTED_NOFILE;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

static int
open_listener(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char shown[INET6_ADDRSTRLEN + 16];
	int fd, one = 1;

	if (bench_parse_hostport(text, &ss, &len) == -1) {
		fprintf(stderr, "echo: bad listen address \"%s\"\n", text);
		usage();
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		fprintf(stderr, "echo: socket: %s\n", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		fprintf(stderr, "echo: SO_REUSEADDR: %s\n", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		fprintf(stderr, "echo: listen on %s: %s\n", text,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* Show the port the kernel chose, so ":0" is usable by scripts. */
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		bench_format_addr(&ss, shown, sizeof(shown));
	else
		snprintf(shown, sizeof(shown), "%s", text);
	fprintf(stderr, "echo: listening on %s\n", shown);
	return fd;
}

static int
watch(struct echo_server *srv, int op, int fd, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	return epoll_ctl(srv->epoll_fd, op, fd, &ev);
}

static void
conn_close(struct echo_server *srv, int fd)
{
	struct echo_conn *c = srv->by_fd[fd];

	free(c->pending);
	free(c);
	srv->by_fd[fd] = NULL;
	srv->nconns--;
	close(fd);		/* also leaves the epoll set */
}

/* The peer is done and has everything: let it see our FIN, then go. */
static void
conn_finish(struct echo_server *srv, int fd)
{
	shutdown(fd, SHUT_WR);
	conn_close(srv, fd);
}

/*
 * Write data, keeping what the socket does not take.  Returns 0 when all
 * is sent, 1 when a rest is kept (stop reading), -1 on a dead socket.
 */
static int
conn_send(struct echo_server *srv, int fd, const char *data, size_t len)
{
	struct echo_conn *c = srv->by_fd[fd];
	ssize_t n;

	while (len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return -1;
	}
	if (len == 0)
		return 0;
	if ((c->pending = malloc(len)) == NULL)
		return -1;
	memcpy(c->pending, data, len);
	c->pending_len = (uint32_t)len;
	c->pending_off = 0;
	if (watch(srv, EPOLL_CTL_MOD, fd, EPOLLOUT) == -1)
		return -1;
	return 1;
}

/*
 * While a rest is pending the connection is not read, so EOF is only ever
 * seen with nothing left to flush: shut down and close at once.
 */
static void
conn_readable(struct echo_server *srv, int fd)
{
	ssize_t n;
	int i, rc;

	for (i = 0; i < READS_PER_EVENT; i++) {
		n = recv(fd, srv->buf, READ_CHUNK, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			conn_close(srv, fd);
			return;
		}
		if (n == 0) {
			conn_finish(srv, fd);
			return;
		}
		if (srv->sink)
			continue;
		rc = conn_send(srv, fd, srv->buf, (size_t)n);
		if (rc == -1) {
			conn_close(srv, fd);
			return;
		}
		if (rc == 1)
			return;		/* wait for EPOLLOUT */
	}
}

static void
conn_writable(struct echo_server *srv, int fd)
{
	struct echo_conn *c = srv->by_fd[fd];
	ssize_t n;

	while (c->pending_off < c->pending_len) {
		n = send(fd, c->pending + c->pending_off,
		    c->pending_len - c->pending_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->pending_off += (uint32_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(srv, fd);
		return;
	}
	free(c->pending);
	c->pending = NULL;
	c->pending_len = c->pending_off = 0;
	if (watch(srv, EPOLL_CTL_MOD, fd, EPOLLIN) == -1)
		conn_close(srv, fd);
}

static void
conn_event(struct echo_server *srv, int fd, uint32_t events)
{
	struct echo_conn *c = srv->by_fd[fd];

	if (c == NULL)
		return;
	if (c->pending != NULL) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_writable(srv, fd);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_readable(srv, fd);
}

static void
pause_accepting(struct echo_server *srv)
{
	if (srv->accept_paused)
		return;
	if (!srv->told_full)
		fprintf(stderr, "echo: accept: %s with %zu connections; "
		    "pausing\n", strerror(errno), srv->nconns);
	srv->told_full = true;
	clock_gettime(CLOCK_MONOTONIC, &srv->accept_resume);
	srv->accept_resume.tv_nsec += ACCEPT_PAUSE_MS * 1000000L;
	if (srv->accept_resume.tv_nsec >= 1000000000L) {
		srv->accept_resume.tv_sec++;
		srv->accept_resume.tv_nsec -= 1000000000L;
	}
	srv->accept_paused = true;
	watch(srv, EPOLL_CTL_MOD, srv->listen_fd, 0);
}

static void
maybe_resume_accepting(struct echo_server *srv)
{
	struct timespec now;

	if (!srv->accept_paused)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < srv->accept_resume.tv_sec ||
	    (now.tv_sec == srv->accept_resume.tv_sec &&
	    now.tv_nsec < srv->accept_resume.tv_nsec))
		return;
	srv->accept_paused = false;
	watch(srv, EPOLL_CTL_MOD, srv->listen_fd, EPOLLIN);
}

static void
accept_all(struct echo_server *srv)
{
	struct echo_conn *c;
	int fd, one = 1;

	for (;;) {
		fd = accept4(srv->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				pause_accepting(srv);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "echo: accept: %s\n",
				    strerror(errno));
			return;
		}
		/* One-byte echoes must not wait for delayed ACKs. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((size_t)fd >= srv->nfds ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		srv->by_fd[fd] = c;
		srv->nconns++;
		srv->told_full = false;
		if (watch(srv, EPOLL_CTL_ADD, fd, EPOLLIN) == -1) {
			fprintf(stderr, "echo: epoll_ctl: %s\n",
			    strerror(errno));
			conn_close(srv, fd);
		}
	}
}

/* Returns true when a stop signal came. */
static bool
signal_event(struct echo_server *srv)
{
	struct signalfd_siginfo si;

	while (read(srv->signal_fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			return true;
	return false;
}

static int
serve(struct echo_server *srv)
{
	struct epoll_event events[MAX_EVENTS];
	int i, n, fd, timeout;

	for (;;) {
		timeout = srv->accept_paused ? ACCEPT_PAUSE_MS : -1;
		n = epoll_wait(srv->epoll_fd, events, MAX_EVENTS, timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "echo: epoll_wait: %s\n",
			    strerror(errno));
			return -1;
		}
		for (i = 0; i < n; i++) {
			fd = events[i].data.fd;
			if (fd == srv->signal_fd) {
				if (signal_event(srv))
					return 0;
			} else if (fd == srv->listen_fd) {
				accept_all(srv);
			} else
				conn_event(srv, fd, events[i].events);
		}
		maybe_resume_accepting(srv);
	}
}

static void
close_all(struct echo_server *srv)
{
	size_t fd;

	for (fd = 0; fd < srv->nfds; fd++)
		if (srv->by_fd[fd] != NULL)
			conn_close(srv, (int)fd);
	free(srv->by_fd);
	free(srv->buf);
	close(srv->listen_fd);
	close(srv->signal_fd);
	close(srv->epoll_fd);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "listen",	required_argument,	NULL, 'l' },
		{ "sink",	no_argument,		NULL, 's' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct echo_server srv;
	const char *listen_text = NULL;
	int ch, rc;

	memset(&srv, 0, sizeof(srv));
	while ((ch = getopt_long(argc, argv, "l:sh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_text = optarg;
			break;
		case 's':
			srv.sink = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || listen_text == NULL)
		usage();

	signal(SIGPIPE, SIG_IGN);
	srv.nfds = (size_t)raise_nofile();
	if (srv.nfds > (size_t)INT_MAX)
		srv.nfds = (size_t)INT_MAX;
	srv.by_fd = calloc(srv.nfds, sizeof(*srv.by_fd));
	srv.buf = malloc(READ_CHUNK);
	if (srv.by_fd == NULL || srv.buf == NULL) {
		fprintf(stderr, "echo: out of memory\n");
		return 1;
	}
	if ((srv.signal_fd = bench_signalfd()) == -1) {
		fprintf(stderr, "echo: signalfd: %s\n", strerror(errno));
		return 1;
	}
	if ((srv.listen_fd = open_listener(listen_text)) == -1)
		return 1;
	if ((srv.epoll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    watch(&srv, EPOLL_CTL_ADD, srv.listen_fd, EPOLLIN) == -1 ||
	    watch(&srv, EPOLL_CTL_ADD, srv.signal_fd, EPOLLIN) == -1) {
		fprintf(stderr, "echo: epoll: %s\n", strerror(errno));
		return 1;
	}
	rc = serve(&srv);
	close_all(&srv);
	return rc == 0 ? 0 : 1;
}
