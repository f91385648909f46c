/*
 * test_stun_vectors.c -- the RFC 5769 vectors both ways: parse and verify
 * MESSAGE-INTEGRITY and FINGERPRINT, then rebuild each with the builder
 * and compare the bytes.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "stun/stun.h"
#include "unit.h"
#include "rfc5769.h"

static const uint8_t rfc_tid[STUN_TID_LEN] = {
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae
};
static const uint8_t rfc_lt_tid[STUN_TID_LEN] = {
	0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e
};

#define PW	((const uint8_t *)RFC5769_PASSWORD)
#define PWLEN	(sizeof(RFC5769_PASSWORD) - 1)

static void
check_str(const struct stun_msg *m, uint16_t type, const char *want)
{
	const struct stun_attr	*a;
	char			 buf[800];

	a = stun_msg_find(m, type);
	CHECK(a != NULL);
	if (a == NULL)
		return;
	CHECK_EQ_INT(stun_attr_get_str(a, sizeof(buf) - 1, buf, sizeof(buf)),
	    0);
	CHECK_EQ_STR(buf, want);
}

static void
lt_key(uint8_t key[16])
{
	stun_key_md5(RFC5769_LT_USERNAME, RFC5769_LT_REALM,
	    RFC5769_LT_PASSWORD, key);
}

/* 2.1 */
static void
test_request_parse(void)
{
	struct stun_msg		 m;
	const struct stun_attr	*a;
	uint32_t		 u32;
	uint64_t		 u64;
	uint16_t		 unk[4];

	CHECK_EQ_INT(stun_msg_maybe(rfc5769_req, sizeof(rfc5769_req)), 1);
	CHECK_EQ_INT(stun_msg_parse(&m, rfc5769_req, sizeof(rfc5769_req)),
	    STUN_PARSE_OK);
	CHECK_EQ_INT(m.rawlen, sizeof(rfc5769_req));
	CHECK_EQ_INT(m.type, 0x0001);
	CHECK_EQ_INT(m.method, STUN_METHOD_BINDING);
	CHECK_EQ_INT(m.cls, STUN_CLASS_REQUEST);
	CHECK_EQ_MEM(m.tid, rfc_tid, STUN_TID_LEN);
	CHECK_EQ_INT(m.nattrs, 6);
	CHECK_EQ_INT(m.mi_idx, 4);
	CHECK_EQ_INT(m.mi256_idx, -1);
	CHECK_EQ_INT(m.fp_idx, 5);

	check_str(&m, STUN_ATTR_SOFTWARE, RFC5769_SW_CLIENT);
	check_str(&m, STUN_ATTR_USERNAME, RFC5769_USERNAME);
	a = stun_msg_find(&m, STUN_ATTR_PRIORITY);
	CHECK(a != NULL && stun_attr_get_u32(a, &u32) == 0 &&
	    u32 == RFC5769_PRIORITY);
	a = stun_msg_find(&m, STUN_ATTR_ICE_CONTROLLED);
	CHECK(a != NULL && stun_attr_get_u64(a, &u64) == 0 &&
	    u64 == RFC5769_TIEBREAKER);
	CHECK(stun_msg_find(&m, STUN_ATTR_XOR_MAPPED_ADDRESS) == NULL);
	CHECK_EQ_INT(stun_msg_unknown(&m, unk, 4), 0);

	CHECK_EQ_INT(stun_msg_check_fingerprint(&m), 0);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, PW, PWLEN), 0);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, PW, PWLEN - 1), -1);
	CHECK_EQ_INT(stun_msg_check_integrity(&m,
	    (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBu", PWLEN), -1);
	CHECK_EQ_INT(stun_msg_check_integrity_sha256(&m, PW, PWLEN), -1);
}

static void
test_request_build(void)
{
	struct stun_build	b;
	uint8_t			buf[256];
	size_t			n;

	stun_build_init(&b, buf, sizeof(buf),
	    STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), rfc_tid);
	b.pad = 0x20;
	stun_build_str(&b, STUN_ATTR_SOFTWARE, RFC5769_SW_CLIENT);
	stun_build_u32(&b, STUN_ATTR_PRIORITY, RFC5769_PRIORITY);
	stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLED, RFC5769_TIEBREAKER);
	stun_build_str(&b, STUN_ATTR_USERNAME, RFC5769_USERNAME);
	stun_build_integrity(&b, PW, PWLEN);
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	CHECK_EQ_INT(n, sizeof(rfc5769_req));
	if (n == sizeof(rfc5769_req))
		CHECK_EQ_MEM(buf, rfc5769_req, n);
}

