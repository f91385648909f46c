/*
 * store_redis.c -- a worker's store: its own Redis connection, a cache of
 * the user keys and REST secrets read through it, and the per-user quota
 * claims shared by every instance (turnd-redis(7) has the layout,
 * store/keys.h the names); store_alloc.c mirrors the worker's
 * allocations through the same connection.
 *
 * With store.backend "memory" a store exists too, without a connection:
 * lookups find nothing in it and writes go nowhere.
 */

#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "store/keys.h"
#include "store/rconn.h"
#include "store/store.h"
#include "store/store_int.h"
#include "stun/stun.h"

#define CACHE_MAX	16384	/* entries; beyond, settled ones are dropped */

/* A user's key as read from Redis, or the fact that there is none. */
struct centry {
	struct centry		*ce_next;
	struct store		*ce_st;
	enum centry_state	 ce_state;
	time_t			 ce_expires;
	int			 ce_fresh;	/* answered just now */
	uint16_t		 ce_alg;	/* of the key found */
	uint8_t			 ce_key[STORE_KEY_MAX];
	size_t			 ce_keylen;
	char			 ce_name[];
};

struct store_op {
	struct store		*op_st;
	int			 op_done;
	int			 op_cancelled;
	enum store_rc		 op_rc;
	char			*op_key;	/* the user's set */
	char			*op_member;	/* and the claim in it */
	char			*op_member2;	/* its reservation's, or NULL */
};

/*
 * Per-user quota across instances (turnd-redis(7)).  KEYS[1] the user's
 * set; ARGV now, limit (0: none), member, expiry, instance key prefix,
 * and optionally a second member and its expiry (an EVEN-PORT
 * reservation: both fit or neither is added).  Members that expired or
 * whose instance stopped heartbeating go first.
 */
static const char quota_script[] =
    "local k = KEYS[1]\n"
    "redis.call('ZREMRANGEBYSCORE', k, '-inf', ARGV[1])\n"
    "local alive = {}\n"
    "for _, m in ipairs(redis.call('ZRANGE', k, 0, -1)) do\n"
    "  local i = string.match(m, '^([^/]+)/')\n"
    "  if i ~= nil then\n"
    "    if alive[i] == nil then\n"
    "      alive[i] = redis.call('EXISTS', ARGV[5] .. i)\n"
    "    end\n"
    "    if alive[i] == 0 then redis.call('ZREM', k, m) end\n"
    "  end\n"
    "end\n"
    "local lim = tonumber(ARGV[2])\n"
    "local n = 1\n"
    "if ARGV[6] ~= nil then n = 2 end\n"
    "if lim > 0 and redis.call('ZCARD', k) + n > lim then return 0 end\n"
    "redis.call('ZADD', k, ARGV[4], ARGV[3])\n"
    "if n == 2 then redis.call('ZADD', k, ARGV[7], ARGV[6]) end\n"
    "redis.call('EXPIREAT', k, redis.call('ZRANGE', k, -1, -1,"
    " 'WITHSCORES')[2])\n"
    "return 1\n";

static uint32_t
str_hash(const char *s)
{
	uint32_t	h = 2166136261U;

	while (*s != '\0')
		h = (h ^ (uint8_t)*s++) * 16777619U;
	return (h);
}

/* Drop every cache entry not waiting for Redis. */
static void
cache_flush(struct store *st)
{
	struct centry	**pp, *e;
	unsigned int	  i;

	for (i = 0; i < CACHE_BUCKETS; i++) {
		pp = &st->st_cache[i];
		while ((e = *pp) != NULL) {
			if (e->ce_state == CE_PENDING) {
				pp = &e->ce_next;
				continue;
			}
			*pp = e->ce_next;
			OPENSSL_cleanse(e->ce_key, sizeof(e->ce_key));
			free(e);
			st->st_ncache--;
		}
	}
}

static struct centry **
cache_slot(struct store *st, const char *name)
{
	struct centry	**pp;

	pp = &st->st_cache[str_hash(name) % CACHE_BUCKETS];
	while (*pp != NULL && strcmp((*pp)->ce_name, name) != 0)
		pp = &(*pp)->ce_next;
	return (pp);
}

static void
cache_remove(struct store *st, struct centry **pp)
{
	struct centry	*e = *pp;

	*pp = e->ce_next;
	OPENSSL_cleanse(e->ce_key, sizeof(e->ce_key));
	free(e);
	st->st_ncache--;
}

