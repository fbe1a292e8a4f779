/*
 * authbench.c: what a login through pam_mtls costs a service, measured on
 * one live connection through mtlsd, next to the floor any local IPC can
 * reach.  Part of the benchmark (make bench); run through authbench.sh,
 * which writes the PAM service file and starts this under pam_wrapper.
 *
 *   authbench --listen ADDR:PORT --query-socket PATH --user NAME
 *	[--count N] [--seconds S] [--threads T] [--pam-service NAME]
 *	[--svcdir DIR]
 *
 * This process is the backend mtlsd forwards to.  It accepts one
 * connection (a TLS client the caller connects through mtlsd), moves it to
 * descriptor AUTHBENCH_FD, which the service file names with fd=, and
 * then times three things, in blocks taking turns so that machine noise
 * lands on all three alike:
 *
 *   bare	connect to a unix socket served by an echo thread in this
 *		process, write one line as long as the LOOKUP line, read
 *		the answer until the server closes, close;
 *   query	the same exchange with mtlsd's query socket: "MTLS/1 LOOKUP
 *		<local> <peer>" for the accepted connection, formatted by
 *		the encoder pam_mtls uses, answer checked to be "OK 1";
 *   pam	pam_start, pam_authenticate and pam_end for --user, a whole
 *		transaction as a service runs one per login.
 *
 * Then --threads threads ask LOOKUPs for --seconds each, for the
 * throughput of the query socket.  One line of results goes to stdout;
 * progress and failures go to stderr.  Exits 0 only when every query
 * answered "OK 1" and every pam_authenticate returned PAM_SUCCESS.
 *
 * bare and query share one client routine, so their difference is what
 * mtlsd does with a query; pam adds PAM itself and pam_mtls's checks
 * (socket trust, SO_PEERCRED, descriptor inspection, full parsing).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "netaddr.h"
#include "query.h"

/* Must match AUTHBENCH_FD in authbench.sh, which writes fd= before we run. */
#define AUTHBENCH_FD	100

#define WARMUP		100		/* untimed rounds of each kind */
#define BLOCK		1000		/* rounds of one kind in a row */
#define ACCEPT_MS	30000		/* for the connection through mtlsd */
#define READY_MS	10000		/* for its session to answer OK */
#define IO_MS		5000		/* for one round trip */
#define MAX_REPORTS	5		/* failures described on stderr */
#define ANSWER_MAX	(QUERY_RECORD_MAX + 128)	/* as pam_mtls */
#define BARE_MAX	(QUERY_REQUEST_MAX + 1)

enum kind { K_BARE, K_QUERY, K_PAM, NKINDS };
static const char *kind_names[NKINDS] = { "bare", "query", "pam" };

struct opts {
	const char	*listen;
	const char	*query_socket;
	const char	*user;
	const char	*service;
	const char	*svcdir;
	long		 count;
	long		 seconds;
	long		 threads;
};

/* A unix socket address, ready for connect(). */
struct target {
	struct sockaddr_un	 sun;
	socklen_t		 len;
};

/* The trivial server of the bare round trip. */
struct echo {
	char		 dir[PATH_MAX];
	struct target	 addr;
	int		 lfd;
	pthread_t	 thread;
	bool		 running;
	atomic_bool	 stop;
};

/*
 * The threads of the throughput part start together, once all exist; if
 * one cannot be created, the others are told to stop instead.
 */
struct gate {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 state;		/* 0 wait, 1 go, -1 give up */
};

/* One thread of the throughput part. */
struct worker {
	pthread_t		 thread;
	const struct target	*query;
	const char		*req;
	size_t			 reqlen;
	struct gate		*gate;
	long			 seconds;
	uint64_t		 ok;
	uint64_t		 elapsed_ns;
};

static atomic_uint_fast64_t nfailures;
static atomic_int nreports;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
now_ms(void)
{
	return now_ns() / 1000000;
}

