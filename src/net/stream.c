/*
 * stream.c -- TCP and TLS client connections of a worker (RFC 8489
 * section 6.2.2, RFC 8656 section 12.5).
 *
 * Bytes are cut into frames by stun_frame_next(): STUN messages and
 * ChannelData (padded to 4) interleave, may arrive split or several per
 * read.  A connection is closed when its bytes cannot be framed or are
 * ChannelData that cannot be relayed (no allocation, channel not bound),
 * when it stays in the middle of a frame longer than limits.frame_timeout
 * (slowloris), when its TLS handshake is not done within that time of
 * the accept, when it is idle longer than limits.idle_timeout, or when
 * it stops reading its answers.  Memory per connection is bounded: at
 * most one partial frame plus one read is buffered, and answers beyond
 * CONN_OUT_MAX pause reading.  Out of descriptors, a listener pauses
 * rather than fail accept() in a loop.
 *
 * A connection from a listen.proxy_from source is first a struct pconn:
 * its PROXY header (net/proxy.c) is read before anything else, TLS
 * included, within listen.proxy_timeout of the accept, and only bytes of
 * the header are taken from the socket (MSG_PEEK, then exactly what
 * belongs to it).  Then it becomes a conn whose peer is the client the
 * header names, counted against that client's connection limit.
 *
 * A listener bound for both listen.tcp and listen.tls (listen.c) waits
 * for the first byte of each connection, within limits.frame_timeout of
 * the accept: in 20..63, the range of TLS record types (RFC 7983
 * section 7), TLS follows and the handshake deadline still counts from
 * the accept; anything else is STUN or ChannelData in the clear.  A
 * connection that sends nothing is closed at that deadline.
 *
 * Each connection is a path (src/turn/path.h) without a socket for the
 * batches: whatever goes to its client comes through conn_path_send().
 * Closing it tells the server first (server_path_closed), which ends
 * the allocation it carried.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"
#include "net/proxy.h"
#include "stun/stun.h"

#define CONN_OUT_MAX	(256 * 1024)	/* answers queued before pausing */
#define CONN_IN_MAX	(2 * (STUN_MSG_MAX + 3))
#define CONN_REPLY_MAX	2048		/* room for any one answer */
#define CONN_BATCH	16384		/* answers of one read pass */
#define ACCEPT_PAUSE_US	100000		/* out of descriptors: retry then */

struct stream_set;

/* One TCP/TLS listener of a worker. */
struct slisten {
	struct stream_set	*sl_set;
	struct lsock		 sl_ls;
	struct evconnlistener	*sl_lev;
	struct event		*sl_resume;	/* ends a pause of accept */
	time_t			 sl_last_warn;	/* accept errors, rate limit */
};

/* One TCP or TLS client connection. */
struct conn {
	struct path		 c_path;	/* first: a path is a conn */
	TAILQ_ENTRY(conn)	 c_entry;
	struct stream_set	*c_set;
	struct worker		*c_w;
	struct bufferevent	*c_bev;
	enum transport		 c_transport;
	struct sockaddr_storage	 c_peer;
	struct sockaddr_storage	 c_local;
	struct event		*c_hs_timer;	/* TLS: handshake deadline */
	struct event		*c_sniff;	/* one port: first byte due */
	evutil_socket_t		 c_fd;
	int			 c_tls_up;	/* handshake done */
	int			 c_partial;	/* a frame is half in */
	int			 c_backlog;	/* reading paused on output */
	int			 c_closing;	/* garbage seen: flush, then close */
	int			 c_framed;	/* a frame was handled */
	struct timeval		 c_frame_start;
};

/* A connection from listen.proxy_from whose PROXY header is not in. */
struct pconn {
	TAILQ_ENTRY(pconn)	 pc_entry;
	struct slisten		*pc_sl;
	int			 pc_fd;
	struct event		*pc_ev;		/* readable, or the deadline */
	struct sockaddr_storage	 pc_peer;	/* the balancer */
	struct timeval		 pc_deadline;
	size_t			 pc_len;	/* header bytes taken so far */
	uint8_t			 pc_buf[PROXY_MAX];
};

/* The stream listeners of a worker and their connections. */
struct stream_set {
	struct worker		*ss_w;
	struct slisten		*ss_ls;
	unsigned int		 ss_n;
	TAILQ_HEAD(, conn)	 ss_conns;
	unsigned int		 ss_nconns;
	TAILQ_HEAD(, pconn)	 ss_pconns;
};