/* "0x"-prefixed or not, 32 (MD5) or 64 (SHA-256) hex digits. */
static int
parse_key(const char *s, size_t len, struct centry *e)
{
	size_t	i;
	int	hi, lo;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		len -= 2;
	}
	if (len != 32 && len != 64)
		return (-1);
	for (i = 0; i < len / 2; i++) {
		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]))
			return (-1);
		hi = isdigit((unsigned char)s[2 * i]) ? s[2 * i] - '0' :
		    tolower((unsigned char)s[2 * i]) - 'a' + 10;
		lo = isdigit((unsigned char)s[2 * i + 1]) ? s[2 * i + 1] -
		    '0' : tolower((unsigned char)s[2 * i + 1]) - 'a' + 10;
		e->ce_key[i] = (uint8_t)(hi << 4 | lo);
	}
	e->ce_keylen = len / 2;
	e->ce_alg = len == 32 ? STUN_PWALG_MD5 : STUN_PWALG_SHA256;
	return (0);
}

static void
wake(struct store *st, const void *tag)
{
	if (st->st_hooks.sh_wake != NULL)
		st->st_hooks.sh_wake(st->st_hooks.sh_arg, tag);
}

static void
user_key_cb(struct rconn *rc, redisReply *r, void *arg)
{
	struct centry	*e = arg;
	struct store	*st = e->ce_st;
	int		 ttl;

	(void)rc;
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		e->ce_state = CE_FAILED;
		ttl = 0;
	} else if (r->type == REDIS_REPLY_STRING &&
	    parse_key(r->str, r->len, e) == 0) {
		e->ce_state = CE_FOUND;
		ttl = st->st_conf->store_cache_ttl;
	} else {
		if (r->type != REDIS_REPLY_NIL)
			log_warnx("store: the key of user \"%s\" in Redis is "
			    "not 32 or 64 hex digits; ignored", e->ce_name);
		e->ce_state = CE_NONE;
		ttl = st->st_conf->store_negative_ttl;
	}
	e->ce_expires = st->st_now + ttl;
	e->ce_fresh = 1;
	wake(st, e);
	e->ce_fresh = 0;
}

enum store_rc
store_user_key(struct store *st, const char *user, uint16_t alg, time_t now,
    uint8_t key[STORE_KEY_MAX], size_t *keylen, const void **tag)
{
	struct centry	**pp, *e;
	char		  k[KEYS_LEN];

	if (st->st_rc == NULL)
		return (STORE_NONE);
	st->st_now = now;
	pp = cache_slot(st, user);
	if ((e = *pp) != NULL) {
		if (e->ce_state == CE_PENDING) {
			*tag = e;
			return (STORE_PENDING);
		}
		if (e->ce_fresh || now < e->ce_expires) {
			if (e->ce_state == CE_FAILED)
				return (STORE_DOWN);
			if (e->ce_state == CE_NONE || e->ce_alg != alg)
				return (STORE_NONE);
			memcpy(key, e->ce_key, e->ce_keylen);
			*keylen = e->ce_keylen;
			return (STORE_OK);
		}
		cache_remove(st, pp);
	}
	if (!rconn_ready(st->st_rc))
		return (STORE_DOWN);
	if (st->st_ncache >= CACHE_MAX)
		cache_flush(st);
	e = xcalloc(1, sizeof(*e) + strlen(user) + 1);
	strcpy(e->ce_name, user);
	e->ce_st = st;
	e->ce_state = CE_PENDING;
	keys_user(k, sizeof(k), st->st_conf->realm, user);
	if (rconn_cmdl(st->st_rc, user_key_cb, e, "GET", k, NULL) == -1) {
		free(e);
		return (STORE_DOWN);
	}
	pp = cache_slot(st, user);
	e->ce_next = *pp;
	*pp = e;
	st->st_ncache++;
	*tag = e;
	return (STORE_PENDING);
}

static void
secrets_clear(struct sentry *se)
{
	unsigned int	i;

	for (i = 0; i < se->se_n; i++) {
		OPENSSL_cleanse(se->se_secret[i], strlen(se->se_secret[i]));
		free(se->se_secret[i]);
	}
	free(se->se_secret);
	se->se_secret = NULL;
	se->se_n = 0;
}

static void
secrets_cb(struct rconn *rc, redisReply *r, void *arg)
{
	struct store	*st = arg;
	struct sentry	*se = &st->st_secrets;
	size_t		 i;
	int		 ttl = st->st_conf->store_cache_ttl;

	(void)rc;
	secrets_clear(se);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		se->se_state = CE_FAILED;
		ttl = 0;
	} else {
		se->se_state = CE_FOUND;
		if (r->elements > 0)
			se->se_secret = xcalloc(r->elements,
			    sizeof(*se->se_secret));
		for (i = 0; i < r->elements; i++)
			if (r->element[i]->type == REDIS_REPLY_STRING &&
			    r->element[i]->len > 0)
				se->se_secret[se->se_n++] = xstrndup(
				    r->element[i]->str, r->element[i]->len);
	}
	se->se_expires = st->st_now + ttl;
	se->se_fresh = 1;
	wake(st, se);
	se->se_fresh = 0;
}

