/*
 * test_stun_codec.c -- the STUN codec beyond the RFC 5769 vectors:
 * truncation sweeps, hostile lengths, XOR-address round trips, unknown
 * attributes, ERROR-CODE, UNKNOWN-ATTRIBUTES, string limits, builder
 * overflow, MESSAGE-INTEGRITY(-SHA256), FINGERPRINT and the type macros.
 * Meant to be run under ASan too: every prefix is parsed from a buffer
 * of exactly its size.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "stun/stun.h"
#include "unit.h"
#include "rfc5769.h"

#define BINDING_REQ	STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_REQUEST)
#define ALLOC_ERR	STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR)

static const uint8_t tid0[STUN_TID_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
};
static const uint8_t key0[] = "a key";

/* A fixed-seed xorshift32, so every run tests the same cases. */
static uint32_t	rng_state = 0x2545f491U;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (rng_state);
}

static void
rng_fill(uint8_t *p, size_t n)
{
	while (n-- > 0)
		*p++ = (uint8_t)rng();
}

/* A hand-made message, for what the builder refuses to write. */
struct raw {
	uint8_t	b[2048];
	size_t	len;
};

static void
raw_init(struct raw *r, uint16_t type)
{
	memset(r, 0, sizeof(*r));
	r->b[0] = (uint8_t)(type >> 8);
	r->b[1] = (uint8_t)type;
	r->b[4] = 0x21;
	r->b[5] = 0x12;
	r->b[6] = 0xa4;
	r->b[7] = 0x42;
	memcpy(r->b + 8, tid0, STUN_TID_LEN);
	r->len = STUN_HDR_LEN;
}

/* Append a TLV claiming len bytes, with vlen value bytes after it. */
static void
raw_tlv(struct raw *r, uint16_t type, uint16_t len, const void *val,
    size_t vlen)
{
	r->b[r->len] = (uint8_t)(type >> 8);
	r->b[r->len + 1] = (uint8_t)type;
	r->b[r->len + 2] = (uint8_t)(len >> 8);
	r->b[r->len + 3] = (uint8_t)len;
	r->len += 4;
	if (val != NULL)
		memcpy(r->b + r->len, val, vlen);
	r->len += vlen;
}

/* A well-formed attribute: value then zero padding. */
static void
raw_attr(struct raw *r, uint16_t type, const void *val, size_t len)
{
	raw_tlv(r, type, (uint16_t)len, val, len);
	while (r->len % 4 != 0)
		r->b[r->len++] = 0;
}

/* Set the header length to match the bytes written. */
static void
raw_fix(struct raw *r)
{
	size_t	n = r->len - STUN_HDR_LEN;

	r->b[2] = (uint8_t)(n >> 8);
	r->b[3] = (uint8_t)n;
}

/* Parse a copy of exactly len bytes, so ASan sees any overread. */
static int
parse_copy(const uint8_t *p, size_t len, int (*fn)(const struct stun_msg *,
    int))
{
	struct stun_msg	 m;
	uint8_t		*copy;
	int		 r;

	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, p, len);
	r = stun_msg_parse(&m, copy, len);
	if (fn != NULL)
		fn(&m, r);
	free(copy);
	return (r);
}

/* Run every decoder on every attribute of a parsed message. */
static int
exercise(const struct stun_msg *m, int r)
{
	struct sockaddr_storage	 ss;
	const struct stun_attr	*a;
	const char		*reason;
	char			 str[800];
	size_t			 rlen;
	uint64_t		 u64;
	uint32_t		 u32;
	uint16_t		 u16, list[STUN_UNKNOWN_MAX];
	uint8_t			 u8;
	unsigned int		 i;
	int			 code;

	if (r == STUN_PARSE_NOTSTUN)
		return (0);
	CHECK(m->nattrs <= STUN_ATTR_MAX);
	for (i = 0; i < m->nattrs; i++) {
		a = &m->attrs[i];
		/* Every value lies inside the message. */
		CHECK(a->val >= m->raw + STUN_HDR_LEN + STUN_ATTR_HDR_LEN);
		CHECK(a->val + a->len <= m->raw + m->rawlen);
		(void)stun_attr_get_addr(a, &ss);
		(void)stun_attr_get_xaddr(a, m->tid, &ss);
		(void)stun_attr_get_u32(a, &u32);
		(void)stun_attr_get_u64(a, &u64);
		(void)stun_attr_get_u8(a, &u8);
		(void)stun_attr_get_channel(a, &u16);
		(void)stun_attr_get_error(a, &code, &reason, &rlen);
		(void)stun_attr_get_unknown(a, list, STUN_UNKNOWN_MAX);
		(void)stun_attr_get_pwalgs(a, list, STUN_UNKNOWN_MAX);
		(void)stun_attr_get_pwalg(a, &u16);
		(void)stun_attr_get_str(a, sizeof(str) - 1, str, sizeof(str));
	}
	(void)stun_msg_unknown(m, list, STUN_UNKNOWN_MAX);
	(void)stun_msg_check_fingerprint(m);
	(void)stun_msg_check_integrity(m, key0, sizeof(key0));
	(void)stun_msg_check_integrity_sha256(m, key0, sizeof(key0));
	return (0);
}

/* A message with one of most kinds of attribute, MI, MI-SHA256 and FP. */
static size_t
build_big(uint8_t *buf, size_t cap)
{
	struct stun_build	b;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	static const uint16_t	unk[] = { 0x7f00, 0x0002, 0x7f01 };
	static const uint8_t	pwalgs[] = { 0, 1, 0, 0, 0, 2, 0, 0 };
	static const uint8_t	even[] = { 0x80 };
	uint8_t			data[13];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(3478);
	sin.sin_addr.s_addr = htonl(0xc0000201);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(65535);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	memset(data, 0xab, sizeof(data));

	stun_build_init(&b, buf, cap, ALLOC_ERR, tid0);
	stun_build_error(&b, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL);
	stun_build_unknown(&b, unk, 3);
	stun_build_str(&b, STUN_ATTR_REALM, "example.org");
	stun_build_str(&b, STUN_ATTR_NONCE, "0123456789abcdef");
	stun_build_str(&b, STUN_ATTR_SOFTWARE, "turnd");
	stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER,
	    (struct sockaddr *)&sin);
	stun_build_xaddr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS,
	    (struct sockaddr *)&sin);
	stun_build_xaddr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS,
	    (struct sockaddr *)&sin6);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_build_u32(&b, STUN_ATTR_REQUESTED_TRANSPORT, 17U << 24);
	stun_build_u32(&b, STUN_ATTR_CHANNEL_NUMBER, 0x40000000U);
	stun_build_u64(&b, STUN_ATTR_RESERVATION_TOKEN, 0x0102030405060708ULL);
	stun_build_attr(&b, STUN_ATTR_EVEN_PORT, even, sizeof(even));
	stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, pwalgs,
	    sizeof(pwalgs));
	stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, pwalgs, 4);
	stun_build_attr(&b, STUN_ATTR_DATA, data, sizeof(data));
	stun_build_attr(&b, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	stun_build_integrity(&b, key0, sizeof(key0));
	stun_build_integrity_sha256(&b, key0, sizeof(key0));
	stun_build_fingerprint(&b);
	return (stun_build_finish(&b));
}

