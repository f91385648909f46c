/*
 * accept.c -- the TCP and TLS listeners of a worker and the accept phase
 * of their connections (RFC 8489 section 6.2.2): the connection limit,
 * the PROXY header of a listen.proxy_from source (net/proxy.c), the
 * first byte on a port serving both TCP and TLS (RFC 7983 section 7),
 * the TLS handshake deadline.  Then stream.c frames the connection.
 *
 * A connection from a listen.proxy_from source is first a struct pconn:
 * its PROXY header is read before anything else, TLS included, within
 * listen.proxy_timeout of the accept, and only bytes of the header are
 * taken from the socket (MSG_PEEK, then exactly what belongs to it).
 * Then it becomes a conn whose peer is the client the header names,
 * counted against that client's connection limit.
 *
 * A listener bound for both listen.tcp and listen.tls (listen.c) waits
 * for the first byte of each connection, within limits.frame_timeout of
 * the accept: in 20..63, the range of TLS record types (RFC 7983
 * section 7), TLS follows and the handshake deadline still counts from
 * the accept; anything else is STUN or ChannelData in the clear.  A
 * connection that sends nothing is closed at that deadline.  Out of
 * descriptors, a listener pauses rather than fail accept() in a loop.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"
#include "net/proxy.h"
#include "net/stream_int.h"

#define ACCEPT_PAUSE_US	100000		/* out of descriptors: retry then */

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
	stream_conn_free(c);
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
		stream_conn_free(c);	/* closed or reset before a byte */
		return;
	}
	event_free(c->c_sniff);
	c->c_sniff = NULL;
	if (b >= 20 && b <= 63) {
		c->c_transport = TRANSPORT_TLS;	/* keeps c_hs_timer */
		path_init(&c->c_path, &stream_path_ops, TRANSPORT_TLS, -1, 0, 1);
	} else {
		event_free(c->c_hs_timer);
		c->c_hs_timer = NULL;
	}
	stream_conn_start(c);
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
	path_init(&c->c_path, &stream_path_ops, c->c_transport, -1, 0, 1);
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
	struct timeval		 tv = stream_secs(w->w_conf->lim_frame_timeout);
	int			 on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c = conn_new(sl, fd, sa, (int)addr_len(sa));
	/* TLS, or maybe TLS: the handshake is due within tv of now */
	if ((c->c_transport == TRANSPORT_TLS || sl->sl_ls.ls_tls_too) &&
	    ((c->c_hs_timer = evtimer_new(w->w_base, conn_hs_timeout_cb,
	    c)) == NULL || evtimer_add(c->c_hs_timer, &tv) == -1))
		fatalx("%s: out of memory", __func__);
	if (!sl->sl_ls.ls_tls_too) {
		stream_conn_start(c);
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
	struct timeval		 tv = stream_secs(w->w_conf->listen_proxy_timeout);

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

/* TCP and TLS are this module's; UDP is udp.c's and DTLS dtls.c's. */
static int
stream_kind(enum transport t)
{
	return (t == TRANSPORT_TCP || t == TRANSPORT_TLS);
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
		n += stream_kind(set->ls[i].ls_transport);
	if (n > 0)
		ss->ss_ls = xcalloc(n, sizeof(*ss->ss_ls));
	for (i = 0; i < set->n; i++) {
		if (!stream_kind(set->ls[i].ls_transport))
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
		stream_conn_free(c);
}

void
stream_set_lsocks(const struct stream_set *ss, struct listen_set *set)
{
	unsigned int	i;

	for (i = 0; i < ss->ss_n; i++)
		if (ss->ss_ls[i].sl_lev != NULL)
			listen_set_push(set, &ss->ss_ls[i].sl_ls);
}

void
stream_set_unlisten(struct stream_set *ss)
{
	unsigned int	i;

	for (i = 0; i < ss->ss_n; i++) {
		if (ss->ss_ls[i].sl_resume != NULL)
			event_free(ss->ss_ls[i].sl_resume);
		if (ss->ss_ls[i].sl_lev != NULL)
			evconnlistener_free(ss->ss_ls[i].sl_lev);
		ss->ss_ls[i].sl_resume = NULL;
		ss->ss_ls[i].sl_lev = NULL;
	}
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
