/*
 * conn.c: which of this process's connections is the one being served.
 *
 * The backend holds the plaintext end of the connection mtlsd opened for
 * the client; mtlsd keys its session by that connection's address pair
 * (TCP) or by the inode of its own end (unix sockets), so each candidate
 * is described the way the query protocol asks for it.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "error.h"
#include "pam_mtls.h"

/* The inode of the peer of our unix socket inode, from the kernel. */
static int
unix_peer_inode(ino_t ino, uint64_t deadline, unsigned long *peer)
{
	struct {
		struct nlmsghdr		nlh;
		struct unix_diag_req	req;
	} msg;
	union {
		struct nlmsghdr	nlh;
		char		buf[4096];
	} resp;
	struct timeval tv;
	struct unix_diag_msg *dm;
	uint64_t now = mtls_now_ms(), left;
	struct nlmsghdr *h;
	struct rtattr *rta;
	ssize_t n;
	int fd, rc = -1, rlen;

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.req.sdiag_family = AF_UNIX;
	msg.req.udiag_states = ~0U;
	msg.req.udiag_ino = (__u32)ino;
	msg.req.udiag_show = UDIAG_SHOW_PEER;
	msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0U;

	/* The kernel answers at once; still, never past the deadline. */
	if (now >= deadline)
		return -1;
	left = deadline - now;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &msg, sizeof(msg), 0) != (ssize_t)sizeof(msg) ||
	    (n = recv(fd, resp.buf, sizeof(resp.buf), 0)) <= 0)
		goto done;
	for (h = &resp.nlh; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*dm)))
			break;
		dm = NLMSG_DATA(h);
		if (dm->udiag_ino != (__u32)ino)
			continue;
		rlen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*dm)));
		for (rta = (struct rtattr *)(dm + 1); RTA_OK(rta, rlen);
		    rta = RTA_NEXT(rta, rlen)) {
			if (rta->rta_type == UNIX_DIAG_PEER &&
			    RTA_PAYLOAD(rta) >= (int)sizeof(__u32)) {
				__u32 v;

				memcpy(&v, RTA_DATA(rta), sizeof(v));
				*peer = v;
				rc = 0;
			}
		}
		break;
	}
done:
	close(fd);
	return rc;
}

/* Can the query protocol carry this address (printable, no spaces)? */
static bool
carriable(const char *addr)
{
	for (; *addr != '\0'; addr++)
		if ((unsigned char)*addr <= 0x20 ||
		    (unsigned char)*addr >= 0x7f)
			return false;
	return true;
}

int
mtls_candidate_from_fd(int fd, uint64_t deadline, struct candidate *c)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t len;
	struct stat st;
	unsigned long peer;
	int type, domain;

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	len = sizeof(type);
	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM)
		return -1;
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1)
		return -1;
	if (domain == AF_INET || domain == AF_INET6) {
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
		    netaddr_format((struct sockaddr *)&ss, len, c->local,
		    sizeof(c->local)) != 0)
			return -1;
		len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1 ||
		    netaddr_format((struct sockaddr *)&ss, len, c->peer,
		    sizeof(c->peer)) != 0)
			return -1;
		return 0;
	}
	if (domain != AF_UNIX)
		return -1;
	/* Our end carries the listening path; mtlsd's end has no name. */
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    len <= offsetof(struct sockaddr_un, sun_path) + 1 ||
	    sun->sun_path[0] != '/')
		return -1;
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;		/* not connected */
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    netaddr_format((struct sockaddr *)&ss, len, c->local,
	    sizeof(c->local)) != 0 || !carriable(c->local))
		return -1;
	if (unix_peer_inode(st.st_ino, deadline, &peer) != 0)
		return -1;
	snprintf(c->peer, sizeof(c->peer), "unix:socket:[%lu]", peer);
	return 0;
}

static int
parse_fd(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

static bool
seen(const struct candidate *out, size_t n, const struct candidate *c)
{
	size_t i;

	/* dup()ed descriptors of one socket are one candidate. */
	for (i = 0; i < n; i++)
		if (strcmp(out[i].local, c->local) == 0 &&
		    strcmp(out[i].peer, c->peer) == 0)
			return true;
	return false;
}

int
mtls_candidates(pam_handle_t *pamh, const struct mtls_opts *o,
    uint64_t deadline, struct candidate *out, size_t max, char *why,
    size_t whysize)
{
	struct candidate c;
	struct dirent *de;
	const char *env;
	size_t n = 0;
	DIR *dir;
	int fd;

	fd = o->fd;
	if (fd < 0 && (env = pam_getenv(pamh, "MTLS_FD")) != NULL &&
	    (fd = parse_fd(env)) < 0) {
		snprintf(why, whysize, "MTLS_FD=\"%.32s\" is not a file "
		    "descriptor number", env);
		return -1;
	}
	if (fd >= 0) {
		/* Named explicitly: it must be a usable socket. */
		if (mtls_candidate_from_fd(fd, deadline, &out[0]) != 0) {
			snprintf(why, whysize, "fd %d is not a connected TCP "
			    "or unix stream socket", fd);
			return -1;
		}
		return 1;
	}
	if ((dir = opendir("/proc/self/fd")) == NULL) {
		snprintf(why, whysize, "/proc/self/fd: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if ((fd = parse_fd(de->d_name)) < 0 || fd == dirfd(dir))
			continue;
		if (mtls_candidate_from_fd(fd, deadline, &c) != 0 ||
		    seen(out, n, &c))
			continue;
		if (n == max) {
			closedir(dir);
			snprintf(why, whysize, "more than %zu connected "
			    "sockets: set fd= or MTLS_FD", max);
			return -1;
		}
		out[n++] = c;
	}
	closedir(dir);
	return (int)n;
}
