/*
 * turn_data.c -- the TURN data path (RFC 8656): Send indications (10.2)
 * and ChannelData (12.4) from the client to a peer, Data indications
 * (10.3) and ChannelData from a peer to the client, with the permission,
 * peer policy and relay.max_bps checks both directions share.
 */

#include <string.h>

#include "conf/conf.h"
#include "stun/stun.h"
#include "store/store.h"
#include "turn/alloc.h"
#include "turn/park.h"
#include "turn/policy.h"
#include "turn/quota.h"
#include "turn/server.h"
#include "turn/server_int.h"
#include "turn/stats.h"

/*
 * relay.max_bps: bytes per second per allocation, and relay.user_max_bps:
 * per user over all its allocations on this instance (quota.h), both
 * directions together, counted in one-second windows.  1 if len may
 * pass both, then counted in both; else counted in neither.
 */
static int
turn_bw_ok(struct server *sv, struct alloc *a, size_t len)
{
	uint64_t	max = (uint64_t)sv->sv_conf->relay_max_bps;
	uint64_t	umax = (uint64_t)sv->sv_conf->relay_user_max_bps;

	if (sv->sv_realm != NULL && sv->sv_realm->sr_max_bps >= 0)
		max = (uint64_t)sv->sv_realm->sr_max_bps;

	if (max != 0) {
		if (a->a_bw_sec != sv->sv_now) {
			a->a_bw_sec = sv->sv_now;
			a->a_bw_bytes = 0;
		}
		if (a->a_bw_bytes + len > max) {
			STATS_INC(sv->sv_stats, dropped_bandwidth);
			return (0);
		}
	}
	if (umax != 0 && a->a_ubw != NULL &&
	    !quota_bw_take(a->a_ubw, sv->sv_now, len, umax)) {
		STATS_INC(sv->sv_stats, dropped_user_bandwidth);
		return (0);
	}
	if (max != 0)
		a->a_bw_bytes += len;
	return (1);
}

/* Client to peer, after the checks both data paths share. */
static void
turn_to_peer(struct server *sv, struct alloc *a, const struct sockaddr *peer,
    const uint8_t *data, size_t len)
{
	if (!policy_peer_allowed_rules(sv->sv_policy, sv->sv_realm, peer)) {
		STATS_INC(sv->sv_stats, dropped_denied_peer);
		return;
	}
	if (!perm_check(a, peer, sv->sv_now)) {
		STATS_INC(sv->sv_stats, dropped_no_perm);
		return;
	}
	if (!turn_bw_ok(sv, a, len))
		return;
	sv->sv_ops->ro_to_peer(sv->sv_net, a, peer, data, len);
	a->a_pkts_out++;
	a->a_bytes_out += len;
	STATS_INC(sv->sv_stats, relay_pkts_out);
	STATS_ADD(sv->sv_stats, relay_bytes_out, len);
}

/* Send indication (RFC 8656 10.2): no answer, whatever happens. */
void
turn_send_indication(struct server *sv, const struct server_pkt *pkt,
    const struct stun_msg *m)
{
	const struct stun_attr	*pa, *da;
	struct sockaddr_storage	 peer;
	struct alloc		*a;

	a = alloc_find(sv->sv_allocs, pkt->transport, pkt->src, pkt->local);
	if (a == NULL || a->a_tcp) {	/* RFC 6062 5.1: no UDP data */
		STATS_INC(sv->sv_stats, dropped_no_alloc);
		return;
	}
	pa = stun_msg_find(m, STUN_ATTR_XOR_PEER_ADDRESS);
	da = stun_msg_find(m, STUN_ATTR_DATA);
	if (pa == NULL || da == NULL ||
	    stun_attr_get_xaddr(pa, m->tid, &peer) == -1) {
		STATS_INC(sv->sv_stats, dropped_malformed);
		return;
	}
	turn_to_peer(sv, a, (struct sockaddr *)&peer, da->val, da->len);
}

/*
 * The live binding of chan on the allocation of pkt's 5-tuple, that
 * allocation in *ap; NULL, counted, when there is no allocation or chan
 * is not bound on it.
 */
static const struct chan *
turn_chan_find(struct server *sv, const struct server_pkt *pkt,
    uint16_t chan, struct alloc **ap)
{
	const struct chan	*c;

	if (sv->sv_allocs == NULL || (*ap = alloc_find(sv->sv_allocs,
	    pkt->transport, pkt->src, pkt->local)) == NULL) {
		STATS_INC(sv->sv_stats, dropped_no_alloc);
		return (NULL);
	}
	if ((c = chan_by_num(*ap, chan, sv->sv_now)) == NULL)
		STATS_INC(sv->sv_stats, dropped_chandata);
	return (c);
}

int
server_chandata(struct server *sv, const struct server_pkt *pkt,
    const uint8_t *msg, size_t len)
{
	struct stun_chan	 cd;
	struct alloc		*a;
	const struct chan	*c;

	if (stun_chan_parse(msg, len, &cd) == -1) {
		STATS_INC(sv->sv_stats, dropped_malformed);
		return (-1);
	}
	if ((c = turn_chan_find(sv, pkt, cd.chan, &a)) == NULL)
		return (park_has_path(sv->sv_park, pkt->path) ? 0 : -1);
	turn_to_peer(sv, a, (const struct sockaddr *)&c->ch_peer, cd.data,
	    cd.len);
	return (0);
}

int
server_chan_bound(struct server *sv, const struct server_pkt *pkt,
    uint16_t chan)
{
	struct alloc	*a;

	/*
	 * A request of this connection waiting for the store may be the
	 * ChannelBind for chan: drop (12.4), do not close, until it is done.
	 */
	return (turn_chan_find(sv, pkt, chan, &a) != NULL ||
	    park_has_path(sv->sv_park, pkt->path));
}

size_t
server_from_peer(struct server *sv, struct alloc *a,
    const struct sockaddr *peer, size_t len, int pad,
    uint8_t head[SERVER_HEAD_MAX], size_t *padlen)
{
	const struct chan	*c;
	struct stun_build	 b;
	uint8_t			 tid[STUN_TID_LEN];
	size_t			 n;

	if (!perm_check(a, peer, sv->sv_now)) {
		STATS_INC(sv->sv_stats, dropped_no_perm);
		return (0);
	}
	if (len > 0xFFFF || !turn_bw_ok(sv, a, len))
		return (0);
	if ((c = chan_by_peer(a, peer, sv->sv_now)) != NULL) {
		stun_chan_hdr(head, c->ch_num, (uint16_t)len);
		n = STUN_CHAN_HDR_LEN;
		*padlen = pad ? (4 - len % 4) % 4 : 0;
	} else {
		/* Data indication (10.3); the id only has to be unique-ish */
		memcpy(tid, &a->a_id, 8);
		memcpy(tid + 8, &a->a_pkts_in, 4);
		stun_build_init(&b, head, SERVER_HEAD_MAX,
		    STUN_TYPE(STUN_METHOD_DATA, STUN_CLASS_INDICATION), tid);
		stun_build_xaddr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
		if ((n = stun_build_finish_tail(&b, STUN_ATTR_DATA, len)) == 0)
			return (0);
		*padlen = (4 - len % 4) % 4;
	}
	a->a_pkts_in++;
	a->a_bytes_in += len;
	STATS_INC(sv->sv_stats, relay_pkts_in);
	STATS_ADD(sv->sv_stats, relay_bytes_in, len);
	return (n);
}