static void
test_truncation_sweep(void)
{
	struct {
		const uint8_t	*p;
		size_t		 len;
	} vecs[] = {
		{ rfc5769_req, sizeof(rfc5769_req) },
		{ rfc5769_resp4, sizeof(rfc5769_resp4) },
		{ rfc5769_resp6, sizeof(rfc5769_resp6) },
		{ rfc5769_ltreq, sizeof(rfc5769_ltreq) },
		{ NULL, 0 },
	};
	uint8_t		big[1024], tmp[1024];
	size_t		biglen, i, len, n;
	int		r;

	biglen = build_big(big, sizeof(big));
	CHECK(biglen > 0);
	vecs[4].p = big;
	vecs[4].len = biglen;
	CHECK_EQ_INT(parse_copy(big, biglen, exercise), STUN_PARSE_OK);

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		/* As received: only the whole message is STUN. */
		for (len = 0; len <= vecs[i].len; len++) {
			r = parse_copy(vecs[i].p, len, exercise);
			if (len == vecs[i].len)
				CHECK_EQ_INT(r, STUN_PARSE_OK);
			else
				CHECK_EQ_INT(r, STUN_PARSE_NOTSTUN);
		}
		/*
		 * With the header length patched to the prefix, so the
		 * attribute walk meets every cut: OK or MALFORMED, never
		 * NOTSTUN, never a read past the end.
		 */
		for (len = STUN_HDR_LEN; len <= vecs[i].len; len += 4) {
			memcpy(tmp, vecs[i].p, len);
			n = len - STUN_HDR_LEN;
			tmp[2] = (uint8_t)(n >> 8);
			tmp[3] = (uint8_t)n;
			r = parse_copy(tmp, len, exercise);
			CHECK(r == STUN_PARSE_OK || r == STUN_PARSE_MALFORMED);
		}
	}
}

static void
test_hostile_header(void)
{
	struct stun_msg	m;
	struct raw	r;
	uint8_t		buf[128];

	/* Too short for a header. */
	CHECK_EQ_INT(stun_msg_parse(&m, rfc5769_req, 19), STUN_PARSE_NOTSTUN);
	CHECK_EQ_INT(stun_msg_parse(&m, NULL, 0), STUN_PARSE_NOTSTUN);

	/* A bare header is a valid message with no attributes. */
	raw_init(&r, BINDING_REQ);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_OK);
	CHECK_EQ_INT(m.nattrs, 0);
	CHECK_EQ_INT(m.mi_idx, -1);
	CHECK_EQ_INT(m.fp_idx, -1);

	/* Top bits, cookie, length not a multiple of 4, length != size. */
	memcpy(buf, rfc5769_resp4, sizeof(rfc5769_resp4));
	buf[0] |= 0x40;
	CHECK_EQ_INT(stun_msg_parse(&m, buf, sizeof(rfc5769_resp4)),
	    STUN_PARSE_NOTSTUN);
	buf[0] = (buf[0] & 0x3f) | 0x80;
	CHECK_EQ_INT(stun_msg_parse(&m, buf, sizeof(rfc5769_resp4)),
	    STUN_PARSE_NOTSTUN);
	memcpy(buf, rfc5769_resp4, sizeof(rfc5769_resp4));
	buf[7] ^= 1;
	CHECK_EQ_INT(stun_msg_parse(&m, buf, sizeof(rfc5769_resp4)),
	    STUN_PARSE_NOTSTUN);
	CHECK_EQ_INT(stun_msg_maybe(buf, sizeof(rfc5769_resp4)), 0);

	raw_init(&r, BINDING_REQ);
	raw_attr(&r, STUN_ATTR_SOFTWARE, "abcdef", 6);
	r.b[3] = 6;	/* 6: the value without its padding */
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, 26), STUN_PARSE_NOTSTUN);
	CHECK_EQ_INT(stun_msg_maybe(r.b, 26), 0);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_OK);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len + 4), STUN_PARSE_NOTSTUN);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len - 4), STUN_PARSE_NOTSTUN);
	r.b[3] = 0xfc;
	r.b[2] = 0xff;
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_NOTSTUN);

	CHECK_EQ_INT(stun_msg_maybe(rfc5769_req, sizeof(rfc5769_req)), 1);
	CHECK_EQ_INT(stun_msg_maybe(rfc5769_req, 19), 0);
	CHECK_EQ_INT(stun_msg_maybe(NULL, 0), 0);
}

static void
test_hostile_attrs(void)
{
	struct stun_msg	m;
	struct raw	r;
	uint8_t		v[8] = { 0 };
	unsigned int	i;

	/* A TLV overrunning the area by one padded word. */
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, STUN_ATTR_LIFETIME, 8, v, 4);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_MALFORMED);
	/* The header is still usable for a 400. */
	CHECK_EQ_INT(m.method, STUN_METHOD_BINDING);
	CHECK_EQ_INT(m.cls, STUN_CLASS_REQUEST);
	CHECK(m.tid != NULL && memcmp(m.tid, tid0, STUN_TID_LEN) == 0);

	/* Padding counts: length 5 needs 8 bytes, only 4 + 4 are there. */
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, STUN_ATTR_SOFTWARE, 5, "abcd", 4);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_MALFORMED);

	/* Length 0xFFFF. */
	raw_init(&r, BINDING_REQ);
	raw_attr(&r, STUN_ATTR_SOFTWARE, "ok", 2);
	raw_tlv(&r, STUN_ATTR_DATA, 0xffff, v, 8);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_MALFORMED);

	/* A partial attribute header (2 bytes) cannot happen: the area is
	 * a multiple of 4.  A lone header of a zero-length value is fine. */
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, STUN_ATTR_DONT_FRAGMENT, 0, NULL, 0);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_OK);
	CHECK_EQ_INT(m.nattrs, 1);
	CHECK_EQ_INT(m.attrs[0].len, 0);

	/* 64 attributes are fine, 65 are hostile. */
	raw_init(&r, BINDING_REQ);
	for (i = 0; i < STUN_ATTR_MAX; i++)
		raw_tlv(&r, STUN_ATTR_DONT_FRAGMENT, 0, NULL, 0);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_OK);
	CHECK_EQ_INT(m.nattrs, STUN_ATTR_MAX);
	raw_tlv(&r, STUN_ATTR_DONT_FRAGMENT, 0, NULL, 0);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_MALFORMED);
	/* Ignored attributes (after MI) count too. */
	raw_init(&r, BINDING_REQ);
	raw_attr(&r, STUN_ATTR_MESSAGE_INTEGRITY, v, 8);
	for (i = 0; i < STUN_ATTR_MAX; i++)
		raw_tlv(&r, STUN_ATTR_DONT_FRAGMENT, 0, NULL, 0);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_MALFORMED);

	/* Anything after FINGERPRINT, even a second FINGERPRINT. */
	raw_init(&r, BINDING_REQ);
	raw_attr(&r, STUN_ATTR_FINGERPRINT, v, 4);
	raw_attr(&r, STUN_ATTR_SOFTWARE, "x", 1);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_MALFORMED);
	raw_init(&r, BINDING_REQ);
	raw_attr(&r, STUN_ATTR_FINGERPRINT, v, 4);
	raw_attr(&r, STUN_ATTR_FINGERPRINT, v, 4);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_MALFORMED);
	/* ... even after MESSAGE-INTEGRITY, where others are ignored. */
	raw_init(&r, BINDING_REQ);
	raw_attr(&r, STUN_ATTR_MESSAGE_INTEGRITY, NULL, 20);
	raw_attr(&r, STUN_ATTR_FINGERPRINT, v, 4);
	raw_attr(&r, STUN_ATTR_NONCE, "n", 1);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_MALFORMED);
	/* ... and a TLV overrun after MI is still malformed. */
	raw_init(&r, BINDING_REQ);
	raw_attr(&r, STUN_ATTR_MESSAGE_INTEGRITY, NULL, 20);
	raw_tlv(&r, STUN_ATTR_NONCE, 40, "nnnn", 4);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_MALFORMED);
}

