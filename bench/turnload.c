/*
 * turnload.c -- a closed-loop TURN load generator (UDP client legs).
 *
 *	turnload [-m relay|alloc|hold] [-n sessions] [-w window] [-s size]
 *	    [-d seconds] [-W warmup] [-i] [-u user] [-p password]
 *	    [-S secret] [-P server-pid] host port
 *
 * relay (default): n sessions each Allocate, CreatePermission and
 *	ChannelBind to turnload's own echo peer, then keep `window` packets
 *	of `size` payload bytes in flight through the relay: ChannelData, or
 *	Send/Data indications with -i.  Every packet carries its send time;
 *	each one that comes back is a round trip, and is replaced at once.
 *	Packets not back within 0.5 s are counted lost and replaced.
 * alloc:	n sessions loop Allocate + Refresh(0) as fast as answers come, each
 *	Allocate from a new socket (a new 5-tuple, as a new client).
 * hold:	n allocations with a permission and a channel each are made and
 *	held; the server's RSS and open files are read before and after.
 *
 * With -P, the server's CPU time (utime + stime from /proc) over the
 * measured period gives its CPU cost per relayed datagram (two per round
 * trip) or per allocation.  Long-term credentials (-u/-p) or TURN REST
 * credentials made from -S.  Prints one line per figure.  A benchmark,
 * not a test: it asserts nothing about speed.
 */

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "stun/stun.h"
#include "turn/auth.h"

#define MAX_SESSIONS	4096
#define BATCH		32
#define PKT_MAX		1400
#define LOSS_TIMEOUT	0.5	/* s without an answer: the window is lost */
#define HIST_BUCKETS	2000	/* RTT histogram: 10 us steps up to 20 ms */
#define HIST_STEP_US	10

struct sess {
	int			 fd;
	struct sockaddr_storage	 relayed;
	uint16_t		 chan;
	unsigned int		 id;
	unsigned int		 inflight;
	uint32_t		 seq;
	double			 last_rx;
	char			 user[STUN_USERNAME_MAX + 1];
	char			 realm[STUN_REALM_MAX + 1];
	char			 nonce[STUN_NONCE_MAX + 1];
	char			 pass[128];
	uint8_t			 key[16];
};

static const char	*mode = "relay";
static unsigned int	 nsess = 10, window = 8;
static size_t		 size = 100;
static double		 duration = 5, warmup = 1;
static int		 use_send, server_pid;
static const char	*user = "alice", *pass = "secret", *secret;
static struct sockaddr_storage server, peer;
static struct sess	 sess[MAX_SESSIONS];
static volatile int	 peer_stop;

/* what is measured (after the warmup) */
static int		 measuring;
static uint64_t		 rtts, sent_pkts, lost, bytes;
static uint64_t		 hist[HIST_BUCKETS + 1];

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

static void
die(const char *what)
{
	fprintf(stderr, "turnload: %s\n", what);
	exit(1);
}

/* utime + stime of pid in seconds, or -1. */
static double
proc_cpu(int pid)
{
	char	path[64], buf[2048], *p;
	unsigned long long ut, st;
	FILE	*f;
	int	i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return (-1);
	}
	fclose(f);
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	for (i = 0; i < 12 && p != NULL; i++)	/* to field 14 */
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu %llu", &ut, &st) != 2)
		return (-1);
	return ((double)(ut + st) / (double)sysconf(_SC_CLK_TCK));
}

/* A field of /proc/pid/status in kB (VmRSS), or -1. */
static long
proc_kb(int pid, const char *field)
{
	char	path[64], line[256];
	long	v = -1;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return (v);
}

static long
proc_fds(int pid)
{
	char	path[64], cmd[128];
	FILE	*f;
	long	n = -1;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	snprintf(cmd, sizeof(cmd), "ls %s | wc -l", path);
	if ((f = popen(cmd, "r")) != NULL) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		pclose(f);
	}
	return (n);
}

/* ---- the echo peer: every datagram goes back where it came from ---- */

