/*
 * harness.c: what the pam_mtls tests need besides PAM: named results,
 * child processes (by pid), loopback sockets, files, and capturing the
 * PAM log that pam_wrapper prints on stderr.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pam_test.h"

int npass, nfail, nskip;

/* Children to stop at the end, by pid. */
#define MAX_CHILDREN 64
static pid_t children[MAX_CHILDREN];
static size_t nchildren;

/* fd 2 while a capture is running. */
static int saved_stderr = -1;

/* ------------------------------------------------------------ results */

static void
result(const char *kind, const char *name, const char *text)
{
	char why[1024];
	char *p;

	snprintf(why, sizeof(why), "%s", text);
	for (p = why; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	printf("%s pam/%s%s%s\n", kind, name, why[0] ? ": " : "", why);
	fflush(stdout);
	fprintf(stderr, "==== %s pam/%s%s%s\n", kind, name, why[0] ? ": " : "",
	    why);
}

void
pass(const char *name)
{
	npass++;
	result("PASS", name, "");
}

void
fail(const char *name, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	nfail++;
	result("FAIL", name, why);
}

void
skip(const char *name, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	nskip++;
	result("SKIP", name, why);
}

void
note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "# ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* ------------------------------------------------------------ helpers */

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
path_join(char *out, size_t size, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size) {
		fprintf(stderr, "path too long: %s/%s\n", dir, name);
		exit(2);
	}
}

/* Read a whole small file into buf (NUL-terminated, trailing newline cut). */
int
read_small(const char *path, char *buf, size_t size)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

void
capture_start(const char *path)
{
	int fd;

	fflush(stderr);
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return;
	saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3);
	dup2(fd, 2);
	close(fd);
}

/* Returns the captured text (malloc'ed, maybe empty), never NULL. */
char *
capture_end(const char *path)
{
	char *buf;
	FILE *f;
	long n;

	fflush(stderr);
	if (saved_stderr != -1) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
	if ((f = fopen(path, "re")) == NULL ||
	    fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		if (f != NULL)
			fclose(f);
		return calloc(1, 1);
	}
	rewind(f);
	if ((buf = calloc(1, (size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = (long)fread(buf, 1, (size_t)n, f);
	buf[n] = '\0';
	fclose(f);
	fputs(buf, stderr);
	return buf;
}

/* --------------------------------------------------------- processes */

void
track(pid_t pid)
{
	if (nchildren < MAX_CHILDREN)
		children[nchildren++] = pid;
}

void
untrack(pid_t pid)
{
	size_t i;

	for (i = 0; i < nchildren; i++)
		if (children[i] == pid) {
			children[i] = children[--nchildren];
			return;
		}
}

/* Wait (bounded) for pid to exit; true when reaped. */
bool
wait_exit(pid_t pid, unsigned ms, int *status)
{
	uint64_t end = now_ms() + ms;
	int st;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			if (status != NULL)
				*status = st;
			return true;
		}
		if (r == -1 && errno != EINTR)
			return true;	/* not ours any more */
		if (now_ms() >= end)
			return false;
		sleep_ms(20);
	}
}

/* SIGTERM, then SIGKILL after ms; reaps. */
void
stop_child(pid_t pid, unsigned ms)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (!wait_exit(pid, ms, NULL)) {
		kill(pid, SIGKILL);
		wait_exit(pid, 5000, NULL);
	}
	untrack(pid);
}

/* SIGKILL at once (fake daemons: no exit handlers, no valgrind report). */
void
kill_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	wait_exit(pid, 5000, NULL);
	untrack(pid);
}

/*
 * Programs this test runs must not load pam_wrapper (each copy would make
 * its own /tmp/pam.X directory).
 */
void
no_wrapper_env(void)
{
	unsetenv("LD_PRELOAD");
	unsetenv("PAM_WRAPPER");
	unsetenv("PAM_WRAPPER_SERVICE_DIR");
}

/*
 * fork + exec argv with stdin from in_fd (or /dev/null when -1) and
 * stdout and stderr appended to out_path (or /dev/null).  The child gets
 * SIGTERM when this process dies.
 */
