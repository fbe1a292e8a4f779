/*
 * mtlsctl_map.c: "mtlsctl map", which local accounts a certificate maps
 * to and why.  Offline: reads the configuration and the certificate, never
 * the daemon's socket.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "bytes.h"
#include "config.h"
#include "error.h"
#include "identity.h"
#include "log.h"
#include "json.h"
#include "mapping.h"
#include "x509.h"

#include "mtlsctl.h"

/* What one map run evaluated, for the formatters. */
struct map_run {
	const struct map_opts		*opts;
	const struct mapping_set	*set;
	const struct listener_config	*listener;	/* NULL: none uses set */
	const struct identity		*id;
	bool				 issuer_known;
	unsigned char			 issuer_sha256[IDENTITY_SHA256_LEN];
	char				 issuer_note[256];
	const struct mapping_result	*res;
	bool				 user_mapped;
};

/*
 * Append s as a logfmt value with key, for strings that are already
 * printable (the display form mapping.c gives step values and reasons).  Only '"' needs escaping in such text;
 * any other byte outside printable ASCII still becomes \xNN, so nothing
 * can reach the terminal raw.  A backslash in display text already stands
 * for an escape, so it is kept and makes the value quoted.
 */
static int
map_put_shown(struct mtls_buf *b, const char *key, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	bool quote = *p == '\0';
	size_t i;
	int rc = 0;

	for (i = 0; p[i] != '\0' && !quote; i++)
		if (p[i] <= ' ' || p[i] >= 0x7f || p[i] == '"' ||
		    p[i] == '=' || p[i] == '\\')
			quote = true;
	if (b->len > 0 && b->data[b->len - 1] != '\n')
		rc = buf_append(b, " ", 1);
	if (rc == 0)
		rc = buf_printf(b, "%s=%s", key, quote ? "\"" : "");
	for (i = 0; p[i] != '\0' && rc == 0; i++) {
		if (p[i] == '"')
			rc = buf_append(b, "\\\"", 2);
		else if (p[i] < ' ' || p[i] >= 0x7f)
			rc = buf_printf(b, "\\x%02X", p[i]);
		else
			rc = buf_append(b, &p[i], 1);
	}
	if (rc == 0 && quote)
		rc = buf_append(b, "\"", 1);
	return rc;
}

/* Append s as text, any byte outside printable ASCII as \xNN. */
static int
map_put_text(struct mtls_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;
	int rc = 0;

	for (i = 0; p[i] != '\0' && rc == 0; i++) {
		if (p[i] < ' ' || p[i] >= 0x7f)
			rc = buf_printf(b, "\\x%02X", p[i]);
		else
			rc = buf_append(b, &p[i], 1);
	}
	return rc;
}

/* One "key=value" line of raw bytes, escaped by logfmt_append. */
static int
map_line_bytes(struct mtls_buf *out, const char *key, const void *v,
    size_t len)
{
	struct mtls_buf line;
	int rc;

	buf_init(&line, 0);
	rc = logfmt_append(&line, key, v, len);
	if (rc == 0)
		rc = buf_append(&line, "\n", 1);
	if (rc == 0)
		rc = buf_append(out, line.data, line.len);
	buf_free(&line);
	return rc;
}

static int
map_line_str(struct mtls_buf *out, const char *key, const char *s)
{
	return map_line_bytes(out, key, s, strlen(s));
}

/* "prefix.TYPE=value" for every attribute of a name. */
static int
map_text_attrs(struct mtls_buf *out, const char *prefix,
    const struct identity_name *n)
{
	char key[96];
	size_t i;
	int rc = 0;

	for (i = 0; i < n->count && rc == 0; i++) {
		snprintf(key, sizeof(key), "%s.%s", prefix, n->attrs[i].type);
		rc = map_line_bytes(out, key, n->attrs[i].value.data,
		    n->attrs[i].value.len);
	}
	return rc;
}

static int
map_text_list(struct mtls_buf *out, const char *key,
    const struct mtls_bytes_list *l)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < l->count && rc == 0; i++)
		rc = map_line_bytes(out, key, l->items[i].data,
		    l->items[i].len);
	return rc;
}

