/*
 * udp.c -- the UDP listener of a worker: batched receive and answer
 * (recvmmsg/sendmmsg), nothing allocated or logged per datagram.
 *
 * A wakeup drains at most UDP_ROUNDS batches, then yields to the loop
 * (the event is level-triggered, so the rest comes on the next pass).
 * Sockets bound to a wildcard learn each datagram's local address from
 * IP_PKTINFO/IPV6_PKTINFO and answer from that address, so multihomed
 * hosts answer from where they were asked.
 *
 * Each socket is a path (src/turn/path.h) with its fd: the batches send
 * relayed data on it themselves; answers found later go through
 * udp_path_send().  The receive and answer buffers are the set's, shared
 * by the worker's sockets (one wakeup at a time).
 *
 * A socket that also serves DTLS (an address in listen.udp and
 * listen.dtls) demultiplexes each datagram by its first byte (RFC 7983
 * section 7) in udp_demux(); a plain-only socket pays one test of a flag.
 */

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "net/net.h"
#include "net/sock.h"
#include "stun/stun.h"

#define UDP_CMSG_SPACE	SOCK_PKTINFO_SPACE

struct udp_set;

/* One UDP socket of a worker. */
struct usock {
	struct path		 us_path;	/* first: a path is a usock */
	struct udp_set		*us_set;
	struct lsock		 us_ls;
	struct event		*us_ev;
	int			 us_wild;	/* bound to 0.0.0.0 or :: */
	int			 us_dtls;	/* dtls_udp_input()'s, or -1 */
	/* RFC 5780: this worker's sockets of the group, by role. */
	struct usock		*us_peer[LSOCK_ROLES];
	const struct sockaddr	*us_origin[LSOCK_ROLES];
};

/* The UDP sockets of a worker and the buffers of their wakeups. */
struct udp_set {
	struct worker		*u_w;
	struct usock		*u_socks;
	unsigned int		 u_n;
	uint8_t			*u_rxbuf;	/* UDP_BATCH * UDP_RXBUF */
	uint8_t			*u_txbuf;	/* UDP_BATCH * UDP_TXBUF */
};

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
		mh.msg_controllen = sock_set_source(cm.buf, &src);
	}
	if (sendmsg(us->us_ls.ls_fd, &mh, 0) == -1)
		STATS_INC(&us->us_set->u_w->w_stats, udp_send_errors);
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
		STATS_INC(&us->us_set->u_w->w_stats, udp_send_errors);
}

/* Send the queued answers; what the kernel will not take is dropped. */
static void
udp_flush(struct usock *us, struct udp_batch *bt, unsigned int n)
{
	sock_sendmmsg(us->us_ls.ls_fd, bt->tx, n, &us->us_set->u_w->w_stats,
	    NULL, NULL);
}

/*
 * RFC 7983 section 7 on a socket that also serves DTLS, by the first
 * byte: 0..3 STUN and 64..79 ChannelData (channels 0x4000..0x4FFF, RFC
 * 8656 section 12) stay on the plain path (0 back), whatever DTLS
 * association the source has; 20..63 is a DTLS record, for dtls.c; the
 * rest is dropped and counted.  1 back: the datagram is done with.
 */
