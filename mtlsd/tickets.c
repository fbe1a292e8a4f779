/*
 * tickets.c: one-time tickets.  A verified client asks the responder for
 * one (POST /ticket); a PAM stack elsewhere redeems it through the query
 * socket (MTLS/1 REDEEM), once, before it expires.
 *
 * A ticket is 32 random bytes in base64url.  Only its SHA-256 is kept, so
 * neither the table nor any log line can give a ticket back; the log names
 * a ticket by the first bytes of that digest.  Lookups compare digests in
 * constant time.
 */
#include <sys/random.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"
#include "query.h"

#define TICKET_BYTES	32
#define TICKET_MAX	100000

struct ticket {
	unsigned char	 digest[IDENTITY_SHA256_LEN];
	time_t		 expires;
	struct mtls_buf	 record;	/* the answer to REDEEM, encoded */
	struct ticket	*next;
};

static pthread_mutex_t	 ticket_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ticket	*tickets;
static size_t		 nticket;

static void
ticket_free(struct ticket *t)
{
	buf_free(&t->record);
	explicit_bzero(t->digest, sizeof(t->digest));
	free(t);
}

/* Drop expired tickets; called with the lock held. */
static void
purge(time_t now)
{
	struct ticket **pp, *t;

	for (pp = &tickets; (t = *pp) != NULL; ) {
		if (t->expires <= now) {
			*pp = t->next;
			ticket_free(t);
			nticket--;
		} else
			pp = &t->next;
	}
}

static bool
digest_equal(const unsigned char *a, const unsigned char *b)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < IDENTITY_SHA256_LEN; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

void
ticket_id_text(const unsigned char digest[IDENTITY_SHA256_LEN],
    char out[TICKET_ID_TEXT])
{
	size_t i;

	for (i = 0; i < (TICKET_ID_TEXT - 1) / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static void
base64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned int acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		out[o++] = a[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
}

int
ticket_issue(const struct session *s, int ttl, char text[TICKET_TEXT_MAX],
    char id[TICKET_ID_TEXT])
{
	unsigned char raw[TICKET_BYTES];
	struct query_record r;
	struct ticket *t;
	time_t now = time(NULL);
	int rc;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return MTLS_ERR_SYSTEM;
	base64url(raw, sizeof(raw), text);
	explicit_bzero(raw, sizeof(raw));
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return MTLS_ERR_NOMEM;
	if (wc_Sha256Hash((const unsigned char *)text, (word32)strlen(text),
	    t->digest) != 0) {
		free(t);
		return MTLS_ERR_TLS;
	}
	ticket_id_text(t->digest, id);
	t->expires = now + ttl;
	buf_init(&t->record, QUERY_RECORD_MAX);
	query_record_init(&r);
	if ((rc = session_to_record(s, &r)) == 0 &&
	    (rc = query_record_add_str(&r, "ticket_id", id)) == 0)
		rc = query_record_format(&r, &t->record);
	query_record_free(&r);
	if (rc != 0) {
		ticket_free(t);
		return rc;
	}
	pthread_mutex_lock(&ticket_lock);
	if (nticket >= TICKET_MAX)
		purge(now);
	if (nticket >= TICKET_MAX) {
		pthread_mutex_unlock(&ticket_lock);
		ticket_free(t);
		return MTLS_ERR_TOO_LARGE;
	}
	t->next = tickets;
	tickets = t;
	nticket++;
	pthread_mutex_unlock(&ticket_lock);
	return 0;
}

int
ticket_redeem(const char *text, struct mtls_buf *record,
    char id[TICKET_ID_TEXT])
{
	unsigned char digest[IDENTITY_SHA256_LEN];
	struct ticket **pp, *t, *found = NULL;
	time_t now = time(NULL);
	int rc = MTLS_ERR_NOT_FOUND;

	if (wc_Sha256Hash((const unsigned char *)text, (word32)strlen(text),
	    digest) != 0)
		return MTLS_ERR_TLS;
	ticket_id_text(digest, id);
	pthread_mutex_lock(&ticket_lock);
	purge(now);
	/* Every entry is compared, so timing says nothing about which. */
	for (pp = &tickets; *pp != NULL; pp = &(*pp)->next)
		if (digest_equal((*pp)->digest, digest) && found == NULL)
			found = *pp;
	if (found != NULL) {
		for (pp = &tickets; (t = *pp) != found; pp = &t->next)
			;
		*pp = found->next;		/* single use */
		nticket--;
	}
	pthread_mutex_unlock(&ticket_lock);
	explicit_bzero(digest, sizeof(digest));
	if (found != NULL) {
		rc = buf_append(record, found->record.data, found->record.len);
		ticket_free(found);
	}
	return rc;
}

void
tickets_free(void)
{
	struct ticket *t;

	pthread_mutex_lock(&ticket_lock);
	while ((t = tickets) != NULL) {
		tickets = t->next;
		ticket_free(t);
	}
	nticket = 0;
	pthread_mutex_unlock(&ticket_lock);
}
