/*
 * store.h -- where credentials, realm options, peer rules and the state
 * of allocations live.
 *
 * Two backends behind one interface.  The memory store (store_mem.c) is
 * the configuration: users and REST secrets of auth.*, read-only and
 * shared by every worker.  The Redis store (store_redis.c, store_main.c)
 * adds what is in Redis: user keys and secrets (coturn's key names),
 * realm options and peer rules; and it mirrors every allocation there.
 *
 * Nothing here blocks.  A lookup Redis must answer returns
 * STORE_PENDING with a tag; the store calls the wake hook with that tag
 * when the answer is in (or the connection was lost), and the caller
 * asks again, now answered from the worker's cache.  The data path
 * never calls the store.  The key layout is in turnd-redis(7), the key
 * names in store/keys.h.
 */

#ifndef STORE_H
#define STORE_H

#include <sys/socket.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/addr.h"

struct event_base;
struct turnd_conf;

enum store_rc {
	STORE_OK = 0,		/* found / granted */
	STORE_NONE,		/* no such user, or no key for that algorithm */
	STORE_FULL,		/* over the per-user quota */
	STORE_PENDING,		/* asked Redis: wait for the wake hook */
	STORE_DOWN		/* Redis unreachable or too slow */
};

#define STORE_KEY_MAX		32
#define STORE_ID_LEN		20	/* allocation ids: KEYS_ID_FMT */
#define STORE_IID_LEN		16	/* instance ids: hex */

/* ---- the memory store: the configuration's users and secrets ---- */

struct store_user {
	char		*su_name;
	uint8_t		 su_md5[16];
	uint8_t		 su_sha256[32];
	uint8_t		 su_hash[32];	/* USERHASH: SHA-256("user:realm") */
};

struct store_mem;

/* Keys derived from conf (auth.users, auth.secrets); NULL if OpenSSL
 * failed (logged). */
struct store_mem	*store_mem_new(const struct turnd_conf *);
void			 store_mem_free(struct store_mem *);
const struct store_user	*store_mem_user(const struct store_mem *,
			    const char *name);
const struct store_user	*store_mem_userhash(const struct store_mem *,
			    const uint8_t hash[32]);
/* The REST secrets of auth.secrets, in order. */
const char *const	*store_mem_secrets(const struct store_mem *,
			    unsigned int *n);

/* ---- realm options and peer rules (immutable, shared, refcounted) ---- */

struct store_realm {
	atomic_uint	 sr_refs;
	long long	 sr_user_quota;		/* -1: relay.user_quota */
	long long	 sr_total_quota;	/* -1: relay.total_quota */
	long long	 sr_max_bps;		/* -1: relay.max_bps */
	struct iprange	*sr_allow;		/* allowed-peer-ip */
	unsigned int	 sr_nallow;
	struct iprange	*sr_deny;		/* denied-peer-ip */
	unsigned int	 sr_ndeny;
};

/* Options unset, no rules: the configuration alone.  One reference. */
struct store_realm	*store_realm_new(void);
void			 store_realm_ref(struct store_realm *);
void			 store_realm_unref(struct store_realm *);
/* 1 if peer's IP is in the allowed / denied rules. */
int			 store_realm_allows(const struct store_realm *,
			    const struct sockaddr *);
int			 store_realm_denies(const struct store_realm *,
			    const struct sockaddr *);

/* ---- a worker's store ---- */

struct store_hooks {
	/* a lookup or quota answer for tag is in: ask again */
	void	(*sh_wake)(void *arg, const void *tag);
	/* Redis is (back): write every live allocation again */
	void	(*sh_rewrite)(void *arg);
	/* store.traffic_interval passed: report traffic */
	void	(*sh_traffic)(void *arg);
	void	 *sh_arg;
};

struct store;

/*
 * The store of one worker, on its loop.  With store.backend "redis" it
 * holds the worker's own connection; iid is this instance's id.
 */
struct store	*store_new(const struct turnd_conf *, struct event_base *,
		    unsigned int worker, const char *iid,
		    const struct store_hooks *);
void		 store_free(struct store *);
/*
 * Run base (the store's loop, stopped) until what was sent to Redis is
 * answered, for at most half a second: at shutdown, so that the end of
 * every allocation reaches Redis.
 */
void		 store_flush(struct store *, struct event_base *);
int		 store_is_redis(const struct store *);
/* 1 when Redis is connected (always 0 for the memory store). */
int		 store_up(const struct store *);

/*
 * The key of user (from Redis: the configuration's users are in the
 * memory store) for alg (STUN_PWALG_MD5 or _SHA256) at now.  STORE_OK
 * with key/keylen; STORE_NONE; STORE_PENDING with *tag; STORE_DOWN.
 */
enum store_rc	 store_user_key(struct store *, const char *user,
		    uint16_t alg, time_t now, uint8_t key[STORE_KEY_MAX],
		    size_t *keylen, const void **tag);
/* The REST secrets in Redis: STORE_OK with *secrets, *n (valid until
 * the caller returns to the loop), STORE_PENDING with *tag, STORE_DOWN. */
enum store_rc	 store_secrets(struct store *, time_t now,
		    const char *const **secrets, unsigned int *n,
		    const void **tag);

/* A per-user quota claim in Redis that may be waiting for its answer. */
struct store_op;