static int
udp_demux(struct usock *us, const struct sockaddr_storage *src,
    const struct sockaddr_storage *local, const uint8_t *msg, size_t len)
{
	struct worker	*w = us->us_set->u_w;

	if (len == 0 || msg[0] <= 3 || (msg[0] >= 64 && msg[0] <= 79))
		return (0);
	if (msg[0] >= 20 && msg[0] <= 63) {
		dtls_udp_input(w->w_dtls, us->us_dtls, src, local, msg, len);
		rio_begin(w->w_rio, 0);	/* dtls.c flushed and closed it */
	} else
		STATS_INC(&w->w_stats, dropped_demux);
	return (1);
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct usock		*us = arg;
	struct worker		*w = us->us_set->u_w;
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
			bt.rxiov[i].iov_base = us->us_set->u_rxbuf +
			    (size_t)i * UDP_RXBUF;
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
			if (sock_local_addr(&bt.rx[i].msg_hdr, &us->us_ls.ls_addr,
			    us->us_wild, &local) == -1)
				continue;
			if (us->us_dtls >= 0 && udp_demux(us, &bt.rxaddr[i],
			    &local, msg, bt.rx[i].msg_len))
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
			reply.buf = us->us_set->u_txbuf + (size_t)ntx * UDP_TXBUF;
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
				    sock_set_source(bt.txcmsg[ntx].buf, &local);
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

/* Link the RFC 5780 sockets of one group, by role, within this worker. */
static void
udp_link_groups(struct udp_set *u)
{
	struct usock	*a, *b;
	unsigned int	 i, j;

	for (i = 0; i < u->u_n; i++) {
		a = &u->u_socks[i];
		if (a->us_ls.ls_group < 0)
			continue;
		for (j = 0; j < u->u_n; j++) {
			b = &u->u_socks[j];
			if (b->us_ls.ls_group != a->us_ls.ls_group)
				continue;
			/* index by the change that leads from a to b */
			a->us_peer[a->us_ls.ls_role ^ b->us_ls.ls_role] = b;
			a->us_origin[a->us_ls.ls_role ^ b->us_ls.ls_role] =
			    (const struct sockaddr *)&b->us_ls.ls_addr;
		}
	}
	/* A group missing a member (cannot happen: bound together). */
	for (i = 0; i < u->u_n; i++) {
		a = &u->u_socks[i];
		if (a->us_ls.ls_group < 0)
			continue;
		for (j = 0; j < LSOCK_ROLES; j++)
			if (a->us_peer[j] == NULL)
				fatalx("%s: RFC 5780 group %d incomplete",
				    __func__, a->us_ls.ls_group);
	}
}

static void
udp_start(struct udp_set *u, struct usock *us)
{
	us->us_set = u;
	us->us_wild = addr_is_any((const struct sockaddr *)&us->us_ls.ls_addr);
	path_init(&us->us_path, &udp_path_ops, TRANSPORT_UDP, us->us_ls.ls_fd,
	    us->us_wild, 0);
	us->us_dtls = -1;
	if (us->us_ls.ls_dtls_too && (us->us_dtls = dtls_udp_index(
	    u->u_w->w_dtls, us->us_ls.ls_fd)) == -1)
		fatalx("%s: worker %u: a UDP socket without its DTLS half",
		    __func__, u->u_w->w_id);
	us->us_ev = event_new(u->u_w->w_base, us->us_ls.ls_fd,
	    EV_READ | EV_PERSIST, udp_read_cb, us);
	if (us->us_ev == NULL || event_add(us->us_ev, NULL) == -1)
		fatalx("%s: worker %u cannot watch a UDP socket", __func__,
		    u->u_w->w_id);
}

/* Take the UDP sockets of set (their fds in set become -1). */
struct udp_set *
udp_set_new(struct worker *w, struct listen_set *set)
{
	struct udp_set	*u = xcalloc(1, sizeof(*u));
	unsigned int	 i, n = 0;

	u->u_w = w;
	for (i = 0; i < set->n; i++)
		n += set->ls[i].ls_transport == TRANSPORT_UDP;
	if (n == 0)
		return (u);
	u->u_socks = xcalloc(n, sizeof(*u->u_socks));
	u->u_rxbuf = xmalloc((size_t)UDP_BATCH * UDP_RXBUF);
	u->u_txbuf = xmalloc((size_t)UDP_BATCH * UDP_TXBUF);
	for (i = 0; i < set->n; i++) {
		if (set->ls[i].ls_transport != TRANSPORT_UDP)
			continue;
		u->u_socks[u->u_n++].us_ls = set->ls[i];
		set->ls[i].ls_fd = -1;	/* ours now */
	}
	udp_link_groups(u);
	for (i = 0; i < u->u_n; i++)
		udp_start(u, &u->u_socks[i]);
	return (u);
}

void
udp_set_pause(struct udp_set *u, int pause)
{
	unsigned int	i;

	for (i = 0; i < u->u_n; i++)
		if (pause ? event_del(u->u_socks[i].us_ev) == -1 :
		    event_add(u->u_socks[i].us_ev, NULL) == -1)
			fatalx("%s: worker %u cannot %s a UDP socket",
			    __func__, u->u_w->w_id, pause ? "pause" : "resume");
}

void
udp_set_lsocks(const struct udp_set *u, struct listen_set *set)
{
	unsigned int	i;

	for (i = 0; i < u->u_n; i++)
		listen_set_push(set, &u->u_socks[i].us_ls);
}

unsigned int
udp_set_count(const struct udp_set *u)
{
	return (u->u_n);
}

int
udp_path_index(const struct udp_set *u, const struct path *p)
{
	unsigned int	i;

	for (i = 0; i < u->u_n; i++)
		if (&u->u_socks[i].us_path == p)
			return ((int)i);
	return (-1);
}

struct path *
udp_path_at(struct udp_set *u, unsigned int i)
{
	return (i < u->u_n ? &u->u_socks[i].us_path : NULL);
}

void
udp_set_free(struct udp_set *u)
{
	unsigned int	i;

	if (u == NULL)
		return;
	for (i = 0; i < u->u_n; i++) {
		if (u->u_socks[i].us_ev != NULL)
			event_free(u->u_socks[i].us_ev);
		close(u->u_socks[i].us_ls.ls_fd);
	}
	free(u->u_socks);
	free(u->u_rxbuf);
	free(u->u_txbuf);
	free(u);
}
