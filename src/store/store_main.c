/*
 * store_main.c -- the main thread's part of the Redis store: the realm's
 * options and peer rules (read at every connect and again whenever Redis
 * says they changed, never on a timer) and this instance's entry in the
 * registry, refreshed every store.heartbeat seconds.
 *
 * Two connections: one for commands, one subscribed to the keyspace
 * notifications of the realm keys and to turnd/realm/<realm>/changed
 * (what turnctl publishes; keyspace notifications need the Redis
 * server's notify-keyspace-events to include "Kgs$").  The key names are
 * those of store/keys.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "store/keys.h"
#include "store/rconn.h"
#include "store/store.h"

#define ANNOUNCE_US	10000	/* the ready line's retry */
#define REALM_KEYS	5	/* user-quota total-quota max-bps allowed denied */

/* Read in this order by realm_load(), GET for the first three. */
static const char *const realm_key_names[REALM_KEYS] = {
	KEYS_USER_QUOTA, KEYS_TOTAL_QUOTA, KEYS_MAX_BPS, KEYS_ALLOWED_PEER_IP,
	KEYS_DENIED_PEER_IP
};

struct store_main {
	const struct turnd_conf	*sm_conf;	/* a reference (conf.h) */
	struct event_base	*sm_base;
	char			 sm_iid[STORE_IID_LEN + 1];
	char			*sm_listen;
	struct store_main_hooks	 sm_hooks;
	struct rconn		*sm_cmd;
	struct rconn		*sm_sub;
	struct event		*sm_hb;
	time_t			 sm_started;
	int			 sm_loading;	/* a realm read in flight */
	int			 sm_dirty;	/* changed while reading */
	int			 sm_announced;	/* "ready" logged since up */
	struct event		*sm_ann;	/* retries the "ready" line */
	unsigned int		 sm_ann_tries;
	char			*sm_addr4, *sm_addr6;
	int			 sm_draining;
	int			 sm_handed;	/* a new process has the
						 * instance id: hands off */
};

/* Looking for where to send clients while draining. */
struct alt_search {
	struct store_main	*as_sm;
	void			(*as_cb)(void *, const struct sockaddr *,
				    const struct sockaddr *);
	void			*as_arg;
	unsigned int		 as_pending;
	long long		 as_best;	/* allocations of the best */
	struct sockaddr_storage	 as_alt[2];
};

static void	realm_load(struct store_main *);

static char *
realm_key(const struct store_main *sm, unsigned int i, char *k, size_t len)
{
	return (keys_realm(k, len, sm->sm_conf->realm, realm_key_names[i]));
}

/* A realm option: a non-negative integer, or absent (-1). */
static long long
realm_number(const struct store_main *sm, unsigned int i, redisReply *r)
{
	char		*end, buf[32], k[KEYS_LEN];
	long long	 v;

	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return (-1);
	snprintf(buf, sizeof(buf), "%.*s", (int)r->len, r->str);
	v = strtoll(buf, &end, 10);
	if (*buf == '\0' || *end != '\0' || v < 0) {
		log_warnx("store: %s: \"%s\" is not a non-negative integer; "
		    "ignored", realm_key(sm, i, k, sizeof(k)), buf);
		return (-1);
	}
	return (v);
}

/* A peer rule set: every member that parses. */
static struct iprange *
realm_ranges(const struct store_main *sm, unsigned int i, redisReply *r,
    unsigned int *n)
{
	struct iprange	*v = NULL;
	const char	*why;
	char		 buf[128], k[KEYS_LEN];
	size_t		 j;

	*n = 0;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		return (NULL);
	v = xcalloc(r->elements, sizeof(*v));
	for (j = 0; j < r->elements; j++) {
		if (r->element[j]->type != REDIS_REPLY_STRING)
			continue;
		snprintf(buf, sizeof(buf), "%.*s", (int)r->element[j]->len,
		    r->element[j]->str);
		if (iprange_parse(buf, &v[*n], &why) == -1) {
			log_warnx("store: %s: \"%s\": %s; ignored",
			    realm_key(sm, i, k, sizeof(k)), buf, why);
			continue;
		}
		(*n)++;
	}
	return (v);
}

/*
 * Log "store: redis ready" once every connection is up, the workers'
 * own included (a worker whose connection is still being made answers
 * 500), or, if some are still not up after store.redis.command_timeout,
 * with how many are.
 */
