/*
 * udp.c -- the UDP listener of a worker: batched receive and answer
 * (recvmmsg/sendmmsg), nothing allocated or logged per datagram.
 *
 * A wakeup drains at most UDP_ROUNDS batches, then yields to the loop
 * (the event is level-triggered, so the rest comes on the next pass).
 * Sockets bound to a wildcard learn each datagram's local address from
 * IP_PKTINFO/IPV6_PKTINFO and answer from that address, so multihomed
 * hosts answer from where they were asked.
 */

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>

#include <event2/event.h>

#include "common/addr.h"
#include "common/log.h"
#include "net/net.h"
#include "stun/stun.h"

#define UDP_CMSG_SPACE	CMSG_SPACE(sizeof(struct in6_pktinfo))

struct udp_batch {
	struct mmsghdr		rx[UDP_BATCH];
	struct iovec		rxiov[UDP_BATCH];
	struct sockaddr_storage	rxaddr[UDP_BATCH];
	union {
		struct cmsghdr	align;
		uint8_t		buf[UDP_CMSG_SPACE];
	}			rxcmsg[UDP_BATCH];

	struct mmsghdr		tx[UDP_BATCH];
	struct iovec		txiov[UDP_BATCH];
	struct sockaddr_storage	txaddr[UDP_BATCH];
	union {
		struct cmsghdr	align;
		uint8_t		buf[UDP_CMSG_SPACE];
	}			txcmsg[UDP_BATCH];
};

/* The destination address of a datagram from its PKTINFO. */
static int
udp_local_addr(struct msghdr *mh, const struct usock *us,
    struct sockaddr_storage *local)
{
	struct cmsghdr		*c;
	struct in_pktinfo	*pi;
	struct in6_pktinfo	*pi6;
	struct sockaddr_in	*sin = (struct sockaddr_in *)local;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)local;

	*local = us->us_ls.ls_addr;
	if (!us->us_wild)
		return (0);
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    local->ss_family == AF_INET) {
			pi = (struct in_pktinfo *)CMSG_DATA(c);
			sin->sin_addr = pi->ipi_addr;
			return (0);
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    local->ss_family == AF_INET6) {
			pi6 = (struct in6_pktinfo *)CMSG_DATA(c);
			sin6->sin6_addr = pi6->ipi6_addr;
			return (0);
		}
	}
	return (-1);
}

