/*
 * server.h -- the STUN/TURN request logic, independent of sockets.
 *
 * The net layer hands server_handle() one STUN message with the
 * addresses it came between; the server writes the answer (if any) into
 * the caller's buffer.  No I/O, no allocation, nothing kept per source:
 * unit tests drive it with plain buffers.
 */

#ifndef SERVER_H
#define SERVER_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "turn/path.h"

struct alloc;
struct alloc_table;
struct auth;
struct policy;
struct quota;
struct ratelim;
struct stats;
struct store;
struct store_realm;
struct turnd_conf;
struct park;
struct sbuf;

/* Where a message came from, and what the listener can offer. */
struct server_pkt {
	enum transport			 transport;
	const struct sockaddr		*src;	/* the client */
	const struct sockaddr		*local;	/* where it arrived */
	/*
	 * RFC 5780, UDP only: the addresses a reply can leave from,
	 * indexed by CHANGE-REQUEST flags (bit 0 change port, bit 1
	 * change IP), so origin[0] is local and origin[3] is the
	 * OTHER-ADDRESS.  NULL when RFC 5780 is off for this socket.
	 */
	const struct sockaddr		*const *origin;
	struct path			*path;	/* the endpoint it came on:
						 * the way back */
};

/* The answer: len 0 means none; change says which origin to send from. */
struct server_reply {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
	unsigned int	 change;	/* index into server_pkt.origin */
	uint16_t	 port;		/* RFC 5780 RESPONSE-PORT: send to this
					 * port of the client's IP; 0: its own */
};

/*
 * What the TURN logic needs from the net layer (net/relay.c): relay
 * sockets and the allocation's timer.  The way back to the client is
 * the allocation's path (path.h).
 */
struct relay_ops {
	/*
	 * Bind a relay socket of family for a->a_relay[idx] on a port of
	 * relay.min_port..max_port (even: 0 any, 1 even, 2 even and keep the
	 * next port for a reservation, whose token goes to *token).  The
	 * reservation holds the quota slot of a->a_quota_id claimed under
	 * resv_id (0: none) until relay.reservation_lifetime passes or it
	 * is claimed.  Returns 0, or 508 (no port free) or 440 (no relay
	 * address of that family).
	 */
	int	(*ro_open)(void *net, struct alloc *, unsigned int idx,
		    int family, int even, int dont_fragment, uint64_t resv_id,
		    uint64_t *token);
	/*
	 * 1 when the reservation of token is live and holds the quota slot
	 * of quota_id, with its claim id in *id: an Allocate of that user
	 * bringing it claims no other slot (ro_claim hands this one over).
	 */
	int	(*ro_held)(void *net, uint64_t token, const char *quota_id,
		    uint64_t *id);
	/*
	 * Use the socket kept for reservation token; 0, or 508 if gone.
	 * The reservation's quota slot becomes a's when it was a's user's,
	 * else it is given back.
	 */
	int	(*ro_claim)(void *net, struct alloc *, unsigned int idx,
		    uint64_t token);
	/* Close relay socket idx, or everything the net layer holds (-1). */
	void	(*ro_close)(void *net, struct alloc *, int idx);
	/* (Re)arm the expiry timer at a->a_expires. */
	void	(*ro_timer)(void *net, struct alloc *);
	/* Make the net layer's state of a new allocation (a->a_net). */
	void	(*ro_attach)(void *net, struct alloc *);
	/* Send data to peer from the relay socket of peer's family. */
	void	(*ro_to_peer)(void *net, struct alloc *,
		    const struct sockaddr *peer, const uint8_t *, size_t);
	/*
	 * Is peer's address one of the host's own now (policy_local_cb,
	 * turn/policy.h)?  NULL: only the addresses known at start count.
	 */
	int	(*ro_is_local)(void *net, const struct sockaddr *peer);

