/*
 * sdnotify.c: the sd_notify(3) datagram protocol.  One AF_UNIX datagram per
 * state change to the socket systemd names in $NOTIFY_SOCKET (a path, or an
 * abstract name written with a leading '@').  The socket is opened at
 * start-up, so sending still works after the privilege drop and in any
 * thread (one sendto of a whole datagram).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

int
sdnotify_open(struct sdnotify *n, char *err, size_t errsize)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	if (path == NULL || *path == '\0')
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    len >= sizeof(n->addr.sun_path)) {
		snprintf(err, errsize, "NOTIFY_SOCKET \"%s\" is neither an "
		    "absolute path nor an abstract name shorter than %zu bytes",
		    path, sizeof(n->addr.sun_path));
		return -1;
	}
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@')
		n->addr.sun_path[0] = '\0';	/* abstract namespace */
	n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errsize, "NOTIFY_SOCKET: socket: %s",
		    strerror(errno));
		return -1;
	}
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

void
sdnotify_send(const struct sdnotify *n, const char *state)
{
	if (n->fd == -1)
		return;
	if (sendto(n->fd, state, strlen(state), MSG_NOSIGNAL,
	    (const struct sockaddr *)&n->addr, n->addr_len) == -1)
		log_warn("cannot tell the service manager \"%.*s\"",
		    (int)strcspn(state, "\n"), state);
}

void
sdnotify_reloading(const struct sdnotify *n)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	sdnotify_send(n, msg);
}

void
sdnotify_close(struct sdnotify *n)
{
	if (n->fd != -1)
		close(n->fd);
	n->fd = -1;
}
