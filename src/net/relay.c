/*
 * relay.c -- the net layer's side of TURN allocations (struct relay_ops):
 * relay sockets on relay.addresses and relay.min_port..max_port, EVEN-PORT
 * reservations (RFC 8656 7.2, shared by all workers since the second
 * Allocate may land on another worker), expiry timers, and data from
 * peers back to the client over its UDP socket or its connection.
 *
 * A worker's relay sockets are in one epoll set of their own, watched by
 * a single event of its loop: one wakeup reads every ready relay socket
 * with recvmmsg (a bounded number of datagrams each, then the next one,
 * so one busy peer cannot starve the others) and what goes to UDP clients
 * leaves in one sendmmsg per listening socket (relay_io.c).  No libevent
 * event per allocation, no system call per datagram.
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
#include "stun/stun.h"
#include "turn/alloc.h"

#define RELAY_BIND_TRIES	64	/* random ports tried before 508 */
#define RELAY_READS		16	/* datagrams per socket per turn */
#define RELAY_EVENTS		64	/* ready sockets per wakeup */
#define RELAY_SOCKBUF		(256 * 1024)	/* a burst from a peer */
#define RESV_MAX		1024
#define RESV_LIFETIME		30	/* s a reserved port is kept */

_Static_assert(ALLOC_FAMILIES == 2, "one bit of epoll data holds idx");

/* What an allocation holds in the net layer (a->a_net). */
struct relay {
	struct wheel_entry	 r_expiry;	/* first: the entry is the relay */
	TAILQ_ENTRY(relay)	 r_entry;
	struct worker		*r_w;
	struct alloc		*r_alloc;
	int			 r_fd[ALLOC_FAMILIES];
};

struct resv_entry {
	uint64_t		 re_token;
	int			 re_fd;
	time_t			 re_expires;
};

/* Reserved ports, shared by the workers (EVEN-PORT with the R bit). */
struct resv {
	pthread_mutex_t		 rv_lock;
	struct resv_entry	 rv_e[RESV_MAX];
	unsigned int		 rv_n;
};

struct resv *
resv_new(void)
{
	struct resv	*rv = xcalloc(1, sizeof(*rv));

	pthread_mutex_init(&rv->rv_lock, NULL);
	return (rv);
}

void
resv_free(struct resv *rv)
{
	unsigned int	i;

	if (rv == NULL)
		return;
	for (i = 0; i < rv->rv_n; i++)
		close(rv->rv_e[i].re_fd);
	pthread_mutex_destroy(&rv->rv_lock);
	free(rv);
}

/* Drop expired reservations; the lock is held. */
static void
resv_purge(struct resv *rv, time_t now)
{
	unsigned int	i = 0;

	while (i < rv->rv_n) {
		if (rv->rv_e[i].re_expires > now) {
			i++;
			continue;
		}
		close(rv->rv_e[i].re_fd);
		rv->rv_e[i] = rv->rv_e[--rv->rv_n];
	}
}

static int
resv_put(struct resv *rv, int fd, time_t now, uint64_t *token)
{
	int	rc = -1;

	pthread_mutex_lock(&rv->rv_lock);
	resv_purge(rv, now);
	if (rv->rv_n < RESV_MAX) {
		*token = (uint64_t)arc4random() << 32 | arc4random();
		rv->rv_e[rv->rv_n].re_token = *token;
		rv->rv_e[rv->rv_n].re_fd = fd;
		rv->rv_e[rv->rv_n].re_expires = now + RESV_LIFETIME;
		rv->rv_n++;
		rc = 0;
	}
	pthread_mutex_unlock(&rv->rv_lock);
	return (rc);
}

static int
resv_take(struct resv *rv, uint64_t token, time_t now)
{
	unsigned int	i;
	int		fd = -1;

	pthread_mutex_lock(&rv->rv_lock);
	resv_purge(rv, now);
	for (i = 0; i < rv->rv_n; i++)
		if (rv->rv_e[i].re_token == token) {
			fd = rv->rv_e[i].re_fd;
			rv->rv_e[i] = rv->rv_e[--rv->rv_n];
			break;
		}
	pthread_mutex_unlock(&rv->rv_lock);
	return (fd);
}

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

/* Take fd as relay socket idx of a. */
static int
relay_adopt(struct relay *r, unsigned int idx, int fd)
{
	struct alloc		*a = r->r_alloc;
	struct sockaddr_storage	 bound;
	socklen_t		 len = sizeof(bound);
	struct epoll_event	 ev;

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
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)(uintptr_t)r | idx;	/* r is aligned */
	if (epoll_ctl(r->r_w->w_relay_ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_warn("%s: epoll_ctl", __func__);
		close(fd);
		return (STUN_ERR_SERVER_ERROR);
	}
	memcpy(&a->a_relay[idx], &bound, addr_len((struct sockaddr *)&bound));
	r->r_fd[idx] = fd;
	return (0);
}

