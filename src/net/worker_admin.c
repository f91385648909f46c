/*
 * worker_admin.c -- the main thread's requests to the workers
 * (worker_admin.h): one function run in every worker's loop, counted
 * down to a completion, and the setters it calls there.
 */

#include <stdatomic.h>
#include <stdlib.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "net/net.h"
#include "net/worker_admin.h"
#include "turn/server.h"

struct each_msg;

/* What one worker is handed: the request, and its index in it. */
struct each_slot {
	struct each_msg		*es_msg;
	unsigned int		 es_idx;
};

/* One worker_each(): freed when done has run. */
struct each_msg {
	worker_each_cb		 em_fn;
	void			*em_arg;
	worker_done_cb		 em_done;
	struct event_base	*em_base;	/* NULL: the last worker's */
	_Atomic unsigned int	 em_refs;	/* workers still to run */
	struct each_slot	 em_slot[];
};

static void
each_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct each_msg	*em = arg;

	(void)fd;
	(void)what;
	em->em_done(em->em_arg);
	free(em);
}

/* Every worker has run: done, here or on the main thread's loop. */
static void
each_last(struct each_msg *em)
{
	if (em->em_base == NULL) {
		em->em_done(em->em_arg);
		free(em);
	} else if (event_base_once(em->em_base, -1, EV_TIMEOUT, each_done_cb,
	    em, NULL) == -1)
		fatalx("%s: cannot reach the main thread", __func__);
}

static void
each_run(struct worker *w, void *arg)
{
	struct each_slot	*es = arg;
	struct each_msg		*em = es->es_msg;

	em->em_fn(w, es->es_idx, em->em_arg);
	/* the slots of the others may be gone once this one counts down */
	if (atomic_fetch_sub(&em->em_refs, 1) == 1)
		each_last(em);
}

void
worker_each(struct worker **ws, unsigned int n, worker_each_cb fn,
    void *arg, worker_done_cb done, struct event_base *base)
{
	struct each_msg	*em;
	unsigned int	 i;

	em = xcalloc(1, sizeof(*em) + (size_t)n * sizeof(em->em_slot[0]));
	em->em_fn = fn;
	em->em_arg = arg;
	em->em_done = done;
	em->em_base = base;
	atomic_init(&em->em_refs, n);
	if (n == 0) {
		each_last(em);
		return;
	}
	for (i = 0; i < n; i++) {
		em->em_slot[i].es_msg = em;
		em->em_slot[i].es_idx = i;
		if (worker_run(ws[i], each_run, &em->em_slot[i]) == -1)
			fatalx("%s: cannot reach worker %u", __func__, i);
	}
}

void
worker_set_conf(struct worker *w, const struct turnd_conf *conf,
    const struct auth *auth, const struct policy *policy, SSL_CTX *tls)
{
	w->w_conf = conf;
	server_set_conf(&w->w_srv, conf, auth, policy);
	if (tls != NULL) {
		w->w_tls = tls;
		dtls_set_ctx(w->w_dtls, tls);
	}
}

void
worker_drain(struct worker *w, const struct sockaddr *alt4,
    const struct sockaddr *alt6)
{
	server_drain(&w->w_srv, alt4, alt6);
}

unsigned int
worker_sessions(struct worker *w, const struct server_filter *f,
    unsigned int max, struct sbuf *sb)
{
	return (server_sessions(&w->w_srv, f, max, sb));
}

unsigned int
worker_kill(struct worker *w, const struct server_filter *f)
{
	return (server_kill(&w->w_srv, f));
}
