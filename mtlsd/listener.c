/*
 * listener.c: bind the listening sockets (as root, before the drop).
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

int
listener_open_all(struct mtlsd *d, char *err, size_t errsize)
{
	const struct listener_config *lc;
	struct listener *l;
	size_t i;
	int fd, one = 1;

	for (i = 0; i < d->n_listeners; i++) {
		l = &d->listeners[i];
		lc = l->cfg;
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
		l->fd = fd;
	}
	return 0;
fail:
	snprintf(err, errsize, "%s:%d: listener \"%s\": cannot listen on %s: %s",
	    d->cfg.file, lc->line, lc->name, lc->listen, strerror(errno));
	return MTLS_ERR_SYSTEM;
}
