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

/* Reload, and say how it went in one audit line. */
int
mtlsd_reload_audit(struct mtlsd *d, const char *trigger, uint64_t *serial,
    char *err, size_t errsize)
{
	struct logfmt lf;
	int rc;

	sdnotify_reloading(&d->notify);
	rc = mtlsd_reload(d, serial, err, errsize);
	/* A failed reload keeps the old configuration serving: ready again. */
	sdnotify_send(&d->notify, rc == 0 ? "READY=1\nSTATUS=serving" :
	    "READY=1\nSTATUS=serving; the last reload failed (see the log)");
	atomic_fetch_add(rc == 0 ? &d->stats.reloads :
	    &d->stats.reload_failures, 1);
	logfmt_init(&lf, "reload");
	logfmt_str(&lf, "trigger", trigger);
	logfmt_str(&lf, "result", rc == 0 ? "ok" : "fail");
	if (rc == 0)
		logfmt_int(&lf, "serial", (long long)*serial);
	else
		logfmt_str(&lf, "error", err);
	logfmt_emit(&lf, rc == 0 ? LOGLVL_NOTICE : LOGLVL_ERR);
	return rc;
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
	const struct mtlsd_config *cfg;
	struct generation *g;
	char *conf_abs;
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
	/* Absolute: a reload in the background runs from "/". */
	conf_abs = realpath(conf, NULL);
	d.conf_path = conf_abs != NULL ? conf_abs : conf;
	d.debug = debug;
	if ((d.boot = config_ref_load(conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(conf_abs);
		return 1;
	}
	cfg = &d.boot->cfg;
	if (tls_global_init() != 0) {
		fprintf(stderr, "mtlsd: cannot initialise the TLS library\n");
		free(conf_abs);
		return 1;
	}
	rc = conf_check(cfg, stderr);
	if (rc == 0)
		conf_warn_unpinned(cfg);
	if (test) {
		if (rc == 0)
			printf("%s: configuration OK (%zu listener%s)\n",
			    cfg->file, cfg->n_listeners,
			    cfg->n_listeners == 1 ? "" : "s");
		config_ref_release(d.boot);
		tls_global_cleanup();
		free(conf_abs);
		return rc == 0 ? 0 : 1;
	}
	if (rc != 0) {
		config_ref_release(d.boot);
		tls_global_cleanup();
		free(conf_abs);
		return 1;
	}

	if (debug)
		foreground = true;	/* -d logs to stderr: stay attached */
	log_init("mtlsd", debug, cfg->log_facility);
	log_setlevel(debug ? LOGLVL_DEBUG : cfg->log_level);
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

	if (sdnotify_open(&d.notify, err, sizeof(err)) != 0)
		fatalx("%s", err);

	/* As root: listeners, keys, query socket.  Then drop, once. */
	pthread_mutex_init(&d.gen_lock, NULL);
	pthread_mutex_init(&d.reload_lock, NULL);
	if (listener_open_all(&d, cfg, err, sizeof(err)) != 0 ||
	    gen_build(&d, d.boot, NULL, &g, err, sizeof(err)) != 0)
		fatalx("%s", err);
	gen_install(&d, g);
	if (query_open(&d, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if ((d.sessions = session_table_new()) == NULL)
		fatal("session table");
	if ((d.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		fatal("eventfd");
	srcports_init(&d.srcports);
	priv_drop(cfg->user, cfg->group);
	d.self_uid = geteuid();

	d.started = time(NULL);
	d.workers = cfg->workers;
	if (d.workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		d.workers = n < 1 ? 1 : n > 64 ? 64 : (int)n;
	}
	if (query_start(&d) != 0)
		fatal("query server");
	if (ocsp_start(&d) != 0)
		fatal("ocsp");
	if (relay_start(&d) != 0)
		fatal("workers");
	if (crlwatch_start(&d) != 0)
		fatal("crl watch");

	logfmt_init(&lf, "ready");
	logfmt_int(&lf, "pid", getpid());
	logfmt_int(&lf, "workers", d.workers);
	for (i = 0; i < d.n_socks; i++)
		logfmt_str(&lf, d.socks[i].from_systemd ? "listen_systemd" :
		    "listen", d.socks[i].text);
	logfmt_str(&lf, "query", cfg->query_socket);
	logfmt_emit(&lf, LOGLVL_NOTICE);
	detach_done(ready_fd);
	sdnotify_send(&d.notify, "READY=1\nSTATUS=serving");

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			uint64_t serial;

			(void)mtlsd_reload_audit(&d, "SIGHUP", &serial, err,
			    sizeof(err));
			continue;
		}
		break;
	}

	logfmt_init(&lf, "stopping");
	logfmt_str(&lf, "signal", sig == SIGTERM ? "TERM" : "INT");
	logfmt_emit(&lf, LOGLVL_NOTICE);
	sdnotify_send(&d.notify, "STOPPING=1");
	/* Workers and the query thread all watch stop_fd. */
	if (eventfd_write(d.stop_fd, 1) == -1)
		fatal("eventfd_write");
	relay_join(&d);
	ocsp_join(&d);
	relay_free(&d);
	crlwatch_join(&d);
	for (i = 0; i < d.n_socks; i++)
		close(d.socks[i].fd);
	query_join(&d);
	logfmt_init(&lf, "stop");
	logfmt_emit(&lf, LOGLVL_NOTICE);

	gen_release(d.gen);
	tickets_free();
	free(d.socks);
	session_table_free(d.sessions);
	close(d.stop_fd);
	sdnotify_close(&d.notify);
	config_ref_release(d.boot);
	tls_thread_cleanup();
	tls_global_cleanup();
	free(conf_abs);
	return 0;
}
