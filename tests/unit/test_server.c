/*
 * test_server.c -- the request logic of turn/server.c driven with plain
 * buffers: Binding success (RFC 8489 7.3.1), 420 and UNKNOWN-ATTRIBUTES,
 * 400 for malformed requests, unsupported methods, silent drops and their
 * counters, indications, error attributes and reply buffers too small.
 * RFC 5780 and the sweeps are in test_server_sweep.c, the fixture in
 * server_fixture.h.  Meant to be run under ASan too: every message and
 * every reply buffer is allocated at exactly its size.
 */

#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "server_fixture.h"

/* -------------------------------------------------------- Binding: 200 */

static void
test_binding_v4(void)
{
	const struct stun_attr	*a;
	struct server_pkt	 pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	uint8_t			 msg[256];
	size_t			 len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", NOFP);
	CHECK_EQ_INT(reply.change, 0);
	CHECK_EQ_INT(reply.port, 0);
	CHECK(stun_msg_find(&ans, STUN_ATTR_MAPPED_ADDRESS) == NULL);
	CHECK(stun_msg_find(&ans, STUN_ATTR_RESPONSE_ORIGIN) == NULL);
	CHECK(stun_msg_find(&ans, STUN_ATTR_OTHER_ADDRESS) == NULL);

	/* On the wire, not only through our decoder: 192.0.2.1:32853. */
	a = stun_msg_find(&ans, STUN_ATTR_XOR_MAPPED_ADDRESS);
	CHECK(a != NULL);
	if (a != NULL) {
		static const uint8_t want[8] = {
			0x00, 0x01, 0x80 ^ 0x21, 0x55 ^ 0x12,
			0xc0 ^ 0x21, 0x00 ^ 0x12, 0x02 ^ 0xa4, 0x01 ^ 0x42
		};
		CHECK_EQ_INT(a->len, 8);
		CHECK_EQ_MEM(a->val, want, 8);
	}

	CHECK_EQ_INT(ST(stun_requests), 1);
	CHECK_EQ_INT(ST(binding_success), 1);
	CHECK_EQ_INT(stats_total(), 2);

	/* Every transport answers the same way. */
	pkt.transport = TRANSPORT_TCP;
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", NOFP);
	pkt.transport = TRANSPORT_TLS;
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", NOFP);
	pkt.transport = TRANSPORT_DTLS;
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", NOFP);
	CHECK_EQ_INT(ST(binding_success), 4);
}

static void
test_binding_v6(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src6, NULL);
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src6, "turnd", NOFP);
	CHECK(stun_msg_find(&ans, STUN_ATTR_MAPPED_ADDRESS) == NULL);
	pkt.transport = TRANSPORT_TCP;
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src6, "turnd", FP);
	CHECK_EQ_INT(ST(stun_requests), 2);
	CHECK_EQ_INT(ST(binding_success), 2);
	CHECK_EQ_INT(stats_total(), 4);
}

/* FINGERPRINT in the answer iff the request had one (RFC 8489 7.3). */
static void
test_binding_fingerprint(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		t[] = {
		{ STUN_ATTR_SOFTWARE, 6, 0x41424344 },
	};
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", FP);
	len = build(msg, sizeof(msg), BINDING_REQ, t, 1, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", FP);
	len = build(msg, sizeof(msg), BINDING_REQ, t, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", NOFP);
	CHECK_EQ_INT(ST(binding_success), 3);

	setup(conf_nosw);
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "", FP);
}

static void
test_binding_software(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	uint8_t			msg[256];
	size_t			len;

	CHECK_EQ_STR(conf_def->software, "turnd");
	CHECK_EQ_STR(conf_nosw->software, "");
	setup(conf_nosw);
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "", NOFP);
	CHECK(stun_msg_find(&ans, STUN_ATTR_SOFTWARE) == NULL);
	CHECK_EQ_INT(ST(binding_success), 1);
	pkt = pkt_of(TRANSPORT_UDP, &src6, NULL);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src6, "", NOFP);
}

