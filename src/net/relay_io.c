/*
 * relay_io.c -- the data path's batches: relayed datagrams are queued and
 * leave with one sendmmsg per socket instead of one system call each.
 *
 * Client to peer: an endpoint's read pass opens a batch with rio_begin();
 * every datagram for a peer is queued with the relay socket it leaves
 * from; rio_flush() sends each socket's run with one sendmmsg.  Outside a
 * batch a datagram goes out at once.
 *
 * Peer to client: relay.c reads the ready relay sockets with recvmmsg into
 * the batch's receive slots and queues each datagram for its client's
 * path (src/turn/path.h) with rio_to_client(): the head (ChannelData
 * header or Data indication head), the data where it was received, the
 * padding.  Nothing is copied.  A path with a datagram socket of its own
 * (p_fd) gets every datagram for that socket in one sendmmsg, and runs of
 * datagrams of one allocation with the same size as one UDP GSO message
 * (the kernel cuts it into the same datagrams further down, once per run
 * instead of once per datagram through the IP stack).  Any other path
 * gets its datagrams through its own po_send: a stream's consecutive
 * data in one call, a datagram path's one call each.
 *
 * The batches know paths and sockets, never an endpoint's code.  Order is
 * kept per socket and per path, which is all UDP promises.  A relay
 * socket is never closed with datagrams of its own still queued
 * (rio_forget_fd()), nor a path with data for it (rio_forget_path()).
 */

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "net/net.h"
#include "net/sock.h"

#define RIO_PEERQ	64		/* datagrams to peers per flush */
#define RIO_ARENA	(256 * 1024)	/* copies of stream data */
#define RIO_CMSG_SPACE	(SOCK_PKTINFO_SPACE + SOCK_GSO_SPACE)
#define RIO_GSO_SEGS	64	/* the kernel's UDP_MAX_SEGMENTS */
#define RIO_GSO_BYTES	65000	/* a GSO send's payload */
#define RIO_GSO_SEG_MAX	1452	/* no segment that a 1500 MTU fragments */

/*
 * A message on its way to a client: one datagram, or o_nseg datagrams of
 * one allocation: on a socket of the path's own, datagrams of the same
 * shape sent as one with UDP GSO (the kernel cuts it into datagrams of
 * o_hlen + o_len + o_pad bytes); on a stream, consecutive data in one
 * write.  Each datagram is head, data and padding: o_per iovecs,
 * consecutive in rio_oiov.
 */
struct rio_out {
	const void		*o_key;		/* the allocation */
	struct path		*o_path;
	union addr_in46		 o_to;
	union addr_in46		 o_from;	/* when the path is a wildcard */
	size_t			 o_hlen, o_len, o_pad;
	unsigned int		 o_nseg, o_per;
	union {
		struct cmsghdr	 align;
		uint8_t		 buf[RIO_CMSG_SPACE];
	}			 o_cmsg;
};

struct rio {
	struct stats		*rio_stats;
	int			 rio_batch;	/* 1 inside begin..flush */
	int			 rio_copy;	/* data must be copied */

	/* to peers: messages, each one datagram or a GSO run of them */
	unsigned int		 rio_np, rio_npiov;
	int			 rio_pfd[RIO_PEERQ];
	struct mmsghdr		 rio_pmsg[RIO_PEERQ];
	struct iovec		 rio_piov[RIO_PEERQ];	/* one per datagram */
	union addr_in46		 rio_paddr[RIO_PEERQ];
	union {
		struct cmsghdr	 align;
		uint8_t		 buf[SOCK_GSO_SPACE];
	}			 rio_pcmsg[RIO_PEERQ];
	uint8_t			*rio_arena;
	size_t			 rio_arena_used;

	/* to clients */
	int			 rio_gso;	/* UDP GSO works here */
	unsigned int		 rio_no, rio_niov;
	int			 rio_ofd[RIO_SLOTS];
	struct mmsghdr		 rio_omsg[RIO_SLOTS];
	struct rio_out		 rio_out[RIO_SLOTS];
	struct iovec		 rio_oiov[RIO_SLOTS * 3];
	uint8_t			 rio_head[RIO_SLOTS][SERVER_HEAD_MAX];

	/* receive slots for datagrams from peers */
	unsigned int		 rio_nslots;	/* in use */
	uint8_t			*rio_slots;	/* RIO_SLOTS * RELAY_PEERBUF */

