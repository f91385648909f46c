/*
 * store_alloc.c -- the mirror of a worker's allocations in Redis: the
 * allocation hash, its permissions and channels, coturn's status key and
 * events, and the allocation's member of its user's quota set, written
 * through the worker's connection (store_redis.c) and deleted when the
 * allocation ends, later if Redis is away (turnd-redis(7) has the
 * layout, store/keys.h the names).
 */

#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "store/keys.h"
#include "store/rconn.h"
#include "store/store.h"
#include "store/store_int.h"

#define DELS_MAX	4096	/* deletions kept while Redis is away */
#define TEXT_LEN	512

uint64_t
store_alloc_id(void)
{
	uint64_t	id;

	do
		arc4random_buf(&id, sizeof(id));
	while (id == 0);
	return (id);
}

/*
 * coturn's traffic events of sa, the counts of the client side and then
 * those of the peer side: since the last report, or with total over its
 * whole life.
 */
static void
publish_traffic(struct store *st, const struct store_alloc *sa, int total)
{
	const char	*realm = st->st_conf->realm;
	char		 ch[KEYS_LEN], text[TEXT_LEN];

	keys_alloc_traffic(ch, sizeof(ch), realm, sa->sa_user, sa->sa_id,
	    total, 0);
	snprintf(text, sizeof(text), "rcvp=%llu, rcvb=%llu, sentp=%llu, "
	    "sentb=%llu", (unsigned long long)sa->sa_rcvp,
	    (unsigned long long)sa->sa_rcvb, (unsigned long long)sa->sa_sentp,
	    (unsigned long long)sa->sa_sentb);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "PUBLISH", ch, text, NULL);
	keys_alloc_traffic(ch, sizeof(ch), realm, sa->sa_user, sa->sa_id,
	    total, 1);
	snprintf(text, sizeof(text), "rcvp=%llu, rcvb=%llu, sentp=%llu, "
	    "sentb=%llu", (unsigned long long)sa->sa_peer_rcvp,
	    (unsigned long long)sa->sa_peer_rcvb,
	    (unsigned long long)sa->sa_peer_sentp,
	    (unsigned long long)sa->sa_peer_sentb);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "PUBLISH", ch, text, NULL);
}

static void
upper(char *dst, const char *src, size_t len)
{
	size_t	i;

	for (i = 0; i + 1 < len && src[i] != '\0'; i++)
		dst[i] = (char)toupper((unsigned char)src[i]);
	dst[i] = '\0';
}

/* The allocation's hash: every field, expiring with it. */
static void
put_hash(struct store *st, const struct store_alloc *sa)
{
	char		 k[KEYS_LEN], id[24];
	char		 client[ADDR_STRLEN], server[ADDR_STRLEN];
	char		 relay[ADDR_STRLEN], relay6[ADDR_STRLEN];
	char		 created[24], expires[24], life[16];
	const char	*argv[32];
	int		 n = 0;

#define F(name, val)	do { argv[n++] = (name); argv[n++] = (val); } while (0)
	keys_alloc(k, sizeof(k), sa->sa_id);
	keys_id(id, sizeof(id), sa->sa_id);
	snprintf(created, sizeof(created), "%lld", (long long)sa->sa_created);
	snprintf(expires, sizeof(expires), "%lld", (long long)sa->sa_expires);
	snprintf(life, sizeof(life), "%d", sa->sa_lifetime);
	argv[n++] = "HSET";
	argv[n++] = k;
	F("id", id);
	F("instance", st->st_iid);
	F("realm", st->st_conf->realm);
	F("user", sa->sa_user);
	F("transport", sa->sa_transport);
	F("client", addr_fmt(sa->sa_client, client, sizeof(client)));
	F("server", addr_fmt(sa->sa_server, server, sizeof(server)));
	if (sa->sa_relay[0] != NULL)
		F("relay", addr_fmt(sa->sa_relay[0], relay, sizeof(relay)));
	if (sa->sa_relay[1] != NULL)
		F("relay6", addr_fmt(sa->sa_relay[1], relay6,
		    sizeof(relay6)));
	F("created", created);
	F("expires", expires);
	F("lifetime", life);
#undef F
	(void)rconn_cmd(st->st_rc, NULL, NULL, n, argv, NULL);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "EXPIREAT", k, expires, NULL);
}