	/*
	 * RFC 6062 TCP allocations (a->a_tcp; net/tcprelay.c).  ro_open
	 * makes their relayed address a listening TCP socket.  Peer
	 * connections are named by a CONNECTION-ID whose top
	 * SERVER_TCP_WORKER_SHIFT bits are the worker that owns them.
	 *
	 * ro_tcp_connect: connect from a's relayed address to peer, within
	 * relay.tcp_connect_timeout.  0 with *id: under way, and when it
	 * is done the net layer calls server_wake(SERVER_TCP_TAG(*id));
	 * 446 when a connection to peer exists or is under way; 508 over
	 * relay.tcp_connections.
	 */
	int	(*ro_tcp_connect)(void *net, struct alloc *,
		    const struct sockaddr *peer, uint32_t *id);
	/*
	 * Where Connect id of a stands: 0 connected (now waiting for its
	 * ConnectionBind), 1 still connecting, else 447 (failed, or
	 * unknown; forgotten now).  drop: give up on it (447).
	 */
	int	(*ro_tcp_state)(void *net, struct alloc *, uint32_t id,
		    int drop);
	/* The allocation of connection id waiting for its bind, or NULL. */
	struct alloc *(*ro_tcp_find)(void *net, uint32_t id);
	/*
	 * The connection of path becomes the client data connection of id:
	 * once the answer being built is sent, its bytes go to the peer as
	 * they are (path->p_pipe is set for the endpoint).
	 */
	void	(*ro_tcp_bind)(void *net, uint32_t id, struct path *);
	/*
	 * turnctl: a's peer connections appended to sb, as the JSON member
	 * ,"tcp_connections":[...] or as text lines.
	 */
	void	(*ro_tcp_list)(void *net, const struct alloc *, struct sbuf *,
		    int json);
};

#define SERVER_TCP_WORKER_SHIFT	22	/* CONNECTION-ID: worker << 22 */
/* The park tag of Connect id (never a pointer: not canonical). */
#define SERVER_TCP_TAG(id)						\
	((const void *)(uintptr_t)(((uint64_t)0xFFFFU << 48) | (id)))

/* One per worker: read-only conf, the worker's own counters. */
struct server {
	const struct turnd_conf	*sv_conf;
	struct stats		*sv_stats;
	/* TURN: all NULL when only STUN is served (unit tests) */
	struct alloc_table	*sv_allocs;
	const struct auth	*sv_auth;
	const struct policy	*sv_policy;
	struct quota		*sv_quota;	/* shared, locked inside */
	struct ratelim		*sv_rl;		/* 401/438 per source IP,
						 * shared; NULL: no limit */
	const struct relay_ops	*sv_ops;
	void			*sv_net;
	time_t			 sv_now;	/* set by the net layer */
	/* the store: the worker's, and the realm's options and rules */
	struct store		*sv_store;	/* NULL: configuration only */
	struct store_realm	*sv_realm;	/* one reference held */
	/* requests waiting for the store (park.h), and their answers */
	struct park		*sv_park;
	uint8_t			*sv_pbuf;
	/* draining: no new allocations; 300 to an alternate when known */
	int			 sv_draining;
	struct sockaddr_storage	 sv_alt[2];	/* IPv4, IPv6; family 0: none */
};

void	server_init(struct server *, const struct turnd_conf *,
	    struct stats *);
/* Serve TURN too: the worker's allocation table and the shared modules. */
void	server_enable_turn(struct server *, struct alloc_table *,
	    const struct auth *, const struct policy *, struct quota *,
	    const struct relay_ops *, void *net);
/*
 * The budget of auth.unauth_rate, shared by every worker (ratelim.h;
 * the caller keeps it alive while the server may use it).
 */
void	server_set_ratelim(struct server *, struct ratelim *);
/* Free what server_enable_turn() made. */
void	server_clear(struct server *);
/*
 * Handle the STUN message of len bytes at msg (a whole datagram or one
 * frame of a stream).  Fills *reply (reply->len = 0 when nothing is to
 * be sent) and counts what it did in the worker's stats.
 */
void	server_handle(struct server *, const struct server_pkt *,
	    const uint8_t *msg, size_t len, struct server_reply *reply);

/*
 * TURN data from the client: a ChannelData message (a datagram or a
 * stream frame) on the 5-tuple of pkt.  Relays or drops (counted).
 * Returns -1 when the message is malformed, the 5-tuple has no
 * allocation or the channel is not bound on it (RFC 8656 12.4: such a
 * message can never be relayed; a stream endpoint closes on it), else 0
 * -- 0 as well while a request of pkt's path waits for the store, as it
 * may be the ChannelBind for that channel.
 */
int	server_chandata(struct server *, const struct server_pkt *,
	    const uint8_t *msg, size_t len);

/*
 * 1 if the 5-tuple of pkt has an allocation with channel chan bound
 * (a number outside 0x4000..0x4FFF, RFC 8656 12, or 0x7FFE for RFC 5766
 * clients, never is) or a request of pkt's path waits for the store;
 * else 0, counted as server_chandata() counts it.
 * A stream endpoint asks as soon as a frame's header is in, before it
 * waits for the data.
 */
int	server_chan_bound(struct server *, const struct server_pkt *,
	    uint16_t chan);

