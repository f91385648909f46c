/*
 * auth.h -- long-term credentials (RFC 8489 section 9.2), the TURN REST
 * API's ephemeral credentials (draft-uberti-behave-turn-rest), and
 * stateless nonces.
 *
 * Built once from the configuration and never changed (a reload builds a
 * new one), so workers share it without locks.  Nothing is kept per
 * client: a nonce carries its own expiry and an HMAC over it and the
 * client's IP address, so any instance holding the same nonce secret can
 * check it.  Keys and MACs are compared with CRYPTO_memcmp().
 */

#ifndef AUTH_H
#define AUTH_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "stun/stun.h"

struct turnd_conf;
struct auth;
struct store;

#define AUTH_NONCE_MAX		128	/* longest nonce we make, NUL incl. */
#define AUTH_KEY_MAX		32	/* SHA-256 */
#define AUTH_USER_MAX		(STUN_USERNAME_MAX + 1)

/* The bytes that open every nonce (RFC 8489 9.2: the "nonce cookie"). */
#define AUTH_NONCE_COOKIE	"obMatJos2"

struct auth_result {
	uint16_t	ar_alg;		/* STUN_PWALG_MD5 or _SHA256 */
	uint8_t		ar_key[AUTH_KEY_MAX];
	size_t		ar_keylen;	/* 16 (MD5) or 32 (SHA-256) */
	char		ar_user[AUTH_USER_MAX];	/* USERNAME, or the user a
						 * USERHASH matched */
	char		ar_quota_id[AUTH_USER_MAX];	/* what quotas count:
						 * the REST user id, else user */
	int		ar_sha256_mi;	/* the request used
					 * MESSAGE-INTEGRITY-SHA256: sign the
					 * response with it too */
};

/* auth_check()'s answer when the store must be asked first. */
#define AUTH_PENDING	(-1)

/* What auth_check() may look beyond the configuration. */
struct auth_lookup {
	struct store	*al_store;	/* the worker's; NULL: config only */
	/* the allocation of the request's 5-tuple, if any: its credential
	 * is used when the store cannot be asked */
	const char	*al_alloc_user;
	const uint8_t	*al_alloc_key;
	size_t		 al_alloc_keylen;
	const void	*al_tag;	/* out: what AUTH_PENDING waits for */
};

/*
 * Build from conf: the users of auth.users (their MD5 and SHA-256 keys and
 * USERHASH precomputed), the REST secrets of auth.secrets, the realm.
 * nonce_secret is 32 bytes: auth.nonce_secret when set, else random
 * (auth_nonce_secret() below).  NULL (logged) if OpenSSL cannot derive
 * the keys; a reload then keeps the old one.
 */
struct auth	*auth_new(const struct turnd_conf *,
		    const uint8_t nonce_secret[32]);
void		 auth_free(struct auth *);

/*
 * A fresh nonce for client, valid auth.nonce_lifetime seconds from now:
 * the cookie AUTH_NONCE_COOKIE, four characters of security feature bits
 * (password algorithms and username anonymity both offered), then the
 * base64 of the expiry time and a truncated HMAC-SHA256 over the feature
 * bits, the expiry and the client's IP address (not its port: a client
 * may retry from a new port), 4 and 8 bytes: 16 characters.  Writes a
 * NUL-terminated string; returns its length (29), or 0 with "" if
 * OpenSSL failed.  The feature bits are
 * numbered from the right, as RFC 8489 erratum 6290 says: "AAAD".
 */
size_t		 auth_nonce_make(const struct auth *, const struct sockaddr *,
		    time_t now, char out[AUTH_NONCE_MAX]);

/*
 * Check the long-term credentials of request m from client at time now
 * (RFC 8489 9.2.4 and 9.2.5 for the bid-down rules).  Returns the STUN
 * error code to answer with, or 0 and fills *ar when the request is
 * authenticated:
 *   401  no MESSAGE-INTEGRITY(-SHA256) at all (the challenge), unknown
 *        user, expired REST username, a MAC that does not match, or a
 *        REALM that is not ours (RFC 8489 9.2.4 has no 400 for a wrong
 *        realm: we hold no credentials in it, as for an unknown user,
 *        and the 401 carries our REALM so the client can retry, 9.2.5);
 *   400  USERNAME/USERHASH, REALM or NONCE missing or malformed,
 *        PASSWORD-ALGORITHMS/PASSWORD-ALGORITHM inconsistent with what
 *        the nonce offered (bid-down), or both USERNAME and USERHASH;
 *   438  a nonce that is not ours, for another client, or expired.
 * The checks run in this order: 401 challenge, 400 attributes, 401
 * realm, 438 nonce, 400 bid-down, 401 credentials.  RFC 8489 9.2.4
 * checks the nonce last; checking it before any key work keeps
 * requests with a forged or stale nonce cheap (a stale nonce with a
 * wrong password gets 438, then 401 on the retry).  *ar is written only
 * on success; nothing is allocated or logged.
 * A REST username is "expiry<sep>userid" (the separator from
 * auth.rest_separator) whose password is base64(HMAC-SHA1(secret,
 * username)) for any secret of auth.secrets or of the store; it is
 * refused once expiry has passed.  The sources, in order: a user of
 * auth.users, the REST secrets (configured, then the store's), a user
 * key of the store.  With al (may be NULL: configuration only):
 *   AUTH_PENDING  the store must answer first: al->al_tag says what to
 *                 wait for; ask again then;
 *   500           nothing verified and the store could not be asked
 *                 (al's allocation credential was tried too).
 */
int		 auth_check(const struct auth *, const struct stun_msg *m,
		    const struct sockaddr *client, time_t now,
		    struct auth_lookup *, struct auth_result *ar);

/*
 * The PASSWORD-ALGORITHMS value turnd offers in 401 and 438 answers
 * (SHA-256 then MD5, each with empty parameters): writes it to out and
 * returns its length (8 bytes).
 */
size_t		 auth_pwalgs(uint8_t out[16]);

/* The realm (REALM attribute of challenges). */
const char	*auth_realm(const struct auth *);

/*
 * The 32-byte nonce secret for auth_new(): SHA-256 of auth.nonce_secret
 * when it is set (so every instance configured alike derives the same
 * one), else random bytes.  0, or -1 if OpenSSL failed (logged).
 */
int		 auth_nonce_secret(const struct turnd_conf *, uint8_t out[32]);

/* USERHASH (RFC 8489 14.4): SHA-256 of "user:realm". */
void		 auth_userhash(const char *user, const char *realm,
		    uint8_t out[32]);

/*
 * The precomputed key of static user (auth.users) for alg
 * (STUN_PWALG_MD5 or _SHA256): writes it to out and its length to
 * *keylen and returns 0, or -1 if there is no such user or alg.  For
 * tests and turnctl.
 */
int		 auth_user_key(const struct auth *, const char *user,
		    uint16_t alg, uint8_t out[AUTH_KEY_MAX], size_t *keylen);

/*
 * The REST password for username with secret: base64(HMAC-SHA1(secret,
 * username)), NUL-terminated in out.  For tests and turnctl.
 */
void		 auth_rest_password(const char *secret, const char *username,
		    char out[64]);

#endif /* AUTH_H */
