/*
 * pam_mtls.c: authorize the PAM user by the client certificate behind the
 * connection this process is serving (DESIGN 3.4).
 *
 *   auth     PAM_SUCCESS only when PAM_USER is among the accounts mtlsd
 *            mapped the live, verified certificate to
 *   setcred  what auth decided in this handle, else the same decision again
 *   account  the session is still live, the certificate still valid and
 *            still mapped to PAM_USER
 *   session  open exports MTLS_* into the PAM environment; close: nothing
 *   password PAM_SERVICE_ERR
 *
 * Every path that is not a proven match ends in a failure code; the module
 * never returns PAM_IGNORE.  Every decision is logged with pam_syslog.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "error.h"
#include "pam_mtls.h"

#define DATA_AUTH	"pam_mtls_auth"
#define WHY_MAX		256
#define SHOW_MAX	256	/* longest value shown in a log line */

enum arg_id { ARG_SOCKET, ARG_LISTENER, ARG_FD, ARG_SET_USER, ARG_TIMEOUT,
	ARG_DAEMON_UID, ARG_DEBUG, ARG_TICKET, ARG_USE_FIRST_PASS,
	ARG_TRY_FIRST_PASS };

/* The arguments: exact names; "name=value" when has_value. */
static const struct {
	const char	*name;
	enum arg_id	 id;
	bool		 has_value;
} args_table[] = {
	{ "socket",	ARG_SOCKET,	true },
	{ "listener",	ARG_LISTENER,	true },
	{ "fd",		ARG_FD,		true },
	{ "set_user",	ARG_SET_USER,	false },
	{ "timeout",	ARG_TIMEOUT,	true },
	{ "daemon_uid",	ARG_DAEMON_UID,	true },
	{ "debug",	ARG_DEBUG,	false },
	{ "ticket",	ARG_TICKET,	false },
	{ "use_first_pass", ARG_USE_FIRST_PASS, false },
	{ "try_first_pass", ARG_TRY_FIRST_PASS, false },
};

#define NARGS	(sizeof(args_table) / sizeof(args_table[0]))

/* The session mtlsd reported, and what we need of it. */
struct found {
	struct query_record	 rec;
	struct candidate	 cand;
};

static bool
parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > max)
		return false;
	*out = v;
	return true;
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
			return false;
	return true;
}

/*
 * One table, exact matches, each argument at most once; anything else
 * is logged at LOG_ERR and fails the module closed.
 */
static int
parse_args(pam_handle_t *pamh, int argc, const char **argv,
    struct mtls_opts *o)
{
	bool given[NARGS] = { false };
	const char *value, *eq;
	unsigned long v;
	size_t i, nlen;
	int a;

