/*
 * test_auth.c -- long-term credentials (RFC 8489 9.2), USERHASH, TURN
 * REST credentials and stateless nonces: every answer of auth_check().
 *
 * Requests are built with the codec's builder and signed with the key
 * the test derives itself (stun_key_md5/_sha256), so a passing check
 * means auth.c and an independent client agree.  Expected REST
 * passwords, USERHASHes and the nonce secret derivation were computed
 * with Python's hmac and hashlib.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "stun/stun.h"
#include "turn/auth.h"
#include "rfc5769.h"
#include "unit.h"

#define REALM		"example.org"
#define NOW		((time_t)1700000000)
#define LIFETIME	600	/* auth.nonce_lifetime of mkconf(NULL) */
#define REST_USER	"1700003600:carol"	/* expires NOW + 3600 */
/* base64(HMAC-SHA1("s2", REST_USER)) */
#define REST_PASS_S2	"Vk4FVbz/rjBW/4DAUKAe46ELBX0="

#define ALLOC_REQ	STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST)

/* Which integrity attributes a request carries. */
#define MI_NONE		0
#define MI_SHA1		1
#define MI_SHA256	2
#define MI_BOTH		3	/* MI with badkey, then MI-SHA256 */
#define MI_BOTH_BAD256	4	/* MI right, then MI-SHA256 with badkey */

static const uint8_t	tid[STUN_TID_LEN] = {
	0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac
};
static const uint8_t	badkey[16] = "not the real key";
static uint8_t		secret[32];

/* A request to build: NULL or -1 leaves an attribute out. */
struct req {
	const char	*user;		/* USERNAME */
	const uint8_t	*uhash;		/* USERHASH */
	size_t		 uhashlen;
	const char	*realm;
	const char	*nonce;
	const uint8_t	*pwalgs;	/* PASSWORD-ALGORITHMS value */
	size_t		 pwalgslen;
	int		 pwalg;		/* PASSWORD-ALGORITHM */
	const uint8_t	*pwalgraw;	/* ... as raw bytes instead */
	size_t		 pwalgrawlen;
	const uint8_t	*key;
	size_t		 keylen;
	int		 mi;
	const char	*after;		/* USERNAME after the integrity */
};

static struct sockaddr_storage	cl4, cl4port, cl4other, cl4mapped, cl6;

static void
mkaddr(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	} else
		abort();
}

#define SA(ss)	((const struct sockaddr *)(ss))

static struct turnd_conf *
mkconf(const char *extra)
{
	struct turnd_conf	*c;
	char			 text[2048], err[CONF_ERR_LEN];

	snprintf(text, sizeof(text),
	    "realm = \"" REALM "\";\n"
	    "auth = {\n"
	    "  users = ( { user = \"alice\"; password = \"secret\"; },\n"
	    "            { user = \"bob\"; password = \"hunter2\"; },\n"
	    "            { user = \"1700003600:zed\"; password = \"z\"; } );\n"
	    "  secrets = [ \"s1\", \"s2\" ];\n"
	    "  %s\n"
	    "};\n", extra != NULL ? extra : "nonce_lifetime = 600;");
	if ((c = conf_load_string(text, "t.conf", err, sizeof(err))) == NULL) {
		printf("# %s\n", err);
		abort();
	}
	return (c);
}

static struct auth *
mkauth(const char *extra)
{
	struct turnd_conf	*c = mkconf(extra);
	struct auth		*a = auth_new(c, secret);

	conf_free(c);
	if (a == NULL)
		abort();
	return (a);
}

