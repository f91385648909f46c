/*
 * tcprelay.c -- the TCP relays of a worker (RFC 6062): the listening
 * socket of a TCP allocation's relayed address, its peer connections
 * (Connect, section 5.2, and peers connecting in, 5.3) and, once a
 * ConnectionBind made one of the client's connections its data
 * connection (5.4), the byte pipe between the two.
 *
 * A peer connection is named by a CONNECTION-ID: the worker's number in
 * the top bits (SERVER_TCP_WORKER_SHIFT), a counter below, so the worker
 * where a ConnectionBind lands can tell whose it is (stream.c hands the
 * connection over).  An outgoing connection is bound to the relayed
 * address itself (SO_REUSEPORT, set on the listener only after its own
 * bind, so no other allocation can share the port).  Until its
 * ConnectionBind a peer connection is not read: what the peer sends
 * waits in the kernel; after relay.tcp_bind_timeout it is closed.
 *
 * The pipe: what one side reads goes to the other side's output.  When
 * that output holds relay.tcp_buffer bytes or more, the reading side
 * stops being read until it drains to half of that; each input is
 * capped at relay.tcp_buffer too.  So turnd holds at most about
 * 2 x relay.tcp_buffer per direction of a pipe, whatever the peers do.
 * An end of stream is passed on as one (shutdown SHUT_WR on a TCP side,
 * once what was queued for it is out; a TLS side is closed then); a
 * reset or error closes the other side with a reset (SO_LINGER 0).
 * The allocation's end (tcprelay_close) ends all its connections.
 */

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"
#include "stun/stun.h"
#include "turn/alloc.h"

#define TCP_HASH	256		/* connection ids per worker: buckets */
#define TCP_ID_MASK	((1U << SERVER_TCP_WORKER_SHIFT) - 1)
#define TCP_BACKLOG	16		/* peers connecting at once */

enum tc_state {
	TC_CONNECTING,		/* Connect: handshake under way */
	TC_READY,		/* connected, waiting for its ConnectionBind */
	TC_FAILED,		/* Connect failed: the answer is 447 */
	TC_PIPE			/* bound: bytes flow */
};

/* One peer connection of a TCP allocation. */
struct tconn {
	TAILQ_ENTRY(tconn)	 tc_entry;	/* in ta_conns */
	LIST_ENTRY(tconn)	 tc_hash;	/* in ts_hash */
	struct tcpalloc		*tc_ta;
	uint32_t		 tc_id;
	enum tc_state		 tc_state;
	struct sockaddr_storage	 tc_peer;
	struct bufferevent	*tc_pbev;	/* the peer's side */
	struct bufferevent	*tc_cbev;	/* the client's data connection */
	enum transport		 tc_ctransport;
	struct event		*tc_timer;	/* ConnectionBind deadline */
	int			 tc_peof, tc_ceof;	/* EOF from peer/client */
	uint64_t		 tc_to_peer, tc_to_client;	/* bytes */
};

/* A TCP allocation's relayed address and connections (relay.c r_tcp). */
struct tcpalloc {
	struct worker		*ta_w;
	struct alloc		*ta_alloc;
	struct evconnlistener	*ta_lev;
	struct sockaddr_storage	 ta_addr;	/* bound: connect from it */
	TAILQ_HEAD(, tconn)	 ta_conns;
	unsigned int		 ta_n;
};

struct tcprelay_set {
	struct worker		*ts_w;
	LIST_HEAD(, tconn)	 ts_hash[TCP_HASH];
	uint32_t		 ts_next;
};

static void	tc_free(struct tconn *);

static struct tconn *
tc_lookup(struct tcprelay_set *ts, uint32_t id)
{
	struct tconn	*tc;

	LIST_FOREACH(tc, &ts->ts_hash[id % TCP_HASH], tc_hash)
		if (tc->tc_id == id)
			return (tc);
	return (NULL);
}

