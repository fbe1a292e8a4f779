/*
 * config.h: mtlsd.conf, parsed by libconfig and checked against one table
 * of known keys (config.c) that drives defaults, types, ranges and the
 * "unknown key" error.  Every error is one line "FILE:LINE: message".
 */
#ifndef MTLS_CONFIG_H
#define MTLS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mapping.h"
#include "netaddr.h"

#define CONFIG_DEFAULT_PATH	"/etc/mtls/mtlsd.conf"
#define CONFIG_ERR_MAX		512
#define CONFIG_MAX_LISTENERS	64

/* listener_config.ocsp_mode */
#define OCSP_OFF	0
#define OCSP_SOFT	1
#define OCSP_HARD	2

/* listener_config.proxy_protocol */
#define PROXY_OFF	0
#define PROXY_V1	1
#define PROXY_V2	2

enum log_level { LOGLVL_ERR, LOGLVL_WARNING, LOGLVL_NOTICE, LOGLVL_INFO,
	LOGLVL_DEBUG };

struct listener_config {
	char		*name;
	char		*listen;		/* text as written */
	struct netaddr	 listen_addr;
	char		*certificate;
	char		*private_key;
	char		*client_ca;
	int		 verify_depth;		/* default 4, 1..16 */
	int		 tls_min_version;	/* 12 or 13; default 12 */
	bool		 require_client_auth_eku; /* default true */
	char		*upstream;		/* text as written */
	struct netaddr	 upstream_addr;
	int		 handshake_timeout;	/* seconds, default 10 */
	int		 idle_timeout;		/* seconds, default 600 */
	int		 max_connections;	/* default 10000 */
	char		**crl;			/* CRL files (PEM or DER) */
	size_t		 n_crl;
	bool		 crl_expired_warn;	/* crl_expired = "warn" */
	int		 ocsp_mode;	/* OCSP_OFF 0, OCSP_SOFT 1,
					   OCSP_HARD 2 */
	char		*ocsp_responder; /* NULL: the certificate's AIA URL */
	int		 ocsp_timeout;	/* seconds, default 2, 1..30 */
	int		 ocsp_cache;	/* seconds an answer is reused, default
					   300, 0..86400 */
	char		*mapping;		/* rule set name, or NULL */
	const struct mapping_set *mapping_set;	/* resolved from mapping */
	bool		 require_mapping;	/* default true */
	int		 proxy_protocol;	/* PROXY_OFF 0 (default),
						   PROXY_V1 1, PROXY_V2 2 */
	bool		 responder;	/* answer HTTP/1.1 itself, no
					   upstream; default false */
	int		 ticket_ttl;	/* seconds a one-time ticket stays
					   redeemable, default 60, 1..3600;
					   responder listeners only */
	int		 line;			/* where the listener starts */
};

struct mtlsd_config {
	char			*file;		/* path the config came from */
	char			*user;		/* default "_mtlsd" */
	char			*group;		/* default "_mtlsd" */
	char			*query_socket;	/* default /run/mtlsd/query.sock */
	char			*query_group;	/* default "mtls" */
	int			 query_mode;	/* default 0660 */
	enum log_level		 log_level;	/* default info */
	int			 log_facility;	/* syslog facility, default authpriv */
	int			 accounts_min_uid; /* default 1000 */
	bool			 accounts_allow_root; /* default false */
	int			 workers;	/* 0: one per core (default) */
	struct listener_config	*listeners;
	size_t			 n_listeners;
	struct mapping_set	*mappings;	/* compiled rule sets */
	size_t			 n_mappings;
};

/*
 * Load and check path.  Returns 0, or a negative MTLS_ERR_* code with a
 * one-line "FILE:LINE: message" in err.  Names (user, group) are not looked
 * up here, files are not opened: mtlsd does that (and -t reports it).
 */
int	 config_load(const char *path, struct mtlsd_config *cfg, char *err,
	    size_t errsize);
void	 config_free(struct mtlsd_config *cfg);

/*
 * Every key the parser accepts, as dotted paths ("query.socket",
 * "listeners.verify_depth"), NULL-terminated; for the man-page check.
 */
const char *const *config_known_keys(void);

const char *config_log_level_name(enum log_level level);

#endif
