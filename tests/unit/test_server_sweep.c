/*
 * test_server_sweep.c -- turn/server.c on RFC 5780 sockets and under
 * sweeps: CHANGE-REQUEST and RESPONSE-PORT unknown where RFC 5780 is off,
 * CHANGE-REQUEST / RESPONSE-PORT / RESPONSE-ORIGIN / OTHER-ADDRESS where
 * it is on, then every prefix, byte flips and random attribute areas,
 * which must be answered well-formed or not at all.  The fixture is in
 * server_fixture.h; meant to be run under ASan too, like test_server.c.
 */

#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "server_fixture.h"

/* ----------------------------------------------------------- RFC 5780 */

/*
 * Without RFC 5780 on the socket (origin NULL), CHANGE-REQUEST and
 * RESPONSE-PORT are unknown comprehension-required attributes (RFC 5780
 * 6.1 / RFC 8489 7.3.1).
 */
static void
test_420_rfc5780_off(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, NULL);
	struct tlv		cr[] = {
		{ STUN_ATTR_CHANGE_REQUEST, 4, STUN_CHANGE_IP },
	};
	struct tlv		rp[] = {
		{ STUN_ATTR_RESPONSE_PORT, 4, 4000U << 16 },
	};
	struct tlv		all[] = {
		{ STUN_ATTR_RESPONSE_PORT, 4, 4000U << 16 },
		{ 0x7ffe, 4, 0 },
		{ STUN_ATTR_CHANGE_REQUEST, 4, 0 },
	};
	static const uint16_t	want_cr[] = { STUN_ATTR_CHANGE_REQUEST };
	static const uint16_t	want_rp[] = { STUN_ATTR_RESPONSE_PORT };
	static const uint16_t	want_all[] = {
		0x7ffe, STUN_ATTR_CHANGE_REQUEST, STUN_ATTR_RESPONSE_PORT
	};
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, cr, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want_cr, 1);
	CHECK_EQ_INT(reply.change, 0);
	len = build(msg, sizeof(msg), BINDING_REQ, rp, 1, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want_rp, 1);
	check_tail("", FP);
	CHECK_EQ_INT(reply.port, 0);
	len = build(msg, sizeof(msg), BINDING_REQ, all, 3, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want_all, 3);

	/* Stream transports never have RFC 5780. */
	pkt = pkt_of(TRANSPORT_TCP, &src6, NULL);
	len = build(msg, sizeof(msg), BINDING_REQ, cr, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want_cr, 1);
	CHECK_EQ_INT(ST(err_420), 4);
	CHECK_EQ_INT(ST(error_responses), 4);
	CHECK_EQ_INT(ST(stun_requests), 4);
	CHECK_EQ_INT(stats_total(), 12);
}

/* A 5780 success: XOR-MAPPED, RESPONSE-ORIGIN origin[change],
 * OTHER-ADDRESS origin[3]. */
static void
check_5780(const struct sockaddr_storage *src,
    const struct sockaddr *const *origin, unsigned int change,
    uint16_t port)
{
	struct sockaddr_storage	ss;

	check_binding_ok(src, "turnd", NOFP);
	CHECK_EQ_INT(reply.change, change);
	CHECK_EQ_INT(reply.port, port);
	CHECK_EQ_INT(ans_addr(STUN_ATTR_RESPONSE_ORIGIN, &ss), 0);
	if (change < 4)
		CHECK(addr_eq(SA(&ss), origin[change]));
	CHECK_EQ_INT(ans_addr(STUN_ATTR_OTHER_ADDRESS, &ss), 0);
	CHECK(addr_eq(SA(&ss), origin[3]));
}

static void
test_rfc5780_plain(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, origin4);
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_5780(&src4, origin4, 0, 0);
	pkt = pkt_of(TRANSPORT_UDP, &src6, origin6);
	CHECK(handle(&pkt, msg, len) > 0);
	check_5780(&src6, origin6, 0, 0);
	CHECK_EQ_INT(ST(binding_success), 2);
	CHECK_EQ_INT(stats_total(), 4);
}

