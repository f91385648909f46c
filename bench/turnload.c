/*
 * turnload.c -- a TURN load generator: UDP, TCP or TLS client legs.
 *
 *	turnload [-m relay|overload|raw|alloc|hold] [-t udp|tcp|tls]
 *	    [-n sessions] [-w window] [-r rate] [-s size] [-d seconds]
 *	    [-W warmup] [-i] [-k] [-e peer-port] [-u user] [-p password]
 *	    [-S secret] [-P server-pid] host port
 *
 * relay (default): n sessions each Allocate, CreatePermission and
 *	ChannelBind to turnload's own echo peer, then keep `window` packets
 *	of `size` payload bytes in flight through the relay: ChannelData, or
 *	Send/Data indications with -i.  Every packet carries its send time;
 *	each one that comes back is a round trip, and is replaced at once.
 *	A session with nothing back for 0.5 s has its window counted lost
 *	and sent again; a packet that comes back after that is ignored.
 *	-t tcp or tls: one connection per session carries the requests and
 *	the ChannelData (padded to 4 bytes, RFC 8656 12.5), framed by their
 *	lengths; the relayed transport and the peer leg stay UDP.
 * overload: open loop; each session sends `rate` packets per second in
 *	1 ms ticks whatever comes back.  Reports what was delivered, the
 *	loss, the RTT of the delivered packets, fairness between sessions,
 *	and how a separate control session fares: a signed Refresh every
 *	20 ms, each given 1 s, never retransmitted.
 * raw:	no TURN at all: the relay mode's packets (a 4-byte ChannelData
 *	header and the payload) go straight to host:port, for a bare relay
 *	such as bench/udprelay, which forwards them to the echo peer bound
 *	with -e.
 * alloc:	n sessions loop Allocate + Refresh(0) as fast as answers come, each
 *	Allocate from a new socket (a new 5-tuple, as a new client).
 * hold:	n allocations with a permission and a channel each are made and
 *	held; the server's RSS and open files are read before and after.
 *	With -k they stay until SIGTERM or SIGINT ("holding" is printed
 *	once they are all made), then are released as in the other modes.
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
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/addr.h"
#include "stun/stun.h"
#include "turn/auth.h"

#define MAX_SESSIONS	32768	/* bounded first by RLIMIT_NOFILE */
#define MAX_WINDOW	1024
#define MAX_RATE	1000000	/* packets/s per session */
#define BATCH		32
#define PKT_MAX		1400
#define FRAME_MAX	(PKT_MAX + 128)	/* a data packet on the wire */
#define LOSS_TIMEOUT	0.5	/* s without an answer: the window is lost */
#define STALL		0.2	/* s with packets out and none back */
#define RX_CAP		16384	/* stream receive buffer, per session */
#define RX_READS	16	/* reads per session per wakeup */
#define SETUP_TIMEOUT	3.0	/* s for an answer over a stream */
#define TICK		0.001	/* overload pacing */
#define CATCH_UP	0.010	/* s of schedule caught up in a tick */
#define CTL_PERIOD	0.020	/* control Refresh every 20 ms */
#define CTL_TIMEOUT	1.0	/* ... each given 1 s */
#define CTL_SLOTS	64	/* outstanding control requests */
#define HOLD_MAX	600	/* s: -k holds at most this long */
/* RTT histogram: 10 us steps up to 20 ms, then 1 ms steps up to 1 s */
#define HIST_FINE	2000
#define HIST_FINE_US	10
#define HIST_COARSE	980
#define HIST_COARSE_US	1000
#define HIST_BUCKETS	(HIST_FINE + HIST_COARSE)
#define MEASURED	0x80000000U	/* id word: sent while measuring */

enum { T_UDP, T_TCP, T_TLS };

struct sess {
	int			 fd;
	SSL			*ssl;
	int			 dead;		/* stream broken */
	struct sockaddr_storage	 relayed;
	uint16_t		 chan;
	unsigned int		 id;
	unsigned int		 inflight;
	uint32_t		 seq;
	uint32_t		 lost_below;	/* below: counted lost */
	double			 last_rx;	/* loss timer */
	double			 quiet_since;	/* last packet back */
	uint64_t		 sched;		/* overload: due so far */
	uint64_t		 delivered;	/* measured, back */
	uint8_t			*rx;		/* stream: not framed yet */
	size_t			 rxlen;
	uint8_t			*tx;		/* stream: not written yet */
	size_t			 txoff, txlen, txcap;
	int			 out;		/* EPOLLOUT wanted */
	char			 user[STUN_USERNAME_MAX + 1];
	char			 realm[STUN_REALM_MAX + 1];
	char			 nonce[STUN_NONCE_MAX + 1];
	char			 pass[128];
	uint8_t			 key[16];
};

static const char	*mode = "relay";
static int		 transport = T_UDP;
static unsigned int	 nsess = 10, window = 8;
static double		 rate;
static size_t		 size = 100;
static double		 duration = 5, warmup = 1;
static int		 use_send, server_pid, peer_port, keep;
static const char	*user = "alice", *pass = "secret", *secret;
static struct sockaddr_storage server, peer;
static struct sess	 sess[MAX_SESSIONS];
static struct sess	 ctl;
static SSL_CTX		*tls_ctx;
static volatile int	 peer_stop, ctl_stop;
static sigset_t		 hold_sigs;	/* -k: what ends the hold */
static int		 open_loop;	/* overload */
static int		 epfd = -1;	/* the sessions' epoll */

