/*
 * listener.c: bind the listening sockets (as root, before the drop), and
 * find each TCP upstream's source address.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "mtlsd.h"

#define LISTEN_BACKLOG	1024

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

int
listener_open_all(struct mtlsd *d, const struct mtlsd_config *cfg, char *err,
    size_t errsize)
{
	const struct listener_config *lc = NULL;
	struct listen_socket *s;
	size_t i;
	int fd, one = 1;

	d->n_socks = cfg->n_listeners;
	if ((d->socks = calloc(d->n_socks, sizeof(*d->socks))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return MTLS_ERR_NOMEM;
	}
	for (i = 0; i < d->n_socks; i++) {
		lc = &cfg->listeners[i];
		s = &d->socks[i];
		s->addr = lc->listen_addr;
		snprintf(s->text, sizeof(s->text), "%s", lc->listen);
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