/* MAPPED-ADDRESS only with stun.mapped_address = true. */
static void
test_binding_mapped(void)
{
	struct sockaddr_storage	ss;
	struct server_pkt	pkt;
	uint8_t			msg[256];
	size_t			len;

	CHECK_EQ_INT(conf_def->stun_mapped_address, 0);
	CHECK_EQ_INT(conf_mapped->stun_mapped_address, 1);
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, FP);

	setup(conf_mapped);
	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, conf_mapped->software, FP);
	CHECK_EQ_INT(ans_addr(STUN_ATTR_MAPPED_ADDRESS, &ss), 0);
	CHECK(addr_eq(SA(&ss), SA(&src4)));
	pkt = pkt_of(TRANSPORT_TCP, &src6, NULL);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src6, conf_mapped->software, FP);
	CHECK_EQ_INT(ans_addr(STUN_ATTR_MAPPED_ADDRESS, &ss), 0);
	CHECK(addr_eq(SA(&ss), SA(&src6)));
	CHECK_EQ_INT(ST(binding_success), 2);

	setup(conf_def);
	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	CHECK(handle(&pkt, msg, len) > 0);
	CHECK(stun_msg_find(&ans, STUN_ATTR_MAPPED_ADDRESS) == NULL);
}

/*
 * Attributes the server knows but does not use, and unknown
 * comprehension-optional ones, are ignored (RFC 8489 7.3.1); so is
 * everything after MESSAGE-INTEGRITY (14.5).
 */
static void
test_binding_ignored_attrs(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		t[] = {
		{ 0xc0de, 4, 0xdeadbeef },
		{ STUN_ATTR_SOFTWARE, 5, 0x61626364 },
		{ STUN_ATTR_PRIORITY, 4, 0x6e0001ff },
		{ STUN_ATTR_USERNAME, 3, 0x75737200 },
		{ 0xffff, 0, 0 },
	};
	struct stun_build	b;
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, t, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", NOFP);
	len = build(msg, sizeof(msg), BINDING_REQ, t, 5, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", FP);

	/* An unknown comprehension-required type after MI does not count. */
	stun_build_init(&b, msg, sizeof(msg), BINDING_REQ, tid0);
	stun_build_integrity(&b, (const uint8_t *)"key", 3);
	stun_build_u32(&b, 0x7ffe, 0);
	stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	CHECK(len > 0);
	CHECK(handle(&pkt, msg, len) > 0);
	check_binding_ok(&src4, "turnd", FP);
	CHECK_EQ_INT(ST(binding_success), 3);
	CHECK_EQ_INT(ST(error_responses), 0);
}

/* ---------------------------------------------------------------- 420 */

static void
test_420_one(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		t[] = { { 0x7ffe, 4, 1 } };
	static const uint16_t	want[] = { 0x7ffe };
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, t, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 1);
	check_tail("", NOFP);
	CHECK(stun_msg_find(&ans, STUN_ATTR_XOR_MAPPED_ADDRESS) == NULL);
	CHECK_EQ_INT(reply.change, 0);
	CHECK_EQ_INT(reply.port, 0);
	CHECK_EQ_INT(ST(stun_requests), 1);
	CHECK_EQ_INT(ST(error_responses), 1);
	CHECK_EQ_INT(ST(err_420), 1);
	CHECK_EQ_INT(stats_total(), 3);

	/* With FINGERPRINT in the request, in the answer too. */
	len = build(msg, sizeof(msg), BINDING_REQ, t, 1, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 1);
	check_tail("", FP);
	CHECK_EQ_INT(ST(err_420), 2);

	/* An empty value is still an attribute. */
	t[0].len = 0;
	len = build(msg, sizeof(msg), BINDING_REQ, t, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 1);
}

static void
test_420_dedup(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		t[] = {
		{ 0x7ffe, 4, 1 },
		{ 0xc0de, 4, 2 },		/* optional: not listed */
		{ 0x7ffd, 8, 3 },
		{ STUN_ATTR_SOFTWARE, 1, 0x78000000 },
		{ 0x7ffe, 2, 4 },		/* duplicate */
		{ 0x0002, 4, 5 },		/* RFC 3489 RESPONSE-ADDRESS */
	};
	static const uint16_t	want[] = { 0x7ffe, 0x7ffd, 0x0002 };
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, t, 3, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 2);
	len = build(msg, sizeof(msg), BINDING_REQ, t, 5, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 2);
	check_tail("", FP);
	len = build(msg, sizeof(msg), BINDING_REQ, t, 6, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 3);
	CHECK_EQ_INT(ST(err_420), 3);
	CHECK_EQ_INT(ST(error_responses), 3);
	CHECK_EQ_INT(ST(binding_success), 0);
}