static void
announce(struct store_main *sm)
{
	struct rconn_stats	rs;
	struct timeval		tv = { 0, ANNOUNCE_US };

	rconn_stats(&rs);
	if (rs.rs_up < rs.rs_conns && sm->sm_ann_tries++ <
	    (unsigned int)sm->sm_conf->redis_command_timeout *
	    (1000000 / ANNOUNCE_US)) {
		evtimer_add(sm->sm_ann, &tv);
		return;
	}
	sm->sm_announced = 1;
	if (rs.rs_up < rs.rs_conns)
		log_info("store: redis ready (%s), instance %s, %llu of %llu "
		    "connections up", rconn_where(sm->sm_cmd), sm->sm_iid,
		    (unsigned long long)rs.rs_up,
		    (unsigned long long)rs.rs_conns);
	else
		log_info("store: redis ready (%s), instance %s",
		    rconn_where(sm->sm_cmd), sm->sm_iid);
}

static void
announce_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_main	*sm = arg;

	(void)fd;
	(void)what;
	if (!sm->sm_announced && rconn_ready(sm->sm_cmd))
		announce(sm);
}

static void
realm_exec_cb(struct rconn *rc, redisReply *r, void *arg)
{
	struct store_main	*sm = arg;
	struct store_realm	*sr;

	(void)rc;
	sm->sm_loading = 0;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements != REALM_KEYS) {
		if (r != NULL && r->type == REDIS_REPLY_ERROR)
			log_warnx("store: reading the realm options: %s",
			    r->str);
		return;		/* read again at the next connect */
	}
	sr = store_realm_new();
	sr->sr_user_quota = realm_number(sm, 0, r->element[0]);
	sr->sr_total_quota = realm_number(sm, 1, r->element[1]);
	sr->sr_max_bps = realm_number(sm, 2, r->element[2]);
	sr->sr_allow = realm_ranges(sm, 3, r->element[3], &sr->sr_nallow);
	sr->sr_deny = realm_ranges(sm, 4, r->element[4], &sr->sr_ndeny);
	log_debug("store: realm \"%s\": user-quota %lld, total-quota %lld, "
	    "max-bps %lld, %u allowed and %u denied peer rules",
	    sm->sm_conf->realm, sr->sr_user_quota, sr->sr_total_quota,
	    sr->sr_max_bps, sr->sr_nallow, sr->sr_ndeny);
	if (sm->sm_hooks.mh_realm != NULL)
		sm->sm_hooks.mh_realm(sm->sm_hooks.mh_arg, sr);
	else
		store_realm_unref(sr);
	if (!sm->sm_announced) {
		sm->sm_ann_tries = 0;
		announce(sm);
	}
	if (sm->sm_dirty) {
		sm->sm_dirty = 0;
		realm_load(sm);
	}
}

static void
realm_load(struct store_main *sm)
{
	char		keys[REALM_KEYS][KEYS_LEN];
	unsigned int	i;

	if (!rconn_ready(sm->sm_cmd))
		return;
	if (sm->sm_loading) {
		sm->sm_dirty = 1;
		return;
	}
	for (i = 0; i < REALM_KEYS; i++)
		realm_key(sm, i, keys[i], sizeof(keys[i]));
	if (rconn_cmdl(sm->sm_cmd, NULL, NULL, "MULTI", NULL) == -1)
		return;
	(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "GET", keys[0], NULL);
	(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "GET", keys[1], NULL);
	(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "GET", keys[2], NULL);
	(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "SMEMBERS", keys[3], NULL);
	(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "SMEMBERS", keys[4], NULL);
	if (rconn_cmdl(sm->sm_cmd, realm_exec_cb, sm, "EXEC", NULL) == 0)
		sm->sm_loading = 1;
}

/* This instance in the registry (turnd-redis(7)). */
static void
registry_put(struct store_main *sm)
{
	char		k[KEYS_LEN], pid[16], started[24], hb[24], n[16];
	char		ttl[16];
	char		host[256], exp[24];
	time_t		now = time(NULL);
	int		life = 3 * sm->sm_conf->store_heartbeat;

	if (!rconn_ready(sm->sm_cmd) || sm->sm_handed)
		return;
	if (gethostname(host, sizeof(host)) == -1)
		strcpy(host, "?");
	host[sizeof(host) - 1] = '\0';
	keys_instance(k, sizeof(k), sm->sm_iid);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	snprintf(started, sizeof(started), "%lld", (long long)sm->sm_started);
	snprintf(hb, sizeof(hb), "%lld", (long long)now);
	snprintf(n, sizeof(n), "%u", sm->sm_hooks.mh_count != NULL ?
	    sm->sm_hooks.mh_count(sm->sm_hooks.mh_arg) : 0);
	snprintf(ttl, sizeof(ttl), "%d", life);
	snprintf(exp, sizeof(exp), "%lld", (long long)now + life);
	(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "HSET", k,
	    "id", sm->sm_iid, "version", PACKAGE_VERSION, "pid", pid,
	    "hostname", host, "realm", sm->sm_conf->realm,
	    "started", started, "heartbeat", hb, "listen", sm->sm_listen,
	    "allocations", n, "draining", sm->sm_draining ? "1" : "0",
	    "address", sm->sm_addr4, "address6", sm->sm_addr6, NULL);
	(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "EXPIRE", k, ttl, NULL);
	(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "ZADD", KEYS_INSTANCES,
	    exp, sm->sm_iid, NULL);
	(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "ZREMRANGEBYSCORE",
	    KEYS_INSTANCES, "-inf", hb, NULL);
}

