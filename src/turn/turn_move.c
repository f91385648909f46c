/*
 * turn_move.c -- allocations that change process in a live upgrade
 * (doc/ARCHITECTURE section 8): one taken over counts here as it did
 * there (quota, bandwidth window, gauges), and one handed over leaves
 * without ending -- no mirror deletion, no Redis quota release, no end
 * event: the new process carries it under the same instance id.
 */

#include "turn/alloc.h"
#include "turn/park.h"
#include "turn/quota.h"
#include "turn/server.h"
#include "turn/server_int.h"
#include "turn/stats.h"

void
server_alloc_adopt(struct server *sv, struct alloc *a)
{
	quota_force(sv->sv_quota, a->a_quota_id);
	a->a_ubw = quota_bw_get(sv->sv_quota, a->a_quota_id);
	turn_gauge(sv, a, -1, 1);
	sv->sv_ops->ro_timer(sv->sv_net, a);
	STATS_INC(sv->sv_stats, alloc_moved_in);
}

void
server_alloc_forget(struct server *sv, struct alloc *a)
{
	turn_gauge(sv, a, -1, -1);
	sv->sv_ops->ro_close(sv->sv_net, a, -1);
	quota_release(sv->sv_quota, a->a_quota_id);
	quota_bw_put(sv->sv_quota, a->a_ubw);
	alloc_free(sv->sv_allocs, a);
	STATS_INC(sv->sv_stats, alloc_moved_out);
}

void
server_drop_waiting(struct server *sv, const struct path *p)
{
	park_drop_path(sv->sv_park, p);
}