/* Build r into buf; its length, 0 if the builder failed. */
static size_t
build(const struct req *r, uint8_t *buf, size_t cap)
{
	struct stun_build	b;

	stun_build_init(&b, buf, cap, ALLOC_REQ, tid);
	stun_build_u32(&b, STUN_ATTR_REQUESTED_TRANSPORT,
	    (uint32_t)STUN_TRANSPORT_UDP << 24);
	if (r->user != NULL)
		stun_build_str(&b, STUN_ATTR_USERNAME, r->user);
	if (r->uhash != NULL)
		stun_build_attr(&b, STUN_ATTR_USERHASH, r->uhash, r->uhashlen);
	if (r->realm != NULL)
		stun_build_str(&b, STUN_ATTR_REALM, r->realm);
	if (r->nonce != NULL)
		stun_build_str(&b, STUN_ATTR_NONCE, r->nonce);
	if (r->pwalgs != NULL)
		stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, r->pwalgs,
		    r->pwalgslen);
	if (r->pwalg >= 0)
		stun_build_u32(&b, STUN_ATTR_PASSWORD_ALGORITHM,
		    (uint32_t)r->pwalg << 16);
	if (r->pwalgraw != NULL)
		stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, r->pwalgraw,
		    r->pwalgrawlen);
	switch (r->mi) {
	case MI_SHA1:
		stun_build_integrity(&b, r->key, r->keylen);
		break;
	case MI_SHA256:
		stun_build_integrity_sha256(&b, r->key, r->keylen);
		break;
	case MI_BOTH:
		stun_build_integrity(&b, badkey, sizeof(badkey));
		stun_build_integrity_sha256(&b, r->key, r->keylen);
		break;
	case MI_BOTH_BAD256:
		stun_build_integrity(&b, r->key, r->keylen);
		stun_build_integrity_sha256(&b, badkey, sizeof(badkey));
		break;
	}
	if (r->after != NULL)
		stun_build_str(&b, STUN_ATTR_USERNAME, r->after);
	return (stun_build_finish(&b));
}

/* auth_check() of r from client at now; -1 if it does not parse. */
static int
check_at(const struct auth *a, const struct req *r,
    const struct sockaddr *client, time_t now, struct auth_result *ar)
{
	struct stun_msg	m;
	uint8_t		buf[2048];
	size_t		len;

	if ((len = build(r, buf, sizeof(buf))) == 0 ||
	    stun_msg_parse(&m, buf, len) != STUN_PARSE_OK)
		return (-1);
	return (auth_check(a, &m, client, now, NULL, ar));
}

static int
check(const struct auth *a, const struct req *r, struct auth_result *ar)
{
	return (check_at(a, r, SA(&cl4), NOW, ar));
}

/* A good MD5 request of alice with a fresh nonce for cl4. */
static void
req_alice(const struct auth *a, struct req *r, char *nonce, uint8_t *key)
{
	auth_nonce_make(a, SA(&cl4), NOW, nonce);
	stun_key_md5("alice", REALM, "secret", key);
	memset(r, 0, sizeof(*r));
	r->user = "alice";
	r->realm = REALM;
	r->nonce = nonce;
	r->pwalg = -1;
	r->key = key;
	r->keylen = 16;
	r->mi = MI_SHA1;
}

static void
hex(const char *s, uint8_t *out, size_t n)
{
	size_t		i;
	unsigned int	x;

	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &x) != 1)
			abort();
		out[i] = (uint8_t)x;
	}
}

/* ------------------------------------------------------------ tests */

static void
test_basics(void)
{
	struct auth		*a = mkauth(NULL);
	struct turnd_conf	*c;
	uint8_t			 algs[16], k1[32], k2[32], want[32];
	char			 pass[64];

	CHECK_EQ_INT(auth_pwalgs(algs), 8);
	CHECK_EQ_MEM(algs, "\x00\x02\x00\x00\x00\x01\x00\x00", 8);
	CHECK_EQ_STR(auth_realm(a), REALM);
	auth_rest_password("s2", REST_USER, pass);
	CHECK_EQ_STR(pass, REST_PASS_S2);
	auth_userhash("alice", REALM, k1);
	hex("435b7933096a304d3c734cfb833ec9075bd47ab1c0160321aed31c06a8c7009e",
	    want, 32);
	CHECK_EQ_MEM(k1, want, 32);
	auth_free(a);
	auth_free(NULL);

	/* the nonce secret: a hash of the configured one, else random */
	c = mkconf("nonce_secret = \"a fleet-wide nonce secret\";\n"
	    "  nonce_lifetime = 600;");
	CHECK_EQ_INT(auth_nonce_secret(c, k1), 0);
	CHECK_EQ_INT(auth_nonce_secret(c, k2), 0);
	hex("df29c8357320eb73c52210bb8546830cd9c5afa47af285cf3aa6a98042c121d6",
	    want, 32);
	CHECK_EQ_MEM(k1, want, 32);
	CHECK_EQ_MEM(k2, want, 32);
	conf_free(c);
	c = mkconf(NULL);
	CHECK_EQ_INT(auth_nonce_secret(c, k1), 0);
	CHECK_EQ_INT(auth_nonce_secret(c, k2), 0);
	CHECK(memcmp(k1, k2, 32) != 0);
	conf_free(c);

	/* no users, no secrets: everyone is unknown */
	c = conf_new_defaults();
	a = auth_new(c, secret);
	conf_free(c);
	CHECK(a != NULL);
	if (a != NULL) {
		CHECK_EQ_STR(auth_realm(a), "turnd.local");
		CHECK_EQ_INT(auth_user_key(a, "alice", STUN_PWALG_MD5, k1,
		    &(size_t){ 0 }), -1);
	}
	auth_free(a);
}

