/*
 * ctl_user.c -- turnctl user add|passwd|del|list: long-term users in the
 * Redis store, turn/realm/<realm>/user/<user>/key holding the lower-case
 * hex MD5 (or SHA-256) of "user:realm:password", as coturn's turnadmin
 * -a writes it (turnd-redis(7)).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/sbuf.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "store/keys.h"
#include "stun/stun.h"
#include "turnctl/ctl_store.h"
#include "turnctl/turnctl.h"

#define USERS		.cs_what = "users", .cs_keys = "auth.users"

/* The lower-case hex digest of "user:realm:password", as turnadmin -a. */
static int
user_digest(const char *user, const char *realm, const char *pw,
    int sha256, char hex[2 * EVP_MAX_MD_SIZE + 1])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 len = 0, i;
	char		*s;
	int		 rc;

	s = xasprintf("%s:%s:%s", user, realm, pw);
	rc = EVP_Digest(s, strlen(s), md, &len, sha256 ? EVP_sha256() :
	    EVP_md5(), NULL);
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	if (rc != 1) {
		fprintf(stderr, "turnctl: OpenSSL cannot compute the key\n");
		return (-1);
	}
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	OPENSSL_cleanse(md, sizeof(md));
	return (0);
}

/* user add and user passwd: SET the key (passwd: only if it exists). */
static int
user_set(struct ctl *ctl, int argc, char *argv[], int passwd)
{
	struct ctl_store	 cs = { USERS };
	const struct turnd_conf	*conf = ctl->c_conf;
	struct sbuf		 js;
	redisReply		*r = NULL;
	char			 hex[2 * EVP_MAX_MD_SIZE + 1], prompt[600];
	char			 key[KEYS_LEN], *pw = NULL;
	const char		*user;
	unsigned int		 i;
	int			 rc;

	cs.cs_usage = passwd ? "user passwd U [--realm R] [--sha256]" :
	    "user add U [--realm R] [--sha256]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, CTL_OPT_SHA256, 1,
	    1)) != CTL_OK)
		return (rc);
	user = cs.cs_argv[0];
	if (!ctl_name_ok("user name", user, STUN_USERNAME_MAX))
		return (CTL_USAGE);
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	rc = CTL_FAIL;
	keys_user(key, sizeof(key), cs.cs_realm, user);
	if (passwd) {
		switch (ctl_store_int(&cs, "EXISTS", key, NULL)) {
		case -1:
			goto out;
		case 0:
			fprintf(stderr, "turnctl: no user %s in realm %s\n",
			    user, cs.cs_realm);
			goto out;
		}
	}
	snprintf(prompt, sizeof(prompt), "Password for %s in %s: ", user,
	    cs.cs_realm);
	if ((pw = ctl_read_secret("password", prompt, 1)) == NULL ||
	    user_digest(user, cs.cs_realm, pw, cs.cs_sha256, hex) == -1)
		goto out;
	if ((r = ctl_store_cmd(&cs, -1, "SET", key, hex, passwd ? "XX" : NULL,
	    NULL)) == NULL)
		goto out;
	if (r->type == REDIS_REPLY_NIL) {
		fprintf(stderr, "turnctl: no user %s in realm %s\n", user,
		    cs.cs_realm);
		goto out;
	}
	rc = CTL_OK;
	sbuf_init(&js);
	sbuf_printf(&js, "{\"ok\":true,\"user\":");
	sbuf_json_str(&js, user);
	sbuf_printf(&js, "}");
	if (passwd)
		ctl_store_ok(ctl, sbuf_str(&js), "password of %s changed in "
		    "realm %s (turnd uses it within store.cache_ttl, %d s)\n",
		    user, cs.cs_realm, conf->store_cache_ttl);
	else
		ctl_store_ok(ctl, sbuf_str(&js), "user %s added to realm %s "
		    "(%s key)\n", user, cs.cs_realm, cs.cs_sha256 ?
		    "SHA-256" : "MD5");
	sbuf_free(&js);
	for (i = 0; i < conf->auth_users.cu_n; i++)
		if (strcmp(conf->auth_users.cu[i].cu_user, user) == 0 &&
		    strcmp(conf->realm, cs.cs_realm) == 0)
			fprintf(stderr, "turnctl: note: %s is also in "
			    "auth.users of %s, which turnd tries first\n",
			    user, ctl->c_conf_path);