/*
 * TURN data from a peer to allocation a, without copying it: writes into
 * head the bytes that go before the data (a ChannelData header when a
 * channel is bound to the peer, else the head of a Data indication) and
 * into *padlen the number of zero bytes that go after it (the DATA
 * attribute's padding; ChannelData is padded to 4 only when pad, i.e.
 * on streams).  Returns the head's length, or 0 when the data is dropped
 * (no permission, over max_bps, too long: counted).
 */
#define SERVER_HEAD_MAX	64
size_t	server_from_peer(struct server *, struct alloc *,
	    const struct sockaddr *peer, size_t len, int pad,
	    uint8_t head[SERVER_HEAD_MAX], size_t *padlen);

/*
 * turn_tcp.c (RFC 6062 5.3): may peer connect to TCP allocation a
 * (a live permission, and the peer policy)?  1 or 0, counted.
 * server_tcp_attempt(): tell a's client that peer connected, as
 * connection id (a ConnectionAttempt indication).
 */
int	server_tcp_peer_ok(struct server *, struct alloc *,
	    const struct sockaddr *peer);
void	server_tcp_attempt(struct server *, struct alloc *, uint32_t id,
	    const struct sockaddr *peer);

/* End allocation a: its timer fired, or its connection closed. */
void	server_alloc_end(struct server *, struct alloc *, int expired);
/*
 * turn_move.c, the live upgrade.  server_alloc_adopt(): a, taken over
 * with its relay sockets attached (a->a_net) and in the table, counts
 * in the quota and the gauges and gets its timer.  server_alloc_forget():
 * a, handed to the new process, leaves this one without ending (the
 * store and the quota in Redis keep it).  server_drop_waiting(): forget
 * the requests of path waiting for the store (the client asks again,
 * and the new process answers).
 */
void	server_alloc_adopt(struct server *, struct alloc *);
void	server_alloc_forget(struct server *, struct alloc *);
void	server_drop_waiting(struct server *, const struct path *);

/*
 * The store (store.h).  server_set_store() gives the server the worker's
 * store; server_set_realm() new realm options and rules (it takes the
 * reference).  The store's hooks call server_wake() (serve again the
 * requests waiting for tag), server_rewrite() (write every allocation to
 * Redis again) and server_traffic() (report traffic).
 */
void	server_set_store(struct server *, struct store *);
/*
 * Stop granting allocations: Allocate gets 300 ALTERNATE-SERVER with alt4
 * or alt6 (the client's family; NULL: none known), else 508.
 */
void	server_drain(struct server *, const struct sockaddr *alt4,
	    const struct sockaddr *alt6);
void	server_set_realm(struct server *, struct store_realm *);
/*
 * A reload: the new conf, and the auth and policy made from it (the
 * caller keeps them alive while the server may use them).
 */
void	server_set_conf(struct server *, const struct turnd_conf *,
	    const struct auth *, const struct policy *);
void	server_wake(struct server *, const void *tag);
void	server_rewrite(struct server *);
void	server_traffic(struct server *);
/* Once a second: answer requests that waited too long (500). */
void	server_tick(struct server *);
/* Which allocations turnctl means: every condition set must hold. */
struct server_filter {
	uint64_t		 sf_id;		/* 0: any */
	const char		*sf_user;	/* NULL: any */
	struct sockaddr_storage	 sf_peer;	/* family 0: any; else a
						 * live permission for it */
	int			 sf_json;	/* answer in JSON */
	int			 sf_full;	/* text: every detail */
};
struct sbuf;

/*
 * turn_admin.c.  The allocations of this worker matching f, at most max,
 * appended to sb (text lines, or JSON objects separated by commas);
 * their number.  server_kill() ends those matching f at once (their
 * clients' next request gets 437); how many.
 */
unsigned int server_sessions(struct server *, const struct server_filter *,
	    unsigned int max, struct sbuf *);
unsigned int server_kill(struct server *, const struct server_filter *);
unsigned int server_find(struct server *, const struct server_filter *,
	    struct alloc **, unsigned int max);
int	server_filter_match(const struct server_filter *, const struct alloc *,
	    time_t now);

/*
 * An endpoint is going away: end the allocation of the 5-tuple (client,
 * local) on path, if path carries it, and forget the requests that came
 * on path and still wait for the store.  The one call an endpoint makes
 * when it closes.
 */
void	server_path_closed(struct server *, struct path *,
	    const struct sockaddr *client, const struct sockaddr *local);

#endif /* SERVER_H */
