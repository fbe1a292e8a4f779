/*
 * fake_daemon.c: stand-ins for mtlsd's query socket, to see how pam_mtls
 * treats a daemon it must not trust or whose answers it must not believe.
 * Each runs in a forked child that serves every client the same way and
 * reports the request lines it received on a pipe.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pam_test.h"
#include "query.h"

const char *fake_mode_names[] = {
	"ok", "text", "binary", "short", "bad_escape", "version", "huge",
	"denied", "not_found", "silent",
};

/* A record as mtlsd would send it for the connection in req. */
static int
fake_record(const char *req, const char *account, struct mtls_buf *out)
{
	char local[QUERY_ADDR_MAX] = "", peer[QUERY_ADDR_MAX] = "";
	struct query_record r;
	int rc = 0;

	/* "MTLS/1 LOOKUP <local> <peer>": the record says the same. */
	if (sscanf(req, "MTLS/1 LOOKUP %127s %127s", local, peer) != 2)
		snprintf(local, sizeof(local), "127.0.0.1:1");
	query_record_init(&r);
	rc |= query_record_add_str(&r, "type", "session");
	rc |= query_record_add_str(&r, "id",
	    "00112233445566778899aabbccddeeff");
	rc |= query_record_add_str(&r, "listener", "fake");
	rc |= query_record_add_str(&r, "client", "192.0.2.7:40000");
	rc |= query_record_add_str(&r, "upstream", local);
	rc |= query_record_add_str(&r, "upstream_local", peer);
	rc |= query_record_add_str(&r, "subject", "CN=fake,O=Fake Daemon");
	rc |= query_record_add_str(&r, "issuer", "CN=Fake CA");
	rc |= query_record_add_str(&r, "serial", "FA4E");
	rc |= query_record_add_str(&r, "sha256",
	    "FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:"
	    "FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E");
	rc |= query_record_add_str(&r, "spki_sha256",
	    "AB:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:"
	    "FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E:FA:4E");
	rc |= query_record_add_str(&r, "not_before", "2020-01-01T00:00:00Z");
	rc |= query_record_add_str(&r, "not_after", "2099-01-01T00:00:00Z");
	rc |= query_record_add_str(&r, "tls_version", "TLSv1.3");
	rc |= query_record_add_str(&r, "cipher", "TLS_AES_128_GCM_SHA256");
	rc |= query_record_add_str(&r, "since", "2024-01-01T00:00:00Z");
	rc |= query_record_add_str(&r, "bytes_in", "0");
	rc |= query_record_add_str(&r, "bytes_out", "0");
	rc |= query_record_add_str(&r, "accounts", account);
	if (rc == 0)
		rc = query_record_format(&r, out);
	query_record_free(&r);
	return rc;
}

/* Serve one client of the fake daemon. */
static void
fake_serve(int c, enum fake_mode mode, const char *account, int report)
{
	char req[QUERY_REQUEST_MAX + 1];
	struct pollfd pfd = { c, POLLIN, 0 };
	struct mtls_buf rec;
	size_t len = 0;
	uint64_t end = now_ms() + 5000;
	ssize_t n;
	char *nl = NULL, *huge;

	/* The request line first, so the client's write never meets EPIPE. */
	while (len < QUERY_REQUEST_MAX && now_ms() < end) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(c, req + len, QUERY_REQUEST_MAX - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if ((nl = memchr(req, '\n', len)) != NULL)
			break;
	}
	req[len] = '\0';
	if (nl != NULL)
		*nl = '\0';
	if (report != -1) {
		req[strcspn(req, "\n")] = '\0';
		dprintf(report, "%s\n", req);
	}
	buf_init(&rec, 0);
	switch (mode) {
	case FAKE_OK:
	case FAKE_SHORT:
	case FAKE_VERSION:
		fake_record(req, account, &rec);
		dprintf(c, "%s %s %d\n", mode == FAKE_VERSION ? "MTLS/2" :
		    QUERY_MAGIC, "OK", mode == FAKE_SHORT ? 2 : 1);
		write_all(c, rec.data, rec.len);
		break;
	case FAKE_TEXT:
		dprintf(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0"
		    "\r\n\r\n");
		break;
	case FAKE_BINARY:
		write_all(c, "\0\377\001MTLS/1 OK 1\0garbage", 22);
		break;
	case FAKE_BAD_ESCAPE:
		dprintf(c, "MTLS/1 OK 1\ntype=session subject=CN%%ZZfake "
		    "serial=FA4E accounts=%s\n", account);
		break;
	case FAKE_HUGE:
		dprintf(c, "MTLS/1 OK 1\ntype=session accounts=%s subject=",
		    account);
		if ((huge = malloc(QUERY_RECORD_MAX * 2)) != NULL) {
			memset(huge, 'A', QUERY_RECORD_MAX * 2);
			write_all(c, huge, QUERY_RECORD_MAX * 2);
			free(huge);
		}
		write_all(c, "\n", 1);
		break;
	case FAKE_DENIED:
		query_format_err(&rec, QUERY_E_DENIED, "need root or "
		    "membership in the query group");
		write_all(c, rec.data, rec.len);
		break;
	case FAKE_NOT_FOUND:
		query_format_err(&rec, QUERY_E_NOT_FOUND, "no such session");
		write_all(c, rec.data, rec.len);
		break;
	case FAKE_SILENT:
		/* Hold the connection until the client gives up. */
		wait_eof(c, FAKE_GIVE_UP_MS);
		break;
	}
	buf_free(&rec);
	close(c);
}