/* Attributes after MESSAGE-INTEGRITY(-SHA256) (RFC 8489 14.5, 14.6). */
static void
test_after_integrity(void)
{
	struct stun_build	b;
	struct stun_msg		m;
	struct raw		r;
	uint8_t			buf[512];
	size_t			n;

	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, tid0);
	stun_build_str(&b, STUN_ATTR_USERNAME, "user");
	stun_build_integrity(&b, key0, sizeof(key0));
	stun_build_str(&b, STUN_ATTR_REALM, "ignored");
	stun_build_attr(&b, 0x0002, "x", 1);	/* unknown, ignored */
	stun_build_integrity(&b, key0, 3);	/* second MI: ignored */
	stun_build_integrity_sha256(&b, key0, sizeof(key0));
	stun_build_str(&b, STUN_ATTR_NONCE, "ignored");
	stun_build_integrity(&b, key0, sizeof(key0));	/* ignored */
	stun_build_integrity_sha256(&b, key0, 1);	/* ignored */
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	CHECK(n > 0);

	CHECK_EQ_INT(stun_msg_parse(&m, buf, n), STUN_PARSE_OK);
	CHECK_EQ_INT(m.nattrs, 4);
	CHECK_EQ_INT(m.attrs[0].type, STUN_ATTR_USERNAME);
	CHECK_EQ_INT(m.mi_idx, 1);
	CHECK_EQ_INT(m.mi256_idx, 2);
	CHECK_EQ_INT(m.fp_idx, 3);
	CHECK(stun_msg_find(&m, STUN_ATTR_REALM) == NULL);
	CHECK(stun_msg_find(&m, STUN_ATTR_NONCE) == NULL);
	CHECK(stun_msg_find(&m, 0x0002) == NULL);
	CHECK_EQ_INT(stun_msg_unknown(&m, (uint16_t[4]){ 0 }, 4), 0);
	/* Each HMAC covers exactly the bytes before it. */
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key0, sizeof(key0)), 0);
	CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, key0, sizeof(key0)),
	    0);
	CHECK_EQ_INT(stun_msg_check_fingerprint(&m), 0);

	/* MI-SHA256 first: a later MI is ignored, FP still counts. */
	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, tid0);
	stun_build_integrity_sha256(&b, key0, sizeof(key0));
	stun_build_integrity(&b, key0, sizeof(key0));
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	CHECK_EQ_INT(stun_msg_parse(&m, buf, n), STUN_PARSE_OK);
	CHECK_EQ_INT(m.nattrs, 2);
	CHECK_EQ_INT(m.mi_idx, -1);
	CHECK_EQ_INT(m.mi256_idx, 0);
	CHECK_EQ_INT(m.fp_idx, 1);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key0, sizeof(key0)), -1);
	CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, key0, sizeof(key0)),
	    0);
	CHECK_EQ_INT(stun_msg_check_fingerprint(&m), 0);

	/* A MESSAGE-INTEGRITY of the wrong size never verifies. */
	raw_init(&r, BINDING_REQ);
	raw_attr(&r, STUN_ATTR_MESSAGE_INTEGRITY, NULL, 16);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_OK);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key0, sizeof(key0)), -1);
	/* Nor does an absent one. */
	raw_init(&r, BINDING_REQ);
	raw_fix(&r);
	CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_OK);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key0, sizeof(key0)), -1);
	CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, key0, sizeof(key0)),
	    -1);
}

static void
sin_random(struct sockaddr_storage *ss, int family)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)rng());
		rng_fill((uint8_t *)&sin->sin_addr, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)rng());
		rng_fill(sin6->sin6_addr.s6_addr, 16);
	}
}

static size_t
sa_len(const struct sockaddr_storage *ss)
{
	return (ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6));
}

