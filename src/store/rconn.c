/*
 * rconn.c -- an asynchronous Redis connection that keeps itself alive:
 * connect, AUTH, SELECT, then commands; timeouts and reconnection with
 * backoff on top of hiredis 0.14's async API and libevent adapter.
 *
 * hiredis runs the callback of every waiting command with a NULL reply
 * when a context is freed, and may free a context itself (a failed
 * connect, a lost connection).  Each command therefore carries the
 * generation of the connection it was sent on, so a late callback never
 * touches the counters of the next connection, and a context we drop
 * ourselves has its data pointer cleared first, so its disconnect
 * callback knows it is not news.
 */

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "store/rconn.h"

#define RCONN_BACKOFF_MIN	100	/* ms */
#define RCONN_BACKOFF_MAX	5000	/* ms */
#define RCONN_TICK		100	/* ms between timeout checks */
#define RCONN_ARGS_MAX		64	/* words of rconn_cmdl() */
#define RCONN_DRAIN_MS		500

enum rconn_state {
	RC_IDLE,		/* waiting to reconnect */
	RC_CONNECTING,
	RC_HANDSHAKE,		/* AUTH and SELECT sent */
	RC_READY
};

struct rconn {
	const struct turnd_conf	*rc_conf;	/* a reference (conf.h) */
	struct event_base	*rc_base;
	char			*rc_name;
	char			 rc_where[300];
	redisAsyncContext	*rc_ac;
	enum rconn_state	 rc_state;
	unsigned int		 rc_gen;	/* of the current connection */
	struct event		*rc_retry;
	struct event		*rc_tick;
	int			 rc_backoff;	/* ms */
	unsigned int		 rc_inflight;	/* commands, not subscriptions */
	long long		 rc_progress;	/* ms: last reply, or start */
	long long		 rc_started;	/* ms: connect began */
	int			 rc_reported;	/* a failure was logged */
	struct rconn_hooks	 rc_hooks;
	rconn_cb		 rc_sub_cb;	/* the subscription's callback */
	void			*rc_sub_arg;
};

struct rcmd {
	struct rconn	*c_rc;
	long long	 c_sent;	/* us, monotonic */
	unsigned int	 c_gen;
	rconn_cb	 c_cb;
	void		*c_arg;
};

static void	rconn_connect(struct rconn *);

const double rconn_bucket_le[RCONN_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0
};

/* Written by every thread that owns a connection: atomic adds. */
static _Atomic uint64_t	rcs_conns, rcs_up, rcs_lost, rcs_cmds, rcs_cmd_us;
static _Atomic uint64_t	rcs_bucket[RCONN_BUCKETS];

void
rconn_stats(struct rconn_stats *out)
{
	unsigned int	i;

	out->rs_conns = atomic_load(&rcs_conns);
	out->rs_up = atomic_load(&rcs_up);
	out->rs_lost = atomic_load(&rcs_lost);
	out->rs_cmds = atomic_load(&rcs_cmds);
	out->rs_cmd_us = atomic_load(&rcs_cmd_us);
	for (i = 0; i < RCONN_BUCKETS; i++)
		out->rs_bucket[i] = atomic_load(&rcs_bucket[i]);
}

/* A command answered after us microseconds. */
static void
rconn_count_cmd(long long us)
{
	unsigned int	i;

	if (us < 0)
		us = 0;
	atomic_fetch_add(&rcs_cmds, 1);
	atomic_fetch_add(&rcs_cmd_us, (uint64_t)us);
	for (i = 0; i < RCONN_BUCKETS; i++)
		if ((double)us <= rconn_bucket_le[i] * 1e6)
			atomic_fetch_add(&rcs_bucket[i], 1);
}

/* The connection leaves the ready state (lost, dropped or freed). */
static void
rconn_set_down(struct rconn *rc, int lost)
{
	if (rc->rc_state == RC_READY) {
		atomic_fetch_sub(&rcs_up, 1);
		if (lost)
			atomic_fetch_add(&rcs_lost, 1);
	}
}

