/*
 * metrics.h -- Prometheus metrics and health checks over HTTP (libevent's
 * evhttp) on metrics.listen, served by the main thread: /metrics (text
 * exposition format 0.0.4), /healthz (alive) and /readyz (accepting new
 * allocations: 503 while draining).  No per-user labels.
 */

#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct stats;
struct turnd_conf;
struct metrics;

/* What the page is made of, asked for at each scrape. */
struct metrics_source {
	/* the workers' counters, summed */
	void		(*ms_stats)(void *arg, struct stats *sum);
	unsigned int	(*ms_nworkers)(void *arg);
	uint64_t	(*ms_lag_us)(void *arg, unsigned int worker);
	/* 1 while new allocations are accepted (0: draining) */
	int		(*ms_ready)(void *arg);
	/* the live upgrade: this process's generation, its upgrades that
	 * committed and that rolled back; a worker's last takeover freeze */
	void		(*ms_upgrades)(void *arg, unsigned int *generation,
			    uint64_t *ok, uint64_t *failed);
	uint64_t	(*ms_freeze_us)(void *arg, unsigned int worker);
	void		 *ms_arg;
};

/*
 * Bind metrics.listen before privileges are dropped: the socket, or -1
 * when metrics.listen is "" (nothing to do) or -2 with a reason in err.
 */
int		 metrics_bind(const struct turnd_conf *, char *err, size_t);
/* Serve on fd (from metrics_bind) on base. */
struct metrics	*metrics_new(const struct turnd_conf *, struct event_base *,
		    int fd, const struct metrics_source *);
void		 metrics_free(struct metrics *);
/* The listening socket (a live upgrade hands it over); -1: none. */
int		 metrics_fd(const struct metrics *);
/* The /metrics page into buf (for tests too). */
void		 metrics_render(struct metrics *, struct evbuffer *buf);

#endif /* METRICS_H */
