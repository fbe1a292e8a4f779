/*
 * netaddr.h: socket addresses as the text users and the query protocol see.
 *
 * Canonical text forms: "192.0.2.1:443", "[2001:db8::1]:443" (IPv4-mapped
 * IPv6 addresses are shown as IPv4), "unix:/path".
 */
#ifndef MTLS_NETADDR_H
#define MTLS_NETADDR_H

#include <sys/socket.h>
#include <stddef.h>

#define NETADDR_TEXT_MAX	128

struct netaddr {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

/* Parse "host:port", "[v6]:port" (numeric hosts only) or "unix:/path". */
int	 netaddr_parse(const char *text, struct netaddr *out);
/* Like netaddr_parse but host names are resolved (first address). */
int	 netaddr_resolve(const char *text, struct netaddr *out);
/* Canonical text form; returns 0 or MTLS_ERR_INVALID. */
int	 netaddr_format(const struct sockaddr *sa, socklen_t len, char *out,
	    size_t size);
/* Canonicalise a textual address (so "[::ffff:127.0.0.1]:1" == "127.0.0.1:1"). */
int	 netaddr_canonical(const char *text, char *out, size_t size);

#endif
