/*
 * auth.c -- long-term credentials (RFC 8489 9.2, USERHASH 14.4), TURN
 * REST API credentials (draft-uberti-behave-turn-rest) and stateless
 * nonces with the RFC 8489 9.2 nonce cookie.
 *
 * Passwords are used as given: SASLprep/OpaqueString (RFC 8265) is out
 * of scope, so a non-ASCII password must be configured already prepared.
 * Only derived keys are kept, never the passwords of auth.users.
 */

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "store/store.h"
#include "turn/auth.h"

/*
 * STUN Security Features (RFC 8489 9.2, 18.1), 24 bits.  Bit 0 is the
 * least significant one (verified erratum 6290; the example of Appendix
 * B.1, "AAAC", is username anonymity alone).
 */
#define AUTH_FEAT_PWALGS	0x000001	/* Password algorithms */
#define AUTH_FEAT_ANON		0x000002	/* Username anonymity */
#define AUTH_FEATURES		(AUTH_FEAT_PWALGS | AUTH_FEAT_ANON)

#define AUTH_COOKIE_LEN		9	/* "obMatJos2" */
#define AUTH_FEAT_LEN		3	/* feature bytes */
#define AUTH_FEAT_B64		4	/* ... in base64 */
/*
 * The rest of the nonce is compact: every byte of it is reflected in
 * each 401 and 438 (RFC 8489 9.2.4), the answers a spoofed source draws.
 * A 64-bit MAC can only be guessed online, one request per guess.
 */
#define AUTH_EXPIRY_LEN		4	/* big-endian seconds since the epoch,
					 * unsigned: good until 2106 */
#define AUTH_NONCE_MAC		8	/* truncated HMAC-SHA256 */
#define AUTH_NONCE_RAW		(AUTH_EXPIRY_LEN + AUTH_NONCE_MAC)
#define AUTH_NONCE_B64		16	/* base64 of 12 bytes: no padding */
#define AUTH_NONCE_LEN		(AUTH_COOKIE_LEN + AUTH_FEAT_B64 + \
				    AUTH_NONCE_B64)
#define AUTH_USERHASH_LEN	32
#define AUTH_REST_DIGITS	20	/* longest expiry accepted */
#define AUTH_PWALGS_MAX		8	/* algorithms read from a request */

#define AUTH_B64_CHARS							\
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

struct auth {
	char			 *a_realm;
	struct store_mem	 *a_mem;	/* auth.users, auth.secrets */
	uint8_t			  a_nonce_key[32];
	int			  a_nonce_lifetime;
	char			  a_sep;	/* REST separator */
	char			  a_feat[AUTH_FEAT_B64 + 1];
};

/* PASSWORD-ALGORITHMS we offer: SHA-256, then MD5, no parameters. */
static const uint8_t auth_offer[] = {
	0x00, STUN_PWALG_SHA256, 0x00, 0x00,
	0x00, STUN_PWALG_MD5, 0x00, 0x00,
};

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/*
 * The client's IP address as bytes, an IPv4-mapped IPv6 address as its
 * IPv4 form (the same client over either socket); 0 bytes for anything
 * else.  The port is left out: a client may retry from another port.
 */
static size_t
auth_client_ip(const struct sockaddr *sa, uint8_t out[16])
{
	int	family;

	return (sa != NULL ? addr_ip_bytes(sa, out, &family) : 0);
}

/*
 * The nonce MAC: HMAC-SHA256 keyed with the nonce secret over the
 * feature bits, the expiry (4 bytes) and the client's IP address,
 * truncated to AUTH_NONCE_MAC bytes.  The lengths before the address
 * are fixed, so the input cannot be read two ways.  0 or -1.
 */
