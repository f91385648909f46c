/*
 * admin.c -- what the control socket asks of turnd as a whole, on the
 * main thread (admin.h): status, sessions and kill through the workers,
 * reload and drain.
 */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin/admin.h"
#include "admin/control.h"
#include "admin/upgrade.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "common/sbuf.h"
#include "conf/conf.h"
#include "net/net.h"
#include "net/worker_admin.h"
#include "store/rconn.h"
#include "store/store.h"
#include "turn/auth.h"
#include "turn/policy.h"
#include "turn/quota.h"
#include "turn/server.h"
#include "turn/stats.h"
#include "turnd.h"

void
admin_stats(struct turnd *td, struct stats *sum)
{
	unsigned int	i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < td->td_nworkers; i++)
		if (td->td_workers[i] != NULL)
			worker_stats_add(td->td_workers[i], sum);
}

unsigned int
admin_allocations(struct turnd *td)
{
	struct stats	sum;

	admin_stats(td, &sum);
	return ((unsigned int)(atomic_load(&sum.allocs_udp) +
	    atomic_load(&sum.allocs_tcp) + atomic_load(&sum.allocs_tls) +
	    atomic_load(&sum.allocs_dtls)));
}

/* The live upgrade's part of status: which process of the line this is. */
static void
admin_status_generation(struct turnd *td, int json, struct sbuf *sb)
{
	char		when[32] = "";
	struct tm	tm;

	if (td->td_taken_over != 0 &&
	    gmtime_r(&td->td_taken_over, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (json) {
		sbuf_printf(sb, "\"generation\":%u,\"taken_over\":%lld,"
		    "\"handed_over\":%s,\"upgrades\":{\"ok\":%llu,"
		    "\"failed\":%llu,\"under_way\":%s}", td->td_generation,
		    (long long)td->td_taken_over,
		    td->td_handed_over ? "true" : "false",
		    (unsigned long long)td->td_upgrades_ok,
		    (unsigned long long)td->td_upgrades_failed,
		    td->td_upgrade != NULL ? "true" : "false");
		return;
	}
	sbuf_printf(sb, "generation:  %u", td->td_generation);
	if (*when != '\0')
		sbuf_printf(sb, " (took over at %s)", when);
	sbuf_printf(sb, "\n");
	if (td->td_handed_over)
		sbuf_printf(sb, "handed over: yes (only TCP/TLS clients left)\n");
	if (td->td_upgrades_failed > 0)
		sbuf_printf(sb, "upgrades:    %llu failed here\n",
		    (unsigned long long)td->td_upgrades_failed);
}

static void
admin_status(struct turnd *td, int json, struct sbuf *sb)
{
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
		    admin_allocations(td), conf->store_backend);
		if (redis)
			sbuf_printf(sb, " (%s: %llu of %llu connections up)",
			    health, (unsigned long long)rs.rs_up,
			    (unsigned long long)rs.rs_conns);
		sbuf_printf(sb, "\ndraining:    %s\n", td->td_draining ?
		    "yes" : "no");
		admin_status_generation(td, 0, sb);
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
	    "\"draining\":%s,", admin_allocations(td), conf->store_backend,
	    health, (unsigned long long)rs.rs_conns,
	    (unsigned long long)rs.rs_up, td->td_draining ? "true" : "false");
	admin_status_generation(td, 1, sb);
	sbuf_printf(sb, "}\n");
}

/* ---- sessions, session, kill: every worker, then the main thread ---- */

/* One such request: each worker fills its own part and count. */
struct admin_list {
	const struct control_req *al_req;
	struct server_filter	 al_filter;
	struct sbuf		*al_out;
	control_done_cb		 al_done;
	void			*al_ctx;
	unsigned int		 al_n;		/* workers */
	struct sbuf		*al_part;	/* sessions: text or JSON */
	unsigned int		*al_count;	/* listed or killed */
};

static void
list_in_worker(struct worker *w, unsigned int i, void *arg)
{
	struct admin_list	*al = arg;

	if (al->al_req->cr_cmd == CONTROL_KILL)
		al->al_count[i] = worker_kill(w, &al->al_filter);
	else
		al->al_count[i] = worker_sessions(w, &al->al_filter,
		    al->al_req->cr_limit, &al->al_part[i]);
}

