/*
 * turnd_admin.c -- what the control socket asks of turnd as a whole, on
 * the main thread: status, reload and drain (control.h's hooks).
 */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin/control.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "common/sbuf.h"
#include "conf/conf.h"
#include "net/net.h"
#include "store/rconn.h"
#include "store/store.h"
#include "turn/auth.h"
#include "turn/policy.h"
#include "turn/quota.h"
#include "turn/stats.h"
#include "turnd.h"

void
turnd_stats(struct turnd *td, struct stats *sum)
{
	unsigned int	i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < td->td_nworkers; i++)
		if (td->td_workers[i] != NULL)
			worker_stats_add(td->td_workers[i], sum);
}

/* Live allocations: the workers' gauges, summed. */
unsigned int
turnd_allocations(struct turnd *td)
{
	struct stats	sum;

	turnd_stats(td, &sum);
	return ((unsigned int)(atomic_load(&sum.allocs_udp) +
	    atomic_load(&sum.allocs_tcp) + atomic_load(&sum.allocs_tls)));
}

void
turnd_status(void *arg, int json, struct sbuf *sb)
{
	struct turnd		*td = arg;
	const struct turnd_conf	*conf = td->td_conf;
	struct rconn_stats	 rs;
	const char		*health = "ok", *p, *sp;
	int			 redis = strcmp(conf->store_backend, "redis") == 0;
	long long		 up = (long long)(time(NULL) - td->td_started);

	memset(&rs, 0, sizeof(rs));
	if (redis) {
		rconn_stats(&rs);
		health = rs.rs_up == rs.rs_conns ? "ok" : rs.rs_up == 0 ?
		    "down" : "degraded";
	}
	if (!json) {
		sbuf_printf(sb, "turnd %s, pid %ld, up %lld s\n"
		    "instance:    %s\nrealm:       %s\nworkers:     %u\n",
		    PACKAGE_VERSION, (long)getpid(), up, td->td_iid,
		    conf->realm, td->td_nworkers);
		for (p = td->td_listen; *p != '\0'; p = sp + (*sp != '\0')) {
			sp = p + strcspn(p, " ");
			sbuf_printf(sb, "listener:    %.*s\n", (int)(sp - p), p);
		}
		sbuf_printf(sb, "allocations: %u\nstore:       %s",
		    turnd_allocations(td), conf->store_backend);
		if (redis)
			sbuf_printf(sb, " (%s: %llu of %llu connections up)",
			    health, (unsigned long long)rs.rs_up,
			    (unsigned long long)rs.rs_conns);
		sbuf_printf(sb, "\ndraining:    %s\n", td->td_draining ?
		    "yes" : "no");
		return;
	}
	sbuf_printf(sb, "{\"version\":\"%s\",\"pid\":%ld,\"uptime\":%lld,"
	    "\"instance\":\"%s\",\"realm\":", PACKAGE_VERSION, (long)getpid(),
	    up, td->td_iid);
	sbuf_json_str(sb, conf->realm);
	sbuf_printf(sb, ",\"workers\":%u,\"listeners\":[", td->td_nworkers);
	for (p = td->td_listen; *p != '\0'; p = sp + (*sp != '\0')) {
		sp = p + strcspn(p, " ");
		sbuf_printf(sb, "%s\"%.*s\"", p == td->td_listen ? "" : ",",
		    (int)(sp - p), p);
	}
	sbuf_printf(sb, "],\"allocations\":%u,\"store\":{\"backend\":\"%s\","
	    "\"health\":\"%s\",\"connections\":%llu,\"connections_up\":%llu},"
	    "\"draining\":%s}\n", turnd_allocations(td), conf->store_backend,
	    health, (unsigned long long)rs.rs_conns,
	    (unsigned long long)rs.rs_up, td->td_draining ? "true" : "false");
}

/* The quota limits in force: the realm's in Redis, else the conf's. */
void
turnd_quota_limits(struct turnd *td)
{
	const struct turnd_conf	*conf = td->td_conf;
	long long		 u = td->td_realm_uq, t = td->td_realm_tq;

	if (u < 0)
		u = conf->relay_user_quota;
	if (t < 0)
		t = conf->relay_total_quota;
	quota_set_limits(td->td_quota, (unsigned int)(u > 0xFFFFFFF ?
	    0xFFFFFFF : u), (unsigned int)(t > 0xFFFFFFF ? 0xFFFFFFF : t));
}

