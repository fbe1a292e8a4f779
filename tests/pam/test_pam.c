/*
 * test_pam.c: pam_mtls.so driven through libpamtest under pam_wrapper,
 * against the real mtlsd and against fake daemons (DESIGN 3.4, 4.4).
 *
 *   test_pam --services SVCDIR RUNDIR	write the PAM service files
 *   test_pam RUNDIR LOGDIR		run the tests (under pam_wrapper)
 *
 * pam_wrapper copies the service directory when the process starts, so
 * tests/pam/run.sh writes the service files with the first form and then
 * runs the second with LD_PRELOAD=libpam_wrapper.so, PAM_WRAPPER=1 and
 * PAM_WRAPPER_SERVICE_DIR=SVCDIR.  Both forms derive every path, uid and
 * argument from RUNDIR and the invoking user, so they agree.  Connections
 * a service names with fd=N are dup'ed to those fixed numbers.
 *
 * The module runs inside this process: it must find the backend end of a
 * connection that came through mtlsd, so this process is the backend.  It
 * listens on a TCP port and a unix socket that mtlsd's listeners forward
 * to, starts "openssl s_client" with a test certificate through mtlsd and
 * accepts the proxied connection before calling PAM.
 *
 * Environment: MTLS_TOP (top of the tree), MTLS_TEST_PKI (tests/pki
 * output).  Prints one "PASS pam/NAME", "FAIL pam/NAME: why" or
 * "SKIP pam/NAME: why" line per result on stdout; diagnostics, the PAM
 * log lines (pam_wrapper prints pam_syslog to stderr) and the fake
 * daemons' notes go to stderr.  Exits 1 when anything failed.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <security/pam_appl.h>
#include <libpamtest.h>

#include "netaddr.h"
#include "pam_test.h"
#include "query.h"

/* The descriptors that services name with fd=N. */
#define FD_MTLS		100	/* a connection through mtlsd */
#define FD_FAKE		101	/* the connection fake daemons are asked about */

#define NOBODY_UID	65534
#define WRONG_UID	12345
#define NO_SUCH_USER	"mtls-no-such-user"
#define SUN_MAX		sizeof(((struct sockaddr_un *)0)->sun_path)

/* ------------------------------------------------------------ globals */

static const char *top, *pki, *rundir, *logdir;
static char module[PATH_MAX], mtlsd_bin[PATH_MAX];
static char me[64], mygroup[64], other[64];
static uid_t my_uid;
static bool is_root;
static uid_t fake_uid, fake_wrong_uid;

/* Sockets and files under RUNDIR. */
static char q_dir[PATH_MAX], q_sock[PATH_MAX];		/* mtlsd query */
static char f_dir[PATH_MAX], f_sock[PATH_MAX];		/* fake, trusted dir */
static char f_regular[PATH_MAX];			/* not a socket */
static char o_dir[PATH_MAX], o_sock[PATH_MAX];		/* fake, dir 0777 */
static char w_dir[PATH_MAX], w_sock[PATH_MAX];		/* fake, socket 0666 */
static char u_dir[PATH_MAX], u_sock[PATH_MAX];		/* unix backend */
static char conf_path[PATH_MAX], capture_path[PATH_MAX];
static char crl_path[PATH_MAX], crl_tmp[PATH_MAX];	/* listener crl */

static pid_t mtlsd_pid = -1;
static char mtlsd_log[PATH_MAX];

/* Expected values for alice, from the PKI. */
static char alice_subject[512], alice_serial[128], alice_issuer[512],
    alice_sha256[128];

/* ------------------------------------------------------------- names */

static const char *
pam_name(int rc)
{
	static char buf[32];

	switch (rc) {
#define N(x) case x: return #x
	N(PAM_SUCCESS); N(PAM_OPEN_ERR); N(PAM_SYMBOL_ERR);
	N(PAM_SERVICE_ERR); N(PAM_SYSTEM_ERR); N(PAM_BUF_ERR);
	N(PAM_PERM_DENIED); N(PAM_AUTH_ERR); N(PAM_CRED_INSUFFICIENT);
	N(PAM_AUTHINFO_UNAVAIL); N(PAM_USER_UNKNOWN); N(PAM_MAXTRIES);
	N(PAM_NEW_AUTHTOK_REQD); N(PAM_ACCT_EXPIRED); N(PAM_SESSION_ERR);
	N(PAM_CRED_UNAVAIL); N(PAM_CRED_EXPIRED); N(PAM_CRED_ERR);
	N(PAM_NO_MODULE_DATA); N(PAM_CONV_ERR); N(PAM_AUTHTOK_ERR);
	N(PAM_AUTHTOK_RECOVERY_ERR); N(PAM_AUTHTOK_LOCK_BUSY);
	N(PAM_AUTHTOK_DISABLE_AGING); N(PAM_TRY_AGAIN); N(PAM_IGNORE);
	N(PAM_ABORT); N(PAM_AUTHTOK_EXPIRED); N(PAM_MODULE_UNKNOWN);
	N(PAM_BAD_ITEM); N(PAM_CONV_AGAIN); N(PAM_INCOMPLETE);
#undef N
	}
	snprintf(buf, sizeof(buf), "PAM code %d", rc);
	return buf;
}

static const char *
op_name(enum pamtest_ops op)
{
	switch (op) {
	case PAMTEST_AUTHENTICATE:	return "auth";
	case PAMTEST_SETCRED:		return "setcred";
	case PAMTEST_ACCOUNT:		return "account";
	case PAMTEST_OPEN_SESSION:	return "open_session";
	case PAMTEST_CLOSE_SESSION:	return "close_session";
	case PAMTEST_CHAUTHTOK:		return "chauthtok";
	case PAMTEST_GETENVLIST:	return "getenvlist";
	case PAMTEST_KEEPHANDLE:	return "keephandle";
	}
	return "?";
}

/* ------------------------------------------------------------ helpers */

/* Whether the PAM log text holds needle (case-insensitive). */
static bool
log_has(const char *log, const char *needle)
{
	return log != NULL && needle[0] != '\0' && strcasestr(log, needle) != NULL;
}

/* The fingerprint without colons, for logs that print it compactly. */
static void
compact_hex(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in != '\0' && n + 1 < size; in++)
		if (*in != ':')
			out[n++] = *in;
	out[n] = '\0';
}

/* ---------------------------------------------------- the environment */

static void
pick_users(void)
{
	static const char *cands[] = { "nobody", "daemon", "bin", "sys" };
	struct passwd *pw;
	struct group *gr;
	size_t i;

	my_uid = getuid();
	is_root = my_uid == 0;
	if ((pw = getpwuid(my_uid)) == NULL) {
		fprintf(stderr, "uid %u has no passwd entry\n",
		    (unsigned)my_uid);
		exit(2);
	}
	snprintf(me, sizeof(me), "%s", pw->pw_name);
	if ((gr = getgrgid(getgid())) == NULL) {
		fprintf(stderr, "gid %u has no group entry\n",
		    (unsigned)getgid());
		exit(2);
	}
	snprintf(mygroup, sizeof(mygroup), "%s", gr->gr_name);
	other[0] = '\0';
	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		if ((pw = getpwnam(cands[i])) != NULL && pw->pw_uid != 0 &&
		    strcmp(pw->pw_name, me) != 0) {
			snprintf(other, sizeof(other), "%s", pw->pw_name);
			break;
		}
	}
	if (other[0] == '\0') {
		fprintf(stderr, "no second account (nobody, daemon, bin)\n");
		exit(2);
	}
	/*
	 * A fake daemon runs as root's test as nobody (it binds as root, so
	 * the socket file is root's, then drops before listen(), which is
	 * what SO_PEERCRED reports); as anyone else's, as that user.
	 */
	fake_uid = is_root ? NOBODY_UID : my_uid;
	fake_wrong_uid = fake_uid == WRONG_UID ? WRONG_UID + 1 : WRONG_UID;
}

