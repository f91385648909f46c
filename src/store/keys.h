/*
 * keys.h -- the Redis key schema of turnd and turnctl: every key name,
 * key prefix, SCAN pattern and channel either of them uses, written
 * once (man/turnd-redis.7 describes each).
 *
 * Names marked "coturn" are those of coturn's Redis user and statistics
 * databases, byte for byte, so that a database filled by turnadmin(1)
 * works as is and coturn's event consumers keep working; the others,
 * under turnd/, are turnd's own.
 *
 * Each keys_*() function writes one name into buf, NUL-terminated, and
 * returns buf (as addr_fmt() does).  A name longer than len - 1 bytes is
 * cut; a buffer of KEYS_LEN bytes holds every name for a realm of up to
 * the 127 bytes turnd.conf and turnctl allow and a user name or quota id
 * of up to STUN_USERNAME_MAX bytes, except the keyspace channel of a
 * key, which takes KEYS_KEYSPACE_LEN (tests/unit/test_keys.c checks both
 * the names and those bounds).
 */

#ifndef STORE_KEYS_H
#define STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define KEYS_LEN		1024
#define KEYS_KEYSPACE_LEN	(KEYS_LEN + 32)	/* keys_keyspace() */

/* Allocation ids in keys and fields: 20 decimal digits, zero-padded. */
#define KEYS_ID_FMT		"%020llu"

/* ---- what turnd reads and turnctl writes (coturn) ---- */

/* coturn: turn/realm/<realm>/<name>, the realm's sets and options */
#define KEYS_REALM_PREFIX	"turn/realm/"
#define KEYS_SECRET		"secret"		/* set: REST secrets */
#define KEYS_ALLOWED_PEER_IP	"allowed-peer-ip"	/* set of peer rules */
#define KEYS_DENIED_PEER_IP	"denied-peer-ip"	/* set of peer rules */
#define KEYS_USER_QUOTA		"user-quota"		/* string: integer */
#define KEYS_TOTAL_QUOTA	"total-quota"		/* string: integer */
#define KEYS_MAX_BPS		"max-bps"		/* string: integer */

/* coturn: turn/realm/<realm>/user/<user>/key, a user's long-term key */
#define KEYS_USER_INFIX		"/user/"
#define KEYS_USER_SUFFIX	"/key"

/* The realm key name (KEYS_SECRET ... KEYS_MAX_BPS) of realm. */
static inline char *
keys_realm(char *buf, size_t len, const char *realm, const char *name)
{
	snprintf(buf, len, KEYS_REALM_PREFIX "%s/%s", realm, name);
	return (buf);
}

/* coturn: the key of user in realm, turn/realm/<realm>/user/<user>/key. */
static inline char *
keys_user(char *buf, size_t len, const char *realm, const char *user)
{
	snprintf(buf, len, KEYS_REALM_PREFIX "%s" KEYS_USER_INFIX "%s"
	    KEYS_USER_SUFFIX, realm, user);
	return (buf);
}

/*
 * The SCAN MATCH pattern of every user key of realm: keys_user() with a
 * glob "*" for the user, and the glob characters of realm (* ? [ ] \)
 * escaped by a backslash.
 */
static inline char *
keys_user_pattern(char *buf, size_t len, const char *realm)
{
	size_t	n;

	if (len == 0)
		return (buf);
	snprintf(buf, len, "%s", KEYS_REALM_PREFIX);
	n = strlen(buf);
	for (; *realm != '\0' && n + 1 < len; realm++) {
		if (strchr("*?[]\\", *realm) != NULL) {
			buf[n++] = '\\';
			if (n + 1 == len)
				break;
		}
		buf[n++] = *realm;
	}
	snprintf(buf + n, len - n, "%s", KEYS_USER_INFIX "*" KEYS_USER_SUFFIX);
	return (buf);
}

/*
 * The user named by key (keylen bytes, as SCAN returns it) if it is a
 * user key of realm: a pointer into key, not NUL-terminated, with its
 * length in *n; NULL if key is not one.
 */
static inline const char *
keys_user_of(const char *key, size_t keylen, const char *realm, size_t *n)
{
	char	pfx[KEYS_LEN];
	size_t	plen, slen = sizeof(KEYS_USER_SUFFIX) - 1;

	snprintf(pfx, sizeof(pfx), KEYS_REALM_PREFIX "%s" KEYS_USER_INFIX,
	    realm);
	plen = strlen(pfx);
	if (keylen <= plen + slen || strncmp(key, pfx, plen) != 0 ||
	    memcmp(key + keylen - slen, KEYS_USER_SUFFIX, slen) != 0)
		return (NULL);
	*n = keylen - plen - slen;
	return (key + plen);
}

