/*
 * fuzz_stun_msg.c -- libFuzzer target for the STUN message codec: parse
 * a datagram, run every lookup, check and decoder on what it yields,
 * then build a response from it and check that the builder's output
 * parses and verifies.  Invariant violations abort().
 */

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define COPY_MAX	40	/* attributes copied into the response */

static const uint8_t	fuzz_key[] = "fuzz key";

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
decode_all(const struct stun_msg *m)
{
	struct sockaddr_storage	 ss;
	const struct stun_attr	*a;
	const char		*reason;
	char			 str[1024];
	size_t			 rlen;
	uint64_t		 u64;
	uint32_t		 u32;
	uint16_t		 u16, list[STUN_UNKNOWN_MAX];
	uint8_t			 u8;
	unsigned int		 i;
	int			 code, n;

	check(m->nattrs <= STUN_ATTR_MAX);
	for (i = 0; i < m->nattrs; i++) {
		a = &m->attrs[i];
		check(a->val >= m->raw + STUN_HDR_LEN + STUN_ATTR_HDR_LEN);
		check((size_t)(a->val - m->raw) + a->len <= m->rawlen);
		check(stun_msg_find(m, a->type) != NULL);
		(void)stun_attr_known(a->type);
		(void)stun_attr_name(a->type);
		if (stun_attr_get_addr(a, &ss) == 0)
			check(ss.ss_family == AF_INET ||
			    ss.ss_family == AF_INET6);
		(void)stun_attr_get_xaddr(a, m->tid, &ss);
		(void)stun_attr_get_u32(a, &u32);
		(void)stun_attr_get_u64(a, &u64);
		(void)stun_attr_get_u8(a, &u8);
		(void)stun_attr_get_channel(a, &u16);
		if (stun_attr_get_error(a, &code, &reason, &rlen) == 0)
			check(code >= 300 && code <= 699 &&
			    rlen <= STUN_REASON_MAX &&
			    (const uint8_t *)reason + rlen == a->val + a->len);
		n = stun_attr_get_unknown(a, list, STUN_UNKNOWN_MAX);
		check(n <= STUN_UNKNOWN_MAX);
		n = stun_attr_get_pwalgs(a, list, 4);
		check(n <= 4);
		(void)stun_attr_get_pwalg(a, &u16);
		if (stun_attr_get_str(a, STUN_NONCE_MAX, str,
		    sizeof(str)) == 0)
			check(strlen(str) == a->len);
	}
}

/* Try the integrity checks with keys derived from the message itself. */
static void
check_all(const struct stun_msg *m)
{
	const struct stun_attr	*u, *r;
	char			 user[STUN_USERNAME_MAX + 1];
	char			 realm[STUN_REALM_MAX + 1];
	uint8_t			 k16[16], k32[32];
	int			 fp;

	fp = stun_msg_check_fingerprint(m);
	check(fp >= -1 && fp <= 1);
	check((fp == 1) == (m->fp_idx < 0));
	(void)stun_msg_check_integrity(m, fuzz_key, sizeof(fuzz_key));
	(void)stun_msg_check_integrity(m, NULL, 0);
	(void)stun_msg_check_integrity_sha256(m, fuzz_key, sizeof(fuzz_key));
	u = stun_msg_find(m, STUN_ATTR_USERNAME);
	r = stun_msg_find(m, STUN_ATTR_REALM);
	if (u != NULL && r != NULL &&
	    stun_attr_get_str(u, STUN_USERNAME_MAX, user, sizeof(user)) == 0 &&
	    stun_attr_get_str(r, STUN_REALM_MAX, realm, sizeof(realm)) == 0) {
		stun_key_md5(user, realm, "pass", k16);
		(void)stun_msg_check_integrity(m, k16, sizeof(k16));
		stun_key_sha256(user, realm, "pass", k32);
		(void)stun_msg_check_integrity_sha256(m, k32, sizeof(k32));
	}
}