static struct tconn *
tc_new(struct tcpalloc *ta, const struct sockaddr *peer, enum tc_state st)
{
	struct tcprelay_set	*ts = ta->ta_w->w_tcp;
	struct tconn		*tc = xcalloc(1, sizeof(*tc));

	do {
		ts->ts_next = (ts->ts_next + 1) & TCP_ID_MASK;
		tc->tc_id = (uint32_t)ta->ta_w->w_id <<
		    SERVER_TCP_WORKER_SHIFT | ts->ts_next;
	} while (ts->ts_next == 0 || tc_lookup(ts, tc->tc_id) != NULL);
	tc->tc_ta = ta;
	tc->tc_state = st;
	memcpy(&tc->tc_peer, peer, addr_len(peer));
	LIST_INSERT_HEAD(&ts->ts_hash[tc->tc_id % TCP_HASH], tc, tc_hash);
	TAILQ_INSERT_TAIL(&ta->ta_conns, tc, tc_entry);
	ta->ta_n++;
	STATS_INC(&ta->ta_w->w_stats, tcp_conns);
	return (tc);
}

/* Close with a reset rather than a FIN. */
static void
tc_reset_bev(struct bufferevent *bev)
{
	struct linger	l = { 1, 0 };

	if (bev != NULL)
		(void)setsockopt(bufferevent_getfd(bev), SOL_SOCKET,
		    SO_LINGER, &l, sizeof(l));
}

static void
tc_free(struct tconn *tc)
{
	struct tcpalloc	*ta = tc->tc_ta;

	LIST_REMOVE(tc, tc_hash);
	TAILQ_REMOVE(&ta->ta_conns, tc, tc_entry);
	ta->ta_n--;
	STATS_DEC(&ta->ta_w->w_stats, tcp_conns);
	if (tc->tc_timer != NULL)
		event_free(tc->tc_timer);
	if (tc->tc_pbev != NULL)
		bufferevent_free(tc->tc_pbev);
	if (tc->tc_cbev != NULL)
		bufferevent_free(tc->tc_cbev);
	free(tc);
}

/* Nothing bound it in time (5.3), or a failed Connect was not asked. */
static void
tc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tconn	*tc = arg;

	(void)fd;
	(void)what;
	worker_clock(tc->tc_ta->ta_w);
	if (tc->tc_state == TC_READY)
		STATS_INC(&tc->tc_ta->ta_w->w_stats, tcp_bind_timeout);
	tc_free(tc);
}

static void
tc_timer_arm(struct tconn *tc)
{
	struct worker	*w = tc->tc_ta->ta_w;
	struct timeval	 tv = { w->w_conf->relay_tcp_bind_timeout, 0 };

	if (tc->tc_timer == NULL &&
	    (tc->tc_timer = evtimer_new(w->w_base, tc_timer_cb, tc)) == NULL)
		fatalx("%s: out of memory", __func__);
	evtimer_add(tc->tc_timer, &tv);
}

/* The other side of the pipe from bev, and whether it is the peer. */
static struct bufferevent *
tc_other(struct tconn *tc, struct bufferevent *bev)
{
	return (bev == tc->tc_pbev ? tc->tc_cbev : tc->tc_pbev);
}

/*
 * Both directions ended and all is out: the pipe is done.  A side whose
 * sender ended gets its end of stream once its output is empty.
 * Returns 1 when tc was freed.
 */
