/*
 * mtlsd.c: the parent: command line, configuration, start-up order
 * (bind and read keys as root, then drop), signals, and graceful stop.
 */
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"

static void
usage(void)
{
	fprintf(stderr, "usage: mtlsd [-dft] [-c file]\n");
	exit(2);
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A file the daemon must read at start-up: say which and why not. */
static int
check_readable(const char *conf, int line, const char *listener,
    const char *key, const char *path)
{
	if (access(path, R_OK) == 0)
		return 0;
	fprintf(stderr, "%s:%d: listener \"%s\": %s %s: %s\n", conf, line,
	    listener, key, path, strerror(errno));
	return -1;
}

/*
 * A rule without an issuer pin maps certificates from every CA the
 * listener trusts; with several CAs in client_ca that is worth a warning
 * (the same subject can be issued by another CA).
 */
static void
warn_unpinned(struct mtlsd *d)
{
	const struct listener_config *lc;
	const struct mapping_set *set;
	struct tls_ctx *t;
	char err[CONFIG_ERR_MAX];
	size_t i, j, anchors;

	for (i = 0; i < d->cfg.n_listeners; i++) {
		lc = &d->cfg.listeners[i];
		if ((set = lc->mapping_set) == NULL)
			continue;
		if ((t = tls_ctx_new(lc, d->cfg.file, err, sizeof(err))) ==
		    NULL)
			continue;
		anchors = tls_ctx_anchor_count(t);
		tls_ctx_free(t);
		if (anchors < 2)
			continue;
		for (j = 0; j < set->nrules; j++) {
			/* A fingerprint of the certificate or its key already
			 * names one certificate, whoever issued it. */
			if (set->rules[j].has_issuer_pin ||
			    strcmp(set->rules[j].field, "cert.sha256") == 0 ||
			    strcmp(set->rules[j].field, "spki.sha256") == 0)
				continue;
			log_warnx("%s:%d: warning: mapping \"%s\" rule \"%s\" "
			    "has no issuer pin, and listener \"%s\" trusts %zu "
			    "CAs in %s: a certificate from any of them with "
			    "a matching %s maps", d->cfg.file,
			    set->rules[j].line, set->name, set->rules[j].name,
			    lc->name, anchors, lc->client_ca,
			    set->rules[j].field);
		}
	}
}

/*
 * mtlsd -t, and the same checks before every start: files readable,
 * certificates and keys load and match, users and groups exist.
 */
static int
check_config(struct mtlsd *d, bool print)
{
	const struct listener_config *lc;
	struct tls_ctx *t;
	char err[CONFIG_ERR_MAX];
	uid_t uid;
	gid_t gid;
	size_t i;
	int bad = 0;

	for (i = 0; i < d->cfg.n_listeners; i++) {
		lc = &d->cfg.listeners[i];
		if (check_readable(d->cfg.file, lc->line, lc->name,
		    "certificate", lc->certificate) != 0 ||
		    check_readable(d->cfg.file, lc->line, lc->name,
		    "private_key", lc->private_key) != 0 ||
		    check_readable(d->cfg.file, lc->line, lc->name,
		    "client_ca", lc->client_ca) != 0) {
			bad = 1;
			continue;
		}
		if ((t = tls_ctx_new(lc, d->cfg.file, err, sizeof(err))) ==
		    NULL) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
			continue;
		}
		tls_ctx_free(t);
	}
	if (geteuid() == 0 && priv_lookup(d->cfg.user, d->cfg.group, &uid,
	    &gid, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", d->cfg.file, err);
		bad = 1;
	}
	if (getgrnam(d->cfg.query_group) == NULL) {
		fprintf(stderr, "%s: query.group \"%s\" does not exist\n",
		    d->cfg.file, d->cfg.query_group);
		bad = 1;
	}
	if (!bad)
		warn_unpinned(d);
	if (print && !bad)
		printf("%s: configuration OK (%zu listener%s)\n", d->cfg.file,
		    d->cfg.n_listeners, d->cfg.n_listeners == 1 ? "" : "s");
	return bad ? -1 : 0;
}

static void
setup_listeners(struct mtlsd *d)
{
	char err[CONFIG_ERR_MAX];
	size_t i;

	d->n_listeners = d->cfg.n_listeners;
	if ((d->listeners = calloc(d->n_listeners, sizeof(*d->listeners))) ==
	    NULL)
		fatal("calloc");
	for (i = 0; i < d->n_listeners; i++) {
		d->listeners[i].cfg = &d->cfg.listeners[i];
		d->listeners[i].fd = -1;
		d->listeners[i].tls = tls_ctx_new(&d->cfg.listeners[i],
		    d->cfg.file, err, sizeof(err));
		if (d->listeners[i].tls == NULL)
			fatalx("%s", err);
	}
	if (listener_open_all(d, err, sizeof(err)) != 0)
		fatalx("%s", err);
}

static int
open_devnull_stdin(void)
{
	int fd;

	/* Keep fds 0-2 taken so no socket ever lands on them. */
	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	return fd == -1 ? -1 : 0;
}

/*
 * Go to the background, but let the parent wait until the daemon is ready
 * (or has failed), so "mtlsd" exits non-zero when start-up fails and its
 * errors still reach the terminal.  Returns the pipe end to report on.
 */
static int
detach(void)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 && c == 'R' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	/* Keep no directory busy (every path in the configuration is absolute). */
	if (chdir("/") == -1)
		fatal("chdir /");
	log_startup_stderr(1);
	return p[1];
}

