/*
 * worker_move.h -- one worker's part of a live upgrade (worker_move.c):
 * freeze, moved, thaw and commit run in the worker's loop in the old
 * process; worker_import() in the new one, before the worker starts.
 */

#ifndef WORKER_MOVE_H
#define WORKER_MOVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/tlv.h"

struct worker;

#define WMOVE_FDS	253		/* SCM_MAX_FD: sockets per message */
#define WMOVE_BYTES	(48 * 1024)	/* records per message, about */

/* One message's worth: allocation records and their relay sockets. */
struct wbatch {
	struct tlvbuf	 wb_recs;
	int		 wb_fds[WMOVE_FDS];
	unsigned int	 wb_nfds;
	unsigned int	 wb_n;		/* records */
};

/* What a worker's freeze made. */
struct wmove {
	struct wbatch	*wm_b;
	unsigned int	 wm_nb;
	unsigned int	 wm_nallocs;	/* moving */
	unsigned int	 wm_stayed;	/* TCP, TLS: staying */
	unsigned int	 wm_dtls;	/* DTLS: ending at the commit */
	long long	 wm_start_us;	/* the freeze began (monotonic) */
};

/* The old process, each in the worker's loop. */
void	worker_freeze(struct worker *, struct wmove *, uint16_t rec_type);
void	worker_moved(struct worker *);
void	worker_thaw(struct worker *);
void	worker_commit(struct worker *);
void	wmove_free(struct wmove *);

/*
 * The new process: the value of one allocation record, its relay
 * sockets taken out of fds (set to -1 there).  0, or -1 with the reason
 * in err.
 */
int	worker_import(struct worker *, const uint8_t *, size_t, int *fds,
	    unsigned int nfds, char *err, size_t errlen);

#endif /* WORKER_MOVE_H */
