/*
 * relay.c -- the net layer's side of TURN allocations (struct relay_ops):
 * relay sockets on relay.addresses and relay.min_port..max_port (with
 * EVEN-PORT reservations from resv.c), expiry on a timing wheel, and data
 * from peers back to the client through the allocation's path
 * (src/turn/path.h): relay.c never names an endpoint.
 *
 * A worker's relay sockets are in one epoll set of their own, watched by
 * a single event of its loop: one wakeup reads every ready relay socket
 * with recvmmsg (a bounded number of datagrams each, then the next one,
 * so one busy peer cannot starve the others) and what goes to the clients
 * leaves in one sendmmsg per listening socket, or one write per stream
 * (relay_io.c).  No libevent event per allocation, no system call per
 * datagram.
 */

#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/addr.h"
#include "common/wheel.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"
#include "net/nlroute.h"
#include "store/store.h"
#include "stun/stun.h"
#include "turn/alloc.h"
#include "turn/quota.h"

#define RELAY_BIND_TRIES	64	/* random ports tried before 508 */
#define RELAY_READS		16	/* datagrams per socket per turn */
#define RELAY_EVENTS		64	/* ready sockets per wakeup */
#define RELAY_SOCKBUF		(256 * 1024)	/* a burst from a peer */

_Static_assert(ALLOC_FAMILIES == 2, "one bit of epoll data holds idx");

/* A worker's relay sockets and allocation timers. */
struct relay_set {
	struct worker		*rs_w;
	struct resv		*rs_resv;	/* shared by the workers */
	TAILQ_HEAD(, relay)	 rs_relays;
	struct wheel		 rs_wheel;	/* allocation expiry */
	int			 rs_ep;		/* epoll set of relay sockets */
	struct event		*rs_ev;		/* on rs_ep */
	int			 rs_nl;		/* route lookups (nlroute.c) */
	uint32_t		 rs_nlseq;
};

/* What an allocation holds in the net layer (a->a_net). */
struct relay {
	struct wheel_entry	 r_expiry;	/* first: the entry is the relay */
	TAILQ_ENTRY(relay)	 r_entry;
	struct worker		*r_w;
	struct alloc		*r_alloc;
	int			 r_fd[ALLOC_FAMILIES];
	struct tcpalloc		*r_tcp;		/* RFC 6062: a_tcp */
};

