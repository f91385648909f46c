/*
 * turn_tcp.c -- TCP relays (RFC 6062): the checks of an Allocate with
 * REQUESTED-TRANSPORT TCP (section 5.1), Connect (5.2), ConnectionBind
 * (5.4) and the ConnectionAttempt indication (5.3).  The sockets are the
 * net layer's, reached through the ro_tcp_* members of struct relay_ops.
 *
 * A Connect waits for the peer's TCP handshake parked (park.h) under
 * SERVER_TCP_TAG(id); the net layer wakes it when the connection is up
 * or has failed, and it is served again from the start with the id in
 * tr_alloc_id.  A ConnectionBind comes on a new connection of the
 * client, which carries no allocation; it must be authenticated as the
 * allocation's user (else 441).  Its success is the last STUN message on
 * that connection: the endpoint then pipes its bytes to the peer.
 */

#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "turn/alloc.h"
#include "turn/park.h"
#include "turn/policy.h"
#include "turn/server.h"
#include "turn/server_int.h"
#include "turn/stats.h"

/*
 * Keep the request of t until server_wake(tag), or until deadline (then
 * served again with tr_expired); id comes back as tr_alloc_id.
 */
static void
turn_park_until(struct txn *t, const void *tag, uint64_t id, time_t deadline)
{
	struct server		*sv = t->t_sv;
	struct park_req		 r;

	txn_park_req(t, tag, &r);
	r.pr_id = id;
	r.pr_deadline = deadline;
	if (park_put(sv->sv_park, &r) == -1)
		txn_error(t, STUN_ERR_SERVER_ERROR,
		    "Too many requests waiting");
}

int
turn_tcp_check(const struct txn *t)
{
	const struct stun_msg	*m = t->t_m;

	if (t->t_sv->sv_ops->ro_tcp_connect == NULL)
		return (STUN_ERR_UNSUPPORTED_TRANSPORT);	/* no net layer */
	/* 5.1: TCP relays are for clients on TCP or TLS */
	if (t->t_pkt->transport != TRANSPORT_TCP &&
	    t->t_pkt->transport != TRANSPORT_TLS)
		return (STUN_ERR_BAD_REQUEST);
	/* 5.1: attributes that only make sense for UDP; one family */
	if (stun_msg_find(m, STUN_ATTR_DONT_FRAGMENT) != NULL ||
	    stun_msg_find(m, STUN_ATTR_EVEN_PORT) != NULL ||
	    stun_msg_find(m, STUN_ATTR_RESERVATION_TOKEN) != NULL ||
	    stun_msg_find(m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY) != NULL)
		return (STUN_ERR_BAD_REQUEST);
	return (0);
}

/* The success of Connect id: its CONNECTION-ID (5.2). */
static void
turn_tcp_connected(struct txn *t, uint32_t id)
{
	struct stun_build	b;

	txn_success(t, &b);
	stun_build_u32(&b, STUN_ATTR_CONNECTION_ID, id);
	txn_finish(t, &b);
}

/* A Connect served again: the net layer is done with id (or not yet). */
static void
turn_tcp_connect_again(struct txn *t, struct alloc *a, uint32_t id)
{
	struct server	*sv = t->t_sv;
	int		 st;

	st = sv->sv_ops->ro_tcp_state(sv->sv_net, a, id,
	    t->t_resume->tr_expired);
	if (st == 0) {
		turn_tcp_connected(t, id);
		return;
	}
	if (st == 1) {
		/* woken by another tag's owner: wait on */
		turn_park_until(t, SERVER_TCP_TAG(id), id, sv->sv_now +
		    sv->sv_conf->relay_tcp_connect_timeout + 2);
		return;
	}
	txn_error(t, STUN_ERR_CONNECTION_FAILURE, NULL);
}

/*
 * Connect (5.2): the peer policy decides (403); no permission is needed
 * (5.2 asks none), and one connection per peer address (446).
 */
