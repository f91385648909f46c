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
 * CONN_OUT_MAX pause reading.  The listeners and the accept phase (PROXY
 * header, first-byte sniff, handshake deadline) are accept.c's.
 *
 * RFC 6062: after a ConnectionBind success (path->p_pipe set by the
 * relay) the connection stops being framed and its bufferevent, with
 * the bytes after the ConnectionBind, goes to tcprelay.c.  A first frame
 * that is a ConnectionBind for another worker's CONNECTION-ID moves the
 * connection (socket, TLS session, unread input) to that worker first
 * (conn_move(); doc/ARCHITECTURE 6a).
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
#include "net/stream_int.h"
#include "stun/stun.h"

static void	conn_sendv(struct conn *, const struct iovec *, int);
static void	conn_to_pipe(struct conn *);

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_tls_info(const struct path *, const char **,
		    const char **);

static void
conn_path_send(struct path *p, const struct sockaddr *to,
    const struct sockaddr *from, const struct iovec *iov, int n)
{
	struct conn	*c = (struct conn *)p;

	(void)to;
	(void)from;
	conn_sendv(c, iov, n);
	if (p->p_pipe != 0 && !c->c_reading)
		conn_to_pipe(c);	/* a ConnectionBind served later */
}

const struct path_ops stream_path_ops = {
	.po_send = conn_path_send,
	.po_tls_info = conn_tls_info,
};

struct timeval
stream_secs(int s)
{
	struct timeval	tv = { s, 0 };

	return (tv);
}

