/*
 * test_server.c -- the request logic of turn/server.c driven with plain
 * buffers: Binding success (RFC 8489 7.3.1), 420 and UNKNOWN-ATTRIBUTES,
 * 400 for malformed requests, silent drops and their counters, RFC 5780
 * CHANGE-REQUEST / RESPONSE-PORT / RESPONSE-ORIGIN / OTHER-ADDRESS, reply
 * buffers too small, and sweeps (every prefix, byte flips, random
 * attribute areas) that must answer well-formed or not at all.  Meant to
 * be run under ASan too: every message and every reply buffer is
 * allocated at exactly its size.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "turn/server.h"
#include "turn/stats.h"
#include "unit.h"

#define BINDING_REQ	STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_REQUEST)
#define BINDING_IND	STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_INDICATION)
#define BINDING_OK	STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS)
#define BINDING_ERR	STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_ERROR)
#define ALLOC_REQ	STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST)
#define ALLOC_OK	STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS)
#define ALLOC_ERR	STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR)
#define REFRESH_REQ	STUN_TYPE(STUN_METHOD_REFRESH, STUN_CLASS_REQUEST)

#define REPLY_CAP	1500
#define NOFP		0
#define FP		1

static const uint8_t tid0[STUN_TID_LEN] = {
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae
};

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
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ------------------------------------------------------------ fixtures */

static struct turnd_conf	*conf_def;	/* software "turnd" */
static struct turnd_conf	*conf_nosw;	/* software "" */
static struct turnd_conf	*conf_mapped;	/* stun.mapped_address */

static struct sockaddr_storage	src4, src6, local4, local6;
static struct sockaddr_storage	orig4[4], orig6[4];
static const struct sockaddr	*origin4[4], *origin6[4];

static struct stats		st;
static struct server		sv;
static struct server_reply	reply;
static uint8_t			rbuf[REPLY_CAP];
static struct stun_msg		ans;	/* the parsed reply: views rbuf */

#define SA(ss)		((const struct sockaddr *)(ss))
#define ST(name)	atomic_load(&st.name)

static void
stats_zero(void)
{
#define STATS_ZERO(name)	atomic_store(&st.name, 0);
	STATS_FIELDS(STATS_ZERO)
#undef STATS_ZERO
}

/* The sum of all counters: says that nothing else moved. */
static uint64_t
stats_total(void)
{
	uint64_t	t = 0;

#define STATS_SUM(name)		t += atomic_load(&st.name);
	STATS_FIELDS(STATS_SUM)
#undef STATS_SUM
	return (t);
}

static void
setup(const struct turnd_conf *conf)
{
	stats_zero();
	server_init(&sv, conf, &st);
}

static void
addr_or_die(const char *s, struct sockaddr_storage *ss)
{
	if (addr_parse(s, 0, ss, NULL) == -1) {
		printf("Bail out! cannot parse %s\n", s);
		exit(1);
	}
}

static struct server_pkt
pkt_of(enum transport t, const struct sockaddr_storage *src,
    const struct sockaddr *const *origin)
{
	struct server_pkt	pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.transport = t;
	pkt.src = SA(src);
	pkt.local = src->ss_family == AF_INET ? SA(&local4) : SA(&local6);
	pkt.origin = origin;
	return (pkt);
}

/*
 * Give server_handle() a copy of the len bytes at msg and a reply buffer
 * of cap bytes, each allocated at exactly its size so that ASan sees any
 * overrun.  A reply is copied to rbuf and parsed into ans (which must
 * succeed).  Returns reply.len.
 */
