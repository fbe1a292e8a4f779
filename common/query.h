/*
 * query.h: the query protocol between mtlsd and its clients (mtlsctl,
 * pam_mtls).  Pure encoding and decoding; no I/O.
 *
 * Version 1, line based.  A request is one line of at most
 * QUERY_REQUEST_MAX bytes including its "\n":
 *
 *	MTLS/1 SESSIONS
 *	MTLS/1 STATS
 *	MTLS/1 RELOAD				re-read the configuration (root)
 *	MTLS/1 SESSION <id>			by session id (32 hex digits, as
 *						the PROXY protocol header carries)
 *	MTLS/1 REDEEM <ticket>			use up a one-time ticket (16..64
 *						characters of [A-Za-z0-9_-])
 *	MTLS/1 WHOIS <addr>			client or upstream source address
 *	MTLS/1 LOOKUP <local> <peer>		by connection, as the backend sees
 *						it: its local and peer address;
 *						for a unix-socket upstream
 *						"unix:/listening/path" and
 *						"unix:socket:[INODE]" of mtlsd's
 *						end (paths without spaces)
 *
 * A response is a status line followed by <count> record lines:
 *
 *	MTLS/1 OK <count>
 *	key=value key=value ...			(count times)
 * or
 *	MTLS/1 ERR <code> <message>
 *
 * Keys are [a-z0-9_] and may repeat (multi-valued fields: san_email,
 * san_dns, san_uri, accounts).  Values are percent-encoded: every byte
 * that is not a printable ASCII character other than '%', ' ' and '='
 * becomes %XX, so no value can contain a separator or a line break and no
 * field can forge another.  A record line is at most QUERY_RECORD_MAX
 * bytes; a response holds at most QUERY_MAX_RECORDS records.
 */
#ifndef MTLS_QUERY_H
#define MTLS_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"

#define QUERY_MAGIC		"MTLS/1"
#define QUERY_REQUEST_MAX	1024
#define QUERY_RECORD_MAX	(256 * 1024)
#define QUERY_MAX_RECORDS	100000
#define QUERY_MAX_FIELDS	4096
#define QUERY_KEY_MAX		32
#define QUERY_ADDR_MAX		128

enum query_verb {
	QUERY_SESSIONS = 1,
	QUERY_STATS,
	QUERY_WHOIS,
	QUERY_LOOKUP,
	QUERY_RELOAD,
	QUERY_SESSION,
	QUERY_REDEEM,
};

struct query_request {
	enum query_verb	 verb;
	char		 addr[QUERY_ADDR_MAX];	/* WHOIS addr, LOOKUP local */
	char		 peer[QUERY_ADDR_MAX];	/* LOOKUP peer */
	char		 id[33];		/* SESSION id */
	char		 ticket[65];		/* REDEEM ticket */
};

/* Error codes carried in "ERR <code>" lines. */
#define QUERY_E_BAD_REQUEST	"bad_request"
#define QUERY_E_TOO_LARGE	"too_large"
#define QUERY_E_VERSION		"unsupported_version"
#define QUERY_E_DENIED		"denied"
#define QUERY_E_NOT_FOUND	"not_found"
#define QUERY_E_INTERNAL	"internal"

struct query_field {
	char			 key[QUERY_KEY_MAX];
	struct mtls_bytes	 value;
};

struct query_record {
	struct query_field	*fields;
	size_t			 count;
	size_t			 cap;
};

/*
 * Requests.  parse takes the line without its trailing "\n" and returns 0,
 * MTLS_ERR_INVALID (malformed), MTLS_ERR_TOO_LARGE or MTLS_ERR_VERSION.
 * Addresses are canonicalised (netaddr_canonical).
 */
int	 query_request_parse(const char *line, size_t len,
	    struct query_request *out);
/* Writes the line including "\n"; returns its length or a negative code. */
int	 query_request_format(const struct query_request *req, char *out,
	    size_t size);

/* Status lines, with "\n". */
int	 query_format_ok(struct mtls_buf *out, size_t count);
int	 query_format_err(struct mtls_buf *out, const char *code,
	    const char *message);
/*
 * Parse a status line (without "\n").  On OK sets *count and returns 0;
 * on ERR copies code and message and returns MTLS_ERR_DENIED,
 * MTLS_ERR_NOT_FOUND, MTLS_ERR_TOO_LARGE, MTLS_ERR_VERSION or
 * MTLS_ERR_INVALID as the code says; a malformed line is MTLS_ERR_INVALID.
 */
int	 query_status_parse(const char *line, size_t len, size_t *count,
	    char *code, size_t codesize, char *message, size_t msgsize);

/* Records. */
void	 query_record_init(struct query_record *r);
void	 query_record_free(struct query_record *r);
int	 query_record_add(struct query_record *r, const char *key,
	    const void *value, size_t len);
int	 query_record_add_str(struct query_record *r, const char *key,
	    const char *value);
/* Appends the encoded line with "\n". */
int	 query_record_format(const struct query_record *r, struct mtls_buf *out);
/* Parses one line without its "\n"; rejects bad keys and bad escapes. */
int	 query_record_parse(const char *line, size_t len, struct query_record *r);
/* The index'th value of key (0 for the first), or NULL. */
const struct mtls_bytes *query_record_get(const struct query_record *r,
	    const char *key, size_t index);
size_t	 query_record_count(const struct query_record *r, const char *key);

#endif