/* More unknown types than one UNKNOWN-ATTRIBUTES holds: the first 16. */
static void
test_420_many(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		t[40];
	uint16_t		want[40];
	uint8_t			msg[512];
	size_t			len;
	unsigned int		i;

	for (i = 0; i < 40; i++) {
		t[i].type = (uint16_t)(0x7f00 + i / 2);	/* each twice */
		t[i].len = 4;
		t[i].val = i;
		want[i / 2] = t[i].type;
	}
	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, t, 40, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, STUN_UNKNOWN_MAX);
	check_tail("", FP);
}

/* ---------------------------------------------------------------- 400 */

/* Requests whose header is sound but whose attributes are not. */
static void
test_400_malformed(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct raw		r;
	unsigned int		i, n = 0;

	setup(conf_def);

	/* An attribute length overrunning the message. */
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, STUN_ATTR_SOFTWARE, 100, 4);
	raw_fix(&r);
	CHECK_EQ_INT(r.len, 28);
	CHECK(handle(&pkt, r.b, r.len) > 0);
	check_head(BINDING_ERR);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	CHECK(stun_msg_find(&ans, STUN_ATTR_SOFTWARE) == NULL);
	CHECK(stun_msg_find(&ans, STUN_ATTR_UNKNOWN_ATTRIBUTES) == NULL);
	CHECK_EQ_INT(reply.change, 0);
	CHECK_EQ_INT(reply.port, 0);
	n++;

	/* An overrun just one padded word too long, after a good one. */
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, 0xc0de, 4, 4);
	raw_tlv(&r, STUN_ATTR_SOFTWARE, 5, 4);
	raw_fix(&r);
	CHECK(handle(&pkt, r.b, r.len) > 0);
	check_head(BINDING_ERR);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	n++;

	/* The maximum length, 0xffff. */
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, 0x7ffe, 0xffff, 0);
	raw_fix(&r);
	CHECK(handle(&pkt, r.b, r.len) > 0);
	check_head(BINDING_ERR);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	n++;

	/* An attribute after FINGERPRINT (RFC 8489 14.7). */
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, STUN_ATTR_FINGERPRINT, 4, 4);
	raw_tlv(&r, 0xc0de, 4, 4);
	raw_fix(&r);
	CHECK(handle(&pkt, r.b, r.len) > 0);
	check_head(BINDING_ERR);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	/* The FINGERPRINT of a broken request cannot be trusted either
	 * way; whatever is sent must be valid. */
	CHECK(stun_msg_check_fingerprint(&ans) != -1);
	n++;

	/* More attributes than STUN_ATTR_MAX. */
	raw_init(&r, BINDING_REQ);
	for (i = 0; i <= STUN_ATTR_MAX; i++)
		raw_tlv(&r, 0xc0de, 0, 0);
	raw_fix(&r);
	CHECK(handle(&pkt, r.b, r.len) > 0);
	check_head(BINDING_ERR);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	n++;

	/* A malformed request of another method: still a 400 for it. */
	raw_init(&r, ALLOC_REQ);
	raw_tlv(&r, STUN_ATTR_REQUESTED_TRANSPORT, 8, 4);
	raw_fix(&r);
	CHECK(handle(&pkt, r.b, r.len) > 0);
	check_head(ALLOC_ERR);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	n++;

	CHECK_EQ_INT(ST(stun_requests), n);
	CHECK_EQ_INT(ST(error_responses), n);
	CHECK_EQ_INT(ST(err_400), n);
	CHECK_EQ_INT(stats_total(), 3 * n);

	/* With SOFTWARE off, none in the 400 either. */
	setup(conf_nosw);
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, STUN_ATTR_SOFTWARE, 100, 4);
	raw_fix(&r);
	CHECK(handle(&pkt, r.b, r.len) > 0);
	check_head(BINDING_ERR);
	CHECK(stun_msg_find(&ans, STUN_ATTR_SOFTWARE) == NULL);
}

/* Malformed non-requests cannot be answered: dropped and counted. */
static void
test_malformed_indication(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct raw		r;

	setup(conf_def);
	raw_init(&r, BINDING_IND);
	raw_tlv(&r, STUN_ATTR_SOFTWARE, 100, 4);
	raw_fix(&r);
	CHECK_EQ_INT(handle(&pkt, r.b, r.len), 0);
	CHECK_EQ_INT(ST(dropped_malformed), 1);
	CHECK_EQ_INT(stats_total(), 1);

	raw_init(&r, BINDING_OK);
	raw_tlv(&r, STUN_ATTR_XOR_MAPPED_ADDRESS, 100, 4);
	raw_fix(&r);
	CHECK_EQ_INT(handle(&pkt, r.b, r.len), 0);
	raw_init(&r, BINDING_ERR);
	raw_tlv(&r, STUN_ATTR_FINGERPRINT, 4, 4);
	raw_tlv(&r, STUN_ATTR_ERROR_CODE, 4, 4);
	raw_fix(&r);
	CHECK_EQ_INT(handle(&pkt, r.b, r.len), 0);
	CHECK_EQ_INT(ST(dropped_malformed), 3);
	CHECK_EQ_INT(stats_total(), 3);
}

