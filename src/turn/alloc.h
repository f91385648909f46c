/*
 * alloc.h -- TURN allocations: the per-worker table keyed by 5-tuple,
 * permissions and channel bindings (RFC 8656 sections 2.2, 7, 9, 11).
 *
 * Pure state and rules: no sockets, no timers, no clock.  Callers pass
 * `now` (seconds) and own the relay sockets (a_net); the worker that owns
 * an allocation is the only thread that touches it.
 * Expiry is checked on use: an expired permission or channel simply stops
 * matching, so nothing scans.
 */

#ifndef ALLOC_H
#define ALLOC_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/addr.h"
#include "stun/stun.h"
#include "turn/server.h"

#define ALLOC_PERMS_MAX		64	/* peer IPs per allocation */
#define ALLOC_CHANS_MAX		64	/* channels per allocation */
#define ALLOC_CHAN_QUARANTINE	300	/* s after expiry before a channel
					 * number or peer may be rebound to
					 * something else (RFC 8656 11) */
#define ALLOC_FAMILIES		2	/* one relayed address per family */

struct perm {
	union addr_in46		 p_peer;	/* IP only; port ignored */
	time_t			 p_expires;
};

struct chan {
	uint16_t		 ch_num;
	union addr_in46		 ch_peer;	/* IP and port */
	time_t			 ch_expires;
};

struct alloc {
	LIST_ENTRY(alloc)	 a_hash;
	enum transport		 a_transport;
	int			 a_tcp;		/* RFC 6062: relays TCP */
	union addr_in46		 a_client;	/* 5-tuple: client side */
	union addr_in46		 a_local;	/* 5-tuple: server side */
	uint64_t		 a_id;

	/* relayed addresses; family 0 unused when ss_family is 0 */
	union addr_in46		 a_relay[ALLOC_FAMILIES];
	time_t			 a_expires;

	/* grown on demand up to ALLOC_PERMS_MAX / ALLOC_CHANS_MAX: most
	 * allocations hold one or two of each */
	struct perm		*a_perm;
	unsigned int		 a_nperm, a_permcap;
	struct chan		*a_chan;
	unsigned int		 a_nchan, a_chancap;

	/* the credential it was made with (RFC 8656 5: same user) */
	uint8_t			 a_key[32];
	size_t			 a_keylen;
	uint16_t		 a_alg;
	char			*a_user;	/* set by alloc_set_user() */
	char			*a_quota_id;

	time_t			 a_bw_sec;	/* relay.max_bps window */
	uint64_t		 a_bw_bytes;
	struct quota_bw		*a_ubw;		/* relay.user_max_bps: the
						 * user's window (quota.h) */

	uint64_t		 a_pkts_in, a_bytes_in;	/* peer -> client */
	uint64_t		 a_pkts_out, a_bytes_out; /* client -> peer */
	/* the same at the last traffic report to the store */
	uint64_t		 a_rep_pkts_in, a_rep_bytes_in;
	uint64_t		 a_rep_pkts_out, a_rep_bytes_out;
	time_t			 a_created;
	int			 a_lifetime;	/* granted last */
	/* the Allocate that made it, to answer its retransmissions */
	uint8_t			 a_tid[STUN_TID_LEN];
	uint64_t		 a_token;	/* RESERVATION-TOKEN given */
	int			 a_v6err;	/* ADDRESS-ERROR-CODE given */

	struct path		*a_path;	/* the way to the client */
	void			*a_net;		/* the net layer's state */
};

struct alloc_table;

struct alloc_table *alloc_table_new(void);
/* Frees the table, not the allocations (remove them first). */
void		 alloc_table_free(struct alloc_table *);
unsigned int	 alloc_table_count(const struct alloc_table *);

/* The allocation of this 5-tuple, or NULL. */
struct alloc	*alloc_find(struct alloc_table *, enum transport,
		    const struct sockaddr *client, const struct sockaddr *local);
/* A zeroed allocation for this 5-tuple, in the table (none must exist). */
struct alloc	*alloc_new(struct alloc_table *, enum transport,
		    const struct sockaddr *client, const struct sockaddr *local);
/* Put a whole allocation (alloc_decode(), alloc_wire.h) in the table;
 * none of its 5-tuple must be there. */
void		 alloc_insert(struct alloc_table *, struct alloc *);
/* Free an allocation that is in no table. */
void		 alloc_discard(struct alloc *);
/* The user and quota id of a (copied). */
void		 alloc_set_user(struct alloc *, const char *user,
		    const char *quota_id);
/* Call fn for every allocation of the table (fn must not free it). */
void		 alloc_foreach(struct alloc_table *,
		    void (*fn)(struct alloc *, void *), void *arg);
/* Unlink and free; a->a_net must already be torn down. */
void		 alloc_free(struct alloc_table *, struct alloc *);

/*
 * Install or refresh the permission for peer's IP until expires.
 * 0, or -1 when the allocation already holds ALLOC_PERMS_MAX live ones.
 */
int		 perm_install(struct alloc *, const struct sockaddr *peer,
		    time_t now, time_t expires);
/* 1 if a live permission covers peer's IP. */
int		 perm_check(const struct alloc *, const struct sockaddr *peer,
		    time_t now);

/*
 * ChannelBind (RFC 8656 section 11): bind num to peer until expires, or
 * refresh the same binding.  Returns 0, or 400 when num is outside
 * 0x4000..maxnum (0x4FFF, or 0x7FFE for RFC 5766 clients), num is bound (or quarantined) to another peer, or peer
 * is bound (or quarantined) to another number; 508 when the allocation
 * holds ALLOC_CHANS_MAX bindings.  Binding also installs or refreshes the
 * permission for the peer's IP (11.2), which can fail with 508 too.
 */
int		 chan_bind(struct alloc *, uint16_t num, uint16_t maxnum,
		    const struct sockaddr *peer, time_t now, time_t expires,
		    time_t perm_expires);
/* The live binding of num / of peer, or NULL. */
const struct chan *chan_by_num(const struct alloc *, uint16_t num,
		    time_t now);
const struct chan *chan_by_peer(const struct alloc *,
		    const struct sockaddr *peer, time_t now);

#endif /* ALLOC_H */