static void
paths_init(void)
{
	path_join(q_dir, sizeof(q_dir), rundir, "q");
	path_join(q_sock, sizeof(q_sock), q_dir, "query.sock");
	path_join(f_dir, sizeof(f_dir), rundir, "f");
	path_join(f_sock, sizeof(f_sock), f_dir, "fake.sock");
	path_join(f_regular, sizeof(f_regular), f_dir, "regular");
	path_join(o_dir, sizeof(o_dir), rundir, "o");
	path_join(o_sock, sizeof(o_sock), o_dir, "fake.sock");
	path_join(w_dir, sizeof(w_dir), rundir, "w");
	path_join(w_sock, sizeof(w_sock), w_dir, "fake.sock");
	path_join(u_dir, sizeof(u_dir), rundir, "u");
	path_join(u_sock, sizeof(u_sock), u_dir, "backend.sock");
	path_join(conf_path, sizeof(conf_path), rundir, "mtlsd.conf");
	path_join(capture_path, sizeof(capture_path), rundir, "capture");
	path_join(crl_path, sizeof(crl_path), rundir, "clients.crl");
	path_join(crl_tmp, sizeof(crl_tmp), rundir, "clients.crl.new");
	if (strlen(q_sock) >= SUN_MAX || strlen(u_sock) >= SUN_MAX ||
	    strlen(f_sock) >= SUN_MAX || strlen(o_sock) >= SUN_MAX ||
	    strlen(w_sock) >= SUN_MAX) {
		fprintf(stderr, "RUNDIR %s is too long for unix sockets\n",
		    rundir);
		exit(2);
	}
}

/* ------------------------------------------------------ service files */

struct service {
	const char	*name;
	int		 daemon;	/* SVC_MTLSD, SVC_FAKE... */
	const char	*args;		/* after socket= and daemon_uid= */
};

enum {
	SVC_MTLSD,	/* the real daemon */
	SVC_FAKE,	/* fake daemon, trusted place, right uid */
	SVC_FAKE_WRONG,	/* fake daemon, daemon_uid not its uid */
	SVC_FAKE_OPEN,	/* fake daemon in a directory others can write */
	SVC_FAKE_WW,	/* fake daemon whose socket others can write */
	SVC_FAKE_FILE,	/* a regular file where the socket should be */
	SVC_BARE,	/* args exactly as given: no socket=, no daemon_uid= */
};

#define FD_MTLS_ARG	"fd=100"
#define FD_FAKE_ARG	"fd=101"

