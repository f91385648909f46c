/*
 * net.h -- workers, listening sockets and the endpoints of src/net.
 *
 * Threads: every socket a worker uses is bound by the main thread before
 * privileges drop (listen.c), one per worker and address, with
 * SO_REUSEPORT so the kernel spreads clients over workers.  Each worker
 * then runs its own event_base and touches only its own sockets,
 * connections and counters.  The only shared state is the read-only
 * conf, the SSL_CTX, the connection limiter and the EVEN-PORT
 * reservations (mutexes taken on accept, close and reservation, never
 * per packet).
 *
 * Inside a worker (doc/ARCHITECTURE has the picture): worker.c owns the
 * thread and the loop; the endpoints -- udp.c (the UDP listeners),
 * stream.c (TCP/TLS connections) -- hand each message to the TURN logic
 * with their struct path (src/turn/path.h); relay.c owns the relay
 * sockets and answers the TURN logic's struct relay_ops; relay_io.c
 * batches what the endpoints and relay.c send; sock.c holds the system
 * calls they share.  Calls go down that list, never up.
 */

#ifndef NET_H
#define NET_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "turn/path.h"
#include "turn/server.h"
#include "turn/stats.h"

struct alloc_table;
struct auth;
struct policy;
struct quota;
struct ratelim;
struct resv;
struct store;
struct store_realm;
struct turnd_conf;

/* RFC 5780 roles within a group: bit 0 changed port, bit 1 changed IP. */
#define LSOCK_ROLES	4

/* A bound socket, made by listen_open() before privileges drop. */
struct lsock {
	int			 ls_fd;
	enum transport		 ls_transport;
	struct sockaddr_storage	 ls_addr;	/* bound; port resolved */
	int			 ls_group;	/* RFC 5780 group, -1: none */
	unsigned int		 ls_role;	/* 0..3 in its group */
	int			 ls_tls_too;	/* TCP: also TLS, by first byte */
	int			 ls_dtls_too;	/* UDP: also DTLS (RFC 7983) */
};

/* The sockets of one worker. */
struct listen_set {
	struct lsock		*ls;
	unsigned int		 n;
};

/*
 * Bind every configured listener once per worker (and the RFC 5780
 * alternates when switched on).  Returns 0, or -1 with
 * "listen.udp: 127.0.0.1:3478: Address already in use" in err; on
 * failure nothing stays open.
 */
int	listen_open(const struct turnd_conf *, unsigned int nworkers,
	    struct listen_set *sets, char *err, size_t errlen);
void	listen_close(struct listen_set *);
struct worker;
struct udp_set;
struct dtls_set;
struct stream_set;

/* Append a copy of ls to set. */
void	listen_set_push(struct listen_set *, const struct lsock *);
/*
 * The live upgrade: every socket of a worker, in the order listen_open()
 * gave them within each kind (worker_move.c; the fds stay the worker's),
 * and the new process's check that they are what its conf would bind:
 * 0, or -1 with the key and the difference in err.
 */
void	worker_listeners(struct worker *, struct listen_set *);
int	listen_match(const struct turnd_conf *, const struct listen_set *,
	    char *err, size_t errlen);
void	udp_set_lsocks(const struct udp_set *, struct listen_set *);
void	dtls_set_lsocks(const struct dtls_set *, struct listen_set *);
void	stream_set_lsocks(const struct stream_set *, struct listen_set *);

/* TLS context from tls.cert/tls.key; NULL with a reason in err. */
SSL_CTX	*tls_ctx_new(const struct turnd_conf *, char *err, size_t errlen);
/* Write a fresh self-signed EC certificate and key for host (demo). */
int	tls_make_selfsigned(const char *certpath, const char *keypath,
	    const char *host, char *err, size_t errlen);

/* Limits on TCP/TLS connections, in total and per source IP. */
struct connlimit;
struct connlimit *connlimit_new(unsigned int total, unsigned int per_source);
/* 0 and counted, or -1 if a limit is reached. */
int	connlimit_acquire(struct connlimit *, const struct sockaddr *);
void	connlimit_release(struct connlimit *, const struct sockaddr *);
void	connlimit_free(struct connlimit *);

/*
 * EVEN-PORT reservations (RFC 8656 7.2), shared by the workers: resv.c.
 * Each holds a slot of its user's quota q (given back when it expires).
 */