/*
 * Answer the message as a server might: a 420 listing its unknown
 * attributes, or a success response echoing its attributes and the
 * decoded peer address, then integrity and fingerprint.  What the builder
 * finishes must parse and verify.
 */
static void
respond(const struct stun_msg *m)
{
	static uint8_t		 out[STUN_MSG_MAX];
	struct stun_build	 b;
	struct stun_msg		 rm;
	struct sockaddr_storage	 ss;
	const struct stun_attr	*a;
	uint16_t		 unk[STUN_UNKNOWN_MAX];
	unsigned int		 i, nunk, copied = 0;
	size_t			 n;
	int			 code;

	nunk = stun_msg_unknown(m, unk, STUN_UNKNOWN_MAX);
	check(nunk <= STUN_UNKNOWN_MAX);
	for (i = 0; i < nunk; i++)
		check(STUN_ATTR_IS_REQUIRED(unk[i]) &&
		    !stun_attr_known(unk[i]));

	stun_build_init(&b, out, sizeof(out), STUN_TYPE(m->method,
	    nunk > 0 ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS), m->tid);
	if (nunk > 0) {
		stun_build_error(&b, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL);
		stun_build_unknown(&b, unk, nunk);
	} else {
		a = stun_msg_find(m, STUN_ATTR_XOR_PEER_ADDRESS);
		if (a != NULL && stun_attr_get_xaddr(a, m->tid, &ss) == 0) {
			stun_build_xaddr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS,
			    (struct sockaddr *)&ss);
			stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS,
			    (struct sockaddr *)&ss);
		}
		a = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
		if (a != NULL && stun_attr_get_error(a, &code, NULL,
		    NULL) == 0)
			stun_build_error(&b, code, NULL);
		for (i = 0; i < m->nattrs && copied < COPY_MAX; i++) {
			a = &m->attrs[i];
			if (a->type == STUN_ATTR_MESSAGE_INTEGRITY ||
			    a->type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
			    a->type == STUN_ATTR_FINGERPRINT)
				continue;
			stun_build_attr(&b, a->type, a->val, a->len);
			copied++;
		}
	}
	stun_build_integrity(&b, fuzz_key, sizeof(fuzz_key));
	stun_build_integrity_sha256(&b, fuzz_key, sizeof(fuzz_key));
	stun_build_fingerprint(&b);
	if ((n = stun_build_finish(&b)) == 0)
		return;

	check(n == b.len && n <= sizeof(out) && n % 4 == 0);
	check(stun_msg_parse(&rm, out, n) == STUN_PARSE_OK);
	check(rm.method == m->method);
	check(memcmp(rm.tid, m->tid, STUN_TID_LEN) == 0);
	check(stun_msg_check_fingerprint(&rm) == 0);
	check(stun_msg_check_integrity(&rm, fuzz_key, sizeof(fuzz_key)) == 0);
	check(stun_msg_check_integrity_sha256(&rm, fuzz_key,
	    sizeof(fuzz_key)) == 0);
	if (nunk > 0) {
		a = stun_msg_find(&rm, STUN_ATTR_UNKNOWN_ATTRIBUTES);
		check(a != NULL && stun_attr_get_unknown(a, unk,
		    STUN_UNKNOWN_MAX) == (int)nunk);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct stun_msg		m;
	struct stun_chan	c;
	int			r;

	if (stun_chan_parse(d, n, &c) == 0)
		check(c.data == d + 4 && (size_t)c.len + 4 <= n);
	r = stun_msg_parse(&m, d, n);
	check(r == STUN_PARSE_OK || r == STUN_PARSE_MALFORMED ||
	    r == STUN_PARSE_NOTSTUN);
	if (r != STUN_PARSE_NOTSTUN)
		check(stun_msg_maybe(d, n) == 1);
	if (r == STUN_PARSE_NOTSTUN)
		return (0);
	check(m.rawlen == n && m.tid == d + 8);
	decode_all(&m);
	if (r == STUN_PARSE_MALFORMED)
		return (0);
	check_all(&m);
	respond(&m);
	return (0);
}