static void
test_xaddr_roundtrip(void)
{
	struct stun_build	 b;
	struct stun_msg		 m;
	struct sockaddr_storage	 in, out;
	struct sockaddr_in	*sin;
	const struct stun_attr	*a;
	uint8_t			 buf[128];
	uint8_t			 tid[STUN_TID_LEN], tid2[STUN_TID_LEN];
	size_t			 n;
	int			 i, fam;

	for (i = 0; i < 400; i++) {
		fam = (i & 1) ? AF_INET6 : AF_INET;
		sin_random(&in, fam);
		if (i < 4)	/* the edges of the port range */
			((struct sockaddr_in *)&in)->sin_port =
			    (i < 2) ? 0 : 0xffff;
		rng_fill(tid, sizeof(tid));
		stun_build_init(&b, buf, sizeof(buf),
		    STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS), tid);
		stun_build_xaddr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS,
		    (struct sockaddr *)&in);
		stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS,
		    (struct sockaddr *)&in);
		n = stun_build_finish(&b);
		CHECK_EQ_INT(n, fam == AF_INET ? 20 + 2 * 12 : 20 + 2 * 24);
		CHECK_EQ_INT(stun_msg_parse(&m, buf, n), STUN_PARSE_OK);

		a = stun_msg_find(&m, STUN_ATTR_XOR_RELAYED_ADDRESS);
		CHECK(a != NULL);
		if (a == NULL)
			continue;
		CHECK_EQ_INT(a->len, fam == AF_INET ? 8 : 20);
		CHECK_EQ_INT(a->val[1], fam == AF_INET ? STUN_FAMILY_IPV4 :
		    STUN_FAMILY_IPV6);
		CHECK_EQ_INT(stun_attr_get_xaddr(a, m.tid, &out), 0);
		CHECK_EQ_INT(out.ss_family, fam);
		CHECK_EQ_MEM(&out, &in, sa_len(&in));
		/* The IPv6 XOR uses the TID: another TID, another address. */
		if (fam == AF_INET6) {
			memcpy(tid2, tid, sizeof(tid2));
			tid2[11] ^= 0x80;
			CHECK_EQ_INT(stun_attr_get_xaddr(a, tid2, &out), 0);
			CHECK(memcmp(&out, &in, sa_len(&in)) != 0);
		}
		a = stun_msg_find(&m, STUN_ATTR_MAPPED_ADDRESS);
		CHECK(a != NULL && stun_attr_get_addr(a, &out) == 0 &&
		    memcmp(&out, &in, sa_len(&in)) == 0);
	}

	/* The RFC 5769 IPv4 response, by hand: port 32853 ^ 0x2112. */
	CHECK_EQ_INT(stun_msg_parse(&m, rfc5769_resp4, sizeof(rfc5769_resp4)),
	    STUN_PARSE_OK);
	a = stun_msg_find(&m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	CHECK(a != NULL && stun_attr_get_xaddr(a, m.tid, &out) == 0);
	sin = (struct sockaddr_in *)&out;
	CHECK_EQ_INT(ntohs(sin->sin_port), 32853);
	CHECK_EQ_INT(ntohl(sin->sin_addr.s_addr), 0xc0000201U);

	/* Bad families and sizes. */
	{
		static const uint8_t	v4long[] = { 0, 1, 0, 1, 1, 2, 3, 4,
					    0, 0, 0, 0 };
		static const uint8_t	v6short[] = { 0, 2, 0, 1, 1, 2, 3, 4 };
		static const uint8_t	fam3[] = { 0, 3, 0, 1, 1, 2, 3, 4 };
		static const uint8_t	resv[] = { 0xff, 1, 0, 1, 1, 2, 3, 4 };
		struct stun_attr	 x;

		x.type = STUN_ATTR_XOR_PEER_ADDRESS;
		x.val = v4long;
		x.len = sizeof(v4long);
		CHECK_EQ_INT(stun_attr_get_xaddr(&x, tid0, &out), -1);
		x.len = 7;
		CHECK_EQ_INT(stun_attr_get_xaddr(&x, tid0, &out), -1);
		x.len = 3;
		CHECK_EQ_INT(stun_attr_get_addr(&x, &out), -1);
		x.len = 0;
		CHECK_EQ_INT(stun_attr_get_addr(&x, &out), -1);
		x.val = v6short;
		x.len = sizeof(v6short);
		CHECK_EQ_INT(stun_attr_get_xaddr(&x, tid0, &out), -1);
		x.val = fam3;
		CHECK_EQ_INT(stun_attr_get_addr(&x, &out), -1);
		/* The reserved first byte is ignored (RFC 8489 14.1). */
		x.val = resv;
		CHECK_EQ_INT(stun_attr_get_addr(&x, &out), 0);
		CHECK_EQ_INT(out.ss_family, AF_INET);
	}

	/* The builder takes only AF_INET and AF_INET6. */
	memset(&in, 0, sizeof(in));
	in.ss_family = AF_UNIX;
	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, tid0);
	stun_build_xaddr(&b, STUN_ATTR_XOR_PEER_ADDRESS,
	    (struct sockaddr *)&in);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, tid0);
	stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, NULL);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
}

static void
test_unknown_collect(void)
{
	struct stun_build	b;
	struct stun_msg		m;
	uint8_t			buf[1024];
	uint16_t		out[STUN_UNKNOWN_MAX + 4];
	unsigned int		i, n;
	size_t			len;

	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, tid0);
	stun_build_attr(&b, 0x7f01, "a", 1);
	stun_build_str(&b, STUN_ATTR_USERNAME, "known");
	stun_build_attr(&b, 0x0002, NULL, 0);	/* RESPONSE-ADDRESS, gone */
	stun_build_attr(&b, 0x7f01, "b", 1);	/* duplicate */
	stun_build_attr(&b, 0x8123, NULL, 0);	/* optional: not listed */
	stun_build_attr(&b, 0xc001, NULL, 0);	/* optional */
	stun_build_attr(&b, 0x3fff, NULL, 4);
	stun_build_attr(&b, 0x0002, NULL, 0);	/* duplicate */
	len = stun_build_finish(&b);
	CHECK(len > 0);
	CHECK_EQ_INT(stun_msg_parse(&m, buf, len), STUN_PARSE_OK);
	n = stun_msg_unknown(&m, out, STUN_UNKNOWN_MAX);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(out[0], 0x7f01);
	CHECK_EQ_INT(out[1], 0x0002);
	CHECK_EQ_INT(out[2], 0x3fff);
	/* The cap. */
	CHECK_EQ_INT(stun_msg_unknown(&m, out, 2), 2);
	CHECK_EQ_INT(out[1], 0x0002);
	CHECK_EQ_INT(stun_msg_unknown(&m, out, 0), 0);
	CHECK_EQ_INT(stun_msg_unknown(&m, NULL, 4), 0);

	/* More distinct unknowns than fit one UNKNOWN-ATTRIBUTES. */
	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, tid0);
	for (i = 0; i < 40; i++)
		stun_build_attr(&b, (uint16_t)(0x7000 + i / 2), NULL, 0);
	len = stun_build_finish(&b);
	CHECK_EQ_INT(stun_msg_parse(&m, buf, len), STUN_PARSE_OK);
	n = stun_msg_unknown(&m, out, STUN_UNKNOWN_MAX);
	CHECK_EQ_INT(n, STUN_UNKNOWN_MAX);
	for (i = 0; i < n; i++)
		CHECK_EQ_INT(out[i], 0x7000 + i);

	/* The RFC 5769 messages hold nothing unknown. */
	CHECK_EQ_INT(stun_msg_parse(&m, rfc5769_req, sizeof(rfc5769_req)),
	    STUN_PARSE_OK);
	CHECK_EQ_INT(stun_msg_unknown(&m, out, STUN_UNKNOWN_MAX), 0);
}