/* Count a failure; describe the first few, so a broken run stays readable. */
static void
failure(const char *what, const char *detail)
{
	int n;

	atomic_fetch_add(&nfailures, 1);
	if ((n = atomic_fetch_add(&nreports, 1)) < MAX_REPORTS)
		fprintf(stderr, "authbench: %s failed: %s\n", what, detail);
	if (n == MAX_REPORTS - 1)
		fprintf(stderr, "authbench: further failures are counted, "
		    "not shown\n");
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: authbench --listen ADDR:PORT --query-socket PATH "
	    "--user NAME\n"
	    "\t[--count N] [--seconds S] [--threads T] "
	    "[--pam-service NAME] [--svcdir DIR]\n"
	    "Run it through authbench.sh, which sets up pam_wrapper.\n");
	exit(2);
}

static long
number(const char *name, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		fprintf(stderr, "authbench: --%s must be a number from %ld to "
		    "%ld\n", name, min, max);
		exit(2);
	}
	return v;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "listen",		required_argument, NULL, 'l' },
		{ "query-socket",	required_argument, NULL, 'q' },
		{ "user",		required_argument, NULL, 'u' },
		{ "count",		required_argument, NULL, 'n' },
		{ "seconds",		required_argument, NULL, 's' },
		{ "threads",		required_argument, NULL, 't' },
		{ "pam-service",	required_argument, NULL, 'p' },
		{ "svcdir",		required_argument, NULL, 'd' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->service = "mtls-authbench";
	o->count = 20000;
	o->seconds = 3;
	o->threads = 4;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->listen = optarg;
			break;
		case 'q':
			o->query_socket = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'n':
			o->count = number("count", optarg, 1, 100000000);
			break;
		case 's':
			/* 0 skips the throughput part (short checks). */
			o->seconds = number("seconds", optarg, 0, 3600);
			break;
		case 't':
			o->threads = number("threads", optarg, 1, 1024);
			break;
		case 'p':
			o->service = optarg;
			break;
		case 'd':
			o->svcdir = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o->listen == NULL || o->query_socket == NULL ||
	    o->user == NULL || *o->user == '\0' || *o->service == '\0')
		usage();
}

/* ------------------------------------------------------------ sockets */

static int
target_set(struct target *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	if (strlen(path) >= sizeof(t->sun.sun_path))
		return -1;
	t->sun.sun_family = AF_UNIX;
	memcpy(t->sun.sun_path, path, strlen(path) + 1);
	t->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path) + 1);
	return 0;
}

/* Wait for events on fd until deadline (ms, monotonic). */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now;
	int rc;

	for (;;) {
		if ((now = now_ms()) >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc > 0)
			return 0;
		if (rc == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

/*
 * One request on a new connection, the answer read until the server
 * closes: the exchange pam_mtls has with mtlsd, on a non-blocking socket
 * that polls only when it must, as pam_mtls's does.  Returns the answer's
 * length, or -1 with errno set (EMSGSIZE: longer than size).
 */
static ssize_t
round_trip(const struct target *t, const char *req, size_t reqlen,
    char *ans, size_t size)
{
	uint64_t deadline = now_ms() + IO_MS;
	size_t off = 0, len = 0;
	ssize_t n;
	int fd, save;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/*
	 * A unix connect completes at once or not at all: EAGAIN means the
	 * backlog is full and nothing is in progress, so try again (only
	 * the throughput part can get there).
	 */
	while (connect(fd, (const struct sockaddr *)&t->sun, t->len) == -1) {
		if ((errno != EAGAIN && errno != EINTR) ||
		    now_ms() >= deadline)
			goto fail;
		sched_yield();
	}
	while (off < reqlen) {
		n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline) == -1)
				goto fail;
			continue;
		}
		goto fail;
	}
	for (;;) {
		if (len == size) {
			errno = EMSGSIZE;
			goto fail;
		}
		n = recv(fd, ans + len, size - len, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || wait_fd(fd, POLLIN, deadline) == -1)
			goto fail;
	}
	close(fd);
	return (ssize_t)len;
fail:
	save = errno;
	close(fd);
	errno = save;
	return -1;
}

