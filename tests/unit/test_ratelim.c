/*
 * test_ratelim.c -- answers per second per source IP, shared by threads
 * (src/turn/ratelim.c).
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <string.h>

#include "turn/ratelim.h"
#include "unit.h"

#define NOW		((time_t)1700000000)
#define THREADS		4
#define CALLS		20000
#define RATE		1000

static struct sockaddr_storage	ip1, ip2, ip1port, ip2mapped;

static void
mkaddr(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
		abort();
}

static unsigned int
allow_n(struct ratelim *rl, const struct sockaddr_storage *ss, time_t now,
    unsigned int rate, unsigned int n)
{
	unsigned int	i, yes = 0;

	for (i = 0; i < n; i++)
		yes += (unsigned int)ratelim_allow(rl,
		    (const struct sockaddr *)ss, now, rate);
	return (yes);
}

/* rate a second per IP, whatever the port; a new second, a new budget. */
static void
test_rate(void)
{
	struct ratelim	*rl = ratelim_new();

	CHECK_EQ_INT(allow_n(rl, &ip1, NOW, 3, 2), 2);
	CHECK_EQ_INT(allow_n(rl, &ip1port, NOW, 3, 5), 1);
	CHECK_EQ_INT(allow_n(rl, &ip2, NOW, 3, 5), 3);
	/* the IPv4-mapped form (a dual-stack socket) is the same source */
	CHECK_EQ_INT(allow_n(rl, &ip2mapped, NOW, 3, 5), 0);
	CHECK_EQ_INT(allow_n(rl, &ip1, NOW + 1, 3, 5), 3);
	/* 0: no limit */
	CHECK_EQ_INT(allow_n(rl, &ip1, NOW + 1, 0, 100), 100);
	CHECK_EQ_INT(ratelim_allow(NULL, (const struct sockaddr *)&ip1, NOW,
	    3), 1);
	ratelim_free(rl);
	ratelim_free(NULL);
}

/*
 * A worker whose clock is a second behind counts in the later second
 * another worker already opened: it never reopens the earlier one.
 */
static void
test_clock_skew(void)
{
	struct ratelim	*rl = ratelim_new();

	CHECK_EQ_INT(allow_n(rl, &ip1, NOW, 4, 4), 4);
	CHECK_EQ_INT(allow_n(rl, &ip1, NOW + 1, 4, 2), 2);
	CHECK_EQ_INT(allow_n(rl, &ip1, NOW, 4, 4), 2);
	CHECK_EQ_INT(allow_n(rl, &ip1, NOW + 1, 4, 4), 0);
	CHECK_EQ_INT(allow_n(rl, &ip1, NOW + 2, 4, 5), 4);
	ratelim_free(rl);
}

struct worker_arg {
	struct ratelim	*rl;
	unsigned int	 yes;
};

static void *
worker(void *arg)
{
	struct worker_arg	*wa = arg;

	wa->yes = allow_n(wa->rl, &ip1, NOW, RATE, CALLS);
	return (NULL);
}

/* Threads sharing one table give one source exactly rate in a second. */
static void
test_threads(void)
{
	struct ratelim		*rl = ratelim_new();
	struct worker_arg	 wa[THREADS];
	pthread_t		 th[THREADS];
	unsigned int		 i, total = 0;

	for (i = 0; i < THREADS; i++) {
		wa[i].rl = rl;
		wa[i].yes = 0;
		if (pthread_create(&th[i], NULL, worker, &wa[i]) != 0)
			abort();
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		total += wa[i].yes;
	}
	CHECK_EQ_INT(total, RATE);
	ratelim_free(rl);
}

int
main(void)
{
	mkaddr(&ip1, "192.0.2.1", 1000);
	mkaddr(&ip1port, "192.0.2.1", 2000);
	mkaddr(&ip2, "192.0.2.2", 1000);
	memset(&ip2mapped, 0, sizeof(ip2mapped));
	((struct sockaddr_in6 *)&ip2mapped)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)&ip2mapped)->sin6_port = htons(1001);
	if (inet_pton(AF_INET6, "::ffff:192.0.2.2",
	    &((struct sockaddr_in6 *)&ip2mapped)->sin6_addr) != 1)
		abort();
	RUN(test_rate);
	RUN(test_clock_skew);
	RUN(test_threads);
	return (unit_done());
}