/* A UDP socket bound to ip:port, or -1. */
static int
relay_bind(const struct sockaddr_storage *ip, uint16_t port, int df)
{
	struct sockaddr_storage	addr = *ip;
	int			fd, on = 1, pmtu = IP_PMTUDISC_DO;
	int			bufsz = RELAY_SOCKBUF;

	addr_set_port((struct sockaddr *)&addr, port);
	fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return (-1);
	if (addr.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (df) {
		/* DONT-FRAGMENT (RFC 8656 7.2, 14.8) */
		if (addr.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &on,
			    sizeof(on));
		else
			(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER,
			    &pmtu, sizeof(pmtu));
	}
	if (bind(fd, (struct sockaddr *)&addr,
	    addr_len((struct sockaddr *)&addr)) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Watch relay socket idx of r in the worker's epoll set: 0, or -1. */
static int
relay_watch(struct relay *r, unsigned int idx, int fd)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)(uintptr_t)r | idx;	/* r is aligned */
	if (epoll_ctl(r->r_w->w_relay->rs_ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_warn("%s: epoll_ctl", __func__);
		return (-1);
	}
	return (0);
}

/* Take fd as relay socket idx of a. */
static int
relay_adopt(struct relay *r, unsigned int idx, int fd)
{
	struct alloc		*a = r->r_alloc;
	struct sockaddr_storage	 bound;
	socklen_t		 len = sizeof(bound);

	if (getsockname(fd, (struct sockaddr *)&bound, &len) == -1) {
		close(fd);
		return (STUN_ERR_SERVER_ERROR);
	}
	/* A wildcard relay address advertises the address asked on. */
	if (addr_is_any((struct sockaddr *)&bound) &&
	    a->a_local.sa.sa_family == bound.ss_family) {
		uint16_t port = addr_port((struct sockaddr *)&bound);

		memset(&bound, 0, sizeof(bound));
		memcpy(&bound, &a->a_local, sizeof(a->a_local));
		addr_set_port((struct sockaddr *)&bound, port);
	}
	if (relay_watch(r, idx, fd) == -1) {
		close(fd);
		return (STUN_ERR_SERVER_ERROR);
	}
	memcpy(&a->a_relay[idx], &bound, addr_len((struct sockaddr *)&bound));
	r->r_fd[idx] = fd;
	return (0);
}

/* Keep fd2 as the reservation of a's port + 1, holding resv_id. */
static int
relay_reserve(struct worker *w, struct alloc *a, int fd2, uint64_t resv_id,
    uint64_t *token)
{
	struct resv_hold	h;

	h.rh_quota_id = resv_id != 0 ? a->a_quota_id : NULL;
	h.rh_id = resv_id;
	h.rh_expires = w->w_srv.sv_now + w->w_conf->relay_reservation_lifetime;
	return (resv_put(w->w_relay->rs_resv, fd2, w->w_srv.sv_now, &h,
	    token));
}

/* Undo relay_reserve(): the caller gives the quota slot back. */
static void
relay_unreserve(struct worker *w, uint64_t token)
{
	char		*qid;
	uint64_t	 id;
	int		 fd;

	fd = resv_take(w->w_relay->rs_resv, token, w->w_srv.sv_now, &qid, &id);
	if (fd != -1)
		close(fd);
	free(qid);
}

/*
 * RFC 6062: the relayed address of TCP allocation a is a listening
 * socket on ip:port (508 when that port is taken: the caller tries
 * another).
 */
static int
relay_open_tcp_at(struct alloc *a, unsigned int idx,
    const struct sockaddr_storage *ip, uint16_t port)
{
	struct relay		*r = a->a_net;
	struct sockaddr_storage	 bound;
	int			 fd;

	if ((fd = tcprelay_socket(ip, port)) == -1)
		return (STUN_ERR_INSUFFICIENT_CAPACITY);
	if ((r->r_tcp = tcprelay_open(r->r_w, a, fd)) == NULL)
		return (STUN_ERR_SERVER_ERROR);
	memset(&bound, 0, sizeof(bound));
	memcpy(&bound, tcprelay_addr(r->r_tcp),
	    addr_len(tcprelay_addr(r->r_tcp)));
	if (addr_is_any((struct sockaddr *)&bound) &&
	    a->a_local.sa.sa_family == bound.ss_family) {
		memset(&bound, 0, sizeof(bound));
		memcpy(&bound, &a->a_local, sizeof(a->a_local));
		addr_set_port((struct sockaddr *)&bound, port);
	}
	memcpy(&a->a_relay[idx], &bound, addr_len((struct sockaddr *)&bound));
	return (0);
}

/* The first free port of a few tried at random from port on. */
static int
relay_open_tcp(struct alloc *a, unsigned int idx,
    const struct sockaddr_storage *ip, uint16_t port)
{
	const struct turnd_conf	*conf = ((struct relay *)a->a_net)->r_w->w_conf;
	unsigned int		 span, tries;
	int			 code;

	span = (unsigned int)(conf->relay_max_port - conf->relay_min_port) + 1;
	for (tries = 0; tries < RELAY_BIND_TRIES; tries++) {
		code = relay_open_tcp_at(a, idx, ip, port);
		if (code != STUN_ERR_INSUFFICIENT_CAPACITY)
			return (code);
		port = (uint16_t)(conf->relay_min_port +
		    (int)arc4random_uniform(span));
	}
	return (STUN_ERR_INSUFFICIENT_CAPACITY);
}

static int
relay_open(void *net, struct alloc *a, unsigned int idx, int family,
    int even, int df, uint64_t resv_id, uint64_t *token)
{
	struct worker			*w = net;
	const struct turnd_conf		*conf = w->w_conf;
	const struct sockaddr_storage	*ip = NULL;
	unsigned int			 i, span, tries;
	uint16_t			 port;
	int				 fd, fd2, code;

	for (i = 0; i < conf->relay_addresses.ca_n; i++)
		if (conf->relay_addresses.ca_addr[i].ss_family == family) {
			ip = &conf->relay_addresses.ca_addr[i];
			break;
		}
	if (ip == NULL)
		return (STUN_ERR_ADDRESS_FAMILY);
	span = (unsigned int)(conf->relay_max_port - conf->relay_min_port) + 1;
	for (tries = 0; tries < RELAY_BIND_TRIES; tries++) {
		port = (uint16_t)(conf->relay_min_port +
		    (int)arc4random_uniform(span));
		if (even) {
			port &= (uint16_t)~1U;
			if (port < conf->relay_min_port ||
			    (even == 2 && port + 1 > conf->relay_max_port))
				continue;
		}
		if (a->a_tcp)
			return (relay_open_tcp(a, idx, ip, port));
		if ((fd = relay_bind(ip, port, df)) == -1)
			continue;
		if (even == 2) {
			if ((fd2 = relay_bind(ip, (uint16_t)(port + 1), df)) ==
			    -1) {
				close(fd);
				continue;
			}
			if (relay_reserve(w, a, fd2, resv_id, token) == -1) {
				close(fd2);
				close(fd);
				return (STUN_ERR_INSUFFICIENT_CAPACITY);
			}
		}
		if ((code = relay_adopt(a->a_net, idx, fd)) != 0 && even == 2)
			relay_unreserve(w, *token);
		return (code);
	}
	return (STUN_ERR_INSUFFICIENT_CAPACITY);
}

static int
relay_held(void *net, uint64_t token, const char *quota_id, uint64_t *id)
{
	struct worker	*w = net;

	return (resv_held(w->w_relay->rs_resv, token, w->w_srv.sv_now,
	    quota_id, id));
}

/* Give back the quota slot of a reservation (quota_id is freed). */
static void
relay_unhold(struct worker *w, char *quota_id, uint64_t id)
{
	if (quota_id == NULL)
		return;
	quota_release(w->w_srv.sv_quota, quota_id);
	if (store_is_redis(w->w_store))
		store_quota_release(w->w_store, quota_id, id);
	free(quota_id);
}

static int
relay_claim(void *net, struct alloc *a, unsigned int idx, uint64_t token)
{
	struct worker	*w = net;
	char		*qid;
	uint64_t	 id;
	int		 fd, code;

	if ((fd = resv_take(w->w_relay->rs_resv, token, w->w_srv.sv_now, &qid,
	    &id)) == -1)
		return (STUN_ERR_INSUFFICIENT_CAPACITY);
	code = relay_adopt(a->a_net, idx, fd);
	if (qid != NULL && code == 0 && strcmp(qid, a->a_quota_id) == 0) {
		free(qid);		/* the slot is the allocation's now */
		return (0);
	}
	relay_unhold(w, qid, id);
	return (code);
}

static void
relay_close_one(struct relay *r, unsigned int idx)
{
	int	fd = r->r_fd[idx];

	if (fd == -1)
		return;
	rio_forget_fd(r->r_w->w_rio, fd);
	(void)epoll_ctl(r->r_w->w_relay->rs_ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	r->r_fd[idx] = -1;
}

static void
relay_close(void *net, struct alloc *a, int idx)
{
	struct worker	*w = net;
	struct relay	*r = a->a_net;
	unsigned int	 i;

	if (r == NULL)
		return;
	if (r->r_tcp != NULL) {
		tcprelay_close(r->r_tcp);	/* its only relayed address */
		r->r_tcp = NULL;
	}
	if (idx >= 0) {
		relay_close_one(r, (unsigned int)idx);
		return;
	}
	for (i = 0; i < ALLOC_FAMILIES; i++)
		relay_close_one(r, i);
	rio_forget_path(w->w_rio, a->a_path);
	wheel_cancel(&r->r_expiry);
	TAILQ_REMOVE(&w->w_relay->rs_relays, r, r_entry);
	free(r);
	a->a_net = NULL;
}

static void	relay_timer_arm(struct relay *);

/* An allocation's second has come (relay_expire_run). */
static void
relay_expire_cb(struct wheel_entry *e, void *arg)
{
	struct relay	*r = (struct relay *)e;
	struct worker	*w = arg;

	if (r->r_alloc->a_expires > w->w_srv.sv_now) {
		/* refreshed since it was armed */
		relay_timer_arm(r);
		return;
	}
	server_alloc_end(&w->w_srv, r->r_alloc, 1);
}

/* End the allocations whose lifetime is over (the worker's tick). */
void
relay_expire_run(struct relay_set *rs)
{
	wheel_run(&rs->rs_wheel, rs->rs_w->w_srv.sv_now, relay_expire_cb,
	    rs->rs_w);
	resv_expire(rs->rs_resv, rs->rs_w->w_srv.sv_now);
}

static void
relay_timer_arm(struct relay *r)
{
	wheel_arm(&r->r_w->w_relay->rs_wheel, &r->r_expiry,
	    r->r_alloc->a_expires);
}

static void
relay_timer(void *net, struct alloc *a)
{
	relay_timer_arm(a->a_net);
}

static void
relay_attach(void *net, struct alloc *a)
{
	struct worker	*w = net;
	struct relay	*r;
	unsigned int	 i;

	r = xcalloc(1, sizeof(*r));
	r->r_w = w;
	r->r_alloc = a;
	for (i = 0; i < ALLOC_FAMILIES; i++)
		r->r_fd[i] = -1;
	TAILQ_INSERT_TAIL(&w->w_relay->rs_relays, r, r_entry);
	a->a_net = r;
}

static void
relay_to_peer(void *net, struct alloc *a, const struct sockaddr *peer,
    const uint8_t *data, size_t len)
{
	struct worker	*w = net;
	struct relay	*r = a->a_net;
	unsigned int	 i;

	for (i = 0; i < ALLOC_FAMILIES; i++)
		if (r->r_fd[i] != -1 &&
		    a->a_relay[i].sa.sa_family == peer->sa_family)
			break;
	if (i == ALLOC_FAMILIES) {
		STATS_INC(&w->w_stats, udp_send_errors);
		return;
	}
	rio_to_peer(w->w_rio, r->r_fd[i], peer, data, len);
}

/*
 * relay_ops.ro_is_local: the kernel's view of own addresses, asked at
 * CreatePermission and ChannelBind (turn.c turn_peer()), never per
 * datagram.  A failed lookup counts the address as own (policy.h).
 */
static int
relay_is_local(void *net, const struct sockaddr *peer)
{
	struct worker	*w = net;
	int		 r;

	r = nlroute_is_local(w->w_relay->rs_nl, &w->w_relay->rs_nlseq, peer);
	if (r == -1)
		STATS_INC(&w->w_stats, local_lookup_failed);
	return (r);
}

/* Up to RELAY_READS datagrams from relay socket idx of r to its client. */
static void
relay_read(struct worker *w, struct relay *r, unsigned int idx)
{
	struct alloc		*a = r->r_alloc;
	struct path		*p = a->a_path;
	struct mmsghdr		 msg[RELAY_READS];
	struct iovec		 iov[RELAY_READS];
	struct sockaddr_storage	 from[RELAY_READS];
	uint8_t			 head[SERVER_HEAD_MAX];
	unsigned int		 i, n;
	size_t			 hlen, pad, len;
	int			 got;

	n = rio_slots(w->w_rio, msg, iov, from, RELAY_READS);
	got = recvmmsg(r->r_fd[idx], msg, n, MSG_DONTWAIT, NULL);
	if (got <= 0)
		return;
	rio_slots_used(w->w_rio, (unsigned int)got);
	for (i = 0; i < (unsigned int)got; i++) {
		len = msg[i].msg_len;
		hlen = server_from_peer(&w->w_srv, a,
		    (struct sockaddr *)&from[i], len, p->p_stream, head, &pad);
		if (hlen > 0)
			rio_to_client(w->w_rio, a, p, &a->a_client.sa,
			    &a->a_local.sa, head, hlen, iov[i].iov_base, len,
			    pad);
	}
}

/*
 * The ready relay sockets: each gets one turn of at most RELAY_READS
 * datagrams (epoll hands out sockets still ready in rotation next time),
 * then everything for UDP clients goes out.
 */
static void
relay_ready_cb(evutil_socket_t efd, short what, void *arg)
{
	struct worker		*w = arg;
	struct epoll_event	 ev[RELAY_EVENTS];
	struct relay		*r;
	unsigned int		 idx;
	int			 i, n;

	(void)what;
	worker_clock(w);
	n = epoll_wait((int)efd, ev, RELAY_EVENTS, 0);
	for (i = 0; i < n; i++) {
		/* nothing in a turn closes a relay socket (see relay_io.c) */
		r = (struct relay *)(uintptr_t)(ev[i].data.u64 & ~(uint64_t)1);
		idx = (unsigned int)(ev[i].data.u64 & 1);
		if (r->r_fd[idx] != -1)
			relay_read(w, r, idx);
	}
	rio_flush_clients(w->w_rio);
}

struct relay_set *
relay_set_new(struct worker *w, struct resv *resv)
{
	struct relay_set	*rs = xcalloc(1, sizeof(*rs));

	rs->rs_w = w;
	rs->rs_resv = resv;
	TAILQ_INIT(&rs->rs_relays);
	wheel_init(&rs->rs_wheel, w->w_srv.sv_now);
	if ((rs->rs_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("%s: epoll_create1", __func__);
	rs->rs_ev = event_new(w->w_base, rs->rs_ep, EV_READ | EV_PERSIST,
	    relay_ready_cb, w);
	if (rs->rs_ev == NULL || event_add(rs->rs_ev, NULL) == -1)
		fatalx("%s: cannot watch the relay sockets", __func__);
	if ((rs->rs_nl = nlroute_open()) == -1)
		fatalx("%s: no route lookups: own addresses unknown", __func__);
	return (rs);
}

/* The allocations must have ended (relay_end_all). */
void
relay_set_free(struct relay_set *rs)
{
	if (rs == NULL)
		return;
	event_free(rs->rs_ev);
	close(rs->rs_ep);
	nlroute_close(rs->rs_nl);
	free(rs);
}

void
relay_end_all(struct relay_set *rs)
{
	struct relay	*r;

	while ((r = TAILQ_FIRST(&rs->rs_relays)) != NULL)
		server_alloc_end(&rs->rs_w->w_srv, r->r_alloc, 0);
}

/* ---- the live upgrade (worker_move.c) ---- */

void
relay_pause(struct relay_set *rs, int pause)
{
	if (pause ? event_del(rs->rs_ev) == -1 :
	    event_add(rs->rs_ev, NULL) == -1)
		fatalx("%s: cannot %s the relay sockets", __func__,
		    pause ? "pause" : "resume");
}

void
relay_fds(const struct alloc *a, int fd[ALLOC_FAMILIES])
{
	const struct relay	*r = a->a_net;
	unsigned int		 i;

	for (i = 0; i < ALLOC_FAMILIES; i++)
		fd[i] = r != NULL ? r->r_fd[i] : -1;
}

void
relay_park(struct alloc *a, int park)
{
	struct relay	*r = a->a_net;
	unsigned int	 i;

	for (i = 0; i < ALLOC_FAMILIES; i++) {
		if (r->r_fd[i] == -1)
			continue;
		if (park) {
			rio_forget_fd(r->r_w->w_rio, r->r_fd[i]);
			(void)epoll_ctl(r->r_w->w_relay->rs_ep, EPOLL_CTL_DEL,
			    r->r_fd[i], NULL);
		} else
			(void)relay_watch(r, i, r->r_fd[i]);
	}
	if (park)
		wheel_cancel(&r->r_expiry);
	else
		relay_timer_arm(r);
}

int
relay_take(struct alloc *a, unsigned int idx, int fd)
{
	struct relay	*r = a->a_net;

	if (idx >= ALLOC_FAMILIES || r->r_fd[idx] != -1 ||
	    relay_watch(r, idx, fd) == -1)
		return (-1);
	r->r_fd[idx] = fd;
	return (0);
}

/* RFC 6062: the ro_tcp_* operations on the allocation's tcprelay.c part. */
static int
relay_tcp_connect(void *net, struct alloc *a, const struct sockaddr *peer,
    uint32_t *id)
{
	struct relay	*r = a->a_net;

	(void)net;
	if (r->r_tcp == NULL)
		return (STUN_ERR_CONNECTION_FAILURE);
	return (tcprelay_connect(r->r_tcp, peer, id));
}

static int
relay_tcp_state(void *net, struct alloc *a, uint32_t id, int drop)
{
	struct relay	*r = a->a_net;

	(void)net;
	if (r->r_tcp == NULL)
		return (STUN_ERR_CONNECTION_FAILURE);
	return (tcprelay_state(r->r_tcp, id, drop));
}

static struct alloc *
relay_tcp_find(void *net, uint32_t id)
{
	struct worker	*w = net;

	return (tcprelay_find(w->w_tcp, id));
}

static void
relay_tcp_bind(void *net, uint32_t id, struct path *p)
{
	struct worker	*w = net;

	tcprelay_bind(w->w_tcp, id, p);
}

static void
relay_tcp_list(void *net, const struct alloc *a, struct sbuf *sb, int json)
{
	const struct relay	*r = a->a_net;

	(void)net;
	if (r != NULL && r->r_tcp != NULL)
		tcprelay_list(r->r_tcp, sb, json);
}

const struct relay_ops relay_ops = {
	.ro_tcp_list = relay_tcp_list,
	.ro_tcp_connect = relay_tcp_connect,
	.ro_tcp_state = relay_tcp_state,
	.ro_tcp_find = relay_tcp_find,
	.ro_tcp_bind = relay_tcp_bind,
	.ro_open = relay_open,
	.ro_held = relay_held,
	.ro_claim = relay_claim,
	.ro_close = relay_close,
	.ro_timer = relay_timer,
	.ro_attach = relay_attach,
	.ro_to_peer = relay_to_peer,
	.ro_is_local = relay_is_local,
};