/* The workers' parts, in order, up to the limit, as one body. */
static void
list_sessions(struct admin_list *al, struct sbuf *sb)
{
	const struct control_req	*req = al->al_req;
	int				 one = req->cr_cmd == CONTROL_SESSION;
	unsigned int			 i, listed = 0;

	if (req->cr_json)
		sbuf_printf(sb, one ? "" : "{\"sessions\":[");
	else if (!one)
		sbuf_printf(sb, "%-20s %-16s %-3s %-22s %-22s %6s %6s "
		    "%3s %3s %s\n", "ID", "USER", "TR", "CLIENT",
		    "RELAYED", "AGE", "LEFT", "PRM", "CHN", "PKTS OUT/IN");
	for (i = 0; i < al->al_n; i++) {
		if (al->al_count[i] == 0 || listed >= req->cr_limit)
			continue;
		if (req->cr_json && listed > 0)
			sbuf_printf(sb, ",");
		sbuf_printf(sb, "%s", sbuf_str(&al->al_part[i]));
		listed += al->al_count[i];
	}
	if (req->cr_json)
		sbuf_printf(sb, one ? "\n" : "]}\n");
}

/* Every worker answered (main thread): the body, then the completion. */
static void
list_done(void *arg)
{
	struct admin_list		*al = arg;
	const struct control_req	*req = al->al_req;
	struct sbuf			*sb = al->al_out;
	char				 msg[64];
	unsigned int			 i, n = 0;
	int				 ok = 1;

	for (i = 0; i < al->al_n; i++)
		n += al->al_count[i];
	if (req->cr_cmd == CONTROL_KILL) {
		if (req->cr_json)
			sbuf_printf(sb, "{\"killed\":%u}\n", n);
		else
			sbuf_printf(sb, "killed %u allocation%s\n", n,
			    n == 1 ? "" : "s");
	} else if (req->cr_cmd == CONTROL_SESSION && n == 0) {
		ok = 0;
		snprintf(msg, sizeof(msg), "no allocation %020llu",
		    (unsigned long long)req->cr_id);
		if (req->cr_json) {
			sbuf_printf(sb, "{\"error\":");
			sbuf_json_str(sb, msg);
			sbuf_printf(sb, "}\n");
		} else
			sbuf_printf(sb, "%s\n", msg);
	} else
		list_sessions(al, sb);
	for (i = 0; i < al->al_n; i++)
		sbuf_free(&al->al_part[i]);
	free(al->al_part);
	free(al->al_count);
	/* req and sb may go with the completion */
	al->al_done(al->al_ctx, ok);
	free(al);
}

static void
admin_list(struct turnd *td, const struct control_req *req,
    struct sbuf *out, control_done_cb done, void *ctx)
{
	struct admin_list	*al;

	al = xcalloc(1, sizeof(*al));
	al->al_req = req;
	al->al_filter.sf_id = req->cr_id;
	al->al_filter.sf_user = req->cr_user;
	al->al_filter.sf_peer = req->cr_peer;
	al->al_filter.sf_json = req->cr_json;
	al->al_filter.sf_full = req->cr_cmd == CONTROL_SESSION;
	al->al_out = out;
	al->al_done = done;
	al->al_ctx = ctx;
	al->al_n = td->td_nworkers;
	al->al_part = xcalloc(al->al_n, sizeof(*al->al_part));
	al->al_count = xcalloc(al->al_n, sizeof(*al->al_count));
	worker_each(td->td_workers, td->td_nworkers, list_in_worker, al,
	    list_done, td->td_base);
}

/* ---- reload ---- */

void
admin_quota_limits(struct turnd *td)
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
	"limits.connections", "limits.connections_per_source",
	"limits.dtls_handshakes", "limits.dtls_handshakes_per_source", "store.",
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

/*
 * The keys whose values differ between old and nc, to changed, or to
 * kept when a reload cannot apply them: those take a copy of their
 * running values in nc (conf_key_keep(); old is left as it is, the
 * workers and the store may be reading it).
 */
static void
reload_diff(const struct turnd_conf *old, struct turnd_conf *nc, int json,
    struct sbuf *changed, struct sbuf *kept)
{
	unsigned int	i;

	for (i = 0; i < conf_nkeys; i++) {
		if (conf_key_equal(old, nc, &conf_keys[i]))
			continue;
		if (reload_is_static(conf_keys[i].ck_name)) {
			conf_key_keep(nc, old, &conf_keys[i]);
			reload_list(kept, json, conf_keys[i].ck_name);
		} else
			reload_list(changed, json, conf_keys[i].ck_name);
	}
}

/*
 * What nc needs made before it can be swapped in: its TLS context (the
 * certificate is read again even when its path is the same; NULL when
 * there is no TLS or DTLS listener) and the users' keys under the nonce secret,
 * which becomes the one in use.  0, or -1 with a reason in err.
 */
static int
reload_prepare(struct turnd *td, const struct turnd_conf *nc, SSL_CTX **tlsp,
    struct auth **authp, char *err, size_t errlen)
{
	const struct turnd_conf	*old = td->td_conf;
	SSL_CTX			*tls = NULL;
	uint8_t			 secret[32];