/*
 * "MTLS/1 OK 1", then exactly one record line, a session.  Only the shape:
 * pam_mtls's full parse belongs to the pam figure, not to this one.
 */
static bool
answer_ok(const char *a, size_t len)
{
	static const char head[] = QUERY_MAGIC " OK 1\n";
	static const char type[] = "type=session ";
	const char *rec = a + sizeof(head) - 1;
	size_t rlen;

	if (len < sizeof(head) - 1 || memcmp(a, head, sizeof(head) - 1) != 0)
		return false;
	rlen = len - (sizeof(head) - 1);
	return rlen >= sizeof(type) - 1 &&
	    memcmp(rec, type, sizeof(type) - 1) == 0 &&
	    rec[rlen - 1] == '\n' && memchr(rec, '\n', rlen - 1) == NULL;
}

/* A LOOKUP round trip; false (and why) unless the answer is the session. */
static bool
query_once(const struct target *t, const char *req, size_t reqlen,
    char *ans, char *why, size_t whysize)
{
	ssize_t n;
	char *nl;

	if ((n = round_trip(t, req, reqlen, ans, ANSWER_MAX)) == -1) {
		snprintf(why, whysize, "%s: %s", t->sun.sun_path,
		    strerror(errno));
		return false;
	}
	if (answer_ok(ans, (size_t)n))
		return true;
	/* The status line says what went wrong (not_found, denied, ...). */
	if ((nl = memchr(ans, '\n', (size_t)n)) != NULL)
		n = nl - ans;
	snprintf(why, whysize, "answer \"%.*s\"", (int)(n > 200 ? 200 : n),
	    ans);
	return false;
}

/* ----------------------------------------------------------- the echo */

