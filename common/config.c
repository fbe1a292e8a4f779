/*
 * config.c: load mtlsd.conf (libconfig syntax) and check it against one
 * table of known keys.
 *
 * libconfig only parses the syntax.  Which keys exist, their types, ranges
 * and defaults come from KEYTAB below, and every error is one line
 * "FILE:LINE: message" that names the key.
 *
 * Two habits of libconfig 1.5 need a second look at the text, done by a
 * small scanner (scan_literals): integers are read with atoi(), so
 * 4294967297 silently becomes 1, and there are no octal literals, so
 * "mode = 0660" reads as six hundred and sixty.  The scanner records each
 * integer assigned to a known integer key as written, so that overflow is
 * refused and query.mode is read in octal.
 *
 * The "mappings" section holds named rule sets (DESIGN 3.2): each rule is
 * checked key by key through the same table, then compiled by mapping.c,
 * so that "mtlsd -t" reports a bad regex or template with the rule's line.
 * It is parsed before the listeners, which name the set they use.
 *
 * A key may sit in a group inside a listener ("listeners.ocsp.mode" is
 * "ocsp = { mode = ...; };" in a listener): the table's dotted paths are
 * all it takes, and messages name such a key "ocsp.mode".
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "error.h"
#include "mapping.h"
#include "netaddr.h"

#define CONFIG_FILE_MAX		(1024 * 1024)	/* bytes */
#define LISTENER_NAME_MAX	64
#define LABEL_MAX		(LISTENER_NAME_MAX + MAPPING_NAME_MAX + 32)
#define LIT_PATH_MAX		128
#define LIT_TEXT_MAX		48
#define LIT_MAX			4096	/* literals kept by the scanner */
#define CRL_MAX			64	/* CRL files of one listener */
#define URL_MAX			512	/* bytes of an OCSP responder */
#define SCAN_DEPTH		32

enum key_type {
	KT_STRING,	/* non-empty text without control characters */
	KT_NAME,	/* listener or rule name: 1..64 of [A-Za-z0-9._-] */
	KT_PATH,	/* absolute file path */
	KT_PATHLIST,	/* list or array of distinct KT_PATH values, at
			   most max of them; aux_off: their count */
	KT_INT,		/* integer in [min, max] */
	KT_MODE,	/* file mode written in octal, in [min, max] */
	KT_BOOL,	/* true or false */
	KT_LOGLEVEL,	/* err, warning, notice, info, debug */
	KT_FACILITY,	/* syslog facility name */
	KT_TLSVER,	/* "1.2" or "1.3", stored as 12 or 13 */
	KT_REFUSEWARN,	/* "refuse" or "warn", stored as bool (warn) */
	KT_OCSPMODE,	/* "off", "soft" or "hard", stored as OCSP_* */
	KT_PROXYPROTO,	/* "off", "v1" or "v2", stored as PROXY_* */
	KT_URL,		/* absolute http:// URL, stored with its path
			   ("/" when none is written) */
	KT_LISTEN,	/* numeric host:port or [v6]:port */
	KT_UPSTREAM,	/* host:port (resolved now) or unix:/absolute/path */
	KT_MAPPINGS,	/* the group of rule sets, at most max of them */
	KT_FIELD,	/* an identity field mapping.c knows */
	KT_MATCHER,	/* a rule's pattern; def_num is its matcher */
	KT_PIN		/* "sha256:..." fingerprint of the issuing CA */
};

enum key_scope {
	SCOPE_GLOBAL,	/* a field of struct mtlsd_config */
	SCOPE_LISTENER,	/* a field of each struct listener_config */
	SCOPE_RULE	/* a field of each struct mapping_rule */
};

#define KF_REQUIRED	0x01	/* a listener or rule lacking it is an error */
#define KF_SOCKET	0x02	/* must fit in sockaddr_un.sun_path */
#define KF_FIRST	0x04	/* parsed first: other keys refer to it */
#define KF_PROXYING	0x08	/* a listener key only for proxying: with
				   KF_REQUIRED, required unless responder =
				   true; refused on a responder listener */

struct config_key {
	const char	*path;		/* dotted: "query.mode" */
	enum key_type	 type;
	enum key_scope	 scope;
	size_t		 off;		/* the field */
	size_t		 aux_off;	/* KT_LISTEN, KT_UPSTREAM: netaddr;
					   KT_MATCHER: matcher; KT_PIN: flag;
					   KT_PATHLIST: count (size_t) */
	const char	*def_text;	/* default of text keys, or NULL */
	long long	 def_num;	/* default of numbers, booleans;
					   KT_MATCHER: the matcher it sets */
	long long	 min;
	long long	 max;		/* text: longest value (0: unbounded);
					   KT_MAPPINGS: most sets;
					   KT_PATHLIST: most entries */
	int		 flags;
};

#define LOFF(f)		offsetof(struct listener_config, f)
#define ROFF(f)		offsetof(struct mapping_rule, f)

/*
 * The one table of known keys:
 *	path, type, field, auxiliary offset, default text, default
 *	number, min, max, flags.
 * G rows are fields of struct mtlsd_config, L rows of every listener, M
 * rows of every mapping rule.  A key's first component names its
 * container: a group for G rows, the list of listener groups for L rows;
 * M rows live in "mappings.SET", a list of rule groups, written "*".  An
 * L row with more components is a key of a group inside each listener
 * ("listeners.ocsp.mode"); such a group needs no row of its own.  The
 * table is expanded twice, into keytab[] (defaults, parsing, checks) and
 * into known_keys[] (config_known_keys(), for the man-page check), so they
 * cannot drift.
 */
#define KEYTAB(G, L, M)							\
	G("user", KT_STRING, user, 0, "_mtlsd", 0, 0, 0, 0)		\
	G("group", KT_STRING, group, 0, "_mtlsd", 0, 0, 0, 0)		\
	G("query.socket", KT_PATH, query_socket, 0,			\
	    "/run/mtlsd/query.sock", 0, 0, 0, KF_SOCKET)		\
	G("query.group", KT_STRING, query_group, 0, "mtls", 0, 0, 0, 0)	\
	G("query.mode", KT_MODE, query_mode, 0, NULL, 0660, 0, 0777, 0)	\
	G("log.level", KT_LOGLEVEL, log_level, 0, "info", 0, 0, 0, 0)	\
	G("log.facility", KT_FACILITY, log_facility, 0, "authpriv",	\
	    0, 0, 0, 0)							\
	G("accounts.min_uid", KT_INT, accounts_min_uid, 0, NULL,	\
	    1000, 0, INT_MAX, 0)					\
	G("accounts.allow_root", KT_BOOL, accounts_allow_root, 0, NULL,	\
	    0, 0, 0, 0)							\
	G("workers", KT_INT, workers, 0, NULL, 0, 0, 64, 0)		\
	G("mappings", KT_MAPPINGS, mappings, 0, NULL, 0, 0,		\
	    MAPPING_MAX_SETS, KF_FIRST)					\
	L("listeners.name", KT_NAME, name, 0, NULL, 0, 0, 0,		\
	    KF_REQUIRED)						\
	L("listeners.listen", KT_LISTEN, listen, LOFF(listen_addr),	\
	    NULL, 0, 0, 0, KF_REQUIRED)					\
	L("listeners.certificate", KT_PATH, certificate, 0, NULL,	\
	    0, 0, 0, KF_REQUIRED)					\
	L("listeners.private_key", KT_PATH, private_key, 0, NULL,	\
	    0, 0, 0, KF_REQUIRED)					\
	L("listeners.client_ca", KT_PATH, client_ca, 0, NULL,		\
	    0, 0, 0, KF_REQUIRED)					\
	L("listeners.verify_depth", KT_INT, verify_depth, 0, NULL,	\
	    4, 1, 8, 0)						\
	L("listeners.tls_min_version", KT_TLSVER, tls_min_version, 0,	\
	    "1.2", 0, 0, 0, 0)						\
	L("listeners.require_client_auth_eku", KT_BOOL,		\
	    require_client_auth_eku, 0, NULL, 1, 0, 0, 0)		\
	L("listeners.upstream", KT_UPSTREAM, upstream,			\
	    LOFF(upstream_addr), NULL, 0, 0, 0,			\
	    KF_REQUIRED | KF_PROXYING)					\
	L("listeners.handshake_timeout", KT_INT, handshake_timeout, 0,	\
	    NULL, 10, 1, 3600, 0)					\
	L("listeners.idle_timeout", KT_INT, idle_timeout, 0, NULL,	\
	    600, 1, 604800, 0)						\
	L("listeners.max_connections", KT_INT, max_connections, 0,	\
	    NULL, 10000, 1, 1000000, 0)					\
	L("listeners.crl", KT_PATHLIST, crl, LOFF(n_crl), NULL, 0, 0,	\
	    CRL_MAX, 0)							\
	L("listeners.crl_expired", KT_REFUSEWARN, crl_expired_warn, 0,	\
	    "refuse", 0, 0, 0, 0)					\
	L("listeners.ocsp.mode", KT_OCSPMODE, ocsp_mode, 0, "off",	\
	    0, 0, 0, 0)							\
	L("listeners.ocsp.responder", KT_URL, ocsp_responder, 0, NULL,	\
	    0, 0, URL_MAX, 0)						\
	L("listeners.ocsp.timeout", KT_INT, ocsp_timeout, 0, NULL,	\
	    2, 1, 30, 0)						\
	L("listeners.ocsp.cache", KT_INT, ocsp_cache, 0, NULL,		\
	    300, 0, 86400, 0)						\
	L("listeners.mapping", KT_NAME, mapping, 0, NULL, 0, 0, 0, 0)	\
	L("listeners.require_mapping", KT_BOOL, require_mapping, 0,	\
	    NULL, 1, 0, 0, 0)						\
	L("listeners.proxy_protocol", KT_PROXYPROTO, proxy_protocol, 0,	\
	    "off", 0, 0, 0, 0)						\
	L("listeners.responder", KT_BOOL, responder, 0, NULL,		\
	    0, 0, 0, 0)							\
	L("listeners.ticket_ttl", KT_INT, ticket_ttl, 0, NULL,		\
	    60, 1, 3600, 0)						\
	M("mappings.*.name", KT_NAME, name, 0, NULL, 0, 0, 0,		\
	    KF_REQUIRED)						\
	M("mappings.*.field", KT_FIELD, field, 0, NULL, 0, 0, 0,	\
	    KF_REQUIRED)						\
	M("mappings.*.equals", KT_MATCHER, pattern, ROFF(matcher),	\
	    NULL, MATCH_EQUALS, 0, MAPPING_PATTERN_MAX, 0)		\
	M("mappings.*.glob", KT_MATCHER, pattern, ROFF(matcher),	\
	    NULL, MATCH_GLOB, 0, MAPPING_PATTERN_MAX, 0)		\
	M("mappings.*.regex", KT_MATCHER, pattern, ROFF(matcher),	\
	    NULL, MATCH_REGEX, 0, MAPPING_PATTERN_MAX, 0)		\
	M("mappings.*.ignore_case", KT_BOOL, ignore_case, 0, NULL,	\
	    0, 0, 0, 0)							\
	M("mappings.*.issuer", KT_PIN, issuer_pin,			\
	    ROFF(has_issuer_pin), NULL, 0, 0, 0, 0)			\
	M("mappings.*.account", KT_STRING, account, 0, NULL, 0, 0,	\
	    MAPPING_TEMPLATE_MAX, KF_REQUIRED)

