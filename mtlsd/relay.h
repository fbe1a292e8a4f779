/*
 * relay.h: the connection and worker types shared by relay.c (event
 * loops, proxying) and admit.c (from a verified handshake to a session,
 * and re-checks of live sessions).  Private to those two files.
 */
#ifndef MTLSD_RELAY_H
#define MTLSD_RELAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mtlsd.h"

#define RELAY_BUF		(16 * 1024)	/* one TLS record */
#define RELAY_POOL_MAX		64	/* spare buffers a worker keeps */
#define RELAY_MAX_EVENTS	64
#define RELAY_ACCEPT_BURST	32
#define RELAY_TICK_MS		250

enum src_kind { SRC_LISTENER, SRC_CLIENT, SRC_UPSTREAM, SRC_STOP, SRC_OCSP };

/* What an epoll event points at. */
struct ev_src {
	enum src_kind	 kind;
	void		*ptr;
	size_t		 index;		/* SRC_LISTENER: listen socket */
};

enum conn_state { CONN_HANDSHAKE, CONN_OCSP, CONN_CONNECTING, CONN_RELAY,
	CONN_HTTP };

struct worker;

struct conn {
	struct worker	*w;
	struct generation *g;			/* held: c->l points into it */
	struct listener	*l;
	struct listen_socket *sock;
	enum conn_state	 state;
	int		 cfd, ufd;
	struct ev_src	 csrc, usrc;
	uint32_t	 cev, uev;		/* registered epoll masks */
	struct tls_conn	*tls;
	uint64_t	 deadline;		/* ms; handshake or idle */
	uint64_t	 opened;		/* ms, when relaying began */
	bool		 in_table;
	bool		 dead;			/* closed; freed after the batch */
	bool		 client_eof;		/* no more data from client */
	bool		 upstream_eof;		/* no more data from upstream */
	bool		 upstream_shut;		/* sent FIN to upstream */
	bool		 tls_shut;		/* sent close_notify */
	/* what each blocked operation waits for, recomputed each run */
	bool		 c_want_in, c_want_out, u_want_in, u_want_out;
	size_t		 c2u_len, c2u_off, u2c_len;
	struct session	 s;
	struct sockaddr_storage client_ss;	/* for the PROXY header */
	socklen_t	 client_len;
	struct mtls_buf	 pp;			/* PROXY header to send */
	size_t		 pp_off;
	struct mtls_buf	 resp;			/* responder: answers to send */
	size_t		 resp_off;
	bool		 http_close;		/* close after this answer */
	unsigned	 http_requests;		/* answered on this connection */
	struct ocsp_job	*ocsp;			/* pending OCSP question */
	unsigned char	*issuer_der;		/* for OCSP requests */
	size_t		 issuer_len;
	unsigned char	*leaf_der;		/* for revocation re-checks */
	size_t		 leaf_len;
	bool		 has_issuer;
	unsigned char	 issuer_sha256[IDENTITY_SHA256_LEN];
	struct conn	*prev, *next;
	/*
	 * RELAY_BUF bytes each, from the worker's pool, held only while
	 * bytes wait in them: an idle connection holds none.
	 */
	unsigned char	*c2u;
	unsigned char	*u2c;
};

struct worker {
	struct mtlsd	*d;
	pthread_t	 thread;
	int		 epfd;
	int		 index;
	bool		 listening;
	bool		 stopping;
	uint64_t	 relisten_at;		/* after EMFILE */
	struct ev_src	*lsrc;			/* one per listener */
	struct ev_src	 stopsrc;
	struct conn	*conns;			/* all live connections */
	struct conn	*dead;			/* closed in this epoll batch */
	int		 ocsp_fd;		/* eventfd: OCSP answers back */
	uint64_t	 ocsp_revocations_seen;
	struct ev_src	 ocspsrc;
	pthread_mutex_t	 ocsp_lock;
	struct ocsp_job	*ocsp_done;		/* answered, not yet taken */
	uint32_t	 srcport_cursor;	/* srcports_next */
	void		*buf_pool;		/* spare relay buffers, linked */
	unsigned	 buf_pooled;
};

/* relay.c */
void	 conn_free(struct conn *c);
void	 conn_close(struct conn *c, const char *reason);
int	 conn_connect_upstream(struct conn *c);
void	 conn_update_events(struct conn *c);
/* Take a RELAY_BUF buffer for *bufp if it has none: 0, or -1 (no memory). */
int	 conn_buf_take(struct conn *c, unsigned char **bufp);
/* Give an empty buffer back to the worker's pool. */
void	 conn_buf_give(struct conn *c, unsigned char **bufp);

/* responder.c */
int	 responder_pump(struct conn *c);

/* admit.c */
void	 conn_handshake_done(struct conn *c);
void	 conn_recheck(struct conn *c, struct generation *g);
void	 worker_ocsp_answers(struct worker *w);
void	 conn_ocsp_timeout(struct conn *c);
void	 logfmt_identity(struct logfmt *lf, const struct identity *id);

#endif
