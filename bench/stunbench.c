/*
 * stunbench.c -- a closed-loop STUN Binding load generator.
 *
 *	stunbench [-t udp|tcp] [-c conns] [-w window] [-d seconds] host port
 *
 * Each of `conns` sockets keeps `window` Binding requests in flight: every
 * success response that comes back (parsed and checked with turnd's own
 * codec: class, transaction id prefix, XOR-MAPPED-ADDRESS) is replaced by
 * a new request.  UDP requests lost on the way are refilled after a
 * quiet period and counted.  Prints answers per second at the end.  A
 * benchmark, not a test: it asserts nothing about speed.
 */

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "stun/stun.h"

#define MAX_CONNS	256
#define BATCH		64
#define RXBUF		2048

struct bconn {
	int		fd;
	unsigned int	inflight;
	double		last_rx;
	uint8_t		sbuf[65536];	/* TCP: partial frames */
	size_t		slen;
};

static int		 stream;
static unsigned int	 window = 32;
static uint64_t		 answers, sent, refills, bad;
static uint32_t		 run_id;

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static size_t
make_request(uint8_t *buf, size_t cap, uint64_t seq)
{
	struct stun_build	b;
	uint8_t			tid[STUN_TID_LEN];

	memcpy(tid, &run_id, 4);
	memcpy(tid + 4, &seq, 8);
	stun_build_init(&b, buf, cap,
	    STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), tid);
	return (stun_build_finish(&b));
}

static void
check_answer(const uint8_t *p, size_t len)
{
	struct stun_msg	m;
	const struct stun_attr *a;
	struct sockaddr_storage ss;

	if (stun_msg_parse(&m, p, len) != STUN_PARSE_OK ||
	    m.cls != STUN_CLASS_SUCCESS || memcmp(m.tid, &run_id, 4) != 0 ||
	    (a = stun_msg_find(&m, STUN_ATTR_XOR_MAPPED_ADDRESS)) == NULL ||
	    stun_attr_get_xaddr(a, m.tid, &ss) == -1) {
		bad++;
		return;
	}
	answers++;
}

static void
send_requests(struct bconn *c, unsigned int n)
{
	struct mmsghdr	msgs[BATCH];
	struct iovec	iov[BATCH];
	uint8_t		bufs[BATCH][64];
	unsigned int	i, k;
	int		r;
	size_t		len;

	while (n > 0) {
		k = n < BATCH ? n : BATCH;
		for (i = 0; i < k; i++) {
			len = make_request(bufs[i], sizeof(bufs[i]), sent + i);
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = len;
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		if (stream) {
			/* one write for the batch, as a pipelining client would */
			if (writev(c->fd, iov, (int)k) < 0)
				return;
			r = (int)k;
		} else if ((r = sendmmsg(c->fd, msgs, k, 0)) <= 0)
			return;
		sent += (unsigned int)r;
		c->inflight += (unsigned int)r;
		n -= (unsigned int)r;
	}
}

static void
read_udp(struct bconn *c)
{
	struct mmsghdr	msgs[BATCH];
	struct iovec	iov[BATCH];
	static uint8_t	bufs[BATCH][RXBUF];
	int		i, r;

	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = RXBUF;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	r = recvmmsg(c->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
	for (i = 0; i < r; i++)
		check_answer(bufs[i], msgs[i].msg_len);
	if (r > 0) {
		c->inflight -= (unsigned int)r > c->inflight ? c->inflight :
		    (unsigned int)r;
		c->last_rx = now();
		send_requests(c, window - c->inflight);
	}
}

static void
read_tcp(struct bconn *c)
{
	struct stun_frame	f;
	ssize_t			r;
	size_t			off = 0;
	unsigned int		got = 0;

	r = read(c->fd, c->sbuf + c->slen, sizeof(c->sbuf) - c->slen);
	if (r <= 0)
		return;
	c->slen += (size_t)r;
	while (stun_frame_next(c->sbuf + off, c->slen - off, &f) == 1) {
		check_answer(c->sbuf + off, f.msglen);
		off += f.framelen;
		got++;
	}
	memmove(c->sbuf, c->sbuf + off, c->slen - off);
	c->slen -= off;
	c->inflight -= got > c->inflight ? c->inflight : got;
	c->last_rx = now();
	send_requests(c, window - c->inflight);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: stunbench [-t udp|tcp] [-c conns] "
	    "[-w window] [-d seconds] host port\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static struct bconn	conns[MAX_CONNS];
	struct pollfd		pfd[MAX_CONNS];
	struct sockaddr_storage	ss;
	unsigned int		nconns = 4, i;
	double			duration = 5, t0, t1, tn;
	int			ch, on = 1;

	while ((ch = getopt(argc, argv, "c:d:t:w:")) != -1) {
		switch (ch) {
		case 'c':
			nconns = (unsigned int)atoi(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 't':
			stream = strcmp(optarg, "tcp") == 0;
			break;
		case 'w':
			window = (unsigned int)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || nconns < 1 || nconns > MAX_CONNS || window < 1 ||
	    window > 1024 || duration <= 0 || duration > 600)
		usage();
	if (addr_parse(argv[0], (uint16_t)atoi(argv[1]), &ss, NULL) == -1)
		usage();
	run_id = (uint32_t)getpid() ^ (uint32_t)time(NULL);

	for (i = 0; i < nconns; i++) {
		conns[i].fd = socket(ss.ss_family,
		    stream ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (conns[i].fd == -1 || connect(conns[i].fd,
		    (struct sockaddr *)&ss,
		    addr_len((struct sockaddr *)&ss)) == -1) {
			perror("connect");
			return (1);
		}
		if (stream)
			setsockopt(conns[i].fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof(on));
		pfd[i].fd = conns[i].fd;
		pfd[i].events = POLLIN;
	}
	t0 = now();
	for (i = 0; i < nconns; i++) {
		conns[i].last_rx = t0;
		send_requests(&conns[i], window);
	}
	for (t1 = t0; t1 - t0 < duration; t1 = now()) {
		if (poll(pfd, nconns, 50) < 0 && errno != EINTR)
			break;
		for (i = 0; i < nconns; i++) {
			if (pfd[i].revents & POLLIN) {
				if (stream)
					read_tcp(&conns[i]);
				else
					read_udp(&conns[i]);
			}
		}
		/* UDP: a window gone quiet lost packets; refill it. */
		tn = now();
		for (i = 0; !stream && i < nconns; i++)
			if (tn - conns[i].last_rx > 0.2) {
				refills += conns[i].inflight;
				conns[i].inflight = 0;
				conns[i].last_rx = tn;
				send_requests(&conns[i], window);
			}
	}
	t1 = now();
	printf("transport=%s conns=%u window=%u seconds=%.2f answers=%llu "
	    "answers_per_sec=%.0f sent=%llu lost_or_late=%llu bad=%llu\n",
	    stream ? "tcp" : "udp", nconns, window, t1 - t0,
	    (unsigned long long)answers, (double)answers / (t1 - t0),
	    (unsigned long long)sent, (unsigned long long)refills,
	    (unsigned long long)bad);
	for (i = 0; i < nconns; i++)
		close(conns[i].fd);
	return (bad > 0 ? 1 : 0);
}