static void *
peer_main(void *arg)
{
	int			 fd = *(int *)arg;
	struct mmsghdr		 msg[BATCH];
	struct iovec		 iov[BATCH];
	struct sockaddr_storage	 from[BATCH];
	static uint8_t		 buf[BATCH][PKT_MAX + 64];
	int			 i, n;

	while (!peer_stop) {
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
			msg[i].msg_hdr.msg_name = &from[i];
			msg[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		if ((n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL)) <= 0)
			continue;
		for (i = 0; i < n; i++)
			iov[i].iov_len = msg[i].msg_len;
		(void)sendmmsg(fd, msg, (unsigned int)n, 0);
	}
	return (NULL);
}

/* ---- control transactions (setup), blocking with retransmissions ---- */

static void
tid_new(uint8_t tid[STUN_TID_LEN])
{
	arc4random_buf(tid, STUN_TID_LEN);
}

/*
 * Send the request built by the caller into b (already begun) and wait
 * for its answer: the response in rbuf (parsed into m), or -1.
 */
static int
exchange(struct sess *s, const uint8_t *req, size_t len,
    const uint8_t tid[STUN_TID_LEN], uint8_t *rbuf, size_t rcap,
    struct stun_msg *m)
{
	ssize_t	n;
	int	try;

	for (try = 0; try < 6; try++) {
		if (send(s->fd, req, len, 0) == -1)
			return (-1);
		for (;;) {
			n = recv(s->fd, rbuf, rcap, 0);
			if (n < 0)
				break;		/* timeout: send again */
			if (stun_msg_parse(m, rbuf, (size_t)n) != STUN_PARSE_OK ||
			    memcmp(m->tid, tid, STUN_TID_LEN) != 0)
				continue;	/* data or a late answer */
			return (0);
		}
	}
	return (-1);
}

/* Add extra attributes: a callback per request kind. */
typedef void	(*attrs_fn)(struct stun_build *, struct sess *, void *);

/*
 * An authenticated request of method on s: the first answer 401 (or
 * 438) gives realm and nonce, kept for the next requests.  Returns the
 * class of the final answer (STUN_CLASS_SUCCESS...) with the response in
 * m, or -1.
 */
static int
request(struct sess *s, uint16_t method, attrs_fn fn, void *arg,
    uint8_t *rbuf, size_t rcap, struct stun_msg *m)
{
	const struct stun_attr	*a;
	struct stun_build	 b;
	uint8_t			 req[1024], tid[STUN_TID_LEN];
	size_t			 len;
	int			 round, code;

	for (round = 0; round < 3; round++) {
		tid_new(tid);
		stun_build_init(&b, req, sizeof(req),
		    STUN_TYPE(method, STUN_CLASS_REQUEST), tid);
		if (fn != NULL)
			fn(&b, s, arg);
		if (s->nonce[0] != '\0') {
			stun_build_str(&b, STUN_ATTR_USERNAME, s->user);
			stun_build_str(&b, STUN_ATTR_REALM, s->realm);
			stun_build_str(&b, STUN_ATTR_NONCE, s->nonce);
			stun_build_integrity(&b, s->key, sizeof(s->key));
		}
		if ((len = stun_build_finish(&b)) == 0 ||
		    exchange(s, req, len, tid, rbuf, rcap, m) == -1)
			return (-1);
		if (m->cls != STUN_CLASS_ERROR)
			return (m->cls);
		a = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
		code = a != NULL && a->len >= 4 ? a->val[2] * 100 + a->val[3] :
		    0;
		if (code != 401 && code != 438)
			return (m->cls);
		if ((a = stun_msg_find(m, STUN_ATTR_NONCE)) == NULL ||
		    stun_attr_get_str(a, STUN_NONCE_MAX, s->nonce,
		    sizeof(s->nonce)) == -1)
			return (-1);
		if ((a = stun_msg_find(m, STUN_ATTR_REALM)) != NULL &&
		    stun_attr_get_str(a, STUN_REALM_MAX, s->realm,
		    sizeof(s->realm)) == 0)
			stun_key_md5(s->user, s->realm, s->pass, s->key);
	}
	return (-1);
}

static void
attrs_allocate(struct stun_build *b, struct sess *s, void *arg)
{
	(void)s;
	(void)arg;
	stun_build_u32(b, STUN_ATTR_REQUESTED_TRANSPORT,
	    (uint32_t)STUN_TRANSPORT_UDP << 24);
}