static void
test_error_code(void)
{
	static const int	 codes[] = { 300, 400, 401, 403, 405, 420, 437,
				    438, 440, 441, 442, 443, 446, 447, 486, 500,
				    508 };
	struct stun_build	 b;
	struct stun_msg		 m;
	struct stun_attr	 x;
	const struct stun_attr	*a;
	const char		*reason;
	char			 longr[STUN_REASON_MAX + 2];
	uint8_t			 buf[2048], v[STUN_REASON_MAX + 8];
	size_t			 rlen, n, i;
	int			 code;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		CHECK(stun_err_reason(codes[i])[0] != '\0');
		stun_build_init(&b, buf, sizeof(buf), ALLOC_ERR, tid0);
		stun_build_error(&b, codes[i], NULL);
		n = stun_build_finish(&b);
		CHECK(n > 0);
		CHECK_EQ_INT(stun_msg_parse(&m, buf, n), STUN_PARSE_OK);
		a = stun_msg_find(&m, STUN_ATTR_ERROR_CODE);
		CHECK(a != NULL);
		if (a == NULL)
			continue;
		/* Class and number split (RFC 8489 14.8). */
		CHECK_EQ_INT(a->val[0], 0);
		CHECK_EQ_INT(a->val[1], 0);
		CHECK_EQ_INT(a->val[2], codes[i] / 100);
		CHECK_EQ_INT(a->val[3], codes[i] % 100);
		CHECK_EQ_INT(stun_attr_get_error(a, &code, &reason, &rlen), 0);
		CHECK_EQ_INT(code, codes[i]);
		CHECK_EQ_INT(rlen, strlen(stun_err_reason(codes[i])));
		CHECK(memcmp(reason, stun_err_reason(codes[i]), rlen) == 0);
	}
	CHECK_EQ_STR(stun_err_reason(438), "Stale Nonce");
	CHECK_EQ_STR(stun_err_reason(440), "Address Family not Supported");
	CHECK_EQ_STR(stun_err_reason(447), "Connection Timeout or Failure");
	CHECK_EQ_STR(stun_err_reason(508), "Insufficient Capacity");
	CHECK_EQ_STR(stun_err_reason(0), "");
	CHECK_EQ_STR(stun_err_reason(699), "");

	/* A caller's reason, an empty one, and the edges 300 and 699. */
	stun_build_init(&b, buf, sizeof(buf), ALLOC_ERR, tid0);
	stun_build_error(&b, 699, "Custom");
	stun_build_error(&b, 300, "");
	n = stun_build_finish(&b);
	CHECK_EQ_INT(stun_msg_parse(&m, buf, n), STUN_PARSE_OK);
	CHECK_EQ_INT(m.nattrs, 2);
	CHECK_EQ_INT(stun_attr_get_error(&m.attrs[0], &code, &reason, &rlen),
	    0);
	CHECK_EQ_INT(code, 699);
	CHECK(rlen == 6 && memcmp(reason, "Custom", 6) == 0);
	CHECK_EQ_INT(stun_attr_get_error(&m.attrs[1], &code, NULL, NULL), 0);
	CHECK_EQ_INT(code, 300);

	/* Out of range codes and reasons fail the builder. */
	stun_build_init(&b, buf, sizeof(buf), ALLOC_ERR, tid0);
	stun_build_error(&b, 299, NULL);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	stun_build_init(&b, buf, sizeof(buf), ALLOC_ERR, tid0);
	stun_build_error(&b, 700, NULL);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	memset(longr, 'r', sizeof(longr));
	longr[STUN_REASON_MAX] = '\0';
	stun_build_init(&b, buf, sizeof(buf), ALLOC_ERR, tid0);
	stun_build_error(&b, 400, longr);
	CHECK(stun_build_finish(&b) > 0);
	longr[STUN_REASON_MAX] = 'r';
	longr[STUN_REASON_MAX + 1] = '\0';
	stun_build_init(&b, buf, sizeof(buf), ALLOC_ERR, tid0);
	stun_build_error(&b, 400, longr);
	CHECK_EQ_INT(stun_build_finish(&b), 0);

	/* Decoding hostile values. */
	memset(v, 'r', sizeof(v));
	x.type = STUN_ATTR_ERROR_CODE;
	x.val = v;
	v[0] = v[1] = 0xff;	/* reserved bits are ignored */
	v[2] = 0xf8 | 4;
	v[3] = 20;
	x.len = 4;
	CHECK_EQ_INT(stun_attr_get_error(&x, &code, &reason, &rlen), 0);
	CHECK_EQ_INT(code, 420);
	CHECK_EQ_INT(rlen, 0);
	x.len = 3;
	CHECK_EQ_INT(stun_attr_get_error(&x, &code, NULL, NULL), -1);
	x.len = 4;
	v[2] = 2;
	CHECK_EQ_INT(stun_attr_get_error(&x, &code, NULL, NULL), -1);
	v[2] = 7;
	CHECK_EQ_INT(stun_attr_get_error(&x, &code, NULL, NULL), -1);
	v[2] = 6;
	v[3] = 99;
	CHECK_EQ_INT(stun_attr_get_error(&x, &code, NULL, NULL), 0);
	CHECK_EQ_INT(code, 699);
	v[3] = 100;
	CHECK_EQ_INT(stun_attr_get_error(&x, &code, NULL, NULL), -1);
	v[3] = 0;
	x.len = 4 + STUN_REASON_MAX;
	CHECK_EQ_INT(stun_attr_get_error(&x, &code, NULL, NULL), 0);
	x.len = 4 + STUN_REASON_MAX + 1;
	CHECK_EQ_INT(stun_attr_get_error(&x, &code, NULL, NULL), -1);
}

static void
test_unknown_attributes(void)
{
	struct stun_build	 b;
	struct stun_msg		 m;
	struct stun_attr	 x;
	const struct stun_attr	*a;
	uint16_t		 in[STUN_UNKNOWN_MAX + 1];
	uint16_t		 out[STUN_UNKNOWN_MAX];
	uint8_t			 buf[256];
	unsigned int		 cnt, i;
	size_t			 n;

	for (i = 0; i < STUN_UNKNOWN_MAX + 1; i++)
		in[i] = (uint16_t)(0x7f00 + 3 * i);
	for (cnt = 0; cnt <= STUN_UNKNOWN_MAX; cnt++) {
		stun_build_init(&b, buf, sizeof(buf), ALLOC_ERR, tid0);
		stun_build_error(&b, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL);
		stun_build_unknown(&b, in, cnt);
		n = stun_build_finish(&b);
		CHECK(n > 0);
		CHECK_EQ_INT(stun_msg_parse(&m, buf, n), STUN_PARSE_OK);
		a = stun_msg_find(&m, STUN_ATTR_UNKNOWN_ATTRIBUTES);
		CHECK(a != NULL);
		if (a == NULL)
			continue;
		CHECK_EQ_INT(a->len, 2 * cnt);
		CHECK_EQ_INT(stun_attr_get_unknown(a, out, STUN_UNKNOWN_MAX),
		    cnt);
		CHECK_EQ_MEM(out, in, cnt * sizeof(uint16_t));
		if (cnt > 2)
			CHECK_EQ_INT(stun_attr_get_unknown(a, out, 2), 2);
	}
	/* Too many for one attribute. */
	stun_build_init(&b, buf, sizeof(buf), ALLOC_ERR, tid0);
	stun_build_unknown(&b, in, STUN_UNKNOWN_MAX + 1);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	stun_build_init(&b, buf, sizeof(buf), ALLOC_ERR, tid0);
	stun_build_unknown(&b, NULL, 1);
	CHECK_EQ_INT(stun_build_finish(&b), 0);

	/* An odd length is malformed. */
	x.type = STUN_ATTR_UNKNOWN_ATTRIBUTES;
	x.val = buf;
	x.len = 3;
	CHECK_EQ_INT(stun_attr_get_unknown(&x, out, STUN_UNKNOWN_MAX), -1);
	x.len = 0;
	CHECK_EQ_INT(stun_attr_get_unknown(&x, out, STUN_UNKNOWN_MAX), 0);
}