/* "rule NAME: VERDICT: value=... account=... reason=..." */
static int
map_text_step(struct mtls_buf *out, const struct mapping_step *s)
{
	struct mtls_buf line;
	int rc;

	buf_init(&line, 0);
	rc = buf_printf(&line, "rule %s: %s:", s->rule->name,
	    mapping_step_kind_name(s->kind));
	if (rc == 0 && s->value != NULL)
		rc = map_put_shown(&line, "value", s->value);
	if (rc == 0 && s->account != NULL)
		rc = map_put_shown(&line, "account", s->account);
	if (rc == 0 && s->reason[0] != '\0')
		rc = map_put_shown(&line, "reason", s->reason);
	if (rc == 0)
		rc = buf_append(&line, "\n", 1);
	if (rc == 0)
		rc = buf_append(out, line.data, line.len);
	buf_free(&line);
	return rc;
}

static int
map_format_text(const struct map_run *m, struct mtls_buf *out)
{
	const struct identity *id = m->id;
	char fpr[IDENTITY_FPR_TEXT], when[64];
	size_t i;
	int rc = 0;

	if (m->opts->explain) {
		rc = buf_printf(out, "mapping=%s", m->set->name);
		if (rc == 0 && m->listener != NULL)
			rc = buf_printf(out, " listener=%s", m->listener->name);
		if (rc == 0 && m->listener != NULL)
			rc = logfmt_append(out, "client_ca",
			    m->listener->client_ca,
			    strlen(m->listener->client_ca));
		if (rc == 0)
			rc = buf_append(out, "\n", 1);
	}
	if (rc == 0)
		rc = map_line_bytes(out, "subject", id->subject.rfc4514.data,
		    id->subject.rfc4514.len);
	if (rc == 0 && m->opts->explain)
		rc = map_text_attrs(out, "subject", &id->subject);
	if (rc == 0)
		rc = map_line_bytes(out, "issuer", id->issuer.rfc4514.data,
		    id->issuer.rfc4514.len);
	if (rc == 0 && m->opts->explain)
		rc = map_text_attrs(out, "issuer", &id->issuer);
	if (rc == 0)
		rc = map_line_str(out, "serial", id->serial);
	identity_fingerprint_text(id->cert_sha256, fpr);
	if (rc == 0)
		rc = map_line_str(out, "cert.sha256", fpr);
	identity_fingerprint_text(id->spki_sha256, fpr);
	if (rc == 0)
		rc = map_line_str(out, "spki.sha256", fpr);
	if (rc == 0)
		rc = map_text_list(out, "san.email", &id->san_email);
	if (rc == 0)
		rc = map_text_list(out, "san.dns", &id->san_dns);
	if (rc == 0)
		rc = map_text_list(out, "san.uri", &id->san_uri);
	identity_time_text(id->not_before, when, sizeof(when));
	if (rc == 0)
		rc = map_line_str(out, "not_before", when);
	identity_time_text(id->not_after, when, sizeof(when));
	if (rc == 0)
		rc = map_line_str(out, "not_after", when);
	if (m->issuer_known)
		identity_fingerprint_text(m->issuer_sha256, fpr);
	if (rc == 0)
		rc = map_line_str(out, "issuer_ca_sha256",
		    m->issuer_known ? fpr : "unknown");
	if (rc == 0 && !m->issuer_known) {
		rc = buf_append_str(out, "issuer unknown: pinned rules are "
		    "skipped (");
		if (rc == 0)
			rc = map_put_text(out, m->issuer_note);
		if (rc == 0)
			rc = buf_append(out, ")\n", 2);
	}
	for (i = 0; m->opts->explain && i < m->res->nsteps && rc == 0; i++)
		rc = map_text_step(out, &m->res->steps[i]);
	if (rc == 0)
		rc = buf_append_str(out, "accounts:");
	for (i = 0; i < m->res->naccounts && rc == 0; i++)
		rc = buf_printf(out, "%s%s", i > 0 ? ", " : " ",
		    m->res->accounts[i].name);
	if (rc == 0 && m->res->naccounts == 0)
		rc = buf_append_str(out, " none");
	if (rc == 0)
		rc = buf_append(out, "\n", 1);
	if (rc == 0 && m->opts->user != NULL) {
		struct mtls_buf line;

		buf_init(&line, 0);
		rc = logfmt_append(&line, "user", m->opts->user,
		    strlen(m->opts->user));
		if (rc == 0)
			rc = buf_printf(&line, " mapped=%s\n",
			    m->user_mapped ? "yes" : "no");
		if (rc == 0)
			rc = buf_append(out, line.data, line.len);
		buf_free(&line);
	}
	return rc;
}

