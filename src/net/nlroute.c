/*
 * nlroute.c -- is an address one of the host's own, in the kernel's view:
 * a route lookup (RTM_GETROUTE, rtnetlink(7)) answered with a route of
 * type RTN_LOCAL, the way "ip route get" says "local".
 *
 * This sees every address the host has at the moment of the lookup,
 * those added after start included, and the ranges of "local" routes
 * (AnyIP) that no interface lists.  The kernel handles a request to
 * NETLINK_ROUTE inside the sendto() that carries it and has queued the
 * answer when sendto() returns, so the recv() that follows never waits;
 * the socket is non-blocking all the same.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "net/nlroute.h"

#define NLROUTE_REPLIES	8	/* datagrams read before giving up */
#define NLROUTE_BUF	4096	/* one route message fits with room */

int
nlroute_open(void)
{
	int	fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_ROUTE);
	if (fd == -1)
		log_warn("%s: socket(AF_NETLINK)", __func__);
	return (fd);
}

void
nlroute_close(int fd)
{
	if (fd != -1)
		close(fd);
}

/* Ask for the route to the address of sa under seq; 0 or -1. */
static int
nlroute_ask(int fd, uint32_t seq, const struct sockaddr *sa)
{
	struct {
		struct nlmsghdr	nh;
		struct rtmsg	rt;
		uint8_t		attr[RTA_SPACE(16)];
	} req;
	struct sockaddr_nl	 kernel;
	struct rtattr		*rta;
	const void		*ip;
	size_t			 alen;

	if (sa->sa_family == AF_INET) {
		ip = &((const struct sockaddr_in *)sa)->sin_addr;
		alen = 4;
	} else if (sa->sa_family == AF_INET6) {
		ip = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		alen = 16;
	} else
		return (-1);

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = seq;
	req.rt.rtm_family = (unsigned char)sa->sa_family;
	req.rt.rtm_dst_len = (unsigned char)(alen * 8);
	rta = (struct rtattr *)req.attr;
	rta->rta_type = RTA_DST;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), ip, alen);
	req.nh.nlmsg_len = (uint32_t)(NLMSG_LENGTH(sizeof(req.rt)) +
	    RTA_SPACE(alen));

	memset(&kernel, 0, sizeof(kernel));
	kernel.nl_family = AF_NETLINK;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel,
	    sizeof(kernel)) != (ssize_t)req.nh.nlmsg_len)
		return (-1);
	return (0);
}

/*
 * The answer to seq in the datagram buf[n]: 1 local, 0 not (another
 * type, or an error such as no route), 2 if it is not in there.
 */
static int
nlroute_answer(const uint8_t *buf, size_t n, uint32_t seq)
{
	const struct nlmsghdr	*nh = (const struct nlmsghdr *)buf;
	const struct rtmsg	*rt;
	size_t			 left = n;

	for (; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
		if (nh->nlmsg_seq != seq)
			continue;
		if (nh->nlmsg_type == NLMSG_ERROR)
			return (0);
		if (nh->nlmsg_type != RTM_NEWROUTE ||
		    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
			continue;
		rt = NLMSG_DATA(nh);
		return (rt->rtm_type == RTN_LOCAL);
	}
	return (2);
}

/*
 * 1 if the kernel routes the address of sa (IPv4 or IPv6; the port does
 * not matter) to the host itself, 0 if not, -1 if the lookup failed.
 * *seq is the caller's counter for this fd; answers to earlier lookups
 * that failed are skipped.
 */
int
nlroute_is_local(int fd, uint32_t *seq, const struct sockaddr *sa)
{
	uint8_t		buf[NLROUTE_BUF]
	    __attribute__((aligned(__alignof__(struct nlmsghdr))));
	unsigned int	i;
	ssize_t		n;
	int		r;

	if (fd == -1 || nlroute_ask(fd, ++*seq, sa) == -1)
		return (-1);
	for (i = 0; i < NLROUTE_REPLIES; i++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return (-1);
		if ((r = nlroute_answer(buf, (size_t)n, *seq)) != 2)
			return (r);
	}
	return (-1);
}
