/*
 * takeover.h -- the live upgrade, the new process's side (takeover.c):
 * started by the old process with TURND_HANDOVER_FD, it takes the
 * listeners, the process state, then each worker's allocations, and
 * commits.  upgrade.h is the old process's side.
 */

#ifndef TAKEOVER_H
#define TAKEOVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct listen_set;
struct resv;
struct turnd_conf;
struct worker;
struct hmsg;

struct takeover {
	int			 tk_fd;
	int			 tk_timeout_ms;	/* upgrade.timeout */
	unsigned int		 tk_generation;	/* the old process's */
	char			 tk_iid[17];
	uint8_t			 tk_nonce[32];
	unsigned int		 tk_nworkers;
	struct listen_set	*tk_sets;	/* one per worker */
	int			 tk_control_fd;	/* -1: none */
	int			 tk_metrics_fd;	/* -1: none */
	time_t			 tk_started;	/* generation 1 started */
	unsigned int		 tk_moved;	/* allocations taken */
	struct hmsg		*tk_msg;
};

/* 1 when this process was started to take over (TURND_HANDOVER_FD). */
int	takeover_wanted(void);
/* The old process's log file, inherited (its path may not be openable
 * after the privilege drop); -1: none. */
int	takeover_log_fd(void);
/*
 * Say hello, take the process state and the listeners, and check them
 * against conf and nworkers (the keys a takeover cannot change: the
 * listeners, workers, stun.rfc5780 and its alternate, realm).  0; or
 * -1 with the reason in err (the old process has been told).
 */
int	takeover_begin(struct takeover *, const struct turnd_conf *,
	    unsigned int nworkers, char *err, size_t errlen);
/* The workers are made (not started): take each one's allocations and
 * start it, then the reservations.  0, or -1 with err. */
int	takeover_run(struct takeover *, struct worker **, unsigned int n,
	    struct resv *, char *err, size_t errlen);
/* Refuse at the last step (why: the reason); -1. */
int	takeover_refuse(struct takeover *, const char *why);
/* Holding everything: tell the old process to let go. 0, or -1. */
int	takeover_commit(struct takeover *);
void	takeover_free(struct takeover *);

#endif /* TAKEOVER_H */