/* ',' unless first, then "key": */
static int
json_key(struct mtls_buf *b, const char *key, bool *first)
{
	int rc = 0;

	if (!*first)
		rc = buf_append(b, ",", 1);
	*first = false;
	if (rc == 0)
		rc = json_string(b, (const unsigned char *)key, strlen(key));
	if (rc == 0)
		rc = buf_append(b, ":", 1);
	return rc;
}

/* "key":"s", or "key":null when s is NULL. */
static int
json_member_str(struct mtls_buf *b, const char *key, const char *s,
    bool *first)
{
	int rc;

	if ((rc = json_key(b, key, first)) != 0)
		return rc;
	if (s == NULL)
		return buf_append_str(b, "null");
	return json_string(b, (const unsigned char *)s, strlen(s));
}

static int
json_member_list(struct mtls_buf *b, const char *key,
    const struct mtls_bytes_list *l, bool *first)
{
	size_t i;
	int rc;

	if ((rc = json_key(b, key, first)) != 0 ||
	    (rc = buf_append(b, "[", 1)) != 0)
		return rc;
	for (i = 0; i < l->count && rc == 0; i++) {
		if (i > 0)
			rc = buf_append(b, ",", 1);
		if (rc == 0)
			rc = json_string(b, l->items[i].data, l->items[i].len);
	}
	if (rc == 0)
		rc = buf_append(b, "]", 1);
	return rc;
}

static int
json_step(struct mtls_buf *b, const struct mapping_step *s)
{
	bool first = true;
	int rc;

	if ((rc = buf_append(b, "{", 1)) != 0 ||
	    (rc = json_member_str(b, "rule", s->rule->name, &first)) != 0 ||
	    (rc = json_member_str(b, "result",
	    mapping_step_kind_name(s->kind), &first)) != 0 ||
	    (rc = json_member_str(b, "value", s->value, &first)) != 0 ||
	    (rc = json_member_str(b, "account", s->account, &first)) != 0 ||
	    (rc = json_member_str(b, "reason", s->reason, &first)) != 0)
		return rc;
	return buf_append(b, "}", 1);
}