void
stream_conn_free(struct conn *c)
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
	else if (c->c_fd != -1)
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
		left = stream_secs(conf->lim_frame_timeout);
	} else
		left = stream_secs(conf->lim_idle_timeout);
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
	struct timeval	tv = stream_secs(c->c_w->w_conf->lim_frame_timeout);

	STATS_INC(&c->c_w->w_stats, conn_closed_garbage);
	if (evbuffer_get_length(bufferevent_get_output(c->c_bev)) == 0) {
		stream_conn_free(c);
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
 * A ConnectionBind made c a data connection (RFC 6062 5.4) and its
 * answer is queued: the bufferevent, with the rest of its input (bytes
 * for the peer), is the relay's now (tcprelay.c); c goes.
 */
static void
conn_to_pipe(struct conn *c)
{
	struct worker		*w = c->c_w;
	struct bufferevent	*bev = c->c_bev;
	enum transport		 t = c->c_transport;
	uint32_t		 id = c->c_path.p_pipe;

	c->c_bev = NULL;
	c->c_fd = -1;
	stream_conn_free(c);
	tcprelay_pipe(w->w_tcp, id, bev, t);
}

/* A connection on its way to the worker that owns its ConnectionBind. */
struct conn_moving {
	struct worker		*cm_to;
	struct event_base	*cm_from;	/* the old worker's loop */
	int			 cm_hops;
	struct stream_set	*cm_set;
	int			 cm_fd;
	SSL			*cm_ssl;	/* TLS: the session, NULL: TCP */
	enum transport		 cm_transport;
	struct sockaddr_storage	 cm_peer, cm_local;
	size_t			 cm_len;
	uint8_t			*cm_buf;	/* its unread input */
};

/* The worker that owns the CONNECTION-ID of ConnectionBind msg, or -1. */
static int
conn_owner(const uint8_t *msg, size_t len)
{
	struct stun_msg		 m;
	const struct stun_attr	*a;
	uint32_t		 id;

	if (len < 2 || msg[0] != 0 || msg[1] != STUN_METHOD_CONNECTION_BIND ||
	    stun_msg_parse(&m, msg, len) != STUN_PARSE_OK ||
	    (a = stun_msg_find(&m, STUN_ATTR_CONNECTION_ID)) == NULL ||
	    stun_attr_get_u32(a, &id) == -1)
		return (-1);
	return ((int)(id >> SERVER_TCP_WORKER_SHIFT));
}

/* In the owning worker: the connection again, and its first frame. */
static void
conn_move_in(struct worker *w, void *arg)
{
	struct conn_moving	*cm = arg;
	struct conn		*c;
	struct timeval		 tv = stream_secs(w->w_conf->lim_idle_timeout);

	if (connlimit_acquire(w->w_connlimit,
	    (struct sockaddr *)&cm->cm_peer) == -1) {
		STATS_INC(&w->w_stats, conn_rejected);
		SSL_free(cm->cm_ssl);
		close(cm->cm_fd);
		free(cm->cm_buf);
		free(cm);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->c_set = w->w_stream;
	c->c_w = w;
	c->c_fd = cm->cm_fd;
	c->c_transport = cm->cm_transport;
	c->c_tls_up = 1;
	path_init(&c->c_path, &stream_path_ops, c->c_transport, -1, 0, 1);
	c->c_peer = cm->cm_peer;
	c->c_local = cm->cm_local;
	TAILQ_INSERT_TAIL(&w->w_stream->ss_conns, c, c_entry);
	w->w_stream->ss_nconns++;
	if (cm->cm_ssl == NULL)
		c->c_bev = bufferevent_socket_new(w->w_base, c->c_fd,
		    BEV_OPT_CLOSE_ON_FREE);
	else if (SSL_set_fd(cm->cm_ssl, c->c_fd) == 1)
		c->c_bev = bufferevent_openssl_socket_new(w->w_base, c->c_fd,
		    cm->cm_ssl, BUFFEREVENT_SSL_OPEN, BEV_OPT_CLOSE_ON_FREE);
	if (c->c_bev == NULL)
		fatalx("%s: out of memory", __func__);
	if (cm->cm_ssl != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(c->c_bev, 1);
	/* the end of a bufferevent's input is frozen: its start is not */
	evbuffer_prepend(bufferevent_get_input(c->c_bev), cm->cm_buf,
	    cm->cm_len);
	free(cm->cm_buf);
	free(cm);
	bufferevent_setcb(c->c_bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->c_bev, EV_READ, 0, CONN_IN_MAX);
	bufferevent_setwatermark(c->c_bev, EV_WRITE, CONN_OUT_MAX / 2, 0);
	bufferevent_set_timeouts(c->c_bev, &tv, NULL);
	bufferevent_enable(c->c_bev, EV_READ | EV_WRITE);
	conn_read_cb(c->c_bev, c);
}

static void
conn_move_in_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_moving	*cm = arg;

	(void)fd;
	(void)what;
	worker_clock(cm->cm_to);
	conn_move_in(cm->cm_to, cm);
}

/*
 * Still in the old worker.  The old bufferevent is finalised (its socket
 * closed, its SSL reference dropped: the SSL's old BIO names the old
 * descriptor) by an event its last reference activates when the read
 * callback that freed it returns.  Events of one priority run in the
 * order they were activated, so the second pass here runs after it:
 * only then may the other worker give the SSL its new descriptor.
 */
static void
conn_move_post_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_moving	*cm = arg;

	(void)fd;
	(void)what;
	if (cm->cm_hops++ == 0 && event_base_once(cm->cm_from, -1, EV_TIMEOUT,
	    conn_move_post_cb, cm, NULL) == 0)
		return;
	if (event_base_once(cm->cm_to->w_base, -1, EV_TIMEOUT,
	    conn_move_in_cb, cm, NULL) == -1) {
		SSL_free(cm->cm_ssl);
		close(cm->cm_fd);
		free(cm->cm_buf);
		free(cm);
	}
}

/*
 * The first frame of c, msg, is a ConnectionBind whose CONNECTION-ID is
 * another worker's (listeners are per worker, SO_REUSEPORT: the kernel
 * chose this one): the connection moves there, socket, TLS session and
 * unread input, and the frame is handled there.  0 when c is gone so;
 * -1 when the frame is to be handled here.
 */
static int
conn_move(struct conn *c, const uint8_t *msg, size_t len)
{
	struct worker		*w = c->c_w;
	struct evbuffer		*in = bufferevent_get_input(c->c_bev);
	struct conn_moving	*cm;
	int			 owner = conn_owner(msg, len);

	if (owner < 0 || (unsigned int)owner == w->w_id ||
	    (unsigned int)owner >= w->w_nall ||
	    evbuffer_get_length(bufferevent_get_output(c->c_bev)) > 0)
		return (-1);
	cm = xcalloc(1, sizeof(*cm));
	if ((cm->cm_fd = dup(c->c_fd)) == -1) {
		free(cm);
		return (-1);
	}
	if (c->c_transport == TRANSPORT_TLS) {
		cm->cm_ssl = bufferevent_openssl_get_ssl(c->c_bev);
		SSL_up_ref(cm->cm_ssl);
	}
	cm->cm_to = w->w_all[owner];
	cm->cm_from = w->w_base;
	cm->cm_transport = c->c_transport;
	cm->cm_peer = c->c_peer;
	cm->cm_local = c->c_local;
	cm->cm_len = evbuffer_get_length(in);
	cm->cm_buf = xmalloc(cm->cm_len);
	evbuffer_remove(in, cm->cm_buf, cm->cm_len);
	STATS_INC(&w->w_stats, tcp_moved);
	stream_conn_free(c);
	if (event_base_once(w->w_base, -1, EV_TIMEOUT, conn_move_post_cb, cm,
	    NULL) == -1)
		conn_move_post_cb(-1, 0, cm);
	return (0);
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
	struct rio		*rio = c->c_w->w_rio;
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
	rio_begin(rio, 1);
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
		if (!c->c_framed && f.kind == STUN_FRAME_STUN &&
		    conn_move(c, p, f.msglen) == 0) {
			rio_flush(rio);	/* c is gone: another worker's */
			return;
		}
		if (sizeof(batch) - blen < CONN_REPLY_MAX) {
			conn_send(c, batch, blen);
			blen = 0;
		}
		c->c_reading = 1;
		n = conn_frame(c, p, &f, batch + blen, sizeof(batch) - blen);
		c->c_reading = 0;
		c->c_framed = 1;
		evbuffer_drain(in, f.framelen);
		if (n < 0) {
			garbage = 1;
			break;
		}
		blen += (size_t)n;
		if (c->c_path.p_pipe != 0)
			break;		/* RFC 6062: bytes for the peer now */
	}
	rio_flush(c->c_w->w_rio);
	if (blen > 0)
		conn_send(c, batch, blen);
	if (c->c_path.p_pipe != 0) {
		conn_to_pipe(c);
		return;
	}
	if (garbage) {
		conn_count_proxy(c, in);
		conn_close_garbage(c);
		return;
	}
	if (backlog) {
		/* Answers are not being read: stop reading until they are. */
		c->c_backlog = 1;
		bufferevent_disable(bev, EV_READ);
		tv = stream_secs(c->c_w->w_conf->lim_frame_timeout);
		bufferevent_set_timeouts(bev, NULL, &tv);
		return;
	}
	if (conn_track_partial(c, evbuffer_get_length(in) > 0) == -1) {
		STATS_INC(&c->c_w->w_stats, conn_closed_stall);
		stream_conn_free(c);
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
		stream_conn_free(c);
		return;
	}
	if (!c->c_backlog)
		return;
	c->c_backlog = 0;
	tv = stream_secs(c->c_partial ? c->c_w->w_conf->lim_frame_timeout :
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
		tv = stream_secs(c->c_w->w_conf->lim_idle_timeout);
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
	stream_conn_free(c);
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
void
stream_conn_start(struct conn *c)
{
	const struct turnd_conf	*conf = c->c_w->w_conf;
	struct bufferevent	*bev;
	struct timeval		 tv;

	if ((bev = conn_bev_new(c)) == NULL) {
		log_warnx("%s: cannot set up a connection", __func__);
		stream_conn_free(c);
		return;
	}
	c->c_bev = bev;
	tv = stream_secs(c->c_transport == TRANSPORT_TLS ? conf->lim_frame_timeout :
	    conf->lim_idle_timeout);
	bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(bev, EV_READ, 0, CONN_IN_MAX);
	bufferevent_setwatermark(bev, EV_WRITE, CONN_OUT_MAX / 2, 0);
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