/*
 * Keys a reload cannot apply: sockets and threads made at start, the
 * store's connections, the identity (realm: Redis keys, nonces).  A
 * trailing dot is a whole section.
 */
static const char *const reload_static[] = {
	"workers", "user", "group", "pidfile", "realm", "listen.",
	"stun.rfc5780", "stun.alt_address", "stun.alt_port",
	"limits.connections", "limits.connections_per_source", "store.",
	"control.", "metrics.listen", "log.file", "log.syslog", NULL
};

static int
reload_is_static(const char *name)
{
	const char	*const *p;
	size_t		 n;

	for (p = reload_static; *p != NULL; p++) {
		n = strlen(*p);
		if ((*p)[n - 1] == '.' ? strncmp(name, *p, n) == 0 :
		    strcmp(name, *p) == 0)
			return (1);
	}
	return (0);
}

/* What a worker takes from a reload, and what it gives up. */
struct reload_msg {
	const struct turnd_conf	*rm_conf;
	const struct auth	*rm_auth, *rm_old_auth;
	const struct policy	*rm_policy, *rm_old_policy;
	SSL_CTX			*rm_tls, *rm_old_tls;
	_Atomic unsigned int	 rm_refs;
};

static void
reload_worker(struct worker *w, void *arg)
{
	struct reload_msg	*rm = arg;

	w->w_conf = rm->rm_conf;
	w->w_srv.sv_conf = rm->rm_conf;
	w->w_srv.sv_auth = rm->rm_auth;
	w->w_srv.sv_policy = rm->rm_policy;
	if (rm->rm_tls != NULL)
		w->w_tls = rm->rm_tls;
	/* the last worker to let go frees what nobody uses any more */
	if (atomic_fetch_sub(&rm->rm_refs, 1) == 1) {
		auth_free((struct auth *)(uintptr_t)rm->rm_old_auth);
		policy_free((struct policy *)(uintptr_t)rm->rm_old_policy);
		SSL_CTX_free(rm->rm_old_tls);	/* connections hold refs */
		free(rm);
	}
}

/* ", name" to one of the lists of the answer. */
static void
reload_list(struct sbuf *sb, int json, const char *name)
{
	if (json) {
		sbuf_printf(sb, "%s", sb->sb_len > 0 ? "," : "");
		sbuf_json_str(sb, name);
	} else
		sbuf_printf(sb, "%s%s", sb->sb_len > 0 ? ", " : "", name);
}