pid_t
spawn(char *const argv[], int in_fd, const char *out_path)
{
	pid_t pid;
	int fd;

	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		no_wrapper_env();
		if (in_fd == -1)
			in_fd = open("/dev/null", O_RDONLY);
		if (in_fd != -1 && in_fd != 0) {
			dup2(in_fd, 0);
			close(in_fd);
		}
		fd = open(out_path ? out_path : "/dev/null",
		    O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	track(pid);
	return pid;
}

/*
 * Run argv (without pam_wrapper) with its stdout on a pipe; stderr too
 * when with_stderr.  Read the FILE, then reap with pipe_close.
 */
FILE *
pipe_from(char *const argv[], bool with_stderr, pid_t *pidp)
{
	int p[2], fd;
	pid_t pid;
	FILE *f;

	if (pipe2(p, O_CLOEXEC) == -1)
		return NULL;
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		no_wrapper_env();
		dup2(p[1], 1);
		if (with_stderr)
			dup2(p[1], 2);
		else if ((fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, 2);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if ((f = fdopen(p[0], "r")) == NULL) {
		close(p[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return NULL;
	}
	*pidp = pid;
	return f;
}

/* Close the pipe and reap; the wait status, or -1. */
int
pipe_close(FILE *f, pid_t pid)
{
	int st;

	fclose(f);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return st;
}

/* The first line argv prints, after the first '=' when skip_key. */
int
command_line(char *const argv[], bool skip_key, char *out, size_t size)
{
	char line[1024], *p;
	pid_t pid;
	FILE *f;
	int st;

	if ((f = pipe_from(argv, false, &pid)) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL) {
		pipe_close(f, pid);
		return -1;
	}
	st = pipe_close(f, pid);
	line[strcspn(line, "\r\n")] = '\0';
	p = line;
	if (skip_key) {
		if ((p = strchr(line, '=')) == NULL)
			return -1;
		p++;
	}
	snprintf(out, size, "%s", p);
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ----------------------------------------------------------- sockets */

/* A unix socket address for path (paths_init checked the lengths). */
void
sun_set(struct sockaddr_un *sun, const char *path)
{
	size_t len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len >= sizeof(sun->sun_path))
		len = sizeof(sun->sun_path) - 1;
	memcpy(sun->sun_path, path, len);
}

int
tcp_listen(uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A port nobody listens on right now (for mtlsd's listeners). */
uint16_t
free_port(void)
{
	/*
	 * The kernel may hand the same free port out twice in a row once
	 * the first probe is closed; remember what this run was given.
	 */
	static uint16_t given[64];
	static size_t ngiven;		/* ever given; the last 64 kept */
	uint16_t port;
	size_t i, n, tries;
	int fd;

	for (tries = 0; tries < 100; tries++) {
		port = 0;
		if ((fd = tcp_listen(&port)) == -1)
			return 0;
		close(fd);
		n = ngiven < 64 ? ngiven : 64;
		for (i = 0; i < n && given[i] != port; i++)
			;
		if (i < n)
			continue;
		given[ngiven++ % 64] = port;
		return port;
	}
	return 0;
}

int
unix_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sun;
	int fd;

	sun_set(&sun, path);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, mode) == -1 || listen(fd, 16) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* accept one connection within ms; -1 on timeout or error. */
int
accept_within(int lfd, unsigned ms)
{
	struct pollfd pfd = { lfd, POLLIN, 0 };
	int r;

	do
		r = poll(&pfd, 1, (int)ms);
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Read until EOF (the peer closed) within ms; true on EOF. */
bool
wait_eof(int fd, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	struct pollfd pfd = { fd, POLLIN, 0 };
	char buf[4096];
	ssize_t n;
	int r;

	for (;;) {
		uint64_t now = now_ms();

		if (now >= end)
			return false;
		r = poll(&pfd, 1, (int)(end - now));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return true;
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			return true;	/* reset: gone as well */
	}
}

/* Read from fd until a newline arrives within ms; true when it did. */
bool
read_line_within(int fd, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	struct pollfd pfd = { fd, POLLIN, 0 };
	char buf[256];
	ssize_t n;

	for (;;) {
		uint64_t now = now_ms();

		if (now >= end)
			return false;
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		if (memchr(buf, '\n', (size_t)n) != NULL)
			return true;
	}
}

/* A loopback TCP connection inside this process; out[1] the accepted end. */
int
loopback_pair(int out[2])
{
	struct sockaddr_in sin;
	uint16_t port;
	int lfd, c;

	if ((lfd = tcp_listen(&port)) == -1)
		return -1;
	if ((c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		close(lfd);
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (out[1] = accept_within(lfd, 2000)) == -1) {
		close(c);
		close(lfd);
		return -1;
	}
	out[0] = c;
	close(lfd);
	return 0;
}

int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

bool
file_has(const char *path, const char *needle)
{
	char line[4096];
	bool found = false;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

void
show_tail(const char *title, const char *path)
{
	char line[2048];
	long lines = 0, i = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		lines++;
	rewind(f);
	fprintf(stderr, "---- %s (%s)\n", title, path);
	while (fgets(line, sizeof(line), f) != NULL)
		if (++i > lines - 30)
			fputs(line, stderr);
	fprintf(stderr, "----\n");
	fclose(f);
}

int
count_in_file(const char *path, const char *needle)
{
	char line[4096];
	int n = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

/* Kill every child still running (SIGKILL) and reap it. */
void
kill_children(void)
{
	size_t i;

	for (i = 0; i < nchildren; i++)
		kill(children[i], SIGKILL);
	while (nchildren > 0)
		kill_child(children[0]);
}