static int
tc_check_eof(struct tconn *tc)
{
	struct bufferevent	*to;
	int			 i, eof;

	for (i = 0; i < 2; i++) {
		to = i == 0 ? tc->tc_cbev : tc->tc_pbev;
		eof = i == 0 ? tc->tc_peof : tc->tc_ceof;
		if (!eof || evbuffer_get_length(bufferevent_get_output(to)) > 0)
			continue;
		if (to == tc->tc_cbev && tc->tc_ctransport == TRANSPORT_TLS) {
			tc_free(tc);	/* TLS: no half-close here */
			return (1);
		}
		(void)shutdown(bufferevent_getfd(to), SHUT_WR);
	}
	if (tc->tc_peof && tc->tc_ceof &&
	    evbuffer_get_length(bufferevent_get_output(tc->tc_cbev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(tc->tc_pbev)) == 0) {
		tc_free(tc);
		return (1);
	}
	return (0);
}

/*
 * Bytes are in on from: all of them to the other side.  Past
 * relay.tcp_buffer queued there, from is not read until it drains to
 * half (tc_write_cb).
 */
static void
tc_read_cb(struct bufferevent *from, void *arg)
{
	struct tconn		*tc = arg;
	struct worker		*w = tc->tc_ta->ta_w;
	struct bufferevent	*to = tc_other(tc, from);
	struct evbuffer		*out = bufferevent_get_output(to);
	size_t			 n, hi = (size_t)w->w_conf->relay_tcp_buffer;

	n = evbuffer_get_length(bufferevent_get_input(from));
	evbuffer_add_buffer(out, bufferevent_get_input(from));
	if (from == tc->tc_pbev) {
		tc->tc_to_client += n;
		STATS_ADD(&w->w_stats, tcp_bytes_in, n);
		tc->tc_ta->ta_alloc->a_bytes_in += n;
	} else {
		tc->tc_to_peer += n;
		STATS_ADD(&w->w_stats, tcp_bytes_out, n);
		tc->tc_ta->ta_alloc->a_bytes_out += n;
	}
	if (evbuffer_get_length(out) >= hi) {
		bufferevent_disable(from, EV_READ);
		bufferevent_setwatermark(to, EV_WRITE, hi / 2, 0);
	}
}

/* to's output drained to its low mark (or is empty). */
static void
tc_write_cb(struct bufferevent *to, void *arg)
{
	struct tconn		*tc = arg;
	struct bufferevent	*from = tc_other(tc, to);
	int			 from_eof;

	worker_clock(tc->tc_ta->ta_w);
	from_eof = from == tc->tc_pbev ? tc->tc_peof : tc->tc_ceof;
	if (!from_eof && !(bufferevent_get_enabled(from) & EV_READ)) {
		bufferevent_setwatermark(to, EV_WRITE, 0, 0);
		bufferevent_enable(from, EV_READ);
	}
	(void)tc_check_eof(tc);
}

static void
tc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tconn	*tc = arg;
	struct worker	*w = tc->tc_ta->ta_w;

	worker_clock(w);
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
		if (bev == tc->tc_pbev)
			tc->tc_peof = 1;
		else
			tc->tc_ceof = 1;
		(void)tc_check_eof(tc);
		return;
	}
	/* a reset, or an error: the other side is reset too */
	STATS_INC(&w->w_stats, tcp_resets);
	tc_reset_bev(tc_other(tc, bev));
	tc_free(tc);
}

/* The outgoing connection of a Connect is up, or failed. */
static void
tc_connect_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tconn	*tc = arg;
	struct worker	*w = tc->tc_ta->ta_w;
	uint32_t	 id = tc->tc_id;

	worker_clock(w);
	if (what & BEV_EVENT_CONNECTED) {
		tc->tc_state = TC_READY;
		bufferevent_set_timeouts(bev, NULL, NULL);
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		STATS_INC(&w->w_stats, tcp_connects);
	} else {
		tc->tc_state = TC_FAILED;
		if (what & BEV_EVENT_TIMEOUT)
			STATS_INC(&w->w_stats, tcp_connect_timeout);
		else
			STATS_INC(&w->w_stats, tcp_connect_refused);
		bufferevent_free(bev);
		tc->tc_pbev = NULL;
	}
	tc_timer_arm(tc);
	server_wake(&w->w_srv, SERVER_TCP_TAG(id));	/* may free tc */
}