const char *
rconn_where(const struct rconn *rc)
{
	return (rc->rc_where);
}

unsigned int
rconn_pending(const struct rconn *rc)
{
	return (rc != NULL && rc->rc_state == RC_READY ? rc->rc_inflight : 0);
}

void
rconn_drain(struct rconn *rc, struct event_base *base)
{
	long long	end = clock_mono_ms() + RCONN_DRAIN_MS;

	while (rconn_pending(rc) > 0 && clock_mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

int
rconn_ready(const struct rconn *rc)
{
	return (rc != NULL && rc->rc_state == RC_READY);
}

/* Log a failure once per outage; repeats go to debug. */
static void
rconn_report(struct rconn *rc, const char *what, const char *why)
{
	if (rc->rc_reported)
		log_debug("store: %s: redis %s: %s, retrying", rc->rc_name,
		    what, why);
	else
		log_warnx("store: %s: redis %s (%s): %s, retrying",
		    rc->rc_name, what, rc->rc_where, why);
	rc->rc_reported = 1;
}

static void
rconn_schedule(struct rconn *rc)
{
	struct timeval	tv;

	rc->rc_state = RC_IDLE;
	tv.tv_sec = rc->rc_backoff / 1000;
	tv.tv_usec = (rc->rc_backoff % 1000) * 1000;
	evtimer_add(rc->rc_retry, &tv);
	rc->rc_backoff *= 2;
	if (rc->rc_backoff > RCONN_BACKOFF_MAX)
		rc->rc_backoff = RCONN_BACKOFF_MAX;
}

/*
 * End the current connection ourselves (a timeout, a refused AUTH):
 * waiting callbacks run with NULL (now, or as soon as hiredis leaves the
 * callback it is in), then reconnect later.
 */
static void
rconn_drop(struct rconn *rc, const char *why)
{
	redisAsyncContext	*ac = rc->rc_ac;
	int			 was_ready = rc->rc_state == RC_READY;

	rconn_report(rc, was_ready ? "lost" : "connect failed", why);
	rconn_set_down(rc, 1);
	rc->rc_ac = NULL;
	rc->rc_gen++;
	rc->rc_inflight = 0;
	rconn_schedule(rc);
	if (ac != NULL) {
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	if (was_ready && rc->rc_hooks.rh_down != NULL)
		rc->rc_hooks.rh_down(rc, rc->rc_hooks.rh_arg);
}

static void
rconn_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct rcmd	*c = priv;
	struct rconn	*rc = c->c_rc;

	(void)ac;
	if (c->c_gen == rc->rc_gen && rc->rc_inflight > 0) {
		rc->rc_inflight--;
		rc->rc_progress = clock_mono_ms();
	}
	if (reply != NULL)
		rconn_count_cmd(clock_mono_us() - c->c_sent);
	if (c->c_cb != NULL)
		c->c_cb(rc, reply, c->c_arg);
	free(c);
}

static int
rconn_send(struct rconn *rc, rconn_cb cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	struct rcmd	*c;

	if (rc->rc_ac == NULL)
		return (-1);
	c = xmalloc(sizeof(*c));
	c->c_rc = rc;
	c->c_sent = clock_mono_us();
	c->c_gen = rc->rc_gen;
	c->c_cb = cb;
	c->c_arg = arg;
	if (redisAsyncCommandArgv(rc->rc_ac, rconn_reply_cb, c, argc, argv,
	    argvlen) != REDIS_OK) {
		free(c);
		return (-1);
	}
	if (rc->rc_inflight++ == 0)
		rc->rc_progress = clock_mono_ms();
	return (0);
}

int
rconn_cmd(struct rconn *rc, rconn_cb cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	if (!rconn_ready(rc))
		return (-1);
	return (rconn_send(rc, cb, arg, argc, argv, argvlen));
}

int
rconn_cmdl(struct rconn *rc, rconn_cb cb, void *arg, ...)
{
	const char	*argv[RCONN_ARGS_MAX];
	va_list		 ap;
	int		 argc = 0;

	va_start(ap, arg);
	while (argc < RCONN_ARGS_MAX &&
	    (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	return (rconn_cmd(rc, cb, arg, argc, argv, NULL));
}

/* Subscription callbacks carry the rconn itself: they outlive commands. */
static void
rconn_sub_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct rconn	*rc = priv;

	if (ac->data == NULL || rc->rc_sub_cb == NULL)
		return;
	rc->rc_sub_cb(rc, reply, rc->rc_sub_arg);
}

int
rconn_subscribe(struct rconn *rc, rconn_cb cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	if (!rconn_ready(rc))
		return (-1);
	rc->rc_sub_cb = cb;
	rc->rc_sub_arg = arg;
	if (redisAsyncCommandArgv(rc->rc_ac, rconn_sub_reply_cb, rc, argc,
	    argv, argvlen) != REDIS_OK)
		return (-1);
	return (0);
}

/* AUTH and SELECT answers: anything but OK ends the connection. */
static void
rconn_handshake_cb(struct rconn *rc, struct redisReply *r, void *arg)
{
	const char	*step = arg;
	char		 why[256];

	if (r == NULL || rc->rc_state != RC_HANDSHAKE)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "%s refused: %.200s", step,
		    r->str);
		rconn_drop(rc, why);
		return;
	}
	if (strcmp(step, "SELECT") != 0)
		return;
	rc->rc_state = RC_READY;
	atomic_fetch_add(&rcs_up, 1);
	rc->rc_backoff = RCONN_BACKOFF_MIN;
	if (rc->rc_reported)
		log_info("store: %s: redis connected again (%s)", rc->rc_name,
		    rc->rc_where);
	else
		log_debug("store: %s: redis connected (%s)", rc->rc_name,
		    rc->rc_where);
	rc->rc_reported = 0;
	if (rc->rc_hooks.rh_up != NULL)
		rc->rc_hooks.rh_up(rc, rc->rc_hooks.rh_arg);
}

static void
rconn_connect_cb(const redisAsyncContext *ac, int status)
{
	struct rconn	*rc = ac->data;
	const char	*conf_user, *conf_pass;
	char		 db[16];

	if (rc == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this returns */
		rc->rc_ac = NULL;
		rc->rc_gen++;
		rc->rc_inflight = 0;
		rconn_report(rc, "connect failed", ac->errstr);
		rconn_schedule(rc);
		return;
	}
	rc->rc_state = RC_HANDSHAKE;
	conf_user = rc->rc_conf->redis_user;
	conf_pass = rc->rc_conf->redis_password;
	if (*conf_pass != '\0') {
		if (*conf_user != '\0')
			(void)rconn_send(rc, rconn_handshake_cb, "AUTH", 3,
			    (const char *[]){ "AUTH", conf_user, conf_pass },
			    NULL);
		else
			(void)rconn_send(rc, rconn_handshake_cb, "AUTH", 2,
			    (const char *[]){ "AUTH", conf_pass }, NULL);
	}
	snprintf(db, sizeof(db), "%d", rc->rc_conf->redis_db);
	(void)rconn_send(rc, rconn_handshake_cb, "SELECT", 2,
	    (const char *[]){ "SELECT", db }, NULL);
}

static void
rconn_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct rconn	*rc = ac->data;
	int		 was_ready;

	(void)status;
	if (rc == NULL)
		return;		/* we dropped it ourselves */
	was_ready = rc->rc_state == RC_READY;
	rconn_set_down(rc, 1);
	rc->rc_ac = NULL;
	rc->rc_gen++;
	rc->rc_inflight = 0;
	rconn_report(rc, was_ready ? "lost" : "connect failed",
	    ac->err ? ac->errstr : "connection closed");
	rconn_schedule(rc);
	if (was_ready && rc->rc_hooks.rh_down != NULL)
		rc->rc_hooks.rh_down(rc, rc->rc_hooks.rh_arg);
}

