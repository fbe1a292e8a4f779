/*
 * generation.c: configuration loads and the TLS state built from them.
 *
 * A generation is immutable once installed.  New connections take a
 * reference to the current one; a reload (SIGHUP, "mtlsctl reload") or a
 * CRL change builds a new generation beside it and installs it only when
 * everything loaded, so a bad configuration never replaces a good one and
 * no established connection is dropped.  The workers then re-check their
 * live sessions against the new generation (relay.c).
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"
#include "x509.h"

struct config_ref *
config_ref_load(const char *path, char *err, size_t errsize)
{
	struct config_ref *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errsize, "%s: out of memory", path);
		return NULL;
	}
	if (config_load(path, &c->cfg, err, errsize) != 0) {
		free(c);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	return c;
}

void
config_ref_release(struct config_ref *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	config_free(&c->cfg);
	free(c);
}

/* A file the daemon must read: say which and why not. */
static int
check_readable(FILE *out, const struct mtlsd_config *cfg,
    const struct listener_config *lc, const char *key, const char *path)
{
	if (access(path, R_OK) == 0)
		return 0;
	fprintf(out, "%s:%d: listener \"%s\": %s %s: %s%s\n", cfg->file,
	    lc->line, lc->name, key, path, strerror(errno),
	    errno == EACCES && geteuid() != 0 ?
	    " (mtlsd reads it as its own user when reloading)" : "");
	return -1;
}

