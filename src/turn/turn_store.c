/*
 * turn_store.c -- what the store learns about allocations: each one is
 * described (struct store_alloc) and handed to the worker's store when
 * it is made, refreshed, given peers, and when it ends; all of them
 * again when Redis comes back; their traffic every
 * store.traffic_interval.  The data path never comes here.
 */

#include <string.h>

#include "conf/conf.h"
#include "store/store.h"
#include "turn/alloc.h"
#include "turn/server.h"
#include "turn/server_int.h"

/* Describe a; perms and chans are the caller's arrays. */
static void
turn_describe(struct server *sv, const struct alloc *a, struct store_alloc *sa,
    struct store_perm *perms, struct store_chan *chans)
{
	unsigned int	i;

	memset(sa, 0, sizeof(*sa));
	sa->sa_id = a->a_id;
	sa->sa_user = a->a_user;
	sa->sa_quota_id = a->a_quota_id;
	sa->sa_transport = transport_name(a->a_transport);
	path_tls_info(a->a_path, &sa->sa_tls_version, &sa->sa_tls_cipher);
	sa->sa_client = (const struct sockaddr *)&a->a_client;
	sa->sa_server = (const struct sockaddr *)&a->a_local;
	for (i = 0; i < ALLOC_FAMILIES && i < 2; i++)
		if (a->a_relay[i].sa.sa_family != 0)
			sa->sa_relay[i] =
			    (const struct sockaddr *)&a->a_relay[i];
	if (sa->sa_relay[0] == NULL) {		/* IPv4 half deleted */
		sa->sa_relay[0] = sa->sa_relay[1];
		sa->sa_relay[1] = NULL;
	}
	sa->sa_created = a->a_created;
	sa->sa_expires = a->a_expires;
	sa->sa_lifetime = a->a_lifetime;
	if (perms == NULL || chans == NULL)
		return;		/* the allocation alone */
	for (i = 0; i < a->a_nperm; i++) {
		memset(&perms[i].sp_peer, 0, sizeof(perms[i].sp_peer));
		memcpy(&perms[i].sp_peer, &a->a_perm[i].p_peer,
		    sizeof(a->a_perm[i].p_peer));
		perms[i].sp_expires = a->a_perm[i].p_expires;
	}
	sa->sa_perms = perms;
	sa->sa_nperms = a->a_nperm;
	for (i = 0; i < a->a_nchan; i++) {
		chans[i].sc_num = a->a_chan[i].ch_num;
		memset(&chans[i].sc_peer, 0, sizeof(chans[i].sc_peer));
		memcpy(&chans[i].sc_peer, &a->a_chan[i].ch_peer,
		    sizeof(a->a_chan[i].ch_peer));
		chans[i].sc_expires = a->a_chan[i].ch_expires;
	}
	sa->sa_chans = chans;
	sa->sa_nchans = a->a_nchan;
}

void
turn_mirror(struct server *sv, struct alloc *a, enum store_event ev)
{
	struct store_alloc	sa;
	struct store_perm	perms[ALLOC_PERMS_MAX];
	struct store_chan	chans[ALLOC_CHANS_MAX];

	if (!store_up(sv->sv_store))
		return;
	turn_describe(sv, a, &sa, perms, chans);
	store_alloc_put(sv->sv_store, &sa, ev, sv->sv_now);
}

void
turn_mirror_end(struct server *sv, struct alloc *a)
{
	struct store_alloc	sa;

	if (!store_is_redis(sv->sv_store))
		return;
	turn_describe(sv, a, &sa, NULL, NULL);
	/* client side: received from it, sent to it; peer side the other
	 * way round */
	sa.sa_rcvp = sa.sa_peer_sentp = a->a_pkts_out;
	sa.sa_rcvb = sa.sa_peer_sentb = a->a_bytes_out;
	sa.sa_sentp = sa.sa_peer_rcvp = a->a_pkts_in;
	sa.sa_sentb = sa.sa_peer_rcvb = a->a_bytes_in;
	store_alloc_del(sv->sv_store, &sa);
}

static void
turn_rewrite_one(struct alloc *a, void *arg)
{
	turn_mirror(arg, a, STORE_EV_REWRITE);
}

void
server_rewrite(struct server *sv)
{
	if (sv->sv_allocs != NULL)
		alloc_foreach(sv->sv_allocs, turn_rewrite_one, sv);
}

static void
turn_traffic_one(struct alloc *a, void *arg)
{
	struct server		*sv = arg;
	struct store_alloc	 sa;
	uint64_t		 pin, bin, pout, bout;

	pin = a->a_pkts_in - a->a_rep_pkts_in;
	bin = a->a_bytes_in - a->a_rep_bytes_in;
	pout = a->a_pkts_out - a->a_rep_pkts_out;
	bout = a->a_bytes_out - a->a_rep_bytes_out;
	if (pin == 0 && pout == 0)
		return;
	turn_describe(sv, a, &sa, NULL, NULL);
	sa.sa_rcvp = sa.sa_peer_sentp = pout;
	sa.sa_rcvb = sa.sa_peer_sentb = bout;
	sa.sa_sentp = sa.sa_peer_rcvp = pin;
	sa.sa_sentb = sa.sa_peer_rcvb = bin;
	store_alloc_traffic(sv->sv_store, &sa);
	a->a_rep_pkts_in = a->a_pkts_in;
	a->a_rep_bytes_in = a->a_bytes_in;
	a->a_rep_pkts_out = a->a_pkts_out;
	a->a_rep_bytes_out = a->a_bytes_out;
}

void
server_traffic(struct server *sv)
{
	if (sv->sv_allocs != NULL && store_up(sv->sv_store))
		alloc_foreach(sv->sv_allocs, turn_traffic_one, sv);
}

unsigned int
turn_user_quota(const struct server *sv)
{
	if (sv->sv_realm != NULL && sv->sv_realm->sr_user_quota >= 0)
		return (sv->sv_realm->sr_user_quota > 0xFFFFFFF ? 0xFFFFFFF :
		    (unsigned int)sv->sv_realm->sr_user_quota);
	return ((unsigned int)sv->sv_conf->relay_user_quota);
}