	if (nc->listen_tls.ca_n + nc->listen_dtls.ca_n > 0 &&
	    (tls = tls_ctx_new(nc, err, errlen)) == NULL)
		return (-1);
	if (*nc->auth_nonce_secret == '\0' &&
	    *old->auth_nonce_secret == '\0')
		memcpy(secret, td->td_nonce, sizeof(secret));
	else if (auth_nonce_secret(nc, secret) == -1) {
		snprintf(err, errlen, "cannot derive the nonce secret");
		goto fail;
	}
	if ((*authp = auth_new(nc, secret)) == NULL) {
		snprintf(err, errlen, "cannot derive the users' keys");
		goto fail;
	}
	memcpy(td->td_nonce, secret, sizeof(td->td_nonce));
	explicit_bzero(secret, sizeof(secret));
	*tlsp = tls;
	return (0);

fail:
	explicit_bzero(secret, sizeof(secret));
	SSL_CTX_free(tls);
	return (-1);
}

/*
 * What the workers take from a reload, and what they give up.  The old
 * ones are freed once every worker has taken the new (reload_done()):
 * the conf with the reference turnd held, so that it goes then unless a
 * module still holds one of its own (conf.h).
 */
struct reload_msg {
	const struct turnd_conf	*rm_conf, *rm_old_conf;
	struct auth		*rm_auth, *rm_old_auth;
	struct policy		*rm_policy, *rm_old_policy;
	SSL_CTX			*rm_tls, *rm_old_tls;
};

static void
reload_in_worker(struct worker *w, unsigned int i, void *arg)
{
	struct reload_msg	*rm = arg;

	(void)i;
	worker_set_conf(w, rm->rm_conf, rm->rm_auth, rm->rm_policy,
	    rm->rm_tls);
}

/*
 * The last worker let go (main thread): free what nobody uses any more,
 * on the thread that made it, and not in a worker's loop.
 */
static void
reload_done(void *arg)
{
	struct reload_msg	*rm = arg;

	auth_free(rm->rm_old_auth);
	policy_free(rm->rm_old_policy);
	SSL_CTX_free(rm->rm_old_tls);	/* connections hold refs */
	conf_unref(rm->rm_old_conf);
	free(rm);
}

/* nc and what was made for it take over: here, then in every worker. */
static void
reload_swap(struct turnd *td, struct turnd_conf *nc, struct auth *auth,
    SSL_CTX *tls)
{
	struct reload_msg	*rm;
	int			 level;

	rm = xcalloc(1, sizeof(*rm));
	rm->rm_conf = nc;
	rm->rm_old_conf = td->td_conf;
	rm->rm_auth = auth;
	rm->rm_old_auth = td->td_auth;
	rm->rm_policy = policy_new(nc);
	rm->rm_old_policy = td->td_policy;
	rm->rm_tls = tls;
	rm->rm_old_tls = tls != NULL ? td->td_tls : NULL;
	td->td_auth = auth;
	td->td_policy = rm->rm_policy;
	if (tls != NULL)
		td->td_tls = tls;
	td->td_conf = nc;
	admin_quota_limits(td);
	if (!td->td_debug && (level = log_level_parse(nc->log_level)) >= 0)
		log_set_level(level);
	worker_each(td->td_workers, td->td_nworkers, reload_in_worker, rm,
	    reload_done, td->td_base);
}

/* Refused: logged, and the answer; path NULL when nc did not load. */
static void
reload_refused(struct sbuf *out, int json, const char *path,
    const char *err)
{
	log_warnx("reload refused, the running configuration stays: %s%s%s",
	    path != NULL ? path : "", path != NULL ? ": " : "", err);
	if (json) {
		sbuf_printf(out, "{\"error\":");
		sbuf_json_str(out, err);
		sbuf_printf(out, "}\n");
	} else
		sbuf_printf(out, "refused, the running configuration stays: "
		    "%s%s%s\n", path != NULL ? path : "", path != NULL ?
		    ": " : "", err);
}

/*
 * Load the configuration file again and apply what can be applied
 * without a restart; the body of the answer to out.  0 done, -1 refused
 * (the running configuration stays).
 */
