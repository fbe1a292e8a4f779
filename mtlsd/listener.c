/*
 * listener.c: bind the listening sockets (as root, before the drop), or
 * take them from systemd (socket activation), and find each TCP
 * upstream's source address.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "mtlsd.h"

#define LISTEN_BACKLOG	1024
#define SD_LISTEN_FDS_START 3	/* sd_listen_fds(3): passed from fd 3 on */

/*
 * The source address the kernel routes to this upstream from (a UDP
 * "connect" sends nothing), so that upstream connections can be named
 * before they are made.
 */
int
listener_upstream_source(struct listener *l)
{
	const struct netaddr *up = &l->cfg->upstream_addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->upstream_src;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->upstream_src;
	int fd;

	/* Unix upstreams need no source address; responders no upstream. */
	if (l->cfg->responder || up->ss.ss_family == AF_UNIX)
		return 0;
	if ((fd = socket(up->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) ==
	    -1)
		return -1;
	l->upstream_src_len = sizeof(l->upstream_src);
	if (connect(fd, (const struct sockaddr *)&up->ss, up->len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&l->upstream_src,
	    &l->upstream_src_len) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	if (up->ss.ss_family == AF_INET)
		sin->sin_port = 0;
	else
		sin6->sin6_port = 0;
	return 0;
}

/*
 * How many listening sockets systemd passed to this process (socket
 * activation: $LISTEN_PID is our pid, $LISTEN_FDS of them from fd 3), and
 * clear the variables so that nothing started later believes they are its.
 */
static int
passed_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long p, n;

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (pid == NULL || fds == NULL)
		return 0;
	errno = 0;
	p = strtol(pid, &end, 10);
	if (errno != 0 || *end != '\0' || p != (long)getpid())
		return 0;
	n = strtol(fds, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > 1024)
		return -1;
	return (int)n;
}

/* Is this socket bound to the address a listener is configured with? */
static bool
bound_to(int fd, const struct netaddr *want)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct sockaddr_in *a4 = (const void *)&ss;
	const struct sockaddr_in *w4 = (const void *)&want->ss;
	const struct sockaddr_in6 *a6 = (const void *)&ss;
	const struct sockaddr_in6 *w6 = (const void *)&want->ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    ss.ss_family != want->ss.ss_family)
		return false;
	if (ss.ss_family == AF_INET)
		return a4->sin_port == w4->sin_port &&
		    a4->sin_addr.s_addr == w4->sin_addr.s_addr;
	if (ss.ss_family == AF_INET6)
		return a6->sin6_port == w6->sin6_port &&
		    memcmp(&a6->sin6_addr, &w6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	return false;
}

/*
 * Give each listener the socket systemd passed for its address.  A passed
 * socket that no listener claims is an error: a socket unit and an
 * mtlsd.conf that disagree must not half-work.
 */
static int
take_passed(struct mtlsd *d, const struct mtlsd_config *cfg, int n,
    char *err, size_t errsize)
{
	struct netaddr shown;
	char text[NETADDR_TEXT_MAX];
	int fd, accepting, flags;
	socklen_t len;
	size_t i;

	for (fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		len = sizeof(accepting);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting,
		    &len) == -1 || !accepting) {
			snprintf(err, errsize, "socket activation: descriptor "
			    "%d is not a listening stream socket", fd);
			return MTLS_ERR_CONFIG;
		}
		for (i = 0; i < d->n_socks; i++)
			if (d->socks[i].fd == -1 &&
			    bound_to(fd, &cfg->listeners[i].listen_addr))
				break;
		if (i == d->n_socks) {
			shown.len = sizeof(shown.ss);
			if (getsockname(fd, (struct sockaddr *)&shown.ss,
			    &shown.len) == -1 ||
			    netaddr_format((struct sockaddr *)&shown.ss,
			    shown.len, text, sizeof(text)) != 0)
				snprintf(text, sizeof(text), "?");
			snprintf(err, errsize, "socket activation: the socket "
			    "on %s (descriptor %d) matches no listener's "
			    "listen address in %s", text, fd, cfg->file);
			return MTLS_ERR_CONFIG;
		}
		if ((flags = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			snprintf(err, errsize, "socket activation: descriptor "
			    "%d: %s", fd, strerror(errno));
			return MTLS_ERR_SYSTEM;
		}
		d->socks[i].fd = fd;
		d->socks[i].from_systemd = true;
	}
	return 0;
}

int
listener_open_all(struct mtlsd *d, const struct mtlsd_config *cfg, char *err,
    size_t errsize)
{
	const struct listener_config *lc = NULL;
	struct listen_socket *s;
	size_t i;
	int fd, n, one = 1;

	d->n_socks = cfg->n_listeners;
	if ((d->socks = calloc(d->n_socks, sizeof(*d->socks))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return MTLS_ERR_NOMEM;
	}
	for (i = 0; i < d->n_socks; i++)
		d->socks[i].fd = -1;
	if ((n = passed_fds()) == -1) {
		snprintf(err, errsize, "socket activation: LISTEN_FDS is "
		    "not a number of descriptors");
		return MTLS_ERR_CONFIG;
	}
	if (n > 0 && take_passed(d, cfg, n, err, errsize) != 0)
		return MTLS_ERR_CONFIG;
	for (i = 0; i < d->n_socks; i++) {
		lc = &cfg->listeners[i];
		s = &d->socks[i];
		s->addr = lc->listen_addr;
		snprintf(s->text, sizeof(s->text), "%s", lc->listen);
		if (s->fd != -1)
			continue;	/* passed by systemd */
		fd = socket(lc->listen_addr.ss.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1)
			goto fail;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&lc->listen_addr.ss,
		    lc->listen_addr.len) == -1 ||
		    listen(fd, LISTEN_BACKLOG) == -1) {
			close(fd);
			goto fail;
		}
		s->fd = fd;
	}
	return 0;
fail:
	snprintf(err, errsize, "%s:%d: listener \"%s\": cannot listen on %s: %s",
	    cfg->file, lc->line, lc->name, lc->listen, strerror(errno));
	return MTLS_ERR_SYSTEM;
}