static int
relay_open(void *net, struct alloc *a, unsigned int idx, int family,
    int even, int df, uint64_t *token)
{
	struct worker			*w = net;
	const struct turnd_conf		*conf = w->w_conf;
	const struct sockaddr_storage	*ip = NULL;
	unsigned int			 i, span, tries;
	uint16_t			 port;
	int				 fd, fd2;

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
		if ((fd = relay_bind(ip, port, df)) == -1)
			continue;
		if (even == 2) {
			if ((fd2 = relay_bind(ip, (uint16_t)(port + 1), df)) ==
			    -1) {
				close(fd);
				continue;
			}
			if (resv_put(w->w_resv, fd2, w->w_srv.sv_now,
			    token) == -1) {
				close(fd2);
				close(fd);
				return (STUN_ERR_INSUFFICIENT_CAPACITY);
			}
		}
		return (relay_adopt(a->a_net, idx, fd));
	}
	return (STUN_ERR_INSUFFICIENT_CAPACITY);
}

static int
relay_claim(void *net, struct alloc *a, unsigned int idx, uint64_t token)
{
	struct worker	*w = net;
	int		 fd;

	if ((fd = resv_take(w->w_resv, token, w->w_srv.sv_now)) == -1)
		return (STUN_ERR_INSUFFICIENT_CAPACITY);
	return (relay_adopt(a->a_net, idx, fd));
}

static void
relay_close_one(struct relay *r, unsigned int idx)
{
	int	fd = r->r_fd[idx];

	if (fd == -1)
		return;
	rio_forget_fd(r->r_w->w_rio, fd);
	(void)epoll_ctl(r->r_w->w_relay_ep, EPOLL_CTL_DEL, fd, NULL);
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
	if (idx >= 0) {
		relay_close_one(r, (unsigned int)idx);
		return;
	}
	for (i = 0; i < ALLOC_FAMILIES; i++)
		relay_close_one(r, i);
	wheel_cancel(&r->r_expiry);
	TAILQ_REMOVE(&w->w_relays, r, r_entry);
	free(r);
	a->a_net = NULL;
}

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
relay_expire_run(struct worker *w)
{
	wheel_run(w->w_wheel, w->w_srv.sv_now, relay_expire_cb, w);
}

void
relay_timer_arm(struct relay *r)
{
	wheel_arm(r->r_w->w_wheel, &r->r_expiry, r->r_alloc->a_expires);
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
	TAILQ_INSERT_TAIL(&w->w_relays, r, r_entry);
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

/* Up to RELAY_READS datagrams from relay socket idx of r to its client. */
static void
relay_read(struct worker *w, struct relay *r, unsigned int idx)
{
	struct alloc		*a = r->r_alloc;
	struct path		*p = a->a_path;
	struct mmsghdr		 msg[RELAY_READS];
	struct iovec		 iov[RELAY_READS], out[RELAY_READS * 3];
	struct sockaddr_storage	 from[RELAY_READS];
	uint8_t			 head[RELAY_READS][SERVER_HEAD_MAX];
	static const uint8_t	 zeros[4];
	unsigned int		 i, n, nout = 0;
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
		    (struct sockaddr *)&from[i], len, p->p_stream,
		    head[i], &pad);
		if (hlen == 0)
			continue;
		if (!p->p_stream) {
			rio_to_client(w->w_rio, a, p,
			    (struct sockaddr *)&a->a_client,
			    (struct sockaddr *)&a->a_local, head[i], hlen,
			    iov[i].iov_base, len, pad);
			continue;
		}
		/* a stream client: the whole turn in one write */
		out[nout].iov_base = head[i];
		out[nout++].iov_len = hlen;
		out[nout].iov_base = iov[i].iov_base;
		out[nout++].iov_len = len;
		out[nout].iov_base = (void *)(uintptr_t)zeros;
		out[nout++].iov_len = pad;
	}
	if (nout > 0)
		p->p_ops->po_send(p, NULL, NULL, out, (int)nout);
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

void
relay_watch_start(struct worker *w)
{
	w->w_wheel = xmalloc(sizeof(*w->w_wheel));
	wheel_init(w->w_wheel, w->w_srv.sv_now);
	w->w_rio = rio_new(&w->w_stats);
	if ((w->w_relay_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("%s: epoll_create1", __func__);
	w->w_relay_ev = event_new(w->w_base, w->w_relay_ep,
	    EV_READ | EV_PERSIST, relay_ready_cb, w);
	if (w->w_relay_ev == NULL || event_add(w->w_relay_ev, NULL) == -1)
		fatalx("%s: cannot watch the relay sockets", __func__);
}

void
relay_watch_stop(struct worker *w)
{
	if (w->w_relay_ev != NULL)
		event_free(w->w_relay_ev);
	w->w_relay_ev = NULL;
	if (w->w_relay_ep != -1)
		close(w->w_relay_ep);
	w->w_relay_ep = -1;
	rio_free(w->w_rio);
	w->w_rio = NULL;
	free(w->w_wheel);
	w->w_wheel = NULL;
}

/* End every allocation of the worker (shutdown). */
void
relay_end_all(struct worker *w)
{
	struct relay	*r;

	while ((r = TAILQ_FIRST(&w->w_relays)) != NULL)
		server_alloc_end(&w->w_srv, r->r_alloc, 0);
}

const struct relay_ops relay_ops = {
	.ro_open = relay_open,
	.ro_claim = relay_claim,
	.ro_close = relay_close,
	.ro_timer = relay_timer,
	.ro_attach = relay_attach,
	.ro_to_peer = relay_to_peer,
};