static void
test_nonce_format(void)
{
	struct auth	*a = mkauth(NULL);
	char		 n1[AUTH_NONCE_MAX], n2[AUTH_NONCE_MAX];
	size_t		 len, i;

	len = auth_nonce_make(a, SA(&cl4), NOW, n1);
	CHECK_EQ_INT(len, 29);
	CHECK_EQ_INT(strlen(n1), len);
	/* cookie, then both feature bits (bit 0 the rightmost) */
	CHECK(strncmp(n1, AUTH_NONCE_COOKIE "AAAD", 13) == 0);
	for (i = 13; i < len; i++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789+/", n1[i]) != NULL);
	/* stateless and deterministic: the same inputs, the same nonce */
	auth_nonce_make(a, SA(&cl4port), NOW, n2);
	CHECK_EQ_STR(n1, n2);
	auth_nonce_make(a, SA(&cl4mapped), NOW, n2);
	CHECK_EQ_STR(n1, n2);
	auth_nonce_make(a, SA(&cl4other), NOW, n2);
	CHECK(strcmp(n1, n2) != 0);
	auth_nonce_make(a, SA(&cl4), NOW + 1, n2);
	CHECK(strcmp(n1, n2) != 0);
	auth_free(a);
}

static void
test_challenge(void)
{
	struct auth		*a = mkauth(NULL);
	struct auth_result	 ar;
	struct req		 r;
	char			 nonce[AUTH_NONCE_MAX];
	uint8_t			 key[16];

	req_alice(a, &r, nonce, key);
	r.mi = MI_NONE;
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* nothing at all */
	memset(&r, 0, sizeof(r));
	r.pwalg = -1;
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	auth_free(a);
}

static void
test_md5_user(void)
{
	struct auth		*a = mkauth(NULL);
	struct auth_result	 ar;
	struct req		 r;
	char			 nonce[AUTH_NONCE_MAX];
	uint8_t			 key[16], want[16], k2[AUTH_KEY_MAX];
	size_t			 k2len = 0;

	req_alice(a, &r, nonce, key);
	memset(&ar, 0xff, sizeof(ar));
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_INT(ar.ar_alg, STUN_PWALG_MD5);
	CHECK_EQ_INT(ar.ar_keylen, 16);
	hex("543e1aec5d3614f03141652d6ada51b2", want, 16);
	CHECK_EQ_MEM(ar.ar_key, want, 16);
	CHECK_EQ_STR(ar.ar_user, "alice");
	CHECK_EQ_STR(ar.ar_quota_id, "alice");
	CHECK_EQ_INT(ar.ar_sha256_mi, 0);
	CHECK_EQ_INT(auth_user_key(a, "alice", STUN_PWALG_MD5, k2, &k2len), 0);
	CHECK_EQ_INT(k2len, 16);
	CHECK_EQ_MEM(k2, want, 16);
	CHECK_EQ_INT(auth_user_key(a, "alice", 3, k2, &k2len), -1);
	CHECK_EQ_INT(auth_user_key(a, "carol", STUN_PWALG_MD5, k2, &k2len),
	    -1);

	/* the other user, and a wrong password */
	stun_key_md5("bob", REALM, "hunter2", key);
	r.user = "bob";
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_STR(ar.ar_user, "bob");
	stun_key_md5("bob", REALM, "hunter3", key);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* alice's key is not bob's */
	stun_key_md5("alice", REALM, "secret", key);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* unknown user, right-looking key */
	stun_key_md5("mallory", REALM, "secret", key);
	r.user = "mallory";
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	r.user = "";
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* a key derived for another realm */
	stun_key_md5("alice", "example.com", "secret", key);
	r.user = "alice";
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	auth_free(a);
}

static void
test_missing(void)
{
	struct auth		*a = mkauth(NULL);
	struct auth_result	 ar;
	struct req		 r, base;
	char			 nonce[AUTH_NONCE_MAX];
	uint8_t			 key[16], uh[32];

	req_alice(a, &base, nonce, key);
	auth_userhash("alice", REALM, uh);

	r = base;
	r.realm = NULL;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	r = base;
	r.nonce = NULL;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	r = base;
	r.user = NULL;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	/* both USERNAME and USERHASH */
	r = base;
	r.uhash = uh;
	r.uhashlen = 32;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	/* a USERHASH of the wrong size */
	r = base;
	r.user = NULL;
	r.uhash = uh;
	r.uhashlen = 31;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	/* MI-SHA256 alone also asks for the attributes */
	r = base;
	r.mi = MI_SHA256;
	r.nonce = NULL;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	/* attributes after MESSAGE-INTEGRITY do not count (RFC 8489 14.5) */
	r = base;
	r.user = NULL;
	r.after = "alice";
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	auth_free(a);
}

/* Malformed string attributes: embedded NUL, over the RFC maximum. */
static void
test_malformed(void)
{
	struct auth		*a = mkauth(NULL);
	struct auth_result	 ar;
	struct stun_build	 b;
	struct stun_msg		 m;
	char			 nonce[AUTH_NONCE_MAX], big[800];
	uint8_t			 buf[2048], key[16];
	size_t			 len;
	int			 which;

	auth_nonce_make(a, SA(&cl4), NOW, nonce);
	stun_key_md5("alice", REALM, "secret", key);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (which = 0; which < 6; which++) {
		stun_build_init(&b, buf, sizeof(buf), ALLOC_REQ, tid);
		if (which == 0)
			stun_build_attr(&b, STUN_ATTR_USERNAME, "al\0ice", 6);
		else if (which == 1)
			stun_build_str(&b, STUN_ATTR_USERNAME, big + 286);
		else
			stun_build_str(&b, STUN_ATTR_USERNAME, "alice");
		if (which == 2)
			stun_build_attr(&b, STUN_ATTR_REALM, REALM "\0", 12);
		else if (which == 3)
			stun_build_str(&b, STUN_ATTR_REALM, big + 35);
		else
			stun_build_str(&b, STUN_ATTR_REALM, REALM);
		if (which == 4)
			stun_build_attr(&b, STUN_ATTR_NONCE, "\0", 1);
		else if (which == 5)
			stun_build_str(&b, STUN_ATTR_NONCE, big + 35);
		else
			stun_build_str(&b, STUN_ATTR_NONCE, nonce);
		stun_build_integrity(&b, key, sizeof(key));
		len = stun_build_finish(&b);
		CHECK(len > 0 && stun_msg_parse(&m, buf, len) == STUN_PARSE_OK);
		if (len == 0 || stun_msg_parse(&m, buf, len) != STUN_PARSE_OK)
			continue;
		CHECK_EQ_INT(auth_check(a, &m, SA(&cl4), NOW, NULL, &ar), 400);
	}
	/* 512 bytes of USERNAME are well formed, just unknown */
	stun_build_init(&b, buf, sizeof(buf), ALLOC_REQ, tid);
	stun_build_str(&b, STUN_ATTR_USERNAME, big + 287);	/* 512 */
	stun_build_str(&b, STUN_ATTR_REALM, REALM);
	stun_build_str(&b, STUN_ATTR_NONCE, nonce);
	stun_build_integrity(&b, key, sizeof(key));
	len = stun_build_finish(&b);
	CHECK(len > 0 && stun_msg_parse(&m, buf, len) == STUN_PARSE_OK);
	CHECK_EQ_INT(auth_check(a, &m, SA(&cl4), NOW, NULL, &ar), 401);
	auth_free(a);
}

static void
test_realm(void)
{
	struct auth		*a = mkauth(NULL);
	struct auth_result	 ar;
	struct req		 r;
	char			 nonce[AUTH_NONCE_MAX];
	uint8_t			 key[16];

	req_alice(a, &r, nonce, key);
	/* RFC 8489 9.2.4: no credentials in another realm, so 401 */
	stun_key_md5("alice", "example.com", "secret", key);
	r.realm = "example.com";
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	r.realm = "EXAMPLE.ORG";
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	r.realm = "";
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* before the nonce: a wrong realm with a stale nonce is 401 too */
	r.realm = "example.com";
	r.nonce = "stale";
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	auth_free(a);
}

static void
test_nonce(void)
{
	struct auth		*a = mkauth(NULL), *b;
	struct auth_result	 ar;
	struct req		 r;
	char			 nonce[AUTH_NONCE_MAX], bad[AUTH_NONCE_MAX];
	uint8_t			 key[16], other[32];
	size_t			 i, len;

	req_alice(a, &r, nonce, key);
	len = strlen(nonce);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), NOW, &ar), 0);
	/* valid through its lifetime, stale from then on */
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), NOW + LIFETIME - 1, &ar), 0);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), NOW + LIFETIME, &ar), 438);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), NOW + 86400, &ar), 438);
	/* the same IP address from another port is the same client */
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4port), NOW, &ar), 0);
	/* IPv4-mapped IPv6 is the IPv4 address, both ways */
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4mapped), NOW, &ar), 0);
	auth_nonce_make(a, SA(&cl4mapped), NOW, nonce);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), NOW, &ar), 0);
	/* another client */
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4other), NOW, &ar), 438);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl6), NOW, &ar), 438);
	CHECK_EQ_INT(check_at(a, &r, NULL, NOW, &ar), 438);
	auth_nonce_make(a, SA(&cl6), NOW, nonce);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl6), NOW, &ar), 0);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), NOW, &ar), 438);

	/* forged: any byte changed, or cut, or lengthened */
	auth_nonce_make(a, SA(&cl4), NOW, nonce);
	r.nonce = bad;
	for (i = 0; i < len; i++) {
		memcpy(bad, nonce, len + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		if (check(a, &r, &ar) != 438) {
			unit_cur_failed = 1;
			printf("# nonce byte %zu changed: accepted\n", i);
		}
	}
	memcpy(bad, nonce, len + 1);
	bad[len - 1] = '\0';
	CHECK_EQ_INT(check(a, &r, &ar), 438);
	snprintf(bad, sizeof(bad), "%sA", nonce);
	CHECK_EQ_INT(check(a, &r, &ar), 438);
	memcpy(bad, nonce, len + 1);
	bad[20] = '=';
	CHECK_EQ_INT(check(a, &r, &ar), 438);
	memcpy(bad, nonce, len + 1);
	bad[len - 1] = '=';
	CHECK_EQ_INT(check(a, &r, &ar), 438);
	r.nonce = "obMatJos2AAAD";
	CHECK_EQ_INT(check(a, &r, &ar), 438);
	r.nonce = "x";
	CHECK_EQ_INT(check(a, &r, &ar), 438);
	/* a foreign nonce (RFC 5769's) */
	r.nonce = RFC5769_LT_NONCE;
	CHECK_EQ_INT(check(a, &r, &ar), 438);

	/* the nonce is checked before the credentials: stale + wrong key */
	r.nonce = nonce;
	r.key = badkey;
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), NOW + LIFETIME, &ar), 438);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), NOW, &ar), 401);
	r.key = key;

	/* an instance with the same secret accepts it, another does not */
	b = mkauth(NULL);
	CHECK_EQ_INT(check(b, &r, &ar), 0);
	auth_free(b);
	memcpy(other, secret, sizeof(other));
	other[31] ^= 1;
	{
		struct turnd_conf *c = mkconf(NULL);

		b = auth_new(c, other);
		conf_free(c);
	}
	CHECK(b != NULL);
	if (b != NULL)
		CHECK_EQ_INT(check(b, &r, &ar), 438);
	auth_free(b);
	/* another lifetime */
	b = mkauth("nonce_lifetime = 30;");
	auth_nonce_make(b, SA(&cl4), NOW, nonce);
	CHECK_EQ_INT(check_at(b, &r, SA(&cl4), NOW + 29, &ar), 0);
	CHECK_EQ_INT(check_at(b, &r, SA(&cl4), NOW + 30, &ar), 438);
	auth_free(b);
	auth_free(a);
}