/*
 * Start a fake daemon on path: binds (socket file owned by whoever runs
 * the test), chmods the socket to sockmode, switches to run_as when
 * root, listens, then serves every client in mode.  Returns 0 when it is
 * ready.
 */
int
fake_start(struct fake *fk, const char *path, enum fake_mode mode,
    mode_t sockmode, uid_t run_as, const char *account)
{
	struct sockaddr_un sun;
	int ready[2], rep[2], lfd, c;
	char b;
	pid_t pid;

	fk->pid = -1;
	fk->report = -1;
	if (pipe2(ready, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(rep, O_CLOEXEC) == -1) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		close(ready[0]);
		close(rep[0]);
		sun_set(&sun, path);
		unlink(path);
		if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1 ||
		    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    chmod(path, sockmode) == -1) {
			perror("fake daemon: bind");
			_exit(1);
		}
		if (getuid() == 0 && run_as != 0) {
			struct passwd *pw = getpwuid(run_as);
			gid_t g = pw != NULL ? pw->pw_gid : (gid_t)run_as;

			if (setgroups(1, &g) == -1 ||
			    setresgid(g, g, g) == -1 ||
			    setresuid(run_as, run_as, run_as) == -1) {
				perror("fake daemon: setresuid");
				_exit(1);
			}
		}
		if (listen(lfd, 16) == -1) {
			perror("fake daemon: listen");
			_exit(1);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;) {
			if ((c = accept_within(lfd, FAKE_GIVE_UP_MS * 2)) == -1)
				_exit(0);
			fake_serve(c, mode, account, rep[1]);
		}
	}
	track(pid);
	close(ready[1]);
	close(rep[1]);
	fk->pid = pid;
	fk->report = rep[0];
	{
		struct pollfd pfd = { ready[0], POLLIN, 0 };

		if (poll(&pfd, 1, WAIT_MS) != 1 || read(ready[0], &b, 1) != 1) {
			close(ready[0]);
			kill_child(pid);
			close(fk->report);
			fk->pid = -1;
			fk->report = -1;
			return -1;
		}
	}
	close(ready[0]);
	return 0;
}

/* The first request line the fake received (within ms), or "". */
void
fake_request(struct fake *fk, char *out, size_t size, unsigned ms)
{
	struct pollfd pfd = { fk->report, POLLIN, 0 };
	ssize_t n;

	out[0] = '\0';
	if (fk->report == -1 || poll(&pfd, 1, (int)ms) != 1)
		return;
	n = read(fk->report, out, size - 1);
	if (n <= 0)
		return;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

void
fake_stop(struct fake *fk)
{
	kill_child(fk->pid);
	if (fk->report != -1)
		close(fk->report);
	fk->pid = -1;
	fk->report = -1;
}