out:
	if (pw != NULL) {
		OPENSSL_cleanse(pw, strlen(pw));
		free(pw);
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	if (r != NULL)
		freeReplyObject(r);
	ctl_store_close(&cs);
	return (rc);
}

static int
user_add(struct ctl *ctl, int argc, char *argv[])
{
	return (user_set(ctl, argc, argv, 0));
}

static int
user_passwd(struct ctl *ctl, int argc, char *argv[])
{
	return (user_set(ctl, argc, argv, 1));
}

static int
user_del(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_store	 cs = { USERS };
	struct sbuf		 js;
	char			 key[KEYS_LEN];
	long long		 n;
	int			 rc;

	cs.cs_usage = "user del U [--realm R]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 1, 1)) != CTL_OK)
		return (rc);
	if (!ctl_name_ok("user name", cs.cs_argv[0], STUN_USERNAME_MAX))
		return (CTL_USAGE);
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	keys_user(key, sizeof(key), cs.cs_realm, cs.cs_argv[0]);
	n = ctl_store_int(&cs, "DEL", key, NULL);
	rc = CTL_FAIL;
	if (n == 0)
		fprintf(stderr, "turnctl: no user %s in realm %s\n",
		    cs.cs_argv[0], cs.cs_realm);
	else if (n > 0) {
		sbuf_init(&js);
		sbuf_printf(&js, "{\"ok\":true,\"user\":");
		sbuf_json_str(&js, cs.cs_argv[0]);
		sbuf_printf(&js, "}");
		ctl_store_ok(ctl, sbuf_str(&js), "user %s deleted from realm "
		    "%s (logins stop within store.cache_ttl, %d s)\n",
		    cs.cs_argv[0], cs.cs_realm, ctl->c_conf->store_cache_ttl);
		sbuf_free(&js);
		rc = CTL_OK;
	}
	ctl_store_close(&cs);
	return (rc);
}

static int
user_list(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_store	 cs = { USERS };
	struct ctl_slist	 sl = { NULL, 0 };
	struct sbuf		 sb;
	redisReply		*r, *k;
	const char		*name;
	char			 pat[KEYS_LEN], cursor[32] = "0";
	size_t			 i, n;
	int			 rc;

	cs.cs_usage = "user list [--realm R]";
	if ((rc = ctl_store_args(ctl, &cs, argc, argv, 0, 0, 0)) != CTL_OK)
		return (rc);
	if ((rc = ctl_store_open(&cs)) != CTL_OK)
		return (rc);
	keys_user_pattern(pat, sizeof(pat), cs.cs_realm);
	do {
		if ((r = ctl_store_cmd(&cs, REDIS_REPLY_ARRAY, "SCAN", cursor,
		    "MATCH", pat, "COUNT", "100", NULL)) == NULL) {
			rc = CTL_FAIL;
			break;
		}
		if (r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			fprintf(stderr, "turnctl: Redis at %s: unexpected "
			    "answer to SCAN\n", cs.cs_addr);
			freeReplyObject(r);
			rc = CTL_FAIL;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements; i++) {
			k = r->element[1]->element[i];
			if (k->type == REDIS_REPLY_STRING && (name =
			    keys_user_of(k->str, k->len, cs.cs_realm,
			    &n)) != NULL)
				ctl_slist_add(&sl, name, n);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	if (rc == CTL_OK) {
		ctl_slist_sort(&sl);
		sbuf_init(&sb);
		if (ctl->c_json) {
			sbuf_printf(&sb, "{");
			ctl_slist_json(&sb, "users", &sl);
			sbuf_printf(&sb, "}\n");
		} else
			for (i = 0; i < sl.sl_n; i++)
				sbuf_printf(&sb, "%s\n", sl.sl_v[i]);
		fputs(sbuf_str(&sb), stdout);
		sbuf_free(&sb);
	}
	ctl_slist_free(&sl);
	ctl_store_close(&cs);
	return (rc);
}

static const struct ctl_cmd user_cmds[] = {
	{ "add",	"U [--realm R] [--sha256]",	user_add },
	{ "del",	"U [--realm R]",		user_del },
	{ "list",	"[--realm R]",			user_list },
	{ "passwd",	"U [--realm R] [--sha256]",	user_passwd },
	{ NULL,		NULL,				NULL }
};

int
ctl_user(struct ctl *ctl, int argc, char *argv[])
{
	return (ctl_store_dispatch(ctl, user_cmds, "user", argc, argv));
}