/*
 * A server without TURN (server_enable_turn() not called: a STUN-only
 * server) answers the TURN methods (Allocate, Refresh, ...) with 400.
 */
static void
test_unsupported_method(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		t[] = {
		{ STUN_ATTR_REQUESTED_TRANSPORT, 4, 17U << 24 },
	};
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), ALLOC_REQ, t, 1, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_head(ALLOC_ERR);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	check_tail("", FP);
	CHECK(stun_msg_find(&ans, STUN_ATTR_XOR_MAPPED_ADDRESS) == NULL);

	len = build(msg, sizeof(msg), REFRESH_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_head(STUN_TYPE(STUN_METHOD_REFRESH, STUN_CLASS_ERROR));
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	check_tail("", NOFP);

	/* A method no one has defined, the largest there is. */
	len = build(msg, sizeof(msg), STUN_TYPE(0xfff, STUN_CLASS_REQUEST),
	    NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_head(STUN_TYPE(0xfff, STUN_CLASS_ERROR));
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);

	CHECK_EQ_INT(ST(stun_requests), 3);
	CHECK_EQ_INT(ST(error_responses), 3);
	CHECK_EQ_INT(ST(err_400), 3);
	CHECK_EQ_INT(stats_total(), 9);
}

/* -------------------------------------------------------------- drops */

static void
expect_notstun(const struct server_pkt *pkt, const uint8_t *msg,
    size_t len, uint64_t *n)
{
	CHECK_EQ_INT(handle(pkt, msg, len), 0);
	(*n)++;
	CHECK_EQ_INT(ST(dropped_notstun), *n);
	CHECK_EQ_INT(stats_total(), *n);
}

static void
test_drop_notstun(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	uint8_t			msg[256], m2[256];
	uint64_t		n = 0;
	size_t			len, i, k;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, FP);

	/* random bytes */
	for (k = 0; k < 64; k++) {
		for (i = 0; i < sizeof(m2); i++)
			m2[i] = (uint8_t)unit_rng();
		expect_notstun(&pkt, m2, 20 + 4 * (k % 40), &n);
	}
	/* too short for a header */
	expect_notstun(&pkt, msg, 0, &n);
	expect_notstun(&pkt, msg, 1, &n);
	expect_notstun(&pkt, msg, STUN_HDR_LEN - 1, &n);

	/* wrong magic cookie, each byte */
	for (i = 4; i < 8; i++) {
		memcpy(m2, msg, len);
		m2[i] ^= 0x01;
		expect_notstun(&pkt, m2, len, &n);
	}
	/* top two bits set */
	memcpy(m2, msg, len);
	m2[0] |= 0x80;
	expect_notstun(&pkt, m2, len, &n);
	m2[0] = (uint8_t)((msg[0] & 0x3f) | 0x40);
	expect_notstun(&pkt, m2, len, &n);
	m2[0] = (uint8_t)(msg[0] | 0xc0);
	expect_notstun(&pkt, m2, len, &n);

	/* header length and datagram size disagree */
	expect_notstun(&pkt, msg, len - 4, &n);		/* truncated */
	memcpy(m2, msg, len);
	memset(m2 + len, 0, 4);
	expect_notstun(&pkt, m2, len + 4, &n);	/* trailing bytes */
	m2[3] = (uint8_t)(msg[3] + 4);
	expect_notstun(&pkt, m2, len, &n);		/* says longer */
	m2[3] = (uint8_t)(msg[3] - 4);
	expect_notstun(&pkt, m2, len, &n);		/* says shorter */
	m2[3] = msg[3];
	m2[2] = 0xff;
	expect_notstun(&pkt, m2, len, &n);
	/* length not a multiple of 4, datagram to match */
	memcpy(m2, msg, len);
	m2[3] = (uint8_t)(msg[3] + 1);
	expect_notstun(&pkt, m2, len + 1, &n);
	/* A header alone claiming attributes. */
	memcpy(m2, msg, STUN_HDR_LEN);
	m2[2] = 0;
	m2[3] = 4;
	expect_notstun(&pkt, m2, STUN_HDR_LEN, &n);
	CHECK_EQ_INT(ST(stun_requests), 0);
}