static void
attrs_refresh0(struct stun_build *b, struct sess *s, void *arg)
{
	(void)s;
	(void)arg;
	stun_build_u32(b, STUN_ATTR_LIFETIME, 0);
}

static void
attrs_perm(struct stun_build *b, struct sess *s, void *arg)
{
	(void)s;
	(void)arg;
	stun_build_xaddr(b, STUN_ATTR_XOR_PEER_ADDRESS,
	    (struct sockaddr *)&peer);
}

static void
attrs_chan(struct stun_build *b, struct sess *s, void *arg)
{
	(void)arg;
	stun_build_u32(b, STUN_ATTR_CHANNEL_NUMBER, (uint32_t)s->chan << 16);
	stun_build_xaddr(b, STUN_ATTR_XOR_PEER_ADDRESS,
	    (struct sockaddr *)&peer);
}

/* A UDP socket connected to the server, with a receive timeout. */
static void
sess_open(struct sess *s, unsigned int id)
{
	struct timeval	tv = { 0, 300000 };
	int		sz = 1 << 20;
	char		uname[STUN_USERNAME_MAX + 1];

	memset(s, 0, sizeof(*s));
	s->id = id;
	s->chan = (uint16_t)(0x4000 + (id % 0x1000));
	if ((s->fd = socket(server.ss_family, SOCK_DGRAM, 0)) == -1 ||
	    connect(s->fd, (struct sockaddr *)&server,
	    addr_len((struct sockaddr *)&server)) == -1)
		die("cannot open a client socket");
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (secret != NULL) {
		snprintf(uname, sizeof(uname), "%lld:load%u",
		    (long long)time(NULL) + 86400, id);
		snprintf(s->user, sizeof(s->user), "%s", uname);
		auth_rest_password(secret, s->user, s->pass);
	} else {
		snprintf(s->user, sizeof(s->user), "%s", user);
		snprintf(s->pass, sizeof(s->pass), "%s", pass);
	}
}