static const struct service services[] = {
	{ "mtls",		SVC_MTLSD,	"" },
	{ "mtls_debug",		SVC_MTLSD,	"debug" },
	{ "mtls_all_args",	SVC_MTLSD,	"listener=tcp timeout=5000 debug" },
	{ "mtls_fd",		SVC_MTLSD,	FD_MTLS_ARG },
	{ "mtls_setuser",	SVC_MTLSD,	"set_user" },
	{ "mtls_setuser_fd",	SVC_MTLSD,	"set_user " FD_MTLS_ARG },
	{ "mtls_l_tcp",		SVC_MTLSD,	"listener=tcp" },
	{ "mtls_l_unix",	SVC_MTLSD,	"listener=unix" },
	{ "bad_foo",		SVC_MTLSD,	"foo=bar" },
	{ "bad_debugx",		SVC_MTLSD,	"debugx" },
	{ "bad_socket_bare",	SVC_BARE,	"socket" },
	{ "bad_prefix",		SVC_MTLSD,	"xsocket=/tmp/x" },
	{ "bad_case",		SVC_MTLSD,	"Debug" },
	{ "bad_set_user_value",	SVC_MTLSD,	"set_user=yes" },
	{ "bad_fd",		SVC_MTLSD,	"fd=abc" },
	{ "bad_timeout",	SVC_MTLSD,	"timeout=soon" },
	{ "bad_daemon_uid",	SVC_MTLSD,	"daemon_uid=nobody" },
	{ "fake",		SVC_FAKE,	FD_FAKE_ARG },
	{ "fake_timeout",	SVC_FAKE,	FD_FAKE_ARG " timeout=300" },
	{ "fake_wrong_uid",	SVC_FAKE_WRONG,	FD_FAKE_ARG },
	{ "fake_open_dir",	SVC_FAKE_OPEN,	FD_FAKE_ARG },
	{ "fake_ww_socket",	SVC_FAKE_WW,	FD_FAKE_ARG },
	{ "fake_not_socket",	SVC_FAKE_FILE,	FD_FAKE_ARG },
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

static void
service_args(const struct service *s, char *out, size_t size)
{
	char uidarg[48] = "";
	const char *sock = q_sock;

	switch (s->daemon) {
	case SVC_BARE:
		snprintf(out, size, "%s", s->args);
		return;
	case SVC_MTLSD:
		/* The query socket is root's when root runs the test. */
		if (!is_root)
			snprintf(uidarg, sizeof(uidarg), " daemon_uid=%u",
			    (unsigned)my_uid);
		break;
	case SVC_FAKE:
	case SVC_FAKE_OPEN:
	case SVC_FAKE_WW:
	case SVC_FAKE_FILE:
		sock = s->daemon == SVC_FAKE ? f_sock :
		    s->daemon == SVC_FAKE_OPEN ? o_sock :
		    s->daemon == SVC_FAKE_WW ? w_sock : f_regular;
		snprintf(uidarg, sizeof(uidarg), " daemon_uid=%u",
		    (unsigned)fake_uid);
		break;
	case SVC_FAKE_WRONG:
		sock = f_sock;
		snprintf(uidarg, sizeof(uidarg), " daemon_uid=%u",
		    (unsigned)fake_wrong_uid);
		break;
	}
	snprintf(out, size, "socket=%s%s%s%s", sock, uidarg,
	    s->args[0] ? " " : "", s->args);
}

static int
write_services(const char *svcdir)
{
	char path[PATH_MAX], args[PATH_MAX + 512];
	size_t i;
	FILE *f;

	for (i = 0; i < NSERVICES; i++) {
		path_join(path, sizeof(path), svcdir, services[i].name);
		service_args(&services[i], args, sizeof(args));
		if ((f = fopen(path, "we")) == NULL) {
			perror(path);
			return 1;
		}
		fprintf(f, "auth     required %s %s\n", module, args);
		fprintf(f, "account  required %s %s\n", module, args);
		fprintf(f, "session  required %s %s\n", module, args);
		fprintf(f, "password required %s %s\n", module, args);
		if (fclose(f) != 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------- PAM plumbing */

static int
conv_fn(int num, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	int i;

	(void)data;
	for (i = 0; i < num; i++) {
		switch (msg[i]->msg_style) {
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			fprintf(stderr, "# conversation: %s\n",
			    msg[i]->msg ? msg[i]->msg : "(null)");
			break;
		default:
			/* The module must not prompt: there is nobody to ask. */
			fprintf(stderr, "# conversation: unexpected prompt "
			    "\"%s\"\n", msg[i]->msg ? msg[i]->msg : "(null)");
			*resp = NULL;
			return PAM_CONV_ERR;
		}
	}
	*resp = NULL;
	return PAM_SUCCESS;
}

/*
 * Run cases on a new handle for service (user may be NULL), or on ph when
 * given.  Returns true when every case returned what it expects; else
 * fills why.  log gets the captured PAM log when not NULL (free it).
 */
static bool
pam_steps(const char *service, const char *user, pam_handle_t *ph,
    struct pam_testcase *tc, size_t n, char **log, char *why, size_t whysize)
{
	enum pamtest_err perr;
	const struct pam_testcase *bad;
	char *text;
	size_t i;

	/* Steps that call no PAM function leave op_rv alone. */
	for (i = 0; i < n; i++)
		tc[i].op_rv = tc[i].pam_operation == PAMTEST_GETENVLIST ||
		    tc[i].pam_operation == PAMTEST_KEEPHANDLE ?
		    tc[i].expected_rv : -1;
	capture_start(capture_path);
	perr = _pamtest_conv(service, user, conv_fn, NULL, tc, n, ph);
	text = capture_end(capture_path);
	if (log != NULL)
		*log = text;
	else
		free(text);
	if (perr == PAMTEST_ERR_OK)
		return true;
	if (perr == PAMTEST_ERR_CASE &&
	    (bad = _pamtest_failed_case(tc, n)) != NULL) {
		snprintf(why, whysize, "service %s user %s: %s returned %s, "
		    "want %s", service, user ? user : "(none)",
		    op_name(bad->pam_operation), pam_name(bad->op_rv),
		    pam_name(bad->expected_rv));
		return false;
	}
	snprintf(why, whysize, "service %s user %s: libpamtest: %s", service,
	    user ? user : "(none)", pamtest_strerror(perr));
	return false;
}

/* One named result from a list of cases. */
static bool
check_steps(const char *name, const char *service, const char *user,
    struct pam_testcase *tc, size_t n)
{
	char why[512];

	if (pam_steps(service, user, NULL, tc, n, NULL, why, sizeof(why))) {
		pass(name);
		return true;
	}
	fail(name, "%s", why);
	return false;
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* auth alone, one named result. */
static bool
check_auth(const char *name, const char *service, const char *user,
    int expect)
{
	struct pam_testcase tc[] = {
		pam_test(PAMTEST_AUTHENTICATE, expect),
	};

	return check_steps(name, service, user, tc, NCASES(tc));
}

/* auth, timed; returns the PAM code and the time it took. */
static int
timed_auth(const char *service, const char *user, uint64_t *ms, char **log)
{
	struct pam_testcase tc[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
	};
	char why[512];
	uint64_t t0 = now_ms();

	pam_steps(service, user, NULL, tc, NCASES(tc), log, why, sizeof(why));
	*ms = now_ms() - t0;
	return tc[0].op_rv;
}

/* ------------------------------------------------------------ queries */

/* "MTLS/1 LOOKUP <local> <peer>" as a backend holding fd would ask. */
static int
expected_lookup(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	char local[NETADDR_TEXT_MAX], peer[NETADDR_TEXT_MAX];
	socklen_t len;

	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    netaddr_format((struct sockaddr *)&ss, len, local,
	    sizeof(local)) != 0)
		return -1;
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    netaddr_format((struct sockaddr *)&ss, len, peer,
	    sizeof(peer)) != 0)
		return -1;
	snprintf(out, size, "%s LOOKUP %s %s", QUERY_MAGIC, local, peer);
	return 0;
}

/* ------------------------------------------------------------- mtlsd */

static uint16_t backend_port;
static int backend_tcp = -1, backend_unix = -1;

/* The listener "crl" exists: its CRL file was written before start-up. */
static bool crl_ready;

static int
write_conf(uint16_t p_tcp, uint16_t p_unix, uint16_t p_open,
    uint16_t p_multi, uint16_t p_crl)
{
	FILE *f;
	char common[2048];

	snprintf(common, sizeof(common),
	    "    certificate = \"%s/server-chain.pem\";\n"
	    "    private_key = \"%s/server.key\";\n"
	    "    client_ca = \"%s/clients-ca.pem\";\n"
	    "    handshake_timeout = 10; idle_timeout = 120;\n"
	    "    max_connections = 100;\n", pki, pki, pki);
	if ((f = fopen(conf_path, "we")) == NULL)
		return -1;
	fprintf(f, "# written by tests/pam/test_pam\n"
	    "user = \"nobody\";\n"
	    "group = \"nogroup\";\n"
	    "query = { socket = \"%s\"; group = \"%s\"; mode = 0660; };\n"
	    "accounts = { min_uid = 0; allow_root = %s; };\n",
	    q_sock, mygroup, is_root ? "true" : "false");
	fprintf(f, "mappings = {\n"
	    "  pamtest = (\n"
	    "    { name = \"alice\"; field = \"subject.CN\"; equals = \"alice\";\n"
	    "      account = \"%s\"; }\n"
	    "  );\n"
	    "  multi = (\n"
	    "    { name = \"alice-me\"; field = \"subject.CN\";\n"
	    "      equals = \"alice\"; account = \"%s\"; },\n"
	    "    { name = \"alice-other\"; field = \"subject.CN\";\n"
	    "      equals = \"alice\"; account = \"%s\"; }\n"
	    "  );\n"
	    "};\n", me, me, other);
	fprintf(f, "listeners = (\n"
	    "  { name = \"tcp\"; listen = \"127.0.0.1:%u\";\n"
	    "    upstream = \"127.0.0.1:%u\"; mapping = \"pamtest\";\n%s  },\n"
	    "  { name = \"unix\"; listen = \"127.0.0.1:%u\";\n"
	    "    upstream = \"unix:%s\"; mapping = \"pamtest\";\n%s  },\n"
	    "  { name = \"open\"; listen = \"127.0.0.1:%u\";\n"
	    "    upstream = \"127.0.0.1:%u\"; mapping = \"pamtest\";\n"
	    "    require_mapping = false;\n%s  },\n"
	    "  { name = \"multi\"; listen = \"127.0.0.1:%u\";\n"
	    "    upstream = \"127.0.0.1:%u\"; mapping = \"multi\";\n%s  }",
	    p_tcp, backend_port, common,
	    p_unix, u_sock, common,
	    p_open, backend_port, common,
	    p_multi, backend_port, common);
	/* Its CRL is replaced while mtlsd runs (account_after_crl_revoke). */
	if (crl_ready)
		fprintf(f, ",\n"
		    "  { name = \"crl\"; listen = \"127.0.0.1:%u\";\n"
		    "    upstream = \"127.0.0.1:%u\"; mapping = \"pamtest\";\n"
		    "    crl = [ \"%s\" ];\n%s  }", p_crl, backend_port,
		    crl_path, common);
	fprintf(f, "\n);\n");
	return fclose(f) == 0 ? 0 : -1;
}

static uint16_t port_tcp, port_unix, port_open, port_multi, port_crl;

/*
 * tests/pki/mkcrl.py: a CRL from the test CA (ca.crt, ca.key) at out,
 * listing the PKI certificate revoke when not NULL.  0 when it worked;
 * its output goes to LOGDIR/mkcrl.log.
 */
static int
mkcrl(const char *out, const char *revoke)
{
	char script[PATH_MAX], ca[PATH_MAX], cakey[PATH_MAX], cert[PATH_MAX],
	    log[PATH_MAX], label[64];
	char *argv[] = { "python3", script, "--ca", ca, "--ca-key", cakey,
	    "-o", (char *)out, NULL, NULL, NULL };
	pid_t pid;
	int st;

	path_join(script, sizeof(script), top, "tests/pki/mkcrl.py");
	path_join(ca, sizeof(ca), pki, "ca.crt");
	path_join(cakey, sizeof(cakey), pki, "ca.key");
	path_join(log, sizeof(log), logdir, "mkcrl.log");
	if (revoke != NULL) {
		snprintf(label, sizeof(label), "%s.crt", revoke);
		path_join(cert, sizeof(cert), pki, label);
		argv[8] = "--revoke";
		argv[9] = cert;
	}
	if ((pid = spawn(argv, -1, log)) == -1)
		return -1;
	if (!wait_exit(pid, WAIT_MS * 3, &st)) {
		stop_child(pid, 1000);
		return -1;
	}
	untrack(pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		show_tail("mkcrl.py", log);
		return -1;
	}
	return 0;
}

static bool
mtlsd_start(void)
{
	char checklog[PATH_MAX];
	char *targv[] = { mtlsd_bin, "-t", "-c", conf_path, NULL };
	char *argv[] = { mtlsd_bin, "-f", "-d", "-c", conf_path, NULL };
	uint64_t end;
	pid_t pid;
	int st;

	path_join(checklog, sizeof(checklog), logdir, "mtlsd-t.log");
	path_join(mtlsd_log, sizeof(mtlsd_log), logdir, "mtlsd.log");
	unlink(checklog);
	unlink(mtlsd_log);
	if ((pid = spawn(targv, -1, checklog)) == -1 ||
	    !wait_exit(pid, WAIT_MS, &st)) {
		stop_child(pid, 1000);
		fail("mtlsd_config_check", "mtlsd -t did not finish");
		return false;
	}
	untrack(pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		show_tail("mtlsd -t", checklog);
		fail("mtlsd_config_check", "mtlsd -t -c %s failed (see %s)",
		    conf_path, checklog);
		return false;
	}
	if ((mtlsd_pid = spawn(argv, -1, mtlsd_log)) == -1) {
		fail("mtlsd_start", "fork: %s", strerror(errno));
		return false;
	}
	end = now_ms() + WAIT_MS;
	while (now_ms() < end) {
		if (file_has(mtlsd_log, "event=ready"))
			return true;
		if (waitpid(mtlsd_pid, &st, WNOHANG) == mtlsd_pid) {
			untrack(mtlsd_pid);
			mtlsd_pid = -1;
			break;
		}
		sleep_ms(50);
	}
	show_tail("mtlsd", mtlsd_log);
	fail("mtlsd_start", "mtlsd did not log event=ready (see %s)",
	    mtlsd_log);
	return false;
}

static void
mtlsd_stop(void)
{
	stop_child(mtlsd_pid, WAIT_MS);
	mtlsd_pid = -1;
}

/* A TLS client through mtlsd, and the backend end of its connection. */
struct client {
	pid_t	 pid;
	int	 in;		/* s_client's stdin: closing it ends it */
	int	 conn;		/* the proxied connection, accepted here */
};

static int nclients_started;

static void
client_close(struct client *c)
{
	if (c->in != -1)
		close(c->in);
	c->in = -1;
	if (c->pid > 0 && !wait_exit(c->pid, 3000, NULL))
		stop_child(c->pid, 2000);
	untrack(c->pid);
	c->pid = -1;
	if (c->conn != -1)
		close(c->conn);
	c->conn = -1;
}

/*
 * Connect cert (a PKI name) to mtlsd's port and accept the proxied
 * connection on lfd.  Fails the named result when it does not arrive.
 */
static bool
client_open(struct client *c, const char *name, const char *cert,
    uint16_t port, int lfd)
{
	char connect_to[64], crt[PATH_MAX], key[PATH_MAX], ca[PATH_MAX],
	    err[PATH_MAX], label[32];
	char *argv[] = { "openssl", "s_client", "-quiet", "-no_ign_eof",
	    "-connect", connect_to, "-servername", "localhost",
	    "-CAfile", ca, "-cert", crt, "-key", key, NULL };
	int p[2];

	c->pid = -1;
	c->in = c->conn = -1;
	snprintf(connect_to, sizeof(connect_to), "127.0.0.1:%u", port);
	snprintf(label, sizeof(label), "%s.crt", cert);
	path_join(crt, sizeof(crt), pki, label);
	snprintf(label, sizeof(label), "%s.key", cert);
	path_join(key, sizeof(key), pki, label);
	path_join(ca, sizeof(ca), pki, "ca.crt");
	snprintf(label, sizeof(label), "sclient-%d.err", ++nclients_started);
	path_join(err, sizeof(err), logdir, label);
	if (pipe2(p, O_CLOEXEC) == -1) {
		fail(name, "pipe: %s", strerror(errno));
		return false;
	}
	c->pid = spawn(argv, p[0], err);
	close(p[0]);
	c->in = p[1];
	if (c->pid == -1 || (c->conn = accept_within(lfd, WAIT_MS)) == -1) {
		show_tail("openssl s_client", err);
		show_tail("mtlsd", mtlsd_log);
		fail(name, "no proxied connection from mtlsd for %s via port "
		    "%u within %d ms (see %s, %s)", cert, port, WAIT_MS, err,
		    mtlsd_log);
		client_close(c);
		return false;
	}
	/*
	 * A line from the client, through mtlsd, before anything else: mtlsd
	 * relays only once the session is in its table, and a backend that
	 * accepted may otherwise ask a moment too early (real services read
	 * the client's first words before authenticating anyone).
	 */
	if (write_all(c->in, "hello\n", 6) != 0 ||
	    !read_line_within(c->conn, WAIT_MS)) {
		show_tail("openssl s_client", err);
		fail(name, "the line from %s did not come through mtlsd within "
		    "%d ms (see %s)", cert, WAIT_MS, err);
		client_close(c);
		return false;
	}
	return true;
}

/*
 * The TLS client goes away while the backend still holds its end.  mtlsd
 * passes the client's close on as a half-close (the backend reads EOF) and
 * keeps the session while the backend may still talk; the backend then
 * writes, as a server would, and mtlsd finds the client gone and ends the
 * session.  Returns true once mtlsd logged the session's close and closed
 * the backend's connection; the backend keeps its socket open.
 */
static bool
client_vanish(struct client *c)
{
	int before = count_in_file(mtlsd_log, "event=session_close");
	uint64_t end;

	close(c->in);
	c->in = -1;
	if (!wait_exit(c->pid, 3000, NULL)) {
		kill(c->pid, SIGKILL);
		wait_exit(c->pid, 5000, NULL);
	}
	untrack(c->pid);
	c->pid = -1;
	end = now_ms() + WAIT_MS;
	while (count_in_file(mtlsd_log, "event=session_close") <= before) {
		if (now_ms() >= end)
			return false;
		(void)send(c->conn, "bye\n", 4, MSG_NOSIGNAL);
		sleep_ms(100);
	}
	return wait_eof(c->conn, WAIT_MS);
}

/* ------------------------------------------------------- module symbols */

static void
test_symbols(void)
{
	static const char *entry[] = { "pam_sm_authenticate",
	    "pam_sm_setcred", "pam_sm_acct_mgmt", "pam_sm_open_session",
	    "pam_sm_close_session", "pam_sm_chauthtok" };
	char *nmargv[] = { "nm", "-D", "--defined-only", module, NULL };
	char line[512], bad[1024] = "";
	pid_t pid;
	void *h;
	size_t i;
	FILE *f;
	int n = 0, rc;

	if ((h = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fail("module_dlopen", "dlopen %s: %s", module, dlerror());
	} else {
		for (i = 0; i < sizeof(entry) / sizeof(entry[0]); i++)
			if (dlsym(h, entry[i]) == NULL)
				break;
		if (i < sizeof(entry) / sizeof(entry[0]))
			fail("module_dlopen", "dlsym %s: not found", entry[i]);
		else if (dlsym(h, "mtls_lookup") != NULL ||
		    dlsym(h, "query_record_parse") != NULL)
			fail("module_dlopen", "internal symbols are visible "
			    "to dlsym");
		else
			pass("module_dlopen");
		dlclose(h);
	}

	if ((f = pipe_from(nmargv, true, &pid)) == NULL) {
		skip("module_exports_only_pam_sm", "cannot run nm");
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char addr[64], type[8], sym[256];

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%63s %7s %255s", addr, type, sym) != 3) {
			if (line[0] != '\0')
				snprintf(bad + strlen(bad),
				    sizeof(bad) - strlen(bad), " [%s]", line);
			continue;
		}
		n++;
		if (strncmp(sym, "pam_sm_", 7) != 0)
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad),
			    " %s", sym);
	}
	rc = pipe_close(f, pid);
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) == 127)
		skip("module_exports_only_pam_sm", "nm is not available");
	else if (rc != 0 || n == 0)
		fail("module_exports_only_pam_sm", "nm -D --defined-only "
		    "failed or listed nothing:%s", bad);
	else if (bad[0] != '\0')
		fail("module_exports_only_pam_sm", "exports besides "
		    "pam_sm_*:%s", bad);
	else
		pass("module_exports_only_pam_sm");
}

