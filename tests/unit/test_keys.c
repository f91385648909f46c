/*
 * test_keys.c -- the Redis key schema (src/store/keys.h): every name
 * turnd and turnctl format, byte for byte against the names of coturn's
 * database and of man/turnd-redis.7, and the bound of KEYS_LEN.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "store/keys.h"
#include "stun/stun.h"
#include "unit.h"

#define ID	((uint64_t)12345678901234567890ULL)
#define IID	"3f9c2a71d04b8e65"

/* Realm keys and user keys: what coturn's turnadmin reads and writes. */
static void
test_coturn_user_db(void)
{
	char	b[KEYS_LEN];

	CHECK_EQ_STR(keys_user(b, sizeof(b), "example.com", "alice"),
	    "turn/realm/example.com/user/alice/key");
	CHECK_EQ_STR(keys_realm(b, sizeof(b), "example.com", KEYS_SECRET),
	    "turn/realm/example.com/secret");
	CHECK_EQ_STR(keys_realm(b, sizeof(b), "example.com",
	    KEYS_ALLOWED_PEER_IP), "turn/realm/example.com/allowed-peer-ip");
	CHECK_EQ_STR(keys_realm(b, sizeof(b), "example.com",
	    KEYS_DENIED_PEER_IP), "turn/realm/example.com/denied-peer-ip");
	CHECK_EQ_STR(keys_realm(b, sizeof(b), "example.com", KEYS_USER_QUOTA),
	    "turn/realm/example.com/user-quota");
	CHECK_EQ_STR(keys_realm(b, sizeof(b), "example.com",
	    KEYS_TOTAL_QUOTA), "turn/realm/example.com/total-quota");
	CHECK_EQ_STR(keys_realm(b, sizeof(b), "example.com", KEYS_MAX_BPS),
	    "turn/realm/example.com/max-bps");
}

/* coturn's statistics: the status key and the event channels. */
static void
test_coturn_events(void)
{
	char	b[KEYS_LEN];

	CHECK_EQ_STR(keys_alloc_status(b, sizeof(b), "example.com", "alice",
	    ID), "turn/realm/example.com/user/alice/allocation/"
	    "12345678901234567890/status");
	CHECK_EQ_STR(keys_alloc_status(b, sizeof(b), "r", "u", 7),
	    "turn/realm/r/user/u/allocation/00000000000000000007/status");
	CHECK_EQ_STR(keys_alloc_traffic(b, sizeof(b), "r", "u", 7, 0, 0),
	    "turn/realm/r/user/u/allocation/00000000000000000007/traffic");
	CHECK_EQ_STR(keys_alloc_traffic(b, sizeof(b), "r", "u", 7, 0, 1),
	    "turn/realm/r/user/u/allocation/00000000000000000007/"
	    "traffic/peer");
	CHECK_EQ_STR(keys_alloc_traffic(b, sizeof(b), "r", "u", 7, 1, 0),
	    "turn/realm/r/user/u/allocation/00000000000000000007/"
	    "total_traffic");
	CHECK_EQ_STR(keys_alloc_traffic(b, sizeof(b), "r", "u", 7, 1, 1),
	    "turn/realm/r/user/u/allocation/00000000000000000007/"
	    "total_traffic/peer");
}

/* turnd's own keys and channels. */
static void
test_turnd_keys(void)
{
	char	b[KEYS_LEN];

	CHECK_EQ_STR(keys_id(b, sizeof(b), 1), "00000000000000000001");
	CHECK_EQ_STR(keys_id(b, sizeof(b), ID), "12345678901234567890");
	CHECK_EQ_STR(keys_alloc(b, sizeof(b), 1),
	    "turnd/alloc/00000000000000000001");
	CHECK_EQ_STR(keys_alloc_perms(b, sizeof(b), ID),
	    "turnd/alloc/12345678901234567890/perms");
	CHECK_EQ_STR(keys_alloc_chans(b, sizeof(b), ID),
	    "turnd/alloc/12345678901234567890/chans");
	CHECK_EQ_STR(keys_instance(b, sizeof(b), IID),
	    "turnd/instance/3f9c2a71d04b8e65");
	CHECK_EQ_STR(KEYS_INSTANCE_PREFIX, "turnd/instance/");
	CHECK_EQ_STR(KEYS_INSTANCES, "turnd/instances");
	CHECK_EQ_STR(keys_quota(b, sizeof(b), "example.com", "alice"),
	    "turnd/quota/example.com/alice");
	CHECK_EQ_STR(keys_quota_member(b, sizeof(b), IID, 9),
	    "3f9c2a71d04b8e65/00000000000000000009");
	CHECK_EQ_STR(keys_realm_changed(b, sizeof(b), "example.com"),
	    "turnd/realm/example.com/changed");
	CHECK_EQ_STR(keys_keyspace(b, sizeof(b), 3,
	    "turn/realm/example.com/max-bps"),
	    "__keyspace@3__:turn/realm/example.com/max-bps");
}