/* Replace a hash of peers, in one transaction, expiring at the last. */
static void
put_peers(struct store *st, const char *k, const char **fv, int nfv,
    time_t last)
{
	const char	*argv[2 + 2 * 64];
	char		 exp[24];
	int		 i;

	(void)rconn_cmdl(st->st_rc, NULL, NULL, "MULTI", NULL);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "DEL", k, NULL);
	if (nfv > 0) {
		argv[0] = "HSET";
		argv[1] = k;
		for (i = 0; i < nfv && i < 2 * 64; i++)
			argv[2 + i] = fv[i];
		(void)rconn_cmd(st->st_rc, NULL, NULL, 2 + i, argv, NULL);
		snprintf(exp, sizeof(exp), "%lld", (long long)last);
		(void)rconn_cmdl(st->st_rc, NULL, NULL, "EXPIREAT", k, exp,
		    NULL);
	}
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "EXEC", NULL);
}

static void
put_perms(struct store *st, const struct store_alloc *sa, time_t now)
{
	char		 ip[64][ADDR_STRLEN], exp[64][24];
	const char	*fv[2 * 64];
	char		 k[KEYS_LEN];
	time_t		 last = 0;
	unsigned int	 i;
	int		 n = 0;

	for (i = 0; i < sa->sa_nperms && n < 2 * 64; i++) {
		if (sa->sa_perms[i].sp_expires <= now)
			continue;
		addr_fmt_ip((const struct sockaddr *)&sa->sa_perms[i].sp_peer,
		    ip[n / 2], sizeof(ip[0]));
		snprintf(exp[n / 2], sizeof(exp[0]), "%lld",
		    (long long)sa->sa_perms[i].sp_expires);
		fv[n] = ip[n / 2];
		fv[n + 1] = exp[n / 2];
		n += 2;
		if (sa->sa_perms[i].sp_expires > last)
			last = sa->sa_perms[i].sp_expires;
	}
	keys_alloc_perms(k, sizeof(k), sa->sa_id);
	put_peers(st, k, fv, n, last);
}

static void
put_chans(struct store *st, const struct store_alloc *sa, time_t now)
{
	char		 num[64][8], val[64][ADDR_STRLEN + 24];
	const char	*fv[2 * 64];
	char		 k[KEYS_LEN], peer[ADDR_STRLEN];
	time_t		 last = 0;
	unsigned int	 i;
	int		 n = 0;

	for (i = 0; i < sa->sa_nchans && n < 2 * 64; i++) {
		if (sa->sa_chans[i].sc_expires <= now)
			continue;
		snprintf(num[n / 2], sizeof(num[0]), "%u",
		    sa->sa_chans[i].sc_num);
		snprintf(val[n / 2], sizeof(val[0]), "%s %lld",
		    addr_fmt((const struct sockaddr *)&sa->sa_chans[i].sc_peer,
		    peer, sizeof(peer)), (long long)sa->sa_chans[i].sc_expires);
		fv[n] = num[n / 2];
		fv[n + 1] = val[n / 2];
		n += 2;
		if (sa->sa_chans[i].sc_expires > last)
			last = sa->sa_chans[i].sc_expires;
	}
	keys_alloc_chans(k, sizeof(k), sa->sa_id);
	put_peers(st, k, fv, n, last);
}

void
store_alloc_put(struct store *st, const struct store_alloc *sa,
    enum store_event ev, time_t now)
{
	char		 status[KEYS_LEN], qk[KEYS_LEN], m[64];
	char		 text[TEXT_LEN], type[16], ttl[24], exp[24];
	char		 local[ADDR_STRLEN], remote[ADDR_STRLEN];
	long long	 left = (long long)(sa->sa_expires - now);