/* Ready: release the waiting parent and let go of the terminal. */
static void
detach_done(int ready_fd)
{
	int fd;

	if (ready_fd == -1)
		return;
	log_startup_stderr(0);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
	}
	if (write(ready_fd, "R", 1) != 1)
		log_warn("cannot tell the parent we are ready");
	close(ready_fd);
}

int
main(int argc, char *argv[])
{
	struct mtlsd d;
	const char *conf = CONFIG_DEFAULT_PATH;
	char err[CONFIG_ERR_MAX];
	bool foreground = false, debug = false, test = false;
	int ready_fd = -1;
	struct logfmt lf;
	sigset_t sigs;
	size_t i;
	int ch, sig, rc;

	while ((ch = getopt(argc, argv, "c:dft")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			test = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init("mtlsd", 1, LOG_DAEMON);	/* until the configuration says */
	memset(&d, 0, sizeof(d));
	d.query_fd = d.stop_fd = -1;
	if ((rc = config_load(conf, &d.cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (tls_global_init() != 0) {
		fprintf(stderr, "mtlsd: cannot initialise the TLS library\n");
		return 1;
	}
	if (test) {
		rc = check_config(&d, true);
		config_free(&d.cfg);
		tls_global_cleanup();
		return rc == 0 ? 0 : 1;
	}
	if (check_config(&d, false) != 0)
		return 1;

	if (debug)
		foreground = true;	/* -d logs to stderr: stay attached */
	log_init("mtlsd", debug, d.cfg.log_facility);
	log_setlevel(debug ? LOGLVL_DEBUG : d.cfg.log_level);
	if (!foreground)
		ready_fd = detach();
	if (open_devnull_stdin() != 0)
		fatal("open /dev/null");

	/* Every thread inherits this mask; main takes signals with sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* As root: listeners, keys, query socket.  Then drop, once. */
	setup_listeners(&d);
	if (query_open(&d, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if ((d.sessions = session_table_new()) == NULL)
		fatal("session table");
	if ((d.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		fatal("eventfd");
	priv_drop(d.cfg.user, d.cfg.group);
	d.self_uid = geteuid();

	d.started = time(NULL);
	d.workers = d.cfg.workers;
	if (d.workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		d.workers = n < 1 ? 1 : n > 64 ? 64 : (int)n;
	}
	if (query_start(&d) != 0)
		fatal("query server");
	if (relay_start(&d) != 0)
		fatal("workers");

	logfmt_init(&lf, "ready");
	logfmt_int(&lf, "pid", getpid());
	logfmt_int(&lf, "workers", d.workers);
	for (i = 0; i < d.n_listeners; i++)
		logfmt_str(&lf, "listen", d.cfg.listeners[i].listen);
	logfmt_str(&lf, "query", d.cfg.query_socket);
	logfmt_emit(&lf, LOGLVL_NOTICE);
	detach_done(ready_fd);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_warnx("event=reload result=unsupported "
			    "detail=\"configuration reload on SIGHUP is not "
			    "available yet; restart mtlsd to apply changes\"");
			continue;
		}
		break;
	}

	logfmt_init(&lf, "stopping");
	logfmt_str(&lf, "signal", sig == SIGTERM ? "TERM" : "INT");
	logfmt_emit(&lf, LOGLVL_NOTICE);
	/* Workers and the query thread all watch stop_fd. */
	if (eventfd_write(d.stop_fd, 1) == -1)
		fatal("eventfd_write");
	relay_join(&d);
	for (i = 0; i < d.n_listeners; i++)
		close(d.listeners[i].fd);
	query_join(&d);
	logfmt_init(&lf, "stop");
	logfmt_emit(&lf, LOGLVL_NOTICE);

	for (i = 0; i < d.n_listeners; i++)
		tls_ctx_free(d.listeners[i].tls);
	free(d.listeners);
	session_table_free(d.sessions);
	close(d.stop_fd);
	config_free(&d.cfg);
	tls_global_cleanup();
	return 0;
}