/* what is measured (after the warmup) */
static int		 measuring;
static uint64_t		 rtts, sent_pkts, lost, bytes, unsent, closed;
static uint64_t		 stalls;
static double		 stall_max;
static uint64_t		 hist[HIST_BUCKETS + 1];

/* the control session of the overload mode */
static uint64_t		 ctl_sent, ctl_answered, ctl_errors;
static double		*ctl_lat;
static size_t		 ctl_latcap;

static const char *const transport_names[] = { "udp", "tcp", "tls" };

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

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "turnload: %s\n", what);
	exit(1);
}

static void *
xcalloc(size_t n, size_t sz)
{
	void	*p;

	if ((p = calloc(n, sz)) == NULL)
		die("out of memory");
	return (p);
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

/* ---- stream I/O: TCP or TLS, blocking (setup) or not (data) ---- */

static void
set_blocking(struct sess *s, int on)
{
	int	fl;

	if ((fl = fcntl(s->fd, F_GETFL)) == -1)
		return;
	fl = on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK;
	(void)fcntl(s->fd, F_SETFL, fl);
}

/* A stream that broke: out of the loop, counted, said. */
static void
sess_broke(struct sess *s, const char *why)
{
	s->dead = 1;
	closed++;
	if (epfd != -1)
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
	fprintf(stderr, "turnload: session %u: %s\n", s->id, why);
}

/*
 * Write up to len bytes: the count written, 0 if the socket would block
 * (*want_read set if TLS needs to read first), -1 if the stream broke.
 */
static ssize_t
stream_write(struct sess *s, const uint8_t *buf, size_t len, int *want_read)
{
	ssize_t	n;
	int	r, e;

	*want_read = 0;
	if (s->ssl == NULL) {
		n = write(s->fd, buf, len);
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR ? 0 : -1);
		return (n);
	}
	ERR_clear_error();
	if ((r = SSL_write(s->ssl, buf, (int)len)) > 0)
		return (r);
	e = SSL_get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_WRITE)
		return (0);
	if (e == SSL_ERROR_WANT_READ) {
		*want_read = 1;
		return (0);
	}
	return (-1);
}

/* Read into buf: the count, 0 if nothing yet, -1 at EOF or on error. */
static ssize_t
stream_read(struct sess *s, uint8_t *buf, size_t cap)
{
	ssize_t	n;
	int	r, e;

	if (s->ssl == NULL) {
		n = read(s->fd, buf, cap);
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR ? 0 : -1);
		return (n == 0 ? -1 : n);
	}
	ERR_clear_error();
	if ((r = SSL_read(s->ssl, buf, (int)cap)) > 0)
		return (r);
	e = SSL_get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return (0);
	return (-1);
}

