/*
 * ctl_realm.c -- turnctl peer and realm: the peer rules and options of a
 * realm in the Redis store (turnd-redis(7)), each change followed by
 * PUBLISH turnd/realm/<realm>/changed so that every turnd of the realm
 * reads them again at once.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/addr.h"
#include "common/sbuf.h"
#include "conf/conf.h"
#include "store/keys.h"
#include "turnctl/ctl_store.h"
#include "turnctl/turnctl.h"

/*
 * The realm options, named after their keys, and the keys of turnd.conf
 * they override.
 */
static const struct ctl_cmd realm_opts[] = {
	{ KEYS_USER_QUOTA,	"relay.user_quota",	NULL },
	{ KEYS_TOTAL_QUOTA,	"relay.total_quota",	NULL },
	{ KEYS_MAX_BPS,		"relay.max_bps",	NULL },
	{ NULL,			NULL,			NULL }
};
/* their ranges in turnd.conf (conf_table.c) */
static const long long realm_opt_max[] = { 1000000, 10000000, INT_MAX };

#define PEERS		.cs_what = "peer rules", \
			.cs_keys = "relay.allow_peers and relay.deny_peers"

/* peer allow and peer deny: SADD to one set, then PUBLISH. */
static int
peer_add(struct ctl *ctl, int argc, char *argv[], int allow)
{
	struct ctl_store	 cs = { PEERS };
	struct iprange		 ir;
	struct sbuf		 js;
	const char		*why, *addr;
	char			*key, *other;
	long long		 n, m = 0;
	int			 rc;

	cs.cs_usage = allow ? "peer allow ADDR [--realm R]" :
	    "peer deny ADDR [--realm R]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 1, 1)) != CTL_OK)
		return (rc);
	addr = cs.cs_argv[0];
	if (iprange_parse(addr, &ir, &why) == -1) {
		fprintf(stderr, "turnctl: bad peer address \"%s\": %s (an "
		    "address, a prefix such as 10.0.0.0/8, or a range "
		    "a-b)\n", addr, why);
		return (CTL_USAGE);
	}
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	key = ctl_store_key(&cs, allow ? KEYS_ALLOWED_PEER_IP :
	    KEYS_DENIED_PEER_IP);
	other = ctl_store_key(&cs, allow ? KEYS_DENIED_PEER_IP :
	    KEYS_ALLOWED_PEER_IP);
	rc = CTL_FAIL;
	if ((n = ctl_store_int(&cs, "SADD", key, addr)) >= 0 &&
	    (m = ctl_store_int(&cs, "SISMEMBER", other, addr)) >= 0 &&
	    ctl_store_publish(&cs) == CTL_OK) {
		rc = CTL_OK;
		sbuf_init(&js);
		sbuf_printf(&js, "{\"ok\":true,\"%s\":", allow ? "allowed" :
		    "denied");
		sbuf_json_str(&js, addr);
		sbuf_printf(&js, "}");
		ctl_store_ok(ctl, sbuf_str(&js), "%s %s %s in realm %s\n",
		    addr, n == 0 ? "was already" : "is now", allow ?
		    "allowed" : "denied", cs.cs_realm);
		sbuf_free(&js);
		if (m == 1)
			fprintf(stderr, "turnctl: note: %s is also %s; an "
			    "allowed address wins (turnctl peer del removes "
			    "both)\n", addr, allow ? "denied" : "allowed");
	}
	free(key);
	free(other);
	ctl_store_close(&cs);
	return (rc);
}

static int
peer_allow(struct ctl *ctl, int argc, char *argv[])
{
	return (peer_add(ctl, argc, argv, 1));
}

static int
peer_deny(struct ctl *ctl, int argc, char *argv[])
{
	return (peer_add(ctl, argc, argv, 0));
}