int
tcprelay_connect(struct tcpalloc *ta, const struct sockaddr *peer,
    uint32_t *id)
{
	struct worker	*w = ta->ta_w;
	struct tconn	*tc;
	struct timeval	 tv = { w->w_conf->relay_tcp_connect_timeout, 0 };
	int		 fd, on = 1;

	TAILQ_FOREACH(tc, &ta->ta_conns, tc_entry)
		if (tc->tc_state != TC_FAILED &&
		    addr_eq((struct sockaddr *)&tc->tc_peer, peer))
			return (STUN_ERR_CONNECTION_EXISTS);
	if (ta->ta_n >= (unsigned int)w->w_conf->relay_tcp_connections)
		return (STUN_ERR_INSUFFICIENT_CAPACITY);
	fd = socket(peer->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (STUN_ERR_CONNECTION_FAILURE);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ta->ta_addr,
	    addr_len((struct sockaddr *)&ta->ta_addr)) == -1) {
		close(fd);
		STATS_INC(&w->w_stats, tcp_connect_refused);
		return (STUN_ERR_CONNECTION_FAILURE);
	}
	tc = tc_new(ta, peer, TC_CONNECTING);
	if ((tc->tc_pbev = bufferevent_socket_new(w->w_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("%s: out of memory", __func__);
	bufferevent_setcb(tc->tc_pbev, NULL, NULL, tc_connect_cb, tc);
	bufferevent_set_timeouts(tc->tc_pbev, NULL, &tv);
	if (bufferevent_socket_connect(tc->tc_pbev, peer,
	    (int)addr_len(peer)) == -1) {
		STATS_INC(&w->w_stats, tcp_connect_refused);
		tc_free(tc);
		return (STUN_ERR_CONNECTION_FAILURE);
	}
	*id = tc->tc_id;
	return (0);
}

int
tcprelay_state(struct tcpalloc *ta, uint32_t id, int drop)
{
	struct tconn	*tc = tc_lookup(ta->ta_w->w_tcp, id);

	if (tc == NULL || tc->tc_ta != ta)
		return (STUN_ERR_CONNECTION_FAILURE);
	if (tc->tc_state == TC_READY || tc->tc_state == TC_PIPE)
		return (0);
	if (tc->tc_state == TC_CONNECTING && !drop)
		return (1);
	tc_free(tc);
	return (STUN_ERR_CONNECTION_FAILURE);
}

struct alloc *
tcprelay_find(struct tcprelay_set *ts, uint32_t id)
{
	struct tconn	*tc = tc_lookup(ts, id);

	if (tc == NULL || tc->tc_state != TC_READY)
		return (NULL);
	return (tc->tc_ta->ta_alloc);
}

void
tcprelay_bind(struct tcprelay_set *ts, uint32_t id, struct path *p)
{
	(void)ts;
	p->p_pipe = id;
}

void
tcprelay_pipe(struct tcprelay_set *ts, uint32_t id, struct bufferevent *bev,
    enum transport t)
{
	struct tconn	*tc = tc_lookup(ts, id);
	int		 hi = ts->ts_w->w_conf->relay_tcp_buffer;

	if (tc == NULL || tc->tc_state != TC_READY) {
		bufferevent_free(bev);
		return;
	}
	STATS_INC(&ts->ts_w->w_stats, tcp_binds);
	tc->tc_state = TC_PIPE;
	tc->tc_cbev = bev;
	tc->tc_ctransport = t;
	evtimer_del(tc->tc_timer);
	bufferevent_setcb(bev, tc_read_cb, tc_write_cb, tc_event_cb, tc);
	bufferevent_setcb(tc->tc_pbev, tc_read_cb, tc_write_cb, tc_event_cb,
	    tc);
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_setwatermark(bev, EV_READ, 0, (size_t)hi);
	bufferevent_setwatermark(tc->tc_pbev, EV_READ, 0, (size_t)hi);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	bufferevent_enable(tc->tc_pbev, EV_READ | EV_WRITE);
	/* what the client sent right after its ConnectionBind */
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		tc_read_cb(bev, tc);
}

/* A peer connected to the relayed address (5.3). */
static void
tc_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct tcpalloc		*ta = arg;
	struct worker		*w = ta->ta_w;
	struct sockaddr_storage	 peer;
	struct linger		 l = { 1, 0 };
	struct tconn		*tc;
	int			 on = 1;

	(void)lev;
	worker_clock(w);
	memset(&peer, 0, sizeof(peer));
	memcpy(&peer, sa, (size_t)salen);
	addr_unmap(&peer);
	if (ta->ta_n >= (unsigned int)w->w_conf->relay_tcp_connections ||
	    !server_tcp_peer_ok(&w->w_srv, ta->ta_alloc,
	    (struct sockaddr *)&peer)) {
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	tc = tc_new(ta, (struct sockaddr *)&peer, TC_READY);
	if ((tc->tc_pbev = bufferevent_socket_new(w->w_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("%s: out of memory", __func__);
	tc_timer_arm(tc);
	server_tcp_attempt(&w->w_srv, ta->ta_alloc, tc->tc_id,
	    (struct sockaddr *)&peer);
}

int
tcprelay_socket(const struct sockaddr_storage *ip, uint16_t port)
{
	struct sockaddr_storage	addr = *ip;
	int			fd, on = 1;

	addr_set_port((struct sockaddr *)&addr, port);
	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	if (addr.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* bound alone; then Connects of this allocation may share it */
	if (bind(fd, (struct sockaddr *)&addr,
	    addr_len((struct sockaddr *)&addr)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1 ||
	    listen(fd, TCP_BACKLOG) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

struct tcpalloc *
tcprelay_open(struct worker *w, struct alloc *a, int fd)
{
	struct tcpalloc	*ta = xcalloc(1, sizeof(*ta));
	socklen_t	 len = sizeof(ta->ta_addr);

	ta->ta_w = w;
	ta->ta_alloc = a;
	TAILQ_INIT(&ta->ta_conns);
	if (getsockname(fd, (struct sockaddr *)&ta->ta_addr, &len) == -1 ||
	    (ta->ta_lev = evconnlistener_new(w->w_base, tc_accept_cb, ta,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)) == NULL) {
		close(fd);
		free(ta);
		return (NULL);
	}
	return (ta);
}

const struct sockaddr *
tcprelay_addr(const struct tcpalloc *ta)
{
	return ((const struct sockaddr *)&ta->ta_addr);
}

void
tcprelay_close(struct tcpalloc *ta)
{
	struct tconn	*tc;

	if (ta == NULL)
		return;
	while ((tc = TAILQ_FIRST(&ta->ta_conns)) != NULL)
		tc_free(tc);
	evconnlistener_free(ta->ta_lev);
	free(ta);
}

static const char *
tc_state_name(const struct tconn *tc)
{
	static const char	*names[] = { "connecting", "unbound", "failed",
				    "bound" };

	if (tc->tc_state == TC_PIPE && (tc->tc_peof || tc->tc_ceof))
		return ("half-closed");
	return (names[tc->tc_state]);
}

void
tcprelay_list(const struct tcpalloc *ta, struct sbuf *sb, int json)
{
	const struct tconn	*tc;
	char			 peer[ADDR_STRLEN];
	unsigned int		 n = 0;

	if (json)
		sbuf_printf(sb, ",\"tcp_connections\":[");
	else
		sbuf_printf(sb, "relay:         tcp, %u connections\n",
		    ta->ta_n);
	TAILQ_FOREACH(tc, &ta->ta_conns, tc_entry) {
		addr_fmt((const struct sockaddr *)&tc->tc_peer, peer,
		    sizeof(peer));
		if (json)
			sbuf_printf(sb, "%s{\"id\":%u,\"peer\":\"%s\","
			    "\"state\":\"%s\",\"data\":\"%s\","
			    "\"bytes_to_peer\":%llu,\"bytes_to_client\":%llu}",
			    n++ ? "," : "", tc->tc_id, peer,
			    tc_state_name(tc), tc->tc_cbev == NULL ? "" :
			    transport_name(tc->tc_ctransport),
			    (unsigned long long)tc->tc_to_peer,
			    (unsigned long long)tc->tc_to_client);
		else
			sbuf_printf(sb, "connection:    %u %s %s%s%s, %llu "
			    "bytes to peer, %llu to client\n", tc->tc_id,
			    peer, tc_state_name(tc),
			    tc->tc_cbev == NULL ? "" : " over ",
			    tc->tc_cbev == NULL ? "" :
			    transport_name(tc->tc_ctransport),
			    (unsigned long long)tc->tc_to_peer,
			    (unsigned long long)tc->tc_to_client);
	}
	if (json)
		sbuf_printf(sb, "]");
}

struct tcprelay_set *
tcprelay_set_new(struct worker *w)
{
	struct tcprelay_set	*ts = xcalloc(1, sizeof(*ts));
	unsigned int		 i;

	ts->ts_w = w;
	for (i = 0; i < TCP_HASH; i++)
		LIST_INIT(&ts->ts_hash[i]);
	ts->ts_next = arc4random() & TCP_ID_MASK;
	return (ts);
}

/* Every TCP allocation must have ended (relay_end_all). */
void
tcprelay_set_free(struct tcprelay_set *ts)
{
	free(ts);
}