	memset(o, 0, sizeof(*o));
	o->socket = PAM_MTLS_DEFAULT_SOCKET;
	o->fd = -1;
	o->timeout_ms = PAM_MTLS_DEFAULT_TIMEOUT_MS;
	for (a = 0; a < argc; a++) {
		eq = strchr(argv[a], '=');
		nlen = eq ? (size_t)(eq - argv[a]) : strlen(argv[a]);
		value = eq ? eq + 1 : NULL;
		for (i = 0; i < NARGS; i++)
			if (strlen(args_table[i].name) == nlen &&
			    strncmp(args_table[i].name, argv[a], nlen) == 0)
				break;
		if (i == NARGS) {
			pam_syslog(pamh, LOG_ERR, "unknown argument \"%s\": "
			    "failing closed", argv[a]);
			return -1;
		}
		if (args_table[i].has_value != (value != NULL) || given[i]) {
			pam_syslog(pamh, LOG_ERR, "argument \"%s\" %s: failing "
			    "closed", argv[a], given[i] ? "given twice" :
			    args_table[i].has_value ? "needs a value" :
			    "takes no value");
			return -1;
		}
		given[i] = true;
		switch (args_table[i].id) {
		case ARG_SOCKET:
			if (value[0] != '/')
				goto bad;
			o->socket = value;
			break;
		case ARG_LISTENER:
			if (!name_ok(value))
				goto bad;
			o->listener = value;
			break;
		case ARG_FD:
			if (!parse_ulong(value, INT_MAX, &v))
				goto bad;
			o->fd = (int)v;
			break;
		case ARG_SET_USER:
			o->set_user = true;
			break;
		case ARG_TIMEOUT:
			if (!parse_ulong(value, 600000, &v) || v == 0)
				goto bad;
			o->timeout_ms = (int)v;
			break;
		case ARG_DAEMON_UID:
			if (!parse_ulong(value, UINT_MAX - 1, &v))
				goto bad;
			o->daemon_uid = (uid_t)v;
			break;
		case ARG_DEBUG:
			o->debug = true;
			break;
		case ARG_TICKET:
			o->ticket = true;
			break;
		case ARG_USE_FIRST_PASS:
			o->use_first_pass = true;
			break;
		case ARG_TRY_FIRST_PASS:
			o->try_first_pass = true;
			break;
		}
	}
	/* The pass options only mean something for tickets, and not both. */
	if ((o->use_first_pass || o->try_first_pass) &&
	    (!o->ticket || (o->use_first_pass && o->try_first_pass))) {
		pam_syslog(pamh, LOG_ERR, "use_first_pass and try_first_pass "
		    "need ticket, and exclude each other: failing closed");
		return -1;
	}
	return 0;
bad:
	pam_syslog(pamh, LOG_ERR, "bad value in argument \"%s\": failing "
	    "closed", argv[a]);
	return -1;
}

/* A value from the daemon, safe for a log line or the environment. */
static void
show(const struct mtls_bytes *b, char *out, size_t size)
{
	size_t i, n = 0;

	if (b == NULL || b->data == NULL) {
		snprintf(out, size, "-");
		return;
	}
	for (i = 0; i < b->len && n + 1 < size; i++)
		out[n++] = b->data[i] >= 0x20 && b->data[i] < 0x7f ?
		    (char)b->data[i] : '?';
	out[n] = '\0';
}

/*
 * A value for inside the double quotes of a log line: '"' and '\\' are
 * escaped and other bytes outside printable ASCII shown as '?', so no
 * value (a user name chosen by the client, a subject) can fake a field.
 */
static void
show_quoted(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0' && n + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = (unsigned char)*s >= 0x20 &&
		    (unsigned char)*s < 0x7f ? *s : '?';
	}
	out[n] = '\0';
}

/* A lookup that did not succeed, as a PAM code: never a success. */
static int
status_to_pam(enum mtls_status st)
{
	/* not found, down, untrusted, timeout, garbage, denied: the
	 * daemon cannot vouch for this connection */
	return st == MTLS_ST_ERROR ? PAM_SYSTEM_ERR : PAM_AUTHINFO_UNAVAIL;
}

/*
 * Find the one mtlsd session behind this process's connections.
 * PAM_SUCCESS fills f; otherwise a failure code, with the reason logged.
 */
