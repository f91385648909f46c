/*
 * worker_move.c -- one worker's part of a live upgrade (doc/ARCHITECTURE
 * section 8).  In the old process, each step runs in the worker's own
 * loop (worker_run()), so no batch is half done when it starts:
 *
 *   freeze  stop reading the listener and relay sockets, send what is
 *           queued, forget the requests of UDP clients waiting for the
 *           store (they ask again, and the new process answers), and
 *           write every UDP allocation as a record, its relay sockets
 *           beside it, in batches of at most WMOVE_FDS sockets;
 *   moved   the new process holds them: take them out of the epoll set
 *           and the wheel (the sockets stay open: rollback), and read
 *           the relay sockets of the allocations that stay again;
 *   thaw    rollback: everything back as before the freeze;
 *   commit  forget the moved allocations without ending them, close
 *           this process's copies of the listeners (the new process
 *           holds the same sockets, so no SO_REUSEPORT group changes),
 *           end the DTLS associations (their datagrams go to the new
 *           process now).  TCP and TLS connections stay, and drain.
 *
 * The new process takes the records with worker_import() before the
 * worker's thread starts: starting it is the thaw.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/tlv.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "net/net.h"
#include "net/worker_move.h"
#include "turn/alloc.h"
#include "turn/alloc_wire.h"

struct freeze_ctx {
	struct worker	*fc_w;
	struct wmove	*fc_m;
	uint16_t	 fc_type;
};

static struct wbatch *
wmove_batch(struct wmove *m, unsigned int nfds)
{
	struct wbatch	*b = m->wm_nb > 0 ? &m->wm_b[m->wm_nb - 1] : NULL;

	if (b == NULL || b->wb_nfds + nfds > WMOVE_FDS ||
	    b->wb_recs.tb_len > WMOVE_BYTES) {
		m->wm_b = xreallocarray(m->wm_b, m->wm_nb + 1,
		    sizeof(*m->wm_b));
		b = &m->wm_b[m->wm_nb++];
		memset(b, 0, sizeof(*b));
		tlv_init(&b->wb_recs);
	}
	return (b);
}

static void
freeze_one(struct alloc *a, void *arg)
{
	struct freeze_ctx	*fc = arg;
	struct alloc_wire	 aw;
	struct wbatch		*b;
	int			 fd[ALLOC_FAMILIES], idx;
	unsigned int		 i, n = 0;
	size_t			 o;

	if (a->a_transport == TRANSPORT_DTLS) {
		fc->fc_m->wm_dtls++;	/* ends at the commit */
		return;
	}
	if (a->a_transport != TRANSPORT_UDP || (idx = udp_path_index(
	    fc->fc_w->w_udp, a->a_path)) < 0) {
		fc->fc_m->wm_stayed++;
		return;
	}
	relay_fds(a, fd);
	for (i = 0; i < ALLOC_FAMILIES; i++)
		n += fd[i] != -1;
	b = wmove_batch(fc->fc_m, n);
	aw.aw_path = (unsigned int)idx;
	for (i = 0; i < ALLOC_FAMILIES; i++) {
		aw.aw_fd[i] = -1;
		if (fd[i] != -1) {
			aw.aw_fd[i] = (int)b->wb_nfds;
			b->wb_fds[b->wb_nfds++] = fd[i];
		}
	}
	o = tlv_open(&b->wb_recs, fc->fc_type);
	alloc_encode(a, &aw, &b->wb_recs);
	tlv_close(&b->wb_recs, o);
	b->wb_n++;
	fc->fc_m->wm_nallocs++;
}

static void
worker_pause(struct worker *w, int pause)
{
	udp_set_pause(w->w_udp, pause);
	dtls_set_pause(w->w_dtls, pause);
}

void
worker_freeze(struct worker *w, struct wmove *m, uint16_t type)
{
	struct freeze_ctx	fc = { w, m, type };
	unsigned int		i;

	memset(m, 0, sizeof(*m));
	m->wm_start_us = clock_mono_us();
	w->w_frozen = 1;
	worker_pause(w, 1);
	relay_pause(w->w_relay, 1);
	rio_flush(w->w_rio);
	rio_flush_clients(w->w_rio);
	for (i = 0; i < udp_set_count(w->w_udp); i++)
		server_drop_waiting(&w->w_srv, udp_path_at(w->w_udp, i));
	alloc_foreach(w->w_allocs, freeze_one, &fc);
}