static int
peer_del(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_store	 cs = { PEERS };
	struct sbuf		 js;
	char			*ka, *kd;
	long long		 a, d = -1;
	int			 rc;

	cs.cs_usage = "peer del ADDR [--realm R]";
	/* not validated: what redis-cli put there must be removable */
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 1, 1)) != CTL_OK)
		return (rc);
	if (!ctl_name_ok("peer address", cs.cs_argv[0], 128))
		return (CTL_USAGE);
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	ka = ctl_store_key(&cs, KEYS_ALLOWED_PEER_IP);
	kd = ctl_store_key(&cs, KEYS_DENIED_PEER_IP);
	rc = CTL_FAIL;
	if ((a = ctl_store_int(&cs, "SREM", ka, cs.cs_argv[0])) >= 0 &&
	    (d = ctl_store_int(&cs, "SREM", kd, cs.cs_argv[0])) >= 0) {
		if (a + d == 0)
			fprintf(stderr, "turnctl: %s is neither allowed nor "
			    "denied in realm %s\n", cs.cs_argv[0],
			    cs.cs_realm);
		else if (ctl_store_publish(&cs) == CTL_OK) {
			rc = CTL_OK;
			sbuf_init(&js);
			sbuf_printf(&js, "{\"ok\":true,\"deleted\":");
			sbuf_json_str(&js, cs.cs_argv[0]);
			sbuf_printf(&js, "}");
			ctl_store_ok(ctl, sbuf_str(&js), "%s is no longer %s "
			    "in realm %s\n", cs.cs_argv[0], a > 0 && d > 0 ?
			    "allowed or denied" : a > 0 ? "allowed" :
			    "denied", cs.cs_realm);
			sbuf_free(&js);
		}
	}
	free(ka);
	free(kd);
	ctl_store_close(&cs);
	return (rc);
}

static int
peer_list(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_store	 cs = { PEERS };
	struct ctl_slist	 al = { NULL, 0 }, dl = { NULL, 0 };
	struct iprange		 ir;
	struct sbuf		 sb;
	const char		*why;
	char			*ka, *kd;
	size_t			 i;
	int			 rc;

	cs.cs_usage = "peer list [--realm R]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 0, 0)) != CTL_OK)
		return (rc);
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	ka = ctl_store_key(&cs, KEYS_ALLOWED_PEER_IP);
	kd = ctl_store_key(&cs, KEYS_DENIED_PEER_IP);
	if ((rc = ctl_store_members(&cs, ka, &al)) == CTL_OK &&
	    (rc = ctl_store_members(&cs, kd, &dl)) == CTL_OK) {
		sbuf_init(&sb);
		if (ctl->c_json) {
			sbuf_printf(&sb, "{");
			ctl_slist_json(&sb, "allowed", &al);
			sbuf_printf(&sb, ",");
			ctl_slist_json(&sb, "denied", &dl);
			sbuf_printf(&sb, "}\n");
		}
		for (i = 0; !ctl->c_json && i < al.sl_n + dl.sl_n; i++) {
			sbuf_printf(&sb, "%-5s %s", i < al.sl_n ? "allow" :
			    "deny", i < al.sl_n ? al.sl_v[i] :
			    dl.sl_v[i - al.sl_n]);
			if (iprange_parse(i < al.sl_n ? al.sl_v[i] :
			    dl.sl_v[i - al.sl_n], &ir, &why) == -1)
				sbuf_printf(&sb, " (ignored by turnd: %s)",
				    why);
			sbuf_printf(&sb, "\n");
		}
		fputs(sbuf_str(&sb), stdout);
		sbuf_free(&sb);
	}
	ctl_slist_free(&al);
	ctl_slist_free(&dl);
	free(ka);
	free(kd);
	ctl_store_close(&cs);
	return (rc);
}

static const struct ctl_cmd peer_cmds[] = {
	{ "allow",	"ADDR [--realm R]",	peer_allow },
	{ "deny",	"ADDR [--realm R]",	peer_deny },
	{ "del",	"ADDR [--realm R]",	peer_del },
	{ "list",	"[--realm R]",		peer_list },
	{ NULL,		NULL,			NULL }
};

int
ctl_peer(struct ctl *ctl, int argc, char *argv[])
{
	return (ctl_store_dispatch(ctl, peer_cmds, "peer", argc, argv));
}

/* -------------------------------------------------------------- realm */

