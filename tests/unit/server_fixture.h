/*
 * server_fixture.h -- the shared fixture of the turn/server.c unit tests
 * (test_server.c, test_server_sweep.c): configurations, source, local
 * and RFC 5780 origin addresses, a server and its counters, the reply
 * buffer and its parse, request builders, and checks of the reply.
 * Everything is static, so each test binary has its own; the helpers
 * are static inline, so a binary that uses only some does not warn.
 * Include after unit.h.
 */

#ifndef SERVER_FIXTURE_H
#define SERVER_FIXTURE_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "conf/conf.h"
#include "stun/bytes.h"
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

/* ------------------------------------------------------------ fixtures */

static struct turnd_conf	*conf_def;	/* software "turnd" */
static struct turnd_conf	*conf_nosw;	/* software "" */
static struct turnd_conf	*conf_swerr;	/* software_errors */
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

static inline void
stats_zero(void)
{
#define STATS_ZERO(name)	atomic_store(&st.name, 0);
	STATS_FIELDS(STATS_ZERO)
#undef STATS_ZERO
}

/* The sum of all counters: says that nothing else moved. */
static inline uint64_t
stats_total(void)
{
	uint64_t	t = 0;

#define STATS_SUM(name)		t += atomic_load(&st.name);
	STATS_FIELDS(STATS_SUM)
#undef STATS_SUM
	return (t);
}

static inline void
setup(const struct turnd_conf *conf)
{
	stats_zero();
	server_init(&sv, conf, &st);
}

static inline void
addr_or_die(const char *s, struct sockaddr_storage *ss)
{
	if (addr_parse(s, 0, ss, NULL) == -1) {
		printf("Bail out! cannot parse %s\n", s);
		exit(1);
	}
}

static inline struct server_pkt
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
static inline size_t
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

static inline size_t
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
static inline size_t
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

static inline void
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
static inline void
raw_tlv(struct raw *r, uint16_t type, uint16_t len, size_t vlen)
{
	r->b[r->len] = (uint8_t)(type >> 8);
	r->b[r->len + 1] = (uint8_t)type;
	r->b[r->len + 2] = (uint8_t)(len >> 8);
	r->b[r->len + 3] = (uint8_t)len;
	r->len += 4 + vlen;
}

/* Set the header length to the bytes written. */
static inline void
raw_fix(struct raw *r)
{
	size_t	n = r->len - STUN_HDR_LEN;

	r->b[2] = (uint8_t)(n >> 8);
	r->b[3] = (uint8_t)n;
}

/* ---------------------------------------------------- reply inspection */

/* Decode an address attribute of the reply; -1 if absent or bad. */
static inline int
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
static inline int
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
static inline int
ans_unknown(uint16_t *out, unsigned int max)
{
	const struct stun_attr	*a;

	if ((a = stun_msg_find(&ans, STUN_ATTR_UNKNOWN_ATTRIBUTES)) == NULL)
		return (-1);
	return (stun_attr_get_unknown(a, out, max));
}

/* Type and transaction ID of the reply. */
static inline void
check_head(uint16_t type)
{
	CHECK_EQ_INT(ans.type, type);
	CHECK(ans.tid != NULL);
	if (ans.tid != NULL)
		CHECK_EQ_MEM(ans.tid, tid0, STUN_TID_LEN);
	CHECK_EQ_INT(ans.rawlen, reply.len);
}

/* SOFTWARE is sw (absent if ""), FINGERPRINT valid and last iff fp. */
static inline void
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
static inline void
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

/* A Binding success: XOR-MAPPED-ADDRESS of src, no ERROR-CODE, the tail. */
static inline void
check_binding_ok(const struct sockaddr_storage *src, const char *sw, int fp)
{
	struct sockaddr_storage	ss;

	check_head(BINDING_OK);
	CHECK_EQ_INT(ans_addr(STUN_ATTR_XOR_MAPPED_ADDRESS, &ss), 0);
	CHECK(addr_eq(SA(&ss), SA(src)));
	CHECK(stun_msg_find(&ans, STUN_ATTR_ERROR_CODE) == NULL);
	check_tail(sw, fp);
}

/* ------------------------------------------------------------- set-up */

static inline struct turnd_conf *
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

/* Load the configurations and parse the addresses: once, from main(). */
static inline void
fixture_init(void)
{
	unsigned int	i;

	conf_def = conf_new_defaults();
	conf_nosw = load("software = \"\";\n");
	conf_swerr = load("software_errors = true;\n");
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
}

static inline void
fixture_clear(void)
{
	conf_free(conf_def);
	conf_free(conf_nosw);
	conf_free(conf_swerr);
	conf_free(conf_mapped);
}

#endif /* SERVER_FIXTURE_H */
