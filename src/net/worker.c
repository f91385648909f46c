/*
 * worker.c -- a worker: its thread, its event_base and the timer and
 * messages of that loop.  What runs in the loop is the modules' own:
 * udp.c and stream.c (its sockets: SO_REUSEPORT twins of every other
 * worker's, and the connections it accepted), relay.c (its relay
 * sockets), relay_io.c (the batches), the server (src/turn) and the
 * store.  Nothing of a worker is touched by another thread except
 * through worker_run() and the atomic counters.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"
#include "store/store.h"
#include "turn/alloc.h"

static void
worker_wake(void *arg, const void *tag)
{
	struct worker	*w = arg;

	worker_clock(w);
	server_wake(&w->w_srv, tag);
}

static void
worker_rewrite(void *arg)
{
	struct worker	*w = arg;

	worker_clock(w);
	server_rewrite(&w->w_srv);
}

static void
worker_traffic(void *arg)
{
	struct worker	*w = arg;

	worker_clock(w);
	server_traffic(&w->w_srv);
}

static void
worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	long long	 now = clock_mono_us(), lag;

	(void)fd;
	(void)what;
	lag = now - w->w_tick_last - 1000000;
	atomic_store_explicit(&w->w_lag_us, lag > 0 ? (uint64_t)lag : 0,
	    memory_order_relaxed);
	w->w_tick_last = now;
	if (atomic_load(&w->w_quit)) {
		event_base_loopbreak(w->w_base);
		return;
	}
	worker_clock(w);
	if (!w->w_frozen)
		relay_expire_run(w->w_relay);
	dtls_tick(w->w_dtls);
	server_tick(&w->w_srv);
}

uint64_t
worker_lag_us(const struct worker *w)
{
	return (atomic_load_explicit(&w->w_lag_us, memory_order_relaxed));
}

struct run_msg {
	struct worker	*rn_w;
	void		(*rn_fn)(struct worker *, void *);
	void		*rn_arg;
};

static void
worker_run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_msg	*rn = arg;

	(void)fd;
	(void)what;
	worker_clock(rn->rn_w);
	rn->rn_fn(rn->rn_w, rn->rn_arg);
	free(rn);
}

int
worker_run(struct worker *w, void (*fn)(struct worker *, void *), void *arg)
{
	struct run_msg	*rn = xmalloc(sizeof(*rn));

	rn->rn_w = w;
	rn->rn_fn = fn;
	rn->rn_arg = arg;
	if (event_base_once(w->w_base, -1, EV_TIMEOUT, worker_run_cb, rn,
	    NULL) == -1) {
		free(rn);
		return (-1);
	}
	return (0);
}

struct realm_msg {
	struct worker		*rm_w;
	struct store_realm	*rm_realm;
};

static void
worker_realm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct realm_msg	*rm = arg;

	(void)fd;
	(void)what;
	server_set_realm(&rm->rm_w->w_srv, rm->rm_realm);
	free(rm);
}

void
worker_post_realm(struct worker *w, struct store_realm *sr)
{
	struct realm_msg	*rm = xmalloc(sizeof(*rm));

	rm->rm_w = w;
	rm->rm_realm = sr;
	if (event_base_once(w->w_base, -1, EV_TIMEOUT, worker_realm_cb, rm,
	    NULL) == -1) {
		log_warnx("%s: cannot reach worker %u", __func__, w->w_id);
		store_realm_unref(sr);
		free(rm);
	}
}

/* The worker's store and its once-a-second timer. */
static void
worker_store_start(struct worker *w, const struct worker_shared *ws)
{
	struct store_hooks	hooks = {
		.sh_wake = worker_wake,
		.sh_rewrite = worker_rewrite,
		.sh_traffic = worker_traffic,
		.sh_arg = w,
	};
	struct timeval		tv = { 1, 0 };

	w->w_store = store_new(w->w_conf, w->w_base, w->w_id, ws->ws_iid,
	    &hooks);
	server_set_store(&w->w_srv, w->w_store);
	if (ws->ws_realm != NULL) {
		store_realm_ref(ws->ws_realm);
		server_set_realm(&w->w_srv, ws->ws_realm);
	}
	w->w_tick_last = clock_mono_us();
	w->w_tick = event_new(w->w_base, -1, EV_PERSIST, worker_tick_cb, w);
	if (w->w_tick == NULL || event_add(w->w_tick, &tv) == -1)
		fatalx("%s: cannot start the worker's timer", __func__);
}