int
turnd_reload(void *arg, int json, struct sbuf *out)
{
	struct turnd		*td = arg;
	struct turnd_conf	*nc, *old = td->td_conf;
	struct reload_msg	*rm;
	struct sbuf		 changed, kept;
	struct auth		*auth;
	SSL_CTX			*tls = NULL;
	uint8_t			 secret[32];
	uint8_t			*swapped;	/* keys given old values */
	char			 err[CONF_ERR_LEN + 256];
	unsigned int		 i;
	int			 level;

	if (old->path == NULL) {
		sbuf_printf(out, json ? "{\"error\":\"the demo configuration "
		    "is built in: nothing to reload\"}\n" : "the demo "
		    "configuration is built in: nothing to reload\n");
		return (-1);
	}
	if ((nc = conf_load(old->path, err, sizeof(err))) == NULL) {
		log_warnx("reload refused, the running configuration stays: "
		    "%s", err);
		if (json) {
			sbuf_printf(out, "{\"error\":");
			sbuf_json_str(out, err);
			sbuf_printf(out, "}\n");
		} else
			sbuf_printf(out, "refused, the running configuration "
			    "stays: %s\n", err);
		return (-1);
	}
	sbuf_init(&changed);
	sbuf_init(&kept);
	swapped = xcalloc(conf_nkeys, 1);
	for (i = 0; i < conf_nkeys; i++) {
		if (conf_key_equal(old, nc, &conf_keys[i]))
			continue;
		if (reload_is_static(conf_keys[i].ck_name)) {
			conf_key_keep(nc, old, &conf_keys[i]);
			swapped[i] = 1;
			reload_list(&kept, json, conf_keys[i].ck_name);
		} else
			reload_list(&changed, json, conf_keys[i].ck_name);
	}
	/* the certificate is read again even when its path is the same */
	if (nc->listen_tls.ca_n > 0 &&
	    (tls = tls_ctx_new(nc, err, sizeof(err))) == NULL)
		goto refused;
	if (*nc->auth_nonce_secret == '\0' &&
	    *old->auth_nonce_secret == '\0')
		memcpy(secret, td->td_nonce, sizeof(secret));
	else if (auth_nonce_secret(nc, secret) == -1) {
		snprintf(err, sizeof(err), "cannot derive the nonce secret");
		goto refused;
	}
	if ((auth = auth_new(nc, secret)) == NULL) {
		snprintf(err, sizeof(err), "cannot derive the users' keys");
		goto refused;
	}
	memcpy(td->td_nonce, secret, sizeof(td->td_nonce));
	explicit_bzero(secret, sizeof(secret));
	free(swapped);

	rm = xcalloc(1, sizeof(*rm));
	rm->rm_conf = nc;
	rm->rm_auth = auth;
	rm->rm_old_auth = td->td_auth;
	rm->rm_policy = policy_new(nc);
	rm->rm_old_policy = td->td_policy;
	rm->rm_tls = tls;
	rm->rm_old_tls = tls != NULL ? td->td_tls : NULL;
	atomic_init(&rm->rm_refs, td->td_nworkers);
	td->td_auth = auth;
	td->td_policy = (struct policy *)(uintptr_t)rm->rm_policy;
	if (tls != NULL)
		td->td_tls = tls;
	td->td_retired = xreallocarray(td->td_retired, td->td_nretired + 1,
	    sizeof(*td->td_retired));
	td->td_retired[td->td_nretired++] = old;
	td->td_conf = nc;
	turnd_quota_limits(td);
	if (!td->td_debug && (level = log_level_parse(nc->log_level)) >= 0)
		log_set_level(level);
	for (i = 0; i < td->td_nworkers; i++)
		if (worker_run(td->td_workers[i], reload_worker, rm) == -1)
			fatalx("%s: cannot reach worker %u", __func__, i);

	log_info("reloaded %s: changed: %s%s%s", nc->path,
	    changed.sb_len ? sbuf_str(&changed) : "nothing",
	    kept.sb_len ? "; need a restart (running values kept): " : "",
	    sbuf_str(&kept));
	if (json)
		sbuf_printf(out, "{\"reloaded\":true,\"changed\":[%s],"
		    "\"restart_needed\":[%s]}\n", sbuf_str(&changed),
		    sbuf_str(&kept));
	else
		sbuf_printf(out, "reloaded %s\nchanged: %s\n%s%s%s", nc->path,
		    changed.sb_len ? sbuf_str(&changed) : "nothing",
		    kept.sb_len ? "need a restart (running values kept): " :
		    "", sbuf_str(&kept), kept.sb_len ? "\n" : "");
	sbuf_free(&changed);
	sbuf_free(&kept);
	return (0);

refused:
	explicit_bzero(secret, sizeof(secret));
	SSL_CTX_free(tls);
	for (i = 0; i < conf_nkeys; i++)	/* give old its values back */
		if (swapped[i])
			conf_key_keep(nc, old, &conf_keys[i]);
	free(swapped);
	conf_free(nc);
	sbuf_free(&changed);
	sbuf_free(&kept);
	log_warnx("reload refused, the running configuration stays: %s%s%s",
	    old->path, ": ", err);
	if (json) {
		sbuf_printf(out, "{\"error\":");
		sbuf_json_str(out, err);
		sbuf_printf(out, "}\n");
	} else
		sbuf_printf(out, "refused, the running configuration stays: "
		    "%s: %s\n", old->path, err);
	return (-1);
}

/* SIGHUP: the same, told in the log. */
void
turnd_reload_log(struct turnd *td)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	(void)turnd_reload(td, 0, &sb);
	sbuf_free(&sb);
}

