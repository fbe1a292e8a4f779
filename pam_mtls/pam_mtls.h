/*
 * pam_mtls.h: the parts of pam_mtls.so and their interfaces.
 *
 *   pam_mtls.c	the pam_sm_* entry points: arguments, decisions, logging
 *   client.c	a paranoid client of mtlsd's query socket (DESIGN 4.4)
 *   conn.c	which connection of this process is being served
 *
 * No global state: everything lives in the caller's stack or in the PAM
 * handle, so one handle per thread is safe.  Nothing here exits the
 * process, and every error path ends in a failure code.
 */
#ifndef PAM_MTLS_H
#define PAM_MTLS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <security/pam_modules.h>

#include "netaddr.h"
#include "query.h"

#define PAM_MTLS_DEFAULT_SOCKET		"/run/mtlsd/query.sock"
#define PAM_MTLS_DEFAULT_TIMEOUT_MS	2000
#define PAM_MTLS_MAX_CANDIDATES		64

/* The module's arguments, parsed once by a table (pam_mtls.c). */
struct mtls_opts {
	const char	*socket;	/* socket=PATH */
	const char	*listener;	/* listener=NAME, NULL for any */
	int		 fd;		/* fd=N, -1 when not given */
	bool		 set_user;	/* set_user */
	int		 timeout_ms;	/* timeout=MS, whole exchange */
	uid_t		 daemon_uid;	/* daemon_uid=UID, besides root */
	bool		 debug;
	bool		 ticket;	/* ticket: redeem a one-time ticket */
	bool		 use_first_pass; /* the ticket is PAM_AUTHTOK */
	bool		 try_first_pass; /* PAM_AUTHTOK, else prompt */
};

/* One connected stream socket of this process that may be an mtlsd one. */
struct candidate {
	int	 fd;
	char	 local[QUERY_ADDR_MAX];	/* as the query protocol spells it */
	char	 peer[QUERY_ADDR_MAX];
};

/* Outcomes shared by client.c and conn.c; mapped to PAM codes in one place. */
enum mtls_status {
	MTLS_ST_OK = 0,
	MTLS_ST_NOT_FOUND,	/* mtlsd has no such session */
	MTLS_ST_UNAVAILABLE,	/* daemon down, refused the connection */
	MTLS_ST_UNTRUSTED,	/* socket or daemon failed the trust checks */
	MTLS_ST_TIMEOUT,	/* deadline passed */
	MTLS_ST_GARBAGE,	/* answer not in the protocol */
	MTLS_ST_DENIED,		/* daemon refused us (query group) */
	MTLS_ST_ERROR,		/* local failure (memory, system call) */
};

/* client.c */
/*
 * Ask mtlsd for the session of one connection.  On MTLS_ST_OK, rec holds
 * the session record (free with query_record_free).  deadline is
 * CLOCK_MONOTONIC milliseconds; why gets a one-line reason on failure.
 */
enum mtls_status mtls_lookup(const struct mtls_opts *o,
		    const struct candidate *c, uint64_t deadline,
		    struct query_record *rec, char *why, size_t whysize);
/*
 * Use a one-time ticket up (MTLS/1 REDEEM): MTLS_ST_OK with the record of
 * the client that asked for it, MTLS_ST_NOT_FOUND when unknown, used,
 * expired or malformed.
 */
enum mtls_status mtls_redeem(const struct mtls_opts *o, const char *ticket,
		    uint64_t deadline, struct query_record *rec, char *why,
		    size_t whysize);
uint64_t	 mtls_now_ms(void);

/* conn.c */
/*
 * The candidate connections: fd=N when given, else MTLS_FD from the PAM
 * environment, else every connected TCP or unix stream socket of the
 * process.  Returns how many were found (0..max) or -1 with why set.
 */
int		 mtls_candidates(pam_handle_t *pamh, const struct mtls_opts *o,
		    uint64_t deadline, struct candidate *out, size_t max,
		    char *why, size_t whysize);
/*
 * One socket as a candidate: 0, or -1 when it cannot be one (not a
 * connected stream socket, or an address the protocol cannot carry).
 */
int		 mtls_candidate_from_fd(int fd, uint64_t deadline,
		    struct candidate *c);

#endif
