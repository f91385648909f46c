/*
 * test_rio.c -- the data path's batched sends on real loopback sockets:
 * datagrams queued to a peer or to a client arrive whole, in order and
 * with their heads and padding, whether they left one by one, in one
 * sendmmsg or as a UDP GSO run; and when the kernel refuses GSO (a socket
 * with SO_NO_CHECK), every datagram still arrives and GSO is turned off.
 * Paths without a socket of their own get their data through their
 * po_send: a stream's consecutive data of one allocation in one call, a
 * datagram path's one call per datagram.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "unit.h"

#ifndef SO_NO_CHECK
#define SO_NO_CHECK	11
#endif

/* A UDP socket on 127.0.0.1 and its address. */
static int
sock(struct sockaddr_in *sin)
{
	socklen_t	len = sizeof(*sin);
	int		fd, rcv = 1 << 20;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) == -1)
		return (-1);
	return (fd);
}

/* The next datagram on fd within a second, or -1. */
static ssize_t
recv1(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, 1000) != 1)
		return (-1);
	return (recv(fd, buf, cap, MSG_DONTWAIT));
}

/* n datagrams of len bytes (byte k of datagram i is i + k) to a peer. */
static void
check_to_peer(int nocheck, int expect_gso)
{
	struct sockaddr_in	 a, b;
	struct stats		 st;
	struct rio		*rio;
	uint8_t			 data[40][300], buf[2048];
	int			 fa, fb, i, k, ok = 1, on = 1;
	ssize_t			 n;

	memset(&st, 0, sizeof(st));
	CHECK((fa = sock(&a)) != -1);
	CHECK((fb = sock(&b)) != -1);
	if (nocheck)
		CHECK(setsockopt(fa, SOL_SOCKET, SO_NO_CHECK, &on,
		    sizeof(on)) == 0);
	rio = rio_new(&st);
	rio_begin(rio, 0);
	for (i = 0; i < 40; i++) {
		for (k = 0; k < 300; k++)
			data[i][k] = (uint8_t)(i + k);
		/* a short one in the middle breaks the run */
		rio_to_peer(rio, fa, (struct sockaddr *)&b, data[i],
		    i == 20 ? 7 : 300);
	}
	rio_flush(rio);
	for (i = 0; i < 40; i++) {
		n = recv1(fb, buf, sizeof(buf));
		if (n != (i == 20 ? 7 : 300) || memcmp(buf, data[i],
		    (size_t)n) != 0) {
			ok = 0;
			printf("# datagram %d: %zd bytes\n", i, n);
			break;
		}
	}
	CHECK(ok);
	CHECK(recv(fb, buf, sizeof(buf), MSG_DONTWAIT) == -1);
	CHECK_EQ_INT((int)atomic_load(&st.udp_send_errors), 0);
	CHECK_EQ_INT(rio_gso_on(rio), expect_gso);
	rio_free(rio);
	close(fa);
	close(fb);
}

static void
test_to_peer_gso(void)
{
	check_to_peer(0, 1);
}

static void
test_to_peer_gso_refused(void)
{
	check_to_peer(1, 0);
}

