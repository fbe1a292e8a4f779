/*
 * mtlsd.h: the daemon's internal interfaces, grouped by file.
 */
#ifndef MTLSD_H
#define MTLSD_H

#include <sys/socket.h>
#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "bytes.h"
#include "config.h"
#include "sdnotify.h"
#include "identity.h"
#include "mapping.h"
#include "netaddr.h"
#include "srcport.h"
#include "tls.h"

struct query_record;

#define SESSION_ID_TEXT		33	/* 128 random bits as hex, plus NUL */

/* Counters shown by "mtlsctl stats"; updated lock-free by all threads. */
struct stats {
	atomic_ulong	accepted;		/* TCP connections accepted */
	atomic_ulong	handshakes_ok;
	atomic_ulong	rejected[TLS_REASON_MAX]; /* by reason */
	atomic_ulong	rejected_limit;		/* max_connections, fds */
	atomic_ulong	upstream_failures;
	atomic_ulong	connections_active;
	atomic_ulong	sessions_closed;
	atomic_ulong	revoked_live;		/* live sessions closed */
	atomic_ulong	reloads;
	atomic_ulong	reload_failures;
	atomic_ulong	queries;
	atomic_ulong	queries_denied;
};

/* A bound listening socket; lives as long as the daemon. */
struct listen_socket {
	int			 fd;
	struct netaddr		 addr;
	char			 text[NETADDR_TEXT_MAX];
	atomic_int		 active;	/* for max_connections */
	bool			 from_systemd;	/* socket activation */
};

/* A loaded configuration, shared by the generations built from it. */
struct config_ref {
	atomic_int		 refs;
	struct mtlsd_config	 cfg;
};

/* One listener as a generation sees it (index = listen socket index). */
struct listener {
	const struct listener_config *cfg;
	struct tls_ctx		*tls;
	/* TCP upstream: the source address connections to it get, port 0 */
	struct sockaddr_storage	 upstream_src;
	socklen_t		 upstream_src_len;
};

/*
 * Everything a configuration load builds: the configuration, and per
 * listener its TLS state (certificates, keys, CAs, CRLs).  Connections
 * hold a reference to the generation they use; a reload or a CRL change
 * installs a new one, and the old one goes when its last connection does.
 */
struct generation {
	atomic_int		 refs;
	uint64_t		 serial;
	struct config_ref	*conf;
	struct listener		*listeners;	/* one per listen socket */
	size_t			 n;
};

/*
 * One live, verified connection as the session table publishes it.  It is
 * owned by its relay connection; the table only points at it, and the
 * relay removes it (under the table lock) before closing the upstream
 * socket, so a reused address pair can never inherit it (DESIGN 4.2).
 */
struct session {
	char			 id[SESSION_ID_TEXT];
	const char		*listener;
	char			 client[NETADDR_TEXT_MAX];
	char			 upstream[NETADDR_TEXT_MAX];	/* backend's local */
	char			 upstream_local[NETADDR_TEXT_MAX]; /* our source */
	struct identity		 identity;
	char			 tls_version[16];
	char			 cipher[64];
	time_t			 since;
	atomic_ullong		 bytes_in;	/* client to upstream */
	atomic_ullong		 bytes_out;	/* upstream to client */
	bool			 has_backend_uid;
	uid_t			 backend_uid;	/* unix upstream: SO_PEERCRED */
	struct mapping_account	*accounts;	/* from the listener's rules */
	size_t			 naccounts;
	struct session		*hnext;		/* table bucket chain */
};

struct mtlsd {
	const char		*conf_path;
	bool			 debug;		/* -d: debug level, stderr */
	struct config_ref	*boot;		/* the start-up configuration */
	struct listen_socket	*socks;
	size_t			 n_socks;
	pthread_mutex_t		 gen_lock;	/* guards gen */
	struct generation	*gen;		/* the current generation */
	atomic_ullong		 gen_serial;
	atomic_ullong		 ocsp_revocations; /* revoked answers so far */
	pthread_mutex_t		 reload_lock;	/* one reload at a time */
	struct session_table	*sessions;
	struct stats		 stats;
	int			 query_fd;
	gid_t			 query_gid;
	uid_t			 self_uid;	/* after the privilege drop */
	time_t			 started;
	int			 workers;
	int			 stop_fd;	/* eventfd: readable when stopping */
	struct srcports		 srcports;
	struct sdnotify		 notify;	/* systemd's, when it started us */
};

/* mtlsd.c */
uint64_t	 now_ms(void);
/* mtlsd_reload with its audit line and counters. */
int		 mtlsd_reload_audit(struct mtlsd *d, const char *trigger,
		    uint64_t *serial, char *err, size_t errsize);

/* generation.c */
struct config_ref *config_ref_load(const char *path, char *err,
		    size_t errsize);
void		 config_ref_release(struct config_ref *c);
/*
 * Check what a start or reload needs: files readable, certificates and
 * keys load and match, users and groups exist.  Problems are written to
 * out, one line each; returns 0 or -1.
 */
int		 conf_check(const struct mtlsd_config *cfg, FILE *out);
void		 conf_warn_unpinned(const struct mtlsd_config *cfg);
/* prev (or NULL) lends files that can no longer be read but are unchanged. */
int		 gen_build(struct mtlsd *d, struct config_ref *conf,
		    const struct generation *prev, struct generation **out,
		    char *err, size_t errsize);