/* -------------------------------------------------------- fake tests */

static int fake_conn[2] = { -1, -1 };

/* Start a fake at path in mode, run auth on service, stop the fake. */
static void
fake_case(const char *name, const char *service, const char *path,
    enum fake_mode mode, mode_t sockmode, int expect)
{
	struct fake fk;

	if (fake_start(&fk, path, mode, sockmode, fake_uid, me) != 0) {
		fail(name, "fake daemon (%s) did not start at %s",
		    fake_mode_names[mode], path);
		return;
	}
	check_auth(name, service, me, expect);
	fake_stop(&fk);
}

static void
test_fake(void)
{
	char want[512], got[512], *log = NULL;
	struct fake fk;
	uint64_t ms;
	int fd, rc;

	if (loopback_pair(fake_conn) != 0 ||
	    dup3(fake_conn[1], FD_FAKE, O_CLOEXEC) == -1) {
		fail("fake_setup", "loopback connection: %s", strerror(errno));
		return;
	}
	if (mkdir(f_dir, 0755) == -1 || mkdir(o_dir, 0755) == -1 ||
	    chmod(o_dir, 0777) == -1 || mkdir(w_dir, 0755) == -1) {
		fail("fake_setup", "directories under %s: %s", rundir,
		    strerror(errno));
		return;
	}

	/*
	 * The control: a trusted fake that answers a valid record for the
	 * connection is believed, and it was asked about exactly fd 101.
	 */
	if (fake_start(&fk, f_sock, FAKE_OK, 0660, fake_uid, me) != 0) {
		fail("fake_trusted_succeeds", "fake daemon did not start");
	} else {
		check_auth("fake_trusted_succeeds", "fake", me, PAM_SUCCESS);
		fake_request(&fk, got, sizeof(got), 2000);
		if (expected_lookup(FD_FAKE, want, sizeof(want)) != 0)
			fail("lookup_request_names_fd", "getsockname: %s",
			    strerror(errno));
		else if (strcmp(got, want) != 0)
			fail("lookup_request_names_fd", "request \"%s\", want "
			    "\"%s\"", got, want);
		else
			pass("lookup_request_names_fd");
		fake_stop(&fk);
	}

	/* Trust (DESIGN 4.4). */
	fake_case("untrusted_daemon_uid", "fake_wrong_uid", f_sock, FAKE_OK,
	    0660, PAM_AUTHINFO_UNAVAIL);
	fake_case("socket_dir_others_writable", "fake_open_dir", o_sock,
	    FAKE_OK, 0660, PAM_AUTHINFO_UNAVAIL);
	fake_case("socket_others_writable", "fake_ww_socket", w_sock,
	    FAKE_OK, 0666, PAM_AUTHINFO_UNAVAIL);
	if ((fd = open(f_regular, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		fail("socket_not_a_socket", "%s: %s", f_regular,
		    strerror(errno));
	} else {
		close(fd);
		check_auth("socket_not_a_socket", "fake_not_socket", me,
		    PAM_AUTHINFO_UNAVAIL);
	}

	/* Answers outside the protocol. */
	fake_case("garbage_text", "fake", f_sock, FAKE_TEXT, 0660,
	    PAM_AUTHINFO_UNAVAIL);
	fake_case("garbage_binary", "fake", f_sock, FAKE_BINARY, 0660,
	    PAM_AUTHINFO_UNAVAIL);
	fake_case("garbage_short", "fake", f_sock, FAKE_SHORT, 0660,
	    PAM_AUTHINFO_UNAVAIL);
	fake_case("garbage_bad_escape", "fake", f_sock, FAKE_BAD_ESCAPE, 0660,
	    PAM_AUTHINFO_UNAVAIL);
	fake_case("garbage_version", "fake", f_sock, FAKE_VERSION, 0660,
	    PAM_AUTHINFO_UNAVAIL);
	fake_case("garbage_huge_record", "fake", f_sock, FAKE_HUGE, 0660,
	    PAM_AUTHINFO_UNAVAIL);
	fake_case("daemon_denies", "fake", f_sock, FAKE_DENIED, 0660,
	    PAM_AUTHINFO_UNAVAIL);
	fake_case("daemon_not_found", "fake", f_sock, FAKE_NOT_FOUND, 0660,
	    PAM_AUTHINFO_UNAVAIL);

	/* A daemon that accepts and never answers: timeout=300. */
	if (fake_start(&fk, f_sock, FAKE_SILENT, 0660, fake_uid, me) != 0) {
		fail("timeout", "fake daemon did not start");
	} else {
		rc = timed_auth("fake_timeout", me, &ms, &log);
		note("timeout=300: auth returned %s after %llu ms",
		    pam_name(rc), (unsigned long long)ms);
		if (rc != PAM_AUTHINFO_UNAVAIL)
			fail("timeout", "auth returned %s after %llu ms, want "
			    "PAM_AUTHINFO_UNAVAIL", pam_name(rc),
			    (unsigned long long)ms);
		else if (ms >= FAKE_GIVE_UP_MS)
			fail("timeout", "auth returned only when the silent "
			    "daemon hung up after %llu ms (timeout=300)",
			    (unsigned long long)ms);
		else
			pass("timeout");
		free(log);
		fake_stop(&fk);
	}
	unlink(f_sock);
}

/* ------------------------------------------------------- mtlsd tests */

/* The PAM environment holds name=want. */
static bool
env_check(char **env, const char *name, const char *want, char *why,
    size_t whysize)
{
	size_t i, n = strlen(name);

	for (i = 0; env != NULL && env[i] != NULL; i++) {
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=') {
			if (strcmp(env[i] + n + 1, want) == 0)
				return true;
			snprintf(why, whysize, "%s=\"%s\", want \"%s\"", name,
			    env[i] + n + 1, want);
			return false;
		}
	}
	snprintf(why, whysize, "%s is not in the PAM environment", name);
	return false;
}

static void
test_session_env(void)
{
	struct pam_testcase tc[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS),
		pam_test(PAMTEST_GETENVLIST, 0),
		pam_test(PAMTEST_CLOSE_SESSION, PAM_SUCCESS),
	};
	char why[512];
	char **env;
	const struct { const char *name; const char *want; } vars[] = {
		{ "MTLS_SUBJECT", alice_subject },
		{ "MTLS_ISSUER", alice_issuer },
		{ "MTLS_SERIAL", alice_serial },
		{ "MTLS_SHA256", alice_sha256 },
		{ "MTLS_ACCOUNT", me },
		{ "MTLS_LISTENER", "tcp" },
	};
	size_t i;
	bool ok = true;

	if (!pam_steps("mtls", me, NULL, tc, NCASES(tc), NULL, why,
	    sizeof(why))) {
		fail("session_exports_env", "%s", why);
		pamtest_free_env(tc[2].case_out.envlist);
		return;
	}
	env = tc[2].case_out.envlist;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (vars[i].want[0] == '\0') {
			note("no expected value for %s; presence only",
			    vars[i].name);
			continue;
		}
		if (!env_check(env, vars[i].name, vars[i].want, why,
		    sizeof(why))) {
			ok = false;
			break;
		}
	}
	if (ok)
		pass("session_exports_env");
	else
		fail("session_exports_env", "%s", why);
	pamtest_free_env(env);
}