struct worker *
worker_new(unsigned int id, const struct turnd_conf *conf,
    struct listen_set *set, const struct worker_shared *ws)
{
	struct worker	*w;

	w = xcalloc(1, sizeof(*w));
	w->w_id = id;
	w->w_conf = conf;
	w->w_tls = ws->ws_tls;
	w->w_connlimit = ws->ws_connlimit;
	w->w_dtls_hs = ws->ws_dtls_hs;
	if ((w->w_base = event_base_new()) == NULL)
		fatalx("%s: event_base_new failed", __func__);
	server_init(&w->w_srv, conf, &w->w_stats);
	w->w_allocs = alloc_table_new();
	worker_clock(w);
	w->w_rio = rio_new(&w->w_stats);
	w->w_relay = relay_set_new(w, ws->ws_resv);
	w->w_tcp = tcprelay_set_new(w);
	w->w_all = ws->ws_workers;
	w->w_nall = ws->ws_nworkers;
	server_enable_turn(&w->w_srv, w->w_allocs, ws->ws_auth,
	    ws->ws_policy, ws->ws_quota, &relay_ops, w);
	server_set_ratelim(&w->w_srv, ws->ws_ratelim);
	worker_store_start(w, ws);
	w->w_dtls = dtls_set_new(w, set);	/* before udp.c's sockets */
	w->w_udp = udp_set_new(w, set);
	w->w_stream = stream_set_new(w, set);
	return (w);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	sigset_t	 all;

	/* Signals are the main thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	log_debug("worker %u running", w->w_id);
	while (!atomic_load(&w->w_quit))
		event_base_loop(w->w_base, EVLOOP_NO_EXIT_ON_EMPTY);
	log_debug("worker %u stopped", w->w_id);
	return (NULL);
}

int
worker_start(struct worker *w)
{
	int	rc;

	if ((rc = pthread_create(&w->w_thread, NULL, worker_main, w)) != 0) {
		errno = rc;
		log_warn("%s: pthread_create", __func__);
		return (-1);
	}
	w->w_running = 1;
	return (0);
}

void
worker_stop(struct worker *w)
{
	if (!w->w_running)
		return;
	/*
	 * A loop that had not started yet forgets a loopbreak (libevent
	 * clears it on entry): the flag holds, and the once-a-second tick
	 * breaks the loop when it sees it.
	 */
	atomic_store(&w->w_quit, 1);
	event_base_loopbreak(w->w_base);
	pthread_join(w->w_thread, NULL);
	w->w_running = 0;
}

void
worker_free(struct worker *w)
{
	unsigned int	 i;

	if (w == NULL)
		return;
	worker_stop(w);
	worker_clock(w);
	stream_set_close_all(w->w_stream);
	dtls_set_free(w->w_dtls);
	w->w_dtls = NULL;
	/*
	 * A TLS bufferevent freed with a callback of its own still pending
	 * is finished by that callback: let the loop (the worker thread is
	 * gone) run what is pending, a few bounded passes, or it is never
	 * freed.
	 */
	for (i = 0; i < 3; i++)
		event_base_loop(w->w_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	relay_end_all(w->w_relay);
	relay_set_free(w->w_relay);
	tcprelay_set_free(w->w_tcp);
	rio_free(w->w_rio);
	stream_set_free(w->w_stream);
	udp_set_free(w->w_udp);
	/* let the store say that the allocations ended */
	store_flush(w->w_store, w->w_base);
	store_free(w->w_store);
	w->w_store = NULL;
	alloc_table_free(w->w_allocs);
	server_clear(&w->w_srv);
	event_free(w->w_tick);
	event_base_free(w->w_base);
	free(w);
}

void
worker_stats_add(const struct worker *w, struct stats *sum)
{
#define STATS_SUM(name)							\
	STATS_ADD(sum, name, atomic_load_explicit(&w->w_stats.name,	\
	    memory_order_relaxed));
	STATS_FIELDS(STATS_SUM)
#undef STATS_SUM
}