static void
test_sha256(void)
{
	struct auth		*a = mkauth(NULL);
	struct auth_result	 ar;
	struct req		 r;
	char			 nonce[AUTH_NONCE_MAX];
	uint8_t			 key[32], md5[16], algs[16], k2[AUTH_KEY_MAX];
	size_t			 k2len = 0;

	req_alice(a, &r, nonce, md5);
	stun_key_sha256("alice", REALM, "secret", key);
	r.pwalgs = algs;
	r.pwalgslen = auth_pwalgs(algs);
	r.pwalg = STUN_PWALG_SHA256;
	r.key = key;
	r.keylen = 32;
	r.mi = MI_SHA256;
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_INT(ar.ar_alg, STUN_PWALG_SHA256);
	CHECK_EQ_INT(ar.ar_keylen, 32);
	CHECK_EQ_MEM(ar.ar_key, key, 32);
	CHECK_EQ_INT(ar.ar_sha256_mi, 1);
	CHECK_EQ_STR(ar.ar_user, "alice");
	CHECK_EQ_INT(auth_user_key(a, "alice", STUN_PWALG_SHA256, k2, &k2len),
	    0);
	CHECK_EQ_INT(k2len, 32);
	CHECK_EQ_MEM(k2, key, 32);
	/* the MD5 key does not do for SHA-256 */
	r.key = md5;
	r.keylen = 16;
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* SHA-256 key, HMAC-SHA1 integrity */
	r.key = key;
	r.keylen = 32;
	r.mi = MI_SHA1;
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_INT(ar.ar_alg, STUN_PWALG_SHA256);
	CHECK_EQ_INT(ar.ar_sha256_mi, 0);
	/* both integrity attributes: MESSAGE-INTEGRITY-SHA256 decides */
	r.mi = MI_BOTH;
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_INT(ar.ar_sha256_mi, 1);
	r.mi = MI_BOTH_BAD256;
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* MD5 chosen explicitly */
	r.pwalg = STUN_PWALG_MD5;
	r.key = md5;
	r.keylen = 16;
	r.mi = MI_SHA1;
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_INT(ar.ar_alg, STUN_PWALG_MD5);

	/* MD5 (no algorithm attributes) signed with MI-SHA256 */
	r.pwalgs = NULL;
	r.pwalg = -1;
	r.mi = MI_SHA256;
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_INT(ar.ar_alg, STUN_PWALG_MD5);
	CHECK_EQ_INT(ar.ar_keylen, 16);
	CHECK_EQ_MEM(ar.ar_key, md5, 16);
	CHECK_EQ_INT(ar.ar_sha256_mi, 1);
	auth_free(a);
}