static void
test_get_str(void)
{
	struct stun_attr	x;
	char			out[16];

	x.type = STUN_ATTR_USERNAME;
	x.val = (const uint8_t *)"0123456789";
	x.len = 10;
	CHECK_EQ_INT(stun_attr_get_str(&x, 10, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "0123456789");
	CHECK_EQ_INT(stun_attr_get_str(&x, 9, out, sizeof(out)), -1);
	CHECK_EQ_INT(stun_attr_get_str(&x, 100, out, 11), 0);
	CHECK_EQ_INT(stun_attr_get_str(&x, 100, out, 10), -1);
	CHECK_EQ_INT(stun_attr_get_str(&x, 100, out, 0), -1);
	CHECK_EQ_INT(stun_attr_get_str(&x, 100, NULL, 16), -1);
	x.len = 0;
	memset(out, 'x', sizeof(out));
	CHECK_EQ_INT(stun_attr_get_str(&x, 0, out, 1), 0);
	CHECK_EQ_STR(out, "");
	/* An embedded NUL would silently shorten the string. */
	x.val = (const uint8_t *)"ab\0cd";
	x.len = 5;
	CHECK_EQ_INT(stun_attr_get_str(&x, 100, out, sizeof(out)), -1);

	/* The limits in stun.h fit their RFC 8489 values. */
	CHECK_EQ_INT(STUN_USERNAME_MAX, 512);
	CHECK_EQ_INT(STUN_REALM_MAX, 763);
}

static void
test_other_decoders(void)
{
	static const uint8_t	pw2[] = { 0, 1, 0, 0, 0, 2, 0, 0 };
	static const uint8_t	pwp[] = { 0, 9, 0, 3, 1, 2, 3, 0, 0, 1, 0, 0 };
	static const uint8_t	pwbad[] = { 0, 1, 0, 9, 0, 0, 0, 0 };
	static const uint8_t	md5p[] = { 0, 1, 0, 4, 1, 2, 3, 4 };
	static const uint8_t	v8[] = { 17, 0xff, 0xff, 0xff, 5, 6, 7, 8 };
	struct stun_attr	x;
	uint64_t		u64;
	uint32_t		u32;
	uint16_t		u16, list[4];
	uint8_t			u8;

	x.val = v8;
	x.type = STUN_ATTR_REQUESTED_TRANSPORT;
	x.len = 4;
	CHECK_EQ_INT(stun_attr_get_u8(&x, &u8), 0);
	CHECK_EQ_INT(u8, STUN_TRANSPORT_UDP);
	x.len = 1;
	CHECK_EQ_INT(stun_attr_get_u8(&x, &u8), -1);
	x.type = STUN_ATTR_EVEN_PORT;
	CHECK_EQ_INT(stun_attr_get_u8(&x, &u8), 0);
	x.len = 4;
	CHECK_EQ_INT(stun_attr_get_u8(&x, &u8), -1);

	x.type = STUN_ATTR_CHANNEL_NUMBER;
	CHECK_EQ_INT(stun_attr_get_channel(&x, &u16), 0);
	CHECK_EQ_INT(u16, 0x11ff);
	x.len = 2;
	CHECK_EQ_INT(stun_attr_get_channel(&x, &u16), -1);

	x.type = STUN_ATTR_LIFETIME;
	x.len = 4;
	CHECK_EQ_INT(stun_attr_get_u32(&x, &u32), 0);
	CHECK_EQ_INT(u32, 0x11ffffffU);
	x.len = 8;
	CHECK_EQ_INT(stun_attr_get_u32(&x, &u32), -1);
	CHECK_EQ_INT(stun_attr_get_u64(&x, &u64), 0);
	CHECK(u64 == 0x11ffffff05060708ULL);
	x.len = 4;
	CHECK_EQ_INT(stun_attr_get_u64(&x, &u64), -1);

	x.type = STUN_ATTR_PASSWORD_ALGORITHMS;
	x.val = pw2;
	x.len = sizeof(pw2);
	CHECK_EQ_INT(stun_attr_get_pwalgs(&x, list, 4), 2);
	CHECK(list[0] == STUN_PWALG_MD5 && list[1] == STUN_PWALG_SHA256);
	CHECK_EQ_INT(stun_attr_get_pwalgs(&x, list, 1), 1);
	x.len = 6;
	CHECK_EQ_INT(stun_attr_get_pwalgs(&x, list, 4), -1);
	x.val = pwp;	/* alg 9 with 3 bytes of parameters, then MD5 */
	x.len = sizeof(pwp);
	CHECK_EQ_INT(stun_attr_get_pwalgs(&x, list, 4), 2);
	CHECK(list[0] == 9 && list[1] == STUN_PWALG_MD5);
	x.val = pwbad;
	x.len = sizeof(pwbad);
	CHECK_EQ_INT(stun_attr_get_pwalgs(&x, list, 4), -1);

	x.type = STUN_ATTR_PASSWORD_ALGORITHM;
	x.val = pw2;
	x.len = 4;
	CHECK_EQ_INT(stun_attr_get_pwalg(&x, &u16), 0);
	CHECK_EQ_INT(u16, STUN_PWALG_MD5);
	x.len = 8;	/* two entries */
	CHECK_EQ_INT(stun_attr_get_pwalg(&x, &u16), -1);
	x.len = 0;
	CHECK_EQ_INT(stun_attr_get_pwalg(&x, &u16), -1);
	x.val = md5p;	/* MD5 takes no parameters */
	x.len = sizeof(md5p);
	CHECK_EQ_INT(stun_attr_get_pwalg(&x, &u16), -1);
	x.val = pwp;	/* an unknown one may have some */
	x.len = 8;
	CHECK_EQ_INT(stun_attr_get_pwalg(&x, &u16), 0);
	CHECK_EQ_INT(u16, 9);
	x.len = 7;	/* its padding may be left off */
	CHECK_EQ_INT(stun_attr_get_pwalg(&x, &u16), 0);
	x.len = 6;
	CHECK_EQ_INT(stun_attr_get_pwalg(&x, &u16), -1);
}

/* Build the same message into buffers of every size up to what it needs. */
static void
test_builder_overflow(void)
{
	uint8_t			 need[1024], *buf;
	struct stun_build	 b;
	size_t			 full, cap, n;
	unsigned int		 i;
	int			 clean;

	full = build_big(need, sizeof(need));
	CHECK(full > 0);
	for (cap = 0; cap <= full; cap++) {
		buf = malloc(cap + 16);
		if (buf == NULL)
			abort();
		memset(buf, 0xee, cap + 16);
		n = build_big(buf, cap);
		if (cap < full)
			CHECK_EQ_INT(n, 0);
		else {
			CHECK_EQ_INT(n, full);
			CHECK_EQ_MEM(buf, need, full);
		}
		/* Nothing written past cap. */
		clean = 1;
		for (i = 0; i < 16; i++)
			if (buf[cap + i] != 0xee)
				clean = 0;
		CHECK(clean);
		free(buf);
	}

	/* Sticky: once failed, later attributes write nothing. */
	buf = need;
	stun_build_init(&b, buf, 40, BINDING_REQ, tid0);
	stun_build_attr(&b, STUN_ATTR_DATA, NULL, 32);
	CHECK_EQ_INT(b.err, 1);
	n = b.len;
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 1);
	CHECK_EQ_INT(b.len, n);
	CHECK_EQ_INT(stun_build_finish(&b), 0);

	/* Bad init: tiny buffer, NULL buffer, top bits in the type. */
	stun_build_init(&b, buf, 19, BINDING_REQ, tid0);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	stun_build_init(&b, NULL, 100, BINDING_REQ, tid0);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 1);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	stun_build_init(&b, buf, 100, 0x8001, tid0);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	stun_build_init(&b, buf, 100, BINDING_REQ, tid0);
	stun_build_str(&b, STUN_ATTR_SOFTWARE, NULL);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	stun_build_init(&b, buf, 100, BINDING_REQ, tid0);
	CHECK_EQ_INT(stun_build_finish(&b), STUN_HDR_LEN);

	/* The 16-bit length: 65532 bytes of attributes at most. */
	buf = malloc(STUN_MSG_MAX + 64);
	if (buf == NULL)
		abort();
	stun_build_init(&b, buf, STUN_MSG_MAX + 64, BINDING_REQ, tid0);
	stun_build_attr(&b, STUN_ATTR_DATA, NULL, 0xffff);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	stun_build_init(&b, buf, STUN_MSG_MAX + 64, BINDING_REQ, tid0);
	stun_build_attr(&b, STUN_ATTR_DATA, NULL, 0xfffc - 4);
	n = stun_build_finish(&b);
	CHECK_EQ_INT(n, STUN_HDR_LEN + 0xfffc);
	CHECK_EQ_INT(stun_msg_parse(&(struct stun_msg){ 0 }, buf, n),
	    STUN_PARSE_OK);
	stun_build_attr(&b, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	stun_build_init(&b, buf, STUN_MSG_MAX + 64, BINDING_REQ, tid0);
	stun_build_attr(&b, STUN_ATTR_DATA, NULL, 0x10000);
	CHECK_EQ_INT(stun_build_finish(&b), 0);
	free(buf);
}