static void
heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	registry_put(arg);
}

static void
cmd_up(struct rconn *rc, void *arg)
{
	struct store_main	*sm = arg;

	(void)rc;
	sm->sm_loading = 0;
	sm->sm_dirty = 0;
	registry_put(sm);
	realm_load(sm);
}

static void
cmd_down(struct rconn *rc, void *arg)
{
	struct store_main	*sm = arg;

	(void)rc;
	sm->sm_loading = 0;
	sm->sm_announced = 0;
}

/* A message on a subscribed channel: the realm changed; read it again. */
static void
sub_message_cb(struct rconn *rc, redisReply *r, void *arg)
{
	struct store_main	*sm = arg;

	(void)rc;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0)
		return;
	log_debug("store: realm change signalled on %.*s",
	    (int)r->element[1]->len, r->element[1]->str);
	realm_load(sm);
}

static void
sub_up(struct rconn *rc, void *arg)
{
	struct store_main	*sm = arg;
	char			 ch[REALM_KEYS + 1][KEYS_KEYSPACE_LEN];
	char			 key[KEYS_LEN];
	const char		*argv[REALM_KEYS + 2];
	unsigned int		 i;

	argv[0] = "SUBSCRIBE";
	for (i = 0; i < REALM_KEYS; i++)
		argv[i + 1] = keys_keyspace(ch[i], sizeof(ch[i]),
		    sm->sm_conf->redis_db, realm_key(sm, i, key, sizeof(key)));
	argv[REALM_KEYS + 1] = keys_realm_changed(ch[REALM_KEYS],
	    sizeof(ch[REALM_KEYS]), sm->sm_conf->realm);
	if (rconn_subscribe(rc, sub_message_cb, sm, REALM_KEYS + 2, argv,
	    NULL) == -1)
		log_warnx("store: cannot subscribe to realm changes");
	/* what changed while we were not listening */
	realm_load(sm);
}

struct store_main *
store_main_new(const struct turnd_conf *conf, struct event_base *base,
    const char *iid, const char *listen, const char *addr4, const char *addr6,
    const struct store_main_hooks *hooks)
{
	struct store_main	*sm;
	struct rconn_hooks	 rh;
	struct timeval		 tv;

	if (strcmp(conf->store_backend, "redis") != 0)
		return (NULL);
	sm = xcalloc(1, sizeof(*sm));
	sm->sm_conf = conf_ref(conf);
	sm->sm_base = base;
	snprintf(sm->sm_iid, sizeof(sm->sm_iid), "%s", iid);
	sm->sm_listen = xstrdup(listen);
	sm->sm_addr4 = xstrdup(addr4);
	sm->sm_addr6 = xstrdup(addr6);
	if (hooks != NULL)
		sm->sm_hooks = *hooks;
	sm->sm_started = time(NULL);
	sm->sm_hb = event_new(base, -1, EV_PERSIST, heartbeat_cb, sm);
	sm->sm_ann = evtimer_new(base, announce_cb, sm);
	if (sm->sm_hb == NULL || sm->sm_ann == NULL)
		fatalx("%s: event_new failed", __func__);
	tv.tv_sec = conf->store_heartbeat;
	tv.tv_usec = 0;
	event_add(sm->sm_hb, &tv);
	memset(&rh, 0, sizeof(rh));
	rh.rh_up = cmd_up;
	rh.rh_down = cmd_down;
	rh.rh_arg = sm;
	sm->sm_cmd = rconn_new(conf, base, "main", &rh);
	rh.rh_up = sub_up;
	rh.rh_down = NULL;
	sm->sm_sub = rconn_new(conf, base, "subscriber", &rh);
	return (sm);
}

