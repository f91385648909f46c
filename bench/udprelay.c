/*
 * udprelay.c -- a bare UDP relay, no TURN: the floor for turnd's
 * ChannelData path on the same machine.
 *
 *	udprelay [-w workers] listen-addr port peer-addr peer-port
 *
 * Datagrams from clients arrive on one UDP socket (recvmmsg, 32 at a
 * time); each loses its first 4 bytes (a ChannelData header, not looked
 * at) and goes to the peer through the client's own relay socket, made
 * at the client's first datagram on an ephemeral port of the loopback
 * address (sendmmsg, one call per relay socket per batch).  Datagrams
 * from the peer on a relay socket (recvmmsg) get a 4-byte header back,
 * channel 0x4000 and the length as ChannelData has, and go to that
 * client through the listening socket: one sendmmsg for all that one
 * epoll wakeup gathered.  epoll, level-triggered, every batch bounded.
 * With -w N, N threads each with their own SO_REUSEPORT listening
 * socket, relay sockets and clients, as turnd's workers.  No
 * permissions, channels, lifetimes, authentication or accounting: what
 * a relay costs the kernel and little else.  A benchmark tool only.
 */

#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"

#define MAX_WORKERS	64
#define MAX_CLIENTS	4096	/* per worker; more are dropped */
#define HASH_SIZE	8192	/* buckets of the client table */
#define BATCH		32	/* datagrams per recvmmsg/sendmmsg */
#define EVENTS		64	/* epoll events per wakeup */
#define OUT_MAX		256	/* datagrams to clients per sendmmsg */
#define PKT_MAX		2048
#define HDR_LEN		4
#define LISTEN_BUF	(4 << 20)
#define RELAY_BUF	(1 << 20)

struct client {
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	int			 fd;		/* relay socket */
	struct client		*next;		/* hash chain */
};

struct worker {
	int			 lfd;
	int			 ep;
	pthread_t		 th;
	struct client		*clients;	/* MAX_CLIENTS */
	unsigned int		 nclients;
	struct client		*hash[HASH_SIZE];
	uint64_t		 dropped;	/* no room for a new client */

	/* from clients */
	uint8_t			 in[BATCH][PKT_MAX];
	struct sockaddr_storage	 inaddr[BATCH];
	struct mmsghdr		 inmsg[BATCH];
	struct iovec		 iniov[BATCH];
	struct client		*incl[BATCH];

	/* to the peer, one relay socket at a time */
	struct mmsghdr		 pmsg[BATCH];
	struct iovec		 piov[BATCH];

	/* from the peer, gathered for one sendmmsg to clients */
	uint8_t			 out[OUT_MAX][PKT_MAX];
	struct sockaddr_storage	 from[BATCH];
	struct mmsghdr		 outmsg[OUT_MAX];
	struct iovec		 outiov[OUT_MAX];
	unsigned int		 nout;
};

static struct sockaddr_storage	 listen_addr, peer_addr, relay_addr;
static struct worker		*workers;

static void __attribute__((noreturn))
fatal(const char *what)
{
	fprintf(stderr, "udprelay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned int
addr_hash(const struct sockaddr_storage *ss)
{
	const uint8_t	*p;
	size_t		 len, i;
	uint32_t	 h = 2166136261U;
	uint16_t	 port = addr_port((const struct sockaddr *)ss);

	if (ss->ss_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)ss)->
		    sin_addr;
		len = 4;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->
		    sin6_addr;
		len = 16;
	}
	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619U;
	h = (h ^ (port & 0xff)) * 16777619U;
	h = (h ^ (port >> 8)) * 16777619U;
	return (h % HASH_SIZE);
}