static int
find_session(pam_handle_t *pamh, const struct mtls_opts *o,
    const char *stage, struct found *f)
{
	struct candidate cand[PAM_MTLS_MAX_CANDIDATES];
	struct query_record rec;
	char why[WHY_MAX], listener[80];
	enum mtls_status st;
	uint64_t deadline = mtls_now_ms() + (uint64_t)o->timeout_ms;
	size_t found = 0;
	int n, i;

	memset(f, 0, sizeof(*f));
	why[0] = '\0';
	n = mtls_candidates(pamh, o, deadline, cand, PAM_MTLS_MAX_CANDIDATES,
	    why, sizeof(why));
	if (n < 0) {
		pam_syslog(pamh, LOG_ERR, "%s: %s", stage, why);
		return PAM_AUTHINFO_UNAVAIL;
	}
	for (i = 0; i < n; i++) {
		st = mtls_lookup(o, &cand[i], deadline, &rec, why,
		    sizeof(why));
		if (st == MTLS_ST_NOT_FOUND)
			continue;
		if (st != MTLS_ST_OK) {
			pam_syslog(pamh, LOG_ERR, "%s: mtlsd unavailable: %s",
			    stage, why);
			if (found)
				query_record_free(&f->rec);
			return status_to_pam(st);
		}
		show(query_record_get(&rec, "listener", 0), listener,
		    sizeof(listener));
		if (o->listener != NULL && strcmp(listener, o->listener) != 0) {
			if (o->debug)
				pam_syslog(pamh, LOG_DEBUG, "%s: fd %d is a "
				    "session of listener %s, not %s", stage,
				    cand[i].fd, listener, o->listener);
			query_record_free(&rec);
			continue;
		}
		if (++found > 1) {
			query_record_free(&rec);
			query_record_free(&f->rec);
			pam_syslog(pamh, LOG_ERR, "%s: this process holds more "
			    "than one mtlsd connection (fds %d and %d): set "
			    "fd= in the PAM configuration or MTLS_FD in the PAM "
			    "environment", stage, f->cand.fd, cand[i].fd);
			return PAM_AUTH_ERR;
		}
		f->rec = rec;
		f->cand = cand[i];
	}
	if (found == 0) {
		pam_syslog(pamh, LOG_NOTICE, "%s: not an mtlsd connection "
		    "(%d candidate socket%s, none is a live mtlsd session%s%s)",
		    stage, n, n == 1 ? "" : "s", o->listener ?
		    " of listener " : "", o->listener ? o->listener : "");
		return PAM_AUTHINFO_UNAVAIL;
	}
	return PAM_SUCCESS;
}

static bool
has_account(const struct found *f, const char *user)
{
	const struct mtls_bytes *a;
	size_t i;

	for (i = 0; (a = query_record_get(&f->rec, "accounts", i)) != NULL;
	    i++)
		if (bytes_equal_str(a, user))
			return true;
	return false;
}

static bool
user_exists(const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[16384];

	return getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL;
}

/* Is the certificate past its not_after ("YYYY-MM-DDTHH:MM:SSZ")? */
static bool
cert_expired(const struct found *f)
{
	char text[32];
	struct tm tm;
	char *end;

	show(query_record_get(&f->rec, "not_after", 0), text, sizeof(text));
	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return true;		/* unreadable: fail closed */
	return timegm(&tm) < time(NULL);	/* valid through not_after */
}

static void
log_decision(pam_handle_t *pamh, int prio, const char *stage,
    const char *user, const struct found *f, const char *result)
{
	char subject[SHOW_MAX], quoted[2 * SHOW_MAX], who[2 * SHOW_MAX],
	    serial[80], sha[100], listener[80], id[40];

	show(query_record_get(&f->rec, "subject", 0), subject,
	    sizeof(subject));
	show_quoted(subject, quoted, sizeof(quoted));
	show_quoted(user ? user : "", who, sizeof(who));
	show(query_record_get(&f->rec, "serial", 0), serial, sizeof(serial));
	show(query_record_get(&f->rec, "sha256", 0), sha, sizeof(sha));
	show(query_record_get(&f->rec, "listener", 0), listener,
	    sizeof(listener));
	show(query_record_get(&f->rec, "id", 0), id, sizeof(id));
	pam_syslog(pamh, prio, "%s %s: user=\"%s\" subject=\"%s\" serial=%s "
	    "sha256=%s listener=%s session=%s", stage, result, who, quoted,
	    serial, sha, listener, id);
}

/*
 * The decision shared by auth and (when auth ran elsewhere) setcred.
 * Sets PAM_USER when set_user asks for it.
 */
