/*
 * sdnotify.h: telling the service manager how mtlsd is doing, with the
 * datagram protocol of sd_notify(3) (READY=1, RELOADING=1, STOPPING=1),
 * without linking libsystemd.  Outside systemd ($NOTIFY_SOCKET unset) every
 * call does nothing.
 */
#ifndef MTLS_SDNOTIFY_H
#define MTLS_SDNOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>
#include <stdbool.h>

struct sdnotify {
	int			fd;	/* -1: no service manager */
	struct sockaddr_un	addr;
	socklen_t		addr_len;
};

/*
 * Read and clear $NOTIFY_SOCKET (children must not inherit it) and open
 * the socket; at start-up, before the privilege drop.  0, or -1 with ERR
 * set when the variable names no usable socket.
 */
int	 sdnotify_open(struct sdnotify *n, char *err, size_t errsize);
/* Send one state change, e.g. "READY=1\nSTATUS=serving"; failures are logged. */
void	 sdnotify_send(const struct sdnotify *n, const char *state);
/* RELOADING=1 with the CLOCK_MONOTONIC time systemd 253 wants with it. */
void	 sdnotify_reloading(const struct sdnotify *n);
void	 sdnotify_close(struct sdnotify *n);

#endif