#define ROW_G(p, t, f, a, dt, dn, lo, hi, fl)				\
	{ p, t, SCOPE_GLOBAL, offsetof(struct mtlsd_config, f), a,	\
	    dt, dn, lo, hi, fl },
#define ROW_L(p, t, f, a, dt, dn, lo, hi, fl)				\
	{ p, t, SCOPE_LISTENER, offsetof(struct listener_config, f), a,	\
	    dt, dn, lo, hi, fl },
#define ROW_M(p, t, f, a, dt, dn, lo, hi, fl)				\
	{ p, t, SCOPE_RULE, offsetof(struct mapping_rule, f), a,	\
	    dt, dn, lo, hi, fl },
#define ROW_PATH(p, ...)	p,

static const struct config_key keytab[] = {
	KEYTAB(ROW_G, ROW_L, ROW_M)
};
#define NKEYS	(sizeof(keytab) / sizeof(keytab[0]))

static const char *const known_keys[] = {
	KEYTAB(ROW_PATH, ROW_PATH, ROW_PATH)
	NULL
};

struct name_value {
	const char	*name;
	int		 value;
};

static const struct name_value log_levels[] = {
	{ "err",	LOGLVL_ERR },
	{ "warning",	LOGLVL_WARNING },
	{ "notice",	LOGLVL_NOTICE },
	{ "info",	LOGLVL_INFO },
	{ "debug",	LOGLVL_DEBUG },
	{ NULL,		0 }
};

static const struct name_value ocsp_modes[] = {
	{ "off",	OCSP_OFF },
	{ "soft",	OCSP_SOFT },
	{ "hard",	OCSP_HARD },
	{ NULL,		0 }
};

static const struct name_value proxy_protocols[] = {
	{ "off",	PROXY_OFF },
	{ "v1",		PROXY_V1 },
	{ "v2",		PROXY_V2 },
	{ NULL,		0 }
};

static const struct name_value facilities[] = {
	{ "authpriv",	LOG_AUTHPRIV },
	{ "auth",	LOG_AUTH },
	{ "daemon",	LOG_DAEMON },
	{ "local0",	LOG_LOCAL0 },
	{ "local1",	LOG_LOCAL1 },
	{ "local2",	LOG_LOCAL2 },
	{ "local3",	LOG_LOCAL3 },
	{ "local4",	LOG_LOCAL4 },
	{ "local5",	LOG_LOCAL5 },
	{ "local6",	LOG_LOCAL6 },
	{ "local7",	LOG_LOCAL7 },
	{ NULL,		0 }
};

/* An integer literal as written, found by the scanner. */
struct literal {
	unsigned int	 line;		/* line of the key it is set to */
	int		 fits;		/* libconfig held it unwrapped */
	int		 used;		/* paired with its setting */
	char		 path[LIT_PATH_MAX];	/* "listeners.idle_timeout" */
	char		 text[LIT_TEXT_MAX];	/* without L suffix */
};

struct cfg_ctx {
	const char		*path;
	struct mtlsd_config	*cfg;
	char			*err;
	size_t			 errsize;
	struct literal		*lits;
	size_t			 nlits;
	size_t			 caplits;
	int			 lits_truncated;
};

struct scan_name {
	const char	*s;
	size_t		 len;
};

struct scanner {
	const char	*p;
	const char	*end;
	unsigned int	 line;
	struct scan_name stack[SCAN_DEPTH];	/* enclosing setting names */
	size_t		 depth;
	struct scan_name ident;			/* last name seen */
	unsigned int	 ident_line;
	struct scan_name pending;		/* name being assigned to */
	unsigned int	 pending_line;
};

static int	 cfg_error(struct cfg_ctx *, unsigned int, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static int	 parse_mappings(struct cfg_ctx *, const struct config_key *,
		    const config_setting_t *);

/*
 * Format "FILE:LINE: [LABEL: ]message" into the caller's buffer.  Control
 * characters are replaced so that the message stays one line whatever a
 * path or value holds.
 */
static int
cfg_error(struct cfg_ctx *ctx, unsigned int line, const char *label,
    const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int rc;
	char *p;

	if (ctx->err == NULL || ctx->errsize == 0)
		return MTLS_ERR_CONFIG;
	if (label != NULL)
		rc = snprintf(ctx->err, ctx->errsize, "%s:%u: %s: ", ctx->path,
		    line, label);
	else
		rc = snprintf(ctx->err, ctx->errsize, "%s:%u: ", ctx->path,
		    line);
	n = rc < 0 ? 0 : (size_t)rc;
	if (n < ctx->errsize) {
		va_start(ap, fmt);
		vsnprintf(ctx->err + n, ctx->errsize - n, fmt, ap);
		va_end(ap);
	}
	for (p = ctx->err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return MTLS_ERR_CONFIG;
}

/* Errors without a line: the file itself, or memory. */
static int
cfg_error_file(struct cfg_ctx *ctx, int code, const char *what)
{
	char *p;

	if (ctx->err != NULL && ctx->errsize > 0) {
		snprintf(ctx->err, ctx->errsize, "%s: %s", ctx->path, what);
		for (p = ctx->err; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return code;
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_xdigit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Listener, set and rule names: 1..64 of [A-Za-z0-9._-]. */
static int
name_ok(const char *name)
{
	const char *p;

	for (p = name; *p != '\0'; p++)
		if (!is_alpha(*p) && !is_digit(*p) && *p != '.' &&
		    *p != '_' && *p != '-')
			return 0;
	return p > name && p - name <= LISTENER_NAME_MAX;
}

static const struct config_key *
key_find(const char *path, enum key_scope scope)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keytab[i].scope == scope &&
		    strcmp(keytab[i].path, path) == 0)
			return &keytab[i];
	return NULL;
}

/*
 * Is name the first component of some key?  Returns 1 and its scope:
 * SCOPE_GLOBAL for a group ("query"), SCOPE_LISTENER for the listener list.
 */
static int
key_container(const char *name, enum key_scope *scope)
{
	size_t i, n = strlen(name);

	for (i = 0; i < NKEYS; i++) {
		if (strncmp(keytab[i].path, name, n) == 0 &&
		    keytab[i].path[n] == '.') {
			*scope = keytab[i].scope;
			return 1;
		}
	}
	return 0;
}

/*
 * A path as messages show it: whole globally; inside a listener or a rule,
 * whose label already says where it is, without "listeners." or
 * "mappings.*." ("ocsp.mode", "account"); "" for the container itself.
 */
static const char *
path_label(enum key_scope scope, const char *path)
{
	int skip = scope == SCOPE_LISTENER ? 1 : scope == SCOPE_RULE ? 2 : 0;

	for (; skip > 0; skip--) {
		if ((path = strchr(path, '.')) == NULL)
			return "";
		path++;
	}
	return path;
}

static const char *
key_label(const struct config_key *k)
{
	return path_label(k->scope, k->path);
}

/* Is path a group that holds keys of scope ("listeners.ocsp")? */
static int
key_group(const char *path, enum key_scope scope)
{
	size_t i, n = strlen(path);

	for (i = 0; i < NKEYS; i++)
		if (keytab[i].scope == scope &&
		    strncmp(keytab[i].path, path, n) == 0 &&
		    keytab[i].path[n] == '.')
			return 1;
	return 0;
}

/* The matcher key ("glob") that sets matcher m. */
static const char *
matcher_label(enum mapping_matcher m)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keytab[i].type == KT_MATCHER && keytab[i].def_num == m)
			return key_label(&keytab[i]);
	return "matcher";
}

static int
key_is_int(const char *path)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if ((keytab[i].type == KT_INT || keytab[i].type == KT_MODE) &&
		    strcmp(keytab[i].path, path) == 0)
			return 1;
	return 0;
}