static size_t
handle_cap(const struct server_pkt *pkt, const uint8_t *msg, size_t len,
    size_t cap)
{
	uint8_t	*copy, *out;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL ||
	    (out = malloc(cap > 0 ? cap : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(copy, msg, len);
	/* stale values the server must overwrite */
	reply.buf = out;
	reply.cap = cap;
	reply.len = 12345;
	reply.change = 3;
	reply.port = 9;
	server_handle(&sv, pkt, copy, len, &reply);
	free(copy);

	CHECK(reply.len <= cap);
	memset(&ans, 0, sizeof(ans));
	ans.mi_idx = ans.mi256_idx = ans.fp_idx = -1;
	if (reply.len > 0 && reply.len <= cap && reply.len <= sizeof(rbuf)) {
		memcpy(rbuf, out, reply.len);
		CHECK_EQ_INT(stun_msg_parse(&ans, rbuf, reply.len),
		    STUN_PARSE_OK);
	}
	free(out);
	return (reply.len);
}

static size_t
handle(const struct server_pkt *pkt, const uint8_t *msg, size_t len)
{
	return (handle_cap(pkt, msg, len, REPLY_CAP));
}

/* One attribute of a test request: len bytes of val (big-endian) + 0s. */
struct tlv {
	uint16_t	type;
	uint16_t	len;		/* at most 16 */
	uint32_t	val;
};

/*
 * Build a message of type with the transaction ID tid0, the n
 * attributes of t, and FINGERPRINT if fp.  Returns its length.
 */
static size_t
build(uint8_t *buf, size_t cap, uint16_t type, const struct tlv *t,
    unsigned int n, int fp)
{
	struct stun_build	b;
	uint8_t			v[16];
	unsigned int		i;
	size_t			len;

	stun_build_init(&b, buf, cap, type, tid0);
	for (i = 0; i < n; i++) {
		memset(v, 0, sizeof(v));
		put32(v, t[i].val);
		stun_build_attr(&b, t[i].type, v, t[i].len);
	}
	if (fp)
		stun_build_fingerprint(&b);
	len = stun_build_finish(&b);
	CHECK(len > 0);
	return (len);
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
	put32(r->b + 4, STUN_MAGIC);
	memcpy(r->b + 8, tid0, STUN_TID_LEN);
	r->len = STUN_HDR_LEN;
}

/* A TLV header claiming len, followed by vlen zero bytes. */
static void
raw_tlv(struct raw *r, uint16_t type, uint16_t len, size_t vlen)
{
	r->b[r->len] = (uint8_t)(type >> 8);
	r->b[r->len + 1] = (uint8_t)type;
	r->b[r->len + 2] = (uint8_t)(len >> 8);
	r->b[r->len + 3] = (uint8_t)len;
	r->len += 4 + vlen;
}

/* Set the header length to the bytes written. */
static void
raw_fix(struct raw *r)
{
	size_t	n = r->len - STUN_HDR_LEN;

	r->b[2] = (uint8_t)(n >> 8);
	r->b[3] = (uint8_t)n;
}

/* ---------------------------------------------------- reply inspection */

/* Decode an address attribute of the reply; -1 if absent or bad. */
static int
ans_addr(uint16_t type, struct sockaddr_storage *ss)
{
	const struct stun_attr	*a;

	memset(ss, 0, sizeof(*ss));
	if ((a = stun_msg_find(&ans, type)) == NULL)
		return (-1);
	if (type == STUN_ATTR_XOR_MAPPED_ADDRESS)
		return (stun_attr_get_xaddr(a, ans.tid, ss));
	return (stun_attr_get_addr(a, ss));
}

/* The reply's ERROR-CODE, or -1. */
static int
ans_error(void)
{
	const struct stun_attr	*a;
	const char		*reason;
	size_t			 rlen;
	int			 code;

	if ((a = stun_msg_find(&ans, STUN_ATTR_ERROR_CODE)) == NULL ||
	    stun_attr_get_error(a, &code, &reason, &rlen) == -1)
		return (-1);
	return (code);
}

/* The reply's UNKNOWN-ATTRIBUTES into out; the count, or -1. */
static int
ans_unknown(uint16_t *out, unsigned int max)
{
	const struct stun_attr	*a;

	if ((a = stun_msg_find(&ans, STUN_ATTR_UNKNOWN_ATTRIBUTES)) == NULL)
		return (-1);
	return (stun_attr_get_unknown(a, out, max));
}

/* Type and transaction ID of the reply. */
static void
check_head(uint16_t type)
{
	CHECK_EQ_INT(ans.type, type);
	CHECK(ans.tid != NULL);
	if (ans.tid != NULL)
		CHECK_EQ_MEM(ans.tid, tid0, STUN_TID_LEN);
	CHECK_EQ_INT(ans.rawlen, reply.len);
}

/* SOFTWARE is sw (absent if ""), FINGERPRINT valid and last iff fp. */
static void
check_tail(const char *sw, int fp)
{
	const struct stun_attr	*a;
	char			 buf[STUN_SOFTWARE_MAX + 1];

	a = stun_msg_find(&ans, STUN_ATTR_SOFTWARE);
	if (*sw == '\0')
		CHECK(a == NULL);
	else {
		CHECK(a != NULL);
		if (a != NULL) {
			CHECK_EQ_INT(stun_attr_get_str(a, STUN_SOFTWARE_MAX,
			    buf, sizeof(buf)), 0);
			CHECK_EQ_STR(buf, sw);
		}
	}
	if (fp) {
		CHECK_EQ_INT(stun_msg_check_fingerprint(&ans), 0);
		CHECK_EQ_INT(ans.fp_idx, (int)ans.nattrs - 1);
	} else {
		CHECK_EQ_INT(stun_msg_check_fingerprint(&ans), 1);
		CHECK(stun_msg_find(&ans, STUN_ATTR_FINGERPRINT) == NULL);
	}
}

/* A 420 listing exactly the n types of want, in order. */
static void
check_420(uint16_t type, const uint16_t *want, int n)
{
	uint16_t	got[STUN_UNKNOWN_MAX + 4];
	int		i, cnt;

	check_head(type);
	CHECK_EQ_INT(ans_error(), STUN_ERR_UNKNOWN_ATTRIBUTE);
	cnt = ans_unknown(got, STUN_UNKNOWN_MAX + 4);
	CHECK_EQ_INT(cnt, n);
	for (i = 0; i < n && i < cnt; i++)
		CHECK_EQ_INT(got[i], want[i]);
}

/* -------------------------------------------------------- Binding: 200 */

static void
check_binding_ok(const struct sockaddr_storage *src, const char *sw, int fp)
{
	struct sockaddr_storage	ss;

	check_head(BINDING_OK);
	CHECK_EQ_INT(ans_addr(STUN_ATTR_XOR_MAPPED_ADDRESS, &ss), 0);
	CHECK(addr_eq(SA(&ss), SA(src)));
	CHECK(stun_msg_find(&ans, STUN_ATTR_ERROR_CODE) == NULL);
	check_tail(sw, fp);
}

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
	check_tail("turnd", NOFP);
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
	check_tail("turnd", FP);
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
	check_tail("turnd", FP);
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
	check_tail("turnd", FP);
}

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
	check_tail("turnd", FP);
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
	CHECK(stun_msg_find(&ans, STUN_ATTR_SOFTWARE) != NULL);
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
 * Unsupported methods get a 400 for now.  The TURN methods (Allocate,
 * Refresh, ...) arrive in a later issue; this test changes then.
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
	check_tail("turnd", FP);
	CHECK(stun_msg_find(&ans, STUN_ATTR_XOR_MAPPED_ADDRESS) == NULL);

	len = build(msg, sizeof(msg), REFRESH_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_head(STUN_TYPE(STUN_METHOD_REFRESH, STUN_CLASS_ERROR));
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	check_tail("turnd", NOFP);

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
			m2[i] = (uint8_t)rng();
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

/* ----------------------------------------------------------- RFC 5780 */

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
		check_tail("turnd", FP);
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

	/* 420 and 400, with and without FINGERPRINT, SOFTWARE on */
	setup(conf_def);
	len = build(msg, sizeof(msg), BINDING_REQ, unk, 1, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_420(BINDING_ERR, want, 1);
	check_tail("turnd", FP);
	len = build(msg, sizeof(msg), BINDING_REQ, unk, 1, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_tail("turnd", NOFP);
	len = build(msg, sizeof(msg), ALLOC_REQ, NULL, 0, FP);
	CHECK(handle(&pkt, msg, len) > 0);
	CHECK_EQ_INT(ans_error(), STUN_ERR_BAD_REQUEST);
	check_tail("turnd", FP);
	len = build(msg, sizeof(msg), ALLOC_REQ, NULL, 0, NOFP);
	CHECK(handle(&pkt, msg, len) > 0);
	check_tail("turnd", NOFP);
	CHECK_EQ_INT(ST(error_responses), 4);
	CHECK_EQ_INT(ST(err_420), 2);
	CHECK_EQ_INT(ST(err_400), 2);
	CHECK_EQ_INT(ST(stun_requests), 4);
	CHECK_EQ_INT(stats_total(), 12);

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
		x = rng();
		/* a Binding request, or a request of any method */
		raw_init(&r, (x & 1) ? BINDING_REQ :
		    (uint16_t)(rng() & 0x3eef));
		nattr = (x >> 1) % 6;
		for (j = 0; j < nattr; j++) {
			x = rng();
			type = (x & 3) == 0 ? (uint16_t)(x >> 16) :
			    types[(x >> 2) % NTYPES];
			alen = (uint16_t)((x >> 8) % 13);
			vlen = (alen + 3U) & ~3U;
			if ((x & 0xf0) == 0) {
				/* claims more than there is */
				alen = (uint16_t)(rng() | 0x100);
				vlen = 4 * (rng() % 4);
			}
			raw_tlv(&r, type, alen, vlen);
			for (i = 0; i < vlen; i++)
				r.b[r.len - vlen + i] = (uint8_t)rng();
		}
		if (rng() % 3 == 0) {
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

static struct turnd_conf *
load(const char *text)
{
	struct turnd_conf	*c;
	char			 err[CONF_ERR_LEN];

	if ((c = conf_load_string(text, "test_server", err,
	    sizeof(err))) == NULL) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	return (c);
}

int
main(void)
{
	unsigned int	i;

	conf_def = conf_new_defaults();
	conf_nosw = load("software = \"\";\n");
	conf_mapped = load("stun: { mapped_address = true; };\n");

	addr_or_die("192.0.2.1:32853", &src4);
	addr_or_die("[2001:db8:1234:5678:11:2233:4455:6677]:40000", &src6);
	addr_or_die("198.51.100.1:3478", &local4);
	addr_or_die("[2001:db8::2]:3478", &local6);
	/* indexed by CHANGE-REQUEST: bit 0 change port, bit 1 change IP */
	addr_or_die("198.51.100.1:3478", &orig4[0]);
	addr_or_die("198.51.100.1:3479", &orig4[1]);
	addr_or_die("198.51.100.2:3478", &orig4[2]);
	addr_or_die("198.51.100.2:3479", &orig4[3]);
	addr_or_die("[2001:db8::2]:3478", &orig6[0]);
	addr_or_die("[2001:db8::2]:3479", &orig6[1]);
	addr_or_die("[2001:db8::3]:3478", &orig6[2]);
	addr_or_die("[2001:db8::3]:3479", &orig6[3]);
	for (i = 0; i < 4; i++) {
		origin4[i] = SA(&orig4[i]);
		origin6[i] = SA(&orig6[i]);
	}

	RUN(test_binding_v4);
	RUN(test_binding_v6);
	RUN(test_binding_fingerprint);
	RUN(test_binding_software);
	RUN(test_binding_mapped);
	RUN(test_binding_ignored_attrs);
	RUN(test_420_one);
	RUN(test_420_dedup);
	RUN(test_420_many);
	RUN(test_420_rfc5780_off);
	RUN(test_400_malformed);
	RUN(test_malformed_indication);
	RUN(test_unsupported_method);
	RUN(test_drop_notstun);
	RUN(test_drop_fingerprint);
	RUN(test_drop_responses);
	RUN(test_indication);
	RUN(test_rfc5780_plain);
	RUN(test_rfc5780_change);
	RUN(test_rfc5780_port);
	RUN(test_rfc5780_bad);
	RUN(test_error_attrs);
	RUN(test_small_reply);
	RUN(test_sweep_prefix);
	RUN(test_sweep_flip);
	RUN(test_sweep_random);

	conf_free(conf_def);
	conf_free(conf_nosw);
	conf_free(conf_mapped);
	return (unit_done());
}