static void
test_drop_fingerprint(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		unk[] = { { 0x7ffe, 4, 0 } };
	struct raw		r;
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);

	/* a wrong CRC */
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, FP);
	msg[len - 1] ^= 0x01;
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	CHECK_EQ_INT(ST(dropped_fingerprint), 1);

	/* a right CRC over other bytes: a transaction ID changed after */
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, FP);
	msg[19] ^= 0x80;
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	CHECK_EQ_INT(ST(dropped_fingerprint), 2);

	/* FINGERPRINT is checked before the 420 (RFC 8489 7.3). */
	len = build(msg, sizeof(msg), BINDING_REQ, unk, 1, FP);
	msg[len - 4] ^= 0xff;
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	CHECK_EQ_INT(ST(dropped_fingerprint), 3);

	/* a FINGERPRINT of the wrong size */
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, STUN_ATTR_FINGERPRINT, 8, 8);
	raw_fix(&r);
	CHECK_EQ_INT(handle(&pkt, r.b, r.len), 0);
	raw_init(&r, BINDING_REQ);
	raw_tlv(&r, STUN_ATTR_FINGERPRINT, 0, 0);
	raw_fix(&r);
	CHECK_EQ_INT(handle(&pkt, r.b, r.len), 0);
	CHECK_EQ_INT(ST(dropped_fingerprint), 5);
	CHECK_EQ_INT(stats_total(), 5);

	/* and indications with a bad one are dropped the same way */
	len = build(msg, sizeof(msg), BINDING_IND, NULL, 0, FP);
	msg[len - 1] ^= 0x01;
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	CHECK_EQ_INT(ST(dropped_fingerprint), 6);
	CHECK_EQ_INT(ST(stun_indications), 0);
}

/* A server never expects responses (RFC 8489 7.3.3): dropped. */
static void
test_drop_responses(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		ok[] = {
		{ STUN_ATTR_XOR_MAPPED_ADDRESS, 8, 0x00012112 },
	};
	struct tlv		err[] = {
		{ STUN_ATTR_ERROR_CODE, 4, 0x00000400 },
		{ 0x7ffe, 4, 0 },	/* would be a 420 if answered */
	};
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_OK, ok, 1, NOFP);
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	len = build(msg, sizeof(msg), BINDING_OK, ok, 1, FP);
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	len = build(msg, sizeof(msg), BINDING_ERR, err, 2, FP);
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	len = build(msg, sizeof(msg), ALLOC_OK, NULL, 0, NOFP);
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	len = build(msg, sizeof(msg), ALLOC_ERR, err, 1, NOFP);
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	CHECK_EQ_INT(ST(dropped_other), 5);
	CHECK_EQ_INT(stats_total(), 5);
}

/* A Binding indication is a keepalive: counted, never answered. */
static void
test_indication(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		unk[] = { { 0x7ffe, 4, 0 } };
	struct tlv		cr[] = {
		{ STUN_ATTR_CHANGE_REQUEST, 4, STUN_CHANGE_IP },
	};
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_IND, NULL, 0, NOFP);
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	CHECK_EQ_INT(ST(stun_indications), 1);
	CHECK_EQ_INT(stats_total(), 1);
	len = build(msg, sizeof(msg), BINDING_IND, NULL, 0, FP);
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	/* unknown comprehension-required: discarded, no 420 (7.3.2) */
	len = build(msg, sizeof(msg), BINDING_IND, unk, 1, NOFP);
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	pkt = pkt_of(TRANSPORT_UDP, &src4, origin4);
	len = build(msg, sizeof(msg), BINDING_IND, cr, 1, NOFP);
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	pkt.transport = TRANSPORT_TCP;
	CHECK_EQ_INT(handle(&pkt, msg, len), 0);
	CHECK_EQ_INT(ST(stun_indications), 5);
	CHECK_EQ_INT(ST(stun_requests), 0);
	CHECK_EQ_INT(stats_total(), 5);
}

/* ------------------------------------------------------ error details */