static void *
field(void *base, size_t off)
{
	return (char *)base + off;
}

static int
lookup_name(const struct name_value *t, const char *name, int *value)
{
	for (; t->name != NULL; t++) {
		if (strcmp(t->name, name) == 0) {
			*value = t->value;
			return 0;
		}
	}
	return MTLS_ERR_NOT_FOUND;
}

/*
 * Scanner: walks the text libconfig has already accepted, knowing just
 * enough of its lexical rules (comments, strings, names, numbers,
 * brackets) to tell which key each integer literal is assigned to.
 */

/* Dotted path of the setting being assigned; "" when it cannot matter. */
static void
scan_path(const struct scanner *sc, char *out, size_t size)
{
	size_t i, n = 0;
	const struct scan_name *nm;

	out[0] = '\0';
	if (sc->depth > SCAN_DEPTH || sc->pending.s == NULL)
		return;
	for (i = 0; i <= sc->depth; i++) {
		nm = i < sc->depth ? &sc->stack[i] : &sc->pending;
		if (nm->len == 0)
			continue;	/* an element of a list */
		if (n + nm->len + 2 > size) {
			out[0] = '\0';
			return;
		}
		if (n > 0)
			out[n++] = '.';
		memcpy(out + n, nm->s, nm->len);
		n += nm->len;
		out[n] = '\0';
	}
}

static int
scan_record(struct cfg_ctx *ctx, const struct scanner *sc, const char *text,
    size_t len, int hex, int is64)
{
	struct literal *lit, *nl;
	char path[LIT_PATH_MAX];
	unsigned long long u;
	long long v;
	size_t ncap;

	/* Only direct assignments to integer keys matter (and are bounded). */
	scan_path(sc, path, sizeof(path));
	if (path[0] == '\0' || !key_is_int(path))
		return 0;
	if (ctx->nlits == LIT_MAX) {
		ctx->lits_truncated = 1;
		return 0;
	}
	if (ctx->nlits == ctx->caplits) {
		ncap = ctx->caplits ? ctx->caplits * 2 : 16;
		if ((nl = reallocarray(ctx->lits, ncap, sizeof(*nl))) == NULL)
			return MTLS_ERR_NOMEM;
		ctx->lits = nl;
		ctx->caplits = ncap;
	}
	lit = &ctx->lits[ctx->nlits++];
	memset(lit, 0, sizeof(*lit));
	lit->line = sc->pending_line;
	memcpy(lit->path, path, sizeof(lit->path));
	if (len >= sizeof(lit->text)) {
		/* Longer than any int, even with leading zeros allowed for. */
		snprintf(lit->text, sizeof(lit->text), "%.*s...",
		    (int)sizeof(lit->text) - 4, text);
		lit->fits = 0;
		return 0;
	}
	memcpy(lit->text, text, len);
	lit->text[len] = '\0';
	errno = 0;
	if (hex) {
		u = strtoull(lit->text + 2, NULL, 16);
		lit->fits = errno == 0 &&
		    u <= (is64 ? (unsigned long long)LLONG_MAX : INT_MAX);
	} else {
		v = strtoll(lit->text, NULL, 10);
		lit->fits = errno == 0 &&
		    (is64 || (v >= INT_MIN && v <= INT_MAX));
	}
	return 0;
}