#define REALM_OPTS	.cs_what = "realm options", .cs_keys = \
			"relay.user_quota, relay.total_quota and relay.max_bps"

/* The option named by word (any unique prefix): its index, or -1. */
static int
realm_opt(const char *word)
{
	const struct ctl_cmd	*c;

	if ((c = ctl_lookup(realm_opts, word, "realm option")) == NULL) {
		fprintf(stderr, "usage: turnctl realm get|set|unset OPTION "
		    "...; OPTION: " KEYS_USER_QUOTA ", " KEYS_TOTAL_QUOTA
		    " or " KEYS_MAX_BPS "\n");
		return (-1);
	}
	return ((int)(c - realm_opts));
}

/* The configuration's value of option i. */
static long long
realm_conf(const struct turnd_conf *conf, int i)
{
	return (i == 0 ? conf->relay_user_quota : i == 1 ?
	    conf->relay_total_quota : conf->relay_max_bps);
}

static int
realm_set(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_store	 cs = { REALM_OPTS };
	redisReply		*r;
	char			*key, *end, js[128];
	long long		 v;
	int			 rc, i;

	cs.cs_usage = "realm set OPTION VALUE [--realm R]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 2, 2)) != CTL_OK)
		return (rc);
	if ((i = realm_opt(cs.cs_argv[0])) == -1)
		return (CTL_USAGE);
	errno = 0;
	v = strtoll(cs.cs_argv[1], &end, 10);
	if (strspn(cs.cs_argv[1], "0123456789") != strlen(cs.cs_argv[1]) ||
	    *end != '\0' || *cs.cs_argv[1] == '\0' || errno != 0 ||
	    v > realm_opt_max[i]) {
		fprintf(stderr, "turnctl: %s: \"%s\" is not an integer from 0 "
		    "to %lld (the range of %s)\n", realm_opts[i].cc_name,
		    cs.cs_argv[1], realm_opt_max[i], realm_opts[i].cc_usage);
		return (CTL_USAGE);
	}
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	key = ctl_store_key(&cs, realm_opts[i].cc_name);
	snprintf(js, sizeof(js), "%lld", v);
	r = ctl_store_cmd(&cs, -1, "SET", key, js, NULL);
	free(key);
	rc = CTL_FAIL;
	if (r != NULL && ctl_store_publish(&cs) == CTL_OK) {
		snprintf(js, sizeof(js), "{\"ok\":true,\"option\":\"%s\","
		    "\"value\":%lld}", realm_opts[i].cc_name, v);
		ctl_store_ok(ctl, js, "%s = %lld in realm %s%s\n",
		    realm_opts[i].cc_name, v, cs.cs_realm, v == 0 ?
		    " (0: no limit)" : "");
		rc = CTL_OK;
	}
	if (r != NULL)
		freeReplyObject(r);
	ctl_store_close(&cs);
	return (rc);
}

/*
 * Option i into sb: a JSON object, or a line of text ("name: value", or
 * the value alone when bare).
 */
static int
realm_show(struct ctl_store *cs, int i, int bare, struct sbuf *sb)
{
	const struct turnd_conf	*conf = cs->cs_ctl->c_conf;
	redisReply		*r;
	char			*key, *end;
	long long		 v;

	key = ctl_store_key(cs, realm_opts[i].cc_name);
	r = ctl_store_cmd(cs, -1, "GET", key, NULL);
	free(key);
	if (r == NULL)
		return (CTL_FAIL);
	if (cs->cs_ctl->c_json)
		sbuf_printf(sb, "{\"option\":\"%s\",\"value\":",
		    realm_opts[i].cc_name);
	if (r->type == REDIS_REPLY_STRING) {
		errno = 0;
		v = strtoll(r->str, &end, 10);
		if (*r->str == '\0' || *end != '\0' || errno != 0 || v < 0) {
			fprintf(stderr, "turnctl: %s is \"%s\", not a "
			    "non-negative integer: turnd ignores it\n",
			    realm_opts[i].cc_name, r->str);
			if (cs->cs_ctl->c_json) {
				sbuf_json_str(sb, r->str);
				sbuf_printf(sb, ",\"config\":%lld}",
				    realm_conf(conf, i));
			} else
				sbuf_printf(sb, "%s: \"%s\" (ignored; %s = "
				    "%lld in force)\n", realm_opts[i].cc_name,
				    r->str, realm_opts[i].cc_usage,
				    realm_conf(conf, i));
		} else if (cs->cs_ctl->c_json)
			sbuf_printf(sb, "%lld}", v);
		else
			sbuf_printf(sb, "%s%s%lld\n", bare ? "" :
			    realm_opts[i].cc_name, bare ? "" : ": ", v);
	} else if (cs->cs_ctl->c_json)
		sbuf_printf(sb, "null,\"config\":%lld}", realm_conf(conf, i));
	else
		sbuf_printf(sb, "%s: not set (%s = %lld from %s in force)\n",
		    realm_opts[i].cc_name, realm_opts[i].cc_usage,
		    realm_conf(conf, i), cs->cs_ctl->c_conf_path);
	freeReplyObject(r);
	return (CTL_OK);
}