static void	conn_free(struct conn *);
static void	conn_sendv(struct conn *, const struct iovec *, int);

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_tls_info(const struct path *, const char **,
		    const char **);

static void
conn_path_send(struct path *p, const struct sockaddr *to,
    const struct sockaddr *from, const struct iovec *iov, int n)
{
	(void)to;
	(void)from;
	conn_sendv((struct conn *)p, iov, n);
}

static const struct path_ops conn_path_ops = {
	.po_send = conn_path_send,
	.po_tls_info = conn_tls_info,
};

static struct timeval
secs(int s)
{
	struct timeval	tv = { s, 0 };

	return (tv);
}

static void
conn_free(struct conn *c)
{
	struct worker	*w = c->c_w;

	server_path_closed(&w->w_srv, &c->c_path,
	    (struct sockaddr *)&c->c_peer, (struct sockaddr *)&c->c_local);
	TAILQ_REMOVE(&c->c_set->ss_conns, c, c_entry);
	c->c_set->ss_nconns--;
	connlimit_release(w->w_connlimit, (struct sockaddr *)&c->c_peer);
	if (c->c_hs_timer != NULL)
		event_free(c->c_hs_timer);
	if (c->c_sniff != NULL)
		event_free(c->c_sniff);
	if (c->c_bev != NULL)
		bufferevent_free(c->c_bev);  /* closes the socket, frees SSL */
	else
		close(c->c_fd);
	free(c);
}

static void
conn_tls_info(const struct path *p, const char **version, const char **cipher)
{
	const struct conn	*c = (const struct conn *)p;
	SSL			*ssl;

	*version = *cipher = NULL;
	if (c->c_transport != TRANSPORT_TLS ||
	    (ssl = bufferevent_openssl_get_ssl(c->c_bev)) == NULL)
		return;
	*version = SSL_get_version(ssl);
	*cipher = SSL_get_cipher_name(ssl);
}

static void
conn_pkt(struct conn *c, struct server_pkt *pkt)
{
	pkt->transport = c->c_transport;
	pkt->src = (const struct sockaddr *)&c->c_peer;
	pkt->local = (const struct sockaddr *)&c->c_local;
	pkt->origin = NULL;
	pkt->path = &c->c_path;
}

/*
 * Hand one whole frame to the server; its answer goes to out (cap bytes,
 * at least CONN_REPLY_MAX).  Returns the answer's length, 0 for none, or
 * -1 for ChannelData that can never be relayed (no allocation, channel
 * not bound: RFC 8656 12.4), which the caller treats as garbage.
 */
static ssize_t
conn_frame(struct conn *c, const uint8_t *p, const struct stun_frame *f,
    uint8_t *out, size_t cap)
{
	struct worker		*w = c->c_w;
	struct server_pkt	 pkt;
	struct server_reply	 reply;

	conn_pkt(c, &pkt);
	if (f->kind == STUN_FRAME_CHAN)
		return (server_chandata(&w->w_srv, &pkt, p, f->msglen));
	reply.buf = out;
	reply.cap = cap;
	server_handle(&w->w_srv, &pkt, p, f->msglen, &reply);
	return ((ssize_t)reply.len);
}

/*
 * A ChannelData header is in but not its data: 1 if the channel is bound
 * on this connection's allocation.  Otherwise the frame can only be
 * dropped, and its length is no reason to wait: text such as "GET /"
 * (channel 0x4745, 21536 bytes) or "SSH-2.0" (0x5353) reads this way.
 */
static int
conn_chan_ok(struct conn *c, const uint8_t *hdr)
{
	struct server_pkt	pkt;

	conn_pkt(c, &pkt);
	return (server_chan_bound(&c->c_w->w_srv, &pkt,
	    (uint16_t)(hdr[0] << 8 | hdr[1])));
}

/*
 * Track whether the connection sits in the middle of a frame.  The
 * frame deadline counts from the first byte of the frame, so a client
 * trickling a byte at a time cannot hold it open.  Returns -1 when the
 * deadline has passed.
 */