static int
scan_number(struct cfg_ctx *ctx, struct scanner *sc)
{
	const char *start = sc->p, *p = sc->p, *end = sc->end, *tend;
	int hex = 0, is64 = 0;

	if (*p == '+' || *p == '-')
		p++;
	if (end - p > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		hex = 1;
		for (p += 2; p < end && is_xdigit(*p); p++)
			;
	} else {
		while (p < end && is_digit(*p))
			p++;
		if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) {
			/* A float: its type is checked later. */
			while (p < end && (is_digit(*p) || *p == '.' ||
			    *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
				p++;
			sc->p = p;
			return 0;
		}
	}
	tend = p;
	if (p < end && *p == 'L') {
		is64 = 1;
		if (++p < end && *p == 'L')
			p++;
	}
	sc->p = p;
	if (tend == start)
		return 0;
	return scan_record(ctx, sc, start, (size_t)(tend - start), hex, is64);
}

static int
scan_literals(struct cfg_ctx *ctx, const char *buf, size_t len)
{
	struct scanner sc;
	const char *p;
	int c, rc;

	memset(&sc, 0, sizeof(sc));
	sc.p = buf;
	sc.end = buf + len;
	sc.line = 1;
	while (sc.p < sc.end) {
		c = *sc.p;
		if (c == '\n') {
			sc.line++;
			sc.p++;
		} else if (c == '#' ||
		    (c == '/' && sc.p + 1 < sc.end && sc.p[1] == '/')) {
			while (sc.p < sc.end && *sc.p != '\n')
				sc.p++;
		} else if (c == '/' && sc.p + 1 < sc.end && sc.p[1] == '*') {
			for (sc.p += 2; sc.p < sc.end; sc.p++) {
				if (*sc.p == '\n')
					sc.line++;
				else if (*sc.p == '*' && sc.p + 1 < sc.end &&
				    sc.p[1] == '/') {
					sc.p += 2;
					break;
				}
			}
		} else if (c == '"') {
			for (sc.p++; sc.p < sc.end && *sc.p != '"'; sc.p++) {
				if (*sc.p == '\\' && sc.p + 1 < sc.end)
					sc.p++;
				if (*sc.p == '\n')
					sc.line++;
			}
			sc.p++;
		} else if (c == '@') {
			/*
			 * libconfig resolves includes against the working
			 * directory, which mtlsd changes; refuse them rather
			 * than read a different file on reload.
			 */
			return cfg_error(ctx, sc.line, NULL,
			    "@include is not supported");
		} else if (is_alpha(c) || c == '*') {
			for (p = sc.p + 1; p < sc.end && (is_alpha(*p) ||
			    is_digit(*p) || *p == '-' || *p == '_' ||
			    *p == '*'); p++)
				;
			sc.ident.s = sc.p;
			sc.ident.len = (size_t)(p - sc.p);
			sc.ident_line = sc.line;
			sc.p = p;
		} else if (c == '=' || c == ':') {
			sc.pending = sc.ident;
			sc.pending_line = sc.ident_line;
			sc.p++;
		} else if (c == '{' || c == '(' || c == '[') {
			if (sc.depth < SCAN_DEPTH) {
				sc.stack[sc.depth].s = sc.pending.s;
				sc.stack[sc.depth].len = sc.pending.s != NULL ?
				    sc.pending.len : 0;
			}
			sc.depth++;
			memset(&sc.pending, 0, sizeof(sc.pending));
			sc.p++;
		} else if (c == '}' || c == ')' || c == ']') {
			if (sc.depth > 0)
				sc.depth--;
			memset(&sc.pending, 0, sizeof(sc.pending));
			sc.p++;
		} else if (c == ';' || c == ',') {
			memset(&sc.pending, 0, sizeof(sc.pending));
			sc.p++;
		} else if (is_digit(c) || c == '+' || c == '-' || c == '.') {
			if ((rc = scan_number(ctx, &sc)) != 0)
				return rc == MTLS_ERR_NOMEM ?
				    cfg_error_file(ctx, rc, "out of memory") :
				    rc;
		} else
			sc.p++;
	}
	return 0;
}

/*
 * The literal written for the setting of path at line.  Two listeners on
 * one line share (line, path); both the scanner and the walk go in file
 * order, so taking the first literal not yet used pairs them up.
 */
static const struct literal *
literal_take(struct cfg_ctx *ctx, unsigned int line, const char *path)
{
	size_t i;

	for (i = 0; i < ctx->nlits; i++) {
		if (!ctx->lits[i].used && ctx->lits[i].line == line &&
		    strcmp(ctx->lits[i].path, path) == 0) {
			ctx->lits[i].used = 1;
			return &ctx->lits[i];
		}
	}
	return NULL;
}

/*
 * The checks every text value of k gets, and those of a path: name is
 * what messages call it, the key or one element of a list ("crl[2]").
 */
static int
text_check(struct cfg_ctx *ctx, const struct config_key *k, const char *name,
    const char *v, unsigned int line, const char *label)
{
	if (*v == '\0')
		return cfg_error(ctx, line, label,
		    "key \"%s\" must not be empty", name);
	if (has_control(v))
		return cfg_error(ctx, line, label,
		    "key \"%s\" must not contain control characters", name);
	/* A list's max counts its entries, not bytes. */
	if (k->type != KT_PATHLIST && k->max > 0 &&
	    strlen(v) > (size_t)k->max)
		return cfg_error(ctx, line, label,
		    "%s is too long (at most %lld bytes)", name, k->max);
	if (k->type != KT_PATH && k->type != KT_PATHLIST)
		return 0;
	if (v[0] != '/')
		return cfg_error(ctx, line, label,
		    "%s must be an absolute path (got \"%s\")", name, v);
	if ((k->flags & KF_SOCKET) &&
	    strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return cfg_error(ctx, line, label,
		    "%s is too long for a unix socket (at most %zu bytes)",
		    name, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	return 0;
}

/*
 * An OCSP responder: "http://" host [":" port] [path], where host is a
 * name, an IPv4 address or an IPv6 address in brackets and port is 1 to
 * 65535; printable ASCII, no spaces, no #fragment.  Stored with its scheme
 * in lower case and "/" for a missing path, so that whoever sends the
 * request need not guess.
 */
static int
key_set_url(struct cfg_ctx *ctx, const struct config_key *k, void *base,
    const char *v, unsigned int line, const char *label)
{
	const char *kl = key_label(k), *auth, *host, *hend, *p, *end;
	char v6[INET6_ADDRSTRLEN], **dst, *copy;
	struct in6_addr a6;
	size_t len;
	long port;

	for (p = v; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return cfg_error(ctx, line, label,
			    "%s must be printable ASCII without spaces", kl);
	if (strncasecmp(v, "https://", 8) == 0)
		return cfg_error(ctx, line, label, "%s \"%s\": https "
		    "responders are not supported, use an http:// URL (OCSP "
		    "answers are signed, so they need no TLS)", kl, v);
	if (strncasecmp(v, "http://", 7) != 0)
		return cfg_error(ctx, line, label, "%s \"%s\" must be an "
		    "absolute http:// URL, like \"http://ocsp.example.com/\"",
		    kl, v);
	if (strchr(v, '#') != NULL)
		return cfg_error(ctx, line, label, "%s \"%s\" must not have a "
		    "#fragment", kl, v);
	auth = v + 7;
	end = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return cfg_error(ctx, line, label, "%s \"%s\": a user name in "
		    "the URL is not supported", kl, v);

	/* The host, then p at the ':' of a port or at end. */
	host = auth;
	if (*auth == '[') {
		host = auth + 1;
		if ((hend = memchr(host, ']', (size_t)(end - host))) == NULL ||
		    (size_t)(hend - host) >= sizeof(v6))
			return cfg_error(ctx, line, label, "%s \"%s\": the "
			    "host must be a name, an IPv4 address or an IPv6 "
			    "address in brackets", kl, v);
		memcpy(v6, host, (size_t)(hend - host));
		v6[hend - host] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1)
			return cfg_error(ctx, line, label, "%s \"%s\": \"%s\" "
			    "is not an IPv6 address", kl, v, v6);
		p = hend + 1;
		if (p != end && *p != ':')
			return cfg_error(ctx, line, label, "%s \"%s\": only a "
			    ":port may follow the IPv6 address", kl, v);
	} else {
		for (p = host; p < end && *p != ':'; p++)
			if (!is_alpha(*p) && !is_digit(*p) && *p != '.' &&
			    *p != '-' && *p != '_')
				return cfg_error(ctx, line, label, "%s \"%s\": "
				    "the host must be a name, an IPv4 address "
				    "or an IPv6 address in brackets", kl, v);
		if (p == host)
			return cfg_error(ctx, line, label, "%s \"%s\" has no "
			    "host", kl, v);
	}
	if (p != end) {
		/* ":" then 1 to 5 digits, 1..65535. */
		port = 0;
		for (p++; p < end && is_digit(*p) && port <= 65535; p++)
			port = port * 10 + (*p - '0');
		if (p != end || port < 1 || port > 65535)
			return cfg_error(ctx, line, label, "%s \"%s\": the port "
			    "must be a number from 1 to 65535", kl, v);
	}

	/* "http://" authority ["/"] path-and-query, NUL. */
	len = (size_t)(end - auth);
	if ((copy = malloc(7 + len + 1 + strlen(end) + 1)) == NULL)
		return cfg_error_file(ctx, MTLS_ERR_NOMEM, "out of memory");
	memcpy(copy, "http://", 7);
	memcpy(copy + 7, auth, len);
	len += 7;
	if (*end != '/')
		copy[len++] = '/';
	strcpy(copy + len, end);
	dst = field(base, k->off);
	free(*dst);
	*dst = copy;
	return 0;
}

/*
 * Check and store a text value; defaults pass through here too (line 0),
 * so a default is held to the same rules as a value from the file.
 */
static int
key_set_text(struct cfg_ctx *ctx, const struct config_key *k, void *base,
    const char *v, unsigned int line, const char *label)
{
	const char *kl = key_label(k);
	struct netaddr *addr;
	char **dst, *copy;
	int rc, val;

	if ((rc = text_check(ctx, k, kl, v, line, label)) != 0)
		return rc;

	switch (k->type) {
	case KT_STRING:
		break;
	case KT_NAME:
		if (!name_ok(v))
			return cfg_error(ctx, line, label, "%s \"%s\" must be "
			    "1 to %d letters, digits, '.', '_' or '-'", kl, v,
			    LISTENER_NAME_MAX);
		break;
	case KT_FIELD:
		if (!mapping_field_known(v))
			return cfg_error(ctx, line, label, "%s \"%s\" is not "
			    "a known field (see mtlsd.conf(5))", kl, v);
		break;
	case KT_MATCHER:
		/* A rule has exactly one matcher. */
		if (*(char **)field(base, k->off) != NULL)
			return cfg_error(ctx, line, label, "\"%s\" and \"%s\" "
			    "are both set; a rule has exactly one of equals, "
			    "glob or regex", matcher_label(*(enum
			    mapping_matcher *)field(base, k->aux_off)), kl);
		*(enum mapping_matcher *)field(base, k->aux_off) =
		    (enum mapping_matcher)k->def_num;
		break;
	case KT_PIN:
		if (mapping_parse_pin(v, field(base, k->off)) != 0)
			return cfg_error(ctx, line, label, "%s \"%s\" must be "
			    "\"sha256:\" and the 64 hex digits of the issuing "
			    "CA certificate's SHA-256 fingerprint", kl, v);
		*(bool *)field(base, k->aux_off) = true;
		return 0;
	case KT_PATH:
		break;		/* checked by text_check */
	case KT_LOGLEVEL:
		if (lookup_name(log_levels, v, &val) != 0)
			return cfg_error(ctx, line, label, "\"%s\" must be one "
			    "of err, warning, notice, info, debug (got \"%s\")",
			    kl, v);
		*(enum log_level *)field(base, k->off) = (enum log_level)val;
		return 0;
	case KT_FACILITY:
		if (lookup_name(facilities, v, &val) != 0)
			return cfg_error(ctx, line, label, "\"%s\" must be one "
			    "of authpriv, auth, daemon, local0 to local7 "
			    "(got \"%s\")", kl, v);
		*(int *)field(base, k->off) = val;
		return 0;
	case KT_TLSVER:
		if (strcmp(v, "1.2") == 0)
			val = 12;
		else if (strcmp(v, "1.3") == 0)
			val = 13;
		else
			return cfg_error(ctx, line, label,
			    "\"%s\" must be \"1.2\" or \"1.3\" (got \"%s\")",
			    kl, v);
		*(int *)field(base, k->off) = val;
		return 0;
	case KT_OCSPMODE:
		if (lookup_name(ocsp_modes, v, &val) != 0)
			return cfg_error(ctx, line, label, "%s must be \"off\", "
			    "\"soft\" or \"hard\" (got \"%s\")", kl, v);
		*(int *)field(base, k->off) = val;
		return 0;
	case KT_PROXYPROTO:
		if (lookup_name(proxy_protocols, v, &val) != 0)
			return cfg_error(ctx, line, label, "%s must be \"off\", "
			    "\"v1\" or \"v2\" (got \"%s\")", kl, v);
		*(int *)field(base, k->off) = val;
		return 0;
	case KT_URL:
		return key_set_url(ctx, k, base, v, line, label);
	case KT_REFUSEWARN:
		if (strcmp(v, "refuse") == 0)
			*(bool *)field(base, k->off) = false;
		else if (strcmp(v, "warn") == 0)
			*(bool *)field(base, k->off) = true;
		else
			return cfg_error(ctx, line, label, "%s must be "
			    "\"refuse\" or \"warn\" (got \"%s\")", kl, v);
		return 0;
	case KT_LISTEN:
		addr = field(base, k->aux_off);
		if (strncmp(v, "unix:", 5) == 0 || netaddr_parse(v, addr) != 0)
			return cfg_error(ctx, line, label, "%s \"%s\" must be "
			    "a numeric host:port or [v6]:port", kl, v);
		break;
	case KT_UPSTREAM:
		addr = field(base, k->aux_off);
		if (strncmp(v, "unix:", 5) == 0) {
			if (v[5] != '/')
				return cfg_error(ctx, line, label, "%s \"%s\": "
				    "the socket must be an absolute path", kl,
				    v);
			if (netaddr_parse(v, addr) != 0)
				return cfg_error(ctx, line, label, "%s \"%s\": "
				    "socket path too long", kl, v);
		} else if (netaddr_resolve(v, addr) != 0)
			return cfg_error(ctx, line, label, "%s \"%s\" must be "
			    "host:port, [v6]:port or unix:/path, with a host "
			    "that resolves", kl, v);
		break;
	default:
		return cfg_error(ctx, line, label,
		    "key \"%s\" is not a text key", kl);
	}

	if ((copy = strdup(v)) == NULL)
		return cfg_error_file(ctx, MTLS_ERR_NOMEM, "out of memory");
	dst = field(base, k->off);
	free(*dst);
	*dst = copy;
	return 0;
}

/* Read an integer setting, refusing what libconfig could not hold. */
static int
key_set_int(struct cfg_ctx *ctx, const struct config_key *k, void *base,
    const config_setting_t *s, const char *label)
{
	unsigned int line = config_setting_source_line(s);
	const char *kl = key_label(k), *t;
	const struct literal *lit;
	char got[LIT_TEXT_MAX + 8], *end;
	long long v;
	int type = config_setting_type(s);

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
		return cfg_error(ctx, line, label,
		    "key \"%s\" must be an integer", kl);
	v = type == CONFIG_TYPE_INT ? config_setting_get_int(s) :
	    config_setting_get_int64(s);
	if ((lit = literal_take(ctx, line, k->path)) == NULL &&
	    ctx->lits_truncated)
		return cfg_error(ctx, line, label,
		    "too many settings to check \"%s\"", kl);
	if (lit != NULL)
		snprintf(got, sizeof(got), "%s", lit->text);
	else
		snprintf(got, sizeof(got), "%lld", v);

	if (k->type == KT_MODE) {
		/* Decimal "600" is a typo for 0600 more often than not. */
		t = got[0] == '+' || got[0] == '-' ? got + 1 : got;
		if (lit == NULL || t[0] != '0')
			return cfg_error(ctx, line, label, "%s must be written "
			    "in octal with a leading 0, like 0660 (got %s)",
			    kl, got);
		errno = 0;
		v = strtoll(lit->text, &end, 0);
		if (*end != '\0' || errno != 0)
			return cfg_error(ctx, line, label, "%s must be an "
			    "octal number, like 0660 (got %s)", kl, got);
		if (v < k->min || v > k->max)
			return cfg_error(ctx, line, label, "%s must be between "
			    "%#llo and %#llo (got %s)", kl,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max, got);
	} else if ((lit != NULL && !lit->fits) || v < k->min || v > k->max)
		return cfg_error(ctx, line, label,
		    "%s must be between %lld and %lld (got %s)", kl, k->min,
		    k->max, got);
	*(int *)field(base, k->off) = (int)v;
	return 0;
}

/* Free a KT_PATHLIST field of base and zero its count. */
static void
list_free(const struct config_key *k, void *base)
{
	char ***list = field(base, k->off);
	size_t *n = field(base, k->aux_off), i;

	if (*list != NULL)
		for (i = 0; i < *n; i++)
			free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

/*
 * A list "( ... )" or array "[ ... ]" of distinct paths; empty means none.
 * Errors give the line of the key: libconfig places a string element on
 * the line of the token after it, which may be the closing bracket's.
 */
static int
key_set_list(struct cfg_ctx *ctx, const struct config_key *k, void *base,
    const config_setting_t *s, const char *label)
{
	unsigned int line = config_setting_source_line(s);
	const char *kl = key_label(k), *v;
	const config_setting_t *e;
	char **list, name[LIT_PATH_MAX];
	size_t *count = field(base, k->aux_off), i, j, n;
	int rc;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_error(ctx, line, label, "key \"%s\" must be a list "
		    "of paths: %s = [ \"/path\", ... ];", kl, kl);
	n = (size_t)config_setting_length(s);
	if (n > (size_t)k->max)
		return cfg_error(ctx, line, label,
		    "%s has too many entries (at most %lld)", kl, k->max);
	list_free(k, base);
	if (n == 0)
		return 0;
	if ((list = calloc(n, sizeof(*list))) == NULL)
		return cfg_error_file(ctx, MTLS_ERR_NOMEM, "out of memory");
	/* Owned by base from here on, *count entries at a time. */
	*(char ***)field(base, k->off) = list;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		snprintf(name, sizeof(name), "%s[%zu]", kl, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfg_error(ctx, line, label, "%s must be a "
			    "string (a quoted absolute path)", name);
		v = config_setting_get_string(e);
		if ((rc = text_check(ctx, k, name, v, line, label)) != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(list[j], v) == 0)
				return cfg_error(ctx, line, label, "%s \"%s\" "
				    "is listed twice (also %s[%zu])", name, v,
				    kl, j);
		if ((list[i] = strdup(v)) == NULL)
			return cfg_error_file(ctx, MTLS_ERR_NOMEM,
			    "out of memory");
		*count = i + 1;
	}
	return 0;
}

static int
key_set(struct cfg_ctx *ctx, const struct config_key *k, void *base,
    const config_setting_t *s, const char *label)
{
	unsigned int line = config_setting_source_line(s);
	const char *kl = key_label(k);

	switch (k->type) {
	case KT_INT:
	case KT_MODE:
		return key_set_int(ctx, k, base, s, label);
	case KT_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cfg_error(ctx, line, label,
			    "key \"%s\" must be true or false", kl);
		*(bool *)field(base, k->off) = config_setting_get_bool(s) != 0;
		return 0;
	case KT_MAPPINGS:
		return parse_mappings(ctx, k, s);
	case KT_PATHLIST:
		return key_set_list(ctx, k, base, s, label);
	default:
		break;
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return key_set_text(ctx, k, base, config_setting_get_string(s),
		    line, label);
	switch (k->type) {
	case KT_TLSVER:
		return cfg_error(ctx, line, label,
		    "\"%s\" must be \"1.2\" or \"1.3\"", kl);
	case KT_LOGLEVEL:
		return cfg_error(ctx, line, label, "\"%s\" must be one of "
		    "\"err\", \"warning\", \"notice\", \"info\", \"debug\"",
		    kl);
	case KT_FACILITY:
		return cfg_error(ctx, line, label, "\"%s\" must be a quoted "
		    "facility name such as \"authpriv\"", kl);
	case KT_REFUSEWARN:
		return cfg_error(ctx, line, label,
		    "%s must be \"refuse\" or \"warn\"", kl);
	case KT_OCSPMODE:
		return cfg_error(ctx, line, label,
		    "%s must be \"off\", \"soft\" or \"hard\"", kl);
	case KT_PROXYPROTO:
		return cfg_error(ctx, line, label,
		    "%s must be \"off\", \"v1\" or \"v2\"", kl);
	case KT_URL:
		return cfg_error(ctx, line, label, "%s must be a quoted "
		    "http:// URL", kl);
	default:
		return cfg_error(ctx, line, label,
		    "key \"%s\" must be a string", kl);
	}
}

static int
apply_defaults(struct cfg_ctx *ctx, enum key_scope scope, void *base)
{
	const struct config_key *k;
	int rc;

	for (k = keytab; k < keytab + NKEYS; k++) {
		if (k->scope != scope)
			continue;
		switch (k->type) {
		case KT_INT:
		case KT_MODE:
			*(int *)field(base, k->off) = (int)k->def_num;
			break;
		case KT_BOOL:
			*(bool *)field(base, k->off) = k->def_num != 0;
			break;
		default:
			if (k->def_text != NULL && (rc = key_set_text(ctx, k,
			    base, k->def_text, 0, NULL)) != 0)
				return rc;
			break;
		}
	}
	return 0;
}

/*
 * Every member of group g (whose path is prefix) is a key of scope, set
 * into base, or a group of such keys ("ocsp" in a listener), walked the
 * same way.
 */
static int
parse_members(struct cfg_ctx *ctx, const config_setting_t *g,
    enum key_scope scope, const char *prefix, void *base, const char *label)
{
	const config_setting_t *s;
	const struct config_key *k;
	const char *name, *in = path_label(scope, prefix);
	char path[LIT_PATH_MAX];
	unsigned int line;
	int i, n, pn, rc;

	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, (unsigned int)i);
		name = config_setting_name(s);
		line = config_setting_source_line(s);
		pn = snprintf(path, sizeof(path), "%s.%s", prefix, name);
		k = pn > 0 && (size_t)pn < sizeof(path) ?
		    key_find(path, scope) : NULL;
		if (k != NULL) {
			if ((rc = key_set(ctx, k, base, s, label)) != 0)
				return rc;
			continue;
		}
		if (pn < 0 || (size_t)pn >= sizeof(path) ||
		    !key_group(path, scope))
			return cfg_error(ctx, line, label,
			    "unknown key \"%s%s%s\"", in, *in != '\0' ?
			    "." : "", name);
		if (!config_setting_is_group(s))
			return cfg_error(ctx, line, label, "key \"%s\" must be "
			    "a group: %s = { ... };", path_label(scope, path),
			    name);
		if ((rc = parse_members(ctx, s, scope, path, base,
		    label)) != 0)
			return rc;
	}
	return 0;
}

/* The required keys of scope that base lacks, reported at line. */
static int
check_required(struct cfg_ctx *ctx, enum key_scope scope, void *base,
    unsigned int line, const char *label)
{
	const struct config_key *k;

	for (k = keytab; k < keytab + NKEYS; k++) {
		if (k->scope != scope || (k->flags & KF_REQUIRED) == 0 ||
		    *(char **)field(base, k->off) != NULL)
			continue;
		/* A responder answers itself: it has nothing to proxy to. */
		if ((k->flags & KF_PROXYING) && scope == SCOPE_LISTENER &&
		    ((const struct listener_config *)base)->responder)
			continue;
		return cfg_error(ctx, line, label,
		    "missing required key \"%s\"", key_label(k));
	}
	return 0;
}

/* Members of a global group such as "query": only its own keys. */
static int
parse_group(struct cfg_ctx *ctx, const config_setting_t *g,
    const char *prefix)
{
	const config_setting_t *s;
	const struct config_key *k;
	char path[LIT_PATH_MAX];
	int i, n, rc;

	if (!config_setting_is_group(g))
		return cfg_error(ctx, config_setting_source_line(g), NULL,
		    "key \"%s\" must be a group: %s = { ... };", prefix,
		    prefix);
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, (unsigned int)i);
		snprintf(path, sizeof(path), "%s.%s", prefix,
		    config_setting_name(s));
		if ((k = key_find(path, SCOPE_GLOBAL)) == NULL)
			return cfg_error(ctx, config_setting_source_line(s),
			    NULL, "unknown key \"%s\"", path);
		if ((rc = key_set(ctx, k, ctx->cfg, s, NULL)) != 0)
			return rc;
	}
	return 0;
}

/*
 * A mapping rule: "mapping \"staff\" rule \"by-cn\"" once its name is
 * known to be valid, else "mapping \"staff\" rule #2" (counting from 1).
 */
static void
rule_label(const config_setting_t *g, const char *set, size_t idx,
    char *label, size_t size)
{
	const config_setting_t *s;

	snprintf(label, size, "mapping \"%s\" rule #%zu", set, idx + 1);
	if (!config_setting_is_group(g) ||
	    (s = config_setting_get_member(g, "name")) == NULL ||
	    config_setting_type(s) != CONFIG_TYPE_STRING ||
	    !name_ok(config_setting_get_string(s)))
		return;
	snprintf(label, size, "mapping \"%s\" rule \"%s\"", set,
	    config_setting_get_string(s));
}

/* Rule idx of set: checked key by key, then compiled by mapping.c. */
static int
parse_rule(struct cfg_ctx *ctx, const config_setting_t *g,
    struct mapping_set *set, size_t idx)
{
	struct mapping_rule *r = &set->rules[idx];
	const config_setting_t *s;
	char label[LABEL_MAX], msg[MAPPING_ERR_MAX];
	unsigned int line = config_setting_source_line(g);
	size_t j;
	int rc;

	rule_label(g, set->name, idx, label, sizeof(label));
	if (!config_setting_is_group(g))
		return cfg_error(ctx, line, label, "must be a group "
		    "{ name = ...; field = ...; ...; account = ...; }");
	r->line = (int)line;
	if ((rc = apply_defaults(ctx, SCOPE_RULE, r)) != 0)
		return rc;
	if ((rc = parse_members(ctx, g, SCOPE_RULE, "mappings.*", r,
	    label)) != 0)
		return rc;
	if ((rc = check_required(ctx, SCOPE_RULE, r, line, label)) != 0)
		return rc;
	if (r->pattern == NULL)
		return cfg_error(ctx, line, label, "no matcher: set one of "
		    "equals, glob or regex");
	for (j = 0; j < idx; j++) {
		if (strcmp(set->rules[j].name, r->name) == 0) {
			s = config_setting_get_member(g, "name");
			return cfg_error(ctx, config_setting_source_line(s),
			    label, "duplicate rule name \"%s\" (first at "
			    "line %d)", r->name, set->rules[j].line);
		}
	}
	msg[0] = '\0';
	if ((rc = mapping_rule_compile(r, msg, sizeof(msg))) != 0) {
		if (rc == MTLS_ERR_NOMEM)
			return cfg_error_file(ctx, rc, "out of memory");
		return cfg_error(ctx, line, label, "%s",
		    msg[0] != '\0' ? msg : mtls_strerror(rc));
	}
	return 0;
}

/* One rule set: "staff = ( { rule }, ... );". */
static int
parse_set(struct cfg_ctx *ctx, const config_setting_t *list,
    struct mapping_set *set)
{
	const char *name = config_setting_name(list);
	unsigned int line = config_setting_source_line(list);
	size_t i, n;
	int rc;

	if (!name_ok(name))
		return cfg_error(ctx, line, NULL, "mapping name \"%s\" must be "
		    "1 to %d letters, digits, '.', '_' or '-'", name,
		    MAPPING_NAME_MAX);
	set->line = (int)line;
	if ((set->name = strdup(name)) == NULL)
		return cfg_error_file(ctx, MTLS_ERR_NOMEM, "out of memory");
	if (!config_setting_is_list(list))
		return cfg_error(ctx, line, NULL, "mapping \"%s\" must be a "
		    "list of rules: %s = ( { name = ...; ... }, ... );", name,
		    name);
	n = (size_t)config_setting_length(list);
	/* A set that can never match is almost certainly a mistake. */
	if (n == 0)
		return cfg_error(ctx, line, NULL, "mapping \"%s\" has no rules",
		    name);
	if (n > MAPPING_MAX_RULES)
		return cfg_error(ctx, config_setting_source_line(
		    config_setting_get_elem(list, MAPPING_MAX_RULES)), NULL,
		    "mapping \"%s\" has too many rules (at most %d)", name,
		    MAPPING_MAX_RULES);
	if ((set->rules = calloc(n, sizeof(*set->rules))) == NULL)
		return cfg_error_file(ctx, MTLS_ERR_NOMEM, "out of memory");
	/* All n are zeroed, so mapping_set_free may free every one. */
	set->nrules = n;
	for (i = 0; i < n; i++)
		if ((rc = parse_rule(ctx, config_setting_get_elem(list,
		    (unsigned int)i), set, i)) != 0)
			return rc;
	return 0;
}

/*
 * "mappings = { staff = ( ... ); ... };".  libconfig already refused two
 * sets of one name ("duplicate setting name") and names with a '.'.
 */
static int
parse_mappings(struct cfg_ctx *ctx, const struct config_key *k,
    const config_setting_t *g)
{
	struct mtlsd_config *cfg = ctx->cfg;
	unsigned int line = config_setting_source_line(g);
	size_t i, n;
	int rc;

	if (!config_setting_is_group(g))
		return cfg_error(ctx, line, NULL, "key \"%s\" must be a group: "
		    "%s = { NAME = ( { rule }, ... ); ... };", k->path,
		    k->path);
	n = (size_t)config_setting_length(g);
	if (n > (size_t)k->max)
		return cfg_error(ctx, config_setting_source_line(
		    config_setting_get_elem(g, (unsigned int)k->max)), NULL,
		    "too many mappings (at most %lld)", k->max);
	if (n == 0)
		return 0;
	if ((cfg->mappings = calloc(n, sizeof(*cfg->mappings))) == NULL)
		return cfg_error_file(ctx, MTLS_ERR_NOMEM, "out of memory");
	cfg->n_mappings = n;
	for (i = 0; i < n; i++)
		if ((rc = parse_set(ctx, config_setting_get_elem(g,
		    (unsigned int)i), &cfg->mappings[i])) != 0)
			return rc;
	return 0;
}

/*
 * "listener \"ssh\"" when the group's name is valid, else "listeners[0]";
 * the same words mtlsd uses for a listener that cannot start.
 */
static void
listener_label(const config_setting_t *g, size_t idx, char *label,
    size_t size)
{
	const config_setting_t *s;

	snprintf(label, size, "listeners[%zu]", idx);
	if ((s = config_setting_get_member(g, "name")) == NULL ||
	    config_setting_type(s) != CONFIG_TYPE_STRING ||
	    !name_ok(config_setting_get_string(s)))
		return;
	snprintf(label, size, "listener \"%s\"", config_setting_get_string(s));
}

static const struct mapping_set *
mapping_find(const struct mtlsd_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_mappings; i++)
		if (cfg->mappings[i].name != NULL &&
		    strcmp(cfg->mappings[i].name, name) == 0)
			return &cfg->mappings[i];
	return NULL;
}

