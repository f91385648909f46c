/*
 * store_mem.c -- the embedded store: the users and REST secrets of the
 * configuration (auth.users, auth.secrets), with every key derived once.
 * Read-only after it is built, so all workers share it without locks.
 * Only derived keys are kept, never the passwords.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "store/store.h"

struct store_mem {
	struct store_user	 *sm_users;	/* sorted by name */
	struct store_user	**sm_byhash;	/* the same, by USERHASH */
	unsigned int		  sm_nusers;
	char			**sm_secrets;
	unsigned int		  sm_nsecrets;
};

static int
cmp_name(const void *x, const void *y)
{
	const struct store_user	*a = x, *b = y;

	return (strcmp(a->su_name, b->su_name));
}

static int
cmp_hash(const void *x, const void *y)
{
	const struct store_user	*a = *(struct store_user *const *)x;
	const struct store_user	*b = *(struct store_user *const *)y;

	return (memcmp(a->su_hash, b->su_hash, sizeof(a->su_hash)));
}

struct store_mem *
store_mem_new(const struct turnd_conf *conf)
{
	const struct conf_user	*cu;
	struct store_mem	*sm;
	struct store_user	*u;
	unsigned int		 i;

	sm = xcalloc(1, sizeof(*sm));
	sm->sm_nusers = conf->auth_users.cu_n;
	if (sm->sm_nusers > 0) {
		sm->sm_users = xcalloc(sm->sm_nusers, sizeof(*sm->sm_users));
		sm->sm_byhash = xcalloc(sm->sm_nusers,
		    sizeof(*sm->sm_byhash));
	}
	for (i = 0; i < sm->sm_nusers; i++) {
		cu = &conf->auth_users.cu[i];
		u = &sm->sm_users[i];
		u->su_name = xstrdup(cu->cu_user);
		stun_key_md5(cu->cu_user, conf->realm, cu->cu_password,
		    u->su_md5);
		stun_key_sha256(cu->cu_user, conf->realm, cu->cu_password,
		    u->su_sha256);
		stun_userhash(cu->cu_user, conf->realm, u->su_hash);
		if (stun_key_failed(u->su_md5, sizeof(u->su_md5)) ||
		    stun_key_failed(u->su_sha256, sizeof(u->su_sha256)) ||
		    stun_key_failed(u->su_hash, sizeof(u->su_hash))) {
			log_warnx("%s: cannot derive the keys of a user",
			    __func__);
			store_mem_free(sm);
			return (NULL);
		}
	}
	if (sm->sm_nusers > 0) {
		qsort(sm->sm_users, sm->sm_nusers, sizeof(*sm->sm_users),
		    cmp_name);
		for (i = 0; i < sm->sm_nusers; i++)
			sm->sm_byhash[i] = &sm->sm_users[i];
		qsort(sm->sm_byhash, sm->sm_nusers, sizeof(*sm->sm_byhash),
		    cmp_hash);
	}
	sm->sm_nsecrets = conf->auth_secrets.cs_n;
	if (sm->sm_nsecrets > 0)
		sm->sm_secrets = xcalloc(sm->sm_nsecrets,
		    sizeof(*sm->sm_secrets));
	for (i = 0; i < sm->sm_nsecrets; i++)
		sm->sm_secrets[i] = xstrdup(conf->auth_secrets.cs_str[i]);
	return (sm);
}

void
store_mem_free(struct store_mem *sm)
{
	unsigned int	i;

	if (sm == NULL)
		return;
	for (i = 0; i < sm->sm_nusers; i++)
		free(sm->sm_users[i].su_name);
	if (sm->sm_users != NULL)
		OPENSSL_cleanse(sm->sm_users,
		    sm->sm_nusers * sizeof(*sm->sm_users));
	free(sm->sm_users);
	free(sm->sm_byhash);
	for (i = 0; i < sm->sm_nsecrets; i++) {
		OPENSSL_cleanse(sm->sm_secrets[i], strlen(sm->sm_secrets[i]));
		free(sm->sm_secrets[i]);
	}
	free(sm->sm_secrets);
	free(sm);
}

const struct store_user *
store_mem_user(const struct store_mem *sm, const char *name)
{
	struct store_user	key;

	if (sm->sm_nusers == 0)
		return (NULL);
	key.su_name = (char *)(uintptr_t)name;
	return (bsearch(&key, sm->sm_users, sm->sm_nusers,
	    sizeof(*sm->sm_users), cmp_name));
}

const struct store_user *
store_mem_userhash(const struct store_mem *sm, const uint8_t hash[32])
{
	struct store_user		 key, *kp = &key;
	struct store_user *const	*found;

	if (sm->sm_nusers == 0)
		return (NULL);
	memcpy(key.su_hash, hash, sizeof(key.su_hash));
	found = bsearch(&kp, sm->sm_byhash, sm->sm_nusers,
	    sizeof(*sm->sm_byhash), cmp_hash);
	return (found != NULL ? *found : NULL);
}

const char *const *
store_mem_secrets(const struct store_mem *sm, unsigned int *n)
{
	*n = sm->sm_nsecrets;
	return ((const char *const *)sm->sm_secrets);
}

/* ---- realm options and peer rules ---- */

struct store_realm *
store_realm_new(void)
{
	struct store_realm	*sr = xcalloc(1, sizeof(*sr));

	atomic_init(&sr->sr_refs, 1);
	sr->sr_user_quota = -1;
	sr->sr_total_quota = -1;
	sr->sr_max_bps = -1;
	return (sr);
}

void
store_realm_ref(struct store_realm *sr)
{
	atomic_fetch_add_explicit(&sr->sr_refs, 1, memory_order_relaxed);
}

void
store_realm_unref(struct store_realm *sr)
{
	if (sr == NULL || atomic_fetch_sub_explicit(&sr->sr_refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	free(sr->sr_allow);
	free(sr->sr_deny);
	free(sr);
}

static int
ranges_match(const struct iprange *r, unsigned int n,
    const struct sockaddr *sa)
{
	unsigned int	i;

	for (i = 0; i < n; i++)
		if (iprange_match(&r[i], sa))
			return (1);
	return (0);
}

int
store_realm_allows(const struct store_realm *sr, const struct sockaddr *sa)
{
	return (sr != NULL && ranges_match(sr->sr_allow, sr->sr_nallow, sa));
}

int
store_realm_denies(const struct store_realm *sr, const struct sockaddr *sa)
{
	return (sr != NULL && ranges_match(sr->sr_deny, sr->sr_ndeny, sa));
}