/* turnctl user list: the SCAN pattern and the names it finds. */
static void
test_user_scan(void)
{
	char		 b[KEYS_LEN];
	const char	*k, *name;
	size_t		 n = 0;

	CHECK_EQ_STR(keys_user_pattern(b, sizeof(b), "example.com"),
	    "turn/realm/example.com/user/*/key");
	CHECK_EQ_STR(keys_user_pattern(b, sizeof(b), "a*b?c[d]e\\f"),
	    "turn/realm/a\\*b\\?c\\[d\\]e\\\\f/user/*/key");

	k = "turn/realm/example.com/user/alice/key";
	name = keys_user_of(k, strlen(k), "example.com", &n);
	CHECK(name != NULL && n == 5 && strncmp(name, "alice", n) == 0);
	k = "turn/realm/example.com/user/a/b/key";
	name = keys_user_of(k, strlen(k), "example.com", &n);
	CHECK(name != NULL && n == 3 && strncmp(name, "a/b", n) == 0);
	/* not a user key of that realm */
	k = "turn/realm/example.com/user//key";
	CHECK(keys_user_of(k, strlen(k), "example.com", &n) == NULL);
	k = "turn/realm/example.org/user/alice/key";
	CHECK(keys_user_of(k, strlen(k), "example.com", &n) == NULL);
	k = "turn/realm/example.com/user/alice/password";
	CHECK(keys_user_of(k, strlen(k), "example.com", &n) == NULL);
	k = "turn/realm/example.com/user/alice/key";
	CHECK(keys_user_of(k, strlen(k) - 1, "example.com", &n) == NULL);
}

/*
 * Every name, for the longest realm turnd.conf accepts and the longest
 * user name STUN carries, fits in KEYS_LEN: formatted into a KEYS_LEN
 * buffer it equals the same name formatted into a larger one.
 */
static void
test_bound(void)
{
	const struct conf_key	*ck;
	char			 realm[256], user[STUN_USERNAME_MAX + 1];
	char			 a[KEYS_LEN], b[4 * KEYS_LEN], key[KEYS_LEN];
	char			 ks[KEYS_KEYSPACE_LEN];
	size_t			 rlen, n;
	volatile size_t		 cut = 12;	/* unknown to the compiler */

	ck = conf_key_find("realm");
	CHECK(ck != NULL && ck->ck_max > 0 && ck->ck_max < 256);
	if (ck == NULL || ck->ck_max <= 0 || ck->ck_max >= 256)
		return;
	rlen = (size_t)ck->ck_max;
	memset(realm, '*', rlen);	/* the pattern escapes every byte */
	realm[rlen] = '\0';
	memset(user, 'u', STUN_USERNAME_MAX);
	user[STUN_USERNAME_MAX] = '\0';

#define FITS(call_a, call_b) do {					\
	call_a;								\
	call_b;								\
	CHECK(strlen(b) < sizeof(a));					\
	CHECK_EQ_STR(a, b);						\
} while (0)
	FITS(keys_user(a, sizeof(a), realm, user),
	    keys_user(b, sizeof(b), realm, user));
	FITS(keys_user_pattern(a, sizeof(a), realm),
	    keys_user_pattern(b, sizeof(b), realm));
	FITS(keys_realm(a, sizeof(a), realm, KEYS_ALLOWED_PEER_IP),
	    keys_realm(b, sizeof(b), realm, KEYS_ALLOWED_PEER_IP));
	FITS(keys_alloc_status(a, sizeof(a), realm, user, UINT64_MAX),
	    keys_alloc_status(b, sizeof(b), realm, user, UINT64_MAX));
	FITS(keys_alloc_traffic(a, sizeof(a), realm, user, UINT64_MAX, 1, 1),
	    keys_alloc_traffic(b, sizeof(b), realm, user, UINT64_MAX, 1, 1));
	FITS(keys_quota(a, sizeof(a), realm, user),
	    keys_quota(b, sizeof(b), realm, user));
	FITS(keys_realm_changed(a, sizeof(a), realm),
	    keys_realm_changed(b, sizeof(b), realm));
#undef FITS
	/* a keyspace channel of a key of KEYS_LEN */
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	keys_keyspace(ks, sizeof(ks), INT_MIN, key);
	keys_keyspace(b, sizeof(b), INT_MIN, key);
	CHECK(strlen(b) < sizeof(ks));
	CHECK_EQ_STR(ks, b);

	/* and a name too long for the buffer is cut, NUL-terminated */
	CHECK_EQ_STR(keys_user(a, cut, "example.com", "alice"), "turn/realm/");
	keys_user_pattern(b, sizeof(b), "a*b?c");
	for (n = 1; n <= strlen(b) + 1; n++) {
		keys_user_pattern(a, n, "a*b?c");
		CHECK(strlen(a) == n - 1 && strncmp(a, b, n - 1) == 0);
	}
}

/* ---- man/turnd-redis.7 documents the same names ---- */

/*
 * One line of mdoc as plain words: macros dropped, "Ar x" as "<x>",
 * no space after "Ns".  Enough for the lines that name keys.
 */