/* Heads, data and padding to a client through a listening socket. */
static void
check_to_client(int nocheck, int expect_gso)
{
	struct sockaddr_in	 a, b;
	struct stats		 st;
	struct rio		*rio;
	struct path		 us;
	struct mmsghdr		 msg[RIO_SLOTS];
	struct iovec		 iov[RIO_SLOTS];
	struct sockaddr_storage	 from[RIO_SLOTS];
	uint8_t			 head[4], buf[2048], *slot;
	unsigned int		 i, got;
	int			 fb, ok = 1, on = 1, key1, key2;
	ssize_t			 n;
	size_t			 len;

	memset(&st, 0, sizeof(st));
	memset(&us, 0, sizeof(us));
	us.p_transport = TRANSPORT_UDP;
	CHECK((us.p_fd = sock(&a)) != -1);
	CHECK((fb = sock(&b)) != -1);
	if (nocheck)
		CHECK(setsockopt(us.p_fd, SOL_SOCKET, SO_NO_CHECK, &on,
		    sizeof(on)) == 0);
	rio = rio_new(&st);
	got = rio_slots(rio, msg, iov, from, RIO_SLOTS);
	CHECK_EQ_INT((int)got, RIO_SLOTS);
	rio_slots_used(rio, 30);
	for (i = 0; i < 30; i++) {
		slot = iov[i].iov_base;
		len = i < 25 ? 101 : 60;
		memset(slot, (int)i, len);
		head[0] = 0x40;
		head[1] = (uint8_t)i;
		head[2] = 0;
		head[3] = (uint8_t)len;
		/* two allocations: 0..9 and 10..29; padded to 4 */
		rio_to_client(rio, i < 10 ? (void *)&key1 : (void *)&key2,
		    &us, (struct sockaddr *)&b, (struct sockaddr *)&a, head, 4,
		    slot, len, (4 - len % 4) % 4);
	}
	rio_flush_clients(rio);
	for (i = 0; i < 30 && ok; i++) {
		len = i < 25 ? 101 : 60;
		n = recv1(fb, buf, sizeof(buf));
		if (n != (ssize_t)((4 + len + 3) & ~(size_t)3) ||
		    buf[1] != i || buf[4] != i || buf[4 + len - 1] != i ||
		    (n > (ssize_t)(4 + len) && buf[4 + len] != 0)) {
			ok = 0;
			printf("# datagram %u: %zd bytes\n", i, n);
		}
	}
	CHECK(ok);
	CHECK(recv(fb, buf, sizeof(buf), MSG_DONTWAIT) == -1);
	CHECK_EQ_INT((int)atomic_load(&st.udp_send_errors), 0);
	CHECK_EQ_INT(rio_gso_on(rio), expect_gso);
	rio_free(rio);
	close(us.p_fd);
	close(fb);
}

static void
test_to_client_gso(void)
{
	check_to_client(0, 1);
}

static void
test_to_client_gso_refused(void)
{
	check_to_client(1, 0);
}