struct quota;
struct resv *resv_new(struct quota *);
void	resv_free(struct resv *);
/* Whose quota a reservation holds (quota_id NULL: none), until when. */
struct resv_hold {
	const char	*rh_quota_id;
	uint64_t	 rh_id;		/* the claim id (the store's member) */
	time_t		 rh_expires;
};
/* Keep fd under a new *token as h says; 0, or -1 when full. */
int	resv_put(struct resv *, int fd, time_t now, const struct resv_hold *,
	    uint64_t *token);
/*
 * The fd kept for token (now the caller's), or -1.  *quota_id (the
 * caller frees it; NULL: none) and *id: the quota claim it held, now
 * the caller's to hand on or give back.
 */
int	resv_take(struct resv *, uint64_t token, time_t now, char **quota_id,
	    uint64_t *id);
/* 1 with *id when token's reservation is live and holds quota_id's slot. */
int	resv_held(struct resv *, uint64_t token, time_t now,
	    const char *quota_id, uint64_t *id);
/* Close the expired reservations, their quota slots given back. */
void	resv_expire(struct resv *, time_t now);
/*
 * The live upgrade.  resv_export(): up to max reservations from the
 * from-th on, each a record of type appended to tb, their sockets into
 * fds (records name them by index); how many.  resv_import(): one
 * such record's value, taking its socket out of fds (-1 there): 0, or
 * -1.  resv_drop_all(): close every reservation (the old process after
 * the commit: the new one holds the sockets and the slots).
 */
struct tlvbuf;
unsigned int resv_export(struct resv *, unsigned int from, unsigned int max,
	    struct tlvbuf *, uint16_t type, int *fds);
int	resv_import(struct resv *, const uint8_t *, size_t, int *fds,
	    unsigned int nfds);
void	resv_drop_all(struct resv *);
unsigned int resv_count(struct resv *);

/* What every worker shares, read-only or locked inside. */
struct worker_shared {
	const char		*ws_iid;	/* this instance's id */
	struct store_realm	*ws_realm;	/* each worker takes a ref */
	SSL_CTX			*ws_tls;
	struct connlimit	*ws_connlimit;
	struct connlimit	*ws_dtls_hs;	/* DTLS handshakes under way */
	const struct auth	*ws_auth;
	const struct policy	*ws_policy;
	struct quota		*ws_quota;
	struct resv		*ws_resv;
	struct ratelim		*ws_ratelim;	/* auth.unauth_rate */
	struct worker *const	*ws_workers;	/* all, by id (RFC 6062
						 * hands connections over) */
	unsigned int		 ws_nworkers;
};

struct udp_set;
struct dtls_set;
struct stream_set;
struct relay_set;
struct rio;
struct tcprelay_set;

struct worker {
	unsigned int		 w_id;
	pthread_t		 w_thread;
	int			 w_running;
	_Atomic int		 w_quit;	/* worker_stop() asked */
	struct event_base	*w_base;
	const struct turnd_conf	*w_conf;
	SSL_CTX			*w_tls;		/* new TLS connections */
	struct connlimit	*w_connlimit;
	struct connlimit	*w_dtls_hs;	/* limits.dtls_handshakes* */
	struct server		 w_srv;
	struct stats		 w_stats;
	struct store		*w_store;
	struct alloc_table	*w_allocs;
	struct event		*w_tick;	/* once a second */
	long long		 w_tick_last;	/* us, monotonic */
	_Atomic uint64_t	 w_lag_us;	/* how late the last tick ran */

	/* the modules of the worker, each owning its own state */
	struct rio		*w_rio;		/* the data path's batches */
	struct relay_set	*w_relay;	/* relay sockets, expiry */
	struct udp_set		*w_udp;		/* UDP listeners */
	struct dtls_set		*w_dtls;	/* DTLS listeners and
						 * associations */
	struct stream_set	*w_stream;	/* TCP/TLS listeners and
						 * connections */
	struct tcprelay_set	*w_tcp;		/* RFC 6062 connections */
	struct worker *const	*w_all;		/* every worker, by w_id */
	unsigned int		 w_nall;
	int			 w_frozen;	/* handing over: nothing
						 * expires (worker_move.c) */
	int			 w_moved;	/* handed over, until the
						 * commit or a rollback */
	_Atomic uint64_t	 w_freeze_us;	/* the last takeover's
						 * freeze of this worker */
};