/* The members a claim adds to a user's quota set. */
struct store_claim {
	uint64_t	 sc_id;		/* the allocation */
	time_t		 sc_expires;
	uint64_t	 sc_resv_id;	/* its EVEN-PORT reservation; 0: none */
	time_t		 sc_resv_expires;
};

/*
 * Claim one of limit (0: none) allocations of quota_id across every
 * instance sharing Redis, for allocation c->sc_id until c->sc_expires,
 * and a second one for its reservation when c->sc_resv_id is not 0 (both
 * or neither).  First call with *op NULL: STORE_PENDING with *op set
 * (its address is the wake tag), or STORE_DOWN (Redis away: the caller
 * counts locally only), or STORE_OK (memory store).  After the wake,
 * call again with *op: STORE_OK or STORE_FULL, or STORE_DOWN; *op is
 * then freed and NULL.
 */
enum store_rc	 store_quota_claim(struct store *, const char *quota_id,
		    unsigned int limit, const struct store_claim *,
		    struct store_op **op);
/* Give back a claim (the allocation could not be made after all). */
void		 store_quota_release(struct store *, const char *quota_id,
		    uint64_t id);
/* Claim id now lasts until expires (a reservation became allocation id). */
void		 store_quota_extend(struct store *, const char *quota_id,
		    uint64_t id, time_t expires);
/* Forget an op whose request went away (a claim granted to it is given
 * back). */
void		 store_op_cancel(struct store_op *);

/* What the store writes about an allocation. */
struct store_perm {
	struct sockaddr_storage	 sp_peer;
	time_t			 sp_expires;
};

struct store_chan {
	uint16_t		 sc_num;
	struct sockaddr_storage	 sc_peer;
	time_t			 sc_expires;
};

struct store_alloc {
	uint64_t		 sa_id;
	const char		*sa_user;
	const char		*sa_quota_id;
	const char		*sa_transport;	/* "udp", "tcp", "tls" */
	const char		*sa_tls_version; /* NULL: none */
	const char		*sa_tls_cipher;
	const struct sockaddr	*sa_client;
	const struct sockaddr	*sa_server;
	const struct sockaddr	*sa_relay[2];	/* NULL when absent */
	time_t			 sa_created;
	time_t			 sa_expires;
	int			 sa_lifetime;	/* granted at the last
						 * Allocate or Refresh */
	const struct store_perm	*sa_perms;
	unsigned int		 sa_nperms;
	const struct store_chan	*sa_chans;
	unsigned int		 sa_nchans;
	/* client side: from the client / to it; peer side likewise */
	uint64_t		 sa_rcvp, sa_rcvb, sa_sentp, sa_sentb;
	uint64_t		 sa_peer_rcvp, sa_peer_rcvb;
	uint64_t		 sa_peer_sentp, sa_peer_sentb;
};

enum store_event {
	STORE_EV_NEW,		/* Allocate */
	STORE_EV_REFRESH,	/* Refresh with a lifetime */
	STORE_EV_PEERS,		/* CreatePermission, ChannelBind */
	STORE_EV_REWRITE	/* Redis came back */
};

/* Mirror the allocation to Redis (nothing for the memory store). */
void		 store_alloc_put(struct store *, const struct store_alloc *,
		    enum store_event, time_t now);
/* Its end: total traffic, then its keys deleted and "deleted". */
void		 store_alloc_del(struct store *, const struct store_alloc *);
/* Traffic since the last report (the sa_* counters are deltas). */
void		 store_alloc_traffic(struct store *,
		    const struct store_alloc *);
/* Allocation ids: random, unique across restarts and instances. */
uint64_t	 store_alloc_id(void);

/* ---- the main thread's part: realm options, rules, registry ---- */

struct store_main;

struct store_main_hooks {
	/* new realm options and rules: hand them to every worker (the
	 * callee takes the reference) */
	void		(*mh_realm)(void *arg, struct store_realm *);
	/* live allocations of this instance, for the registry */
	unsigned int	(*mh_count)(void *arg);
	void		 *mh_arg;
};

/*
 * NULL for the memory store.  listen: "udp/127.0.0.1:3478 ..."; addr4,
 * addr6: where clients reach this instance over UDP ("ip:port", "[ip]:port"
 * or ""), what other instances send ALTERNATE-SERVER to.
 */
struct store_main *store_main_new(const struct turnd_conf *,
		    struct event_base *, const char *iid, const char *listen,
		    const char *addr4, const char *addr6,
		    const struct store_main_hooks *);
/*
 * This instance drains: say so in the registry, and find the live,
 * not draining instance with the fewest allocations: cb gets its IPv4
 * and IPv6 addresses (NULL: none known; also when Redis cannot answer).
 */
void		 store_main_drain(struct store_main *,
		    void (*cb)(void *arg, const struct sockaddr *alt4,
		    const struct sockaddr *alt6), void *arg);
void		 store_main_free(struct store_main *);
/*
 * A live upgrade committed: the new process carries the instance id,
 * so this one no longer writes the registry, nor deletes its entry at
 * the end; draining finds no alternate.
 */
void		 store_main_handed_over(struct store_main *);

/* A fresh instance id: STORE_IID_LEN hex characters and NUL. */
void		 store_instance_id(char out[STORE_IID_LEN + 1]);

#endif /* STORE_H */