	/* scratch for one socket's run */
	struct mmsghdr		 rio_run[RIO_SLOTS > RIO_PEERQ ?
				    RIO_SLOTS : RIO_PEERQ];
};

struct rio *
rio_new(struct stats *st)
{
	struct rio	*rio = xcalloc(1, sizeof(*rio));

	rio->rio_stats = st;
	rio->rio_gso = 1;
	/* virtual until used: a page per slot for the usual datagram */
	rio->rio_slots = xmalloc((size_t)RIO_SLOTS * RELAY_PEERBUF);
	rio->rio_arena = xmalloc(RIO_ARENA);
	return (rio);
}

int
rio_gso_on(const struct rio *rio)
{
	return (rio->rio_gso);
}

void
rio_free(struct rio *rio)
{
	if (rio == NULL)
		return;
	free(rio->rio_slots);
	free(rio->rio_arena);
	free(rio);
}

static int	rio_gso_failed(void *, int, struct mmsghdr *);

/*
 * Send the n queued messages; fd[i] is the socket of msg[i].  Each
 * socket's messages go in one sendmmsg, in their order.  What the kernel
 * refuses (a full buffer, an unreachable address) is dropped and counted.
 */
static void
rio_send(struct rio *rio, int *fd, struct mmsghdr *msg, unsigned int n)
{
	struct mmsghdr	*run;
	unsigned int	 i, j, k;
	int		 s;

	for (i = 0; i < n; i++) {
		if ((s = fd[i]) == -1)
			continue;
		/* the usual case: one socket for the rest of the queue */
		for (j = i + 1; j < n && fd[j] == s; j++)
			;
		if (j == n) {
			run = msg + i;
			k = n - i;
		} else {
			run = rio->rio_run;
			for (k = 0, j = i; j < n; j++)
				if (fd[j] == s) {
					run[k++] = msg[j];
					fd[j] = -1;
				}
		}
		sock_sendmmsg(s, run, k, rio->rio_stats, rio_gso_failed, rio);
		if (run == msg + i)
			break;
	}
}

static void
rio_flush_peers(struct rio *rio)
{
	struct mmsghdr	*m;
	unsigned int	 i;

	for (i = 0; i < rio->rio_np; i++) {
		m = &rio->rio_pmsg[i];
		if (m->msg_hdr.msg_iovlen < 2)
			continue;
		m->msg_hdr.msg_control = rio->rio_pcmsg[i].buf;
		m->msg_hdr.msg_controllen = sock_gso_cmsg(rio->rio_pcmsg[i].buf,
		    m->msg_hdr.msg_iov[0].iov_len);
	}
	if (rio->rio_np > 0)
		rio_send(rio, rio->rio_pfd, rio->rio_pmsg, rio->rio_np);
	rio->rio_np = 0;
	rio->rio_npiov = 0;
	rio->rio_arena_used = 0;
}

void
rio_begin(struct rio *rio, int copy)
{
	rio->rio_batch = 1;
	rio->rio_copy = copy;
}

/* Send everything queued, both ways, and close the batch. */
void
rio_flush(struct rio *rio)
{
	rio_flush_peers(rio);
	rio_flush_clients(rio);
	rio->rio_batch = 0;
	rio->rio_copy = 0;
}

void
rio_to_peer(struct rio *rio, int fd, const struct sockaddr *peer,
    const uint8_t *data, size_t len)
{
	unsigned int	 i;
	struct mmsghdr	*m;
	struct iovec	*iov;

	if (!rio->rio_batch) {
		if (sendto(fd, data, len, 0, peer, addr_len(peer)) == -1)
			STATS_INC(rio->rio_stats, udp_send_errors);
		return;
	}
	if (rio->rio_np == RIO_PEERQ ||
	    (rio->rio_copy && len > RIO_ARENA - rio->rio_arena_used))
		rio_flush_peers(rio);
	if (rio->rio_copy) {
		memcpy(rio->rio_arena + rio->rio_arena_used, data, len);
		data = rio->rio_arena + rio->rio_arena_used;
		rio->rio_arena_used += (len + 15) & ~(size_t)15;
	}
	iov = &rio->rio_piov[rio->rio_npiov++];
	iov->iov_base = (void *)(uintptr_t)data;
	iov->iov_len = len;
	/* the same size to the same peer from the same socket: one GSO run */
	m = rio->rio_np > 0 ? &rio->rio_pmsg[rio->rio_np - 1] : NULL;
	if (m != NULL && rio->rio_gso && rio->rio_pfd[rio->rio_np - 1] == fd &&
	    m->msg_hdr.msg_iov[0].iov_len == len && len <= RIO_GSO_SEG_MAX &&
	    m->msg_hdr.msg_iovlen < RIO_GSO_SEGS &&
	    (m->msg_hdr.msg_iovlen + 1) * len <= RIO_GSO_BYTES &&
	    addr_eq(&rio->rio_paddr[rio->rio_np - 1].sa, peer)) {
		m->msg_hdr.msg_iovlen++;
		return;
	}
	i = rio->rio_np++;
	memcpy(&rio->rio_paddr[i], peer, addr_len(peer));
	rio->rio_pfd[i] = fd;
	m = &rio->rio_pmsg[i];
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = &rio->rio_paddr[i];
	m->msg_hdr.msg_namelen = addr_len(peer);
	m->msg_hdr.msg_iov = iov;
	m->msg_hdr.msg_iovlen = 1;
}