static void
rconn_connect(struct rconn *rc)
{
	const struct turnd_conf	*conf = rc->rc_conf;
	redisAsyncContext	*ac;

	if (*conf->redis_socket != '\0')
		ac = redisAsyncConnectUnix(conf->redis_socket);
	else
		ac = redisAsyncConnect(conf->redis_host, conf->redis_port);
	if (ac == NULL || ac->err) {
		rconn_report(rc, "connect failed", ac != NULL ? ac->errstr :
		    "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		rconn_schedule(rc);
		return;
	}
	ac->data = rc;
	if (redisLibeventAttach(ac, rc->rc_base) != REDIS_OK ||
	    redisAsyncSetConnectCallback(ac, rconn_connect_cb) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(ac, rconn_disconnect_cb) !=
	    REDIS_OK) {
		ac->data = NULL;
		redisAsyncFree(ac);
		rconn_report(rc, "connect failed", "cannot attach to the loop");
		rconn_schedule(rc);
		return;
	}
	rc->rc_ac = ac;
	rc->rc_gen++;
	rc->rc_inflight = 0;
	rc->rc_state = RC_CONNECTING;
	rc->rc_started = clock_mono_ms();
}

static void
rconn_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rconn_connect(arg);
}

/* Connect and command timeouts. */
static void
rconn_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rconn	*rc = arg;
	long long	 now = clock_mono_ms();
	long long	 ct = (long long)rc->rc_conf->redis_connect_timeout * 1000;
	long long	 mt = (long long)rc->rc_conf->redis_command_timeout * 1000;

	(void)fd;
	(void)what;
	if ((rc->rc_state == RC_CONNECTING || rc->rc_state == RC_HANDSHAKE) &&
	    now - rc->rc_started > ct)
		rconn_drop(rc, "connect timed out");
	else if (rc->rc_state == RC_READY && rc->rc_inflight > 0 &&
	    now - rc->rc_progress > mt)
		rconn_drop(rc, "command timed out");
}