static void
test_error_attrs(void)
{
	struct server_pkt	 pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		 unk[] = { { 0x7ffe, 4, 0 } };
	static const uint16_t	 want[] = { 0x7ffe };
	const struct stun_attr	*a;
	const char		*reason;
	uint8_t			 msg[256];
	size_t			 len, rlen;
	int			 code;

	/*
	 * 420 and 400, with and without FINGERPRINT: SOFTWARE is set,
	 * but errors carry it only with software_errors.
	 */
	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, unk, 1, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 1);
	check_tail("", FP);
	len = build(msg, sizeof(msg), BINDING_REQ, unk, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_tail("", NOFP);
	len = build(msg, sizeof(msg), ALLOC_REQ, NULL, 0, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	check_tail("", FP);
	len = build(msg, sizeof(msg), ALLOC_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_tail("", NOFP);
	CHECK_EQ_INT(ST(error_responses), 4);
	CHECK_EQ_INT(ST(err_420), 2);
	CHECK_EQ_INT(ST(err_400), 2);
	CHECK_EQ_INT(ST(stun_requests), 4);
	CHECK_EQ_INT(stats_total(), 12);

	setup(conf_swerr);
	len = build(msg, sizeof(msg), BINDING_REQ, unk, 1, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 1);
	check_tail("turnd", FP);
	len = build(msg, sizeof(msg), ALLOC_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_tail("turnd", NOFP);

	/* SOFTWARE off */
	setup(conf_nosw);
	len = build(msg, sizeof(msg), BINDING_REQ, unk, 1, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 1);
	check_tail("", FP);
	len = build(msg, sizeof(msg), ALLOC_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_tail("", NOFP);

	/* The reason phrases. */
	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, unk, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	a = stun_msg_find(&ans, STUN_ATTR_ERROR_CODE);
	CHECK(a != NULL);
	if (a != NULL) {
		CHECK_EQ_INT(stun_attr_get_error(a, &code, &reason, &rlen), 0);
		CHECK_EQ_INT(code, STUN_ERR_UNKNOWN_ATTRIBUTE);
		CHECK_EQ_INT(rlen, strlen("Unknown Attribute"));
		CHECK_EQ_MEM(reason, "Unknown Attribute", rlen);
	}
}

/* ------------------------------------------------- reply buffer limits */

static void
test_small_reply(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src6, origin6);
	struct tlv		cr[] = {
		{ STUN_ATTR_CHANGE_REQUEST, 4, STUN_CHANGE_IP },
	};
	struct tlv		unk[] = {
		{ 0x7ffe, 4, 0 }, { 0x7ffd, 4, 0 }
	};
	uint8_t			msg[256];
	size_t			len, full, cap;

	setup(conf_mapped);
	len = build(msg, sizeof(msg), BINDING_REQ, cr, 1, FP);
	CHECK_EQ_INT(handle_cap(&pkt, msg, len, 24), 0);
	CHECK_EQ_INT(ST(binding_success), 0);

	/* Every size short of the full answer gives none, none overflows. */
	full = handle(&pkt, msg, len);
	CHECK(full > 24);
	for (cap = 0; cap < full; cap++)
		CHECK_EQ_INT(handle_cap(&pkt, msg, len, cap), 0);
	CHECK_EQ_INT(handle_cap(&pkt, msg, len, full), full);
	check_binding_ok(&src6, "turnd", FP);
	CHECK_EQ_INT(reply.change, 2);
	CHECK_EQ_INT(ST(binding_success), 2);

	/* Error responses likewise. */
	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	len = build(msg, sizeof(msg), BINDING_REQ, unk, 2, FP);
	full = handle(&pkt, msg, len);
	CHECK(full > 24);
	for (cap = 0; cap < full; cap++)
		CHECK_EQ_INT(handle_cap(&pkt, msg, len, cap), 0);
	CHECK_EQ_INT(handle_cap(&pkt, msg, len, full), full);
	CHECK_EQ_INT(ans_error(), STUN_ERR_UNKNOWN_ATTRIBUTE);
}

/* ------------------------------------------------------------------- */

int
main(void)
{
	unit_rng_seed(0x2545f491U);
	fixture_init();

	RUN(test_binding_v4);
	RUN(test_binding_v6);
	RUN(test_binding_fingerprint);
	RUN(test_binding_software);
	RUN(test_binding_mapped);
	RUN(test_binding_ignored_attrs);
	RUN(test_420_one);
	RUN(test_420_dedup);
	RUN(test_420_many);
	RUN(test_400_malformed);
	RUN(test_malformed_indication);
	RUN(test_unsupported_method);
	RUN(test_drop_notstun);
	RUN(test_drop_fingerprint);
	RUN(test_drop_responses);
	RUN(test_indication);
	RUN(test_error_attrs);
	RUN(test_small_reply);

	fixture_clear();
	return (unit_done());
}
