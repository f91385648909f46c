/*
 * sock.c -- the data path's system-call helpers (sock.h): sendmmsg in a
 * loop, PKTINFO (RFC 3542 section 6 for IPv6; ip(7) IP_PKTINFO), and the
 * UDP_SEGMENT control message of UDP GSO (udp(7)).
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <errno.h>
#include <string.h>

#include "net/sock.h"
#include "turn/stats.h"

void
sock_sendmmsg(int fd, struct mmsghdr *msg, unsigned int n, struct stats *st,
    int (*refused)(void *, int, struct mmsghdr *), void *arg)
{
	unsigned int	done = 0;
	int		r;

	while (done < n) {
		r = sendmmsg(fd, msg + done, n - done, 0);
		if (r > 0) {
			done += (unsigned int)r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0 || refused == NULL || !refused(arg, fd, &msg[done]))
			STATS_INC(st, udp_send_errors);
		done++;
	}
}

size_t
sock_set_source(uint8_t *buf, const struct sockaddr_storage *local)
{
	struct cmsghdr		*c = (struct cmsghdr *)(void *)buf;
	struct in_pktinfo	 pi;
	struct in6_pktinfo	 pi6;

	if (local->ss_family == AF_INET) {
		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)local)->sin_addr;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return (CMSG_SPACE(sizeof(pi)));
	}
	memset(&pi6, 0, sizeof(pi6));
	pi6.ipi6_addr = ((const struct sockaddr_in6 *)local)->sin6_addr;
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi6));
	memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
	return (CMSG_SPACE(sizeof(pi6)));
}

int
sock_local_addr(struct msghdr *mh, const struct sockaddr_storage *bound,
    int wild, struct sockaddr_storage *local)
{
	struct cmsghdr		*c;
	struct in_pktinfo	 pi;
	struct in6_pktinfo	 pi6;
	struct sockaddr_in	*sin = (struct sockaddr_in *)local;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)local;

	*local = *bound;
	if (!wild)
		return (0);
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    local->ss_family == AF_INET) {
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			sin->sin_addr = pi.ipi_addr;
			return (0);
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    local->ss_family == AF_INET6) {
			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			sin6->sin6_addr = pi6.ipi6_addr;
			return (0);
		}
	}
	return (-1);
}

size_t
sock_gso_cmsg(uint8_t *buf, size_t seg)
{
	struct cmsghdr	*c = (struct cmsghdr *)(void *)buf;
	uint16_t	 v = (uint16_t)seg;

	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(v));
	memcpy(CMSG_DATA(c), &v, sizeof(v));
	return (CMSG_SPACE(sizeof(v)));
}

size_t
sock_gso_size(const struct msghdr *mh, size_t *before)
{
	struct msghdr	 m = *mh;
	struct cmsghdr	*c;
	uint16_t	 v;

	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_SEGMENT) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			*before = (size_t)((uint8_t *)c -
			    (uint8_t *)m.msg_control);
			return (v);
		}
	}
	return (0);
}