/* auth with set_user and no user: PAM_USER must become want. */
static void
test_set_user(const char *name, const char *service, int expect,
    const char *want)
{
	struct pam_testcase tc[] = {
		pam_test(PAMTEST_AUTHENTICATE, expect),
		pam_test(PAMTEST_KEEPHANDLE, 0),
	};
	const void *item = NULL;
	pam_handle_t *ph;
	char why[512];

	if (!pam_steps(service, NULL, NULL, tc, NCASES(tc), NULL, why,
	    sizeof(why))) {
		/* pam_end already ran on a failed case */
		fail(name, "%s", why);
		return;
	}
	ph = tc[1].case_out.ph;
	if (want == NULL) {
		pass(name);
	} else if (pam_get_item(ph, PAM_USER, &item) != PAM_SUCCESS ||
	    item == NULL) {
		fail(name, "PAM_USER is not set after auth with set_user");
	} else if (strcmp(item, want) != 0) {
		fail(name, "PAM_USER is \"%s\", want \"%s\"",
		    (const char *)item, want);
	} else {
		pass(name);
	}
	pam_end(ph, PAM_SUCCESS);
}

/* auth with MTLS_FD in the PAM environment. */
static void
test_mtls_fd_env(const char *name, const char *value, int expect,
    bool any_failure)
{
	struct pam_testcase tc[] = {
		pam_test(PAMTEST_AUTHENTICATE, expect),
	};
	struct pam_conv conv = { conv_fn, NULL };
	pam_handle_t *ph = NULL;
	char env[64], why[512];

	if (pam_start("mtls", me, &conv, &ph) != PAM_SUCCESS) {
		fail(name, "pam_start failed");
		return;
	}
	snprintf(env, sizeof(env), "MTLS_FD=%s", value);
	if (pam_putenv(ph, env) != PAM_SUCCESS) {
		fail(name, "pam_putenv %s failed", env);
		pam_end(ph, PAM_SUCCESS);
		return;
	}
	/* libpamtest runs the cases on ph and ends it. */
	if (pam_steps("mtls", me, ph, tc, NCASES(tc), NULL, why,
	    sizeof(why)))
		pass(name);
	else if (any_failure && tc[0].op_rv != PAM_SUCCESS &&
	    tc[0].op_rv != PAM_IGNORE && tc[0].op_rv != -1)
		pass(name);
	else
		fail(name, "%s", why);
}

