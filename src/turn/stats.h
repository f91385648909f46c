/*
 * stats.h -- per-worker counters.
 *
 * Each worker owns one struct stats and is its only writer, so an
 * increment is a relaxed load and store (no locked instruction on the
 * data path); other threads read with relaxed loads to sum them.
 */

#ifndef STATS_H
#define STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define STATS_FIELDS(X)							\
	X(stun_requests)	/* STUN requests handled */		\
	X(stun_indications)	/* STUN indications received */		\
	X(binding_success)	/* Binding success responses */		\
	X(error_responses)	/* error responses of any code */	\
	X(err_400)							\
	X(err_420)							\
	X(err_401)							\
	X(err_403)	/* peer address refused by the policy */	\
	X(local_lookup_failed) /* own-address route lookups failed */	\
	X(err_437)							\
	X(err_438)							\
	X(err_440)							\
	X(err_441)							\
	X(err_442)							\
	X(err_443)							\
	X(err_446)	/* RFC 6062: Connect to a peer connected */	\
	X(err_447)	/* RFC 6062: Connect failed or timed out */	\
	X(err_486)							\
	X(err_508)							\
	X(err_500)	/* the store could not be asked in time */	\
	X(err_300)	/* draining: ALTERNATE-SERVER */		\
	X(alloc_redirected) /* Allocate refused while draining */	\
	X(store_waits)	/* requests that waited for Redis */		\
	X(alloc_created)						\
	X(allocs_udp)	/* gauges: live allocations by client transport */ \
	X(allocs_tcp)							\
	X(allocs_tls)							\
	X(allocs_dtls)							\
	X(allocs_ipv4)	/* ... and by relayed address family */	\
	X(allocs_ipv6)							\
	X(auth_ok)	/* TURN requests authenticated */		\
	X(auth_challenge) /* 401: no credentials yet (the challenge) */	\
	X(auth_rejected) /* 401: unknown user, wrong password, expired */ \
	X(auth_stale)	/* 438: nonce expired or not ours */		\
	X(auth_malformed) /* 400: credential attributes wrong */	\
	X(auth_unavailable) /* 500: the store could not answer */	\
	X(alloc_deleted)	/* Refresh 0, or the connection closed */ \
	X(alloc_expired)						\
	X(alloc_moved_in)	/* taken over from the old process */	\
	X(alloc_moved_out)	/* handed to the new process */		\
	X(relay_pkts_out)	/* client -> peer */			\
	X(relay_bytes_out)						\
	X(relay_pkts_in)	/* peer -> client */			\
	X(relay_bytes_in)						\
	X(dropped_no_alloc)	/* Send/ChannelData without one */	\
	X(dropped_no_perm)	/* no permission for that peer */	\
	X(dropped_denied_peer)	/* Send to a peer the policy refuses */	\
	X(dropped_ratelimited)	/* 401/438 over auth.unauth_rate */	\
	X(dropped_bandwidth)	/* over relay.max_bps */		\
	X(dropped_user_bandwidth) /* over relay.user_max_bps */		\
	X(dropped_notstun)	/* not STUN: bad header */		\
	X(dropped_demux)	/* UDP+DTLS port: no RFC 7983 range */	\
	X(dropped_malformed)	/* broken attributes, not answerable */	\
	X(dropped_fingerprint)	/* wrong FINGERPRINT */			\
	X(dropped_chandata)	/* ChannelData on an unbound channel */	\
	X(dropped_other)	/* responses, unsupported classes */	\
	X(udp_send_errors)	/* replies the kernel refused */	\
	X(conn_accepted)	/* TCP/TLS connections accepted */	\
	X(conn_rejected)	/* over a connection limit */		\
	X(conn_closed_garbage)	/* not STUN framing */			\
	X(conn_closed_idle)	/* idle timeout */			\
	X(conn_closed_stall)	/* stalled mid-frame */			\
	X(conn_closed_backlog)	/* client not reading its answers */	\
	X(tls_handshake_failed)						\
	X(dtls_hello_verify)	/* HelloVerifyRequests (cookies) sent */ \
	X(dtls_dropped)		/* not a ClientHello, no association */	\
	X(dtls_rejected)	/* cookie good, over a connection limit */ \
	X(dtls_handshake_limited) /* cookie good, too many handshakes */ \
	X(dtls_handshakes)	/* DTLS handshakes completed */		\
	X(dtls_handshake_failed)					\
	X(dtls_handshake_timeout) /* not done in limits.frame_timeout */ \
	X(dtls_closed_notify)	/* the client's close_notify */		\
	X(dtls_closed_error)	/* a fatal alert or a broken record */	\
	X(dtls_closed_idle)	/* limits.idle_timeout */		\
	X(dtls_send_failed)	/* records that could not be written */	\
	X(proxy_ok)		/* PROXY headers read (listen.proxy_from) */ \
	X(proxy_bad)		/* missing, malformed or oversized */	\
	X(proxy_timeout)	/* not all in within listen.proxy_timeout */ \
	X(proxy_refused)	/* a PROXY header from another source */ \
	X(accept_paused)	/* accept paused: out of descriptors */ \
	X(tcp_connects)		/* RFC 6062 Connects that connected */	\
	X(tcp_connect_refused)	/* ... refused or reset by the peer */	\
	X(tcp_connect_timeout)	/* ... not done in tcp_connect_timeout */ \
	X(tcp_attempts)		/* peers connected to a relayed address */ \
	X(tcp_peer_refused)	/* ... without permission: closed */	\
	X(tcp_bind_timeout)	/* no ConnectionBind in tcp_bind_timeout */ \
	X(tcp_binds)		/* ConnectionBinds: data connections */	\
	X(tcp_conns)		/* gauge: peer connections open */	\
	X(tcp_bytes_out)	/* client -> peer over TCP relays */	\
	X(tcp_bytes_in)		/* peer -> client over TCP relays */	\
	X(tcp_resets)		/* a side reset: the other one too */	\
	X(tcp_moved)		/* ConnectionBinds handed to the owning \
				 * worker */

struct stats {
#define STATS_DECL(name)	_Atomic uint64_t name;
	STATS_FIELDS(STATS_DECL)
#undef STATS_DECL
};

/* Single-writer increment: only the owning worker calls these. */
#define STATS_ADD(st, name, n)						\
	atomic_store_explicit(&(st)->name,				\
	    atomic_load_explicit(&(st)->name, memory_order_relaxed) + (n), \
	    memory_order_relaxed)
#define STATS_INC(st, name)	STATS_ADD(st, name, 1)
/* Gauges go down too: the sum over workers wraps back into range. */
#define STATS_DEC(st, name)	STATS_ADD(st, name, UINT64_MAX)

#endif /* STATS_H */