void		 gen_install(struct mtlsd *d, struct generation *g);
struct generation *gen_acquire(struct mtlsd *d);
void		 gen_release(struct generation *g);
/* SIGHUP and "mtlsctl reload": 0 and the new serial, or -1 with err. */
int		 mtlsd_reload(struct mtlsd *d, uint64_t *serial, char *err,
		    size_t errsize);

/*
 * The same configuration with fresh TLS state (CRL files changed on
 * disk): 0 and the new serial, or a negative code with err.
 */
int		 mtlsd_refresh_tls(struct mtlsd *d, uint64_t *serial,
		    char *err, size_t errsize);

/* One OCSP question, shared by a worker and the OCSP pool. */
struct ocsp_job {
	atomic_int		 refs;
	atomic_bool		 cancelled;	/* the worker gave up on it */
	void			*worker;	/* who asked (relay.c) */
	void			*conn;		/* valid unless cancelled */
	struct generation	*g;		/* held: l points into it */
	struct listener		*l;
	unsigned char		*leaf, *issuer;
	size_t			 leaf_len, issuer_len;
	unsigned char		 sha256[IDENTITY_SHA256_LEN];
	uint64_t		 deadline;	/* monotonic ms */
	enum tls_ocsp		 status;
	char			 detail[160];
	struct ocsp_job		*next;
};

/* ocsp.c */
int		 ocsp_start(struct mtlsd *d);
void		 ocsp_join(struct mtlsd *d);
void		 ocsp_submit(struct ocsp_job *j);
void		 ocsp_job_release(struct ocsp_job *j);
bool		 ocsp_cache_get(const char *listener, const unsigned char *sha,
		    enum tls_ocsp *status);

/* relay.c (called from the OCSP pool) */
void		 relay_ocsp_done(struct ocsp_job *j);

/* tickets.c */
#define TICKET_TEXT_MAX	48	/* base64url of 32 bytes, plus NUL */
#define TICKET_ID_TEXT	13	/* 12 hex digits of the ticket's SHA-256 */
/*
 * A one-time ticket for the session's identity and accounts, valid ttl
 * seconds: text is the ticket (give it to the client, never log it), id
 * what the log may say about it.
 */
int		 ticket_issue(const struct session *s, int ttl,
		    char text[TICKET_TEXT_MAX], char id[TICKET_ID_TEXT]);
/*
 * Use a ticket up: appends its encoded record (a session record with
 * ticket_id) to record, or MTLS_ERR_NOT_FOUND (unknown, used, expired).
 */
int		 ticket_redeem(const char *text, struct mtls_buf *record,
		    char id[TICKET_ID_TEXT]);
void		 ticket_id_text(const unsigned char digest[IDENTITY_SHA256_LEN],
		    char out[TICKET_ID_TEXT]);
void		 tickets_free(void);

/* crlwatch.c */
int		 crlwatch_start(struct mtlsd *d);
void		 crlwatch_join(struct mtlsd *d);

/* privsep.c */
void		 priv_drop(const char *user, const char *group);
int		 priv_lookup(const char *user, const char *group, uid_t *uid,
		    gid_t *gid, char *err, size_t errsize);

/* listener.c */
int		 listener_open_all(struct mtlsd *d, const struct mtlsd_config *cfg,
		    char *err, size_t errsize);
/* The source address connections to l's TCP upstream get. */
int		 listener_upstream_source(struct listener *l);

/* relay.c */
int		 relay_start(struct mtlsd *d);
void		 relay_join(struct mtlsd *d);	/* the threads */
void		 relay_free(struct mtlsd *d);	/* after ocsp_join */

/* session.c */
struct session_table *session_table_new(void);
void		 session_table_free(struct session_table *t);
void		 session_add(struct session_table *t, struct session *s);
void		 session_remove(struct session_table *t, struct session *s);
void		 session_set_backend_uid(struct session_table *t,
		    struct session *s, uid_t uid);
/*
 * Give a live session new accounts (and its listener's name, which may
 * now live in another generation); returns the old accounts to free.
 */
struct mapping_account *session_update(struct session_table *t,
		    struct session *s, const char *listener,
		    struct mapping_account *accounts, size_t n);
size_t		 session_count(struct session_table *t);
/*
 * Call fn for sessions under the table lock: all of them (addr NULL), those
 * whose client or upstream_local address is addr (peer NULL), or the one
 * whose (upstream, upstream_local) pair is (addr, peer).  fn must not
 * block; it returns non-zero to stop.
 */
void		 session_foreach(struct session_table *t, const char *addr,
		    const char *peer, int (*fn)(const struct session *, void *),
		    void *arg);
void		 session_find_id(struct session_table *t, const char *id,
		    int (*fn)(const struct session *, void *), void *arg);
void		 session_new_id(char id[SESSION_ID_TEXT]);
int		 session_to_record(const struct session *s,
		    struct query_record *r);

/* query_server.c */
int		 query_open(struct mtlsd *d, char *err, size_t errsize);
int		 query_start(struct mtlsd *d);
void		 query_join(struct mtlsd *d);

/* sockdiag.c */
/*
 * The uid owning the TCP socket whose local address is local and whose
 * peer is peer (both canonical text), read from the kernel (sock_diag).
 */
int		 sockdiag_tcp_owner(const char *local, const char *peer,
		    uid_t *uid);

#endif