static int
auth_nonce_mac(const struct auth *a, const uint8_t expiry[AUTH_EXPIRY_LEN],
    const struct sockaddr *client, uint8_t out[AUTH_NONCE_MAC])
{
	uint8_t		buf[AUTH_FEAT_LEN + AUTH_EXPIRY_LEN + 16], mac[32];
	struct iovec	iov;
	int		rv;

	buf[0] = (uint8_t)(AUTH_FEATURES >> 16);
	buf[1] = (uint8_t)(AUTH_FEATURES >> 8);
	buf[2] = (uint8_t)AUTH_FEATURES;
	memcpy(buf + AUTH_FEAT_LEN, expiry, AUTH_EXPIRY_LEN);
	iov.iov_base = buf;
	iov.iov_len = AUTH_FEAT_LEN + AUTH_EXPIRY_LEN;
	iov.iov_len += auth_client_ip(client, buf + iov.iov_len);
	rv = stun_hmac("SHA256", a->a_nonce_key, sizeof(a->a_nonce_key), &iov,
	    1, mac, sizeof(mac));
	memcpy(out, mac, AUTH_NONCE_MAC);
	return (rv);
}

size_t
auth_nonce_make(const struct auth *a, const struct sockaddr *client,
    time_t now, char out[AUTH_NONCE_MAX])
{
	uint8_t		raw[AUTH_NONCE_RAW];
	uint64_t	expiry;

	expiry = (uint64_t)(now > 0 ? now : 0) + (uint64_t)a->a_nonce_lifetime;
	if (expiry > UINT32_MAX)
		expiry = UINT32_MAX;
	put32(raw, (uint32_t)expiry);
	if (auth_nonce_mac(a, raw, client, raw + AUTH_EXPIRY_LEN) == -1) {
		out[0] = '\0';
		return (0);
	}
	memcpy(out, AUTH_NONCE_COOKIE, AUTH_COOKIE_LEN);
	memcpy(out + AUTH_COOKIE_LEN, a->a_feat, AUTH_FEAT_B64);
	EVP_EncodeBlock((unsigned char *)out + AUTH_COOKIE_LEN + AUTH_FEAT_B64,
	    raw, sizeof(raw));
	return (AUTH_NONCE_LEN);
}

/*
 * Is nonce (len bytes, NUL-terminated) one we made for this client's IP
 * address and not yet expired at now?  The cookie and feature bits must
 * be ours, the rest exactly 16 base64 characters, the MAC right
 * (CRYPTO_memcmp) and now before the expiry.  0 or -1.
 */
static int
auth_nonce_check(const struct auth *a, const char *nonce, size_t len,
    const struct sockaddr *client, time_t now)
{
	const char	*b64 = nonce + AUTH_COOKIE_LEN + AUTH_FEAT_B64;
	uint8_t		 raw[AUTH_NONCE_RAW], mac[AUTH_NONCE_MAC];

	if (len != AUTH_NONCE_LEN ||
	    memcmp(nonce, AUTH_NONCE_COOKIE, AUTH_COOKIE_LEN) != 0 ||
	    memcmp(nonce + AUTH_COOKIE_LEN, a->a_feat, AUTH_FEAT_B64) != 0 ||
	    strspn(b64, AUTH_B64_CHARS) != AUTH_NONCE_B64)
		return (-1);
	if (EVP_DecodeBlock(raw, (const unsigned char *)b64,
	    AUTH_NONCE_B64) != AUTH_NONCE_RAW)
		return (-1);
	if (auth_nonce_mac(a, raw, client, mac) == -1 ||
	    CRYPTO_memcmp(mac, raw + AUTH_EXPIRY_LEN, AUTH_NONCE_MAC) != 0)
		return (-1);
	if (now < 0 || (uint64_t)now >= get32(raw))
		return (-1);
	return (0);
}

size_t
auth_pwalgs(uint8_t out[16])
{
	memcpy(out, auth_offer, sizeof(auth_offer));
	return (sizeof(auth_offer));
}

const char *
auth_realm(const struct auth *a)
{
	return (a->a_realm);
}

/*
 * base64(HMAC-SHA1(secret, username)) into out; 0, or -1 (out is "").
 * An empty secret is no secret: -1.
 */