void
turn_tcp_connect(struct txn *t, struct alloc *a)
{
	struct server		*sv = t->t_sv;
	const struct stun_attr	*pa;
	struct sockaddr_storage	 peer;
	uint32_t		 id;
	int			 code;

	if (!a->a_tcp) {
		txn_error(t, STUN_ERR_BAD_REQUEST, "Not a TCP allocation");
		return;
	}
	if (t->t_resume != NULL && t->t_resume->tr_alloc_id != 0) {
		turn_tcp_connect_again(t, a, (uint32_t)t->t_resume->tr_alloc_id);
		return;
	}
	if ((pa = stun_msg_find(t->t_m, STUN_ATTR_XOR_PEER_ADDRESS)) == NULL ||
	    stun_attr_get_xaddr(pa, t->t_m->tid, &peer) == -1) {
		txn_error(t, STUN_ERR_BAD_REQUEST, "XOR-PEER-ADDRESS");
		return;
	}
	if (peer.ss_family != a->a_relay[0].sa.sa_family) {
		txn_error(t, STUN_ERR_PEER_ADDRESS_FAMILY, NULL);
		return;
	}
	if (!policy_peer_check(sv->sv_policy, sv->sv_realm,
	    (const struct sockaddr *)&peer, sv->sv_ops->ro_is_local,
	    sv->sv_net)) {
		txn_error(t, STUN_ERR_FORBIDDEN, NULL);
		return;
	}
	code = sv->sv_ops->ro_tcp_connect(sv->sv_net, a,
	    (const struct sockaddr *)&peer, &id);
	if (code != 0) {
		txn_error(t, code, code == STUN_ERR_INSUFFICIENT_CAPACITY ?
		    "Too many TCP connections" : NULL);
		return;
	}
	turn_park_until(t, SERVER_TCP_TAG(id), id,
	    sv->sv_now + sv->sv_conf->relay_tcp_connect_timeout + 2);
}

/*
 * ConnectionBind (5.4) on the 5-tuple of t, whose allocation a is (a
 * data connection carries none: 400).  After the success, the
 * connection is the peer's pipe.
 */
void
turn_tcp_bind(struct txn *t, struct alloc *a)
{
	struct server			*sv = t->t_sv;
	const struct auth_result	*ar = t->t_ar;
	const struct stun_attr		*ci;
	struct alloc			*owner;
	struct stun_build		 b;
	uint32_t			 id;

	if ((t->t_pkt->transport != TRANSPORT_TCP &&
	    t->t_pkt->transport != TRANSPORT_TLS) || a != NULL) {
		txn_error(t, STUN_ERR_BAD_REQUEST, "Not a new TCP connection");
		return;
	}
	if ((ci = stun_msg_find(t->t_m, STUN_ATTR_CONNECTION_ID)) == NULL ||
	    stun_attr_get_u32(ci, &id) == -1 ||
	    (owner = sv->sv_ops->ro_tcp_find(sv->sv_net, id)) == NULL) {
		txn_error(t, STUN_ERR_BAD_REQUEST, "Unknown CONNECTION-ID");
		return;
	}
	if (owner->a_keylen != ar->ar_keylen ||
	    memcmp(owner->a_key, ar->ar_key, ar->ar_keylen) != 0 ||
	    strcmp(owner->a_user, ar->ar_user) != 0) {
		txn_error(t, STUN_ERR_WRONG_CREDENTIALS, NULL);
		return;
	}
	txn_success(t, &b);
	txn_finish(t, &b);
	if (t->t_reply->len > 0)
		sv->sv_ops->ro_tcp_bind(sv->sv_net, id, t->t_pkt->path);
}

int
server_tcp_peer_ok(struct server *sv, struct alloc *a,
    const struct sockaddr *peer)
{
	if (!perm_check(a, peer, sv->sv_now)) {
		STATS_INC(sv->sv_stats, tcp_peer_refused);
		return (0);
	}
	if (!policy_peer_check(sv->sv_policy, sv->sv_realm, peer,
	    sv->sv_ops->ro_is_local, sv->sv_net)) {
		STATS_INC(sv->sv_stats, tcp_peer_refused);
		return (0);
	}
	return (1);
}

void
server_tcp_attempt(struct server *sv, struct alloc *a, uint32_t id,
    const struct sockaddr *peer)
{
	struct stun_build	b;
	uint8_t			buf[128], tid[STUN_TID_LEN];
	size_t			len;

	arc4random_buf(tid, sizeof(tid));
	stun_build_init(&b, buf, sizeof(buf),
	    STUN_TYPE(STUN_METHOD_CONNECTION_ATTEMPT, STUN_CLASS_INDICATION),
	    tid);
	stun_build_xaddr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	stun_build_u32(&b, STUN_ATTR_CONNECTION_ID, id);
	stun_build_fingerprint(&b);
	if ((len = stun_build_finish(&b)) == 0)
		return;
	STATS_INC(sv->sv_stats, tcp_attempts);
	path_send(a->a_path, &a->a_client.sa, &a->a_local.sa, buf, len);
}