static int
admin_reload(struct turnd *td, int json, struct sbuf *out)
{
	struct turnd_conf	*nc, *old = td->td_conf;
	struct sbuf		 changed, kept;
	struct auth		*auth = NULL;
	SSL_CTX			*tls = NULL;
	char			 err[CONF_ERR_LEN + 256];

	if (old->path == NULL) {
		sbuf_printf(out, json ? "{\"error\":\"the demo configuration "
		    "is built in: nothing to reload\"}\n" : "the demo "
		    "configuration is built in: nothing to reload\n");
		return (-1);
	}
	if ((nc = conf_load(old->path, err, sizeof(err))) == NULL) {
		reload_refused(out, json, NULL, err);
		return (-1);
	}
	sbuf_init(&changed);
	sbuf_init(&kept);
	reload_diff(old, nc, json, &changed, &kept);
	if (reload_prepare(td, nc, &tls, &auth, err, sizeof(err)) == -1) {
		conf_free(nc);
		sbuf_free(&changed);
		sbuf_free(&kept);
		reload_refused(out, json, old->path, err);
		return (-1);
	}
	reload_swap(td, nc, auth, tls);

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
}

void
admin_reload_log(struct turnd *td)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	(void)admin_reload(td, 0, &sb);
	sbuf_free(&sb);
}

/* ---- drain ---- */

/* Draining: exit when the last allocation ends or the time is up. */
static void
drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct turnd	*td = arg;
	unsigned int	 n = admin_allocations(td);

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

/* Where new clients go: IPv4, IPv6 (family 0: none known). */
struct drain_msg {
	struct sockaddr_storage	dm_alt[2];
};

static void
drain_in_worker(struct worker *w, unsigned int i, void *arg)
{
	struct drain_msg	*dm = arg;

	(void)i;
	worker_drain(w,
	    dm->dm_alt[0].ss_family ? (struct sockaddr *)&dm->dm_alt[0] : NULL,
	    dm->dm_alt[1].ss_family ? (struct sockaddr *)&dm->dm_alt[1] : NULL);
}

static void
drain_done(void *arg)
{
	free(arg);
}

/* The store found (or not) where to send new clients: tell the workers. */
static void
drain_alt(void *arg, const struct sockaddr *alt4,
    const struct sockaddr *alt6)
{
	struct turnd		*td = arg;
	struct drain_msg	*dm;
	char			 b4[ADDR_STRLEN], b6[ADDR_STRLEN];

	if (td->td_stopping)
		return;
	dm = xcalloc(1, sizeof(*dm));
	if (alt4 != NULL)
		memcpy(&dm->dm_alt[0], alt4, addr_len(alt4));
	if (alt6 != NULL)
		memcpy(&dm->dm_alt[1], alt6, addr_len(alt6));
	if (alt4 != NULL || alt6 != NULL)
		log_info("drain: new allocations go to %s %s",
		    alt4 ? addr_fmt(alt4, b4, sizeof(b4)) : "",
		    alt6 ? addr_fmt(alt6, b6, sizeof(b6)) : "");
	else
		log_info("drain: no other instance known; new allocations "
		    "get 508");
	worker_each(td->td_workers, td->td_nworkers, drain_in_worker, dm,
	    drain_done, NULL);
}

/* Start draining (once), with a timeout in seconds (0: none). */
void
admin_drain(struct turnd *td, int timeout, int json, struct sbuf *sb)
{
	struct timeval	 tv = { 1, 0 };
	unsigned int	 n = admin_allocations(td);

	if (!td->td_draining) {
		td->td_draining = 1;
		td->td_drain_ev = event_new(td->td_base, -1, EV_PERSIST,
		    drain_tick, td);
		if (td->td_drain_ev == NULL ||
		    event_add(td->td_drain_ev, &tv) == -1)
			fatalx("%s: cannot start the drain timer", __func__);
		log_info("drain: %u allocation%s left%s", n, n == 1 ? "" : "s",
		    timeout > 0 ? "" : ", no timeout");
		store_main_drain(td->td_store, drain_alt, td);
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
}

/* ---- the hook ---- */

void
admin_request(void *arg, const struct control_req *req, struct sbuf *out,
    control_done_cb done, void *ctx)
{
	struct turnd	*td = arg;

	switch (req->cr_cmd) {
	case CONTROL_STATUS:
		admin_status(td, req->cr_json, out);
		done(ctx, 1);
		break;
	case CONTROL_RELOAD:
		done(ctx, admin_reload(td, req->cr_json, out) == 0);
		break;
	case CONTROL_DRAIN:
		admin_drain(td, req->cr_timeout, req->cr_json, out);
		done(ctx, 1);
		break;
	case CONTROL_SESSIONS:
	case CONTROL_SESSION:
	case CONTROL_KILL:
		admin_list(td, req, out, done, ctx);
		break;
	case CONTROL_UPGRADE:
		upgrade_start(td, req->cr_binary, req->cr_json, out, done,
		    ctx);
		break;
	}
}