static void
test_rfc5780_change(void)
{
	static const struct {
		uint32_t	flags;
		unsigned int	change;
	} cases[] = {
		{ 0,					0 },
		{ STUN_CHANGE_PORT,			1 },
		{ STUN_CHANGE_IP,			2 },
		{ STUN_CHANGE_IP | STUN_CHANGE_PORT,	3 },
		/* only the A and B bits mean anything */
		{ 0xfffffff9U,				0 },
		{ 0xffffffffU,				3 },
		{ 0x00000104U,				2 },
	};
	struct server_pkt	pkt;
	struct tlv		t[2];
	uint8_t			msg[256];
	size_t			len, i;

	setup(conf_def);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t[0].type = STUN_ATTR_CHANGE_REQUEST;
		t[0].len = 4;
		t[0].val = cases[i].flags;
		len = build(msg, sizeof(msg), BINDING_REQ, t, 1, NOFP);
		pkt = pkt_of(TRANSPORT_UDP, &src4, origin4);
		CHECK(handle(&pkt, msg, len) > 0);
		check_5780(&src4, origin4, cases[i].change, 0);
		pkt = pkt_of(TRANSPORT_UDP, &src6, origin6);
		CHECK(handle(&pkt, msg, len) > 0);
		check_5780(&src6, origin6, cases[i].change, 0);

		/* with RESPONSE-PORT too */
		t[1].type = STUN_ATTR_RESPONSE_PORT;
		t[1].len = 4;
		t[1].val = 4000U << 16;
		len = build(msg, sizeof(msg), BINDING_REQ, t, 2, NOFP);
		pkt = pkt_of(TRANSPORT_UDP, &src4, origin4);
		CHECK(handle(&pkt, msg, len) > 0);
		check_5780(&src4, origin4, cases[i].change, 4000);
	}
	CHECK_EQ_INT(ST(binding_success), 3 * i);
	CHECK_EQ_INT(ST(error_responses), 0);
}

