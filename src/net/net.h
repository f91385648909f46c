/*
 * net.h -- workers, listening sockets, UDP and stream (TCP/TLS) I/O.
 *
 * Threads (DESIGN.md section 4): every socket a worker uses is bound by
 * the main thread before privileges drop (listen.c), one per worker and
 * address, with SO_REUSEPORT so the kernel spreads clients over workers.
 * Each worker then runs its own event_base and touches only its own
 * sockets, connections and counters.  The only shared state is the
 * read-only conf, the SSL_CTX and the connection limiter (a mutex taken
 * on accept and close, never per packet).
 */

#ifndef NET_H
#define NET_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "turn/server.h"
#include "turn/stats.h"

struct alloc;
struct alloc_table;
struct auth;
struct policy;
struct quota;
struct relay;
struct resv;
struct store;
struct store_realm;
struct wheel;
struct turnd_conf;
struct event;
struct event_base;
struct evconnlistener;
struct bufferevent;

/* RFC 5780 roles within a group: bit 0 changed port, bit 1 changed IP. */
#define LSOCK_ROLES	4

/* A bound socket, made by listen_open() before privileges drop. */
struct lsock {
	int			 ls_fd;
	enum transport		 ls_transport;
	struct sockaddr_storage	 ls_addr;	/* bound; port resolved */
	int			 ls_group;	/* RFC 5780 group, -1: none */
	unsigned int		 ls_role;	/* 0..3 in its group */
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

/* UDP batching. */
#define UDP_BATCH	32	/* datagrams per recvmmsg/sendmmsg */
#define UDP_ROUNDS	8	/* batches per wakeup, then yield */
#define UDP_RXBUF	65536	/* any datagram fits */
#define UDP_TXBUF	2048	/* STUN answers are small */

struct worker;

/* One UDP socket of a worker. */
struct usock {
	struct path		 us_path;	/* first */
	struct worker		*us_w;
	struct lsock		 us_ls;
	struct event		*us_ev;
	int			 us_wild;	/* bound to 0.0.0.0 or :: */
	/* RFC 5780: this worker's sockets of the group, by role. */
	struct usock		*us_peer[LSOCK_ROLES];
	const struct sockaddr	*us_origin[LSOCK_ROLES];
};

/* One TCP/TLS listener of a worker. */
struct slisten {
	struct worker		*sl_w;
	struct lsock		 sl_ls;
	struct evconnlistener	*sl_lev;
	time_t			 sl_last_warn;	/* accept errors, rate limit */
};

/* One TCP or TLS client connection (stream.c). */
struct conn {
	struct path		 c_path;	/* first */
	TAILQ_ENTRY(conn)	 c_entry;
	struct worker		*c_w;
	struct bufferevent	*c_bev;
	enum transport		 c_transport;
	struct sockaddr_storage	 c_peer;
	struct sockaddr_storage	 c_local;
	int			 c_tls_up;	/* handshake done */
	int			 c_partial;	/* a frame is half in */
	int			 c_backlog;	/* reading paused on output */
	int			 c_closing;	/* garbage seen: flush, then close */
	struct timeval		 c_frame_start;
};

TAILQ_HEAD(conn_list, conn);
TAILQ_HEAD(relay_list, relay);

#define RELAY_PEERBUF	65536			/* any datagram from a peer */

/* What every worker shares, read-only or locked inside. */
struct worker_shared {
	const char		*ws_iid;	/* this instance's id */
	struct store_realm	*ws_realm;	/* each worker takes a ref */
	SSL_CTX			*ws_tls;
	struct connlimit	*ws_connlimit;
	const struct auth	*ws_auth;
	const struct policy	*ws_policy;
	struct quota		*ws_quota;
	struct resv		*ws_resv;
};

struct worker {
	unsigned int		 w_id;
	pthread_t		 w_thread;
	int			 w_running;
	_Atomic int		 w_quit;	/* worker_stop() asked */
	struct event_base	*w_base;
	const struct turnd_conf	*w_conf;
	SSL_CTX			*w_tls;
	struct connlimit	*w_connlimit;
	struct server		 w_srv;
	struct stats		 w_stats;

