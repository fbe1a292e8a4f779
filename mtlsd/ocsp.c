/*
 * ocsp.c: certificate status from OCSP responders, off the event loops.
 *
 * A worker that needs a status (after the handshake, before the upstream
 * connection) hands a job to this small pool and goes on serving its
 * other connections; the answer comes back through the worker's eventfd.
 * Answers are cached per listener and certificate for ocsp.cache seconds.
 * The worker holds the deadline: a late answer finds its job cancelled.
 */
#include <sys/eventfd.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"

#define OCSP_THREADS		2
#define OCSP_CACHE_BUCKETS	1024
#define OCSP_CACHE_MAX		100000
#define OCSP_REVOKED_KEEP	86400	/* seconds */

struct cache_entry {
	unsigned char		 sha256[IDENTITY_SHA256_LEN];
	char			 listener[72];
	enum tls_ocsp		 status;
	time_t			 expires;
	struct cache_entry	*next;
};

struct ocsp_pool {
	struct mtlsd		*d;
	pthread_t		 threads[OCSP_THREADS];
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct ocsp_job		*head, *tail;
	bool			 stopping;
	pthread_mutex_t		 cache_lock;
	struct cache_entry	*cache[OCSP_CACHE_BUCKETS];
	size_t			 cached;
};

static struct ocsp_pool pool;

static size_t
cache_bucket(const unsigned char *sha)
{
	return ((size_t)sha[0] << 8 | sha[1]) % OCSP_CACHE_BUCKETS;
}

bool
ocsp_cache_get(const char *listener, const unsigned char *sha,
    enum tls_ocsp *status)
{
	struct cache_entry **pp, *e;
	time_t now = time(NULL);
	bool hit = false;

	pthread_mutex_lock(&pool.cache_lock);
	for (pp = &pool.cache[cache_bucket(sha)]; (e = *pp) != NULL; ) {
		if (e->expires <= now) {
			*pp = e->next;		/* drop stale entries on the way */
			free(e);
			pool.cached--;
			continue;
		}
		if (memcmp(e->sha256, sha, IDENTITY_SHA256_LEN) == 0 &&
		    strcmp(e->listener, listener) == 0) {
			*status = e->status;
			hit = true;
			break;
		}
		pp = &e->next;
	}
	pthread_mutex_unlock(&pool.cache_lock);
	return hit;
}

/* Only real answers are cached; "unavailable" is asked again. */
static void
cache_put(const char *listener, const unsigned char *sha,
    enum tls_ocsp status, int seconds)
{
	struct cache_entry *e;
	size_t b = cache_bucket(sha);

	if (status == TLS_OCSP_UNAVAILABLE)
		return;
	/* Revocation is final: keep it whatever ocsp.cache says, so that
	 * live sessions of the certificate find it (relay.c). */
	if (status == TLS_OCSP_REVOKED && seconds < OCSP_REVOKED_KEEP)
		seconds = OCSP_REVOKED_KEEP;
	if (seconds <= 0)
		return;
	pthread_mutex_lock(&pool.cache_lock);
	if (pool.cached < OCSP_CACHE_MAX &&
	    (e = calloc(1, sizeof(*e))) != NULL) {
		memcpy(e->sha256, sha, IDENTITY_SHA256_LEN);
		snprintf(e->listener, sizeof(e->listener), "%s", listener);
		e->status = status;
		e->expires = time(NULL) + seconds;
		e->next = pool.cache[b];
		pool.cache[b] = e;
		pool.cached++;
	}
	pthread_mutex_unlock(&pool.cache_lock);
}

void
ocsp_job_release(struct ocsp_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	gen_release(j->g);
	free(j->leaf);
	free(j->issuer);
	free(j);
}

void
ocsp_submit(struct ocsp_job *j)
{
	atomic_fetch_add(&j->refs, 1);		/* the pool's */
	pthread_mutex_lock(&pool.lock);
	j->next = NULL;
	if (pool.tail != NULL)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
}

static void *
ocsp_main(void *arg)
{
	struct ocsp_job *j;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&pool.lock);
		while (pool.head == NULL && !pool.stopping)
			pthread_cond_wait(&pool.cond, &pool.lock);
		if (pool.head == NULL) {
			pthread_mutex_unlock(&pool.lock);
			break;
		}
		j = pool.head;
		if ((pool.head = j->next) == NULL)
			pool.tail = NULL;
		pthread_mutex_unlock(&pool.lock);

		if (atomic_load(&j->cancelled))
			j->status = TLS_OCSP_UNAVAILABLE;
		else if (now_ms() >= j->deadline) {
			j->status = TLS_OCSP_UNAVAILABLE;
			snprintf(j->detail, sizeof(j->detail), "no time left");
		} else {
			j->status = tls_ocsp_check(j->l->tls, j->leaf,
			    j->leaf_len, j->issuer, j->issuer_len, j->deadline,
			    j->detail, sizeof(j->detail));
			cache_put(j->l->cfg->name, j->sha256, j->status,
			    j->l->cfg->ocsp_cache);
		}
		/* Back to the worker that asked; it owns the connection. */
		relay_ocsp_done(j);
	}
	tls_thread_cleanup();
	return NULL;
}

int
ocsp_start(struct mtlsd *d)
{
	int i;

	pool.d = d;
	pthread_mutex_init(&pool.lock, NULL);
	pthread_cond_init(&pool.cond, NULL);
	pthread_mutex_init(&pool.cache_lock, NULL);
	for (i = 0; i < OCSP_THREADS; i++)
		if (pthread_create(&pool.threads[i], NULL, ocsp_main, NULL) !=
		    0)
			return MTLS_ERR_SYSTEM;
	return 0;
}

void
ocsp_join(struct mtlsd *d)
{
	struct cache_entry *e;
	size_t b;
	int i;

	(void)d;
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
	for (i = 0; i < OCSP_THREADS; i++)
		pthread_join(pool.threads[i], NULL);
	for (b = 0; b < OCSP_CACHE_BUCKETS; b++)
		while ((e = pool.cache[b]) != NULL) {
			pool.cache[b] = e->next;
			free(e);
		}
}