/* RFC 8489 9.2.4: PASSWORD-ALGORITHMS/-ALGORITHM must match the offer. */
static void
test_bid_down(void)
{
	static const uint8_t	 md5only[] = { 0, 1, 0, 0 };
	static const uint8_t	 swapped[] = { 0, 1, 0, 0, 0, 2, 0, 0 };
	static const uint8_t	 extra[] = { 0, 2, 0, 0, 0, 1, 0, 0, 0, 3,
				    0, 0 };
	static const uint8_t	 md5params[] = { 0, 1, 0, 4, 1, 2, 3, 4 };
	struct auth		*a = mkauth(NULL);
	struct auth_result	 ar;
	struct req		 r, base;
	char			 nonce[AUTH_NONCE_MAX];
	uint8_t			 key[16], algs[16];

	req_alice(a, &base, nonce, key);
	base.pwalgs = algs;
	base.pwalgslen = auth_pwalgs(algs);
	base.pwalg = STUN_PWALG_MD5;
	r = base;
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	/* one without the other */
	r.pwalg = -1;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	r = base;
	r.pwalgs = NULL;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	/* a list that is not the one offered */
	r = base;
	r.pwalgs = md5only;
	r.pwalgslen = sizeof(md5only);
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	r.pwalgs = swapped;
	r.pwalgslen = sizeof(swapped);
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	r.pwalgs = extra;
	r.pwalgslen = sizeof(extra);
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	/* an algorithm that is not in the list */
	r = base;
	r.pwalg = 3;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	r.pwalg = 0;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	/* a malformed PASSWORD-ALGORITHM: MD5 takes no parameters */
	r = base;
	r.pwalg = -1;
	r.pwalgraw = md5params;
	r.pwalgrawlen = sizeof(md5params);
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	r.pwalgrawlen = 2;
	CHECK_EQ_INT(check(a, &r, &ar), 400);
	auth_free(a);
}