/* Draining: exit when the last allocation ends or the time is up. */
static void
turnd_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct turnd	*td = arg;
	unsigned int	 n = turnd_allocations(td);

	(void)fd;
	(void)what;
	if (n == 0) {
		log_info("drain: the last allocation ended; exiting");
		event_base_loopbreak(td->td_base);
	} else if (td->td_drain_deadline != 0 &&
	    time(NULL) >= td->td_drain_deadline) {
		log_info("drain: timeout with %u allocation%s left; exiting", n,
		    n == 1 ? "" : "s");
		event_base_loopbreak(td->td_base);
	}
}

struct drain_msg {
	struct sockaddr_storage	dm_alt[2];
	_Atomic unsigned int	dm_refs;
};

static void
turnd_drain_worker(struct worker *w, void *arg)
{
	struct drain_msg	*dm = arg;

	server_drain(&w->w_srv,
	    dm->dm_alt[0].ss_family ? (struct sockaddr *)&dm->dm_alt[0] : NULL,
	    dm->dm_alt[1].ss_family ? (struct sockaddr *)&dm->dm_alt[1] : NULL);
	if (atomic_fetch_sub(&dm->dm_refs, 1) == 1)
		free(dm);
}

/* The store found (or not) where to send new clients: tell the workers. */
static void
turnd_drain_alt(void *arg, const struct sockaddr *alt4,
    const struct sockaddr *alt6)
{
	struct turnd		*td = arg;
	struct drain_msg	*dm;
	char			 b4[ADDR_STRLEN], b6[ADDR_STRLEN];
	unsigned int		 i;

	if (td->td_stopping)
		return;
	dm = xcalloc(1, sizeof(*dm));
	if (alt4 != NULL)
		memcpy(&dm->dm_alt[0], alt4, addr_len(alt4));
	if (alt6 != NULL)
		memcpy(&dm->dm_alt[1], alt6, addr_len(alt6));
	atomic_init(&dm->dm_refs, td->td_nworkers);
	if (alt4 != NULL || alt6 != NULL)
		log_info("drain: new allocations go to %s %s",
		    alt4 ? addr_fmt(alt4, b4, sizeof(b4)) : "",
		    alt6 ? addr_fmt(alt6, b6, sizeof(b6)) : "");
	else
		log_info("drain: no other instance known; new allocations "
		    "get 508");
	for (i = 0; i < td->td_nworkers; i++)
		if (worker_run(td->td_workers[i], turnd_drain_worker,
		    dm) == -1)
			fatalx("%s: cannot reach worker %u", __func__, i);
}

int
turnd_drain(void *arg, int timeout, int json, struct sbuf *sb)
{
	struct turnd	*td = arg;
	struct timeval	 tv = { 1, 0 };
	unsigned int	 n = turnd_allocations(td);

	if (!td->td_draining) {
		td->td_draining = 1;
		td->td_drain_ev = event_new(td->td_base, -1, EV_PERSIST,
		    turnd_drain_tick, td);
		if (td->td_drain_ev == NULL ||
		    event_add(td->td_drain_ev, &tv) == -1)
			fatalx("%s: cannot start the drain timer", __func__);
		log_info("drain: %u allocation%s left%s", n, n == 1 ? "" : "s",
		    timeout > 0 ? "" : ", no timeout");
		store_main_drain(td->td_store, turnd_drain_alt, td);
	}
	if (timeout > 0)
		td->td_drain_deadline = time(NULL) + timeout;
	if (json)
		sbuf_printf(sb, "{\"draining\":true,\"allocations\":%u,"
		    "\"timeout\":%lld}\n", n, (long long)(
		    td->td_drain_deadline ? td->td_drain_deadline - time(NULL) :
		    0));
	else if (td->td_drain_deadline != 0)
		sbuf_printf(sb, "draining: %u allocation%s left; turnd exits "
		    "when they end, or in %lld s\n", n, n == 1 ? "" : "s",
		    (long long)(td->td_drain_deadline - time(NULL)));
	else
		sbuf_printf(sb, "draining: %u allocation%s left; turnd exits "
		    "when they end\n", n, n == 1 ? "" : "s");
	return (0);
}
