/*
 * admin.h -- what the control socket and the signals ask of turnd as a
 * whole, on the main thread: status, the allocations' list and kill
 * (answered by the workers that own them), reload and drain; and the
 * workers' counters, summed.
 */

#ifndef ADMIN_H
#define ADMIN_H

#include "admin/control.h"

struct sbuf;
struct stats;
struct turnd;

/* The counters of every worker, summed into *sum (zeroed first). */
void		admin_stats(struct turnd *, struct stats *sum);
/* Live allocations: the workers' gauges, summed. */
unsigned int	admin_allocations(struct turnd *);
/* The quota limits in force: the realm's in Redis, else the conf's. */
void		admin_quota_limits(struct turnd *);
/* The control socket's hook (control.h): arg is the struct turnd. */
void		admin_request(void *arg, const struct control_req *,
		    struct sbuf *out, control_done_cb done, void *ctx);
/* Start draining (once), with a timeout in seconds (0: none); what it
 * says to out (JSON when json). */
void		admin_drain(struct turnd *, int timeout, int json,
		    struct sbuf *out);
/* SIGHUP: reload, the outcome told in the log only. */
void		admin_reload_log(struct turnd *);

#endif /* ADMIN_H */