static int
decide(pam_handle_t *pamh, const struct mtls_opts *o, const char *stage)
{
	const void *item = NULL;
	const char *user = NULL;
	char acct[80];
	struct found f;
	int rc;

	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS)
		item = NULL;
	user = item;
	if ((user == NULL || *user == '\0') && !o->set_user) {
		if ((rc = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS ||
		    user == NULL || *user == '\0') {
			pam_syslog(pamh, LOG_NOTICE, "%s: no user name",
			    stage);
			return rc == PAM_SUCCESS ? PAM_AUTH_ERR : rc;
		}
	}
	if ((rc = find_session(pamh, o, stage, &f)) != PAM_SUCCESS)
		return rc;
	if (cert_expired(&f)) {
		log_decision(pamh, LOG_NOTICE, stage, user, &f,
		    "denied: certificate expired");
		rc = PAM_AUTH_ERR;
	} else if (user == NULL || *user == '\0') {
		/* set_user: the certificate names the account. */
		if (query_record_count(&f.rec, "accounts") != 1) {
			log_decision(pamh, LOG_NOTICE, stage, NULL, &f,
			    query_record_count(&f.rec, "accounts") == 0 ?
			    "denied: certificate maps to no account" :
			    "denied: set_user with several accounts");
			rc = PAM_AUTH_ERR;
		} else {
			show(query_record_get(&f.rec, "accounts", 0), acct,
			    sizeof(acct));
			rc = pam_set_item(pamh, PAM_USER, acct);
			log_decision(pamh, rc == PAM_SUCCESS ? LOG_NOTICE :
			    LOG_ERR, stage, acct, &f, rc == PAM_SUCCESS ?
			    "granted (set_user)" : "failed: cannot set user");
		}
	} else if (has_account(&f, user)) {
		log_decision(pamh, LOG_NOTICE, stage, user, &f, "granted");
		rc = PAM_SUCCESS;
	} else if (!user_exists(user)) {
		log_decision(pamh, LOG_NOTICE, stage, user, &f,
		    "denied: no such user");
		rc = PAM_USER_UNKNOWN;
	} else {
		log_decision(pamh, LOG_NOTICE, stage, user, &f,
		    query_record_count(&f.rec, "accounts") == 0 ?
		    "denied: certificate maps to no account" :
		    "denied: certificate maps to other accounts");
		rc = PAM_AUTH_ERR;
	}
	query_record_free(&f.rec);
	return rc;
}

/*
 * The ticket: PAM_AUTHTOK (use_first_pass, try_first_pass), else asked for
 * with echo off.  Returns PAM_SUCCESS with *ticket (free with
 * free_secret), or a failure code.
 */