static int
realm_get(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_store	 cs = { REALM_OPTS };
	struct sbuf		 sb;
	int			 rc, i = -1, n;

	cs.cs_usage = "realm get [OPTION] [--realm R]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 0, 1)) != CTL_OK)
		return (rc);
	if (cs.cs_argc == 1 && (i = realm_opt(cs.cs_argv[0])) == -1)
		return (CTL_USAGE);
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	sbuf_init(&sb);
	if (i >= 0)
		rc = realm_show(&cs, i, 1, &sb);
	else {
		/* all of them: {"options":[...]} */
		if (ctl->c_json)
			sbuf_printf(&sb, "{\"options\":[");
		for (n = 0; rc == CTL_OK && realm_opts[n].cc_name != NULL;
		    n++) {
			if (ctl->c_json && n > 0)
				sbuf_printf(&sb, ",");
			rc = realm_show(&cs, n, 0, &sb);
		}
		if (ctl->c_json)
			sbuf_printf(&sb, "]}");
	}
	if (rc == CTL_OK)
		printf("%s%s", sbuf_str(&sb), ctl->c_json ? "\n" : "");
	sbuf_free(&sb);
	ctl_store_close(&cs);
	return (rc);
}

static int
realm_unset(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_store	 cs = { REALM_OPTS };
	char			*key, js[128];
	long long		 n, cv;
	int			 rc, i;

	cs.cs_usage = "realm unset OPTION [--realm R]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 1, 1)) != CTL_OK)
		return (rc);
	if ((i = realm_opt(cs.cs_argv[0])) == -1)
		return (CTL_USAGE);
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	key = ctl_store_key(&cs, realm_opts[i].cc_name);
	n = ctl_store_int(&cs, "DEL", key, NULL);
	free(key);
	rc = CTL_FAIL;
	cv = realm_conf(ctl->c_conf, i);
	if (n >= 0 && ctl_store_publish(&cs) == CTL_OK) {
		snprintf(js, sizeof(js), "{\"ok\":true,\"option\":\"%s\","
		    "\"value\":null,\"config\":%lld}", realm_opts[i].cc_name,
		    cv);
		ctl_store_ok(ctl, js, "%s %s in realm %s; %s = %lld from %s "
		    "applies\n", realm_opts[i].cc_name, n == 0 ?
		    "was not set" : "unset", cs.cs_realm,
		    realm_opts[i].cc_usage, cv, ctl->c_conf_path);
		rc = CTL_OK;
	}
	ctl_store_close(&cs);
	return (rc);
}

static const struct ctl_cmd realm_cmds[] = {
	{ "get",	"[OPTION] [--realm R]",		realm_get },
	{ "set",	"OPTION VALUE [--realm R]",	realm_set },
	{ "unset",	"OPTION [--realm R]",		realm_unset },
	{ NULL,		NULL,				NULL }
};

int
ctl_realm(struct ctl *ctl, int argc, char *argv[])
{
	return (ctl_store_dispatch(ctl, realm_cmds, "realm", argc, argv));
}