static int
conn_track_partial(struct conn *c, int partial)
{
	const struct turnd_conf	*conf = c->c_w->w_conf;
	struct timeval		 now, tv, left;

	if (partial == c->c_partial) {
		if (!partial)
			return (0);
		event_base_gettimeofday_cached(c->c_w->w_base, &now);
		timersub(&now, &c->c_frame_start, &tv);
		return (tv.tv_sec >= conf->lim_frame_timeout ? -1 : 0);
	}
	c->c_partial = partial;
	if (partial) {
		event_base_gettimeofday_cached(c->c_w->w_base,
		    &c->c_frame_start);
		left = secs(conf->lim_frame_timeout);
	} else
		left = secs(conf->lim_idle_timeout);
	bufferevent_set_timeouts(c->c_bev, &left, NULL);
	return (0);
}

/*
 * The stream is garbage: answer what came before it, then close.  Reading
 * stops now; the connection is freed once its answers are written (the
 * write callback), or after the frame timeout if the client does not read
 * them.  c may be freed on return.
 */
static void
conn_close_garbage(struct conn *c)
{
	struct timeval	tv = secs(c->c_w->w_conf->lim_frame_timeout);

	STATS_INC(&c->c_w->w_stats, conn_closed_garbage);
	if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) == 0) {
		conn_free(c);
		return;
	}
	c->c_closing = 1;
	bufferevent_disable(c->c_bev, EV_READ);
	bufferevent_setwatermark(c->c_bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->c_bev, NULL, &tv);
}

/*
 * Queue answers.  On plain TCP with nothing queued they go straight to
 * the socket: the bufferevent would arm and disarm a write event (two
 * epoll_ctl calls) for every batch.  What the kernel does not take, and
 * everything on TLS, goes through the bufferevent.
 */
static void
conn_send(struct conn *c, const uint8_t *buf, size_t len)
{
	struct iovec	iov;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	conn_sendv(c, &iov, 1);
}

static void
conn_sendv(struct conn *c, const struct iovec *iov, int n)
{
	struct bufferevent	*bev = c->c_bev;
	struct msghdr		 mh;
	ssize_t			 sent = 0;
	size_t			 skip;
	int			 i;

	if (c->c_transport == TRANSPORT_TCP &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = (struct iovec *)(uintptr_t)iov;
		mh.msg_iovlen = (size_t)n;
		sent = sendmsg(bufferevent_getfd(bev), &mh,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0)
			sent = 0;  /* EAGAIN, or an error the bufferevent sees */
	}
	skip = (size_t)sent;
	for (i = 0; i < n; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		bufferevent_write(bev, (const uint8_t *)iov[i].iov_base + skip,
		    iov[i].iov_len - skip);
		skip = 0;
	}
}

/*
 * Garbage as the first bytes of a connection: if they begin a PROXY
 * header, it came from a source not in listen.proxy_from (those never
 * get here with one): count the refusal.
 */
static void
conn_count_proxy(struct conn *c, struct evbuffer *in)
{
	struct proxy_hdr	h;
	uint8_t			buf[16];
	ssize_t			n;

	if (c->c_framed || (n = evbuffer_copyout(in, buf, sizeof(buf))) <= 0)
		return;
	if (proxy_parse(buf, (size_t)n, &h) != -1)
		STATS_INC(&c->c_w->w_stats, proxy_refused);
}

