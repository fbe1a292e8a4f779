/*
 * crlwatch.c: pick up CRL files when they change on disk, no signal
 * needed.  One thread watches the directories of every listener's crl
 * files with inotify (so a file replaced by rename() is seen too) and,
 * when one of them changes, installs a generation with fresh TLS state
 * from the same configuration; the workers then close live sessions
 * whose certificates became revoked.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"

#define WATCH_MAX	256
#define SETTLE_MS	100	/* let a writer finish before reading */

struct watch {
	int	 wd;
	char	 dir[PATH_MAX];
	char	 name[NAME_MAX + 1];
};

struct crlwatch {
	struct mtlsd	*d;
	pthread_t	 thread;
	int		 ifd;
	struct watch	 w[WATCH_MAX];
	size_t		 n;
	uint64_t	 serial;	/* generation the watches were set for */
};

static struct crlwatch cw;

static void
watch_clear(void)
{
	size_t i;

	for (i = 0; i < cw.n; i++)
		inotify_rm_watch(cw.ifd, cw.w[i].wd);
	cw.n = 0;
}

static void
watch_add(const char *path)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct watch *w;
	int wd;

	if (cw.n == WATCH_MAX || strlen(path) >= sizeof(a))
		return;
	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	wd = inotify_add_watch(cw.ifd, dirname(a), IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB);
	if (wd == -1) {
		log_warn("event=crl result=unwatched file=%s", path);
		return;
	}
	w = &cw.w[cw.n++];
	w->wd = wd;
	snprintf(w->dir, sizeof(w->dir), "%s", a);
	snprintf(w->name, sizeof(w->name), "%s", basename(b));
}

/* Watch the crl files of the generation now current. */
static void
watch_sync(void)
{
	struct generation *g = gen_acquire(cw.d);
	size_t i, j;

	watch_clear();
	for (i = 0; i < g->n; i++)
		for (j = 0; j < g->listeners[i].cfg->n_crl; j++)
			watch_add(g->listeners[i].cfg->crl[j]);
	cw.serial = g->serial;
	gen_release(g);
}

/* Did this batch of events touch a watched file?  Names it in file. */
static bool
events_match(const char *buf, ssize_t len, char *file, size_t size)
{
	const struct inotify_event *ev;
	const char *p;
	size_t i;

	for (p = buf; p < buf + len;
	    p += sizeof(struct inotify_event) + ev->len) {
		ev = (const struct inotify_event *)(const void *)p;
		if (ev->len == 0)
			continue;
		for (i = 0; i < cw.n; i++) {
			if (cw.w[i].wd == ev->wd &&
			    strcmp(cw.w[i].name, ev->name) == 0) {
				snprintf(file, size, "%s/%s", cw.w[i].dir,
				    cw.w[i].name);
				return true;
			}
		}
	}
	return false;
}

static void
refresh(const char *file)
{
	char err[CONFIG_ERR_MAX];
	uint64_t serial = 0;
	struct logfmt lf;
	int rc;

	rc = mtlsd_refresh_tls(cw.d, &serial, err, sizeof(err));
	logfmt_init(&lf, "crl");
	logfmt_str(&lf, "result", rc == 0 ? "reloaded" : "fail");
	logfmt_str(&lf, "file", file);
	if (rc == 0)
		logfmt_int(&lf, "serial", (long long)serial);
	else
		logfmt_str(&lf, "error", err);
	logfmt_emit(&lf, rc == 0 ? LOGLVL_NOTICE : LOGLVL_ERR);
}

static void *
crlwatch_main(void *arg)
{
	char buf[16 * 1024] __attribute__((aligned(__alignof__(
	    struct inotify_event))));
	char file[PATH_MAX + NAME_MAX + 2];
	struct pollfd pfd[2];
	bool changed;
	ssize_t n;

	(void)arg;
	for (;;) {
		if (atomic_load(&cw.d->gen_serial) != cw.serial)
			watch_sync();
		pfd[0].fd = cw.ifd;
		pfd[0].events = POLLIN;
		pfd[1].fd = cw.d->stop_fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 500) == -1 && errno != EINTR)
			fatal("poll (crl watch)");
		if (pfd[1].revents & POLLIN)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		changed = false;
		while ((n = read(cw.ifd, buf, sizeof(buf))) > 0)
			changed |= events_match(buf, n, file, sizeof(file));
		if (!changed)
			continue;
		/* Writers may write in pieces: wait, then read it once. */
		poll(NULL, 0, SETTLE_MS);
		while (read(cw.ifd, buf, sizeof(buf)) > 0)
			;
		refresh(file);
	}
	watch_clear();
	close(cw.ifd);
	tls_thread_cleanup();		/* refreshes ran here */
	return NULL;
}

int
crlwatch_start(struct mtlsd *d)
{
	cw.d = d;
	if ((cw.ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1)
		return MTLS_ERR_SYSTEM;
	watch_sync();
	if (pthread_create(&cw.thread, NULL, crlwatch_main, NULL) != 0)
		return MTLS_ERR_SYSTEM;
	return 0;
}

void
crlwatch_join(struct mtlsd *d)
{
	(void)d;
	pthread_join(cw.thread, NULL);
}