/* 2.2 and 2.3 */
static void
check_response(const uint8_t *vec, size_t len, const struct sockaddr *want)
{
	struct stun_msg		 m;
	struct sockaddr_storage	 ss;
	const struct stun_attr	*a;

	CHECK_EQ_INT(stun_msg_parse(&m, vec, len), STUN_PARSE_OK);
	CHECK_EQ_INT(m.method, STUN_METHOD_BINDING);
	CHECK_EQ_INT(m.cls, STUN_CLASS_SUCCESS);
	CHECK_EQ_MEM(m.tid, rfc_tid, STUN_TID_LEN);
	CHECK_EQ_INT(m.nattrs, 4);
	check_str(&m, STUN_ATTR_SOFTWARE, RFC5769_SW_SERVER);
	a = stun_msg_find(&m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	CHECK(a != NULL);
	if (a != NULL) {
		CHECK_EQ_INT(stun_attr_get_xaddr(a, m.tid, &ss), 0);
		CHECK_EQ_INT(ss.ss_family, want->sa_family);
		if (want->sa_family == AF_INET) {
			CHECK_EQ_MEM(&ss, want, sizeof(struct sockaddr_in));
		} else {
			CHECK_EQ_MEM(&ss, want, sizeof(struct sockaddr_in6));
		}
		/* Not XOR'ed, it is some other address. */
		CHECK_EQ_INT(stun_attr_get_addr(a, &ss), 0);
		CHECK(memcmp(&ss, want, sizeof(struct sockaddr_in)) != 0);
	}
	CHECK_EQ_INT(stun_msg_check_fingerprint(&m), 0);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, PW, PWLEN), 0);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, (const uint8_t *)"x", 1),
	    -1);
}

static void
build_response(const uint8_t *vec, size_t len, const struct sockaddr *sa)
{
	struct stun_build	b;
	uint8_t			buf[256];
	size_t			n;

	stun_build_init(&b, buf, sizeof(buf),
	    STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS), rfc_tid);
	b.pad = 0x20;
	stun_build_str(&b, STUN_ATTR_SOFTWARE, RFC5769_SW_SERVER);
	stun_build_xaddr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, sa);
	stun_build_integrity(&b, PW, PWLEN);
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	CHECK_EQ_INT(n, len);
	if (n == len)
		CHECK_EQ_MEM(buf, vec, n);
}

static void
rfc_sin(struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(RFC5769_PORT);
	inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
}

static void
rfc_sin6(struct sockaddr_in6 *sin6)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(RFC5769_PORT);
	inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677",
	    &sin6->sin6_addr);
}

static void
test_ipv4_response(void)
{
	struct sockaddr_in	sin;

	rfc_sin(&sin);
	check_response(rfc5769_resp4, sizeof(rfc5769_resp4),
	    (struct sockaddr *)&sin);
	build_response(rfc5769_resp4, sizeof(rfc5769_resp4),
	    (struct sockaddr *)&sin);
}

static void
test_ipv6_response(void)
{
	struct sockaddr_in6	sin6;

	rfc_sin6(&sin6);
	check_response(rfc5769_resp6, sizeof(rfc5769_resp6),
	    (struct sockaddr *)&sin6);
	build_response(rfc5769_resp6, sizeof(rfc5769_resp6),
	    (struct sockaddr *)&sin6);
}