/*
 * Append a MESSAGE-INTEGRITY-SHA256 truncated to tlen bytes (RFC 8489
 * 14.6) to the message in r, computing it here with OpenSSL directly.
 */
static void
raw_mi256(struct raw *r, const uint8_t *key, size_t keylen, size_t tlen)
{
	uint8_t	mac[32];
	size_t	got = 0, n, end;

	n = r->len - STUN_HDR_LEN + 4 + tlen;
	r->b[2] = (uint8_t)(n >> 8);
	r->b[3] = (uint8_t)n;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, r->b,
	    r->len, mac, sizeof(mac), &got) == NULL)
		abort();
	end = r->len + 4 + tlen;
	raw_tlv(r, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, (uint16_t)tlen, mac,
	    tlen < 32 ? tlen : 32);
	while (r->len < end || r->len % 4 != 0)	/* junk, then padding */
		r->b[r->len++] = 0;
}

static void
test_integrity_sha256(void)
{
	struct stun_build	b;
	struct stun_msg		m;
	struct raw		r;
	uint8_t			buf[256];
	size_t			n, t;

	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, tid0);
	stun_build_str(&b, STUN_ATTR_USERNAME, "user");
	stun_build_integrity_sha256(&b, key0, sizeof(key0));
	n = stun_build_finish(&b);
	CHECK_EQ_INT(n, 20 + 8 + 36);
	CHECK_EQ_INT(stun_msg_parse(&m, buf, n), STUN_PARSE_OK);
	CHECK_EQ_INT(m.attrs[m.mi256_idx].len, 32);
	CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, key0, sizeof(key0)),
	    0);
	/* (Not key0 minus its NUL: HMAC zero-pads keys, so that matches.) */
	CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m,
	    (const uint8_t *)"b key", sizeof(key0)), -1);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key0, sizeof(key0)), -1);
	/* An empty key is still a key. */
	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, tid0);
	stun_build_integrity_sha256(&b, NULL, 0);
	stun_build_integrity(&b, NULL, 0);
	n = stun_build_finish(&b);
	CHECK_EQ_INT(stun_msg_parse(&m, buf, n), STUN_PARSE_OK);
	CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, NULL, 0), 0);
	CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, key0, 1), -1);

	/* Truncated to 16..32 bytes in steps of 4; nothing else. */
	for (t = 0; t <= 40; t++) {
		raw_init(&r, BINDING_REQ);
		raw_attr(&r, STUN_ATTR_USERNAME, "user", 4);
		raw_mi256(&r, key0, sizeof(key0), t);
		raw_fix(&r);
		CHECK_EQ_INT(stun_msg_parse(&m, r.b, r.len), STUN_PARSE_OK);
		if (t >= 16 && t <= 32 && t % 4 == 0) {
			CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, key0,
			    sizeof(key0)), 0);
			r.b[r.len - 1] ^= 1;
			CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, key0,
			    sizeof(key0)), -1);
		} else
			CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, key0,
			    sizeof(key0)), -1);
	}
}