/*
 * With ocsp.mode "off" (the default), any other key of the ocsp group is
 * a mistake: the check it tunes is never made.
 */
static int
check_ocsp_off(struct cfg_ctx *ctx, const config_setting_t *g,
    const struct listener_config *lc, const char *label)
{
	const config_setting_t *grp, *s;
	const char *name;
	int i, n;

	if (lc->ocsp_mode != OCSP_OFF ||
	    (grp = config_setting_get_member(g, "ocsp")) == NULL)
		return 0;
	n = config_setting_length(grp);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(grp, (unsigned int)i);
		name = config_setting_name(s);
		if (strcmp(name, "mode") != 0)
			return cfg_error(ctx, config_setting_source_line(s),
			    label, "ocsp.%s is set but ocsp.mode is off (set "
			    "mode = \"soft\" or \"hard\" in ocsp, or remove "
			    "%s)", name, name);
	}
	return 0;
}

/*
 * A responder listener (responder = true) answers HTTP/1.1 itself: the
 * keys of a proxying listener (KF_PROXYING: upstream) are refused, and so
 * is a PROXY header, which would go to no one.  The other way round,
 * ticket_ttl means nothing on a listener that issues no tickets.
 */
static int
check_responder(struct cfg_ctx *ctx, const config_setting_t *g,
    const struct listener_config *lc, const char *label)
{
	const struct config_key *k;
	const config_setting_t *s;

	if (!lc->responder) {
		if ((s = config_setting_get_member(g, "ticket_ttl")) != NULL)
			return cfg_error(ctx, config_setting_source_line(s),
			    label, "ticket_ttl is set but the listener is "
			    "not a responder");
		return 0;
	}
	for (k = keytab; k < keytab + NKEYS; k++)
		if (k->scope == SCOPE_LISTENER && (k->flags & KF_PROXYING) &&
		    (s = config_setting_lookup((config_setting_t *)g,
		    key_label(k))) != NULL)
			return cfg_error(ctx, config_setting_source_line(s),
			    label, "a responder listener has no %s",
			    key_label(k));
	if (lc->proxy_protocol != PROXY_OFF &&
	    (s = config_setting_get_member(g, "proxy_protocol")) != NULL)
		return cfg_error(ctx, config_setting_source_line(s), label,
		    "proxy_protocol must be \"off\" on a responder listener "
		    "(it has no upstream to send a PROXY header to)");
	return 0;
}

