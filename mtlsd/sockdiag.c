/*
 * sockdiag.c: who owns the backend end of a connection, asked of the
 * kernel (NETLINK_SOCK_DIAG), never of the caller.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "mtlsd.h"
#include "netaddr.h"

/* Put an address into a diag request's endpoint, as AF_INET6 if asked. */
static void
fill_endpoint(const struct sockaddr_storage *ss, bool as_v6, __be16 *port,
    __be32 *addr)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		*port = sin->sin_port;
		if (as_v6) {
			/* ::ffff:a.b.c.d, as a dual-stack socket holds it */
			addr[0] = addr[1] = 0;
			addr[2] = htonl(0xffff);
			memcpy(&addr[3], &sin->sin_addr, 4);
		} else
			memcpy(addr, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		*port = sin6->sin6_port;
		memcpy(addr, &sin6->sin6_addr, 16);
	}
}

static int
diag_query(const struct netaddr *l, const struct netaddr *p, int family,
    uid_t *uid)
{
	struct {
		struct nlmsghdr		nlh;
		struct inet_diag_req_v2	req;
	} msg;
	union {
		struct nlmsghdr	nlh;
		char		buf[8192];
	} resp;
	struct timeval tv = { 1, 0 };
	struct nlmsghdr *h;
	struct inet_diag_msg *dm;
	bool as_v6 = family == AF_INET6;
	ssize_t n;
	int fd, rc = MTLS_ERR_NOT_FOUND;

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.req.sdiag_family = (uint8_t)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0U;
	fill_endpoint(&l->ss, as_v6, &msg.req.id.idiag_sport,
	    msg.req.id.idiag_src);
	fill_endpoint(&p->ss, as_v6, &msg.req.id.idiag_dport,
	    msg.req.id.idiag_dst);
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return MTLS_ERR_SYSTEM;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &msg, sizeof(msg), 0) != (ssize_t)sizeof(msg)) {
		rc = MTLS_ERR_SYSTEM;
		goto done;
	}
	if ((n = recv(fd, resp.buf, sizeof(resp.buf), 0)) <= 0) {
		rc = MTLS_ERR_SYSTEM;
		goto done;
	}
	for (h = &resp.nlh; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE)
			break;
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*dm)))
			continue;
		dm = NLMSG_DATA(h);
		/* The kernel matched the exact 4-tuple; check it anyway. */
		if (dm->id.idiag_sport != msg.req.id.idiag_sport ||
		    dm->id.idiag_dport != msg.req.id.idiag_dport ||
		    memcmp(dm->id.idiag_src, msg.req.id.idiag_src,
		    sizeof(dm->id.idiag_src)) != 0 ||
		    memcmp(dm->id.idiag_dst, msg.req.id.idiag_dst,
		    sizeof(dm->id.idiag_dst)) != 0)
			continue;
		*uid = dm->idiag_uid;
		rc = 0;
		break;
	}
done:
	close(fd);
	return rc;
}

int
sockdiag_tcp_owner(const char *local, const char *peer, uid_t *uid)
{
	struct netaddr l, p;
	int rc;

	if (netaddr_parse(local, &l) != 0 || netaddr_parse(peer, &p) != 0 ||
	    l.ss.ss_family != p.ss.ss_family)
		return MTLS_ERR_INVALID;
	rc = diag_query(&l, &p, l.ss.ss_family, uid);
	/* A backend listening on [::] holds an IPv4 peer as ::ffff:a.b.c.d. */
	if (rc == MTLS_ERR_NOT_FOUND && l.ss.ss_family == AF_INET)
		rc = diag_query(&l, &p, AF_INET6, uid);
	return rc;
}