static void
test_rfc5780_port(void)
{
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, origin4);
	struct tlv		t[] = { { STUN_ATTR_RESPONSE_PORT, 4, 0 } };
	uint8_t			msg[256];
	size_t			len;

	setup(conf_def);
	t[0].val = 4000U << 16;
	len = build(msg, sizeof(msg), BINDING_REQ, t, 1, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_head(BINDING_OK);
	check_tail("turnd", FP);
	CHECK_EQ_INT(reply.port, 4000);
	CHECK_EQ_INT(reply.change, 0);
	/* The padding half is ignored. */
	t[0].val = (65535U << 16) | 0xffff;
	len = build(msg, sizeof(msg), BINDING_REQ, t, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_head(BINDING_OK);
	CHECK_EQ_INT(reply.port, 65535);
	t[0].val = 1U << 16;
	len = build(msg, sizeof(msg), BINDING_REQ, t, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	CHECK_EQ_INT(reply.port, 1);
	CHECK_EQ_INT(ST(binding_success), 3);
	CHECK_EQ_INT(stats_total(), 6);
}

/* Broken RFC 5780 attributes on a socket that honours them: 400. */
static void
test_rfc5780_bad(void)
{
	static const struct tlv	bad[] = {
		{ STUN_ATTR_CHANGE_REQUEST, 0, 0 },
		{ STUN_ATTR_CHANGE_REQUEST, 1, 0x04000000 },
		{ STUN_ATTR_CHANGE_REQUEST, 2, 0 },
		{ STUN_ATTR_CHANGE_REQUEST, 8, STUN_CHANGE_IP },
		{ STUN_ATTR_RESPONSE_PORT, 4, 0 },		/* port 0 */
		{ STUN_ATTR_RESPONSE_PORT, 4, 0x0000ffff },	/* port 0 */
		{ STUN_ATTR_RESPONSE_PORT, 2, 4000U << 16 },
		{ STUN_ATTR_RESPONSE_PORT, 0, 0 },
		{ STUN_ATTR_RESPONSE_PORT, 8, 4000U << 16 },
	};
	struct server_pkt	pkt = pkt_of(TRANSPORT_UDP, &src4, origin4);
	struct tlv		t[2];
	uint8_t			msg[256];
	size_t			len, i;

	setup(conf_def);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t[0] = bad[i];
		len = build(msg, sizeof(msg), BINDING_REQ, t, 1, FP);
		CHECK(handle(&pkt, msg, len) > 0);
		check_head(BINDING_ERR);
		CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
		check_tail("", FP);
		/* no redirection of an error response */
		CHECK_EQ_INT(reply.change, 0);
		CHECK_EQ_INT(reply.port, 0);
		CHECK(stun_msg_find(&ans, STUN_ATTR_RESPONSE_ORIGIN) == NULL);
	}
	/* A good CHANGE-REQUEST does not rescue a bad RESPONSE-PORT. */
	t[0].type = STUN_ATTR_CHANGE_REQUEST;
	t[0].len = 4;
	t[0].val = STUN_CHANGE_IP | STUN_CHANGE_PORT;
	t[1].type = STUN_ATTR_RESPONSE_PORT;
	t[1].len = 4;
	t[1].val = 0;
	len = build(msg, sizeof(msg), BINDING_REQ, t, 2, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_head(BINDING_ERR);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(reply.change, 0);
	CHECK_EQ_INT(reply.port, 0);
	i++;

	CHECK_EQ_INT(ST(stun_requests), i);
	CHECK_EQ_INT(ST(error_responses), i);
	CHECK_EQ_INT(ST(err_400), i);
	CHECK_EQ_INT(ST(binding_success), 0);
	CHECK_EQ_INT(stats_total(), 3 * i);
}

/* ------------------------------------------------------------- sweeps */

/*
 * Whatever came in, an answer is a well-formed response to it: same
 * transaction ID and method, success or error class, an error code of
 * ours, a FINGERPRINT only if valid.
 */
static void
check_wellformed(const uint8_t *req, size_t reqlen)
{
	int	code;

	if (reply.len == 0)
		return;
	CHECK(reply.len <= REPLY_CAP);
	CHECK(reqlen >= STUN_HDR_LEN);
	if (reqlen < STUN_HDR_LEN || ans.tid == NULL)
		return;
	CHECK_EQ_MEM(ans.tid, req + 8, STUN_TID_LEN);
	CHECK_EQ_INT(ans.method, STUN_TYPE_METHOD((req[0] << 8) | req[1]));
	CHECK_EQ_INT(STUN_TYPE_CLASS((req[0] << 8) | req[1]),
	    STUN_CLASS_REQUEST);
	CHECK(ans.cls == STUN_CLASS_SUCCESS || ans.cls == STUN_CLASS_ERROR);
	CHECK(stun_msg_check_fingerprint(&ans) != -1);
	if (ans.cls == STUN_CLASS_SUCCESS) {
		CHECK(stun_msg_find(&ans, STUN_ATTR_XOR_MAPPED_ADDRESS) !=
		    NULL);
		CHECK(reply.change < 4);
	} else {
		code = ans_error();
		CHECK(code == STUN_ERR_BAD_REQUEST ||
		    code == STUN_ERR_UNKNOWN_ATTRIBUTE);
		if (code == STUN_ERR_UNKNOWN_ATTRIBUTE)
			CHECK(ans_unknown(NULL, 0) >= 0);
		CHECK_EQ_INT(reply.change, 0);
		CHECK_EQ_INT(reply.port, 0);
	}
}

/* A request with most of what the server looks at. */
static size_t
build_rich(uint8_t *msg, size_t cap)
{
	struct tlv	t[] = {
		{ STUN_ATTR_SOFTWARE, 7, 0x636c6965 },
		{ 0xc0de, 4, 0x01020304 },
		{ STUN_ATTR_PRIORITY, 4, 0x6e0001ff },
		{ STUN_ATTR_CHANGE_REQUEST, 4,
		    STUN_CHANGE_IP | STUN_CHANGE_PORT },
		{ STUN_ATTR_RESPONSE_PORT, 4, 4000U << 16 },
		{ STUN_ATTR_USERNAME, 9, 0x61626364 },
	};

	return (build(msg, cap, BINDING_REQ, t, 6, FP));
}

/*
 * Every prefix of a valid request, as it is and with the header length
 * patched to match; with and without RFC 5780.
 */
static void
test_sweep_prefix(void)
{
	const struct sockaddr *const	*origins[] = { NULL, origin4 };
	struct server_pkt		 pkt;
	uint8_t				 msg[256], m2[256];
	size_t				 len, n, o, replies = 0;

	setup(conf_mapped);
	len = build_rich(msg, sizeof(msg));
	for (o = 0; o < 2; o++) {
		pkt = pkt_of(TRANSPORT_UDP, &src4, origins[o]);
		for (n = 0; n <= len; n++) {
			handle(&pkt, msg, n);
			if (n < len)
				CHECK_EQ_INT(reply.len, 0);
			check_wellformed(msg, n);

			if (n < STUN_HDR_LEN)
				continue;
			memcpy(m2, msg, n);
			m2[2] = (uint8_t)((n - STUN_HDR_LEN) >> 8);
			m2[3] = (uint8_t)(n - STUN_HDR_LEN);
			handle(&pkt, m2, n);
			if (n % 4 != 0)
				CHECK_EQ_INT(reply.len, 0);
			check_wellformed(m2, n);
			if (reply.len > 0)
				replies++;
		}
		/* The whole: 420 without RFC 5780, change 3 with. */
		handle(&pkt, msg, len);
		if (origins[o] == NULL)
			CHECK_EQ_INT(ans_error(), STUN_ERR_UNKNOWN_ATTRIBUTE);
		else {
			check_binding_ok(&src4, "turnd", FP);
			CHECK_EQ_INT(reply.change, 3);
			CHECK_EQ_INT(reply.port, 4000);
		}
	}
	/* Patched prefixes that cut an attribute are 400s: some answer. */
	CHECK(replies > 4);
}

/* Every byte of a valid request flipped several ways. */
static void
test_sweep_flip(void)
{
	static const uint8_t		 flips[] = {
		0x01, 0x02, 0x80, 0xff
	};
	const struct sockaddr *const	*origins[] = { NULL, origin6 };
	struct server_pkt		 pkt;
	uint8_t				 msg[256], m2[256];
	size_t				 len, i, f, o;

	setup(conf_def);
	len = build_rich(msg, sizeof(msg));
	for (o = 0; o < 2; o++) {
		pkt = pkt_of(TRANSPORT_UDP, &src6, origins[o]);
		for (i = 0; i < len; i++) {
			for (f = 0; f < sizeof(flips); f++) {
				memcpy(m2, msg, len);
				m2[i] ^= flips[f];
				handle(&pkt, m2, len);
				check_wellformed(m2, len);
				/*
				 * A changed transaction ID breaks the
				 * FINGERPRINT: dropped.  A changed attribute
				 * length may make the area malformed,
				 * answered with a 400 before FINGERPRINT can
				 * be checked; any other change before it is
				 * dropped.
				 */
				if (i >= 8 && i < STUN_HDR_LEN)
					CHECK_EQ_INT(reply.len, 0);
				else if (i < len - 8 && reply.len > 0)
					CHECK_EQ_INT(ans_error(),
					    STUN_ERR_BAD_REQUEST);
			}
		}
	}
}

/*
 * Random attribute areas behind a sound header: types mostly from those
 * the server looks at, random lengths (some overrunning), random values,
 * a third of them sealed with a valid FINGERPRINT.
 */
static void
test_sweep_random(void)
{
	static const uint16_t	types[] = {
		STUN_ATTR_CHANGE_REQUEST, STUN_ATTR_RESPONSE_PORT,
		STUN_ATTR_FINGERPRINT, STUN_ATTR_MESSAGE_INTEGRITY,
		STUN_ATTR_MESSAGE_INTEGRITY_SHA256, STUN_ATTR_SOFTWARE,
		STUN_ATTR_XOR_MAPPED_ADDRESS, STUN_ATTR_UNKNOWN_ATTRIBUTES,
		0x7ffe, 0xc0de, 0x0000, 0xffff,
	};
#define NTYPES	(sizeof(types) / sizeof(types[0]))
	const struct sockaddr *const	*origins[] = { NULL, origin4 };
	struct server_pkt		 pkt;
	struct raw			 r;
	uint32_t			 x, crc;
	uint16_t			 type, alen;
	size_t				 k, j, i, nattr, vlen;
	unsigned int			 answered = 0;

	setup(conf_def);
	for (k = 0; k < 4000; k++) {
		x = unit_rng();
		/* a Binding request, or a request of any method */
		raw_init(&r, (x & 1) ? BINDING_REQ :
		    (uint16_t)(unit_rng() & 0x3eef));
		nattr = (x >> 1) % 6;
		for (j = 0; j < nattr; j++) {
			x = unit_rng();
			type = (x & 3) == 0 ? (uint16_t)(x >> 16) :
			    types[(x >> 2) % NTYPES];
			alen = (uint16_t)((x >> 8) % 13);
			vlen = (alen + 3U) & ~3U;
			if ((x & 0xf0) == 0) {
				/* claims more than there is */
				alen = (uint16_t)(unit_rng() | 0x100);
				vlen = 4 * (unit_rng() % 4);
			}
			raw_tlv(&r, type, alen, vlen);
			for (i = 0; i < vlen; i++)
				r.b[r.len - vlen + i] = (uint8_t)unit_rng();
		}
		if (unit_rng() % 3 == 0) {
			raw_tlv(&r, STUN_ATTR_FINGERPRINT, 4, 4);
			raw_fix(&r);
			crc = stun_crc32(r.b, r.len - 8) ^ STUN_FINGERPRINT_XOR;
			put32(r.b + r.len - 4, crc);
		} else
			raw_fix(&r);
		pkt = pkt_of((k & 2) ? TRANSPORT_TCP : TRANSPORT_UDP, &src4,
		    (k & 2) ? NULL : origins[k & 1]);
		handle(&pkt, r.b, r.len);
		check_wellformed(r.b, r.len);
		if (reply.len > 0)
			answered++;
	}
	CHECK(answered > 1000);
#undef NTYPES
}

/* ------------------------------------------------------------------- */

int
main(void)
{
	unsigned int	i;

	/*
	 * test_server.c's seed, moved past the 64 * 256 draws of its
	 * test_drop_notstun, so that test_sweep_random draws the same
	 * messages as when both were in one file.
	 */
	unit_rng_seed(0x2545f491U);
	for (i = 0; i < 64 * 256; i++)
		(void)unit_rng();
	fixture_init();

	RUN(test_420_rfc5780_off);
	RUN(test_rfc5780_plain);
	RUN(test_rfc5780_change);
	RUN(test_rfc5780_port);
	RUN(test_rfc5780_bad);
	RUN(test_sweep_prefix);
	RUN(test_sweep_flip);
	RUN(test_sweep_random);

	fixture_clear();
	return (unit_done());
}