static void
render(const char *line, size_t linelen, char *out, size_t len)
{
	char		 word[256];
	const char	*p = line, *end = line + linelen;
	size_t		 n, used = 0;
	int		 ns = 1, ar = 0;

	out[0] = '\0';
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (n = 0; p < end && *p != ' ' && *p != '\t'; p++)
			if (n + 1 < sizeof(word))
				word[n++] = *p;
		word[n] = '\0';
		if (n == 0)
			break;
		if (strcmp(word, "Ns") == 0) {
			ns = 1;
			continue;
		}
		if (strcmp(word, "Ar") == 0 || strcmp(word, ".Ar") == 0) {
			ar = 1;
			continue;
		}
		if (strcmp(word, ".It") == 0 || strcmp(word, "Li") == 0 ||
		    strcmp(word, ".Li") == 0 || strcmp(word, ".Dl") == 0)
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s%s%s%s",
		    ns ? "" : " ", ar ? "<" : "", word, ar ? ">" : "");
		if (used >= len)
			return;
		ns = ar = 0;
	}
}

/* 1 if some line of man, rendered, has name as a word of its own. */
static int
documented(const char *man, const char *name)
{
	char		 text[2048];
	const char	*line, *eol, *p;
	size_t		 n = strlen(name);

	for (line = man; *line != '\0'; line = *eol != '\0' ? eol + 1 : eol) {
		if ((eol = strchr(line, '\n')) == NULL)
			eol = line + strlen(line);
		render(line, (size_t)(eol - line), text, sizeof(text));
		for (p = text; (p = strstr(p, name)) != NULL; p++)
			if ((p == text || p[-1] == ' ') && (p[n] == '\0' ||
			    p[n] == ' ' || p[n] == ','))
				return (1);
	}
	printf("# man/turnd-redis.7 does not name %s\n", name);
	return (0);
}

/* Replace the first from in buf by to (buf has KEYS_LEN bytes). */
static char *
subst(char *buf, const char *from, const char *to)
{
	char	tmp[KEYS_LEN], *p;

	if ((p = strstr(buf, from)) == NULL)
		return (buf);
	snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(p - buf), buf, to,
	    p + strlen(from));
	memcpy(buf, tmp, sizeof(tmp));
	return (buf);
}

#define ANY_ID	"00000000000000000042"	/* keys_id(42), shown as <id> */

static void
test_man_page(void)
{
	static const char *const realm_names[] = { KEYS_SECRET,
	    KEYS_ALLOWED_PEER_IP, KEYS_DENIED_PEER_IP, KEYS_USER_QUOTA,
	    KEYS_TOTAL_QUOTA, KEYS_MAX_BPS };
	char		*man, b[KEYS_LEN], pfx[KEYS_LEN], *p;
	size_t		 i;

	man = unit_slurp("man/turnd-redis.7");
	CHECK(man != NULL);
	if (man == NULL)
		return;
	CHECK(documented(man, keys_user(b, sizeof(b), "<realm>", "<user>")));
	for (i = 0; i < sizeof(realm_names) / sizeof(realm_names[0]); i++)
		CHECK(documented(man, keys_realm(b, sizeof(b), "<realm>",
		    realm_names[i])));
	CHECK(documented(man, subst(keys_alloc(b, sizeof(b), 42), ANY_ID,
	    "<id>")));
	CHECK(documented(man, subst(keys_alloc_perms(b, sizeof(b), 42),
	    ANY_ID, "<id>")));
	CHECK(documented(man, subst(keys_alloc_chans(b, sizeof(b), 42),
	    ANY_ID, "<id>")));

	/* the status key, and the event channels beside it on <prefix> */
	subst(keys_alloc_status(b, sizeof(b), "<realm>", "<user>", 42),
	    ANY_ID, "<id>");
	CHECK(documented(man, b));
	snprintf(pfx, sizeof(pfx), "%s", b);
	if ((p = strrchr(pfx, '/')) != NULL)
		*p = '\0';
	CHECK(documented(man, pfx));
	CHECK(documented(man, subst(b, pfx, "<prefix>")));
	for (i = 0; i < 4; i++) {
		keys_alloc_traffic(b, sizeof(b), "<realm>", "<user>", 42,
		    i >= 2, i % 2);
		CHECK(documented(man, subst(subst(b, ANY_ID, "<id>"), pfx,
		    "<prefix>")));
	}

	CHECK(documented(man, keys_instance(b, sizeof(b), "<iid>")));
	CHECK(documented(man, KEYS_INSTANCES));
	CHECK(documented(man, keys_quota(b, sizeof(b), "<realm>",
	    "<quota-id>")));
	CHECK(documented(man, subst(keys_quota_member(b, sizeof(b), "<iid>",
	    42), ANY_ID, "<id>")));
	CHECK(documented(man, keys_realm_changed(b, sizeof(b), "<realm>")));
	free(man);
}

int
main(void)
{
	RUN(test_coturn_user_db);
	RUN(test_coturn_events);
	RUN(test_turnd_keys);
	RUN(test_user_scan);
	RUN(test_bound);
	RUN(test_man_page);
	return (unit_done());
}