static int
auth_rest_pass(const char *secret, const char *username, char out[64])
{
	struct iovec	iov;
	uint8_t		mac[20];

	out[0] = '\0';
	iov.iov_base = (void *)(uintptr_t)username;
	iov.iov_len = strlen(username);
	if (*secret == '\0' || stun_hmac("SHA1", secret, strlen(secret), &iov,
	    1, mac, sizeof(mac)) == -1)
		return (-1);
	EVP_EncodeBlock((unsigned char *)out, mac, sizeof(mac));
	return (0);
}

void
auth_rest_password(const char *secret, const char *username, char out[64])
{
	(void)auth_rest_pass(secret, username, out);
}

void
auth_userhash(const char *user, const char *realm, uint8_t out[32])
{
	stun_userhash(user, realm, out);
}

int
auth_nonce_secret(const struct turnd_conf *conf, uint8_t out[32])
{
	const char	*s = conf->auth_nonce_secret;
	unsigned int	 got = 0;

	if (s != NULL && *s != '\0') {
		if (EVP_Digest(s, strlen(s), out, &got, EVP_sha256(),
		    NULL) != 1 || got != 32) {
			log_warnx("%s: SHA-256 failed", __func__);
			return (-1);
		}
		return (0);
	}
	if (RAND_bytes(out, 32) != 1) {
		log_warnx("%s: no random bytes", __func__);
		return (-1);
	}
	return (0);
}

/*
 * Build from conf; NULL (logged) if OpenSSL failed to derive a key, so
 * that a reload keeps the old one.
 */