static void
test_bad_args(void)
{
	static const struct {
		const char	*name;
		const char	*service;
		const char	*arg;
	} bad[] = {
		{ "bad_arg_foo_bar", "bad_foo", "foo=bar" },
		{ "bad_arg_debugx", "bad_debugx", "debugx" },
		{ "bad_arg_socket_without_value", "bad_socket_bare", "socket" },
		{ "bad_arg_prefix", "bad_prefix", "xsocket" },
		{ "bad_arg_case", "bad_case", "Debug" },
		{ "bad_arg_set_user_value", "bad_set_user_value",
		    "set_user=yes" },
		{ "bad_arg_fd", "bad_fd", "fd=abc" },
		{ "bad_arg_timeout", "bad_timeout", "timeout=soon" },
		{ "bad_arg_daemon_uid", "bad_daemon_uid", "daemon_uid=nobody" },
	};
	struct pam_testcase tc[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SERVICE_ERR),
	};
	struct pam_testcase acc[] = {
		pam_test(PAMTEST_ACCOUNT, PAM_SERVICE_ERR),
		pam_test(PAMTEST_OPEN_SESSION, PAM_SERVICE_ERR),
	};
	char why[512], *log;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		log = NULL;
		if (!pam_steps(bad[i].service, me, NULL, tc, NCASES(tc), &log,
		    why, sizeof(why)))
			fail(bad[i].name, "%s", why);
		else if (!log_has(log, bad[i].arg))
			fail(bad[i].name, "PAM_SERVICE_ERR, but no log line "
			    "names the argument \"%s\"", bad[i].arg);
		else
			pass(bad[i].name);
		free(log);
	}
	check_steps("bad_arg_account_and_session", "bad_foo", me, acc,
	    NCASES(acc));
}

/* The decision lines name user, subject, serial and fingerprint. */
static void
check_decision_log(const char *name, const char *log, const char *user)
{
	char compact[128];

	compact_hex(alice_sha256, compact, sizeof(compact));
	if (!log_has(log, user))
		fail(name, "no PAM log line names the user %s", user);
	else if (!log_has(log, "CN=alice"))
		fail(name, "no PAM log line names the subject %s",
		    alice_subject);
	else if (!log_has(log, alice_serial))
		fail(name, "no PAM log line names the serial %s",
		    alice_serial);
	else if (alice_sha256[0] != '\0' && !log_has(log, alice_sha256) &&
	    !log_has(log, compact))
		fail(name, "no PAM log line names the sha256 %s",
		    alice_sha256);
	else
		pass(name);
}

/*
 * Issue 5: alice holds a session through the listener crl, whose CRL
 * revokes nobody; the account stage grants her.  A new CRL revoking her
 * replaces the file (a temporary name renamed over it, as tools do); mtlsd
 * sees the change on its own and closes her session.  Within 5 s the
 * account stage on the handle that authenticated her must stop granting,
 * with PAM_AUTHINFO_UNAVAIL (the session is gone), and a fresh auth on
 * that same connection must fail too.
 */
#define CRL_REVOKE_MS	5000