static void *
echo_main(void *arg)
{
	struct echo *e = arg;
	char buf[BARE_MAX];
	size_t len;
	ssize_t n;
	int fd;

	for (;;) {
		if ((fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (atomic_load(&e->stop))
				break;
			continue;
		}
		if (atomic_load(&e->stop)) {
			close(fd);
			break;
		}
		/* One line in, the same line out, then close: no more. */
		len = 0;
		while (len < sizeof(buf)) {
			n = read(fd, buf + len, sizeof(buf) - len);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
			if (buf[len - 1] == '\n')
				break;
		}
		if (len > 0)
			(void)send(fd, buf, len, MSG_NOSIGNAL);
		close(fd);
	}
	return NULL;
}

static int
echo_start(struct echo *e)
{
	char path[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	int rc;

	memset(e, 0, sizeof(*e));
	e->lfd = -1;
	atomic_init(&e->stop, false);
	snprintf(e->dir, sizeof(e->dir), "%s/authbench.XXXXXX",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(e->dir) == NULL) {
		fprintf(stderr, "authbench: mkdtemp %s: %s\n", e->dir,
		    strerror(errno));
		e->dir[0] = '\0';
		return -1;
	}
	snprintf(path, sizeof(path), "%s/echo.sock", e->dir);
	if (target_set(&e->addr, path) != 0) {
		fprintf(stderr, "authbench: %s: path too long\n", path);
		return -1;
	}
	if ((e->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(e->lfd, (struct sockaddr *)&e->addr.sun, e->addr.len) == -1 ||
	    listen(e->lfd, 128) == -1) {
		fprintf(stderr, "authbench: echo socket %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if ((rc = pthread_create(&e->thread, NULL, echo_main, e)) != 0) {
		fprintf(stderr, "authbench: pthread_create: %s\n",
		    strerror(rc));
		return -1;
	}
	e->running = true;
	return 0;
}

static void
echo_stop(struct echo *e)
{
	int fd;

	if (e->running) {
		/* accept() does not notice a flag: a connection wakes it. */
		atomic_store(&e->stop, true);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd != -1) {
			(void)connect(fd, (struct sockaddr *)&e->addr.sun,
			    e->addr.len);
			close(fd);
		}
		pthread_join(e->thread, NULL);
		e->running = false;
	}
	if (e->lfd != -1)
		close(e->lfd);
	e->lfd = -1;
	if (e->dir[0] != '\0') {
		unlink(e->addr.sun.sun_path);
		rmdir(e->dir);
		e->dir[0] = '\0';
	}
}

/* ------------------------------------------------------------- the PAM */

/*
 * pam_mtls never prompts when PAM_USER is given; should anything in the
 * stack prompt after all, the call fails, and so does the run, visibly.
 */
static int
conv_none(int num, const struct pam_message **msg,
    struct pam_response **resp, void *data)
{
	(void)num;
	(void)msg;
	(void)data;
	*resp = NULL;
	return PAM_CONV_ERR;
}

/* One login's worth of PAM: a whole transaction, as a service runs it. */
static bool
pam_once(const struct opts *o, char *why, size_t whysize)
{
	struct pam_conv conv = { conv_none, NULL };
	pam_handle_t *ph = NULL;
	int rc;

	if ((rc = pam_start(o->service, o->user, &conv, &ph)) != PAM_SUCCESS) {
		snprintf(why, whysize, "pam_start(%s): %s", o->service,
		    pam_strerror(ph, rc));
		if (ph != NULL)
			pam_end(ph, rc);
		return false;
	}
	rc = pam_authenticate(ph, 0);
	if (rc != PAM_SUCCESS)
		snprintf(why, whysize, "pam_authenticate(%s, %s): %s",
		    o->service, o->user, pam_strerror(ph, rc));
	pam_end(ph, rc);
	return rc == PAM_SUCCESS;
}

/*
 * With --svcdir, the service file there must name our descriptor, or
 * every call would fail for a reason far from its cause.  pam_wrapper
 * must be the one reading that directory, too.
 */
static int
check_service(const struct opts *o)
{
	char path[PATH_MAX], line[PATH_MAX + 256], want[32];
	const char *env;
	bool found = false;
	FILE *f;

	if (o->svcdir == NULL)
		return 0;
	env = getenv("PAM_WRAPPER_SERVICE_DIR");
	if (getenv("PAM_WRAPPER") == NULL || env == NULL ||
	    strcmp(env, o->svcdir) != 0) {
		fprintf(stderr, "authbench: --svcdir %s but pam_wrapper is not "
		    "reading it (PAM_WRAPPER=%s PAM_WRAPPER_SERVICE_DIR=%s): "
		    "run authbench.sh\n", o->svcdir,
		    getenv("PAM_WRAPPER") ? getenv("PAM_WRAPPER") : "",
		    env ? env : "");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", o->svcdir, o->service);
	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "authbench: PAM service %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	snprintf(want, sizeof(want), " fd=%d", AUTHBENCH_FD);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "pam_mtls.so") != NULL &&
		    strstr(line, want) != NULL)
			found = true;
	fclose(f);
	if (!found) {
		fprintf(stderr, "authbench: %s has no pam_mtls.so line with "
		    "fd=%d\n", path, AUTHBENCH_FD);
		return -1;
	}
	return 0;
}

/* -------------------------------------------------- the backend's end */

static int
tcp_listen(const char *text)
{
	struct addrinfo hints, *res = NULL;
	char host[NI_MAXHOST];
	const char *start = text, *port, *end;
	size_t hlen;
	int fd = -1, one = 1, rc;

	/* "a.b.c.d:port" or "[v6]:port", numeric, as mtlsd writes them. */
	if (text[0] == '[') {
		if ((end = strchr(text, ']')) == NULL || end[1] != ':')
			goto bad;
		start = text + 1;
		port = end + 2;
	} else {
		if ((end = strrchr(text, ':')) == NULL)
			goto bad;
		port = end + 1;
	}
	hlen = (size_t)(end - start);
	if (hlen == 0 || hlen >= sizeof(host) || *port == '\0')
		goto bad;
	memcpy(host, start, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "authbench: --listen %s: %s\n", text,
		    gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 16) == -1) {
		fprintf(stderr, "authbench: listen on %s: %s\n", text,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
bad:
	fprintf(stderr, "authbench: --listen %s: want ADDR:PORT or "
	    "[ADDR]:PORT\n", text);
	return -1;
}

/*
 * Accept the one connection through mtlsd and move it to AUTHBENCH_FD,
 * the number the service file (written before this process started, as
 * pam_wrapper copies it at start-up) names with fd=.
 */
static int
accept_backend(int lfd)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if (fcntl(AUTHBENCH_FD, F_GETFD) != -1 || errno != EBADF) {
		fprintf(stderr, "authbench: descriptor %d is already in use\n",
		    AUTHBENCH_FD);
		return -1;
	}
	if (wait_fd(lfd, POLLIN, now_ms() + ACCEPT_MS) == -1) {
		fprintf(stderr, "authbench: no connection within %d s\n",
		    ACCEPT_MS / 1000);
		return -1;
	}
	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		fprintf(stderr, "authbench: accept: %s\n", strerror(errno));
		return -1;
	}
	if (dup3(fd, AUTHBENCH_FD, O_CLOEXEC) == -1) {
		fprintf(stderr, "authbench: dup3 to %d: %s\n", AUTHBENCH_FD,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	/*
	 * Take what the client sent so far, if anything, without waiting:
	 * an idle client (s_client with nothing on stdin) sends nothing.
	 */
	n = recv(AUTHBENCH_FD, buf, sizeof(buf), MSG_DONTWAIT);
	fprintf(stderr, "authbench: accepted a connection (%zd bytes from "
	    "the client so far)\n", n > 0 ? n : 0);
	return 0;
}

/* The LOOKUP line pam_mtls would send for fd, by the same encoder. */
static int
lookup_line(int fd, char *out, size_t size)
{
	struct query_request req;
	struct sockaddr_storage ss;
	socklen_t len;
	int n;

	memset(&req, 0, sizeof(req));
	req.verb = QUERY_LOOKUP;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    netaddr_format((struct sockaddr *)&ss, len, req.addr,
	    sizeof(req.addr)) != 0)
		return -1;
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    netaddr_format((struct sockaddr *)&ss, len, req.peer,
	    sizeof(req.peer)) != 0)
		return -1;
	if ((n = query_request_format(&req, out, size)) < 0)
		return -1;
	return n;
}

/* ----------------------------------------------------------- the runs */

struct bench {
	const struct opts	*o;
	struct target		 echo;
	struct target		 query;
	char			 req[QUERY_REQUEST_MAX + 1];
	size_t			 reqlen;
	char			 bare_req[QUERY_REQUEST_MAX + 1];
	char			*ans;
	uint64_t		*samples[NKINDS];
	size_t			 nsamples[NKINDS];
};

/* One round of kind k; its time goes to the samples when timed. */
static void
run_one(struct bench *b, enum kind k, bool timed)
{
	char why[512];
	uint64_t t0, t1;
	ssize_t n;
	bool ok = true;

	t0 = now_ns();
	switch (k) {
	case K_BARE:
		n = round_trip(&b->echo, b->bare_req, b->reqlen, b->ans,
		    BARE_MAX);
		if (n != (ssize_t)b->reqlen) {
			snprintf(why, sizeof(why), "echo answered %zd bytes "
			    "(%s)", n, n == -1 ? strerror(errno) : "short");
			ok = false;
		}
		break;
	case K_QUERY:
		ok = query_once(&b->query, b->req, b->reqlen, b->ans, why,
		    sizeof(why));
		break;
	case K_PAM:
		ok = pam_once(b->o, why, sizeof(why));
		break;
	case NKINDS:
		return;
	}
	t1 = now_ns();
	if (!ok)
		failure(kind_names[k], why);
	else if (timed)
		b->samples[k][b->nsamples[k]++] = t1 - t0;
}

/*
 * mtlsd publishes a session before it connects upstream, so it should be
 * there at once; wait a little anyway rather than fail on a race.
 */
static int
wait_session(struct bench *b)
{
	uint64_t end = now_ms() + READY_MS;
	char why[512];

	for (;;) {
		if (query_once(&b->query, b->req, b->reqlen, b->ans, why,
		    sizeof(why)))
			return 0;
		if (now_ms() >= end) {
			fprintf(stderr, "authbench: the connection is not a "
			    "live mtlsd session: %s\n", why);
			return -1;
		}
		usleep(10000);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char *ans, why[512];
	uint64_t t0, end, now;
	bool go;

	pthread_mutex_lock(&w->gate->lock);
	while (w->gate->state == 0)
		pthread_cond_wait(&w->gate->cond, &w->gate->lock);
	go = w->gate->state == 1;
	pthread_mutex_unlock(&w->gate->lock);
	if (!go)
		return NULL;
	if ((ans = malloc(ANSWER_MAX)) == NULL) {
		failure("query thread", "out of memory");
		return NULL;
	}
	t0 = now_ns();
	end = t0 + (uint64_t)w->seconds * 1000000000ULL;
	do {
		if (query_once(w->query, w->req, w->reqlen, ans, why,
		    sizeof(why)))
			w->ok++;
		else
			failure("query (threaded)", why);
		now = now_ns();
	} while (now < end);
	w->elapsed_ns = now - t0;
	free(ans);
	return NULL;
}

/* LOOKUPs per second over all threads; 0 when skipped or broken. */
static double
run_threads(struct bench *b)
{
	struct gate gate = { PTHREAD_MUTEX_INITIALIZER,
	    PTHREAD_COND_INITIALIZER, 0 };
	struct worker *w;
	uint64_t ok = 0, longest = 0;
	long i, started;
	int rc = 0;

	if (b->o->seconds == 0)
		return 0;
	if ((w = calloc((size_t)b->o->threads, sizeof(*w))) == NULL) {
		failure("query threads", "out of memory");
		return 0;
	}
	for (started = 0; started < b->o->threads; started++) {
		w[started].query = &b->query;
		w[started].req = b->req;
		w[started].reqlen = b->reqlen;
		w[started].gate = &gate;
		w[started].seconds = b->o->seconds;
		if ((rc = pthread_create(&w[started].thread, NULL, worker_main,
		    &w[started])) != 0) {
			failure("query threads", strerror(rc));
			break;
		}
	}
	pthread_mutex_lock(&gate.lock);
	gate.state = rc == 0 ? 1 : -1;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
	for (i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		ok += w[i].ok;
		if (w[i].elapsed_ns > longest)
			longest = w[i].elapsed_ns;
	}
	free(w);
	/* The slowest thread's time: every lookup counted fell within it. */
	return rc != 0 || longest == 0 ? 0 :
	    (double)ok * 1e9 / (double)longest;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double	p50, p99, mean;		/* microseconds */
};

/* Nearest-rank percentiles and the mean; sorts the samples. */
static struct stat3
summarize(uint64_t *s, size_t n)
{
	struct stat3 r = { 0, 0, 0 };
	double sum = 0;
	size_t i;

	if (n == 0)
		return r;
	qsort(s, n, sizeof(*s), cmp_u64);
	for (i = 0; i < n; i++)
		sum += (double)s[i];
	r.p50 = (double)s[(n * 50 + 99) / 100 - 1] / 1000.0;
	r.p99 = (double)s[(n * 99 + 99) / 100 - 1] / 1000.0;
	r.mean = sum / (double)n / 1000.0;
	return r;
}

static double
ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct bench b;
	struct echo e;
	struct stat3 st[NKINDS];
	double per_s;
	size_t done, blk, i, j, nblocks = 0;
	int lfd = -1, rc, exitcode = 1, k;
	bool have_conn = false;

	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	memset(&b, 0, sizeof(b));
	b.o = &o;
	e.running = false;
	e.lfd = -1;
	e.dir[0] = '\0';
	if (check_service(&o) != 0)
		return 1;
	if (target_set(&b.query, o.query_socket) != 0) {
		fprintf(stderr, "authbench: --query-socket %s: path too long\n",
		    o.query_socket);
		return 1;
	}
	b.ans = malloc(ANSWER_MAX);
	for (k = 0; k < NKINDS; k++)
		b.samples[k] = calloc((size_t)o.count, sizeof(uint64_t));
	if (b.ans == NULL || b.samples[K_BARE] == NULL ||
	    b.samples[K_QUERY] == NULL || b.samples[K_PAM] == NULL) {
		fprintf(stderr, "authbench: out of memory\n");
		goto out;
	}
	if (echo_start(&e) != 0)
		goto out;
	b.echo = e.addr;

	if ((lfd = tcp_listen(o.listen)) == -1)
		goto out;
	fprintf(stderr, "authbench: listening\n");
	rc = accept_backend(lfd);
	/* One connection is all this measures; refuse any others. */
	close(lfd);
	lfd = -1;
	if (rc != 0)
		goto out;
	have_conn = true;
	if ((rc = lookup_line(AUTHBENCH_FD, b.req, sizeof(b.req))) < 0) {
		fprintf(stderr, "authbench: cannot form the LOOKUP line for "
		    "descriptor %d\n", AUTHBENCH_FD);
		goto out;
	}
	b.reqlen = (size_t)rc;
	/* As long as the LOOKUP line, so that the two differ in the server. */
	memset(b.bare_req, 'x', b.reqlen - 1);
	b.bare_req[b.reqlen - 1] = '\n';
	fprintf(stderr, "authbench: %.*s", (int)b.reqlen, b.req);
	if (wait_session(&b) != 0)
		goto out;

	for (k = 0; k < NKINDS; k++)
		for (i = 0; i < WARMUP; i++)
			run_one(&b, (enum kind)k, false);
	/*
	 * Blocks of each kind in turn, the first kind rotating from block to
	 * block, so that neither a slow phase of the machine nor the order
	 * favours one of them.
	 */
	for (done = 0; done < (size_t)o.count; done += blk, nblocks++) {
		blk = (size_t)o.count - done < BLOCK ?
		    (size_t)o.count - done : BLOCK;
		for (j = 0; j < NKINDS; j++) {
			k = (int)((nblocks + j) % NKINDS);
			for (i = 0; i < blk; i++)
				run_one(&b, (enum kind)k, true);
		}
	}
	fprintf(stderr, "authbench: %ld rounds of each done; %ld threads "
	    "for %ld s\n", o.count, o.threads, o.seconds);
	per_s = run_threads(&b);

	for (k = 0; k < NKINDS; k++)
		st[k] = summarize(b.samples[k], b.nsamples[k]);
	printf("bare_p50_us=%.1f bare_p99_us=%.1f query_p50_us=%.1f "
	    "query_p99_us=%.1f pam_p50_us=%.1f pam_p99_us=%.1f "
	    "pam_mean_us=%.1f query_mean_us=%.1f bare_mean_us=%.1f "
	    "query_threads=%ld query_per_s=%.0f pam_over_bare=%.2f "
	    "query_over_bare=%.2f failures=%llu\n",
	    st[K_BARE].p50, st[K_BARE].p99, st[K_QUERY].p50, st[K_QUERY].p99,
	    st[K_PAM].p50, st[K_PAM].p99, st[K_PAM].mean, st[K_QUERY].mean,
	    st[K_BARE].mean, o.threads, per_s,
	    ratio(st[K_PAM].p50, st[K_BARE].p50),
	    ratio(st[K_QUERY].p50, st[K_BARE].p50),
	    (unsigned long long)atomic_load(&nfailures));
	fflush(stdout);
	exitcode = atomic_load(&nfailures) == 0 ? 0 : 1;
out:
	if (lfd != -1)
		close(lfd);
	if (have_conn)
		close(AUTHBENCH_FD);
	echo_stop(&e);
	for (k = 0; k < NKINDS; k++)
		free(b.samples[k]);
	free(b.ans);
	return exitcode;
}