/* ---- what turnd writes ---- */

/* An allocation id as it appears in keys and in the allocation hash. */
static inline char *
keys_id(char *buf, size_t len, uint64_t id)
{
	snprintf(buf, len, KEYS_ID_FMT, (unsigned long long)id);
	return (buf);
}

/* turnd/alloc/<id>: hash, the allocation. */
#define KEYS_ALLOC_PREFIX	"turnd/alloc/"

static inline char *
keys_alloc(char *buf, size_t len, uint64_t id)
{
	snprintf(buf, len, KEYS_ALLOC_PREFIX KEYS_ID_FMT,
	    (unsigned long long)id);
	return (buf);
}

/* turnd/alloc/<id>/perms: hash, peer IP to permission expiry. */
static inline char *
keys_alloc_perms(char *buf, size_t len, uint64_t id)
{
	snprintf(buf, len, KEYS_ALLOC_PREFIX KEYS_ID_FMT "/perms",
	    (unsigned long long)id);
	return (buf);
}

/* turnd/alloc/<id>/chans: hash, channel number to "peer expiry". */
static inline char *
keys_alloc_chans(char *buf, size_t len, uint64_t id)
{
	snprintf(buf, len, KEYS_ALLOC_PREFIX KEYS_ID_FMT "/chans",
	    (unsigned long long)id);
	return (buf);
}

/*
 * coturn: turn/realm/<realm>/user/<user>/allocation/<id>/status, the
 * status key of an allocation and the channel of its "new",
 * "refreshed" and "deleted" events.
 */
static inline char *
keys_alloc_status(char *buf, size_t len, const char *realm,
    const char *user, uint64_t id)
{
	snprintf(buf, len, KEYS_REALM_PREFIX "%s" KEYS_USER_INFIX "%s"
	    "/allocation/" KEYS_ID_FMT "/status", realm, user,
	    (unsigned long long)id);
	return (buf);
}

/*
 * coturn: the channels of an allocation's traffic events, beside its
 * status key: .../allocation/<id>/traffic (client side) and
 * .../traffic/peer (peer side); with total, .../total_traffic and
 * .../total_traffic/peer, published once at the end.
 */
static inline char *
keys_alloc_traffic(char *buf, size_t len, const char *realm,
    const char *user, uint64_t id, int total, int peer)
{
	snprintf(buf, len, KEYS_REALM_PREFIX "%s" KEYS_USER_INFIX "%s"
	    "/allocation/" KEYS_ID_FMT "/%s%s", realm, user,
	    (unsigned long long)id, total ? "total_traffic" : "traffic",
	    peer ? "/peer" : "");
	return (buf);
}

/* turnd/instance/<iid>: hash, the registry entry of one instance. */
#define KEYS_INSTANCE_PREFIX	"turnd/instance/"
/* turnd/instances: sorted set of instance ids, scored by expiry. */
#define KEYS_INSTANCES		"turnd/instances"

static inline char *
keys_instance(char *buf, size_t len, const char *iid)
{
	snprintf(buf, len, KEYS_INSTANCE_PREFIX "%s", iid);
	return (buf);
}

/*
 * turnd/quota/<realm>/<quota-id>: sorted set of a user's allocations
 * over every instance, each member <iid>/<id> (keys_quota_member()); the
 * quota script of store_redis.c reads the iid back up to the '/'.
 */
static inline char *
keys_quota(char *buf, size_t len, const char *realm, const char *quota_id)
{
	snprintf(buf, len, "turnd/quota/%s/%s", realm, quota_id);
	return (buf);
}

static inline char *
keys_quota_member(char *buf, size_t len, const char *iid, uint64_t id)
{
	snprintf(buf, len, "%s/" KEYS_ID_FMT, iid, (unsigned long long)id);
	return (buf);
}

/* ---- channels ---- */

/*
 * turnd/realm/<realm>/changed: what turnctl publishes after changing
 * the realm's peer rules or options, and turnd subscribes to.
 */
static inline char *
keys_realm_changed(char *buf, size_t len, const char *realm)
{
	snprintf(buf, len, "turnd/realm/%s/changed", realm);
	return (buf);
}

/*
 * Redis's keyspace notification channel of key in database db: buf of
 * KEYS_KEYSPACE_LEN holds it for any key that fits in KEYS_LEN.
 */
static inline char *
keys_keyspace(char *buf, size_t len, int db, const char *key)
{
	snprintf(buf, len, "__keyspace@%d__:%s", db, key);
	return (buf);
}

#endif /* STORE_KEYS_H */
