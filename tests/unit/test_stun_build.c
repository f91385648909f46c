/*
 * test_stun_build.c -- building STUN messages and reading them back:
 * XOR-address round trips, ERROR-CODE and UNKNOWN-ATTRIBUTES, builder
 * overflow, MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT built and
 * verified (and tampered with), the message type macros.  Parsing
 * hostile input is test_stun_codec.c's.
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
#include "stun_msgs.h"

/* The fixed seed of the XOR round trips (unit_rng()). */
#define RNG_SEED	0x2545f491U

static void
rng_fill(uint8_t *p, size_t n)
{
	while (n-- > 0)
		*p++ = (uint8_t)unit_rng();
}

static void
sin_random(struct sockaddr_storage *ss, int family)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)unit_rng());
		rng_fill((uint8_t *)&sin->sin_addr, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)unit_rng());
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

int
main(void)
{
	unit_rng_seed(RNG_SEED);
	RUN(test_xaddr_roundtrip);
	RUN(test_error_code);
	RUN(test_unknown_attributes);
	RUN(test_builder_overflow);
	RUN(test_integrity_sha256);
	RUN(test_integrity_tamper);
	RUN(test_type_macros);
	return (unit_done());
}