/*
 * Cut the input into frames and answer them.  The answers of one pass are
 * gathered in batch and handed to the bufferevent in one write, not one
 * per frame.
 */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer		*out = bufferevent_get_output(bev);
	struct stun_frame	 f;
	uint8_t			 hdr[STUN_FRAME_HDR_NEED];
	uint8_t			 batch[CONN_BATCH];
	size_t			 avail, hlen, blen = 0;
	ssize_t			 n;
	uint8_t			*p;
	int			 r, garbage = 0, backlog = 0;
	struct timeval		 tv;

	worker_clock(c->c_w);
	/* data for peers leaves in one sendmmsg per relay socket */
	rio_begin(c->c_w->w_rio, 1);
	while ((avail = evbuffer_get_length(in)) > 0) {
		if (evbuffer_get_length(out) + blen > CONN_OUT_MAX) {
			backlog = 1;
			break;
		}
		hlen = avail < sizeof(hdr) ? avail : sizeof(hdr);
		evbuffer_copyout(in, hdr, hlen);
		if ((r = stun_frame_next(hdr, hlen, &f)) == -1) {
			garbage = 1;
			break;
		}
		if (f.framelen == 0)
			break;		/* wait for the length */
		if (avail < f.framelen) {
			/* wait for the rest, if it can be of use */
			if (f.kind == STUN_FRAME_CHAN && !conn_chan_ok(c, hdr))
				garbage = 1;
			break;
		}
		p = evbuffer_pullup(in, (ssize_t)f.framelen);
		if (p == NULL || (r == 0 && stun_frame_next(p, f.framelen,
		    &f) != 1)) {
			garbage = 1;
			break;
		}
		if (sizeof(batch) - blen < CONN_REPLY_MAX) {
			conn_send(c, batch, blen);
			blen = 0;
		}
		n = conn_frame(c, p, &f, batch + blen, sizeof(batch) - blen);
		c->c_framed = 1;
		evbuffer_drain(in, f.framelen);
		if (n < 0) {
			garbage = 1;
			break;
		}
		blen += (size_t)n;
	}
	rio_flush(c->c_w->w_rio);
	if (blen > 0)
		conn_send(c, batch, blen);
	if (garbage) {
		conn_count_proxy(c, in);
		conn_close_garbage(c);
		return;
	}
	if (backlog) {
		/* Answers are not being read: stop reading until they are. */
		c->c_backlog = 1;
		bufferevent_disable(bev, EV_READ);
		tv = secs(c->c_w->w_conf->lim_frame_timeout);
		bufferevent_set_timeouts(bev, NULL, &tv);
		return;
	}
	if (conn_track_partial(c, evbuffer_get_length(in) > 0) == -1) {
		STATS_INC(&c->c_w->w_stats, conn_closed_stall);
		conn_free(c);
	}
}

/* The client read enough of its answers: resume reading. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct timeval	 tv;

	if (c->c_closing) {
		/* the answers before the garbage are out */
		conn_free(c);
		return;
	}
	if (!c->c_backlog)
		return;
	c->c_backlog = 0;
	tv = secs(c->c_partial ? c->c_w->w_conf->lim_frame_timeout :
	    c->c_w->w_conf->lim_idle_timeout);
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_enable(bev, EV_READ);
	conn_read_cb(bev, c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	struct stats	*st = &c->c_w->w_stats;
	struct timeval	 tv;

	if (what & BEV_EVENT_CONNECTED) {
		/* TLS handshake done: from now on the idle timeout holds. */
		c->c_tls_up = 1;
		if (c->c_hs_timer != NULL)
			event_free(c->c_hs_timer);
		c->c_hs_timer = NULL;
		tv = secs(c->c_w->w_conf->lim_idle_timeout);
		bufferevent_set_timeouts(bev, &tv, NULL);
		return;
	}
	if (c->c_transport == TRANSPORT_TLS && !c->c_tls_up)
		STATS_INC(st, tls_handshake_failed);
	else if ((what & BEV_EVENT_TIMEOUT) && !c->c_closing) {
		if (what & BEV_EVENT_WRITING)
			STATS_INC(st, conn_closed_backlog);
		else if (c->c_partial)
			STATS_INC(st, conn_closed_stall);
		else
			STATS_INC(st, conn_closed_idle);
	}
	conn_free(c);
}

/*
 * The TLS handshake did not complete within limits.frame_timeout of the
 * accept.  The bufferevent's read timeout cannot say so: every byte that
 * trickles in restarts it.
 */
static void
conn_hs_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	worker_clock(c->c_w);
	if (c->c_sniff != NULL)
		STATS_INC(&c->c_w->w_stats, conn_closed_stall);
	else
		STATS_INC(&c->c_w->w_stats, tls_handshake_failed);
	conn_free(c);
}