/* Fill the control message that makes a reply leave from local. */
size_t
udp_set_source(uint8_t *buf, const struct sockaddr_storage *local)
{
	struct cmsghdr		*c = (struct cmsghdr *)buf;
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

static void
udp_path_send(struct path *p, const struct sockaddr *to,
    const struct sockaddr *from, const struct iovec *iov, int n)
{
	struct usock		*us = (struct usock *)p;
	struct msghdr		 mh;
	struct sockaddr_storage	 src;
	union {
		struct cmsghdr	align;
		uint8_t		buf[UDP_CMSG_SPACE];
	}			 cm;

	memset(&mh, 0, sizeof(mh));
	mh.msg_name = (void *)(uintptr_t)to;
	mh.msg_namelen = addr_len(to);
	mh.msg_iov = (struct iovec *)(uintptr_t)iov;
	mh.msg_iovlen = (size_t)n;
	if (us->us_wild) {
		memset(&src, 0, sizeof(src));
		memcpy(&src, from, addr_len(from));
		mh.msg_control = cm.buf;
		mh.msg_controllen = udp_set_source(cm.buf, &src);
	}
	if (sendmsg(us->us_ls.ls_fd, &mh, 0) == -1)
		STATS_INC(&us->us_w->w_stats, udp_send_errors);
}

/* RFC 5780: an answer that must leave from another of our sockets. */
static void
udp_send_other(struct usock *us, const struct server_reply *r,
    const struct sockaddr_storage *dst)
{
	struct usock	*to = us->us_peer[r->change];

	if (to == NULL || sendto(to->us_ls.ls_fd, r->buf, r->len, 0,
	    (const struct sockaddr *)dst,
	    addr_len((const struct sockaddr *)dst)) == -1)
		STATS_INC(&us->us_w->w_stats, udp_send_errors);
}

/*
 * Send n messages on fd with sendmmsg.  A message the kernel refuses (a
 * full socket buffer, a bad destination) is offered to refused(arg, fd,
 * msg) when given, which returns 1 if it sent it some other way; else it
 * is dropped and counted.
 */
void
udp_sendmmsg(int fd, struct mmsghdr *msg, unsigned int n, struct stats *st,
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

/* Send the queued answers; what the kernel will not take is dropped. */
static void
udp_flush(struct usock *us, struct udp_batch *bt, unsigned int n)
{
	udp_sendmmsg(us->us_ls.ls_fd, bt->tx, n, &us->us_w->w_stats, NULL,
	    NULL);
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct usock		*us = arg;
	struct worker		*w = us->us_w;
	struct udp_batch	 bt;
	struct server_pkt	 pkt;
	struct server_reply	 reply;
	struct sockaddr_storage	 local;
	unsigned int		 round, i, ntx;
	int			 n;
	uint8_t			*msg;

	worker_clock(w);
	for (round = 0; round < UDP_ROUNDS; round++) {
		for (i = 0; i < UDP_BATCH; i++) {
			bt.rxiov[i].iov_base = w->w_rxbuf + (size_t)i * UDP_RXBUF;
			bt.rxiov[i].iov_len = UDP_RXBUF;
			memset(&bt.rx[i], 0, sizeof(bt.rx[i]));
			bt.rx[i].msg_hdr.msg_name = &bt.rxaddr[i];
			bt.rx[i].msg_hdr.msg_namelen = sizeof(bt.rxaddr[i]);
			bt.rx[i].msg_hdr.msg_iov = &bt.rxiov[i];
			bt.rx[i].msg_hdr.msg_iovlen = 1;
			bt.rx[i].msg_hdr.msg_control = bt.rxcmsg[i].buf;
			bt.rx[i].msg_hdr.msg_controllen = UDP_CMSG_SPACE;
		}
		n = recvmmsg((int)fd, bt.rx, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("%s: recvmmsg: %s", __func__,
				    strerror(errno));
			return;
		}

		ntx = 0;
		rio_begin(w->w_rio, 0);
		for (i = 0; i < (unsigned int)n; i++) {
			msg = bt.rxiov[i].iov_base;
			if (udp_local_addr(&bt.rx[i].msg_hdr, us, &local) == -1)
				continue;
			pkt.transport = TRANSPORT_UDP;
			pkt.src = (const struct sockaddr *)&bt.rxaddr[i];
			pkt.local = (const struct sockaddr *)&local;
			pkt.origin = us->us_ls.ls_group >= 0 ?
			    us->us_origin : NULL;
			pkt.path = &us->us_path;
			if (bt.rx[i].msg_len >= 1 && (msg[0] & 0xC0) == 0x40) {
				server_chandata(&w->w_srv, &pkt, msg,
				    bt.rx[i].msg_len);
				continue;
			}
			reply.buf = w->w_txbuf + (size_t)ntx * UDP_TXBUF;
			reply.cap = UDP_TXBUF;
			server_handle(&w->w_srv, &pkt, msg, bt.rx[i].msg_len,
			    &reply);
			if (reply.len == 0)
				continue;

			bt.txaddr[ntx] = bt.rxaddr[i];
			if (reply.port != 0)
				addr_set_port((struct sockaddr *)
				    &bt.txaddr[ntx], reply.port);
			if (reply.change != 0) {
				udp_send_other(us, &reply, &bt.txaddr[ntx]);
				continue;
			}
			bt.txiov[ntx].iov_base = reply.buf;
			bt.txiov[ntx].iov_len = reply.len;
			memset(&bt.tx[ntx], 0, sizeof(bt.tx[ntx]));
			bt.tx[ntx].msg_hdr.msg_name = &bt.txaddr[ntx];
			bt.tx[ntx].msg_hdr.msg_namelen = addr_len(
			    (const struct sockaddr *)&bt.txaddr[ntx]);
			bt.tx[ntx].msg_hdr.msg_iov = &bt.txiov[ntx];
			bt.tx[ntx].msg_hdr.msg_iovlen = 1;
			if (us->us_wild) {
				bt.tx[ntx].msg_hdr.msg_control =
				    bt.txcmsg[ntx].buf;
				bt.tx[ntx].msg_hdr.msg_controllen =
				    udp_set_source(bt.txcmsg[ntx].buf, &local);
			}
			ntx++;
		}
		rio_flush(w->w_rio);	/* before rxbuf is reused */
		if (ntx > 0)
			udp_flush(us, &bt, ntx);
		if (n < UDP_BATCH)
			return;
	}
}

static const struct path_ops udp_path_ops = {
	.po_send = udp_path_send,
};

int
udp_start(struct worker *w, struct usock *us)
{
	us->us_w = w;
	us->us_wild = addr_is_any((const struct sockaddr *)&us->us_ls.ls_addr);
	path_init(&us->us_path, &udp_path_ops, TRANSPORT_UDP, us->us_ls.ls_fd,
	    us->us_wild, 0);
	us->us_ev = event_new(w->w_base, us->us_ls.ls_fd, EV_READ | EV_PERSIST,
	    udp_read_cb, us);
	if (us->us_ev == NULL || event_add(us->us_ev, NULL) == -1) {
		log_warnx("%s: cannot watch a UDP socket", __func__);
		return (-1);
	}
	return (0);
}

void
udp_stop(struct usock *us)
{
	if (us->us_ev != NULL)
		event_free(us->us_ev);
	us->us_ev = NULL;
}