/*
 * Take over the sockets in set (the worker closes them) and prepare the
 * event_base; the thread starts with worker_start().
 */
struct worker *worker_new(unsigned int id, const struct turnd_conf *,
	    struct listen_set *set, const struct worker_shared *);
int	worker_start(struct worker *);
/* Ask the loop to stop and join the thread. */
void	worker_stop(struct worker *);
void	worker_free(struct worker *);
/* Add this worker's counters into sum (safe from any thread). */
void	worker_stats_add(const struct worker *, struct stats *sum);
/* From any thread: the worker takes sr (and the reference) in its loop. */
void	worker_post_realm(struct worker *, struct store_realm *);
/* From any thread: run fn(w, arg) in the worker's loop; 0 or -1. */
int	worker_run(struct worker *, void (*fn)(struct worker *, void *),
	    void *arg);
/* How late, in microseconds, the worker's last once-a-second timer ran:
 * its loop's lag (safe from any thread). */
uint64_t worker_lag_us(const struct worker *);

/*
 * The server's clock from the loop's cached time: every callback of a
 * worker's loop sets it first.
 */
static inline void
worker_clock(struct worker *w)
{
	struct timeval	tv;

	if (event_base_gettimeofday_cached(w->w_base, &tv) == -1)
		gettimeofday(&tv, NULL);
	w->w_srv.sv_now = tv.tv_sec;
}

/*
 * Inside src/net: the modules a worker is made of.  Each *_new() takes
 * what it owns; *_free() closes it all.
 */

/* udp.c: the worker's UDP listeners (the UDP sockets of set). */
#define UDP_BATCH	32	/* datagrams per recvmmsg/sendmmsg */
#define UDP_ROUNDS	8	/* batches per wakeup, then yield */
#define UDP_RXBUF	65536	/* any datagram fits */
#define UDP_TXBUF	2048	/* STUN answers are small */
struct udp_set *udp_set_new(struct worker *, struct listen_set *);
void	udp_set_free(struct udp_set *);
/* The live upgrade (worker_move.c): stop or start reading; the
 * sockets by index, the same in the old and the new process. */
void	udp_set_pause(struct udp_set *, int pause);
unsigned int udp_set_count(const struct udp_set *);
int	udp_path_index(const struct udp_set *, const struct path *);
struct path *udp_path_at(struct udp_set *, unsigned int);

/*
 * dtls.c: the worker's DTLS listeners and their associations.  A UDP
 * socket that also serves DTLS (ls_dtls_too) stays udp.c's: dtls.c
 * sends on its fd, and udp.c hands it the datagrams whose first byte
 * is a DTLS record's through dtls_udp_input().  Made before the UDP set.
 */
struct dtls_set *dtls_set_new(struct worker *, struct listen_set *);
/* The index to pass dtls_udp_input() for the UDP socket fd, or -1. */
int	dtls_udp_index(const struct dtls_set *, int fd);
/* A datagram (first byte 20..63) the UDP socket of index received. */
void	dtls_udp_input(struct dtls_set *, int index,
	    const struct sockaddr_storage *src,
	    const struct sockaddr_storage *local, const uint8_t *, size_t);
/* New associations take the certificate of this TLS context (reload). */
void	dtls_set_ctx(struct dtls_set *, SSL_CTX *);
/* Once a second: cookie keys, handshake deadlines, idle expiry. */
void	dtls_tick(struct dtls_set *);
/* Stop or start reading the DTLS-only sockets (the live upgrade). */
void	dtls_set_pause(struct dtls_set *, int pause);
/* Ends every association (and what its path carried). */
void	dtls_set_free(struct dtls_set *);

/* stream.c: the worker's TCP/TLS listeners and their connections. */
struct stream_set *stream_set_new(struct worker *, struct listen_set *);
/* Close every connection (each ends what its path carried). */
void	stream_set_close_all(struct stream_set *);
void	stream_set_free(struct stream_set *);
/* Close the listeners (their connections go on): the new process of a
 * live upgrade accepts now. */
void	stream_set_unlisten(struct stream_set *);