static int
get_ticket(pam_handle_t *pamh, const struct mtls_opts *o, char **ticket)
{
	const void *item = NULL;
	char *resp = NULL;
	int rc;

	*ticket = NULL;
	if (o->use_first_pass || o->try_first_pass) {
		if (pam_get_item(pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS &&
		    item != NULL && *(const char *)item != '\0') {
			if ((*ticket = strdup(item)) == NULL)
				return PAM_BUF_ERR;
			return PAM_SUCCESS;
		}
		if (o->use_first_pass) {
			pam_syslog(pamh, LOG_NOTICE, "auth: use_first_pass but "
			    "no earlier module set a ticket");
			return PAM_AUTH_ERR;
		}
	}
	rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "mTLS ticket: ");
	if (rc != PAM_SUCCESS || resp == NULL) {
		free(resp);
		return rc == PAM_SUCCESS ? PAM_AUTH_ERR : rc;
	}
	*ticket = resp;
	return PAM_SUCCESS;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/*
 * ticket: the user proves the certificate with a one-time ticket it got
 * from mtlsd's responder; mtlsd uses the ticket up and says whose it was.
 */
static int
decide_ticket(pam_handle_t *pamh, const struct mtls_opts *o)
{
	struct found f;
	const char *user = NULL;
	char *ticket = NULL, why[WHY_MAX], id[40];
	enum mtls_status st;
	int rc;

	if ((rc = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS ||
	    user == NULL || *user == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "auth: no user name");
		return rc == PAM_SUCCESS ? PAM_AUTH_ERR : rc;
	}
	if ((rc = get_ticket(pamh, o, &ticket)) != PAM_SUCCESS)
		return rc;
	memset(&f, 0, sizeof(f));
	why[0] = '\0';
	st = mtls_redeem(o, ticket, mtls_now_ms() + (uint64_t)o->timeout_ms,
	    &f.rec, why, sizeof(why));
	free_secret(ticket);
	if (st == MTLS_ST_NOT_FOUND) {
		pam_syslog(pamh, LOG_NOTICE, "auth denied: ticket unknown, "
		    "used or expired: user=\"%s\"", user);
		return PAM_AUTH_ERR;
	}
	if (st != MTLS_ST_OK) {
		pam_syslog(pamh, LOG_ERR, "auth: mtlsd unavailable: %s", why);
		return status_to_pam(st);
	}
	show(query_record_get(&f.rec, "ticket_id", 0), id, sizeof(id));
	if (cert_expired(&f)) {
		log_decision(pamh, LOG_NOTICE, "auth", user, &f,
		    "denied (ticket): certificate expired");
		rc = PAM_AUTH_ERR;
	} else if (has_account(&f, user)) {
		log_decision(pamh, LOG_NOTICE, "auth", user, &f,
		    "granted (ticket)");
		rc = PAM_SUCCESS;
	} else if (!user_exists(user)) {
		log_decision(pamh, LOG_NOTICE, "auth", user, &f,
		    "denied (ticket): no such user");
		rc = PAM_USER_UNKNOWN;
	} else {
		log_decision(pamh, LOG_NOTICE, "auth", user, &f,
		    "denied (ticket): certificate maps to other accounts");
		rc = PAM_AUTH_ERR;
	}
	if (o->debug)
		pam_syslog(pamh, LOG_DEBUG, "auth: ticket %s used up", id);
	query_record_free(&f.rec);
	return rc;
}

static void
cleanup_auth(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct mtls_opts o;
	int rc, *keep;

	(void)flags;
	if (parse_args(pamh, argc, argv, &o) != 0)
		return PAM_SERVICE_ERR;
	rc = o.ticket ? decide_ticket(pamh, &o) : decide(pamh, &o, "auth");
	/* Remember it for setcred; failing to remember fails auth. */
	if ((keep = malloc(sizeof(*keep))) == NULL)
		return PAM_BUF_ERR;
	*keep = rc;
	if (pam_set_data(pamh, DATA_AUTH, keep, cleanup_auth) != PAM_SUCCESS) {
		free(keep);
		return rc == PAM_SUCCESS ? PAM_SYSTEM_ERR : rc;
	}
	return rc;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mtls_opts o;
	const void *data = NULL;
	int rc;

	if (parse_args(pamh, argc, argv, &o) != 0)
		return PAM_SERVICE_ERR;
	/* Nothing was established, so there is nothing to delete. */
	if (flags & PAM_DELETE_CRED)
		return PAM_SUCCESS;
	if (pam_get_data(pamh, DATA_AUTH, &data) == PAM_SUCCESS &&
	    data != NULL)
		rc = *(const int *)data;
	else if (o.ticket)
		rc = PAM_SUCCESS;	/* a ticket works once: auth decided */
	else
		rc = decide(pamh, &o, "setcred");	/* auth ran elsewhere */
	return rc == PAM_SUCCESS ? PAM_SUCCESS : PAM_CRED_ERR;
}

/* The user pam_mtls works for in account and session: PAM_USER. */
static const char *
pam_user(pam_handle_t *pamh)
{
	const void *item = NULL;

	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS ||
	    item == NULL || *(const char *)item == '\0')
		return NULL;
	return item;
}

/*
 * What account and session start from: the arguments, PAM_USER, and the
 * one mtlsd session behind this process.  PAM_SUCCESS fills user and f.
 */