static void
test_crl_revoke(void)
{
	static const char name[] = "account_after_crl_revoke";
	struct pam_testcase keep[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
		pam_test(PAMTEST_KEEPHANDLE, 0),
	};
	struct pam_testcase auth[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL),
	};
	struct client c;
	pam_handle_t *ph;
	char why[512], awhy[512];
	uint64_t t0, end, took;
	int rc = -1, before, polls = 0;

	if (!crl_ready) {
		fail(name, "tests/pki/mkcrl.py could not write %s (see %s/"
		    "mkcrl.log); listener crl not configured", crl_path,
		    logdir);
		return;
	}
	if (!client_open(&c, name, "alice", port_crl, backend_tcp))
		return;
	if (!pam_steps("mtls", me, NULL, keep, NCASES(keep), NULL, why,
	    sizeof(why))) {
		fail(name, "before the new CRL: %s", why);
		client_close(&c);
		return;
	}
	ph = keep[2].case_out.ph;
	before = count_in_file(mtlsd_log, "reason=revoked");

	if (mkcrl(crl_tmp, "alice") != 0) {
		fail(name, "tests/pki/mkcrl.py --revoke alice.crt failed (see "
		    "%s/mkcrl.log)", logdir);
		pam_end(ph, PAM_SUCCESS);
		client_close(&c);
		return;
	}
	if (rename(crl_tmp, crl_path) == -1) {
		fail(name, "rename %s %s: %s", crl_tmp, crl_path,
		    strerror(errno));
		pam_end(ph, PAM_SUCCESS);
		client_close(&c);
		return;
	}

	/*
	 * The account stage on the same handle until it stops granting.  A
	 * step that does not return PAM_SUCCESS ends the handle (libpamtest
	 * calls pam_end on a failed case).
	 */
	t0 = now_ms();
	end = t0 + CRL_REVOKE_MS;
	for (;;) {
		struct pam_testcase acct[] = {
			pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
			pam_test(PAMTEST_KEEPHANDLE, 0),
		};

		polls++;
		if (!pam_steps("mtls", me, ph, acct, NCASES(acct), NULL, why,
		    sizeof(why))) {
			rc = acct[0].op_rv;
			ph = NULL;
			break;
		}
		ph = acct[1].case_out.ph;
		if (now_ms() >= end)
			break;
		sleep_ms(100);
	}
	took = now_ms() - t0;
	note("%s: account stopped granting after %llu ms (%d polls): %s",
	    name, (unsigned long long)took, polls, pam_name(rc));
	if (ph != NULL) {
		pam_end(ph, PAM_SUCCESS);
		show_tail("mtlsd", mtlsd_log);
		fail(name, "account still PAM_SUCCESS %d ms after a CRL "
		    "revoking alice replaced %s (see %s)", CRL_REVOKE_MS,
		    crl_path, mtlsd_log);
		client_close(&c);
		return;
	}

	/* A fresh auth for alice's account on the same connection. */
	pam_steps("mtls", me, NULL, auth, NCASES(auth), NULL, awhy,
	    sizeof(awhy));

	/* mtlsd says why the session went away. */
	end = now_ms() + WAIT_MS;
	while (count_in_file(mtlsd_log, "reason=revoked") <= before &&
	    now_ms() < end)
		sleep_ms(50);

	if (rc != PAM_AUTHINFO_UNAVAIL)
		fail(name, "account after the CRL revoking alice returned %s, "
		    "want PAM_AUTHINFO_UNAVAIL (%s)", pam_name(rc), why);
	else if (auth[0].op_rv == PAM_SUCCESS ||
	    auth[0].op_rv == PAM_IGNORE || auth[0].op_rv == -1)
		fail(name, "a fresh auth on alice's revoked connection "
		    "returned %s (%s)", pam_name(auth[0].op_rv), awhy);
	else if (count_in_file(mtlsd_log, "reason=revoked") <= before) {
		show_tail("mtlsd", mtlsd_log);
		fail(name, "her session is gone, but mtlsd logged no "
		    "session_close with reason=revoked (see %s)", mtlsd_log);
	} else
		pass(name);
	client_close(&c);
}

static void
test_mtlsd(void)
{
	struct client a, b, c;
	char why[512], *log;
	int plain[2] = { -1, -1 };
	bool up;

	/* The backend: this process. */
	if ((backend_tcp = tcp_listen(&backend_port)) == -1 ||
	    mkdir(u_dir, 0755) == -1 ||
	    (backend_unix = unix_listen(u_sock, 0666)) == -1 ||
	    mkdir(q_dir, 0755) == -1) {
		fail("mtlsd_setup", "backend sockets under %s: %s", rundir,
		    strerror(errno));
		return;
	}
	port_tcp = free_port();
	port_unix = free_port();
	port_open = free_port();
	port_multi = free_port();
	port_crl = free_port();
	/* The listener crl starts with a CRL that revokes nobody. */
	crl_ready = mkcrl(crl_path, NULL) == 0;
	if (write_conf(port_tcp, port_unix, port_open, port_multi,
	    port_crl) != 0) {
		fail("mtlsd_setup", "%s: %s", conf_path, strerror(errno));
		return;
	}
	if (!mtlsd_start())
		return;

	/* Nothing of this process came through mtlsd yet. */
	check_auth("no_mtlsd_connection", "mtls", me, PAM_AUTHINFO_UNAVAIL);

	/* ---- one connection from alice through the TCP listener */
	if (client_open(&a, "alice_connects", "alice", port_tcp,
	    backend_tcp)) {
		struct pam_testcase ok[] = {
			pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
			pam_test(PAMTEST_SETCRED, PAM_SUCCESS),
			pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
		};
		struct pam_testcase wrong[] = {
			pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR),
			pam_test(PAMTEST_SETCRED, PAM_CRED_ERR),
		};
		struct pam_testcase cred[] = {
			pam_test(PAMTEST_SETCRED, PAM_SUCCESS),
		};
		struct pam_testcase acct[] = {
			pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
		};
		struct pam_testcase pw[] = {
			pam_test(PAMTEST_CHAUTHTOK, PAM_SERVICE_ERR),
		};
		struct pam_testcase keep[] = {
			pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
			pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
			pam_test(PAMTEST_KEEPHANDLE, 0),
		};
		struct pam_testcase after[] = {
			pam_test(PAMTEST_ACCOUNT, PAM_AUTHINFO_UNAVAIL),
		};

		log = NULL;
		if (pam_steps("mtls", me, NULL, ok, NCASES(ok), &log, why,
		    sizeof(why)))
			pass("success");
		else
			fail("success", "%s", why);
		check_decision_log("success_logged", log, me);
		free(log);

		log = NULL;
		/*
		 * setcred repeats auth's failure: as PAM_AUTH_ERR, or as
		 * PAM_CRED_ERR, pam_setcred(3)'s code for it.
		 */
		if (pam_steps("mtls", other, NULL, wrong, NCASES(wrong), &log,
		    why, sizeof(why)) || (wrong[0].op_rv == PAM_AUTH_ERR &&
		    wrong[1].op_rv == PAM_AUTH_ERR))
			pass("other_user");
		else
			fail("other_user", "%s", why);
		check_decision_log("other_user_logged", log, other);
		free(log);

		check_auth("account_missing", "mtls", NO_SUCH_USER,
		    PAM_USER_UNKNOWN);
		check_steps("setcred_without_auth", "mtls", me, cred,
		    NCASES(cred));
		check_steps("account_without_auth", "mtls", me, acct,
		    NCASES(acct));
		check_auth("debug_accepted", "mtls_debug", me, PAM_SUCCESS);
		check_auth("all_valid_arguments", "mtls_all_args", me,
		    PAM_SUCCESS);
		test_set_user("set_user", "mtls_setuser", PAM_SUCCESS, me);
		check_auth("listener_matches", "mtls_l_tcp", me, PAM_SUCCESS);
		check_auth("listener_other", "mtls_l_unix", me,
		    PAM_AUTHINFO_UNAVAIL);
		test_session_env();
		check_steps("password_service_err", "mtls", me, pw,
		    NCASES(pw));
		test_bad_args();

		/* account after the client went away */
		if (!pam_steps("mtls", me, NULL, keep, NCASES(keep), NULL, why,
		    sizeof(why))) {
			fail("account_after_close", "before closing: %s", why);
			client_close(&a);
		} else {
			pam_handle_t *ph = keep[2].case_out.ph;
			int rc;

			if (!client_vanish(&a))
				note("mtlsd logged no session_close within %d "
				    "ms", WAIT_MS);
			pam_steps("mtls", me, ph, after, NCASES(after), NULL,
			    why, sizeof(why));
			rc = after[0].op_rv;
			if (rc == PAM_AUTHINFO_UNAVAIL || rc == PAM_AUTH_ERR ||
			    rc == PAM_PERM_DENIED)
				pass("account_after_close");
			else
				fail("account_after_close", "account after the "
				    "client closed returned %s, want "
				    "PAM_AUTHINFO_UNAVAIL, PAM_AUTH_ERR or "
				    "PAM_PERM_DENIED", pam_name(rc));
			client_close(&a);
		}
	}

	/* ---- two connections from alice at once */
	if (client_open(&a, "ambiguous", "alice", port_tcp, backend_tcp)) {
		if (client_open(&b, "ambiguous", "alice", port_tcp,
		    backend_tcp)) {
			log = NULL;
			if (!pam_steps("mtls", me, NULL, (struct pam_testcase[])
			    { pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR) },
			    1, &log, why, sizeof(why)))
				fail("ambiguous", "%s", why);
			else if (!log_has(log, "fd=") ||
			    !log_has(log, "MTLS_FD"))
				fail("ambiguous", "PAM_AUTH_ERR, but no log "
				    "line tells the admin to set fd= or "
				    "MTLS_FD");
			else
				pass("ambiguous");
			free(log);

			if (dup3(b.conn, FD_MTLS, O_CLOEXEC) == -1) {
				fail("fd_selects", "dup3: %s",
				    strerror(errno));
			} else {
				check_auth("fd_selects", "mtls_fd", me,
				    PAM_SUCCESS);
				close(FD_MTLS);
			}
			snprintf(why, sizeof(why), "%d", a.conn);
			test_mtls_fd_env("mtls_fd_env_selects", why,
			    PAM_SUCCESS, false);
			test_mtls_fd_env("mtls_fd_env_invalid", "seven",
			    PAM_AUTHINFO_UNAVAIL, true);

			/* fd= naming a connection mtlsd does not know */
			if (loopback_pair(plain) != 0 ||
			    dup3(plain[1], FD_MTLS, O_CLOEXEC) == -1) {
				fail("fd_not_mtlsd", "loopback: %s",
				    strerror(errno));
			} else {
				check_auth("fd_not_mtlsd", "mtls_fd", me,
				    PAM_AUTHINFO_UNAVAIL);
				close(FD_MTLS);
			}
			if (plain[0] != -1) {
				close(plain[0]);
				close(plain[1]);
			}
			client_close(&b);
		}
		client_close(&a);
	}

	/* ---- bob: verified, mapped to nothing (require_mapping = false) */
	if (client_open(&c, "no_mapping", "bob", port_open, backend_tcp)) {
		check_auth("no_mapping", "mtls", me, PAM_AUTH_ERR);
		test_set_user("set_user_no_account", "mtls_setuser",
		    PAM_AUTH_ERR, NULL);
		client_close(&c);
	}

	/* ---- alice mapped to two accounts */
	if (client_open(&c, "several_accounts", "alice", port_multi,
	    backend_tcp)) {
		check_auth("several_accounts_either_user", "mtls", other,
		    PAM_SUCCESS);
		test_set_user("set_user_several_accounts", "mtls_setuser",
		    PAM_AUTH_ERR, NULL);
		client_close(&c);
	}

	/* ---- a unix socket upstream */
	if (client_open(&c, "unix_upstream", "alice", port_unix,
	    backend_unix)) {
		struct pam_testcase ok[] = {
			pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
			pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
		};

		check_steps("unix_upstream", "mtls", me, ok, NCASES(ok));
		check_auth("unix_upstream_other_user", "mtls", other,
		    PAM_AUTH_ERR);
		check_auth("unix_upstream_listener", "mtls_l_unix", me,
		    PAM_SUCCESS);
		client_close(&c);
	}

	/* ---- alice revoked by a new CRL while her session is live */
	test_crl_revoke();

	/* ---- the daemon goes away while a connection is held */
	up = client_open(&c, "daemon_down", "alice", port_tcp, backend_tcp);
	mtlsd_stop();
	if (up) {
		check_auth("daemon_down", "mtls", me, PAM_AUTHINFO_UNAVAIL);
		client_close(&c);
	}
	/* a socket file that nobody listens on: connection refused */
	{
		struct sockaddr_un sun;
		int fd;

		sun_set(&sun, q_sock);
		unlink(q_sock);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1 ||
		    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    chmod(q_sock, 0660) == -1) {
			fail("daemon_refuses", "bind %s: %s", q_sock,
			    strerror(errno));
		} else {
			check_auth("daemon_refuses", "mtls", me,
			    PAM_AUTHINFO_UNAVAIL);
		}
		if (fd != -1)
			close(fd);
		unlink(q_sock);
	}
}