static void
park_one(struct alloc *a, void *arg)
{
	struct worker	*w = arg;

	if (a->a_transport == TRANSPORT_UDP &&
	    udp_path_index(w->w_udp, a->a_path) >= 0)
		relay_park(a, !w->w_moved);
}

void
worker_moved(struct worker *w)
{
	alloc_foreach(w->w_allocs, park_one, w);
	w->w_moved = 1;
	w->w_frozen = 0;
	relay_pause(w->w_relay, 0);
}

void
worker_thaw(struct worker *w)
{
	if (!w->w_frozen && !w->w_moved)
		return;
	if (w->w_moved)
		alloc_foreach(w->w_allocs, park_one, w);	/* unpark */
	else
		relay_pause(w->w_relay, 0);
	w->w_moved = 0;
	w->w_frozen = 0;
	worker_pause(w, 0);
}

/* The moved allocations of a worker, to forget once the loop is done. */
struct forget_ctx {
	struct worker	 *fg_w;
	struct alloc	**fg_a;
	unsigned int	  fg_n;
};

static void
forget_one(struct alloc *a, void *arg)
{
	struct forget_ctx	*fg = arg;

	if (a->a_transport == TRANSPORT_UDP &&
	    udp_path_index(fg->fg_w->w_udp, a->a_path) >= 0) {
		fg->fg_a = xreallocarray(fg->fg_a, fg->fg_n + 1,
		    sizeof(*fg->fg_a));
		fg->fg_a[fg->fg_n++] = a;
	}
}

void
worker_commit(struct worker *w)
{
	struct forget_ctx	fg = { w, NULL, 0 };
	struct listen_set	none = { NULL, 0 };
	unsigned int		i;

	alloc_foreach(w->w_allocs, forget_one, &fg);
	for (i = 0; i < fg.fg_n; i++)
		server_alloc_forget(&w->w_srv, fg.fg_a[i]);
	free(fg.fg_a);
	stream_set_unlisten(w->w_stream);
	dtls_set_free(w->w_dtls);	/* ends what DTLS carried */
	w->w_dtls = dtls_set_new(w, &none);
	udp_set_free(w->w_udp);
	w->w_udp = udp_set_new(w, &none);
	w->w_moved = 0;
	log_info("handover: worker %u: %u allocation%s handed over", w->w_id,
	    fg.fg_n, fg.fg_n == 1 ? "" : "s");
}

void
worker_listeners(struct worker *w, struct listen_set *set)
{
	set->ls = NULL;
	set->n = 0;
	udp_set_lsocks(w->w_udp, set);
	dtls_set_lsocks(w->w_dtls, set);
	stream_set_lsocks(w->w_stream, set);
}

void
wmove_free(struct wmove *m)
{
	unsigned int	i;

	for (i = 0; i < m->wm_nb; i++)
		tlv_free(&m->wm_b[i].wb_recs);
	free(m->wm_b);
	memset(m, 0, sizeof(*m));
}

int
worker_import(struct worker *w, const uint8_t *p, size_t len, int *fds,
    unsigned int nfds, char *err, size_t errlen)
{
	struct alloc_wire	 aw;
	struct alloc		*a;
	struct path		*path;
	unsigned int		 i;

	if ((a = alloc_decode(p, len, &aw, err, errlen)) == NULL)
		return (-1);
	for (i = 0; i < ALLOC_FAMILIES; i++)
		if (aw.aw_fd[i] >= 0 && ((unsigned int)aw.aw_fd[i] >= nfds ||
		    fds[aw.aw_fd[i]] == -1))
			break;
	if (i < ALLOC_FAMILIES ||
	    (path = udp_path_at(w->w_udp, aw.aw_path)) == NULL ||
	    alloc_find(w->w_allocs, a->a_transport, &a->a_client.sa,
	    &a->a_local.sa) != NULL) {
		snprintf(err, errlen, "allocation %016llx: no such socket, "
		    "or a second record", (unsigned long long)a->a_id);
		alloc_discard(a);
		return (-1);
	}
	a->a_path = path;
	alloc_insert(w->w_allocs, a);
	relay_ops.ro_attach(w, a);
	for (i = 0; i < ALLOC_FAMILIES; i++)
		if (aw.aw_fd[i] >= 0 &&
		    relay_take(a, i, fds[aw.aw_fd[i]]) == 0)
			fds[aw.aw_fd[i]] = -1;
	worker_clock(w);
	server_alloc_adopt(&w->w_srv, a);
	return (0);
}