/* The bufferevent of the connection's transport on its socket, or NULL. */
static struct bufferevent *
conn_bev_new(struct conn *c)
{
	struct bufferevent	*bev;
	SSL			*ssl;

	if (c->c_transport != TRANSPORT_TLS)
		return (bufferevent_socket_new(c->c_w->w_base, c->c_fd,
		    BEV_OPT_CLOSE_ON_FREE));
	if ((ssl = SSL_new(c->c_w->w_tls)) == NULL)
		return (NULL);
	bev = bufferevent_openssl_socket_new(c->c_w->w_base, c->c_fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	else
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return (bev);
}

/*
 * Start the connection's bufferevent.  Until a TLS handshake is done, no
 * read may wait longer than the frame timeout; the handshake deadline
 * itself (c_hs_timer) is armed by the caller.  c may be freed on return.
 */
static void
conn_start(struct conn *c)
{
	const struct turnd_conf	*conf = c->c_w->w_conf;
	struct bufferevent	*bev;
	struct timeval		 tv;

	if ((bev = conn_bev_new(c)) == NULL) {
		log_warnx("%s: cannot set up a connection", __func__);
		conn_free(c);
		return;
	}
	c->c_bev = bev;
	tv = secs(c->c_transport == TRANSPORT_TLS ? conf->lim_frame_timeout :
	    conf->lim_idle_timeout);
	bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(bev, EV_READ, 0, CONN_IN_MAX);
	bufferevent_setwatermark(bev, EV_WRITE, CONN_OUT_MAX / 2, 0);
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/*
 * One port for TCP and TLS: the first byte is in.  It is only peeked at,
 * so the bufferevent of the transport it names reads it again.
 */
static void
conn_sniff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	uint8_t		 b;
	ssize_t		 n;

	(void)what;
	worker_clock(c->c_w);
	n = recv(fd, &b, 1, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c);	/* closed or reset before a byte */
		return;
	}
	event_free(c->c_sniff);
	c->c_sniff = NULL;
	if (b >= 20 && b <= 63) {
		c->c_transport = TRANSPORT_TLS;	/* keeps c_hs_timer */
		path_init(&c->c_path, &conn_path_ops, TRANSPORT_TLS, -1, 0, 1);
	} else {
		event_free(c->c_hs_timer);
		c->c_hs_timer = NULL;
	}
	conn_start(c);
}

/* A conn for an accepted socket, counted and in the worker's list. */
static struct conn *
conn_new(struct slisten *sl, evutil_socket_t fd, const struct sockaddr *sa,
    int salen)
{
	struct worker	*w = sl->sl_set->ss_w;
	struct conn	*c;
	socklen_t	 len;

	c = xcalloc(1, sizeof(*c));
	c->c_set = sl->sl_set;
	c->c_w = w;
	c->c_fd = fd;
	c->c_transport = sl->sl_ls.ls_transport;
	path_init(&c->c_path, &conn_path_ops, c->c_transport, -1, 0, 1);
	memcpy(&c->c_peer, sa, (size_t)salen);
	len = sizeof(c->c_local);
	if (getsockname(fd, (struct sockaddr *)&c->c_local, &len) == -1)
		c->c_local = sl->sl_ls.ls_addr;
	TAILQ_INSERT_TAIL(&sl->sl_set->ss_conns, c, c_entry);
	sl->sl_set->ss_nconns++;
	STATS_INC(&w->w_stats, conn_accepted);
	return (c);
}

/*
 * Open the connection of fd, accepted from sa (the client; counted in
 * the connection limit already), on listener sl.
 */
static void
conn_open(struct slisten *sl, evutil_socket_t fd, const struct sockaddr *sa)
{
	struct worker		*w = sl->sl_set->ss_w;
	struct conn		*c;
	struct timeval		 tv = secs(w->w_conf->lim_frame_timeout);
	int			 on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c = conn_new(sl, fd, sa, (int)addr_len(sa));
	/* TLS, or maybe TLS: the handshake is due within tv of now */
	if ((c->c_transport == TRANSPORT_TLS || sl->sl_ls.ls_tls_too) &&
	    ((c->c_hs_timer = evtimer_new(w->w_base, conn_hs_timeout_cb,
	    c)) == NULL || evtimer_add(c->c_hs_timer, &tv) == -1))
		fatalx("%s: out of memory", __func__);
	if (!sl->sl_ls.ls_tls_too) {
		conn_start(c);
		return;
	}
	if ((c->c_sniff = event_new(w->w_base, fd, EV_READ | EV_PERSIST,
	    conn_sniff_cb, c)) == NULL || event_add(c->c_sniff, NULL) == -1)
		fatalx("%s: out of memory", __func__);
}

/* 1 if sa is in listen.proxy_from. */
static int
stream_from_proxy(const struct turnd_conf *conf, const struct sockaddr *sa)
{
	const struct conf_cidrs	*cc = &conf->listen_proxy_from;
	unsigned int		 i;

	for (i = 0; i < cc->cc_n; i++)
		if (cidr_match(&cc->cc_cidr[i], sa))
			return (1);
	return (0);
}