static void
test_userhash(void)
{
	struct auth		*a = mkauth(NULL);
	struct auth_result	 ar;
	struct req		 r;
	char			 nonce[AUTH_NONCE_MAX];
	uint8_t			 key[16], key256[32], uh[32], algs[16];

	req_alice(a, &r, nonce, key);
	auth_userhash("alice", REALM, uh);
	r.user = NULL;
	r.uhash = uh;
	r.uhashlen = 32;
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_STR(ar.ar_user, "alice");
	CHECK_EQ_STR(ar.ar_quota_id, "alice");
	CHECK_EQ_INT(ar.ar_alg, STUN_PWALG_MD5);
	/* with SHA-256 throughout */
	stun_key_sha256("alice", REALM, "secret", key256);
	r.pwalgs = algs;
	r.pwalgslen = auth_pwalgs(algs);
	r.pwalg = STUN_PWALG_SHA256;
	r.key = key256;
	r.keylen = 32;
	r.mi = MI_SHA256;
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_INT(ar.ar_alg, STUN_PWALG_SHA256);
	/* bob's hash, alice's key */
	auth_userhash("bob", REALM, uh);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* nobody's hash */
	auth_userhash("mallory", REALM, uh);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* the hash of another realm */
	auth_userhash("alice", "example.com", uh);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* a REST user cannot be hashed back */
	auth_userhash(REST_USER, REALM, uh);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	auth_free(a);
}