	struct usock		*w_usocks;
	unsigned int		 w_nusocks;
	struct slisten		*w_slistens;
	unsigned int		 w_nslistens;
	struct conn_list	 w_conns;
	unsigned int		 w_nconns;

	/* TURN */
	struct store		*w_store;
	struct event		*w_tick;	/* once a second */
	long long		 w_tick_last;	/* us, monotonic */
	_Atomic uint64_t	 w_lag_us;	/* how late the last tick ran */
	struct alloc_table	*w_allocs;
	struct relay_list	 w_relays;
	struct resv		*w_resv;
	struct rio		*w_rio;		/* the data path's batches */
	struct wheel		*w_wheel;	/* allocation expiry */
	int			 w_relay_ep;	/* epoll set of relay sockets */
	struct event		*w_relay_ev;	/* on w_relay_ep */

	/* UDP batch state, reused on every wakeup (no per-packet malloc). */
	uint8_t			*w_rxbuf;	/* UDP_BATCH * UDP_RXBUF */
	uint8_t			*w_txbuf;	/* UDP_BATCH * UDP_TXBUF */
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
/* Set the server's clock from the loop's cached time (once a wakeup). */
void	worker_clock(struct worker *);
/* From any thread: the worker takes sr (and the reference) in its loop. */
void	worker_post_realm(struct worker *, struct store_realm *);
/* From any thread: run fn(w, arg) in the worker's loop; 0 or -1. */
int	worker_run(struct worker *, void (*fn)(struct worker *, void *),
	    void *arg);
/* How late, in microseconds, the worker's last once-a-second timer ran:
 * its loop's lag (safe from any thread). */
uint64_t worker_lag_us(const struct worker *);

/* udp.c */
int	udp_start(struct worker *, struct usock *);
void	udp_stop(struct usock *);
/* n messages on fd in sendmmsg calls; refusals to refused() or counted. */
void	udp_sendmmsg(int fd, struct mmsghdr *, unsigned int n, struct stats *,
	    int (*refused)(void *, int, struct mmsghdr *), void *arg);
/* The IP_PKTINFO/IPV6_PKTINFO control message that makes a datagram
 * leave from local; its length. */
size_t	udp_set_source(uint8_t *, const struct sockaddr_storage *local);

/* stream.c */
int	stream_listen(struct worker *, struct slisten *);
void	stream_unlisten(struct slisten *);
void	conn_free(struct conn *);
void	conn_send(struct conn *, const uint8_t *, size_t);
/* The same, gathered from n pieces. */
void	conn_sendv(struct conn *, const struct iovec *, int n);

/* relay_io.c: the data path's batched sends */
#define RIO_SLOTS	32	/* datagrams from peers in hand */
struct rio;
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
unsigned int rio_slots(struct rio *, struct mmsghdr *, struct iovec *,
	    struct sockaddr_storage *from, unsigned int want);
void	rio_slots_used(struct rio *, unsigned int);
void	rio_to_client(struct rio *, const void *key, struct path *,
	    const struct sockaddr *to, const struct sockaddr *from,
	    const uint8_t *head, size_t hlen, const uint8_t *data, size_t len,
	    size_t pad);
void	rio_flush_clients(struct rio *);

/* relay.c */
extern const struct relay_ops relay_ops;
struct resv *resv_new(void);
void	resv_free(struct resv *);
void	relay_timer_arm(struct relay *);
/* End the allocations whose time is up (once a second). */
void	relay_expire_run(struct worker *);
void	relay_end_all(struct worker *);
/* The worker's relay sockets: watch them (an epoll set inside the loop). */
void	relay_watch_start(struct worker *);
void	relay_watch_stop(struct worker *);

#endif /* NET_H */