/* Close a connection whose header did not come (close: its socket too). */
static void
pconn_free(struct pconn *pc, int close_fd)
{
	struct stream_set	*ss = pc->pc_sl->sl_set;

	TAILQ_REMOVE(&ss->ss_pconns, pc, pc_entry);
	connlimit_release(ss->ss_w->w_connlimit,
	    (struct sockaddr *)&pc->pc_peer);
	event_free(pc->pc_ev);
	if (close_fd)
		close(pc->pc_fd);
	free(pc);
}

/*
 * The header is in (h): the connection is the client's it names, or
 * the balancer's for LOCAL and UNKNOWN, and counts against that one.
 */
static void
pconn_done(struct pconn *pc, const struct proxy_hdr *h)
{
	struct slisten		*sl = pc->pc_sl;
	struct worker		*w = sl->sl_set->ss_w;
	struct sockaddr_storage	 peer = pc->pc_peer;
	evutil_socket_t		 fd = pc->pc_fd;

	STATS_INC(&w->w_stats, proxy_ok);
	pconn_free(pc, 0);	/* gives back the balancer's count */
	if (!h->ph_local) {
		peer = h->ph_src;
		addr_unmap(&peer);
	}
	if (connlimit_acquire(w->w_connlimit, (struct sockaddr *)&peer) ==
	    -1) {
		STATS_INC(&w->w_stats, conn_rejected);
		close(fd);
		return;
	}
	conn_open(sl, fd, (struct sockaddr *)&peer);
}

/*
 * Header bytes can be read, or the deadline passed.  The bytes are
 * looked at first (MSG_PEEK) and only those of the header are taken:
 * what follows is the client's, STUN or a TLS ClientHello.
 */
static void
pconn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pconn		*pc = arg;
	struct worker		*w = pc->pc_sl->sl_set->ss_w;
	struct proxy_hdr	 h;
	struct timeval		 now, left;
	uint8_t			 drop[PROXY_MAX];
	size_t			 take;
	ssize_t			 n;
	int			 r;

	worker_clock(w);
	if (what & EV_TIMEOUT) {
		STATS_INC(&w->w_stats, proxy_timeout);
		pconn_free(pc, 1);
		return;
	}
	n = recv(fd, pc->pc_buf + pc->pc_len, sizeof(pc->pc_buf) - pc->pc_len,
	    MSG_PEEK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		pconn_free(pc, 1);	/* gone before its header */
		return;
	}
	if (n > 0) {
		r = proxy_parse(pc->pc_buf, pc->pc_len + (size_t)n, &h);
		if (r == -1) {
			STATS_INC(&w->w_stats, proxy_bad);
			pconn_free(pc, 1);
			return;
		}
		take = r == 0 ? (size_t)n : (size_t)r - pc->pc_len;
		if (recv(fd, drop, take, 0) != (ssize_t)take) {
			pconn_free(pc, 1);
			return;
		}
		pc->pc_len += take;
		if (r > 0) {
			pconn_done(pc, &h);
			return;
		}
	}
	event_base_gettimeofday_cached(w->w_base, &now);
	if (!timercmp(&now, &pc->pc_deadline, <))
		timerclear(&left);
	else
		timersub(&pc->pc_deadline, &now, &left);
	event_add(pc->pc_ev, &left);
}

/* A connection from listen.proxy_from: wait for its header. */
static void
pconn_start(struct slisten *sl, evutil_socket_t fd, const struct sockaddr *sa)
{
	struct stream_set	*ss = sl->sl_set;
	struct worker		*w = ss->ss_w;
	struct pconn		*pc;
	struct timeval		 tv = secs(w->w_conf->listen_proxy_timeout);

	pc = xcalloc(1, sizeof(*pc));
	pc->pc_sl = sl;
	pc->pc_fd = fd;
	memcpy(&pc->pc_peer, sa, addr_len(sa));
	if ((pc->pc_ev = event_new(w->w_base, fd, EV_READ, pconn_read_cb,
	    pc)) == NULL)
		fatalx("%s: out of memory", __func__);
	event_base_gettimeofday_cached(w->w_base, &pc->pc_deadline);
	timeradd(&pc->pc_deadline, &tv, &pc->pc_deadline);
	TAILQ_INSERT_TAIL(&ss->ss_pconns, pc, pc_entry);
	event_add(pc->pc_ev, &tv);
}