struct rconn *
rconn_new(const struct turnd_conf *conf, struct event_base *base,
    const char *name, const struct rconn_hooks *hooks)
{
	struct rconn	*rc;
	struct timeval	 tick = { 0, RCONN_TICK * 1000 };

	rc = xcalloc(1, sizeof(*rc));
	rc->rc_conf = conf_ref(conf);	/* read at every connect */
	rc->rc_base = base;
	rc->rc_name = xstrdup(name);
	if (*conf->redis_socket != '\0')
		snprintf(rc->rc_where, sizeof(rc->rc_where), "%s",
		    conf->redis_socket);
	else
		snprintf(rc->rc_where, sizeof(rc->rc_where), "%s%s%s:%d",
		    strchr(conf->redis_host, ':') ? "[" : "", conf->redis_host,
		    strchr(conf->redis_host, ':') ? "]" : "", conf->redis_port);
	if (hooks != NULL)
		rc->rc_hooks = *hooks;
	rc->rc_backoff = RCONN_BACKOFF_MIN;
	rc->rc_retry = evtimer_new(base, rconn_retry_cb, rc);
	rc->rc_tick = event_new(base, -1, EV_PERSIST, rconn_tick_cb, rc);
	if (rc->rc_retry == NULL || rc->rc_tick == NULL)
		fatalx("%s: event_new failed", __func__);
	event_add(rc->rc_tick, &tick);
	atomic_fetch_add(&rcs_conns, 1);
	rconn_connect(rc);
	return (rc);
}

void
rconn_free(struct rconn *rc)
{
	redisAsyncContext	*ac;

	if (rc == NULL)
		return;
	rc->rc_hooks.rh_up = NULL;
	rc->rc_hooks.rh_down = NULL;
	rc->rc_sub_cb = NULL;
	rconn_set_down(rc, 0);
	atomic_fetch_sub(&rcs_conns, 1);
	if ((ac = rc->rc_ac) != NULL) {
		rc->rc_ac = NULL;
		rc->rc_state = RC_IDLE;
		ac->data = NULL;
		redisAsyncFree(ac);	/* callbacks run with NULL now */
	}
	event_free(rc->rc_retry);
	event_free(rc->rc_tick);
	free(rc->rc_name);
	conf_unref(rc->rc_conf);
	free(rc);
}