/* fd is about to close: what is queued for it leaves first. */
void
rio_forget_fd(struct rio *rio, int fd)
{
	unsigned int	i;

	for (i = 0; i < rio->rio_np; i++)
		if (rio->rio_pfd[i] == fd) {
			rio_flush_peers(rio);
			return;
		}
}

/* The control messages of o: where it leaves from, its GSO size. */
static size_t
rio_out_cmsg(struct rio_out *o)
{
	struct sockaddr_storage	 src;
	size_t			 len = 0;

	if (o->o_path->p_wild) {
		memset(&src, 0, sizeof(src));
		memcpy(&src, &o->o_from, sizeof(o->o_from));
		len = sock_set_source(o->o_cmsg.buf, &src);
	}
	if (o->o_nseg > 1)
		len += sock_gso_cmsg(o->o_cmsg.buf + len,
		    o->o_hlen + o->o_len + o->o_pad);
	return (len);
}

void
rio_flush_clients(struct rio *rio)
{
	struct rio_out	*o;
	struct mmsghdr	*m;
	unsigned int	 i;

	for (i = 0; i < rio->rio_no; i++) {
		o = &rio->rio_out[i];
		m = &rio->rio_omsg[i];
		if (rio->rio_ofd[i] == -1) {
			/* the path sends it itself (rio_send skips it) */
			o->o_path->p_ops->po_send(o->o_path, &o->o_to.sa,
			    &o->o_from.sa, m->msg_hdr.msg_iov,
			    (int)(o->o_nseg * o->o_per));
			continue;
		}
		m->msg_hdr.msg_iovlen = (size_t)o->o_nseg * o->o_per;
		m->msg_hdr.msg_controllen = rio_out_cmsg(o);
		m->msg_hdr.msg_control = m->msg_hdr.msg_controllen > 0 ?
		    o->o_cmsg.buf : NULL;
	}
	if (rio->rio_no > 0)
		rio_send(rio, rio->rio_ofd, rio->rio_omsg, rio->rio_no);
	rio->rio_no = 0;
	rio->rio_niov = 0;
	rio->rio_nslots = 0;
}

/*
 * A GSO message the kernel refused (a device without checksum offload,
 * an older kernel, a smaller MTU): send its datagrams one by one, and no
 * more GSO on this worker.  0 if m was not a GSO message.  The
 * UDP_SEGMENT control message is always the last one (rio_out_cmsg), so
 * the ones before it stay.
 */
static int
rio_gso_failed(void *arg, int fd, struct mmsghdr *m)
{
	struct rio	*rio = arg;
	struct msghdr	 mh = m->msg_hdr;
	size_t		 total = 0, seg, keep = 0, i, nseg, per;

	if ((seg = sock_gso_size(&mh, &keep)) == 0)
		return (0);
	if (rio->rio_gso)
		log_info("UDP GSO refused (%s): sending datagrams one by one",
		    strerror(errno));
	rio->rio_gso = 0;
	for (i = 0; i < mh.msg_iovlen; i++)
		total += mh.msg_iov[i].iov_len;
	nseg = (total + seg - 1) / seg;
	per = mh.msg_iovlen / nseg;	/* every datagram has as many */
	mh.msg_controllen = keep;
	if (keep == 0)
		mh.msg_control = NULL;
	mh.msg_iovlen = per;
	for (i = 0; i < nseg; i++) {
		mh.msg_iov = m->msg_hdr.msg_iov + i * per;
		if (sendmsg(fd, &mh, 0) == -1)
			STATS_INC(rio->rio_stats, udp_send_errors);
	}
	return (1);
}