/* A new client socket for s (a new 5-tuple); credentials and nonce kept. */
static void
sess_reopen(struct sess *s)
{
	struct timeval	tv = { 0, 300000 };
	int		fd;

	if ((fd = socket(server.ss_family, SOCK_DGRAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&server,
	    addr_len((struct sockaddr *)&server)) == -1)
		die("cannot open a client socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	close(s->fd);
	s->fd = fd;
	memset(&s->relayed, 0, sizeof(s->relayed));
}

/* Allocate (+ permission + channel): 0 or -1. */
static int
sess_allocate(struct sess *s, int peers)
{
	const struct stun_attr	*a;
	struct stun_msg		 m;
	uint8_t			 rbuf[2048];

	if (request(s, STUN_METHOD_ALLOCATE, attrs_allocate, NULL, rbuf,
	    sizeof(rbuf), &m) != STUN_CLASS_SUCCESS ||
	    (a = stun_msg_find(&m, STUN_ATTR_XOR_RELAYED_ADDRESS)) == NULL ||
	    stun_attr_get_xaddr(a, m.tid, &s->relayed) == -1)
		return (-1);
	if (!peers)
		return (0);
	if (request(s, STUN_METHOD_CREATE_PERMISSION, attrs_perm, NULL, rbuf,
	    sizeof(rbuf), &m) != STUN_CLASS_SUCCESS)
		return (-1);
	if (!use_send && request(s, STUN_METHOD_CHANNEL_BIND, attrs_chan,
	    NULL, rbuf, sizeof(rbuf), &m) != STUN_CLASS_SUCCESS)
		return (-1);
	return (0);
}

/* ---- relay mode ---- */

/* One data packet of s into buf: its length. */
static size_t
make_data(struct sess *s, uint8_t *buf, size_t cap)
{
	struct stun_build	b;
	uint8_t			payload[PKT_MAX], tid[STUN_TID_LEN];
	uint64_t		t = now_ns();

	memset(payload, 0x5a, size);
	memcpy(payload, &s->id, 4);
	memcpy(payload + 4, &s->seq, 4);
	memcpy(payload + 8, &t, 8);
	s->seq++;
	if (!use_send) {
		stun_chan_hdr(buf, s->chan, (uint16_t)size);
		memcpy(buf + STUN_CHAN_HDR_LEN, payload, size);
		return (STUN_CHAN_HDR_LEN + size);
	}
	tid_new(tid);
	stun_build_init(&b, buf, cap, STUN_TYPE(STUN_METHOD_SEND,
	    STUN_CLASS_INDICATION), tid);
	stun_build_xaddr(&b, STUN_ATTR_XOR_PEER_ADDRESS,
	    (struct sockaddr *)&peer);
	stun_build_attr(&b, STUN_ATTR_DATA, payload, size);
	return (stun_build_finish(&b));
}

/* Send k packets on s in one sendmmsg. */
static void
send_some(struct sess *s, unsigned int k)
{
	static uint8_t	buf[BATCH][PKT_MAX + 128];
	struct mmsghdr	msg[BATCH];
	struct iovec	iov[BATCH];
	unsigned int	i;
	int		n;

	while (k > 0) {
		unsigned int	batch = k > BATCH ? BATCH : k;

		for (i = 0; i < batch; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = make_data(s, buf[i], sizeof(buf[i]));
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(s->fd, msg, batch, MSG_DONTWAIT);
		if (n < 0)
			n = 0;
		s->inflight += (unsigned int)n;
		if (measuring)
			sent_pkts += (uint64_t)n;
		if ((unsigned int)n < batch)
			return;		/* buffer full: the loss timer refills */
		k -= batch;
	}
}

/* The payload of a datagram from the server, or NULL. */
static const uint8_t *
payload_of(const uint8_t *p, size_t len, size_t *plen)
{
	struct stun_chan	 c;
	struct stun_msg		 m;
	const struct stun_attr	*a;

	if (len >= 4 && (p[0] & 0xC0) == 0x40) {
		if (stun_chan_parse(p, len, &c) == -1)
			return (NULL);
		*plen = c.len;
		return (c.data);
	}
	if (stun_msg_parse(&m, p, len) != STUN_PARSE_OK ||
	    m.method != STUN_METHOD_DATA ||
	    (a = stun_msg_find(&m, STUN_ATTR_DATA)) == NULL)
		return (NULL);
	*plen = a->len;
	return (a->val);
}

static void
receive(struct sess *s, double t)
{
	static uint8_t		 buf[BATCH][PKT_MAX + 128];
	struct mmsghdr		 msg[BATCH];
	struct iovec		 iov[BATCH];
	const uint8_t		*pl;
	size_t			 plen;
	uint64_t		 sent_at, us;
	unsigned int		 got = 0;
	int			 i, n;

	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	if ((n = recvmmsg(s->fd, msg, BATCH, MSG_DONTWAIT, NULL)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if ((pl = payload_of(buf[i], msg[i].msg_len, &plen)) == NULL ||
		    plen < 16)
			continue;
		memcpy(&sent_at, pl + 8, 8);
		if (s->inflight > 0)
			s->inflight--;
		got++;
		if (!measuring)
			continue;
		rtts++;
		bytes += plen;
		us = (now_ns() - sent_at) / 1000;
		hist[us / HIST_STEP_US < HIST_BUCKETS ? us / HIST_STEP_US :
		    HIST_BUCKETS]++;
	}
	if (got > 0) {
		s->last_rx = t;
		send_some(s, got);
	}
}

static double
percentile(double q)
{
	uint64_t	target = (uint64_t)((double)rtts * q), acc = 0;
	unsigned int	i;

	for (i = 0; i <= HIST_BUCKETS; i++) {
		acc += hist[i];
		if (acc > target)
			return ((double)(i + 1) * HIST_STEP_US / 1000.0);
	}
	return (-1);
}

static void
run_relay(void)
{
	struct epoll_event	 ev, evs[256];
	double			 t, start, end, cpu0 = 0, cpu1 = 0;
	unsigned int		 i;
	int			 ep, n, j;

	if ((ep = epoll_create1(0)) == -1)
		die("epoll_create1");
	for (i = 0; i < nsess; i++) {
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		epoll_ctl(ep, EPOLL_CTL_ADD, sess[i].fd, &ev);
		sess[i].last_rx = now();
		send_some(&sess[i], window);
	}
	start = now() + warmup;
	end = start + duration;
	for (;;) {
		t = now();
		if (!measuring && t >= start) {
			measuring = 1;
			if (server_pid > 0)
				cpu0 = proc_cpu(server_pid);
		}
		if (t >= end)
			break;
		n = epoll_wait(ep, evs, 256, 50);
		t = now();
		for (j = 0; j < n; j++)
			receive(&sess[evs[j].data.u32], t);
		for (i = 0; i < nsess; i++)
			if (t - sess[i].last_rx > LOSS_TIMEOUT) {
				if (measuring)
					lost += sess[i].inflight;
				sess[i].inflight = 0;
				sess[i].last_rx = t;
				send_some(&sess[i], window);
			}
	}
	if (server_pid > 0)
		cpu1 = proc_cpu(server_pid);
	printf("mode relay (%s), %u sessions x %u in flight, %zu B payload, "
	    "%.0f s\n", use_send ? "Send/Data indications" : "ChannelData",
	    nsess, window, size, duration);
	printf("round trips/s      %.0f\n", (double)rtts / duration);
	printf("payload Mbit/s     %.1f (each way)\n",
	    (double)bytes * 8 / duration / 1e6);
	printf("lost               %llu of %llu sent (%.3f %%)\n",
	    (unsigned long long)lost, (unsigned long long)sent_pkts,
	    sent_pkts ? 100.0 * (double)lost / (double)sent_pkts : 0);
	printf("rtt ms p50/p99/p999 %.2f / %.2f / %.2f\n", percentile(0.5),
	    percentile(0.99), percentile(0.999));
	if (server_pid > 0 && cpu0 >= 0 && cpu1 >= 0 && rtts > 0)
		printf("server cpu         %.2f s, %.2f us per relayed "
		    "datagram\n", cpu1 - cpu0, (cpu1 - cpu0) * 1e6 /
		    (2.0 * (double)rtts));
	close(ep);
}

/* ---- alloc and hold modes ---- */

static void
run_alloc(void)
{
	struct stun_msg	 m;
	uint8_t		 rbuf[2048];
	double		 t0, t, cpu0 = 0, cpu1 = 0;
	uint64_t	 done = 0, failed = 0;
	unsigned int	 i;

	t0 = now() + warmup;
	if (server_pid > 0)
		cpu0 = proc_cpu(server_pid);
	/*
	 * Round robin over the sessions, one Allocate + Refresh(0) each per
	 * turn: a closed loop of n 5-tuples (sequential per socket).
	 */
	for (t = now(); t < t0 + duration; t = now()) {
		for (i = 0; i < nsess; i++) {
			/* a fresh 5-tuple each time, as a new client has */
			sess_reopen(&sess[i]);
			if (sess_allocate(&sess[i], 0) == 0 &&
			    request(&sess[i], STUN_METHOD_REFRESH,
			    attrs_refresh0, NULL, rbuf, sizeof(rbuf), &m) ==
			    STUN_CLASS_SUCCESS) {
				if (t >= t0)
					done++;
			} else if (t >= t0)
				failed++;
		}
		if (t < t0 && server_pid > 0)
			cpu0 = proc_cpu(server_pid);
	}
	if (server_pid > 0)
		cpu1 = proc_cpu(server_pid);
	printf("mode alloc, %u sockets, %.0f s\n", nsess, duration);
	printf("allocations/s      %.0f (Allocate + Refresh 0; %llu failed)\n",
	    (double)done / duration, (unsigned long long)failed);
	if (server_pid > 0 && done > 0)
		printf("server cpu         %.2f s, %.1f us per allocation\n",
		    cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / (double)done);
}

static void
run_hold(void)
{
	long		rss0 = -1, rss1, fd0 = -1, fd1;
	unsigned int	i, ok = 0;

	if (server_pid > 0) {
		rss0 = proc_kb(server_pid, "VmRSS:");
		fd0 = proc_fds(server_pid);
	}
	for (i = 0; i < nsess; i++)
		ok += sess_allocate(&sess[i], 1) == 0;
	printf("mode hold, %u of %u allocations made with a permission and a "
	    "channel\n", ok, nsess);
	if (server_pid <= 0 || ok == 0)
		return;
	rss1 = proc_kb(server_pid, "VmRSS:");
	fd1 = proc_fds(server_pid);
	printf("server rss         %ld kB -> %ld kB: %.2f KiB per "
	    "allocation\n", rss0, rss1, (double)(rss1 - rss0) / ok);
	printf("server open files  %ld -> %ld: %.2f per allocation\n", fd0,
	    fd1, (double)(fd1 - fd0) / ok);
}

static void
usage(void)
{
	fprintf(stderr, "usage: turnload [-m relay|alloc|hold] [-n sessions] "
	    "[-w window] [-s size] [-d seconds]\n\t[-W warmup] [-i] [-u user] "
	    "[-p password] [-S secret] [-P server-pid] host port\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	pthread_t	 th;
	socklen_t	 sl;
	unsigned int	 i;
	int		 ch, pfd;

	while ((ch = getopt(argc, argv, "m:n:w:s:d:W:iu:p:S:P:")) != -1) {
		switch (ch) {
		case 'm': mode = optarg; break;
		case 'n': nsess = (unsigned int)atoi(optarg); break;
		case 'w': window = (unsigned int)atoi(optarg); break;
		case 's': size = (size_t)atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'W': warmup = atof(optarg); break;
		case 'i': use_send = 1; break;
		case 'u': user = optarg; break;
		case 'p': pass = optarg; break;
		case 'S': secret = optarg; break;
		case 'P': server_pid = atoi(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || nsess == 0 || nsess > MAX_SESSIONS ||
	    window == 0 || size < 16 || size > PKT_MAX || duration <= 0 ||
	    warmup < 0)
		usage();
	if (addr_parse_ip(argv[optind], &server) == -1)
		die("host: not an IP address");
	addr_set_port((struct sockaddr *)&server,
	    (uint16_t)atoi(argv[optind + 1]));

	/* the echo peer, on loopback of the server's family */
	memset(&peer, 0, sizeof(peer));
	addr_parse_ip(server.ss_family == AF_INET ? "127.0.0.1" : "::1",
	    &peer);
	if ((pfd = socket(peer.ss_family, SOCK_DGRAM, 0)) == -1 ||
	    bind(pfd, (struct sockaddr *)&peer,
	    addr_len((struct sockaddr *)&peer)) == -1)
		die("cannot bind the echo peer");
	sl = sizeof(peer);
	getsockname(pfd, (struct sockaddr *)&peer, &sl);
	{
		struct timeval	tv = { 0, 200000 };
		int		sz = 4 << 20;

		setsockopt(pfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(pfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(pfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	if (pthread_create(&th, NULL, peer_main, &pfd) != 0)
		die("pthread_create");

	for (i = 0; i < nsess; i++)
		sess_open(&sess[i], i);
	if (strcmp(mode, "relay") == 0) {
		for (i = 0; i < nsess; i++)
			if (sess_allocate(&sess[i], 1) == -1)
				die("setup failed (Allocate, CreatePermission "
				    "or ChannelBind); check the credentials, "
				    "relay.allow_peers for loopback and the "
				    "quota");
		run_relay();
	} else if (strcmp(mode, "alloc") == 0)
		run_alloc();
	else if (strcmp(mode, "hold") == 0)
		run_hold();
	else
		usage();
	/* leave nothing behind: the next run starts from a clean server */
	for (i = 0; i < nsess; i++) {
		struct stun_msg	m;
		uint8_t		rbuf[2048];

		if (sess[i].nonce[0] != '\0' && sess[i].relayed.ss_family != 0)
			(void)request(&sess[i], STUN_METHOD_REFRESH,
			    attrs_refresh0, NULL, rbuf, sizeof(rbuf), &m);
		close(sess[i].fd);
	}
	peer_stop = 1;
	pthread_join(th, NULL);
	return (0);
}