/* 2.4 */
static void
test_longterm_parse(void)
{
	struct stun_msg	m;
	uint8_t		key[16], bad[16];

	CHECK_EQ_INT(stun_msg_parse(&m, rfc5769_ltreq, sizeof(rfc5769_ltreq)),
	    STUN_PARSE_OK);
	CHECK_EQ_INT(m.method, STUN_METHOD_BINDING);
	CHECK_EQ_INT(m.cls, STUN_CLASS_REQUEST);
	CHECK_EQ_MEM(m.tid, rfc_lt_tid, STUN_TID_LEN);
	CHECK_EQ_INT(m.nattrs, 4);
	check_str(&m, STUN_ATTR_USERNAME, RFC5769_LT_USERNAME);
	check_str(&m, STUN_ATTR_NONCE, RFC5769_LT_NONCE);
	check_str(&m, STUN_ATTR_REALM, RFC5769_LT_REALM);
	CHECK_EQ_INT(stun_msg_check_fingerprint(&m), 1);

	lt_key(key);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, key, sizeof(key)), 0);
	stun_key_md5(RFC5769_LT_USERNAME, RFC5769_LT_REALM, "thematrix", bad);
	CHECK_EQ_INT(stun_msg_check_integrity(&m, bad, sizeof(bad)), -1);
	/* The password is not the key for long-term credentials. */
	CHECK_EQ_INT(stun_msg_check_integrity(&m,
	    (const uint8_t *)RFC5769_LT_PASSWORD, 9), -1);
}

static void
test_longterm_build(void)
{
	struct stun_build	b;
	uint8_t			buf[256], key[16];
	size_t			n;

	lt_key(key);
	stun_build_init(&b, buf, sizeof(buf),
	    STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), rfc_lt_tid);
	CHECK_EQ_INT(b.pad, 0);
	stun_build_str(&b, STUN_ATTR_USERNAME, RFC5769_LT_USERNAME);
	stun_build_str(&b, STUN_ATTR_NONCE, RFC5769_LT_NONCE);
	stun_build_str(&b, STUN_ATTR_REALM, RFC5769_LT_REALM);
	stun_build_integrity(&b, key, sizeof(key));
	n = stun_build_finish(&b);
	CHECK_EQ_INT(n, sizeof(rfc5769_ltreq));
	if (n == sizeof(rfc5769_ltreq))
		CHECK_EQ_MEM(buf, rfc5769_ltreq, n);
}

/* The key derivation and CRC-32 underneath the vectors. */
static void
test_keys_and_crc(void)
{
	static const uint8_t	lt_md5[16] = {
		0xe8, 0xca, 0x7a, 0xd5, 0x9d, 0x5e, 0xb0, 0x51,
		0x8e, 0x31, 0x29, 0x11, 0xd2, 0xda, 0xb2, 0xa9
	};
	static const uint8_t	lt_sha256[32] = {
		0xdd, 0x29, 0x5a, 0x61, 0x3b, 0x90, 0x58, 0xc3,
		0xc2, 0x3d, 0x6d, 0xc7, 0x16, 0x5b, 0xda, 0x07,
		0x23, 0x04, 0xd9, 0x89, 0xc9, 0xd0, 0xaf, 0x3a,
		0x8c, 0x7e, 0x18, 0x4b, 0x4f, 0x9b, 0xb4, 0xa1
	};
	static const uint8_t	upr_md5[16] = {
		0x84, 0x93, 0xfb, 0xc5, 0x3b, 0xa5, 0x82, 0xfb,
		0x4c, 0x04, 0x4c, 0x45, 0x6b, 0xdc, 0x40, 0xeb
	};
	uint8_t			k16[16], k32[32];

	stun_key_md5(RFC5769_LT_USERNAME, RFC5769_LT_REALM,
	    RFC5769_LT_PASSWORD, k16);
	CHECK_EQ_MEM(k16, lt_md5, 16);
	stun_key_sha256(RFC5769_LT_USERNAME, RFC5769_LT_REALM,
	    RFC5769_LT_PASSWORD, k32);
	CHECK_EQ_MEM(k32, lt_sha256, 32);
	stun_key_md5("user", "realm", "pass", k16);
	CHECK_EQ_MEM(k16, upr_md5, 16);

	/* The published CRC-32 check value. */
	CHECK_EQ_INT(stun_crc32((const uint8_t *)"123456789", 9),
	    0xcbf43926U);
	CHECK_EQ_INT(stun_crc32(NULL, 0), 0);
}

int
main(void)
{
	RUN(test_request_parse);
	RUN(test_request_build);
	RUN(test_ipv4_response);
	RUN(test_ipv6_response);
	RUN(test_longterm_parse);
	RUN(test_longterm_build);
	RUN(test_keys_and_crc);
	return (unit_done());
}