/* --------------------------------------------------------------- main */

static void
expected_values(void)
{
	char path[PATH_MAX];
	char *issuer[] = { "openssl", "x509", "-in", path, "-noout",
	    "-issuer", "-nameopt", "RFC2253", NULL };
	char *fpr[] = { "openssl", "x509", "-in", path, "-noout",
	    "-fingerprint", "-sha256", NULL };

	path_join(path, sizeof(path), pki, "alice.subject");
	read_small(path, alice_subject, sizeof(alice_subject));
	path_join(path, sizeof(path), pki, "alice.serial");
	read_small(path, alice_serial, sizeof(alice_serial));
	path_join(path, sizeof(path), pki, "alice.crt");
	if (command_line(issuer, true, alice_issuer,
	    sizeof(alice_issuer)) != 0)
		alice_issuer[0] = '\0';
	if (command_line(fpr, true, alice_sha256, sizeof(alice_sha256)) != 0)
		alice_sha256[0] = '\0';
	note("alice: subject \"%s\" issuer \"%s\" serial %s sha256 %s",
	    alice_subject, alice_issuer, alice_serial, alice_sha256);
}

static void
cleanup(void)
{
	if (mtlsd_pid > 0)
		mtlsd_stop();
	kill_children();
	if (fake_conn[0] != -1)
		close(fake_conn[0]);
	if (fake_conn[1] != -1)
		close(fake_conn[1]);
	close(FD_FAKE);
	if (backend_tcp != -1)
		close(backend_tcp);
	if (backend_unix != -1)
		close(backend_unix);
	unlink(capture_path);
}

static void
usage(void)
{
	fprintf(stderr, "usage: test_pam --services SVCDIR RUNDIR\n"
	    "       test_pam RUNDIR LOGDIR\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	char path[PATH_MAX];

	if ((top = getenv("MTLS_TOP")) == NULL || *top == '\0')
		top = ".";
	path_join(path, sizeof(path), top, "pam_mtls/pam_mtls.so");
	if (realpath(path, module) == NULL) {
		fprintf(stderr, "%s: %s (build it with make "
		    "pam_mtls/pam_mtls.so)\n", path, strerror(errno));
		printf("FAIL pam/module_built: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	path_join(path, sizeof(path), top, "mtlsd/mtlsd");
	if (realpath(path, mtlsd_bin) == NULL)
		snprintf(mtlsd_bin, sizeof(mtlsd_bin), "%s", path);
	pick_users();

	if (argc == 4 && strcmp(argv[1], "--services") == 0) {
		rundir = argv[3];
		paths_init();
		return write_services(argv[2]);
	}
	if (argc != 3)
		usage();
	rundir = argv[1];
	logdir = argv[2];
	paths_init();
	if ((pki = getenv("MTLS_TEST_PKI")) == NULL || *pki == '\0') {
		printf("FAIL pam/pki: MTLS_TEST_PKI is not set\n");
		return 1;
	}
	if (getenv("PAM_WRAPPER") == NULL ||
	    getenv("PAM_WRAPPER_SERVICE_DIR") == NULL) {
		fprintf(stderr, "run under pam_wrapper: see tests/pam/run.sh\n");
		printf("FAIL pam/pam_wrapper: PAM_WRAPPER or "
		    "PAM_WRAPPER_SERVICE_DIR not set\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	note("running as %s (uid %u), other account %s, fake daemon uid %u, "
	    "wrong daemon_uid %u", me, (unsigned)my_uid, other,
	    (unsigned)fake_uid, (unsigned)fake_wrong_uid);
	if (getpwnam(NO_SUCH_USER) != NULL) {
		fprintf(stderr, "%s exists on this machine\n", NO_SUCH_USER);
		return 2;
	}
	expected_values();

	test_symbols();
	test_fake();
	test_mtlsd();
	cleanup();

	fprintf(stderr, "pam: %d passed, %d failed, %d skipped\n", npass,
	    nfail, nskip);
	return nfail == 0 ? 0 : 1;
}