/* Outside a batch a datagram leaves at once. */
static void
test_unbatched(void)
{
	struct sockaddr_in	 a, b;
	struct stats		 st;
	struct rio		*rio;
	uint8_t			 buf[64];
	int			 fa, fb;

	memset(&st, 0, sizeof(st));
	CHECK((fa = sock(&a)) != -1);
	CHECK((fb = sock(&b)) != -1);
	rio = rio_new(&st);
	rio_to_peer(rio, fa, (struct sockaddr *)&b, (const uint8_t *)"hi", 2);
	CHECK(recv1(fb, buf, sizeof(buf)) == 2);
	/* a copying batch keeps data whose buffer is gone by the flush */
	rio_begin(rio, 1);
	memcpy(buf, "abc", 3);
	rio_to_peer(rio, fa, (struct sockaddr *)&b, buf, 3);
	memcpy(buf, "xyz", 3);
	rio_flush(rio);
	CHECK(recv1(fb, buf, sizeof(buf)) == 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	rio_free(rio);
	close(fa);
	close(fb);
}

/* A path that records what its po_send was given. */
struct rec_path {
	struct path	rp_path;	/* first */
	unsigned int	rp_calls;
	unsigned int	rp_iovs;
	size_t		rp_bytes;
	uint8_t		rp_data[4096];
};

static void
rec_send(struct path *p, const struct sockaddr *to,
    const struct sockaddr *from, const struct iovec *iov, int n)
{
	struct rec_path	*rp = (struct rec_path *)p;
	int		 i;

	(void)to;
	(void)from;
	rp->rp_calls++;
	rp->rp_iovs += (unsigned int)n;
	for (i = 0; i < n; i++) {
		if (rp->rp_bytes + iov[i].iov_len <= sizeof(rp->rp_data))
			memcpy(rp->rp_data + rp->rp_bytes, iov[i].iov_base,
			    iov[i].iov_len);
		rp->rp_bytes += iov[i].iov_len;
	}
}

static const struct path_ops rec_ops = { .po_send = rec_send };

/* Queue n datagrams of len bytes (value i) for key on p, padded to 4. */
static void
queue_for(struct rio *rio, struct path *p, const void *key, unsigned int n,
    size_t len, const struct sockaddr *to)
{
	struct mmsghdr		 msg[RIO_SLOTS];
	struct iovec		 iov[RIO_SLOTS];
	struct sockaddr_storage	 from[RIO_SLOTS];
	uint8_t			 head[4] = { 0x40, 0, 0, (uint8_t)len };
	unsigned int		 i, got;

	got = rio_slots(rio, msg, iov, from, n);
	rio_slots_used(rio, got);
	for (i = 0; i < got; i++) {
		memset(iov[i].iov_base, (int)i, len);
		rio_to_client(rio, key, p, to, to, head, 4, iov[i].iov_base,
		    len, (4 - len % 4) % 4);
	}
}

static void
test_to_client_paths(void)
{
	struct stats		 st;
	struct rio		*rio;
	struct rec_path		 stream, dgram;
	struct sockaddr_in	 to;
	int			 k1, k2;

	memset(&st, 0, sizeof(st));
	memset(&stream, 0, sizeof(stream));
	memset(&dgram, 0, sizeof(dgram));
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	path_init(&stream.rp_path, &rec_ops, TRANSPORT_TCP, -1, 0, 1);
	path_init(&dgram.rp_path, &rec_ops, TRANSPORT_DTLS, -1, 0, 0);
	rio = rio_new(&st);
	/* sizes differ: a stream joins them anyway, one write */
	queue_for(rio, &stream.rp_path, &k1, 3, 101, (struct sockaddr *)&to);
	queue_for(rio, &stream.rp_path, &k1, 2, 60, (struct sockaddr *)&to);
	queue_for(rio, &dgram.rp_path, &k2, 4, 100, (struct sockaddr *)&to);
	CHECK_EQ_INT((int)stream.rp_calls, 0);	/* nothing before the flush */
	rio_flush_clients(rio);
	CHECK_EQ_INT((int)stream.rp_calls, 1);
	CHECK_EQ_INT((int)stream.rp_iovs, 15);
	CHECK_EQ_INT((int)stream.rp_bytes, 3 * (4 + 104) + 2 * (4 + 60));
	CHECK(stream.rp_data[0] == 0x40 && stream.rp_data[4] == 0 &&
	    stream.rp_data[4 + 100] == 0 && stream.rp_data[4 + 101] == 0);
	CHECK(stream.rp_data[108 + 4] == 1);	/* the second datagram */
	CHECK_EQ_INT((int)dgram.rp_calls, 4);	/* one per datagram */
	CHECK_EQ_INT((int)dgram.rp_bytes, 4 * 104);
	/* a path that goes away takes what is queued for it first */
	queue_for(rio, &stream.rp_path, &k1, 1, 8, (struct sockaddr *)&to);
	rio_forget_path(rio, &dgram.rp_path);
	CHECK_EQ_INT((int)stream.rp_calls, 1);	/* not queued for dgram */
	rio_forget_path(rio, &stream.rp_path);
	CHECK_EQ_INT((int)stream.rp_calls, 2);
	CHECK_EQ_INT((int)atomic_load(&st.udp_send_errors), 0);
	rio_free(rio);
}

int
main(void)
{
	RUN(test_to_peer_gso);
	RUN(test_to_peer_gso_refused);
	RUN(test_to_client_gso);
	RUN(test_to_client_gso_refused);
	RUN(test_unbatched);
	RUN(test_to_client_paths);
	return (unit_done());
}
