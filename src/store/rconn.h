/*
 * rconn.h -- one asynchronous Redis connection on a libevent loop
 * (hiredis), with what hiredis 0.14 lacks: connect and command
 * timeouts, reconnection with backoff, AUTH (with an ACL user) and
 * SELECT before anything else is sent.
 *
 * Commands are argv-style only: user input never meets a format
 * string.  A command's callback always runs exactly once: with the
 * reply, or with NULL when the connection was lost before the reply
 * came.  Nothing blocks, except that a host name (rather than an IP
 * address) is resolved at each connect.
 */

#ifndef RCONN_H
#define RCONN_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;
struct rconn;
struct turnd_conf;

/* reply is NULL when the connection was lost first. */
typedef void	(*rconn_cb)(struct rconn *, struct redisReply *, void *arg);

struct rconn_hooks {
	void	(*rh_up)(struct rconn *, void *arg);	/* ready for commands */
	void	(*rh_down)(struct rconn *, void *arg);	/* lost; retrying */
	void	*rh_arg;
};

/*
 * A connection to the Redis server of conf's store.redis keys, named
 * name in log lines ("worker 0", "main").  It connects at once and keeps
 * reconnecting until freed: after 0.1 s, doubling up to 5 s.
 */
struct rconn	*rconn_new(const struct turnd_conf *, struct event_base *,
		    const char *name, const struct rconn_hooks *);
/* Close; callbacks of commands still waiting run with NULL first. */
void		 rconn_free(struct rconn *);
/* 1 once connected, authenticated and on the right database. */
int		 rconn_ready(const struct rconn *);
/*
 * Send a command (argv[0] is its name); cb may be NULL.  0, or -1 when
 * the connection is not ready (cb is not called).
 */
int		 rconn_cmd(struct rconn *, rconn_cb, void *arg, int argc,
		    const char **argv, const size_t *argvlen);
/* The same with NUL-terminated words, the list ending with NULL. */
int		 rconn_cmdl(struct rconn *, rconn_cb, void *arg, ...);
/*
 * A subscription command (SUBSCRIBE, PSUBSCRIBE): cb runs for its
 * confirmation and for every message, and is not counted against the
 * command timeout.
 */
int		 rconn_subscribe(struct rconn *, rconn_cb, void *arg,
		    int argc, const char **argv, const size_t *argvlen);
/* Commands sent and not yet answered. */
unsigned int	 rconn_pending(const struct rconn *);
/*
 * Run base, whose loop is stopped, until every command sent is answered,
 * for at most half a second (shutdown).
 */
void		 rconn_drain(struct rconn *, struct event_base *);
/* Process-wide figures of every connection, for the metrics. */
#define RCONN_BUCKETS	8
extern const double rconn_bucket_le[RCONN_BUCKETS];	/* seconds */
struct rconn_stats {
	uint64_t	rs_conns;		/* connections made with rconn_new */
	uint64_t	rs_up;			/* ... ready now */
	uint64_t	rs_lost;		/* times one was lost */
	uint64_t	rs_cmds;		/* commands answered */
	uint64_t	rs_cmd_us;		/* their time, in microseconds */
	uint64_t	rs_bucket[RCONN_BUCKETS]; /* answered within le[i] */
};
void		 rconn_stats(struct rconn_stats *);

/* Where it connects to, for log lines ("127.0.0.1:6379", a path). */
const char	*rconn_where(const struct rconn *);

#endif /* RCONN_H */
