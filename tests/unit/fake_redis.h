/*
 * fake_redis.h -- a Redis server the test plays itself, on a unix socket
 * in a temporary directory, so that the real store (src/store) talks to
 * it through hiredis and the test decides what Redis answers, and when.
 *
 * One connection, commands read whole (RESP arrays of bulk strings, as
 * hiredis sends them) while the test pumps the store's event loop.
 * Redis answers in order, so every command read must be answered before
 * the next one is (fr_expect() answers the ones it skips with +OK: the
 * store sends its mirror writes without a callback).
 * Include after unit.h.
 */

#ifndef FAKE_REDIS_H
#define FAKE_REDIS_H

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define FR_ARGS		16
#define FR_ARGLEN	1024
#define FR_WAIT_MS	5000	/* longest wait for anything */

struct fake_redis {
	char			 fr_dir[64];
	char			 fr_path[104];	/* fits sun_path */
	int			 fr_lfd;	/* listening */
	int			 fr_fd;		/* the store's connection */
	struct event_base	*fr_base;	/* the store's loop */
	char			 fr_in[65536];
	size_t			 fr_inlen;
	int			 fr_argc;	/* the last command read */
	char			 fr_argv[FR_ARGS][FR_ARGLEN];
};

static inline long long
fr_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Run the store's loop once without blocking, then wait a little. */
static inline void
fr_pump(struct fake_redis *fr)
{
	event_base_loop(fr->fr_base, EVLOOP_NONBLOCK);
	usleep(500);
}

/* Pump until cond holds, for at most FR_WAIT_MS. */
#define FR_PUMP_UNTIL(fr, cond) do {					\
	long long _end = fr_ms() + FR_WAIT_MS;				\
	while (!(cond) && fr_ms() < _end)				\
		fr_pump(fr);						\
} while (0)

/* Listen on a fresh socket; fr_path is what store.redis.socket names. */
static inline void
fr_listen(struct fake_redis *fr)
{
	struct sockaddr_un	sun;

	memset(fr, 0, sizeof(*fr));
	fr->fr_fd = -1;
	snprintf(fr->fr_dir, sizeof(fr->fr_dir), "/tmp/test_turn.XXXXXX");
	if (mkdtemp(fr->fr_dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(fr->fr_path, sizeof(fr->fr_path), "%s/redis.sock",
	    fr->fr_dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fr->fr_path);
	if ((fr->fr_lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fr->fr_lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fr->fr_lfd, 4) == -1) {
		printf("Bail out! fake redis: %s\n", strerror(errno));
		exit(1);
	}
}

/* Accept the store's connection (it connects from store_new()). */
static inline int
fr_accept(struct fake_redis *fr, struct event_base *base)
{
	struct pollfd	pfd;
	long long	end = fr_ms() + FR_WAIT_MS;

	fr->fr_base = base;
	pfd.fd = fr->fr_lfd;
	pfd.events = POLLIN;
	while (fr_ms() < end) {
		fr_pump(fr);
		if (poll(&pfd, 1, 10) == 1) {
			fr->fr_fd = accept(fr->fr_lfd, NULL, NULL);
			return (fr->fr_fd == -1 ? -1 : 0);
		}
	}
	return (-1);
}

/* One whole command from fr_in into fr_argv: 1, or 0 if more is needed. */
static inline int
fr_parse(struct fake_redis *fr)
{
	char	*p = fr->fr_in, *end = fr->fr_in + fr->fr_inlen, *nl;
	long	 n, len, i;
	size_t	 c;

	if (fr->fr_inlen == 0)
		return (0);
	if (*p != '*') {
		printf("Bail out! fake redis: not a RESP array\n");
		exit(1);
	}
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return (0);
	n = strtol(p + 1, NULL, 10);
	p = nl + 1;
	for (i = 0; i < n; i++) {
		if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) ==
		    NULL)
			return (0);
		len = strtol(p + 1, NULL, 10);
		p = nl + 1;
		if (end - p < len + 2)
			return (0);
		if (i < FR_ARGS) {
			c = (size_t)len < FR_ARGLEN - 1 ? (size_t)len :
			    FR_ARGLEN - 1;
			memcpy(fr->fr_argv[i], p, c);
			fr->fr_argv[i][c] = '\0';
		}
		p += len + 2;
	}
	fr->fr_argc = n < FR_ARGS ? (int)n : FR_ARGS;
	fr->fr_inlen = (size_t)(end - p);
	memmove(fr->fr_in, p, fr->fr_inlen);
	return (1);
}

/* Read the next command (pumping the loop meanwhile): 0, or -1. */
static inline int
fr_read(struct fake_redis *fr)
{
	struct pollfd	pfd;
	long long	end = fr_ms() + FR_WAIT_MS;
	ssize_t		n;

	pfd.fd = fr->fr_fd;
	pfd.events = POLLIN;
	while (fr_ms() < end) {
		if (fr_parse(fr))
			return (0);
		fr_pump(fr);
		if (poll(&pfd, 1, 1) != 1)
			continue;
		n = read(fr->fr_fd, fr->fr_in + fr->fr_inlen,
		    sizeof(fr->fr_in) - fr->fr_inlen);
		if (n <= 0)
			return (-1);
		fr->fr_inlen += (size_t)n;
	}
	return (-1);
}

/* Answer the last command with resp (RESP text). */
static inline void
fr_reply(struct fake_redis *fr, const char *resp)
{
	size_t	len = strlen(resp);

	if (write(fr->fr_fd, resp, len) != (ssize_t)len) {
		printf("Bail out! fake redis: write: %s\n", strerror(errno));
		exit(1);
	}
}

/*
 * Read commands up to the next one named name (answering the others
 * +OK), left unanswered in fr_argv: 0, or -1 if none came in time.
 */
static inline int
fr_expect(struct fake_redis *fr, const char *name)
{
	for (;;) {
		if (fr_read(fr) == -1)
			return (-1);
		if (strcasecmp(fr->fr_argv[0], name) == 0)
			return (0);
		fr_reply(fr, "+OK\r\n");
	}
}

static inline void
fr_close(struct fake_redis *fr)
{
	if (fr->fr_fd != -1)
		close(fr->fr_fd);
	close(fr->fr_lfd);
	unlink(fr->fr_path);
	rmdir(fr->fr_dir);
}

#endif /* FAKE_REDIS_H */