static int
parse_listener(struct cfg_ctx *ctx, const config_setting_t *g, size_t idx)
{
	struct listener_config *lc = &ctx->cfg->listeners[idx];
	const struct listener_config *o;
	const config_setting_t *s;
	char label[LABEL_MAX];
	unsigned int line;
	size_t j;
	int rc;

	snprintf(label, sizeof(label), "listeners[%zu]", idx);
	line = config_setting_source_line(g);
	if (!config_setting_is_group(g))
		return cfg_error(ctx, line, label,
		    "must be a group { name = ...; ... }");
	lc->line = (int)line;
	if ((rc = apply_defaults(ctx, SCOPE_LISTENER, lc)) != 0)
		return rc;
	listener_label(g, idx, label, sizeof(label));
	if ((rc = parse_members(ctx, g, SCOPE_LISTENER, "listeners", lc,
	    label)) != 0)
		return rc;
	if ((rc = check_required(ctx, SCOPE_LISTENER, lc, line, label)) != 0)
		return rc;
	if ((rc = check_responder(ctx, g, lc, label)) != 0)
		return rc;

	/* The mappings were parsed first, wherever they are in the file. */
	if (lc->mapping != NULL) {
		if ((lc->mapping_set = mapping_find(ctx->cfg,
		    lc->mapping)) == NULL) {
			s = config_setting_get_member(g, "mapping");
			return cfg_error(ctx, config_setting_source_line(s),
			    label, "mapping \"%s\" is not defined in mappings",
			    lc->mapping);
		}
	} else if (lc->require_mapping)
		return cfg_error(ctx, line, label, "require_mapping is true "
		    "but no mapping is set (set mapping = \"...\" or "
		    "require_mapping = false)");

	/* What to do with an expired CRL means nothing without one. */
	if ((s = config_setting_get_member(g, "crl_expired")) != NULL &&
	    lc->n_crl == 0)
		return cfg_error(ctx, config_setting_source_line(s), label,
		    "crl_expired is set but the listener has no crl (add "
		    "crl = [ \"/path\", ... ]; or remove crl_expired)");

	/* Nor does tuning an OCSP check that is not made. */
	if ((rc = check_ocsp_off(ctx, g, lc, label)) != 0)
		return rc;

	for (j = 0; j < idx; j++) {
		o = &ctx->cfg->listeners[j];
		if (strcmp(o->name, lc->name) == 0) {
			s = config_setting_get_member(g, "name");
			return cfg_error(ctx, config_setting_source_line(s),
			    label, "duplicate listener name \"%s\" (first at "
			    "line %d)", lc->name, o->line);
		}
		if (o->listen_addr.len == lc->listen_addr.len &&
		    memcmp(&o->listen_addr.ss, &lc->listen_addr.ss,
		    lc->listen_addr.len) == 0) {
			s = config_setting_get_member(g, "listen");
			return cfg_error(ctx, config_setting_source_line(s),
			    label, "listen \"%s\" is already used by "
			    "listener \"%s\"", lc->listen, o->name);
		}
	}
	return 0;
}