/* The whole run as one JSON object on one line. */
static int
map_format_json(const struct map_run *m, struct mtls_buf *b)
{
	const struct identity *id = m->id;
	char fpr[IDENTITY_FPR_TEXT], when[64];
	bool first = true;
	size_t i;
	int rc;

	if ((rc = buf_append(b, "{", 1)) != 0 ||
	    (rc = json_member_str(b, "certificate", m->opts->cert,
	    &first)) != 0 ||
	    (rc = json_member_str(b, "mapping", m->set->name, &first)) != 0 ||
	    (rc = json_member_str(b, "listener", m->listener != NULL ?
	    m->listener->name : NULL, &first)) != 0 ||
	    (rc = json_member_str(b, "client_ca", m->listener != NULL ?
	    m->listener->client_ca : NULL, &first)) != 0)
		return rc;
	if ((rc = json_key(b, "subject", &first)) != 0 ||
	    (rc = json_string(b, id->subject.rfc4514.data,
	    id->subject.rfc4514.len)) != 0 ||
	    (rc = json_key(b, "issuer", &first)) != 0 ||
	    (rc = json_string(b, id->issuer.rfc4514.data,
	    id->issuer.rfc4514.len)) != 0 ||
	    (rc = json_member_str(b, "serial", id->serial, &first)) != 0)
		return rc;
	identity_fingerprint_text(id->cert_sha256, fpr);
	if ((rc = json_member_str(b, "sha256", fpr, &first)) != 0)
		return rc;
	identity_fingerprint_text(id->spki_sha256, fpr);
	if ((rc = json_member_str(b, "spki_sha256", fpr, &first)) != 0 ||
	    (rc = json_member_list(b, "san_email", &id->san_email,
	    &first)) != 0 ||
	    (rc = json_member_list(b, "san_dns", &id->san_dns, &first)) != 0 ||
	    (rc = json_member_list(b, "san_uri", &id->san_uri, &first)) != 0)
		return rc;
	identity_time_text(id->not_before, when, sizeof(when));
	if ((rc = json_member_str(b, "not_before", when, &first)) != 0)
		return rc;
	identity_time_text(id->not_after, when, sizeof(when));
	if ((rc = json_member_str(b, "not_after", when, &first)) != 0)
		return rc;
	if (m->issuer_known)
		identity_fingerprint_text(m->issuer_sha256, fpr);
	if ((rc = json_member_str(b, "issuer_ca_sha256", m->issuer_known ?
	    fpr : NULL, &first)) != 0)
		return rc;
	if (!m->issuer_known && (rc = json_member_str(b, "issuer_ca_note",
	    m->issuer_note, &first)) != 0)
		return rc;

	if ((rc = json_key(b, "steps", &first)) != 0 ||
	    (rc = buf_append(b, "[", 1)) != 0)
		return rc;
	for (i = 0; i < m->res->nsteps && rc == 0; i++) {
		if (i > 0)
			rc = buf_append(b, ",", 1);
		if (rc == 0)
			rc = json_step(b, &m->res->steps[i]);
	}
	if (rc == 0)
		rc = buf_append(b, "]", 1);
	if (rc == 0)
		rc = json_key(b, "accounts", &first);
	if (rc == 0)
		rc = buf_append(b, "[", 1);
	for (i = 0; i < m->res->naccounts && rc == 0; i++) {
		if (i > 0)
			rc = buf_append(b, ",", 1);
		if (rc == 0)
			rc = json_string(b, (const unsigned char *)
			    m->res->accounts[i].name,
			    strlen(m->res->accounts[i].name));
	}
	if (rc == 0)
		rc = buf_append(b, "]", 1);
	if (rc == 0 && m->opts->user != NULL) {
		if ((rc = json_member_str(b, "user", m->opts->user,
		    &first)) == 0 &&
		    (rc = json_key(b, "user_mapped", &first)) == 0)
			rc = buf_append_str(b, m->user_mapped ? "true" :
			    "false");
	}
	if (rc == 0)
		rc = buf_append(b, "}\n", 2);
	return rc;
}

static const struct listener_config *
map_listener_find(const struct mtlsd_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_listeners; i++)
		if (strcmp(cfg->listeners[i].name, name) == 0)
			return &cfg->listeners[i];
	return NULL;
}

/*
 * Choose the rule set, and the listener whose client_ca tells the issuer:
 * --listener names both; --mapping names the set, and the first listener
 * that uses it gives the anchors (none: issuer unknown); with neither, the
 * only set there is.  Returns 0, or -1 after printing one line.
 */
static int
map_select(const struct mtlsd_config *cfg, const struct map_opts *o,
    const struct mapping_set **set, const struct listener_config **lc)
{
	size_t i;

	*set = NULL;
	*lc = NULL;
	if (o->listener != NULL) {
		if ((*lc = map_listener_find(cfg, o->listener)) == NULL) {
			fprintf(stderr, "mtlsctl: map: %s has no listener "
			    "named \"%s\"\n", cfg->file, o->listener);
			return -1;
		}
		if (((*set) = (*lc)->mapping_set) == NULL) {
			fprintf(stderr, "mtlsctl: map: listener \"%s\" has no "
			    "mapping (%s line %d)\n", o->listener, cfg->file,
			    (*lc)->line);
			return -1;
		}
		return 0;
	}
	if (o->mapping != NULL) {
		for (i = 0; i < cfg->n_mappings && *set == NULL; i++)
			if (strcmp(cfg->mappings[i].name, o->mapping) == 0)
				*set = &cfg->mappings[i];
		if (*set == NULL) {
			fprintf(stderr, "mtlsctl: map: %s has no mapping named "
			    "\"%s\"\n", cfg->file, o->mapping);
			return -1;
		}
	} else if (cfg->n_mappings == 1)
		*set = &cfg->mappings[0];
	else if (cfg->n_mappings == 0) {
		fprintf(stderr, "mtlsctl: map: %s defines no mappings\n",
		    cfg->file);
		return -1;
	} else {
		fprintf(stderr, "mtlsctl: map: %s: several rule sets: use "
		    "--mapping or --listener\n", cfg->file);
		return -1;
	}
	for (i = 0; i < cfg->n_listeners && *lc == NULL; i++)
		if (cfg->listeners[i].mapping_set == *set)
			*lc = &cfg->listeners[i];
	return 0;
}