static void
test_integrity_tamper(void)
{
	struct stun_msg	m;
	uint8_t		buf[1024];
	size_t		n, i;
	int		r, fp_fail = 1, mi_fail = 1;

	n = build_big(buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_EQ_INT(stun_msg_parse(&m, buf, n), STUN_PARSE_OK);
	CHECK_EQ_INT(stun_msg_check_fingerprint(&m), 0);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key0, sizeof(key0)), 0);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key0, 2), -1);
	CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, key0, sizeof(key0)),
	    0);

	/*
	 * Flip each bit of each byte: whenever the message still parses,
	 * FINGERPRINT catches it, and MESSAGE-INTEGRITY does so for every
	 * byte before it.
	 */
	for (i = 0; i < n * 8; i++) {
		buf[i / 8] ^= (uint8_t)(1 << (i % 8));
		r = stun_msg_parse(&m, buf, n);
		if (r == STUN_PARSE_OK) {
			/* (A flip in its type can remove FINGERPRINT.) */
			if (m.fp_idx >= 0 &&
			    stun_msg_check_fingerprint(&m) != -1)
				fp_fail = 0;
			if (m.mi_idx >= 0 && i / 8 < (size_t)(m.attrs[
			    m.mi_idx].val - buf) && stun_msg_check_integrity(
			    &m, key0, sizeof(key0)) != -1)
				mi_fail = 0;
		}
		buf[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	CHECK(fp_fail);
	CHECK(mi_fail);

	/* A FINGERPRINT of the wrong length. */
	{
		struct raw	rw;

		raw_init(&rw, BINDING_REQ);
		raw_attr(&rw, STUN_ATTR_FINGERPRINT, "12345678", 8);
		raw_fix(&rw);
		CHECK_EQ_INT(stun_msg_parse(&m, rw.b, rw.len), STUN_PARSE_OK);
		CHECK_EQ_INT(stun_msg_check_fingerprint(&m), -1);
	}
}

static void
test_type_macros(void)
{
	static const uint16_t	classes[] = { STUN_CLASS_REQUEST,
				    STUN_CLASS_INDICATION, STUN_CLASS_SUCCESS,
				    STUN_CLASS_ERROR };
	struct stun_build	b;
	struct stun_msg		m;
	uint8_t			buf[64];
	unsigned int		meth, c, bad = 0;
	uint16_t		t;

	for (meth = 0; meth <= 0xfff; meth++) {
		for (c = 0; c < 4; c++) {
			t = STUN_TYPE(meth, classes[c]);
			if ((t & 0xc000) != 0 ||
			    STUN_TYPE_METHOD(t) != meth ||
			    STUN_TYPE_CLASS(t) != classes[c])
				bad++;
		}
	}
	CHECK_EQ_INT(bad, 0);

	/* Known values (RFC 8489 5, RFC 8656 17). */
	CHECK_EQ_INT(STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_REQUEST),
	    0x0001);
	CHECK_EQ_INT(STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_INDICATION),
	    0x0011);
	CHECK_EQ_INT(STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS),
	    0x0101);
	CHECK_EQ_INT(STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_ERROR),
	    0x0111);
	CHECK_EQ_INT(STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR),
	    0x0113);
	CHECK_EQ_INT(STUN_TYPE(STUN_METHOD_SEND, STUN_CLASS_INDICATION),
	    0x0016);
	CHECK_EQ_INT(STUN_TYPE(STUN_METHOD_DATA, STUN_CLASS_INDICATION),
	    0x0017);
	CHECK_EQ_INT(STUN_TYPE(STUN_METHOD_CONNECTION_ATTEMPT,
	    STUN_CLASS_INDICATION), 0x001c);
	CHECK_EQ_INT(STUN_TYPE(0xfff, STUN_CLASS_ERROR), 0x3fff);

	/* Through the builder and the parser, for every known method. */
	for (meth = STUN_METHOD_BINDING; meth <= STUN_METHOD_CONNECTION_ATTEMPT;
	    meth++) {
		for (c = 0; c < 4; c++) {
			stun_build_init(&b, buf, sizeof(buf),
			    STUN_TYPE(meth, classes[c]), tid0);
			CHECK_EQ_INT(stun_msg_parse(&m, buf,
			    stun_build_finish(&b)), STUN_PARSE_OK);
			CHECK_EQ_INT(m.method, meth);
			CHECK_EQ_INT(m.cls, classes[c]);
		}
	}
}

static void
test_names(void)
{
	static const uint16_t	known[] = { 0x0001, 0x0003, 0x0006, 0x0008,
				    0x0009, 0x000a, 0x000c, 0x000d, 0x0010,
				    0x0012, 0x0013, 0x0014, 0x0015, 0x0016,
				    0x0017, 0x0018, 0x0019, 0x001a, 0x001b,
				    0x001c, 0x001d, 0x001e, 0x0020, 0x0022,
				    0x0024, 0x0025, 0x0026, 0x0027, 0x002a,
				    0x8000, 0x8001, 0x8002, 0x8003, 0x8004,
				    0x8022, 0x8023, 0x8028, 0x8029, 0x802a,
				    0x802b, 0x802c, 0x802e, 0x802f, 0x8030 };
	unsigned int		i, t, nknown = 0;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		CHECK_EQ_INT(stun_attr_known(known[i]), 1);
		CHECK(strcmp(stun_attr_name(known[i]), "unknown") != 0);
	}
	for (t = 0; t <= 0xffff; t++)
		nknown += (unsigned int)stun_attr_known((uint16_t)t);
	CHECK_EQ_INT(nknown, sizeof(known) / sizeof(known[0]));
	CHECK_EQ_INT(stun_attr_known(0x0002), 0);
	CHECK_EQ_STR(stun_attr_name(STUN_ATTR_XOR_MAPPED_ADDRESS),
	    "XOR-MAPPED-ADDRESS");
	CHECK_EQ_STR(stun_attr_name(STUN_ATTR_MESSAGE_INTEGRITY_SHA256),
	    "MESSAGE-INTEGRITY-SHA256");
	CHECK_EQ_STR(stun_attr_name(0x7777), "unknown");
	CHECK_EQ_STR(stun_method_name(STUN_METHOD_BINDING), "Binding");
	CHECK_EQ_STR(stun_method_name(STUN_METHOD_CREATE_PERMISSION),
	    "CreatePermission");
	CHECK_EQ_STR(stun_method_name(STUN_METHOD_CONNECTION_ATTEMPT),
	    "ConnectionAttempt");
	CHECK_EQ_STR(stun_method_name(0x005), "unknown");
}

int
main(void)
{
	RUN(test_truncation_sweep);
	RUN(test_hostile_header);
	RUN(test_hostile_attrs);
	RUN(test_after_integrity);
	RUN(test_xaddr_roundtrip);
	RUN(test_unknown_collect);
	RUN(test_error_code);
	RUN(test_unknown_attributes);
	RUN(test_get_str);
	RUN(test_other_decoders);
	RUN(test_builder_overflow);
	RUN(test_integrity_sha256);
	RUN(test_integrity_tamper);
	RUN(test_type_macros);
	RUN(test_names);
	return (unit_done());
}