static int
parse_listeners(struct cfg_ctx *ctx, const config_setting_t *list)
{
	struct mtlsd_config *cfg = ctx->cfg;
	unsigned int line = config_setting_source_line(list);
	size_t i, n;
	int rc;

	if (!config_setting_is_list(list))
		return cfg_error(ctx, line, NULL, "key \"listeners\" must be a "
		    "list of groups: listeners = ( { ... }, ... );");
	n = (size_t)config_setting_length(list);
	if (n == 0)
		return cfg_error(ctx, line, NULL, "no listeners configured");
	if (n > CONFIG_MAX_LISTENERS)
		return cfg_error(ctx, config_setting_source_line(
		    config_setting_get_elem(list, CONFIG_MAX_LISTENERS)), NULL,
		    "too many listeners (at most %d)", CONFIG_MAX_LISTENERS);
	if ((cfg->listeners = calloc(n, sizeof(*cfg->listeners))) == NULL)
		return cfg_error_file(ctx, MTLS_ERR_NOMEM, "out of memory");
	/* All n are zeroed, so config_free may free every one of them. */
	cfg->n_listeners = n;
	for (i = 0; i < n; i++)
		if ((rc = parse_listener(ctx, config_setting_get_elem(list,
		    (unsigned int)i), i)) != 0)
			return rc;
	return 0;
}

/* One top-level setting: a global key, a group of them, or the listeners. */
static int
parse_root_setting(struct cfg_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, int *seen_listeners)
{
	const char *name = config_setting_name(s);
	enum key_scope scope;

	if (k != NULL)
		return key_set(ctx, k, ctx->cfg, s, NULL);
	if (!key_container(name, &scope) || scope == SCOPE_RULE)
		return cfg_error(ctx, config_setting_source_line(s), NULL,
		    "unknown key \"%s\"", name);
	if (scope == SCOPE_LISTENER) {
		*seen_listeners = 1;
		return parse_listeners(ctx, s);
	}
	return parse_group(ctx, s, name);
}

/*
 * Two passes: KF_FIRST keys ("mappings") first, so that a listener may
 * name a rule set defined further down the file.
 */
static int
parse_root(struct cfg_ctx *ctx, const config_setting_t *root)
{
	const config_setting_t *s;
	const struct config_key *k;
	int first, i, n, pass, rc, seen_listeners = 0;

	n = config_setting_length(root);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			s = config_setting_get_elem(root, (unsigned int)i);
			k = key_find(config_setting_name(s), SCOPE_GLOBAL);
			first = k != NULL && (k->flags & KF_FIRST) != 0;
			if (first != (pass == 0))
				continue;
			if ((rc = parse_root_setting(ctx, s, k,
			    &seen_listeners)) != 0)
				return rc;
		}
	}
	if (!seen_listeners)
		return cfg_error(ctx, 1, NULL, "no listeners configured "
		    "(add listeners = ( { ... } );)");
	return 0;
}