int
conf_check(const struct mtlsd_config *cfg, FILE *out)
{
	const struct listener_config *lc;
	struct tls_ctx *t;
	char err[CONFIG_ERR_MAX];
	uid_t uid;
	gid_t gid;
	size_t i, j;
	int bad = 0;

	for (i = 0; i < cfg->n_listeners; i++) {
		lc = &cfg->listeners[i];
		if (check_readable(out, cfg, lc, "certificate",
		    lc->certificate) != 0 ||
		    check_readable(out, cfg, lc, "private_key",
		    lc->private_key) != 0 ||
		    check_readable(out, cfg, lc, "client_ca",
		    lc->client_ca) != 0) {
			bad = 1;
			continue;
		}
		for (j = 0; j < lc->n_crl; j++)
			if (check_readable(out, cfg, lc, "crl",
			    lc->crl[j]) != 0)
				bad = 1;
		if (bad)
			continue;
		if ((t = tls_ctx_new(lc, cfg->file, NULL, err,
		    sizeof(err))) == NULL) {
			fprintf(out, "%s\n", err);
			bad = 1;
			continue;
		}
		tls_ctx_free(t);
	}
	if (geteuid() == 0 && priv_lookup(cfg->user, cfg->group, &uid, &gid,
	    err, sizeof(err)) != 0) {
		fprintf(out, "%s: %s\n", cfg->file, err);
		bad = 1;
	}
	if (getgrnam(cfg->query_group) == NULL) {
		fprintf(out, "%s: query.group \"%s\" does not exist\n",
		    cfg->file, cfg->query_group);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/*
 * A rule without an issuer pin maps certificates from every CA the
 * listener trusts; with several CAs in client_ca that is worth a warning
 * (the same subject can be issued by another CA).
 */
void
conf_warn_unpinned(const struct mtlsd_config *cfg)
{
	const struct listener_config *lc;
	const struct mapping_set *set;
	const struct mapping_rule *r;
	struct x509_anchors *a;
	char err[CONFIG_ERR_MAX];
	size_t i, j, anchors;

	for (i = 0; i < cfg->n_listeners; i++) {
		lc = &cfg->listeners[i];
		/* Only the CA count matters: no need for a whole context. */
		if ((set = lc->mapping_set) == NULL ||
		    x509_anchors_load(lc->client_ca, &a, err, sizeof(err)) != 0)
			continue;
		anchors = x509_anchors_count(a);
		x509_anchors_free(a);
		if (anchors < 2)
			continue;
		for (j = 0; j < set->nrules; j++) {
			r = &set->rules[j];
			/* A fingerprint of the certificate or its key already
			 * names one certificate, whoever issued it. */
			if (r->has_issuer_pin ||
			    strcmp(r->field, "cert.sha256") == 0 ||
			    strcmp(r->field, "spki.sha256") == 0)
				continue;
			log_warnx("%s:%d: warning: mapping \"%s\" rule \"%s\" "
			    "has no issuer pin, and listener \"%s\" trusts %zu "
			    "CAs in %s: a certificate from any of them with "
			    "a matching %s maps", cfg->file, r->line, set->name,
			    r->name, lc->name, anchors, lc->client_ca,
			    r->field);
		}
	}
}

static void
gen_free(struct generation *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		tls_ctx_free(g->listeners[i].tls);
	free(g->listeners);
	config_ref_release(g->conf);
	free(g);
}

static bool
same_addr(const struct netaddr *a, const struct netaddr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

int
gen_build(struct mtlsd *d, struct config_ref *conf,
    const struct generation *prev, struct generation **out, char *err,
    size_t errsize)
{
	const struct mtlsd_config *cfg = &conf->cfg;
	const struct listener_config *lc;
	struct generation *g;
	size_t i, j;

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->listeners = calloc(d->n_socks, sizeof(*g->listeners))) ==
	    NULL) {
		free(g);
		snprintf(err, errsize, "out of memory");
		return MTLS_ERR_NOMEM;
	}
	atomic_init(&g->refs, 1);
	atomic_fetch_add(&conf->refs, 1);
	g->conf = conf;
	g->n = d->n_socks;
	/* The listening sockets were bound at start, as root: a reload may
	 * change everything about a listener but its address. */
	for (i = 0; i < cfg->n_listeners; i++) {
		lc = &cfg->listeners[i];
		for (j = 0; j < d->n_socks; j++)
			if (same_addr(&lc->listen_addr, &d->socks[j].addr))
				break;
		if (j == d->n_socks || g->listeners[j].cfg != NULL) {
			snprintf(err, errsize, "%s:%d: listener \"%s\": listen "
			    "address %s is not one mtlsd was started with: "
			    "restart mtlsd to listen on it", cfg->file,
			    lc->line, lc->name, lc->listen);
			goto fail;
		}
		g->listeners[j].cfg = lc;
	}
	for (j = 0; j < d->n_socks; j++) {
		struct listener *l = &g->listeners[j];

		if (l->cfg == NULL) {
			snprintf(err, errsize, "%s: no listener for %s any "
			    "more: restart mtlsd to stop listening there",
			    cfg->file, d->socks[j].text);
			goto fail;
		}
		if ((l->tls = tls_ctx_new(l->cfg, cfg->file, prev != NULL ?
		    prev->listeners[j].tls : NULL, err, errsize)) == NULL)
			goto fail;
		if (listener_upstream_source(l) != 0) {
			snprintf(err, errsize, "%s:%d: listener \"%s\": no "
			    "route to upstream %s: %s", cfg->file,
			    l->cfg->line, l->cfg->name, l->cfg->upstream,
			    strerror(errno));
			goto fail;
		}
	}
	*out = g;
	return 0;
fail:
	gen_free(g);
	return MTLS_ERR_CONFIG;
}

struct generation *
gen_acquire(struct mtlsd *d)
{
	struct generation *g;

	pthread_mutex_lock(&d->gen_lock);
	g = d->gen;
	atomic_fetch_add(&g->refs, 1);
	pthread_mutex_unlock(&d->gen_lock);
	return g;
}

void
gen_release(struct generation *g)
{
	if (g != NULL && atomic_fetch_sub(&g->refs, 1) == 1)
		gen_free(g);
}

void
gen_install(struct mtlsd *d, struct generation *g)
{
	struct generation *old;

	pthread_mutex_lock(&d->gen_lock);
	old = d->gen;
	g->serial = atomic_load(&d->gen_serial) + 1;
	d->gen = g;
	atomic_store(&d->gen_serial, g->serial);
	pthread_mutex_unlock(&d->gen_lock);
	gen_release(old);
}

/* Settings a running daemon cannot change: say so rather than ignore. */
static void
warn_restart_only(const struct mtlsd_config *a, const struct mtlsd_config *b)
{
#define DIFF_STR(f) (strcmp(a->f, b->f) != 0)
	if (DIFF_STR(user) || DIFF_STR(group))
		log_warnx("event=reload warning=\"user and group take effect "
		    "after a restart\"");
	if (DIFF_STR(query_socket) || DIFF_STR(query_group) ||
	    a->query_mode != b->query_mode)
		log_warnx("event=reload warning=\"query settings take effect "
		    "after a restart\"");
	if (a->workers != b->workers || a->log_facility != b->log_facility)
		log_warnx("event=reload warning=\"workers and log.facility take "
		    "effect after a restart\"");
#undef DIFF_STR
}

int
mtlsd_reload(struct mtlsd *d, uint64_t *serial, char *err, size_t errsize)
{
	struct config_ref *conf;
	struct generation *g, *cur;
	int rc = -1;

	pthread_mutex_lock(&d->reload_lock);
	if ((conf = config_ref_load(d->conf_path, err, errsize)) == NULL)
		goto done;
	/* Files are checked by loading them, as the running user. */
	cur = gen_acquire(d);
	rc = gen_build(d, conf, cur, &g, err, errsize);
	gen_release(cur);
	if (rc != 0) {
		rc = -1;
		goto done;
	}
	warn_restart_only(&d->boot->cfg, &conf->cfg);
	conf_warn_unpinned(&conf->cfg);
	if (!d->debug)
		log_setlevel(conf->cfg.log_level);
	gen_install(d, g);
	*serial = g->serial;
	rc = 0;
done:
	config_ref_release(conf);
	pthread_mutex_unlock(&d->reload_lock);
	return rc;
}

int
mtlsd_refresh_tls(struct mtlsd *d, uint64_t *serial, char *err,
    size_t errsize)
{
	struct generation *cur, *g;
	int rc;

	pthread_mutex_lock(&d->reload_lock);
	cur = gen_acquire(d);
	rc = gen_build(d, cur->conf, cur, &g, err, errsize);
	if (rc == 0) {
		gen_install(d, g);
		*serial = g->serial;
	}
	gen_release(cur);
	pthread_mutex_unlock(&d->reload_lock);
	return rc;
}