/*
 * Find the CA that issued the leaf, as mtlsd would: a path from certs[0]
 * through the other certificates of the file to an anchor of the
 * listener's client_ca.  Not finding one is no error (m->issuer_note says
 * why); an unreadable client_ca is (-1, one line printed).
 */
static int
map_issuer(struct map_run *m, const unsigned char *const *der,
    const size_t *len, size_t n)
{
	struct x509_anchors *anchors = NULL;
	char err[512] = "";
	int rc, inter = 0;

	m->issuer_known = false;
	if (m->listener == NULL) {
		snprintf(m->issuer_note, sizeof(m->issuer_note), "no listener "
		    "uses mapping %s, so there is no client_ca to look in",
		    m->set->name);
		return 0;
	}
	if ((rc = x509_anchors_load(m->listener->client_ca, &anchors, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "mtlsctl: map: client_ca of listener \"%s\": "
		    "%s\n", m->listener->name, err[0] != '\0' ? err :
		    mtls_strerror(rc));
		return -1;
	}
	rc = x509_path(anchors, der, len, n, X509_MAX_CHAIN, &inter,
	    m->issuer_sha256);
	x509_anchors_free(anchors);
	switch (rc) {
	case 0:
		m->issuer_known = true;
		break;
	case MTLS_ERR_TOO_LARGE:
		snprintf(m->issuer_note, sizeof(m->issuer_note), "the path "
		    "to %s is longer than %d certificates",
		    m->listener->client_ca, X509_MAX_CHAIN);
		break;
	case MTLS_ERR_NOT_FOUND:
		snprintf(m->issuer_note, sizeof(m->issuer_note), "no path "
		    "from the certificate to a CA in %s",
		    m->listener->client_ca);
		break;
	case MTLS_ERR_NOMEM:
		fprintf(stderr, "mtlsctl: out of memory\n");
		return -1;
	default:
		snprintf(m->issuer_note, sizeof(m->issuer_note), "cannot "
		    "check the path to %s: %s", m->listener->client_ca,
		    mtls_strerror(rc));
		break;
	}
	return 0;
}

int
ctl_map(const struct map_opts *o)
{
	struct mtlsd_config cfg;
	struct identity id;
	struct mapping_result res;
	struct account_policy policy;
	struct map_run m;
	struct mtls_buf out;
	unsigned char **der = NULL;
	size_t *len = NULL, n = 0, i;
	char err[CONFIG_ERR_MAX > 512 ? CONFIG_ERR_MAX : 512];
	bool have_cfg = false, have_id = false, have_res = false;
	int rc, ret = EXIT_FAIL;

	memset(&cfg, 0, sizeof(cfg));
	memset(&id, 0, sizeof(id));
	memset(&res, 0, sizeof(res));
	memset(&m, 0, sizeof(m));
	buf_init(&out, 0);
	m.opts = o;

	if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
		fprintf(stderr, "mtlsctl: map: cannot initialise wolfSSL\n");
		return EXIT_FAIL;
	}
	err[0] = '\0';
	if ((rc = config_load(o->config, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "mtlsctl: %s\n", err[0] != '\0' ? err :
		    mtls_strerror(rc));
		goto done;
	}
	have_cfg = true;
	if (map_select(&cfg, o, &m.set, &m.listener) != 0)
		goto done;

	err[0] = '\0';
	if ((rc = x509_pem_read(o->cert, &der, &len, err, sizeof(err))) < 0) {
		fprintf(stderr, "mtlsctl: map: %s\n", err[0] != '\0' ? err :
		    mtls_strerror(rc));
		goto done;
	}
	n = (size_t)rc;
	err[0] = '\0';
	if ((rc = identity_from_der(&id, der[0], len[0], err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "mtlsctl: map: %s: first certificate: %s\n",
		    o->cert, err[0] != '\0' ? err : mtls_strerror(rc));
		goto done;
	}
	have_id = true;
	m.id = &id;
	if (map_issuer(&m, (const unsigned char *const *)der, len, n) != 0)
		goto done;

	memset(&policy, 0, sizeof(policy));
	policy.min_uid = cfg.accounts_min_uid;
	policy.allow_root = cfg.accounts_allow_root;
	policy.lookup = NULL;		/* NSS, as mtlsd does */
	if ((rc = mapping_evaluate(m.set, &id, m.issuer_known ?
	    m.issuer_sha256 : NULL, &policy, &res)) != 0) {
		fprintf(stderr, "mtlsctl: map: %s\n", mtls_strerror(rc));
		goto done;
	}
	have_res = true;
	m.res = &res;
	for (i = 0; o->user != NULL && i < res.naccounts; i++)
		if (strcmp(res.accounts[i].name, o->user) == 0)
			m.user_mapped = true;

	rc = o->json ? map_format_json(&m, &out) : map_format_text(&m, &out);
	if (rc != 0) {
		fprintf(stderr, "mtlsctl: map: %s\n", mtls_strerror(rc));
		goto done;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) == EOF) {
		fprintf(stderr, "mtlsctl: cannot write output: %s\n",
		    strerror(errno));
		goto done;
	}
	if (o->user != NULL)
		ret = m.user_mapped ? EXIT_OK : EXIT_NOTFOUND;
	else
		ret = res.naccounts > 0 ? EXIT_OK : EXIT_NOTFOUND;
 done:
	buf_free(&out);
	if (have_res)
		mapping_result_free(&res);
	if (have_id)
		identity_free(&id);
	if (der != NULL)
		x509_der_list_free(der, len, n);
	if (have_cfg)
		config_free(&cfg);
	wolfSSL_Cleanup();
	return ret;
}

/*
 * The options and the certificate of "map" (argv[0] is "map"); options may
 * follow the certificate.  Returns -1 to go on, or an exit code.
 */
int
map_parse(int argc, char *argv[], struct map_opts *o)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "explain",	no_argument,		NULL, OPT_EXPLAIN },
		{ "help",	no_argument,		NULL, OPT_HELP },
		{ "json",	no_argument,		NULL, OPT_JSON },
		{ "listener",	required_argument,	NULL, OPT_LISTENER },
		{ "mapping",	required_argument,	NULL, OPT_MAPPING },
		{ "user",	required_argument,	NULL, OPT_USER },
		{ NULL,		0,			NULL, 0 },
	};
	int ch;

	optind = 0;		/* glibc: start over, at argv[1] */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case OPT_EXPLAIN:
			o->explain = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_LISTENER:
			o->listener = optarg;
			break;
		case OPT_MAPPING:
			o->mapping = optarg;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case 'h':
		case OPT_HELP:
			fputs(USAGE, stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "mtlsctl: map: option %s needs an "
			    "argument\n", argv[optind - 1]);
			usage();
		default:
			if (optopt > 0 && optopt < OPT_JSON)
				fprintf(stderr, "mtlsctl: map: unknown option "
				    "-%c\n", optopt);
			else
				fprintf(stderr, "mtlsctl: map: unknown option "
				    "%s\n", argv[optind - 1]);
			usage();
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "mtlsctl: map: %s\n", argc - optind < 1 ?
		    "no certificate file given" : "more than one certificate "
		    "file given");
		usage();
	}
	o->cert = argv[optind];
	if (o->mapping != NULL && o->listener != NULL) {
		fprintf(stderr, "mtlsctl: map: use --mapping or --listener, "
		    "not both\n");
		return EXIT_FAIL;
	}
	return -1;
}