/* The whole file, bounded, with its NUL bytes refused. */
static int
read_file(struct cfg_ctx *ctx, char **bufp, size_t *lenp)
{
	struct stat st;
	char *buf = NULL, *nul, *p;
	size_t len = 0;
	ssize_t r;
	unsigned int line;
	int fd, rc;

	/* O_NONBLOCK: a FIFO in place of the file must not hang -t. */
	if ((fd = open(ctx->path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return cfg_error_file(ctx, MTLS_ERR_SYSTEM, strerror(errno));
	if (fstat(fd, &st) == -1) {
		rc = cfg_error_file(ctx, MTLS_ERR_SYSTEM, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = cfg_error_file(ctx, MTLS_ERR_CONFIG,
		    "not a regular file");
		goto fail;
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		rc = cfg_error_file(ctx, MTLS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	/* Read one byte past the limit to notice a file that grew. */
	while (len <= CONFIG_FILE_MAX) {
		r = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			rc = cfg_error_file(ctx, MTLS_ERR_SYSTEM,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONFIG_FILE_MAX) {
		rc = cfg_error_file(ctx, MTLS_ERR_TOO_LARGE,
		    "file too large (at most 1 MiB)");
		goto fail;
	}
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		line = 1;
		for (p = buf; p < nul; p++)
			if (*p == '\n')
				line++;
		rc = cfg_error(ctx, line, NULL, "NUL byte in file");
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return rc;
}

/*
 * A lexer for libconfig's syntax that knows just names, "=" or ":",
 * brackets and where strings and comments end; for dup_name.
 */
enum dup_tok { DT_END, DT_NAME, DT_ASSIGN, DT_OPEN, DT_CLOSE, DT_OTHER };

struct dup_lexer {
	const char	*p;
	unsigned int	 line;
	const char	*name;		/* the last DT_NAME */
	size_t		 len;
	unsigned int	 name_line;
};

static enum dup_tok
dup_next(struct dup_lexer *lx)
{
	const char *p = lx->p;
	enum dup_tok t = DT_OTHER;

	for (;;) {
		if (*p == '\n')
			lx->line++;
		else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (p[1] != '\0' && p[1] != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' &&
			    p[1] == '/'); p++)
				if (*p == '\n')
					lx->line++;
			if (*p == '\0')
				break;
			p++;
		} else if (*p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\f' && *p != '\v')
			break;
		p++;
	}
	if (*p == '\0') {
		lx->p = p;
		return DT_END;
	}
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (*p == '\n')
				lx->line++;
		}
		if (*p == '"')
			p++;
	} else if (is_alpha(*p) || *p == '*') {
		lx->name = p;
		lx->name_line = lx->line;
		for (p++; is_alpha(*p) || is_digit(*p) || *p == '-' ||
		    *p == '_' || *p == '*'; p++)
			;
		lx->len = (size_t)(p - lx->name);
		t = DT_NAME;
	} else if (*p == '=' || *p == ':') {
		p++;
		t = DT_ASSIGN;
	} else if (*p == '{' || *p == '(' || *p == '[') {
		p++;
		t = DT_OPEN;
	} else if (*p == '}' || *p == ')' || *p == ']') {
		p++;
		t = DT_CLOSE;
	} else
		p++;
	lx->p = p;
	return t;
}

/* Is the name at nm assigned before, in the group that starts at start? */
static int
dup_earlier(const char *start, const char *nm, size_t len)
{
	struct dup_lexer lx;
	enum dup_tok t, prev = DT_OTHER;
	size_t depth = 0;

	memset(&lx, 0, sizeof(lx));
	lx.p = start;
	while ((t = dup_next(&lx)) != DT_END) {
		if (t == DT_NAME && lx.name == nm)
			return 0;
		if (t == DT_OPEN)
			depth++;
		else if (t == DT_CLOSE && depth-- == 0)
			return 0;
		else if (t == DT_ASSIGN && prev == DT_NAME && depth == 0 &&
		    lx.len == len && memcmp(lx.name, nm, len) == 0)
			return 1;
		prev = t;
	}
	return 0;
}

/*
 * libconfig 1.5 reports a setting defined twice in one group (two rule
 * sets of one name, say) as "duplicate setting name" and the line, not
 * the name.  Find it: the first name assigned on that line that its group
 * already has.  Returns 0 or MTLS_ERR_NOT_FOUND.
 */
static int
dup_name(const char *buf, unsigned int line, char *out, size_t size)
{
	struct dup_lexer lx;
	const char *open[SCAN_DEPTH + 1];
	enum dup_tok t, prev = DT_OTHER;
	size_t depth = 0;

	memset(&lx, 0, sizeof(lx));
	lx.p = buf;
	lx.line = 1;
	open[0] = buf;
	while ((t = dup_next(&lx)) != DT_END && lx.line <= line) {
		if (t == DT_OPEN) {
			if (depth == SCAN_DEPTH)
				break;
			open[++depth] = lx.p;
		} else if (t == DT_CLOSE) {
			if (depth == 0)
				break;
			depth--;
		} else if (t == DT_ASSIGN && prev == DT_NAME &&
		    lx.name_line == line && lx.len < size &&
		    dup_earlier(open[depth], lx.name, lx.len)) {
			memcpy(out, lx.name, lx.len);
			out[lx.len] = '\0';
			return 0;
		}
		prev = t;
	}
	return MTLS_ERR_NOT_FOUND;
}

/*
 * cfg is overwritten, not freed first: load into a fresh struct (SIGHUP
 * keeps the old one until the new one is good).  On failure cfg is left
 * zeroed, so config_free on it is harmless.
 */
int
config_load(const char *path, struct mtlsd_config *cfg, char *err,
    size_t errsize)
{
	struct cfg_ctx ctx;
	config_t lc;
	const char *text;
	char *buf = NULL, name[LISTENER_NAME_MAX + 1];
	size_t len = 0;
	unsigned int line;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(&ctx, 0, sizeof(ctx));
	ctx.path = path;
	ctx.cfg = cfg;
	ctx.err = err;
	ctx.errsize = errsize;
	if (err != NULL && errsize > 0)
		err[0] = '\0';

	config_init(&lc);
	config_set_auto_convert(&lc, 0);
	if ((rc = read_file(&ctx, &buf, &len)) != 0)
		goto fail;
	if (config_read_string(&lc, buf) != CONFIG_TRUE) {
		if (config_error_file(&lc) != NULL)
			ctx.path = config_error_file(&lc);
		line = (unsigned int)config_error_line(&lc);
		text = config_error_text(&lc) != NULL ?
		    config_error_text(&lc) : "syntax error";
		if (strcmp(text, "duplicate setting name") == 0 &&
		    dup_name(buf, line, name, sizeof(name)) == 0)
			rc = cfg_error(&ctx, line, NULL, "%s \"%s\"", text,
			    name);
		else
			rc = cfg_error(&ctx, line, NULL, "%s", text);
		goto fail;
	}
	if ((rc = scan_literals(&ctx, buf, len)) != 0)
		goto fail;
	if ((cfg->file = strdup(path)) == NULL) {
		rc = cfg_error_file(&ctx, MTLS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = apply_defaults(&ctx, SCOPE_GLOBAL, cfg)) != 0)
		goto fail;
	rc = parse_root(&ctx, config_root_setting(&lc));
fail:
	config_destroy(&lc);
	free(ctx.lits);
	free(buf);
	if (rc != 0)
		config_free(cfg);
	return rc;
}

/* Free the text fields a table scope owns in base. */
static void
free_fields(enum key_scope scope, void *base)
{
	const struct config_key *k;

	for (k = keytab; k < keytab + NKEYS; k++) {
		if (k->scope != scope)
			continue;
		switch (k->type) {
		case KT_STRING:
		case KT_NAME:
		case KT_PATH:
		case KT_LISTEN:
		case KT_UPSTREAM:
		case KT_URL:
			free(*(char **)field(base, k->off));
			break;
		case KT_PATHLIST:
			list_free(k, base);
			break;
		default:
			break;
		}
	}
}

void
config_free(struct mtlsd_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free_fields(SCOPE_GLOBAL, cfg);
	if (cfg->listeners != NULL)
		for (i = 0; i < cfg->n_listeners; i++)
			free_fields(SCOPE_LISTENER, &cfg->listeners[i]);
	free(cfg->listeners);
	/* Rules (SCOPE_RULE) belong to their set: mapping.c frees them. */
	if (cfg->mappings != NULL)
		for (i = 0; i < cfg->n_mappings; i++)
			mapping_set_free(&cfg->mappings[i]);
	free(cfg->mappings);
	free(cfg->file);
	memset(cfg, 0, sizeof(*cfg));
}

const char *const *
config_known_keys(void)
{
	return known_keys;
}

const char *
config_log_level_name(enum log_level level)
{
	const struct name_value *t;

	for (t = log_levels; t->name != NULL; t++)
		if (t->value == (int)level)
			return t->name;
	return "unknown";
}