/* relay.c: relay sockets in one epoll set, expiry on a timing wheel. */
#define RELAY_PEERBUF	65536		/* any datagram from a peer */
extern const struct relay_ops relay_ops;	/* net: the worker */
struct relay_set *relay_set_new(struct worker *, struct resv *);
/* End the allocations whose time is up (once a second). */
void	relay_expire_run(struct relay_set *);
/* End every allocation of the worker (shutdown). */
void	relay_end_all(struct relay_set *);
void	relay_set_free(struct relay_set *);
/*
 * The live upgrade (worker_move.c).  relay_pause(): stop or start
 * reading every relay socket.  relay_fds(): a's relay sockets (-1:
 * none).  relay_park(): a was handed over: out of the epoll set and
 * the wheel (its sockets stay open until the commit), or back in them
 * (park 0: rollback).  relay_take(): the new process's side, fd as
 * a's relay socket idx (a attached, a_relay as it was): 0, or -1.
 */
struct alloc;
void	relay_pause(struct relay_set *, int pause);
void	relay_fds(const struct alloc *, int fd[2]);
void	relay_park(struct alloc *, int park);
int	relay_take(struct alloc *, unsigned int idx, int fd);

/*
 * tcprelay.c: RFC 6062 TCP relays.  relay.c opens and closes them and
 * answers the ro_tcp_* operations with them; stream.c hands over a
 * connection that a ConnectionBind made a data connection.
 */
struct tcpalloc;
struct bufferevent;
struct tcprelay_set *tcprelay_set_new(struct worker *);
void	tcprelay_set_free(struct tcprelay_set *);
/* A listening TCP socket on ip:port for a relayed address, or -1. */
int	tcprelay_socket(const struct sockaddr_storage *ip, uint16_t port);
/* a's relayed address on listening fd (taken); NULL when it fails. */
struct tcpalloc *tcprelay_open(struct worker *, struct alloc *, int fd);
const struct sockaddr *tcprelay_addr(const struct tcpalloc *);
/* The listener and every connection of the allocation closed; frees. */
void	tcprelay_close(struct tcpalloc *);
int	tcprelay_connect(struct tcpalloc *, const struct sockaddr *peer,
	    uint32_t *id);
int	tcprelay_state(struct tcpalloc *, uint32_t id, int drop);
struct alloc *tcprelay_find(struct tcprelay_set *, uint32_t id);
void	tcprelay_bind(struct tcprelay_set *, uint32_t id, struct path *);
/* turnctl sessions: the connections of ta (relay_ops.ro_tcp_list). */
void	tcprelay_list(const struct tcpalloc *, struct sbuf *, int json);
/*
 * bev (its input may hold the first bytes for the peer) becomes the
 * data connection of id; it is the relay's now (freed if id is gone).
 */
void	tcprelay_pipe(struct tcprelay_set *, uint32_t id,
	    struct bufferevent *, enum transport);

/* relay_io.c: the data path's batched sends */
#define RIO_SLOTS	32	/* datagrams from peers in hand */
struct rio *rio_new(struct stats *);
void	rio_free(struct rio *);
/* 1 while UDP GSO works (it is switched off when the kernel refuses). */
int	rio_gso_on(const struct rio *);
/* Queue datagrams to peers until rio_flush(); copy: the data's buffer
 * goes away before then (a stream's input). */
void	rio_begin(struct rio *, int copy);
void	rio_flush(struct rio *);
void	rio_to_peer(struct rio *, int fd, const struct sockaddr *peer,
	    const uint8_t *, size_t);
void	rio_forget_fd(struct rio *, int fd);
/* Receive slots for datagrams from peers (at most want, RIO_SLOTS). */
unsigned int rio_slots(struct rio *, struct mmsghdr *, struct iovec *,
	    struct sockaddr_storage *from, unsigned int want);
void	rio_slots_used(struct rio *, unsigned int);
void	rio_to_client(struct rio *, const void *key, struct path *,
	    const struct sockaddr *to, const struct sockaddr *from,
	    const uint8_t *head, size_t hlen, const uint8_t *data, size_t len,
	    size_t pad);
void	rio_forget_path(struct rio *, const struct path *);
void	rio_flush_clients(struct rio *);

#endif /* NET_H */
