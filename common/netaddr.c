/*
 * netaddr.c: parse and format socket addresses.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "netaddr.h"

/* Split "host:port" or "[v6]:port" into host and port text. */
static int
split_host_port(const char *text, char *host, size_t hostsize, char *port,
    size_t portsize)
{
	const char *colon, *end;
	size_t hlen;

	if (text[0] == '[') {
		if ((end = strchr(text, ']')) == NULL || end[1] != ':')
			return MTLS_ERR_INVALID;
		text++;
		hlen = (size_t)(end - text);
		colon = end + 1;
	} else {
		if ((colon = strrchr(text, ':')) == NULL)
			return MTLS_ERR_INVALID;
		/* An unbracketed IPv6 address is ambiguous: refuse it. */
		if (memchr(text, ':', (size_t)(colon - text)) != NULL)
			return MTLS_ERR_INVALID;
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= hostsize || strlen(colon + 1) >= portsize)
		return MTLS_ERR_INVALID;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int
parse_port(const char *s)
{
	long v;
	char *end;

	if (s[0] < '0' || s[0] > '9' || strlen(s) > 5)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

static int
parse_unix(const char *path, struct netaddr *out)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	size_t n = strlen(path);

	if (path[0] != '/' || n >= sizeof(sun->sun_path))
		return MTLS_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

static int
parse_inet(const char *text, struct netaddr *out, int numeric)
{
	char host[NETADDR_TEXT_MAX], port[8];
	struct addrinfo hints, *res;
	int rc;

	if (strncmp(text, "unix:", 5) == 0)
		return parse_unix(text + 5, out);
	if ((rc = split_host_port(text, host, sizeof(host), port,
	    sizeof(port))) != 0)
		return rc;
	if (parse_port(port) < 0)
		return MTLS_ERR_INVALID;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0);
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return MTLS_ERR_INVALID;
	if (res->ai_addrlen > sizeof(out->ss)) {
		freeaddrinfo(res);
		return MTLS_ERR_INVALID;
	}
	memset(out, 0, sizeof(*out));
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
netaddr_parse(const char *text, struct netaddr *out)
{
	return parse_inet(text, out, 1);
}

int
netaddr_resolve(const char *text, struct netaddr *out)
{
	return parse_inet(text, out, 0);
}

int
netaddr_format(const struct sockaddr *sa, socklen_t len, char *out,
    size_t size)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_un *sun;
	struct in_addr v4;
	int n;

	switch (sa->sa_family) {
	case AF_INET:
		if (len < sizeof(*sin))
			return MTLS_ERR_INVALID;
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		n = snprintf(out, size, "%s:%u", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		if (len < sizeof(*sin6))
			return MTLS_ERR_INVALID;
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			inet_ntop(AF_INET, &v4, host, sizeof(host));
			n = snprintf(out, size, "%s:%u", host,
			    ntohs(sin6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, host,
			    sizeof(host));
			n = snprintf(out, size, "[%s]:%u", host,
			    ntohs(sin6->sin6_port));
		}
		break;
	case AF_UNIX:
		sun = (const struct sockaddr_un *)sa;
		if (len <= offsetof(struct sockaddr_un, sun_path) ||
		    sun->sun_path[0] == '\0')
			n = snprintf(out, size, "unix:");
		else
			n = snprintf(out, size, "unix:%.*s",
			    (int)(len - offsetof(struct sockaddr_un, sun_path)),
			    sun->sun_path);
		break;
	default:
		return MTLS_ERR_INVALID;
	}
	if (n < 0 || (size_t)n >= size)
		return MTLS_ERR_TOO_LARGE;
	return 0;
}

int
netaddr_canonical(const char *text, char *out, size_t size)
{
	struct netaddr a;
	int rc;

	if (strncmp(text, "unix:", 5) == 0)
		return MTLS_ERR_INVALID;	/* only inet in lookups */
	if ((rc = netaddr_parse(text, &a)) != 0)
		return rc;
	return netaddr_format((struct sockaddr *)&a.ss, a.len, out, size);
}