static void
test_rest(void)
{
	struct auth		*a = mkauth(NULL), *b;
	struct auth_result	 ar;
	struct req		 r;
	char			 nonce[AUTH_NONCE_MAX], pass[64];
	uint8_t			 key[32], algs[16];

	req_alice(a, &r, nonce, key);
	r.user = REST_USER;
	/* the second secret of the list (rotation) */
	stun_key_md5(REST_USER, REALM, REST_PASS_S2, key);
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_STR(ar.ar_user, REST_USER);
	CHECK_EQ_STR(ar.ar_quota_id, "carol");
	CHECK_EQ_INT(ar.ar_alg, STUN_PWALG_MD5);
	CHECK_EQ_MEM(ar.ar_key, key, 16);
	/* the first one */
	auth_rest_password("s1", REST_USER, pass);
	stun_key_md5(REST_USER, REALM, pass, key);
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	/* a secret we do not have */
	auth_rest_password("s3", REST_USER, pass);
	stun_key_md5(REST_USER, REALM, pass, key);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* valid up to its expiry second, then refused */
	stun_key_md5(REST_USER, REALM, REST_PASS_S2, key);
	auth_nonce_make(a, SA(&cl4), 1700003600, nonce);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), 1700003600, &ar), 0);
	auth_nonce_make(a, SA(&cl4), 1700003601, nonce);
	CHECK_EQ_INT(check_at(a, &r, SA(&cl4), 1700003601, &ar), 401);
	auth_nonce_make(a, SA(&cl4), NOW, nonce);
	/* an expired one */
	r.user = "1699999999:carol";
	auth_rest_password("s2", r.user, pass);
	stun_key_md5(r.user, REALM, pass, key);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* not REST names: no digits, no user id, no separator */
	r.user = "17x0003600:carol";
	auth_rest_password("s2", r.user, pass);
	stun_key_md5(r.user, REALM, pass, key);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	r.user = "1700003600:";
	auth_rest_password("s2", r.user, pass);
	stun_key_md5(r.user, REALM, pass, key);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	r.user = ":carol";
	auth_rest_password("s2", r.user, pass);
	stun_key_md5(r.user, REALM, pass, key);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	r.user = "99999999999999999999999:carol";
	auth_rest_password("s2", r.user, pass);
	stun_key_md5(r.user, REALM, pass, key);
	CHECK_EQ_INT(check(a, &r, &ar), 401);
	/* a user id with the separator in it keeps the rest */
	r.user = "1700003600:carol:laptop";
	auth_rest_password("s2", r.user, pass);
	stun_key_md5(r.user, REALM, pass, key);
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_STR(ar.ar_quota_id, "carol:laptop");
	/* with SHA-256 */
	r.user = REST_USER;
	stun_key_sha256(REST_USER, REALM, REST_PASS_S2, key);
	r.pwalgs = algs;
	r.pwalgslen = auth_pwalgs(algs);
	r.pwalg = STUN_PWALG_SHA256;
	r.keylen = 32;
	r.mi = MI_SHA256;
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_INT(ar.ar_alg, STUN_PWALG_SHA256);
	CHECK_EQ_STR(ar.ar_quota_id, "carol");
	/* a static user that looks like a REST name: its own password ... */
	req_alice(a, &r, nonce, key);
	r.user = "1700003600:zed";
	stun_key_md5(r.user, REALM, "z", key);
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_STR(ar.ar_quota_id, "1700003600:zed");
	/* ... is tried first, then the REST secrets */
	auth_rest_password("s1", r.user, pass);
	stun_key_md5(r.user, REALM, pass, key);
	CHECK_EQ_INT(check(a, &r, &ar), 0);
	CHECK_EQ_STR(ar.ar_quota_id, "zed");
	auth_free(a);

	/* another separator */
	b = mkauth("rest_separator = \"/\"; nonce_lifetime = 600;");
	req_alice(b, &r, nonce, key);
	r.user = "1700003600/dave";
	auth_rest_password("s1", r.user, pass);
	stun_key_md5(r.user, REALM, pass, key);
	CHECK_EQ_INT(check(b, &r, &ar), 0);
	CHECK_EQ_STR(ar.ar_quota_id, "dave");
	r.user = "1700003600:dave";
	auth_rest_password("s1", r.user, pass);
	stun_key_md5(r.user, REALM, pass, key);
	CHECK_EQ_INT(check(b, &r, &ar), 401);
	auth_free(b);

	/* no secrets: no REST */
	{
		struct turnd_conf	*c = conf_new_defaults();

		free(c->realm);
		c->realm = strdup(REALM);
		b = auth_new(c, secret);
		conf_free(c);
	}
	req_alice(b, &r, nonce, key);
	r.user = REST_USER;
	stun_key_md5(REST_USER, REALM, REST_PASS_S2, key);
	CHECK_EQ_INT(check(b, &r, &ar), 401);
	auth_free(b);
}