static int
user_session(pam_handle_t *pamh, int argc, const char **argv,
    const char *stage, const char **user, struct found *f)
{
	struct mtls_opts o;

	if (parse_args(pamh, argc, argv, &o) != 0)
		return PAM_SERVICE_ERR;
	if ((*user = pam_user(pamh)) == NULL) {
		pam_syslog(pamh, LOG_NOTICE, "%s: no user name", stage);
		return PAM_USER_UNKNOWN;
	}
	return find_session(pamh, &o, stage, f);
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct found f;
	const char *user;
	int rc;

	(void)flags;
	if ((rc = user_session(pamh, argc, argv, "account", &user, &f)) !=
	    PAM_SUCCESS)
		return rc;
	if (cert_expired(&f)) {
		log_decision(pamh, LOG_NOTICE, "account", user, &f,
		    "denied: certificate expired");
		rc = PAM_ACCT_EXPIRED;
	} else if (!has_account(&f, user)) {
		log_decision(pamh, LOG_NOTICE, "account", user, &f,
		    "denied: certificate no longer maps to this user");
		rc = user_exists(user) ? PAM_PERM_DENIED : PAM_USER_UNKNOWN;
	} else {
		log_decision(pamh, LOG_INFO, "account", user, &f, "granted");
		rc = PAM_SUCCESS;
	}
	query_record_free(&f.rec);
	return rc;
}

static int
export(pam_handle_t *pamh, const char *name, const struct mtls_bytes *v)
{
	char buf[SHOW_MAX + 32];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "%s=", name);
	show(v, buf + n, sizeof(buf) - n);
	return pam_putenv(pamh, buf);
}

PAM_EXTERN int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct mtls_bytes account;
	struct found f;
	const char *user;
	int rc;

	(void)flags;
	if ((rc = user_session(pamh, argc, argv, "session", &user, &f)) !=
	    PAM_SUCCESS)
		return rc == PAM_SERVICE_ERR ? rc : PAM_SESSION_ERR;
	if (!has_account(&f, user) || cert_expired(&f)) {
		log_decision(pamh, LOG_NOTICE, "session", user, &f,
		    cert_expired(&f) ? "refused: certificate expired" :
		    "refused: certificate does not map to this user");
		query_record_free(&f.rec);
		return PAM_SESSION_ERR;
	}
	account.data = (unsigned char *)(uintptr_t)user;
	account.len = strlen(user);
	if ((rc = export(pamh, "MTLS_SUBJECT",
	    query_record_get(&f.rec, "subject", 0))) != PAM_SUCCESS ||
	    (rc = export(pamh, "MTLS_ISSUER",
	    query_record_get(&f.rec, "issuer", 0))) != PAM_SUCCESS ||
	    (rc = export(pamh, "MTLS_SERIAL",
	    query_record_get(&f.rec, "serial", 0))) != PAM_SUCCESS ||
	    (rc = export(pamh, "MTLS_SHA256",
	    query_record_get(&f.rec, "sha256", 0))) != PAM_SUCCESS ||
	    (rc = export(pamh, "MTLS_ACCOUNT", &account)) != PAM_SUCCESS ||
	    (rc = export(pamh, "MTLS_LISTENER",
	    query_record_get(&f.rec, "listener", 0))) != PAM_SUCCESS)
		rc = PAM_SESSION_ERR;
	else
		log_decision(pamh, LOG_INFO, "session", user, &f, "opened");
	query_record_free(&f.rec);
	return rc;
}

PAM_EXTERN int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct mtls_opts o;

	(void)flags;
	if (parse_args(pamh, argc, argv, &o) != 0)
		return PAM_SERVICE_ERR;
	return PAM_SUCCESS;
}

PAM_EXTERN int
pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mtls_opts o;

	(void)flags;
	/* Parsed only so that a wrong argument is reported here too. */
	if (parse_args(pamh, argc, argv, &o) == 0)
		pam_syslog(pamh, LOG_NOTICE, "password: certificates are not "
		    "changed through PAM");
	return PAM_SERVICE_ERR;
}