enum store_rc
store_secrets(struct store *st, time_t now, const char *const **secrets,
    unsigned int *n, const void **tag)
{
	struct sentry	*se = &st->st_secrets;
	char		 k[KEYS_LEN];

	*n = 0;
	if (st->st_rc == NULL)
		return (STORE_NONE);
	st->st_now = now;
	if (se->se_used && se->se_state == CE_PENDING) {
		*tag = se;
		return (STORE_PENDING);
	}
	if (se->se_used && (se->se_fresh || now < se->se_expires)) {
		if (se->se_state == CE_FAILED)
			return (STORE_DOWN);
		*secrets = (const char *const *)se->se_secret;
		*n = se->se_n;
		return (STORE_OK);
	}
	if (!rconn_ready(st->st_rc))
		return (STORE_DOWN);
	keys_realm(k, sizeof(k), st->st_conf->realm, KEYS_SECRET);
	if (rconn_cmdl(st->st_rc, secrets_cb, st, "SMEMBERS", k, NULL) == -1)
		return (STORE_DOWN);
	se->se_used = 1;
	se->se_state = CE_PENDING;
	*tag = se;
	return (STORE_PENDING);
}

/* ---- per-user quota ---- */

static void
op_free(struct store_op *op)
{
	free(op->op_key);
	free(op->op_member);
	free(op->op_member2);
	free(op);
}

/* A granted claim nobody will use: give it back. */
static void
op_unclaim(struct store_op *op)
{
	if (op->op_rc == STORE_OK && rconn_ready(op->op_st->st_rc))
		(void)rconn_cmdl(op->op_st->st_rc, NULL, NULL, "ZREM",
		    op->op_key, op->op_member, op->op_member2, NULL);
}

static void
quota_cb(struct rconn *rc, redisReply *r, void *arg)
{
	struct store_op	*op = arg;

	(void)rc;
	if (op->op_cancelled) {
		if (r != NULL && r->type == REDIS_REPLY_INTEGER &&
		    r->integer == 1) {
			op->op_rc = STORE_OK;
			op_unclaim(op);
		}
		op_free(op);
		return;
	}
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		if (r != NULL && r->type == REDIS_REPLY_ERROR)
			log_warnx("store: quota script: %s", r->str);
		op->op_rc = STORE_DOWN;
	} else
		op->op_rc = r->integer == 1 ? STORE_OK : STORE_FULL;
	op->op_done = 1;
	wake(op->op_st, op);
}

enum store_rc
store_quota_claim(struct store *st, const char *quota_id, unsigned int limit,
    const struct store_claim *c, struct store_op **opp)
{
	struct store_op	*op = *opp;
	enum store_rc	 rc;
	char		 k[KEYS_LEN], m[64], m2[64], now[24], lim[16];
	char		 exp[24], exp2[24];

	if (op != NULL) {
		if (!op->op_done)
			return (STORE_PENDING);
		rc = op->op_rc;
		op_free(op);
		*opp = NULL;
		return (rc);
	}
	if (st->st_rc == NULL)
		return (STORE_OK);
	if (!rconn_ready(st->st_rc))
		return (STORE_DOWN);
	op = xcalloc(1, sizeof(*op));
	op->op_st = st;
	keys_quota(k, sizeof(k), st->st_conf->realm, quota_id);
	keys_quota_member(m, sizeof(m), st->st_iid, c->sc_id);
	op->op_key = xstrdup(k);
	op->op_member = xstrdup(m);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(lim, sizeof(lim), "%u", limit);
	snprintf(exp, sizeof(exp), "%lld", (long long)c->sc_expires);
	if (c->sc_resv_id != 0) {
		keys_quota_member(m2, sizeof(m2), st->st_iid, c->sc_resv_id);
		op->op_member2 = xstrdup(m2);
		snprintf(exp2, sizeof(exp2), "%lld",
		    (long long)c->sc_resv_expires);
	}
	/* rconn_cmdl() stops at the first NULL: no reservation, 6 args */
	if (rconn_cmdl(st->st_rc, quota_cb, op, "EVAL", quota_script, "1", k,
	    now, lim, m, exp, KEYS_INSTANCE_PREFIX, op->op_member2,
	    op->op_member2 != NULL ? exp2 : NULL, NULL) == -1) {
		op_free(op);
		return (STORE_DOWN);
	}
	*opp = op;
	return (STORE_PENDING);
}