struct auth *
auth_new(const struct turnd_conf *conf, const uint8_t nonce_secret[32])
{
	struct auth	*a;
	uint8_t		 feat[AUTH_FEAT_LEN];

	a = xcalloc(1, sizeof(*a));
	a->a_realm = xstrdup(conf->realm);
	if ((a->a_mem = store_mem_new(conf)) == NULL) {
		auth_free(a);
		return (NULL);
	}
	memcpy(a->a_nonce_key, nonce_secret, sizeof(a->a_nonce_key));
	a->a_nonce_lifetime = conf->auth_nonce_lifetime;
	a->a_sep = conf->auth_rest_separator[0];
	feat[0] = (uint8_t)(AUTH_FEATURES >> 16);
	feat[1] = (uint8_t)(AUTH_FEATURES >> 8);
	feat[2] = (uint8_t)AUTH_FEATURES;
	EVP_EncodeBlock((unsigned char *)a->a_feat, feat, sizeof(feat));
	return (a);
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	store_mem_free(a->a_mem);
	free(a->a_realm);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/* A static user's key for alg into out; its length. */
static size_t
auth_static_key(const struct store_user *u, uint16_t alg, uint8_t *out)
{
	if (alg == STUN_PWALG_SHA256) {
		memcpy(out, u->su_sha256, sizeof(u->su_sha256));
		return (sizeof(u->su_sha256));
	}
	memcpy(out, u->su_md5, sizeof(u->su_md5));
	return (sizeof(u->su_md5));
}

int
auth_user_key(const struct auth *a, const char *user, uint16_t alg,
    uint8_t out[AUTH_KEY_MAX], size_t *keylen)
{
	const struct store_user	*u;

	if ((alg != STUN_PWALG_MD5 && alg != STUN_PWALG_SHA256) ||
	    (u = store_mem_user(a->a_mem, user)) == NULL)
		return (-1);
	*keylen = auth_static_key(u, alg, out);
	return (0);
}

/*
 * Does the request's MAC verify with key?  MESSAGE-INTEGRITY-SHA256
 * when present, else MESSAGE-INTEGRITY (RFC 8489 9.2.4).
 */
static int
auth_mac_ok(const struct stun_msg *m, const uint8_t *key, size_t keylen)
{
	if (stun_key_failed(key, keylen))
		return (0);
	if (m->mi256_idx >= 0)
		return (stun_msg_check_integrity_sha256(m, key, keylen) == 0);
	return (stun_msg_check_integrity(m, key, keylen) == 0);
}

/*
 * The password algorithm of the request (RFC 8489 9.2.4, bid-down
 * protection; our nonces always set the "Password algorithms" bit).
 * Neither attribute: MD5.  Otherwise both must be there,
 * PASSWORD-ALGORITHMS exactly what we offered, and PASSWORD-ALGORITHM
 * one of its entries.  0 with *alg set, or 400.
 */
static int
auth_pwalg(const struct stun_msg *m, uint16_t *alg)
{
	const struct stun_attr	*list, *one;
	uint16_t		 algs[AUTH_PWALGS_MAX];
	int			 i, n;

	list = stun_msg_find(m, STUN_ATTR_PASSWORD_ALGORITHMS);
	one = stun_msg_find(m, STUN_ATTR_PASSWORD_ALGORITHM);
	*alg = STUN_PWALG_MD5;
	if (list == NULL && one == NULL)
		return (0);
	if (list == NULL || one == NULL)
		return (STUN_ERR_BAD_REQUEST);
	if (list->len != sizeof(auth_offer) ||
	    memcmp(list->val, auth_offer, sizeof(auth_offer)) != 0)
		return (STUN_ERR_BAD_REQUEST);
	if (stun_attr_get_pwalg(one, alg) == -1 ||
	    (n = stun_attr_get_pwalgs(list, algs, AUTH_PWALGS_MAX)) == -1)
		return (STUN_ERR_BAD_REQUEST);
	for (i = 0; i < n; i++)
		if (algs[i] == *alg)
			return (0);
	return (STUN_ERR_BAD_REQUEST);
}

/*
 * A TURN REST username "expiry<sep>userid": the expiry all digits, the
 * user id not empty.  The user id (borrowed from user) into *uid, the
 * expiry into *expiry; 0, or -1 if user is not of that form.
 */
static int
auth_rest_parse(const struct auth *a, const char *user, const char **uid,
    uint64_t *expiry)
{
	const char	*sep = strchr(user, a->a_sep), *p;
	uint64_t	 v = 0;

	if (sep == NULL || sep == user || sep[1] == '\0' ||
	    sep - user > AUTH_REST_DIGITS)
		return (-1);
	for (p = user; p < sep; p++) {
		if (!isdigit((unsigned char)*p) ||
		    v > (UINT64_MAX - 9) / 10)
			return (-1);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*uid = sep + 1;
	*expiry = v;
	return (0);
}

/*
 * Try n REST secrets in order for user (a REST username, not expired):
 * the first whose key makes the MAC verify wins; its key goes to key
 * (*keylen).  0, or -1 if no secret fits.
 */
static int
auth_rest_try(const struct auth *a, const struct stun_msg *m,
    const char *user, uint16_t alg, const char *const *secrets,
    unsigned int n, uint8_t *key, size_t *keylen)
{
	char		pass[64];
	unsigned int	i;
	int		rv = -1;

	for (i = 0; i < n && rv == -1; i++) {
		if (auth_rest_pass(secrets[i], user, pass) == -1)
			continue;
		if (alg == STUN_PWALG_SHA256) {
			stun_key_sha256(user, a->a_realm, pass, key);
			*keylen = 32;
		} else {
			stun_key_md5(user, a->a_realm, pass, key);
			*keylen = 16;
		}
		if (auth_mac_ok(m, key, *keylen))
			rv = 0;
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	return (rv);
}

/* Fill *ar from a verified request. */
static void
auth_fill(struct auth_result *ar, const struct stun_msg *m, uint16_t alg,
    const uint8_t *key, size_t keylen, const char *user, const char *quota)
{
	memset(ar, 0, sizeof(*ar));
	ar->ar_alg = alg;
	memcpy(ar->ar_key, key, keylen);
	ar->ar_keylen = keylen;
	/* both fit: USERNAME is at most STUN_USERNAME_MAX bytes */
	snprintf(ar->ar_user, sizeof(ar->ar_user), "%s", user);
	snprintf(ar->ar_quota_id, sizeof(ar->ar_quota_id), "%s", quota);
	ar->ar_sha256_mi = (m->mi256_idx >= 0);
}

/* Where a lookup left the request: on to the next source, or not. */
#define AUTH_NEXT	1

/*
 * Fold a store answer into the check: STORE_PENDING ends it (the tag is
 * kept), STORE_DOWN is remembered (500 if nothing else verifies).
 */
static int
auth_store_rc(enum store_rc rc, const void *tag, struct auth_lookup *al,
    int *down)
{
	if (rc == STORE_PENDING) {
		al->al_tag = tag;
		return (AUTH_PENDING);
	}
	if (rc == STORE_DOWN)
		*down = 1;
	return (AUTH_NEXT);
}

/* The credential attributes of a request, checked (RFC 8489 9.2.4). */
struct auth_req {
	const struct stun_attr	*rq_uhash;	/* USERHASH, or NULL */
	char			 rq_user[AUTH_USER_MAX];  /* else USERNAME */
	uint16_t		 rq_alg;	/* the password algorithm */
};

/*
 * The checks before any key is looked up, in auth_check()'s order: 401
 * challenge, 400 attributes, 401 realm, 438 nonce, 400 bid-down.  0 with
 * *rq filled, or the error code.
 */
static int
auth_parse(const struct auth *a, const struct stun_msg *m,
    const struct sockaddr *client, time_t now, struct auth_req *rq)
{
	const struct stun_attr	*uname, *uhash, *realm, *nonce;
	char			 rbuf[STUN_REALM_MAX + 1];
	char			 nbuf[STUN_NONCE_MAX + 1];

	/* 9.2.4: no integrity at all is the challenge. */
	if (m->mi_idx < 0 && m->mi256_idx < 0)
		return (STUN_ERR_UNAUTHENTICATED);

	/* 9.2.4: USERNAME or USERHASH, REALM and NONCE, well formed. */
	uname = stun_msg_find(m, STUN_ATTR_USERNAME);
	uhash = stun_msg_find(m, STUN_ATTR_USERHASH);
	realm = stun_msg_find(m, STUN_ATTR_REALM);
	nonce = stun_msg_find(m, STUN_ATTR_NONCE);
	if ((uname == NULL) == (uhash == NULL) || realm == NULL ||
	    nonce == NULL)
		return (STUN_ERR_BAD_REQUEST);
	if (uname != NULL && stun_attr_get_str(uname, STUN_USERNAME_MAX,
	    rq->rq_user, sizeof(rq->rq_user)) == -1)
		return (STUN_ERR_BAD_REQUEST);
	if (uhash != NULL && uhash->len != AUTH_USERHASH_LEN)
		return (STUN_ERR_BAD_REQUEST);
	rq->rq_uhash = uhash;
	if (stun_attr_get_str(realm, STUN_REALM_MAX, rbuf,
	    sizeof(rbuf)) == -1 ||
	    stun_attr_get_str(nonce, STUN_NONCE_MAX, nbuf, sizeof(nbuf)) == -1)
		return (STUN_ERR_BAD_REQUEST);

	/*
	 * Another realm: we hold no credentials there, as for an unknown
	 * user (9.2.4 has no 400 for it); the 401 tells the client ours.
	 */
	if (strcmp(rbuf, a->a_realm) != 0)
		return (STUN_ERR_UNAUTHENTICATED);

	/* Ours, for this client's IP address, not expired. */
	if (auth_nonce_check(a, nbuf, (size_t)nonce->len, client, now) == -1)
		return (STUN_ERR_STALE_NONCE);

	/* 9.2.4: bid-down protection. */
	return (auth_pwalg(m, &rq->rq_alg));
}

/*
 * Source 2 of auth_check(): when the username is a REST one that has
 * not expired (its user id then goes to *uid, else NULL), the
 * configured secrets, then the store's.  0 with *ar filled,
 * AUTH_PENDING, or AUTH_NEXT (*down set when the store is away).
 */
static int
auth_rest(const struct auth *a, const struct stun_msg *m,
    const struct auth_req *rq, time_t now, struct auth_lookup *al,
    struct auth_result *ar, const char **uid, int *down)
{
	const char *const	*secrets;
	const void		*tag = NULL;
	uint8_t			 key[AUTH_KEY_MAX];
	size_t			 keylen;
	uint64_t		 expiry;
	unsigned int		 n;
	enum store_rc		 rc;

	*uid = NULL;
	if (auth_rest_parse(a, rq->rq_user, uid, &expiry) == -1 || now < 0 ||
	    (uint64_t)now > expiry) {
		*uid = NULL;
		return (AUTH_NEXT);
	}
	secrets = store_mem_secrets(a->a_mem, &n);
	if (auth_rest_try(a, m, rq->rq_user, rq->rq_alg, secrets, n, key,
	    &keylen) == 0) {
		auth_fill(ar, m, rq->rq_alg, key, keylen, rq->rq_user, *uid);
		return (0);
	}
	n = 0;
	if (al != NULL && al->al_store != NULL) {
		rc = store_secrets(al->al_store, now, &secrets, &n, &tag);
		if (auth_store_rc(rc, tag, al, down) == AUTH_PENDING)
			return (AUTH_PENDING);
	}
	if (n > 0 && auth_rest_try(a, m, rq->rq_user, rq->rq_alg, secrets, n,
	    key, &keylen) == 0) {
		auth_fill(ar, m, rq->rq_alg, key, keylen, rq->rq_user, *uid);
		return (0);
	}
	return (AUTH_NEXT);
}

int
auth_check(const struct auth *a, const struct stun_msg *m,
    const struct sockaddr *client, time_t now, struct auth_lookup *al,
    struct auth_result *ar)
{
	struct auth_req		 rq;
	const struct store_user	*u;
	const void		*tag = NULL;
	const char		*uid, *user = rq.rq_user;
	uint8_t			 key[AUTH_KEY_MAX];
	size_t			 keylen;
	uint16_t		 alg;
	int			 rv, down = 0;
	struct store		*st = al != NULL ? al->al_store : NULL;

	if ((rv = auth_parse(a, m, client, now, &rq)) != 0)
		return (rv);
	alg = rq.rq_alg;

	/* USERHASH: a configured user only; names in Redis are not hashed. */
	if (rq.rq_uhash != NULL) {
		if ((u = store_mem_userhash(a->a_mem,
		    rq.rq_uhash->val)) == NULL)
			return (STUN_ERR_UNAUTHENTICATED);
		keylen = auth_static_key(u, alg, key);
		if (!auth_mac_ok(m, key, keylen))
			return (STUN_ERR_UNAUTHENTICATED);
		auth_fill(ar, m, alg, key, keylen, u->su_name, u->su_name);
		return (0);
	}

	/* 1. a configured user */
	if ((u = store_mem_user(a->a_mem, user)) != NULL) {
		keylen = auth_static_key(u, alg, key);
		if (auth_mac_ok(m, key, keylen)) {
			auth_fill(ar, m, alg, key, keylen, user, user);
			return (0);
		}
	}

	/* 2. a REST username, not expired */
	if ((rv = auth_rest(a, m, &rq, now, al, ar, &uid, &down)) !=
	    AUTH_NEXT)
		return (rv);

	/* 3. a user of the store */
	if (st != NULL) {
		rv = store_user_key(st, user, alg, now, key, &keylen, &tag);
		if (rv == STORE_OK) {
			if (auth_mac_ok(m, key, keylen)) {
				auth_fill(ar, m, alg, key, keylen, user, user);
				return (0);
			}
		} else if (auth_store_rc(rv, tag, al, &down) == AUTH_PENDING)
			return (AUTH_PENDING);
	}

	/*
	 * 4. The store is away: a request on an existing allocation is
	 * checked against the credential the allocation was made with.
	 */
	if (down && al->al_alloc_key != NULL &&
	    strcmp(al->al_alloc_user, user) == 0 &&
	    al->al_alloc_keylen == (alg == STUN_PWALG_SHA256 ? 32u : 16u) &&
	    auth_mac_ok(m, al->al_alloc_key, al->al_alloc_keylen)) {
		auth_fill(ar, m, alg, al->al_alloc_key, al->al_alloc_keylen,
		    user, uid != NULL ? uid : user);
		return (0);
	}
	return (down ? STUN_ERR_SERVER_ERROR : STUN_ERR_UNAUTHENTICATED);
}