/*
 * Up to want receive slots for datagrams from peers, set up in msgs and
 * iovs (want at most RIO_SLOTS); returns how many, flushing first when
 * none are left.
 */
unsigned int
rio_slots(struct rio *rio, struct mmsghdr *msgs, struct iovec *iovs,
    struct sockaddr_storage *from, unsigned int want)
{
	unsigned int	i, n;

	if (rio->rio_nslots == RIO_SLOTS)
		rio_flush_clients(rio);
	n = RIO_SLOTS - rio->rio_nslots;
	if (n > want)
		n = want;
	for (i = 0; i < n; i++) {
		iovs[i].iov_base = rio->rio_slots +
		    (size_t)(rio->rio_nslots + i) * RELAY_PEERBUF;
		iovs[i].iov_len = RELAY_PEERBUF;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return (n);
}

/* n of the slots from rio_slots() hold datagrams now. */
void
rio_slots_used(struct rio *rio, unsigned int n)
{
	rio->rio_nslots += n;
}

/* May a datagram of size bytes for key on path join the message o? */
static int
rio_joins(const struct rio *rio, const struct rio_out *o, const void *key,
    const struct path *path, size_t hlen, size_t len, size_t pad)
{
	size_t	size = hlen + len + pad;

	if (o == NULL || o->o_key != key || o->o_path != path)
		return (0);
	if (path->p_fd == -1)
		return (path->p_stream);	/* one write of a stream */
	return (rio->rio_gso && o->o_hlen == hlen && o->o_len == len &&
	    o->o_pad == pad && o->o_nseg < RIO_GSO_SEGS &&
	    size <= RIO_GSO_SEG_MAX && (o->o_nseg + 1) * size <= RIO_GSO_BYTES);
}

/*
 * Queue head, data (in a receive slot) and pad zero bytes for the client
 * `to` of allocation key on path, leaving from `from` (a datagram path:
 * named with PKTINFO when the path's socket is a wildcard).  A datagram
 * of the same allocation that may join the one before (rio_joins) goes
 * with it in one GSO send or one stream write.
 */
void
rio_to_client(struct rio *rio, const void *key, struct path *path,
    const struct sockaddr *to, const struct sockaddr *from,
    const uint8_t *head, size_t hlen, const uint8_t *data, size_t len,
    size_t pad)
{
	static const uint8_t	 zeros[4];
	struct rio_out		*o;
	struct mmsghdr		*m;
	struct iovec		*iov;
	uint8_t			*h;
	unsigned int		 i;

	if (rio->rio_no == RIO_SLOTS)	/* not reached: one per slot */
		rio_flush_clients(rio);
	h = rio->rio_head[rio->rio_niov / 3];
	memcpy(h, head, hlen);
	iov = &rio->rio_oiov[rio->rio_niov];
	iov[0].iov_base = h;
	iov[0].iov_len = hlen;
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	iov[2].iov_base = (void *)(uintptr_t)zeros;
	iov[2].iov_len = pad;

	o = rio->rio_no > 0 ? &rio->rio_out[rio->rio_no - 1] : NULL;
	if (rio_joins(rio, o, key, path, hlen, len, pad)) {
		/* its iovecs follow the last datagram's */
		o->o_nseg++;
		rio->rio_niov += 3;
		return;
	}
	rio->rio_niov += 3;
	i = rio->rio_no++;
	o = &rio->rio_out[i];
	m = &rio->rio_omsg[i];
	rio->rio_ofd[i] = path->p_fd;
	o->o_key = key;
	o->o_path = path;
	memset(&o->o_to, 0, sizeof(o->o_to));
	memset(&o->o_from, 0, sizeof(o->o_from));
	if (to != NULL)
		memcpy(&o->o_to, to, addr_len(to));
	if (from != NULL)
		memcpy(&o->o_from, from, addr_len(from));
	o->o_hlen = hlen;
	o->o_len = len;
	o->o_pad = pad;
	o->o_nseg = 1;
	o->o_per = 3;
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = &o->o_to;
	m->msg_hdr.msg_namelen = to != NULL ? addr_len(to) : 0;
	m->msg_hdr.msg_iov = iov;
}

/* path is about to go away: what is queued for it leaves first. */
void
rio_forget_path(struct rio *rio, const struct path *path)
{
	unsigned int	i;

	for (i = 0; i < rio->rio_no; i++)
		if (rio->rio_out[i].o_path == path) {
			rio_flush_clients(rio);
			return;
		}
}
