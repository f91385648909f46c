/*
 * test_stun_codec.c -- parsing STUN beyond the RFC 5769 vectors:
 * truncation sweeps, hostile lengths and counts, what follows
 * MESSAGE-INTEGRITY(-SHA256), unknown attributes, the attribute decoders
 * and the name tables.  Meant to be run under ASan too: every prefix is
 * parsed from a buffer of exactly its size.  test_stun_build.c covers
 * the builder, integrity and fingerprint.
 */

#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"
#include "unit.h"
#include "rfc5769.h"
#include "stun_msgs.h"

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
	RUN(test_unknown_collect);
	RUN(test_get_str);
	RUN(test_other_decoders);
	RUN(test_names);
	return (unit_done());
}