void
store_quota_release(struct store *st, const char *quota_id, uint64_t id)
{
	char	k[KEYS_LEN], m[64];

	if (!rconn_ready(st->st_rc))
		return;
	keys_quota(k, sizeof(k), st->st_conf->realm, quota_id);
	keys_quota_member(m, sizeof(m), st->st_iid, id);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "ZREM", k, m, NULL);
}

void
store_quota_extend(struct store *st, const char *quota_id, uint64_t id,
    time_t expires)
{
	char	k[KEYS_LEN], m[64], exp[24];

	if (st == NULL || !rconn_ready(st->st_rc))
		return;
	keys_quota(k, sizeof(k), st->st_conf->realm, quota_id);
	keys_quota_member(m, sizeof(m), st->st_iid, id);
	snprintf(exp, sizeof(exp), "%lld", (long long)expires);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "ZADD", k, "XX", exp, m, NULL);
	(void)rconn_cmdl(st->st_rc, NULL, NULL, "EXPIREAT", k, exp, "GT",
	    NULL);
}

void
store_op_cancel(struct store_op *op)
{
	if (op == NULL)
		return;
	if (op->op_done) {
		op_unclaim(op);
		op_free(op);
	} else
		op->op_cancelled = 1;
}

/* ---- instance ids ---- */

void
store_instance_id(char out[STORE_IID_LEN + 1])
{
	uint8_t		b[STORE_IID_LEN / 2];
	unsigned int	i;

	arc4random_buf(b, sizeof(b));
	for (i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- the worker's connection ---- */

static void
store_up_cb(struct rconn *rc, void *arg)
{
	struct store	*st = arg;

	(void)rc;
	store_alloc_flush_dels(st);
	if (st->st_hooks.sh_rewrite != NULL)
		st->st_hooks.sh_rewrite(st->st_hooks.sh_arg);
}

static void
traffic_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store	*st = arg;

	(void)fd;
	(void)what;
	if (rconn_ready(st->st_rc) && st->st_hooks.sh_traffic != NULL)
		st->st_hooks.sh_traffic(st->st_hooks.sh_arg);
}

struct store *
store_new(const struct turnd_conf *conf, struct event_base *base,
    unsigned int worker, const char *iid, const struct store_hooks *hooks)
{
	struct store		*st;
	struct rconn_hooks	 rh;
	struct timeval		 tv;
	char			 name[32];

	st = xcalloc(1, sizeof(*st));
	st->st_conf = conf_ref(conf);
	st->st_base = base;
	TAILQ_INIT(&st->st_dels);
	if (hooks != NULL)
		st->st_hooks = *hooks;
	snprintf(st->st_iid, sizeof(st->st_iid), "%s", iid);
	if (strcmp(conf->store_backend, "redis") != 0)
		return (st);
	memset(&rh, 0, sizeof(rh));
	rh.rh_up = store_up_cb;
	rh.rh_arg = st;
	snprintf(name, sizeof(name), "worker %u", worker);
	st->st_rc = rconn_new(conf, base, name, &rh);
	if (conf->store_traffic_interval > 0) {
		st->st_traffic = event_new(base, -1, EV_PERSIST, traffic_cb,
		    st);
		if (st->st_traffic == NULL)
			fatalx("%s: event_new failed", __func__);
		tv.tv_sec = conf->store_traffic_interval;
		tv.tv_usec = 0;
		event_add(st->st_traffic, &tv);
	}
	return (st);
}

void
store_free(struct store *st)
{
	struct centry	*e, *next;
	unsigned int	 i;

	if (st == NULL)
		return;
	st->st_hooks.sh_wake = NULL;	/* waiting callbacks run now */
	rconn_free(st->st_rc);
	if (st->st_traffic != NULL)
		event_free(st->st_traffic);
	for (i = 0; i < CACHE_BUCKETS; i++)
		for (e = st->st_cache[i]; e != NULL; e = next) {
			next = e->ce_next;
			OPENSSL_cleanse(e->ce_key, sizeof(e->ce_key));
			free(e);
		}
	secrets_clear(&st->st_secrets);
	store_alloc_free_dels(st);
	conf_unref(st->st_conf);
	free(st);
}

void
store_flush(struct store *st, struct event_base *base)
{
	if (st != NULL)
		rconn_drain(st->st_rc, base);
}

int
store_is_redis(const struct store *st)
{
	return (st != NULL && st->st_rc != NULL);
}

int
store_up(const struct store *st)
{
	return (st != NULL && rconn_ready(st->st_rc));
}