/* Blocking: all of buf, 0 or -1. */
static int
stream_write_all(struct sess *s, const uint8_t *buf, size_t len)
{
	double	deadline = now() + SETUP_TIMEOUT;
	ssize_t	n;
	int	wr;

	while (len > 0) {
		if ((n = stream_write(s, buf, len, &wr)) < 0 ||
		    now() > deadline)
			return (-1);
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* ---- control transactions (setup), blocking with retransmissions ---- */

static void
tid_new(uint8_t tid[STUN_TID_LEN])
{
	arc4random_buf(tid, STUN_TID_LEN);
}

/*
 * Over a stream: the STUN frame with transaction id tid into rbuf
 * (parsed into m), skipping ChannelData and anything else; 0 or -1.
 */
static int
stream_await(struct sess *s, const uint8_t tid[STUN_TID_LEN], uint8_t *rbuf,
    size_t rcap, struct stun_msg *m)
{
	struct stun_frame	f;
	double			deadline = now() + SETUP_TIMEOUT;
	size_t			off;
	ssize_t			n;
	int			r, found = 0;

	while (!found) {
		off = 0;
		while ((r = stun_frame_next(s->rx + off, s->rxlen - off,
		    &f)) == 1) {
			if (f.kind == STUN_FRAME_STUN && f.msglen <= rcap) {
				memcpy(rbuf, s->rx + off, f.msglen);
				if (stun_msg_parse(m, rbuf, f.msglen) ==
				    STUN_PARSE_OK && memcmp(m->tid, tid,
				    STUN_TID_LEN) == 0)
					found = 1;
			}
			off += f.framelen;
			if (found)
				break;
		}
		memmove(s->rx, s->rx + off, s->rxlen - off);
		s->rxlen -= off;
		if (found)
			break;
		if (r == -1 || (r == 0 && f.framelen > RX_CAP) ||
		    now() > deadline)
			return (-1);
		if ((n = stream_read(s, s->rx + s->rxlen, RX_CAP - s->rxlen)) <
		    0)
			return (-1);
		s->rxlen += (size_t)n;
	}
	return (0);
}

/*
 * Send the request req and wait for its answer: the response in rbuf
 * (parsed into m), 0, or -1.  UDP retransmits; a stream waits.
 */
static int
exchange(struct sess *s, const uint8_t *req, size_t len,
    const uint8_t tid[STUN_TID_LEN], uint8_t *rbuf, size_t rcap,
    struct stun_msg *m)
{
	ssize_t	n;
	int	try;

	if (s->rx != NULL) {
		if (s->dead || stream_write_all(s, req, len) == -1)
			return (-1);
		return (stream_await(s, tid, rbuf, rcap, m));
	}
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

/* USERNAME, REALM, NONCE and MESSAGE-INTEGRITY once a nonce is known. */
static void
sign(struct stun_build *b, struct sess *s)
{
	if (s->nonce[0] == '\0')
		return;
	stun_build_str(b, STUN_ATTR_USERNAME, s->user);
	stun_build_str(b, STUN_ATTR_REALM, s->realm);
	stun_build_str(b, STUN_ATTR_NONCE, s->nonce);
	stun_build_integrity(b, s->key, sizeof(s->key));
}

/* The error code of an error response, or 0. */
static int
error_code(const struct stun_msg *m)
{
	const struct stun_attr	*a;

	a = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
	return (a != NULL && a->len >= 4 ? a->val[2] * 100 + a->val[3] : 0);
}

/* Realm and nonce of a 401 or 438 kept (and the key made): 0 or -1. */
static int
take_nonce(struct sess *s, const struct stun_msg *m)
{
	const struct stun_attr	*a;

	if ((a = stun_msg_find(m, STUN_ATTR_NONCE)) == NULL ||
	    stun_attr_get_str(a, STUN_NONCE_MAX, s->nonce,
	    sizeof(s->nonce)) == -1)
		return (-1);
	if ((a = stun_msg_find(m, STUN_ATTR_REALM)) != NULL &&
	    stun_attr_get_str(a, STUN_REALM_MAX, s->realm,
	    sizeof(s->realm)) == 0)
		stun_key_md5(s->user, s->realm, s->pass, s->key);
	return (0);
}

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
		sign(&b, s);
		if ((len = stun_build_finish(&b)) == 0 ||
		    exchange(s, req, len, tid, rbuf, rcap, m) == -1)
			return (-1);
		if (m->cls != STUN_CLASS_ERROR)
			return (m->cls);
		code = error_code(m);
		if (code != 401 && code != 438)
			return (m->cls);
		if (take_nonce(s, m) == -1)
			return (-1);
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

/*
 * s's connection to the server, blocking with timeouts: a UDP socket
 * connected to it, or a TCP connection (with TLS on it).
 */
static void
sess_connect(struct sess *s, int tr)
{
	struct timeval	tv = { 0, 300000 };
	double		deadline;
	int		sz = 1 << 20, on = 1, r, e;

	if ((s->fd = socket(server.ss_family, tr == T_UDP ? SOCK_DGRAM :
	    SOCK_STREAM, 0)) == -1)
		die("cannot open a client socket");
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (tr == T_UDP) {
		setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	} else
		setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(s->fd, (struct sockaddr *)&server,
	    addr_len((struct sockaddr *)&server)) == -1)
		die("cannot connect to the server");
	s->dead = 0;
	s->rxlen = s->txoff = s->txlen = 0;
	s->out = 0;
	if (tr != T_TLS)
		return;
	if ((s->ssl = SSL_new(tls_ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1)
		die("SSL_new");
	/* the socket's timeouts make each try short; the deadline bounds all */
	deadline = now() + SETUP_TIMEOUT;
	while ((r = SSL_connect(s->ssl)) != 1) {
		e = SSL_get_error(s->ssl, r);
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    now() > deadline)
			die("TLS handshake failed");
	}
}

static void
sess_close(struct sess *s)
{
	if (s->ssl != NULL) {
		(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}

/* Session id's state and credentials, connected over tr. */
static void
sess_open(struct sess *s, unsigned int id, int tr)
{
	char	uname[STUN_USERNAME_MAX + 1];

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->id = id;
	s->chan = (uint16_t)(0x4000 + (id % 0x1000));
	if (tr != T_UDP) {
		s->rx = xcalloc(1, RX_CAP);
		s->txcap = (2 * (size_t)window + 64) * FRAME_MAX;
		s->tx = xcalloc(1, s->txcap);
	}
	sess_connect(s, tr);
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

/* A new connection for s (a new 5-tuple); credentials and nonce kept. */
static void
sess_reopen(struct sess *s)
{
	sess_close(s);
	sess_connect(s, transport);
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

/* ---- data packets ---- */

static unsigned int
hist_bucket(uint64_t us)
{
	if (us < HIST_FINE * HIST_FINE_US)
		return ((unsigned int)(us / HIST_FINE_US));
	us -= HIST_FINE * HIST_FINE_US;
	if (us < HIST_COARSE * HIST_COARSE_US)
		return (HIST_FINE + (unsigned int)(us / HIST_COARSE_US));
	return (HIST_BUCKETS);
}

/* The upper edge of bucket i in ms. */
static double
hist_edge(unsigned int i)
{
	if (i < HIST_FINE)
		return ((double)(i + 1) * HIST_FINE_US / 1000.0);
	return ((HIST_FINE * HIST_FINE_US + (double)(i - HIST_FINE + 1) *
	    HIST_COARSE_US) / 1000.0);
}

static double
percentile(double q)
{
	uint64_t	target = (uint64_t)((double)rtts * q), acc = 0;
	unsigned int	i;

	for (i = 0; i <= HIST_BUCKETS; i++) {
		acc += hist[i];
		if (acc > target)
			return (hist_edge(i));
	}
	return (-1);
}

/*
 * One data packet of s into buf: its length, padded to 4 bytes on a
 * stream.  The payload starts with the session id (MEASURED set if sent
 * while measuring), the sequence number and the send time.
 */
static size_t
make_data(struct sess *s, uint8_t *buf, size_t cap)
{
	struct stun_build	b;
	uint8_t			payload[PKT_MAX], tid[STUN_TID_LEN], *p;
	uint64_t		t = now_ns();
	uint32_t		id = s->id | (measuring ? MEASURED : 0);
	size_t			len;

	p = use_send ? payload : buf + STUN_CHAN_HDR_LEN;
	memset(p + 16, 0x5a, size - 16);
	memcpy(p, &id, 4);
	memcpy(p + 4, &s->seq, 4);
	memcpy(p + 8, &t, 8);
	s->seq++;
	if (!use_send) {
		stun_chan_hdr(buf, s->chan, (uint16_t)size);
		len = STUN_CHAN_HDR_LEN + size;
		if (s->rx != NULL)
			while (len % 4 != 0)
				buf[len++] = 0;
		return (len);
	}
	tid_new(tid);
	stun_build_init(&b, buf, cap, STUN_TYPE(STUN_METHOD_SEND,
	    STUN_CLASS_INDICATION), tid);
	stun_build_xaddr(&b, STUN_ATTR_XOR_PEER_ADDRESS,
	    (struct sockaddr *)&peer);
	stun_build_attr(&b, STUN_ATTR_DATA, payload, size);
	return (stun_build_finish(&b));
}

static void
want_out(struct sess *s, int on)
{
	struct epoll_event	ev;

	if (s->out == on)
		return;
	s->out = on;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.u32 = s->id;
	epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

/* Write what s's stream has queued, as far as the socket takes it. */
static void
stream_flush(struct sess *s)
{
	ssize_t	n;
	int	wr;

	while (s->txoff < s->txlen && !s->dead) {
		if ((n = stream_write(s, s->tx + s->txoff, s->txlen - s->txoff,
		    &wr)) < 0) {
			sess_broke(s, "the stream broke while writing");
			break;
		}
		if (n == 0) {
			want_out(s, !wr);
			return;
		}
		s->txoff += (size_t)n;
	}
	s->txoff = s->txlen = 0;
	want_out(s, 0);
}

/*
 * Send k packets on s: one sendmmsg per BATCH over UDP, one write for all
 * of them over a stream.  Returns how many went (or were queued).
 */
static unsigned int
send_some(struct sess *s, unsigned int k)
{
	static uint8_t	buf[BATCH][FRAME_MAX];
	struct mmsghdr	msg[BATCH];
	struct iovec	iov[BATCH];
	unsigned int	i, done = 0;
	int		n;

	if (s->dead)
		return (0);
	if (s->rx != NULL) {
		if (s->txoff > 0 && s->txoff < s->txlen) {
			memmove(s->tx, s->tx + s->txoff, s->txlen - s->txoff);
			s->txlen -= s->txoff;
			s->txoff = 0;
		}
		for (; done < k && s->txcap - s->txlen >= FRAME_MAX; done++)
			s->txlen += make_data(s, s->tx + s->txlen, FRAME_MAX);
		s->inflight += done;
		if (measuring)
			sent_pkts += done;
		if (!s->out)
			stream_flush(s);
		return (done);
	}
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
		done += (unsigned int)n;
		if (measuring)
			sent_pkts += (uint64_t)n;
		if ((unsigned int)n < batch)
			break;		/* buffer full: the loss timer refills */
		k -= batch;
	}
	return (done);
}

/* The payload of a message from the server, or NULL. */
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
stall_end(struct sess *s, double t)
{
	double	gap = t - s->quiet_since;

	if (gap >= STALL && measuring) {
		stalls++;
		if (gap > stall_max)
			stall_max = gap;
	}
	s->quiet_since = t;
}

/*
 * A packet back on s at t: 1 if it counts (and frees a place in the
 * window), 0 if it is late (already counted lost) or not ours.
 */
static int
take(struct sess *s, const uint8_t *p, size_t len, double t)
{
	const uint8_t	*pl;
	size_t		 plen;
	uint64_t	 sent_at, us;
	uint32_t	 id, seq;

	if ((pl = payload_of(p, len, &plen)) == NULL || plen < 16)
		return (0);
	memcpy(&id, pl, 4);
	memcpy(&seq, pl + 4, 4);
	memcpy(&sent_at, pl + 8, 8);
	if ((id & ~MEASURED) != s->id ||
	    (!open_loop && (int32_t)(seq - s->lost_below) < 0))
		return (0);
	if (s->inflight > 0)
		s->inflight--;
	s->last_rx = t;
	stall_end(s, t);
	if (open_loop ? (id & MEASURED) == 0 : !measuring)
		return (1);
	rtts++;
	s->delivered++;
	bytes += plen;
	us = (now_ns() - sent_at) / 1000;
	hist[hist_bucket(us)]++;
	return (1);
}

/* UDP: one recvmmsg; returns the packets that count. */
static unsigned int
receive_udp(struct sess *s, double t)
{
	static uint8_t		 buf[BATCH][FRAME_MAX];
	struct mmsghdr		 msg[BATCH];
	struct iovec		 iov[BATCH];
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
		return (0);
	for (i = 0; i < n; i++)
		got += (unsigned int)take(s, buf[i], msg[i].msg_len, t);
	return (got);
}

/*
 * A stream: up to RX_READS reads, every whole frame taken (STUN answers
 * and late frames skipped), partial ones kept.  Returns the packets that
 * count; *more is set if the reads stopped before the socket was dry.
 */
static unsigned int
receive_stream(struct sess *s, double t, int *more)
{
	struct stun_frame	f;
	unsigned int		got = 0, i;
	size_t			off;
	ssize_t			n;
	int			r = 0;

	*more = 0;
	for (i = 0; i < RX_READS && !s->dead; i++) {
		if ((n = stream_read(s, s->rx + s->rxlen, RX_CAP - s->rxlen)) ==
		    0)
			return (got);
		if (n < 0) {
			sess_broke(s, "the server closed the stream");
			return (got);
		}
		s->rxlen += (size_t)n;
		off = 0;
		while ((r = stun_frame_next(s->rx + off, s->rxlen - off,
		    &f)) == 1) {
			got += (unsigned int)take(s, s->rx + off, f.msglen, t);
			off += f.framelen;
		}
		memmove(s->rx, s->rx + off, s->rxlen - off);
		s->rxlen -= off;
		if (r == -1 || (r == 0 && f.framelen > RX_CAP)) {
			sess_broke(s, "garbage on the stream");
			return (got);
		}
	}
	*more = 1;
	return (got);
}

static unsigned int
receive(struct sess *s, double t, int *more)
{
	*more = 0;
	if (s->dead)
		return (0);
	if (s->rx != NULL)
		return (receive_stream(s, t, more));
	return (receive_udp(s, t));
}

static void
epoll_sessions(void)
{
	struct epoll_event	ev;
	unsigned int		i;

	if ((epfd = epoll_create1(0)) == -1)
		die("epoll_create1");
	for (i = 0; i < nsess; i++) {
		if (sess[i].rx != NULL)
			set_blocking(&sess[i], 0);
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, sess[i].fd, &ev) == -1)
			die("epoll_ctl");
	}
}

/* Events of one epoll_wait handled; a session with more to read kept. */
static void
handle_events(struct epoll_event *evs, int n, double t,
    unsigned char *again, int refill)
{
	struct sess	*s;
	unsigned int	 got, i;
	int		 j, more;

	for (j = 0; j < n; j++) {
		s = &sess[evs[j].data.u32];
		if ((evs[j].events & EPOLLOUT) != 0)
			stream_flush(s);
		if ((evs[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) == 0)
			continue;
		got = receive(s, t, &more);
		again[s->id] = (unsigned char)more;
		if (got > 0 && refill)
			send_some(s, got);
		else if (s->txoff < s->txlen && !s->out)
			stream_flush(s);	/* TLS had to read first */
	}
	/* TLS may hold bytes the socket no longer shows */
	for (i = 0; i < nsess; i++) {
		if (!again[i])
			continue;
		s = &sess[i];
		got = receive(s, t, &more);
		again[i] = (unsigned char)more;
		if (got > 0 && refill)
			send_some(s, got);
	}
}

static int
any_again(const unsigned char *again)
{
	unsigned int	i;

	for (i = 0; i < nsess; i++)
		if (again[i])
			return (1);
	return (0);
}

/* Sessions still quiet at the end of the run: stalls that did not end. */
static void
stalls_open(double t)
{
	unsigned int	i;

	for (i = 0; i < nsess; i++)
		if (!sess[i].dead && sess[i].inflight > 0)
			stall_end(&sess[i], t);
}

static void
print_common(double cpu0, double cpu1)
{
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
	if (closed > 0)
		printf("streams broken     %llu\n", (unsigned long long)closed);
}

/* ---- relay and raw modes: closed loop ---- */

static void
run_relay(void)
{
	struct epoll_event	 evs[256];
	unsigned char		*again;
	double			 t, start, end, cpu0 = 0, cpu1 = 0;
	unsigned int		 i;
	int			 n;

	again = xcalloc(nsess, 1);
	epoll_sessions();
	t = now();
	for (i = 0; i < nsess; i++) {
		sess[i].last_rx = sess[i].quiet_since = t;
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
		n = epoll_wait(epfd, evs, 256, any_again(again) ? 0 : 50);
		t = now();
		handle_events(evs, n, t, again, 1);
		for (i = 0; i < nsess; i++) {
			struct sess	*s = &sess[i];

			if (s->dead || t - s->last_rx <= LOSS_TIMEOUT)
				continue;
			if (measuring)
				lost += s->inflight;
			s->lost_below = s->seq;
			s->inflight = 0;
			s->last_rx = t;
			send_some(s, window);
		}
	}
	if (server_pid > 0)
		cpu1 = proc_cpu(server_pid);
	stalls_open(now());
	measuring = 0;
	if (strcmp(mode, "raw") == 0)
		printf("mode raw (4-byte header, no TURN), %u sessions x %u "
		    "in flight, %zu B payload, %.0f s\n", nsess, window, size,
		    duration);
	else
		printf("mode relay (%s over %s), %u sessions x %u in flight, "
		    "%zu B payload, %.0f s\n", use_send ?
		    "Send/Data indications" : "ChannelData",
		    transport_names[transport], nsess, window, size, duration);
	print_common(cpu0, cpu1);
	printf("stalls %llu (longest %.0f ms)\n", (unsigned long long)stalls,
	    stall_max * 1000);
	close(epfd);
	epfd = -1;
	free(again);
}

/* ---- overload mode: open loop, and a control session beside it ---- */

static void
attrs_refresh600(struct stun_build *b, struct sess *s, void *arg)
{
	(void)s;
	(void)arg;
	stun_build_u32(b, STUN_ATTR_LIFETIME, 600);
}

struct ctl_slot {
	uint8_t		tid[STUN_TID_LEN];
	double		sent;
	int		busy;
};

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* One answer on the control socket matched against the slots. */
static void
ctl_answer(struct ctl_slot *slot, const uint8_t *buf, size_t len, double t)
{
	struct stun_msg	m;
	unsigned int	i;

	if (stun_msg_parse(&m, buf, len) != STUN_PARSE_OK)
		return;
	for (i = 0; i < CTL_SLOTS; i++)
		if (slot[i].busy && memcmp(slot[i].tid, m.tid,
		    STUN_TID_LEN) == 0)
			break;
	if (i == CTL_SLOTS)
		return;			/* timed out already */
	slot[i].busy = 0;
	if (m.cls == STUN_CLASS_SUCCESS) {
		if (ctl_answered < ctl_latcap)
			ctl_lat[ctl_answered] = t - slot[i].sent;
		ctl_answered++;
		return;
	}
	ctl_errors++;
	if (m.cls == STUN_CLASS_ERROR && error_code(&m) == 438)
		(void)take_nonce(&ctl, &m);
}

/* A control request out, whole: 0, or -1 if it could not go. */
static int
ctl_send(const uint8_t *req, size_t len)
{
	struct pollfd	pfd;
	ssize_t		n;
	int		wr, tries;

	if (ctl.rx == NULL)
		return (send(ctl.fd, req, len, MSG_DONTWAIT) == -1 ? -1 : 0);
	/* a stream: half a request would garble the rest, so 1 s at most */
	for (tries = 0; len > 0 && !ctl.dead && tries < 100; tries++) {
		if ((n = stream_write(&ctl, req, len, &wr)) < 0)
			break;
		req += n;
		len -= (size_t)n;
		if (len > 0) {
			pfd.fd = ctl.fd;
			pfd.events = wr ? POLLIN : POLLOUT;
			(void)poll(&pfd, 1, 10);
		}
	}
	if (len > 0)
		ctl.dead = 1;
	return (len > 0 ? -1 : 0);
}

/* What the control socket has: every answer matched to its slot. */
static void
ctl_receive(struct ctl_slot *slot)
{
	struct stun_frame	f;
	uint8_t			buf[2048];
	size_t			off;
	ssize_t			n;
	int			i, r;

	if (ctl.rx == NULL) {
		for (i = 0; i < BATCH && (n = recv(ctl.fd, buf, sizeof(buf),
		    MSG_DONTWAIT)) > 0; i++)
			ctl_answer(slot, buf, (size_t)n, now());
		return;
	}
	for (i = 0; i < RX_READS && !ctl.dead; i++) {
		if ((n = stream_read(&ctl, ctl.rx + ctl.rxlen,
		    RX_CAP - ctl.rxlen)) <= 0) {
			if (n < 0)
				ctl.dead = 1;
			return;
		}
		ctl.rxlen += (size_t)n;
		off = 0;
		while ((r = stun_frame_next(ctl.rx + off, ctl.rxlen - off,
		    &f)) == 1) {
			if (f.kind == STUN_FRAME_STUN)
				ctl_answer(slot, ctl.rx + off, f.msglen,
				    now());
			off += f.framelen;
		}
		memmove(ctl.rx, ctl.rx + off, ctl.rxlen - off);
		ctl.rxlen -= off;
		if (r == -1 || (r == 0 && f.framelen > RX_CAP))
			ctl.dead = 1;
	}
}

/*
 * The control session: a Refresh (LIFETIME 600, signed) every 20 ms
 * until ctl_stop, each with 1 s for its answer, no retransmission.
 */
static void *
ctl_main(void *arg)
{
	struct ctl_slot		slot[CTL_SLOTS];
	struct stun_build	b;
	struct pollfd		pfd;
	uint8_t			req[1024];
	double			t, next, last = 0;
	unsigned int		i, busy;
	size_t			len;
	int			wait_ms;

	(void)arg;
	memset(slot, 0, sizeof(slot));
	if (ctl.rx != NULL)
		set_blocking(&ctl, 0);
	pfd.fd = ctl.fd;
	pfd.events = POLLIN;
	next = now();
	for (;;) {
		t = now();
		busy = 0;
		for (i = 0; i < CTL_SLOTS; i++) {
			if (slot[i].busy && t - slot[i].sent > CTL_TIMEOUT)
				slot[i].busy = 0;	/* not answered */
			busy += (unsigned int)slot[i].busy;
		}
		if (ctl_stop && (busy == 0 || t - last > CTL_TIMEOUT))
			break;
		if (!ctl_stop && t >= next) {
			for (i = 0; i < CTL_SLOTS && slot[i].busy; i++)
				;
			if (i < CTL_SLOTS) {
				tid_new(slot[i].tid);
				stun_build_init(&b, req, sizeof(req),
				    STUN_TYPE(STUN_METHOD_REFRESH,
				    STUN_CLASS_REQUEST), slot[i].tid);
				attrs_refresh600(&b, &ctl, NULL);
				sign(&b, &ctl);
				len = stun_build_finish(&b);
				slot[i].sent = last = now();
				slot[i].busy = 1;
				ctl_sent++;
				if (len == 0 || ctl_send(req, len) == -1)
					slot[i].busy = 0;
			} else
				ctl_sent++;	/* no slot: unanswered */
			next += CTL_PERIOD;
			if (next < t)
				next = t + CTL_PERIOD;
		}
		wait_ms = (int)((next - now()) * 1000) + 1;
		if (wait_ms < 0 || ctl_stop)
			wait_ms = ctl_stop ? 10 : 0;
		if (wait_ms > 10)
			wait_ms = 10;
		if (poll(&pfd, 1, wait_ms) <= 0)
			continue;
		ctl_receive(slot);
	}
	return (NULL);
}

static void
run_overload(void)
{
	struct epoll_event	 evs[256];
	pthread_t		 th;
	unsigned char		*again;
	double			 t, t0, start, end, stop, next, cpu0 = 0;
	double			 cpu1 = 0, sum = 0, sumsq = 0, x, p99;
	uint64_t		 due, cap, lo = UINT64_MAX, hi = 0;
	unsigned int		 i;
	int			 n, wait_ms, ctl_on = 0;

	again = xcalloc(nsess, 1);
	epoll_sessions();
	ctl_latcap = (size_t)((duration + 1) / CTL_PERIOD) + 16;
	ctl_lat = xcalloc(ctl_latcap, sizeof(double));
	cap = (uint64_t)(rate * CATCH_UP) + 1;
	t0 = now();
	start = t0 + warmup;
	end = start + duration;
	stop = end + LOSS_TIMEOUT;	/* the last ones have time to come */
	next = t0;
	for (i = 0; i < nsess; i++)
		sess[i].last_rx = sess[i].quiet_since = t0;
	for (;;) {
		t = now();
		if (!measuring && t >= start && t < end) {
			measuring = 1;
			if (server_pid > 0)
				cpu0 = proc_cpu(server_pid);
			if (pthread_create(&th, NULL, ctl_main, NULL) != 0)
				die("pthread_create");
			ctl_on = 1;
		}
		if (measuring && t >= end) {
			measuring = 0;
			if (server_pid > 0)
				cpu1 = proc_cpu(server_pid);
			ctl_stop = 1;
		}
		if (t >= stop)
			break;
		if (t >= next && t < end) {
			for (i = 0; i < nsess; i++) {
				struct sess	*s = &sess[i];
				unsigned int	 k, sent;

				due = (uint64_t)((t - t0) * rate);
				if (due - s->sched > cap) {
					if (measuring)
						unsent += due - s->sched - cap;
					s->sched = due - cap;
				}
				k = (unsigned int)(due - s->sched);
				s->sched = due;
				sent = send_some(s, k);
				if (measuring)
					unsent += k - sent;
			}
			next += TICK;
			if (next < t)
				next = t + TICK;
		}
		wait_ms = any_again(again) ? 0 :
		    (int)((next - now()) * 1000 + 0.999);
		if (wait_ms < 0)
			wait_ms = 0;
		if (t >= end)
			wait_ms = 10;
		n = epoll_wait(epfd, evs, 256, wait_ms);
		handle_events(evs, n, now(), again, 0);
	}
	if (ctl_on)
		pthread_join(th, NULL);
	/* sent while measuring and not back: lost */
	lost = sent_pkts > rtts ? sent_pkts - rtts : 0;
	for (i = 0; i < nsess; i++) {
		x = (double)sess[i].delivered;
		sum += x;
		sumsq += x * x;
		if (sess[i].delivered < lo)
			lo = sess[i].delivered;
		if (sess[i].delivered > hi)
			hi = sess[i].delivered;
	}
	printf("mode overload (ChannelData over %s), %u sessions x %.0f "
	    "packets/s offered, %zu B payload, %.0f s\n",
	    transport_names[transport], nsess, rate, size, duration);
	printf("offered pkt/s      %.0f asked, %.0f sent (%llu not sent: "
	    "socket full or generator behind)\n", rate * nsess,
	    (double)sent_pkts / duration, (unsigned long long)unsent);
	print_common(cpu0, cpu1);
	printf("fairness           delivered per session min %llu max %llu, "
	    "Jain %.3f\n", (unsigned long long)lo, (unsigned long long)hi,
	    sumsq > 0 ? sum * sum / ((double)nsess * sumsq) : 0);
	p99 = -1;
	if (ctl_answered > 0) {
		size_t	k = ctl_answered < ctl_latcap ? ctl_answered :
		    ctl_latcap;

		qsort(ctl_lat, k, sizeof(double), cmp_double);
		p99 = ctl_lat[(size_t)((double)(k - 1) * 0.99)];
	}
	if (p99 >= 0)
		printf("control answered %llu of %llu, p99 %.1f ms",
		    (unsigned long long)ctl_answered,
		    (unsigned long long)ctl_sent, p99 * 1000);
	else
		printf("control answered %llu of %llu, p99 - ms",
		    (unsigned long long)ctl_answered,
		    (unsigned long long)ctl_sent);
	if (ctl_errors > 0)
		printf(" (%llu error responses)",
		    (unsigned long long)ctl_errors);
	if (ctl.dead)
		printf(" (its stream broke)");
	printf("\n");
	close(epfd);
	epfd = -1;
	free(again);
	free(ctl_lat);
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

/*
 * -k: wait for SIGTERM or SIGINT (blocked in every thread since main()
 * began), the allocations held meanwhile; at most HOLD_MAX seconds, the
 * server's default allocation lifetime, after which it would end them.
 */
static void
hold_until_signal(void)
{
	struct timespec	ts = { HOLD_MAX, 0 };
	double		end = now() + HOLD_MAX;

	printf("holding until SIGTERM or SIGINT\n");
	fflush(stdout);
	while (sigtimedwait(&hold_sigs, NULL, &ts) == -1 && errno == EINTR &&
	    now() < end)
		;
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
	if (server_pid > 0 && ok > 0) {
		rss1 = proc_kb(server_pid, "VmRSS:");
		fd1 = proc_fds(server_pid);
		printf("server rss         %ld kB -> %ld kB: %.2f KiB per "
		    "allocation\n", rss0, rss1, (double)(rss1 - rss0) / ok);
		printf("server open files  %ld -> %ld: %.2f per allocation\n",
		    fd0, fd1, (double)(fd1 - fd0) / ok);
	}
	fflush(stdout);
	if (keep)
		hold_until_signal();
}

/* ---- the end: every allocation released, every stream closed ---- */

static void
release(struct sess *s)
{
	struct stun_msg	m;
	uint8_t		rbuf[2048];
	double		deadline;
	int		wr;
	ssize_t		n;

	if (s->fd == -1)
		return;
	if (s->rx != NULL && !s->dead) {
		set_blocking(s, 1);
		/* the rest of a frame must go before a request may */
		deadline = now() + SETUP_TIMEOUT;
		while (s->txoff < s->txlen && now() < deadline) {
			if ((n = stream_write(s, s->tx + s->txoff,
			    s->txlen - s->txoff, &wr)) < 0)
				break;
			s->txoff += (size_t)n;
		}
		if (s->txoff < s->txlen)
			s->dead = 1;
	}
	if (s->nonce[0] != '\0' && s->relayed.ss_family != 0 && !s->dead)
		(void)request(s, STUN_METHOD_REFRESH, attrs_refresh0, NULL,
		    rbuf, sizeof(rbuf), &m);
	sess_close(s);
	free(s->rx);
	free(s->tx);
	s->rx = s->tx = NULL;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: turnload [-m relay|overload|raw|alloc|hold] "
	    "[-t udp|tcp|tls] [-n sessions]\n\t[-w window] [-r rate] "
	    "[-s size] [-d seconds] [-W warmup] [-i] [-k]\n\t[-e peer-port] "
	    "[-u user] [-p password] [-S secret] [-P server-pid]\n\thost "
	    "port\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	pthread_t	 th;
	socklen_t	 sl;
	unsigned int	 i;
	int		 ch, pfd, raw;

	while ((ch = getopt(argc, argv, "m:t:n:w:r:s:d:W:ike:u:p:S:P:")) !=
	    -1) {
		switch (ch) {
		case 'm': mode = optarg; break;
		case 't':
			for (transport = T_TLS; transport >= T_UDP; transport--)
				if (strcmp(optarg,
				    transport_names[transport]) == 0)
					break;
			if (transport < T_UDP)
				usage();
			break;
		case 'n': nsess = (unsigned int)atoi(optarg); break;
		case 'w': window = (unsigned int)atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 's': size = (size_t)atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'W': warmup = atof(optarg); break;
		case 'i': use_send = 1; break;
		case 'k': keep = 1; break;
		case 'e': peer_port = atoi(optarg); break;
		case 'u': user = optarg; break;
		case 'p': pass = optarg; break;
		case 'S': secret = optarg; break;
		case 'P': server_pid = atoi(optarg); break;
		default: usage();
		}
	}
	if (strcmp(mode, "relay") != 0 && strcmp(mode, "overload") != 0 &&
	    strcmp(mode, "raw") != 0 && strcmp(mode, "alloc") != 0 &&
	    strcmp(mode, "hold") != 0)
		usage();
	raw = strcmp(mode, "raw") == 0;
	open_loop = strcmp(mode, "overload") == 0;
	if (argc - optind != 2 || nsess == 0 || nsess > MAX_SESSIONS ||
	    window == 0 || window > MAX_WINDOW || size < 16 ||
	    size > PKT_MAX || duration <= 0 || warmup < 0 ||
	    peer_port < 0 || peer_port > 65535 ||
	    (raw && (peer_port == 0 || transport != T_UDP || use_send)) ||
	    (keep && strcmp(mode, "hold") != 0) ||
	    (strcmp(mode, "overload") == 0 && (rate <= 0 || rate > MAX_RATE ||
	    use_send)))
		usage();
	if (keep) {
		/* before any thread: sigtimedwait() alone takes them */
		sigemptyset(&hold_sigs);
		sigaddset(&hold_sigs, SIGTERM);
		sigaddset(&hold_sigs, SIGINT);
		pthread_sigmask(SIG_BLOCK, &hold_sigs, NULL);
	}
	if (addr_parse_ip(argv[optind], &server) == -1)
		die("host: not an IP address");
	addr_set_port((struct sockaddr *)&server,
	    (uint16_t)atoi(argv[optind + 1]));
	if (transport == T_TLS) {
		/* loopback benchmarking: no verification of the server */
		if ((tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			die("SSL_CTX_new");
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}

	/* the echo peer, on loopback of the server's family */
	memset(&peer, 0, sizeof(peer));
	addr_parse_ip(server.ss_family == AF_INET ? "127.0.0.1" : "::1",
	    &peer);
	addr_set_port((struct sockaddr *)&peer, (uint16_t)peer_port);
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
		sess_open(&sess[i], i, transport);
	if (strcmp(mode, "relay") == 0 || strcmp(mode, "overload") == 0) {
		for (i = 0; i < nsess; i++)
			if (sess_allocate(&sess[i], 1) == -1)
				die("setup failed (Allocate, CreatePermission "
				    "or ChannelBind); check the credentials, "
				    "relay.allow_peers for loopback and the "
				    "quota");
	}
	if (strcmp(mode, "overload") == 0) {
		/* the control session: its own socket and allocation */
		sess_open(&ctl, MAX_SESSIONS, transport);
		if (sess_allocate(&ctl, 0) == -1)
			die("setup of the control session failed");
		run_overload();
	} else if (strcmp(mode, "relay") == 0 || raw)
		run_relay();
	else if (strcmp(mode, "alloc") == 0)
		run_alloc();
	else
		run_hold();
	/* leave nothing behind: the next run starts from a clean server */
	for (i = 0; i < nsess; i++)
		release(&sess[i]);
	if (strcmp(mode, "overload") == 0)
		release(&ctl);
	peer_stop = 1;
	pthread_join(th, NULL);
	if (tls_ctx != NULL)
		SSL_CTX_free(tls_ctx);
	return (0);
}
