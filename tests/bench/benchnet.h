/*
 * benchnet.h: what the benchmark's programs (echo, loadgen) share: numeric
 * socket addresses as text, and a signalfd for SIGTERM and SIGINT.
 */
#ifndef MTLS_BENCHNET_H
#define MTLS_BENCHNET_H

#include <sys/socket.h>
#include <stddef.h>

/*
 * A numeric IPv4 or IPv6 address ("[...]" allowed around IPv6) and a port.
 * Returns 0, or -1 when HOST is not an address.
 */
int	bench_parse_addr(const char *host, unsigned port,
	    struct sockaddr_storage *ss, socklen_t *len);
/* "192.0.2.1:443" or "[2001:db8::1]:443"; port 0 is allowed. */
int	bench_parse_hostport(const char *text, struct sockaddr_storage *ss,
	    socklen_t *len);
/* The same forms back, for messages. */
void	bench_format_addr(const struct sockaddr_storage *ss, char *out,
	    size_t size);
/* Block SIGTERM and SIGINT and return a descriptor that reads them. */
int	bench_signalfd(void);

#endif