static void
stream_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct slisten		*sl = arg;
	struct worker		*w = sl->sl_set->ss_w;

	(void)lev;
	(void)salen;
	if (connlimit_acquire(w->w_connlimit, sa) == -1) {
		STATS_INC(&w->w_stats, conn_rejected);
		close(fd);
		return;
	}
	if (stream_from_proxy(w->w_conf, sa))
		pconn_start(sl, fd, sa);
	else
		conn_open(sl, fd, sa);
}

static void
stream_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slisten	*sl = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(sl->sl_lev);
}

/*
 * accept() failed.  Out of descriptors (or of memory), the connection
 * that made the listener readable is still queued, so it would fail
 * again at once, round after round: the listener pauses for
 * ACCEPT_PAUSE_US instead, and what is queued waits in the backlog.  The
 * UDP listeners and the other connections go on.  Logged rarely.
 */
static void
stream_error_cb(struct evconnlistener *lev, void *arg)
{
	struct slisten	*sl = arg;
	struct worker	*w = sl->sl_set->ss_w;
	struct timeval	 now, tv = { 0, ACCEPT_PAUSE_US };
	int		 err = errno;

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		evconnlistener_disable(lev);
		evtimer_add(sl->sl_resume, &tv);
		STATS_INC(&w->w_stats, accept_paused);
	}
	event_base_gettimeofday_cached(w->w_base, &now);
	if (now.tv_sec - sl->sl_last_warn < 10)
		return;
	sl->sl_last_warn = now.tv_sec;
	errno = err;
	log_warn("%s: accept", __func__);
}

static void
stream_listen(struct stream_set *ss, struct slisten *sl)
{
	sl->sl_set = ss;
	/* backlog 0: listening already, with listen.c's LISTEN_BACKLOG */
	sl->sl_lev = evconnlistener_new(ss->ss_w->w_base, stream_accept_cb, sl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
	    sl->sl_ls.ls_fd);
	sl->sl_resume = evtimer_new(ss->ss_w->w_base, stream_resume_cb, sl);
	if (sl->sl_lev == NULL || sl->sl_resume == NULL)
		fatalx("%s: worker %u cannot watch a listening socket",
		    __func__, ss->ss_w->w_id);
	evconnlistener_set_error_cb(sl->sl_lev, stream_error_cb);
}

/* Take the TCP and TLS sockets of set (their fds in set become -1). */
struct stream_set *
stream_set_new(struct worker *w, struct listen_set *set)
{
	struct stream_set	*ss = xcalloc(1, sizeof(*ss));
	unsigned int		 i, n = 0;

	ss->ss_w = w;
	TAILQ_INIT(&ss->ss_conns);
	TAILQ_INIT(&ss->ss_pconns);
	for (i = 0; i < set->n; i++)
		n += set->ls[i].ls_transport != TRANSPORT_UDP;
	if (n > 0)
		ss->ss_ls = xcalloc(n, sizeof(*ss->ss_ls));
	for (i = 0; i < set->n; i++) {
		if (set->ls[i].ls_transport == TRANSPORT_UDP)
			continue;
		ss->ss_ls[ss->ss_n++].sl_ls = set->ls[i];
		set->ls[i].ls_fd = -1;	/* ours now */
	}
	for (i = 0; i < ss->ss_n; i++)
		stream_listen(ss, &ss->ss_ls[i]);
	return (ss);
}

void
stream_set_close_all(struct stream_set *ss)
{
	struct conn	*c;
	struct pconn	*pc;

	while ((pc = TAILQ_FIRST(&ss->ss_pconns)) != NULL)
		pconn_free(pc, 1);
	while ((c = TAILQ_FIRST(&ss->ss_conns)) != NULL)
		conn_free(c);
}

/* The connections must be closed (stream_set_close_all). */
void
stream_set_free(struct stream_set *ss)
{
	unsigned int	i;

	if (ss == NULL)
		return;
	for (i = 0; i < ss->ss_n; i++) {
		if (ss->ss_ls[i].sl_resume != NULL)
			event_free(ss->ss_ls[i].sl_resume);
		if (ss->ss_ls[i].sl_lev != NULL)
			evconnlistener_free(ss->ss_ls[i].sl_lev);
	}
	free(ss->ss_ls);
	free(ss);
}