/* Every single-bit change of a good request loses it. */
static void
test_bit_flips(void)
{
	struct auth		*a = mkauth(NULL);
	struct auth_result	 ar;
	struct stun_msg		 m;
	struct req		 r;
	char			 nonce[AUTH_NONCE_MAX];
	uint8_t			 key[16], buf[2048];
	size_t			 len, i;
	int			 bit, rv, accepted = 0;

	req_alice(a, &r, nonce, key);
	len = build(&r, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK(stun_msg_parse(&m, buf, len) == STUN_PARSE_OK &&
	    auth_check(a, &m, SA(&cl4), NOW, NULL, &ar) == 0);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1 << bit);
			if (stun_msg_parse(&m, buf, len) == STUN_PARSE_OK) {
				rv = auth_check(a, &m, SA(&cl4), NOW, NULL, &ar);
				if (rv == 0 && accepted++ == 0)
					printf("# byte %zu bit %d: accepted\n",
					    i, bit);
			}
			buf[i] ^= (uint8_t)(1 << bit);
		}
	}
	CHECK_EQ_INT(accepted, 0);
	auth_free(a);
}

/*
 * RFC 5769 2.4: the long-term vector carries a nonce of another server,
 * so auth_check() can only call it stale; the user's key as auth_new()
 * derives it must still verify the vector's MESSAGE-INTEGRITY.
 */
static void
test_rfc5769(void)
{
	struct turnd_conf	*c;
	struct auth		*a;
	struct auth_result	 ar;
	struct stun_msg		 m;
	struct sockaddr_storage	 any;
	char			 text[512], err[CONF_ERR_LEN];
	uint8_t			 key[AUTH_KEY_MAX], want[16];
	size_t			 keylen = 0;

	snprintf(text, sizeof(text), "realm = \"%s\";\n"
	    "auth = { users = ( { user = \"%s\"; password = \"%s\"; } ); };\n",
	    RFC5769_LT_REALM, RFC5769_LT_USERNAME, RFC5769_LT_PASSWORD);
	c = conf_load_string(text, "rfc5769", err, sizeof(err));
	CHECK(c != NULL);
	if (c == NULL) {
		printf("# %s\n", err);
		return;
	}
	a = auth_new(c, secret);
	conf_free(c);
	CHECK(a != NULL);
	if (a == NULL)
		return;
	CHECK_EQ_INT(auth_user_key(a, RFC5769_LT_USERNAME, STUN_PWALG_MD5,
	    key, &keylen), 0);
	CHECK_EQ_INT(keylen, 16);
	stun_key_md5(RFC5769_LT_USERNAME, RFC5769_LT_REALM,
	    RFC5769_LT_PASSWORD, want);
	CHECK_EQ_MEM(key, want, 16);
	CHECK(stun_msg_parse(&m, rfc5769_ltreq, sizeof(rfc5769_ltreq)) ==
	    STUN_PARSE_OK);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, keylen), 0);
	key[0] ^= 1;
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, keylen), -1);
	mkaddr(&any, "192.0.2.1", 32853);
	CHECK_EQ_INT(auth_check(a, &m, SA(&any), NOW, NULL, &ar), 438);
	auth_free(a);
}

int
main(void)
{
	size_t	i;

	for (i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(0x40 + i);
	mkaddr(&cl4, "192.0.2.1", 5000);
	mkaddr(&cl4port, "192.0.2.1", 6000);
	mkaddr(&cl4other, "192.0.2.2", 5000);
	mkaddr(&cl4mapped, "::ffff:192.0.2.1", 7000);
	mkaddr(&cl6, "2001:db8::1", 5000);

	RUN(test_basics);
	RUN(test_nonce_format);
	RUN(test_challenge);
	RUN(test_md5_user);
	RUN(test_missing);
	RUN(test_malformed);
	RUN(test_realm);
	RUN(test_nonce);
	RUN(test_sha256);
	RUN(test_bid_down);
	RUN(test_userhash);
	RUN(test_rest);
	RUN(test_bit_flips);
	RUN(test_rfc5769);
	return (unit_done());
}