static int
udp_socket(const struct sockaddr_storage *ss, int reuseport, int bufsz)
{
	int	fd, on = 1;

	if ((fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1)
		goto fail;
	if (ss->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (bind(fd, (const struct sockaddr *)ss,
	    addr_len((const struct sockaddr *)ss)) == -1)
		goto fail;
	return (fd);
fail:
	close(fd);
	return (-1);
}

/* The client at ss, made (with its relay socket) if new; NULL if full. */
static struct client *
client_get(struct worker *w, const struct sockaddr_storage *ss,
    socklen_t sl)
{
	struct epoll_event	 ev;
	struct client		*c;
	unsigned int		 h = addr_hash(ss);

	for (c = w->hash[h]; c != NULL; c = c->next)
		if (addr_eq((const struct sockaddr *)&c->addr,
		    (const struct sockaddr *)ss))
			return (c);
	if (w->nclients == MAX_CLIENTS)
		return (NULL);
	c = &w->clients[w->nclients];
	if ((c->fd = udp_socket(&relay_addr, 0, RELAY_BUF)) == -1)
		return (NULL);
	ev.events = EPOLLIN;
	ev.data.u32 = w->nclients + 1;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		close(c->fd);
		return (NULL);
	}
	memcpy(&c->addr, ss, sl);
	c->addrlen = sl;
	c->next = w->hash[h];
	w->hash[h] = c;
	w->nclients++;
	return (c);
}

/* One batch from clients to the peer, one sendmmsg per relay socket. */
static void
from_clients(struct worker *w)
{
	struct client	*c;
	unsigned int	 i, j, k;
	int		 n;

	for (i = 0; i < BATCH; i++) {
		w->iniov[i].iov_base = w->in[i];
		w->iniov[i].iov_len = PKT_MAX;
		memset(&w->inmsg[i], 0, sizeof(w->inmsg[i]));
		w->inmsg[i].msg_hdr.msg_iov = &w->iniov[i];
		w->inmsg[i].msg_hdr.msg_iovlen = 1;
		w->inmsg[i].msg_hdr.msg_name = &w->inaddr[i];
		w->inmsg[i].msg_hdr.msg_namelen = sizeof(w->inaddr[i]);
	}
	if ((n = recvmmsg(w->lfd, w->inmsg, BATCH, MSG_DONTWAIT, NULL)) <= 0)
		return;
	for (i = 0; i < (unsigned int)n; i++) {
		w->incl[i] = NULL;
		if (w->inmsg[i].msg_len < HDR_LEN)
			continue;
		if ((w->incl[i] = client_get(w, &w->inaddr[i],
		    w->inmsg[i].msg_hdr.msg_namelen)) == NULL)
			w->dropped++;
	}
	for (i = 0; i < (unsigned int)n; i++) {
		if ((c = w->incl[i]) == NULL)
			continue;
		for (j = i, k = 0; j < (unsigned int)n; j++) {
			if (w->incl[j] != c)
				continue;
			w->incl[j] = NULL;
			w->piov[k].iov_base = w->in[j] + HDR_LEN;
			w->piov[k].iov_len = w->inmsg[j].msg_len - HDR_LEN;
			memset(&w->pmsg[k], 0, sizeof(w->pmsg[k]));
			w->pmsg[k].msg_hdr.msg_iov = &w->piov[k];
			w->pmsg[k].msg_hdr.msg_iovlen = 1;
			w->pmsg[k].msg_hdr.msg_name = &peer_addr;
			w->pmsg[k].msg_hdr.msg_namelen =
			    addr_len((struct sockaddr *)&peer_addr);
			k++;
		}
		/* what the socket does not take is dropped, as UDP is */
		(void)sendmmsg(c->fd, w->pmsg, k, MSG_DONTWAIT);
	}
}

/* What was gathered for clients, in one sendmmsg (or a few if short). */
static void
flush_out(struct worker *w)
{
	unsigned int	done = 0;
	int		n;

	while (done < w->nout) {
		n = sendmmsg(w->lfd, w->outmsg + done, w->nout - done,
		    MSG_DONTWAIT);
		if (n <= 0)
			break;		/* full: the rest is dropped */
		done += (unsigned int)n;
	}
	w->nout = 0;
}

/* One batch from the peer on c's relay socket, gathered for c. */
static void
from_peer(struct worker *w, struct client *c)
{
	struct mmsghdr	*m;
	unsigned int	 base, i, k, len;
	uint8_t		*p;
	int		 n;

	if (OUT_MAX - w->nout < BATCH)
		flush_out(w);
	base = w->nout;
	for (i = 0; i < BATCH; i++) {
		k = base + i;
		w->outiov[k].iov_base = w->out[k] + HDR_LEN;
		w->outiov[k].iov_len = PKT_MAX - HDR_LEN;
		m = &w->outmsg[k];
		memset(m, 0, sizeof(*m));
		m->msg_hdr.msg_iov = &w->outiov[k];
		m->msg_hdr.msg_iovlen = 1;
		m->msg_hdr.msg_name = &w->from[i];
		m->msg_hdr.msg_namelen = sizeof(w->from[i]);
	}
	if ((n = recvmmsg(c->fd, w->outmsg + base, BATCH, MSG_DONTWAIT,
	    NULL)) <= 0)
		return;
	for (i = 0; i < (unsigned int)n; i++) {
		/* from the peer only, as a permission would have it */
		if (!addr_eq((struct sockaddr *)&w->from[i],
		    (struct sockaddr *)&peer_addr))
			continue;
		len = w->outmsg[base + i].msg_len;
		k = w->nout++;
		if (k != base + i)
			memmove(w->out[k] + HDR_LEN, w->out[base + i] + HDR_LEN,
			    len);
		p = w->out[k];
		p[0] = 0x40;
		p[1] = 0x00;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		w->outiov[k].iov_base = p;
		w->outiov[k].iov_len = HDR_LEN + len;
		m = &w->outmsg[k];
		m->msg_hdr.msg_name = &c->addr;
		m->msg_hdr.msg_namelen = c->addrlen;
	}
}

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	struct epoll_event	 evs[EVENTS];
	int			 i, n;

	for (;;) {
		if ((n = epoll_wait(w->ep, evs, EVENTS, -1)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32 == 0)
				from_clients(w);
			else
				from_peer(w, &w->clients[evs[i].data.u32 -
				    1]);
		}
		if (w->nout > 0)
			flush_out(w);
	}
	return (NULL);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: udprelay [-w workers] listen-addr port "
	    "peer-addr peer-port\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 ev;
	struct worker		*w;
	sigset_t		 set;
	int			 ch, nworkers = 1, i, sig;

	while ((ch = getopt(argc, argv, "w:")) != -1) {
		switch (ch) {
		case 'w':
			nworkers = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 4 || nworkers < 1 || nworkers > MAX_WORKERS)
		usage();
	if (addr_parse_ip(argv[0], &listen_addr) == -1 ||
	    addr_parse_ip(argv[2], &peer_addr) == -1)
		usage();
	addr_set_port((struct sockaddr *)&listen_addr,
	    (uint16_t)atoi(argv[1]));
	addr_set_port((struct sockaddr *)&peer_addr, (uint16_t)atoi(argv[3]));
	(void)addr_parse_ip(peer_addr.ss_family == AF_INET ? "127.0.0.1" :
	    "::1", &relay_addr);

	/* the threads run until a signal; none of them takes one */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if ((workers = calloc((size_t)nworkers, sizeof(*workers))) == NULL)
		fatal("calloc");
	for (i = 0; i < nworkers; i++) {
		w = &workers[i];
		if ((w->clients = calloc(MAX_CLIENTS,
		    sizeof(*w->clients))) == NULL)
			fatal("calloc");
		if ((w->lfd = udp_socket(&listen_addr, 1, LISTEN_BUF)) == -1)
			fatal("listening socket");
		if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
			fatal("epoll_create1");
		ev.events = EPOLLIN;
		ev.data.u32 = 0;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &ev) == -1)
			fatal("epoll_ctl");
	}
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i].th, NULL, worker_main,
		    &workers[i]) != 0)
			fatal("pthread_create");
	printf("udprelay: %d workers ready\n", nworkers);
	fflush(stdout);
	(void)sigwait(&set, &sig);
	for (i = 0; i < nworkers; i++)
		if (workers[i].dropped > 0)
			fprintf(stderr, "udprelay: worker %d dropped %llu "
			    "datagrams of clients beyond %d\n", i,
			    (unsigned long long)workers[i].dropped,
			    MAX_CLIENTS);
	return (0);
}
