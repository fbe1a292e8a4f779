/*
 * session.c: the table of live, verified sessions, shared by the relay
 * workers (add, remove) and the query server (lookups).
 *
 * Keyed by the upstream connection's address pair: what the backend sees as
 * its local address (upstream) and its peer (upstream_local, our source).
 */
#include <sys/random.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"
#include "query.h"

#define SESSION_BUCKETS	4096

struct session_table {
	pthread_mutex_t	 lock;
	struct session	*buckets[SESSION_BUCKETS];
	size_t		 count;
};

/* FNV-1a over both addresses; the table is not exposed to attackers'
 * choice of keys beyond their source port, and chains stay short. */
static size_t
bucket_of(const char *upstream, const char *upstream_local)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = upstream; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '|') * 16777619u;
	for (p = upstream_local; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % SESSION_BUCKETS;
}

struct session_table *
session_table_new(void)
{
	struct session_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void
session_table_free(struct session_table *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void
session_add(struct session_table *t, struct session *s)
{
	size_t b = bucket_of(s->upstream, s->upstream_local);

	pthread_mutex_lock(&t->lock);
	s->hnext = t->buckets[b];
	t->buckets[b] = s;
	t->count++;
	pthread_mutex_unlock(&t->lock);
}

void
session_remove(struct session_table *t, struct session *s)
{
	size_t b = bucket_of(s->upstream, s->upstream_local);
	struct session **pp;

	pthread_mutex_lock(&t->lock);
	for (pp = &t->buckets[b]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			t->count--;
			break;
		}
	}
	s->hnext = NULL;
	pthread_mutex_unlock(&t->lock);
}

void
session_set_backend_uid(struct session_table *t, struct session *s,
    uid_t uid)
{
	/* Under the lock: the query thread may be reading the session. */
	pthread_mutex_lock(&t->lock);
	s->backend_uid = uid;
	s->has_backend_uid = true;
	pthread_mutex_unlock(&t->lock);
}

struct mapping_account *
session_update(struct session_table *t, struct session *s,
    const char *listener, struct mapping_account *accounts, size_t n)
{
	struct mapping_account *old;

	pthread_mutex_lock(&t->lock);
	old = s->accounts;
	s->accounts = accounts;
	s->naccounts = n;
	s->listener = listener;
	pthread_mutex_unlock(&t->lock);
	return old;
}

size_t
session_count(struct session_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void
session_foreach(struct session_table *t, const char *addr, const char *peer,
    int (*fn)(const struct session *, void *), void *arg)
{
	struct session *s;
	size_t b;

	pthread_mutex_lock(&t->lock);
	if (addr != NULL && peer != NULL) {
		b = bucket_of(addr, peer);
		for (s = t->buckets[b]; s != NULL; s = s->hnext)
			if (strcmp(s->upstream, addr) == 0 &&
			    strcmp(s->upstream_local, peer) == 0 &&
			    fn(s, arg) != 0)
				break;
		goto done;
	}
	for (b = 0; b < SESSION_BUCKETS; b++) {
		for (s = t->buckets[b]; s != NULL; s = s->hnext) {
			if (addr != NULL && strcmp(s->client, addr) != 0 &&
			    strcmp(s->upstream_local, addr) != 0)
				continue;
			if (fn(s, arg) != 0)
				goto done;
		}
	}
done:
	pthread_mutex_unlock(&t->lock);
}

void
session_find_id(struct session_table *t, const char *id,
    int (*fn)(const struct session *, void *), void *arg)
{
	struct session *s;
	size_t b;

	/* Ids are for backends that got one in a PROXY header: rare, so a
	 * scan rather than a second index. */
	pthread_mutex_lock(&t->lock);
	for (b = 0; b < SESSION_BUCKETS; b++)
		for (s = t->buckets[b]; s != NULL; s = s->hnext)
			if (strcmp(s->id, id) == 0) {
				fn(s, arg);
				goto done;
			}
done:
	pthread_mutex_unlock(&t->lock);
}

void
session_new_id(char id[SESSION_ID_TEXT])
{
	unsigned char r[16];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		fatal("getrandom");
	for (i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
}

static int
add_list(struct query_record *r, const char *key,
    const struct mtls_bytes_list *l)
{
	size_t i;
	int rc;

	for (i = 0; i < l->count; i++)
		if ((rc = query_record_add(r, key, l->items[i].data,
		    l->items[i].len)) != 0)
			return rc;
	return 0;
}

static int
add_accounts(struct query_record *r, const struct session *s)
{
	size_t i;
	int rc;

	for (i = 0; i < s->naccounts; i++)
		if ((rc = query_record_add_str(r, "accounts",
		    s->accounts[i].name)) != 0)
			return rc;
	return 0;
}

int
session_to_record(const struct session *s, struct query_record *r)
{
	const struct identity *id = &s->identity;
	char fpr[IDENTITY_FPR_TEXT], spki[IDENTITY_FPR_TEXT], t1[32], t2[32],
	    since[32], num[2][24];
	int rc;

	identity_fingerprint_text(id->cert_sha256, fpr);
	identity_fingerprint_text(id->spki_sha256, spki);
	identity_time_text(id->not_before, t1, sizeof(t1));
	identity_time_text(id->not_after, t2, sizeof(t2));
	identity_time_text(s->since, since, sizeof(since));
	snprintf(num[0], sizeof(num[0]), "%llu",
	    (unsigned long long)atomic_load(&s->bytes_in));
	snprintf(num[1], sizeof(num[1]), "%llu",
	    (unsigned long long)atomic_load(&s->bytes_out));
	if ((rc = query_record_add_str(r, "type", "session")) != 0 ||
	    (rc = query_record_add_str(r, "id", s->id)) != 0 ||
	    (rc = query_record_add_str(r, "listener", s->listener)) != 0 ||
	    (rc = query_record_add_str(r, "client", s->client)) != 0 ||
	    (rc = query_record_add_str(r, "upstream", s->upstream)) != 0 ||
	    (rc = query_record_add_str(r, "upstream_local",
	    s->upstream_local)) != 0 ||
	    (rc = query_record_add(r, "subject", id->subject.rfc4514.data,
	    id->subject.rfc4514.len)) != 0 ||
	    (rc = query_record_add(r, "issuer", id->issuer.rfc4514.data,
	    id->issuer.rfc4514.len)) != 0 ||
	    (rc = query_record_add_str(r, "serial", id->serial)) != 0 ||
	    (rc = query_record_add_str(r, "sha256", fpr)) != 0 ||
	    (rc = query_record_add_str(r, "spki_sha256", spki)) != 0 ||
	    (rc = add_list(r, "san_email", &id->san_email)) != 0 ||
	    (rc = add_list(r, "san_dns", &id->san_dns)) != 0 ||
	    (rc = add_list(r, "san_uri", &id->san_uri)) != 0 ||
	    (rc = add_accounts(r, s)) != 0 ||
	    (rc = query_record_add_str(r, "not_before", t1)) != 0 ||
	    (rc = query_record_add_str(r, "not_after", t2)) != 0 ||
	    (rc = query_record_add_str(r, "tls_version",
	    s->tls_version)) != 0 ||
	    (rc = query_record_add_str(r, "cipher", s->cipher)) != 0 ||
	    (rc = query_record_add_str(r, "since", since)) != 0 ||
	    (rc = query_record_add_str(r, "bytes_in", num[0])) != 0 ||
	    (rc = query_record_add_str(r, "bytes_out", num[1])) != 0)
		return rc;
	return 0;
}