void
store_main_free(struct store_main *sm)
{
	char	k[KEYS_LEN];

	if (sm == NULL)
		return;
	/* leave the registry now rather than when the key expires */
	if (rconn_ready(sm->sm_cmd) && !sm->sm_handed) {
		keys_instance(k, sizeof(k), sm->sm_iid);
		(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "DEL", k, NULL);
		(void)rconn_cmdl(sm->sm_cmd, NULL, NULL, "ZREM",
		    KEYS_INSTANCES, sm->sm_iid, NULL);
		rconn_drain(sm->sm_cmd, sm->sm_base);
	}
	rconn_free(sm->sm_sub);
	rconn_free(sm->sm_cmd);
	event_free(sm->sm_hb);
	event_free(sm->sm_ann);
	free(sm->sm_listen);
	free(sm->sm_addr4);
	free(sm->sm_addr6);
	conf_unref(sm->sm_conf);
	free(sm);
}

void
store_main_handed_over(struct store_main *sm)
{
	if (sm == NULL)
		return;
	sm->sm_handed = 1;
	event_del(sm->sm_hb);
}

/* ---- draining: the least loaded other instance ---- */

static void
alt_done(struct alt_search *as)
{
	as->as_cb(as->as_arg,
	    as->as_alt[0].ss_family ? (struct sockaddr *)&as->as_alt[0] : NULL,
	    as->as_alt[1].ss_family ? (struct sockaddr *)&as->as_alt[1] : NULL);
	free(as);
}

/* One instance's registry hash: a better alternate? */
static void
alt_instance_cb(struct rconn *rc, redisReply *r, void *arg)
{
	struct alt_search	*as = arg;
	struct sockaddr_storage	 a4, a6;
	const char		*f, *v4 = "", *v6 = "";
	long long		 n = -1;
	int			 draining = 1;
	size_t			 i;

	(void)rc;
	if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
		for (i = 0; i + 1 < r->elements; i += 2) {
			f = r->element[i]->str;
			if (r->element[i + 1]->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(f, "draining") == 0)
				draining = strcmp(r->element[i + 1]->str,
				    "0") != 0;
			else if (strcmp(f, "allocations") == 0)
				n = atoll(r->element[i + 1]->str);
			else if (strcmp(f, "address") == 0)
				v4 = r->element[i + 1]->str;
			else if (strcmp(f, "address6") == 0)
				v6 = r->element[i + 1]->str;
		}
		memset(&a4, 0, sizeof(a4));
		memset(&a6, 0, sizeof(a6));
		if (!draining && n >= 0 && (as->as_best < 0 || n < as->as_best) &&
		    ((*v4 != '\0' && addr_parse(v4, 0, &a4, NULL) == 0) ||
		    (*v6 != '\0' && addr_parse(v6, 0, &a6, NULL) == 0))) {
			as->as_best = n;
			as->as_alt[0] = a4;
			as->as_alt[1] = a6;
		}
	}
	if (--as->as_pending == 0)
		alt_done(as);
}

/* The live instances: ask each for its entry. */
static void
alt_list_cb(struct rconn *rc, redisReply *r, void *arg)
{
	struct alt_search	*as = arg;
	struct store_main	*sm = as->as_sm;
	char			 k[KEYS_LEN], iid[2 * STORE_IID_LEN + 1];
	size_t			 i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		alt_done(as);
		return;
	}
	as->as_pending = 1;		/* until every HGETALL is sent */
	for (i = 0; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    strcmp(r->element[i]->str, sm->sm_iid) == 0)
			continue;
		/* a member is an instance id: cut a stray long one */
		snprintf(iid, sizeof(iid), "%s", r->element[i]->str);
		keys_instance(k, sizeof(k), iid);
		if (rconn_cmdl(rc, alt_instance_cb, as, "HGETALL", k,
		    NULL) == 0)
			as->as_pending++;
	}
	if (--as->as_pending == 0)
		alt_done(as);
}

void
store_main_drain(struct store_main *sm, void (*cb)(void *,
    const struct sockaddr *, const struct sockaddr *), void *arg)
{
	struct alt_search	*as;
	char			 now[24];

	as = xcalloc(1, sizeof(*as));
	as->as_sm = sm;
	as->as_cb = cb;
	as->as_arg = arg;
	as->as_best = -1;
	if (sm == NULL || sm->sm_handed) {
		alt_done(as);
		return;
	}
	sm->sm_draining = 1;
	registry_put(sm);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (rconn_cmdl(sm->sm_cmd, alt_list_cb, as, "ZRANGEBYSCORE",
	    KEYS_INSTANCES, now, "+inf", NULL) == -1)
		alt_done(as);
}