	if (!rconn_ready(st->st_rc))
		return;
	if (ev != STORE_EV_PEERS) {
		put_hash(st, sa);
		upper(type, sa->sa_transport, sizeof(type));
		snprintf(text, sizeof(text), "%s lifetime=%d, type=%s, "
		    "local=%s, remote=%s, ssl=%s, cipher=%s",
		    ev == STORE_EV_REFRESH ? "refreshed" : "new",
		    sa->sa_lifetime, type,
		    addr_fmt(sa->sa_server, local, sizeof(local)),
		    addr_fmt(sa->sa_client, remote, sizeof(remote)),
		    sa->sa_tls_version ? sa->sa_tls_version : "NONE",
		    sa->sa_tls_cipher ? sa->sa_tls_cipher : "NONE");
		keys_alloc_status(status, sizeof(status), st->st_conf->realm,
		    sa->sa_user, sa->sa_id);
		snprintf(ttl, sizeof(ttl), "%lld", left > 0 ? left : 1);
		(void)rconn_cmdl(st->st_rc, NULL, NULL, "SET", status, text,
		    "EX", ttl, NULL);
		if (ev != STORE_EV_REWRITE)
			(void)rconn_cmdl(st->st_rc, NULL, NULL, "PUBLISH",
			    status, text, NULL);
		if (ev != STORE_EV_NEW) {
			keys_quota(qk, sizeof(qk), st->st_conf->realm,
			    sa->sa_quota_id);
			keys_quota_member(m, sizeof(m), st->st_iid, sa->sa_id);
			snprintf(exp, sizeof(exp), "%lld",
			    (long long)sa->sa_expires);
			if (ev == STORE_EV_REFRESH)
				(void)rconn_cmdl(st->st_rc, NULL, NULL, "ZADD",
				    qk, "XX", exp, m, NULL);
			else
				(void)rconn_cmdl(st->st_rc, NULL, NULL, "ZADD",
				    qk, exp, m, NULL);
			(void)rconn_cmdl(st->st_rc, NULL, NULL, "EXPIREAT",
			    qk, exp, "GT", NULL);
		}
	}
	if (ev == STORE_EV_PEERS || ev == STORE_EV_REWRITE) {
		put_perms(st, sa, now);
		put_chans(st, sa, now);
	}
}

static void
sdel_free(struct store *st, struct sdel *sd)
{
	TAILQ_REMOVE(&st->st_dels, sd, sd_entry);
	st->st_ndels--;
	free(sd->sd_user);
	free(sd->sd_quota_id);
	free(sd);
}

/* DEL the keys of allocation id and say so. */
static void
del_keys(struct store *st, uint64_t id, const char *user,
    const char *quota_id)
{
	const char	*realm = st->st_conf->realm;
	char		 base[64], perms[80], chans[80], status[KEYS_LEN];
	char		 qk[KEYS_LEN], m[64];

	keys_alloc(base, sizeof(base), id);
	keys_alloc_perms(perms, sizeof(perms), id);
	keys_alloc_chans(chans, sizeof(chans), id);
	keys_alloc_status(status, sizeof(status), realm, user, id);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "DEL", base, perms, chans,
	    status, NULL);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "PUBLISH", status, "deleted",
	    NULL);
	keys_quota(qk, sizeof(qk), realm, quota_id);
	keys_quota_member(m, sizeof(m), st->st_iid, id);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "ZREM", qk, m, NULL);
}

void
store_alloc_del(struct store *st, const struct store_alloc *sa)
{
	struct sdel	*sd;

	if (st->st_rc == NULL)
		return;
	if (!rconn_ready(st->st_rc)) {
		/* Redis away: delete later (the keys expire anyway) */
		if (st->st_ndels >= DELS_MAX)
			sdel_free(st, TAILQ_FIRST(&st->st_dels));
		sd = xcalloc(1, sizeof(*sd));
		sd->sd_id = sa->sa_id;
		sd->sd_user = xstrdup(sa->sa_user);
		sd->sd_quota_id = xstrdup(sa->sa_quota_id);
		TAILQ_INSERT_TAIL(&st->st_dels, sd, sd_entry);
		st->st_ndels++;
		return;
	}
	publish_traffic(st, sa, 1);
	del_keys(st, sa->sa_id, sa->sa_user, sa->sa_quota_id);
}

void
store_alloc_flush_dels(struct store *st)
{
	struct sdel	*sd;

	while ((sd = TAILQ_FIRST(&st->st_dels)) != NULL) {
		del_keys(st, sd->sd_id, sd->sd_user, sd->sd_quota_id);
		sdel_free(st, sd);
	}
}

void
store_alloc_free_dels(struct store *st)
{
	struct sdel	*sd;

	while ((sd = TAILQ_FIRST(&st->st_dels)) != NULL)
		sdel_free(st, sd);
}

void
store_alloc_traffic(struct store *st, const struct store_alloc *sa)
{
	if (rconn_ready(st->st_rc))
		publish_traffic(st, sa, 0);
}
