/*
 * test_turn.c -- the TURN methods of src/turn/turn.c behind real
 * authentication, with stub relay operations and stub paths: Allocate's
 * rollback, dual allocations, reservation tokens, 441, the challenges
 * and their rate limit, and requests that wait for the store.
 *
 * Requests are signed with the long-term key the test derives itself
 * (stun_key_md5) and a nonce of the server's auth.  The relay stubs
 * record what the TURN logic asked of the net layer; a stub path
 * records what was sent down it (the answers of requests served again).
 * The store is the real one (src/store) talking to a Redis the test
 * plays itself (fake_redis.h), so parking is tested without a server.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/addr.h"
#include "conf/conf.h"
#include "store/store.h"
#include "stun/stun.h"
#include "turn/alloc.h"
#include "turn/auth.h"
#include "turn/park.h"
#include "turn/path.h"
#include "turn/policy.h"
#include "turn/quota.h"
#include "turn/ratelim.h"
#include "turn/server.h"
#include "turn/stats.h"
#include "unit.h"
#include "fake_redis.h"

#define REALM		"test.realm"
#define NOW		((time_t)1700000000)
#define CMD_TIMEOUT	10	/* store.redis.command_timeout */
#define IID		"00112233aabbccdd"
#define TOKEN		0x1122334455667788ULL
#define ALLOC_OK	STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS)
#define ALLOC_ERR	STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR)

#define SA(ss)		((const struct sockaddr *)(ss))
#define ST(name)	atomic_load(&st.name)

static const char conf_text[] =
    "realm = \"" REALM "\";\n"
    "listen: { udp = [ \"198.51.100.1:3478\" ]; tcp = [ ]; tls = [ ]; };\n"
    "relay: { addresses = [ \"127.0.0.1\", \"::1\" ]; user_quota = 1; };\n"
    "auth: { users = ( { user = \"alice\"; password = \"alice-pw\"; },\n"
    "  { user = \"bob\"; password = \"bob-pw\"; },\n"
    "  { user = \"eve\"; password = \"eve-pw\"; } );\n"
    "  unauth_rate = 1; };\n";

static const char conf_store[] =
    "store: { backend = \"redis\"; traffic_interval = 0;\n"
    "  redis: { socket = \"%s\"; command_timeout = %d; }; };\n";

/* ------------------------------------------------------------ stubs */

/* What the TURN logic asked of the relay. */
static struct {
	int		open_fail[ALLOC_FAMILIES];  /* ro_open's answer per idx */
	unsigned int	opens, claims, closes;
	int		close_idx;		/* of the last ro_close */
	uint64_t	claim_token;		/* of the last ro_claim */
	uint64_t	reserved;		/* token given, not yet claimed */
	uint16_t	reserved_port;
	uint16_t	port;			/* next port bound */
} relay;

static void
relay_bind(struct alloc *a, unsigned int idx, int family, uint16_t port)
{
	struct sockaddr_storage	ss;

	if (addr_parse(family == AF_INET6 ? "[::1]" : "127.0.0.1", port, &ss,
	    NULL) == -1)
		abort();
	memcpy(&a->a_relay[idx], &ss, sizeof(a->a_relay[idx]));
}

static int
stub_open(void *net, struct alloc *a, unsigned int idx, int family, int even,
    int df, uint64_t resv_id, uint64_t *token)
{
	uint16_t	port;

	relay.opens++;
	if (relay.open_fail[idx] != 0)
		return (relay.open_fail[idx]);
	port = relay.port;
	relay.port += 2;
	relay_bind(a, idx, family, port);
	if (even == 2) {
		relay.reserved = TOKEN;
		relay.reserved_port = (uint16_t)(port + 1);
		*token = TOKEN;
	}
	return (0);
}

static int
stub_held(void *net, uint64_t token, const char *quota_id, uint64_t *id)
{
	return (0);
}

static int
stub_claim(void *net, struct alloc *a, unsigned int idx, uint64_t token)
{
	relay.claims++;
	relay.claim_token = token;
	if (relay.reserved == 0 || token != relay.reserved)
		return (STUN_ERR_INSUFFICIENT_CAPACITY);
	relay_bind(a, idx, AF_INET, relay.reserved_port);
	relay.reserved = 0;
	return (0);
}

static void
stub_close(void *net, struct alloc *a, int idx)
{
	relay.closes++;
	relay.close_idx = idx;
}

static void
stub_timer(void *net, struct alloc *a)
{
}

static void
stub_attach(void *net, struct alloc *a)
{
}

static void
stub_to_peer(void *net, struct alloc *a, const struct sockaddr *peer,
    const uint8_t *p, size_t n)
{
}

static const struct relay_ops stub_ops = {
	.ro_open = stub_open,
	.ro_held = stub_held,
	.ro_claim = stub_claim,
	.ro_close = stub_close,
	.ro_timer = stub_timer,
	.ro_attach = stub_attach,
	.ro_to_peer = stub_to_peer,
};

/* A client's endpoint: what went down it. */
struct tpath {
	struct path	tp_path;		/* first: the path is the tpath */
	unsigned int	tp_sent;
	uint8_t		tp_buf[2048];
	size_t		tp_len;
};

static void
tpath_send(struct path *p, const struct sockaddr *to,
    const struct sockaddr *from, const struct iovec *iov, int n)
{
	struct tpath	*tp = (struct tpath *)p;
	size_t		 len = 0;
	int		 i;

	for (i = 0; i < n; i++) {
		if (len + iov[i].iov_len > sizeof(tp->tp_buf))
			abort();
		memcpy(tp->tp_buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	tp->tp_len = len;
	tp->tp_sent++;
}

static const struct path_ops tpath_ops = {
	.po_send = tpath_send,
};

/* ----------------------------------------------------------- the world */

static struct turnd_conf	*conf;
static struct auth		*auth;
static struct policy		*policy;
static struct quota		*quota;
static struct ratelim		*rlim;
static struct alloc_table	*allocs;
static struct event_base	*base;
static struct store		*store;
static struct fake_redis	 fr;
static struct stats		 st;
static struct server		 sv;
static struct tpath		 tp1, tp2, tp3;
static struct sockaddr_storage	 cli1, cli2, cli3, local4;

/* The last answer, parsed: views abuf. */
static uint8_t			 abuf[2048];
static struct stun_msg		 ans;

static void
wake_hook(void *arg, const void *tag)
{
	server_wake(arg, tag);
}

/* A server with TURN; with_store: and a store on the fake Redis. */
static void
world_new(int with_store)
{
	struct store_hooks	hooks;
	char			text[2048], err[CONF_ERR_LEN];
	uint8_t			secret[32];

	memset(&relay, 0, sizeof(relay));
	relay.port = 50000;
	snprintf(text, sizeof(text), "%s", conf_text);
	if (with_store) {
		fr_listen(&fr);
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    conf_store, fr.fr_path, CMD_TIMEOUT);
	}
	if ((conf = conf_load_string(text, "test_turn", err,
	    sizeof(err))) == NULL) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	memset(secret, 7, sizeof(secret));
	auth = auth_new(conf, secret);
	policy = policy_new(conf);
	quota = quota_new(1, 0);
	allocs = alloc_table_new();
	memset(&st, 0, sizeof(st));
	server_init(&sv, conf, &st);
	server_enable_turn(&sv, allocs, auth, policy, quota, &stub_ops, NULL);
	rlim = ratelim_new();
	server_set_ratelim(&sv, rlim);
	sv.sv_now = NOW;
	path_init(&tp1.tp_path, &tpath_ops, TRANSPORT_UDP, -1, 0, 0);
	path_init(&tp2.tp_path, &tpath_ops, TRANSPORT_UDP, -1, 0, 0);
	path_init(&tp3.tp_path, &tpath_ops, TRANSPORT_UDP, -1, 0, 0);
	tp1.tp_sent = tp2.tp_sent = tp3.tp_sent = 0;
	if (!with_store)
		return;
	if ((base = event_base_new()) == NULL)
		abort();
	memset(&hooks, 0, sizeof(hooks));
	hooks.sh_wake = wake_hook;
	hooks.sh_arg = &sv;
	store = store_new(conf, base, 0, IID, &hooks);
	server_set_store(&sv, store);
	/* the store's handshake: SELECT, then it is up */
	if (fr_accept(&fr, base) == -1 || fr_expect(&fr, "SELECT") == -1) {
		printf("Bail out! the store did not connect\n");
		exit(1);
	}
	fr_reply(&fr, "+OK\r\n");
	FR_PUMP_UNTIL(&fr, store_up(store));
	CHECK(store_up(store));
}

static void
world_free(void)
{
	struct server_filter	all;

	memset(&all, 0, sizeof(all));
	server_kill(&sv, &all);
	server_clear(&sv);
	if (store != NULL) {
		store_free(store);
		store = NULL;
		event_base_free(base);
		base = NULL;
		fr_close(&fr);
	}
	alloc_table_free(allocs);
	quota_free(quota);
	ratelim_free(rlim);
	rlim = NULL;
	policy_free(policy);
	auth_free(auth);
	conf_free(conf);
}

/* ----------------------------------------------------------- requests */

struct msg {
	struct stun_build	m_b;
	uint8_t			m_buf[1024];
	size_t			m_len;
};

static void
msg_begin(struct msg *m, uint16_t method, uint8_t id)
{
	uint8_t	tid[STUN_TID_LEN] = { 't', 'e', 's', 't', '_', 't', 'u', 'r',
	    'n' };

	tid[STUN_TID_LEN - 1] = id;
	stun_build_init(&m->m_b, m->m_buf, sizeof(m->m_buf),
	    STUN_TYPE(method, STUN_CLASS_REQUEST), tid);
}

/* An Allocate of a UDP relay: REQUESTED-TRANSPORT, more to come. */
static void
msg_allocate(struct msg *m, uint8_t id)
{
	msg_begin(m, STUN_METHOD_ALLOCATE, id);
	stun_build_u32(&m->m_b, STUN_ATTR_REQUESTED_TRANSPORT,
	    (uint32_t)STUN_TRANSPORT_UDP << 24);
}

/*
 * USERNAME, REALM, a nonce made for nonce_for, MESSAGE-INTEGRITY with
 * user's MD5 key (RFC 8489 9.2.2), and finish.
 */
static void
msg_sign_for(struct msg *m, const char *user, const char *pass,
    const struct sockaddr_storage *nonce_for)
{
	char	nonce[AUTH_NONCE_MAX];
	uint8_t	key[16];

	auth_nonce_make(auth, SA(nonce_for), sv.sv_now, nonce);
	stun_key_md5(user, REALM, pass, key);
	stun_build_str(&m->m_b, STUN_ATTR_USERNAME, user);
	stun_build_str(&m->m_b, STUN_ATTR_REALM, REALM);
	stun_build_str(&m->m_b, STUN_ATTR_NONCE, nonce);
	stun_build_integrity(&m->m_b, key, sizeof(key));
	m->m_len = stun_build_finish(&m->m_b);
	CHECK(m->m_len > 0);
}

static void
msg_sign(struct msg *m, const char *user, const char *pass)
{
	msg_sign_for(m, user, pass, &cli1);
}

static void
msg_end(struct msg *m)
{
	m->m_len = stun_build_finish(&m->m_b);
	CHECK(m->m_len > 0);
}

/* Parse len bytes of an answer into ans (which must succeed). */
static void
ans_parse(const uint8_t *p, size_t len)
{
	memset(&ans, 0, sizeof(ans));
	ans.mi_idx = ans.mi256_idx = ans.fp_idx = -1;
	if (len == 0 || len > sizeof(abuf))
		return;
	memcpy(abuf, p, len);
	CHECK_EQ_INT(stun_msg_parse(&ans, abuf, len), STUN_PARSE_OK);
}

/* server_handle() m from client on tp; the answer's length (in ans). */
static size_t
ask(const struct sockaddr_storage *client, struct tpath *tp,
    const struct msg *m)
{
	struct server_pkt	pkt;
	struct server_reply	reply;
	uint8_t			out[2048];

	memset(&pkt, 0, sizeof(pkt));
	pkt.transport = TRANSPORT_UDP;
	pkt.src = SA(client);
	pkt.local = SA(&local4);
	pkt.path = &tp->tp_path;
	memset(&reply, 0, sizeof(reply));
	reply.buf = out;
	reply.cap = sizeof(out);
	server_handle(&sv, &pkt, m->m_buf, m->m_len, &reply);
	ans_parse(out, reply.len);
	return (reply.len);
}

/* What was last sent down tp, into ans. */
static void
ans_sent(const struct tpath *tp)
{
	ans_parse(tp->tp_buf, tp->tp_len);
}

/* The answer's ERROR-CODE, 0 if none. */
static int
ans_code(void)
{
	const struct stun_attr	*a;
	const char		*reason;
	size_t			 rlen;
	int			 code;

	if ((a = stun_msg_find(&ans, STUN_ATTR_ERROR_CODE)) == NULL)
		return (0);
	if (stun_attr_get_error(a, &code, &reason, &rlen) == -1)
		return (-1);
	return (code);
}

/* Is the answer signed with user's key? */
static int
ans_signed(const char *user, const char *pass)
{
	uint8_t	key[16];

	stun_key_md5(user, REALM, pass, key);
	return (stun_msg_check_integrity(&ans, key, sizeof(key)) == 0);
}

/* The answer's XOR-RELAYED-ADDRESSes into out (max); their number. */
static unsigned int
ans_relayed(struct sockaddr_storage *out, unsigned int max)
{
	unsigned int	i, n = 0;

	for (i = 0; i < ans.nattrs && n < max; i++)
		if (ans.attrs[i].type == STUN_ATTR_XOR_RELAYED_ADDRESS &&
		    stun_attr_get_xaddr(&ans.attrs[i], ans.tid,
		    &out[n]) == 0)
			n++;
	return (n);
}

/* The live allocations of the worker. */
static unsigned int
nallocs(void)
{
	return (alloc_table_count(allocs));
}

/* --------------------------------------------------------------- tests */

/*
 * The relay cannot give a port (508): nothing of the allocation is
 * left.  The store's claim was granted first (the request waited for
 * it), so it is given back (ZREM of the very member claimed), and so is
 * the local quota (user_quota 1: the next Allocate would get 486).
 */
static void
test_rollback_508(void)
{
	struct msg	m;
	char		member[FR_ARGLEN];

	world_new(1);
	relay.open_fail[0] = STUN_ERR_INSUFFICIENT_CAPACITY;
	msg_allocate(&m, 1);
	msg_sign(&m, "alice", "alice-pw");
	CHECK_EQ_INT(ask(&cli1, &tp1, &m), 0);	/* waits for the claim */
	CHECK_EQ_INT(ST(store_waits), 1);

	CHECK_EQ_INT(fr_expect(&fr, "EVAL"), 0);
	CHECK_EQ_STR(fr.fr_argv[3], "turnd/quota/" REALM "/alice");
	snprintf(member, sizeof(member), "%s", fr.fr_argv[6]);
	CHECK(strncmp(member, IID "/", strlen(IID) + 1) == 0);
	fr_reply(&fr, ":1\r\n");
	FR_PUMP_UNTIL(&fr, tp1.tp_sent > 0);

	CHECK_EQ_INT(tp1.tp_sent, 1);
	ans_sent(&tp1);
	CHECK_EQ_INT(ans.type, ALLOC_ERR);
	CHECK_EQ_INT(ans_code(), STUN_ERR_INSUFFICIENT_CAPACITY);
	CHECK(ans_signed("alice", "alice-pw"));
	CHECK_EQ_INT(nallocs(), 0);
	CHECK_EQ_INT(relay.opens, 1);
	CHECK_EQ_INT(relay.closes, 1);
	CHECK_EQ_INT(relay.close_idx, -1);
	CHECK_EQ_INT(ST(err_508), 1);
	CHECK_EQ_INT(ST(alloc_created), 0);
	CHECK_EQ_INT(ST(allocs_udp), 0);
	CHECK_EQ_INT(ST(allocs_ipv4), 0);
	/* the claim in Redis given back */
	CHECK_EQ_INT(fr_expect(&fr, "ZREM"), 0);
	CHECK_EQ_STR(fr.fr_argv[1], "turnd/quota/" REALM "/alice");
	CHECK_EQ_STR(fr.fr_argv[2], member);
	fr_reply(&fr, ":1\r\n");

	/* the local quota given back: the next one is granted */
	relay.open_fail[0] = 0;
	msg_allocate(&m, 2);
	msg_sign(&m, "alice", "alice-pw");
	CHECK_EQ_INT(ask(&cli1, &tp1, &m), 0);
	CHECK_EQ_INT(fr_expect(&fr, "EVAL"), 0);
	fr_reply(&fr, ":1\r\n");
	FR_PUMP_UNTIL(&fr, tp1.tp_sent > 1);
	CHECK_EQ_INT(tp1.tp_sent, 2);
	ans_sent(&tp1);
	CHECK_EQ_INT(ans.type, ALLOC_OK);
	CHECK_EQ_INT(ans_code(), 0);
	CHECK_EQ_INT(nallocs(), 1);
	CHECK_EQ_INT(ST(alloc_created), 1);
	CHECK_EQ_INT(ST(err_486), 0);
	world_free();
}

/*
 * ADDITIONAL-ADDRESS-FAMILY IPv6 whose IPv6 half cannot be had: success
 * with the IPv4 relayed address alone and ADDRESS-ERROR-CODE (IPv6, 440)
 * (RFC 8656 7.2); the gauges count one IPv4 relay, and deleting it
 * counts it off again.
 */
static void
test_dual_v6_fails(void)
{
	struct sockaddr_storage	 rel[ALLOC_FAMILIES + 1];
	const struct stun_attr	*aec;
	const char		*why = stun_err_reason(STUN_ERR_ADDRESS_FAMILY);
	struct msg		 m;

	world_new(0);
	relay.open_fail[1] = STUN_ERR_ADDRESS_FAMILY;
	msg_allocate(&m, 1);
	stun_build_u32(&m.m_b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY,
	    (uint32_t)STUN_FAMILY_IPV6 << 24);
	msg_sign(&m, "alice", "alice-pw");
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans.type, ALLOC_OK);
	CHECK(ans_signed("alice", "alice-pw"));
	CHECK_EQ_INT(relay.opens, 2);
	CHECK_EQ_INT(ans_relayed(rel, ALLOC_FAMILIES + 1), 1);
	CHECK_EQ_INT(rel[0].ss_family, AF_INET);
	aec = stun_msg_find(&ans, STUN_ATTR_ADDRESS_ERROR_CODE);
	CHECK(aec != NULL);
	if (aec != NULL) {
		CHECK_EQ_INT(aec->len, 4 + strlen(why));
		CHECK_EQ_INT(aec->val[0], STUN_FAMILY_IPV6);
		CHECK_EQ_INT(aec->val[2] * 100 + aec->val[3],
		    STUN_ERR_ADDRESS_FAMILY);
		if (aec->len == 4 + strlen(why))
			CHECK_EQ_MEM(aec->val + 4, why, strlen(why));
	}
	CHECK_EQ_INT(nallocs(), 1);
	CHECK_EQ_INT(ST(allocs_udp), 1);
	CHECK_EQ_INT(ST(allocs_ipv4), 1);
	CHECK_EQ_INT(ST(allocs_ipv6), 0);
	CHECK_EQ_INT(ST(error_responses), 0);

	/* Refresh 0 ends it: both gauges back to 0 */
	msg_begin(&m, STUN_METHOD_REFRESH, 2);
	stun_build_u32(&m.m_b, STUN_ATTR_LIFETIME, 0);
	msg_sign(&m, "alice", "alice-pw");
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans_code(), 0);
	CHECK_EQ_INT(nallocs(), 0);
	CHECK_EQ_INT(ST(allocs_udp), 0);
	CHECK_EQ_INT(ST(allocs_ipv4), 0);
	CHECK_EQ_INT(ST(allocs_ipv6), 0);
	world_free();
}

/*
 * EVEN-PORT with R gives a RESERVATION-TOKEN; an Allocate with it gets
 * the reserved socket (ro_claim with that token); a wrong token gets
 * 508 and leaves nothing (RFC 8656 7.2).  The reservation counts
 * against alice's quota (src/net/resv.c).
 */
static void
test_reservation_token(void)
{
	struct sockaddr_storage	 rel[2];
	const struct stun_attr	*tok;
	struct msg		 m;
	uint64_t		 token = 0;
	uint8_t			 r = 0x80;

	world_new(0);
	/* the reservation takes a quota slot too: 1 is not enough */
	msg_allocate(&m, 1);
	stun_build_attr(&m.m_b, STUN_ATTR_EVEN_PORT, &r, 1);
	msg_sign(&m, "alice", "alice-pw");
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans_code(), STUN_ERR_ALLOCATION_QUOTA);
	CHECK_EQ_INT(relay.opens, 0);
	quota_set_limits(quota, 2, 0);
	msg_allocate(&m, 4);
	stun_build_attr(&m.m_b, STUN_ATTR_EVEN_PORT, &r, 1);
	msg_sign(&m, "alice", "alice-pw");
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans.type, ALLOC_OK);
	tok = stun_msg_find(&ans, STUN_ATTR_RESERVATION_TOKEN);
	CHECK(tok != NULL);
	if (tok != NULL)
		CHECK_EQ_INT(stun_attr_get_u64(tok, &token), 0);
	CHECK(token == TOKEN);

	/* another client (bob: alice's quota is used up) claims it */
	msg_allocate(&m, 2);
	stun_build_u64(&m.m_b, STUN_ATTR_RESERVATION_TOKEN, token);
	msg_sign_for(&m, "bob", "bob-pw", &cli2);
	CHECK(ask(&cli2, &tp2, &m) > 0);
	CHECK_EQ_INT(ans.type, ALLOC_OK);
	CHECK_EQ_INT(relay.claims, 1);
	CHECK(relay.claim_token == TOKEN);
	CHECK_EQ_INT(ans_relayed(rel, 2), 1);
	CHECK_EQ_INT(addr_port(SA(&rel[0])), relay.reserved_port);
	CHECK(stun_msg_find(&ans, STUN_ATTR_RESERVATION_TOKEN) == NULL);
	CHECK_EQ_INT(nallocs(), 2);

	/* a token nobody holds */
	msg_allocate(&m, 3);
	stun_build_u64(&m.m_b, STUN_ATTR_RESERVATION_TOKEN, TOKEN + 1);
	msg_sign_for(&m, "eve", "eve-pw", &cli3);
	CHECK(ask(&cli3, &tp3, &m) > 0);
	CHECK_EQ_INT(ans.type, ALLOC_ERR);
	CHECK_EQ_INT(ans_code(), STUN_ERR_INSUFFICIENT_CAPACITY);
	CHECK_EQ_INT(relay.claims, 2);
	CHECK(relay.claim_token == TOKEN + 1);
	CHECK_EQ_INT(relay.closes, 1);
	CHECK_EQ_INT(nallocs(), 2);
	CHECK_EQ_INT(ST(err_508), 1);
	CHECK_EQ_INT(ST(allocs_udp), 2);
	world_free();
}

/*
 * An allocation made by alice; bob's valid credentials on its 5-tuple
 * get 441 (RFC 8656 5) and change nothing; alice's still work.
 */
static void
test_441_other_user(void)
{
	struct msg	m;

	world_new(0);
	msg_allocate(&m, 1);
	msg_sign(&m, "alice", "alice-pw");
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans.type, ALLOC_OK);

	msg_begin(&m, STUN_METHOD_REFRESH, 2);
	stun_build_u32(&m.m_b, STUN_ATTR_LIFETIME, 0);
	msg_sign(&m, "bob", "bob-pw");
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans_code(), STUN_ERR_WRONG_CREDENTIALS);
	CHECK(ans_signed("bob", "bob-pw"));
	CHECK_EQ_INT(ST(auth_ok), 2);
	CHECK_EQ_INT(ST(err_441), 1);
	CHECK_EQ_INT(ST(error_responses), 1);
	CHECK_EQ_INT(nallocs(), 1);
	CHECK_EQ_INT(ST(alloc_deleted), 0);

	/* an Allocate on it by bob: 437, not a second allocation */
	msg_allocate(&m, 3);
	msg_sign(&m, "bob", "bob-pw");
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans_code(), STUN_ERR_ALLOCATION_MISMATCH);

	msg_begin(&m, STUN_METHOD_REFRESH, 4);
	stun_build_u32(&m.m_b, STUN_ATTR_LIFETIME, 0);
	msg_sign(&m, "alice", "alice-pw");
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans_code(), 0);
	CHECK_EQ_INT(nallocs(), 0);
	world_free();
}

/*
 * 401 and 438 come from the one error builder: REALM, NONCE and
 * PASSWORD-ALGORITHMS, counted as errors; beyond auth.unauth_rate (1 a
 * second here) no answer at all.
 */
static void
test_challenges(void)
{
	const struct stun_attr	*a;
	uint8_t			 algs[16];
	size_t			 n = auth_pwalgs(algs);
	char			 nonce[STUN_NONCE_MAX + 1];
	struct sockaddr_storage	 other;
	struct msg		 m;

	world_new(0);
	msg_allocate(&m, 1);
	msg_end(&m);
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans.type, ALLOC_ERR);
	CHECK_EQ_INT(ans_code(), STUN_ERR_UNAUTHENTICATED);
	a = stun_msg_find(&ans, STUN_ATTR_REALM);
	CHECK(a != NULL && a->len == strlen(REALM) &&
	    memcmp(a->val, REALM, a->len) == 0);
	a = stun_msg_find(&ans, STUN_ATTR_NONCE);
	CHECK(a != NULL && stun_attr_get_str(a, STUN_NONCE_MAX, nonce,
	    sizeof(nonce)) == 0 && strncmp(nonce, AUTH_NONCE_COOKIE,
	    strlen(AUTH_NONCE_COOKIE)) == 0);
	a = stun_msg_find(&ans, STUN_ATTR_PASSWORD_ALGORITHMS);
	CHECK(a != NULL && a->len == n && memcmp(a->val, algs, n) == 0);
	CHECK(ans.mi_idx < 0);
	CHECK_EQ_INT(ST(err_401), 1);
	CHECK_EQ_INT(ST(error_responses), 1);
	CHECK_EQ_INT(ST(auth_challenge), 1);

	/* the second this second: dropped */
	CHECK_EQ_INT(ask(&cli1, &tp1, &m), 0);
	CHECK_EQ_INT(ST(dropped_ratelimited), 1);
	CHECK_EQ_INT(ST(err_401), 1);
	CHECK_EQ_INT(ST(error_responses), 1);

	/* next second: a nonce made for another IP is stale */
	sv.sv_now++;
	msg_allocate(&m, 2);
	if (addr_parse("203.0.113.9:1", 0, &other, NULL) == -1)
		abort();
	msg_sign_for(&m, "alice", "alice-pw", &other);
	CHECK(ask(&cli1, &tp1, &m) > 0);
	CHECK_EQ_INT(ans_code(), STUN_ERR_STALE_NONCE);
	CHECK(stun_msg_find(&ans, STUN_ATTR_NONCE) != NULL);
	CHECK(stun_msg_find(&ans, STUN_ATTR_REALM) != NULL);
	CHECK(stun_msg_find(&ans, STUN_ATTR_PASSWORD_ALGORITHMS) != NULL);
	CHECK_EQ_INT(ST(err_438), 1);
	CHECK_EQ_INT(ST(error_responses), 2);
	CHECK_EQ_INT(nallocs(), 0);
	world_free();
}

/*
 * A request whose user key is in Redis waits (no answer; its
 * retransmission is dropped), is served again when the key comes, then
 * waits for its quota claim, and is answered down its path when that is
 * granted.  Each pass through the dispatch counts as a request, as each
 * authentication does.
 */
static void
test_parked_then_answered(void)
{
	struct msg	m;
	uint8_t		key[16];
	char		reply[128];
	int		i, n;

	world_new(1);
	msg_allocate(&m, 1);
	msg_sign(&m, "carol", "carol-pw");
	CHECK_EQ_INT(ask(&cli1, &tp1, &m), 0);
	CHECK_EQ_INT(ST(store_waits), 1);
	CHECK_EQ_INT(park_count(sv.sv_park), 1);
	CHECK_EQ_INT(ask(&cli1, &tp1, &m), 0);	/* sent again */
	CHECK_EQ_INT(ST(store_waits), 1);
	CHECK_EQ_INT(park_count(sv.sv_park), 1);
	CHECK_EQ_INT(tp1.tp_sent, 0);

	/* the key, as turnd-redis(7) stores it: hex of the MD5 key */
	CHECK_EQ_INT(fr_expect(&fr, "GET"), 0);
	CHECK_EQ_STR(fr.fr_argv[1], "turn/realm/" REALM "/user/carol/key");
	stun_key_md5("carol", REALM, "carol-pw", key);
	n = snprintf(reply, sizeof(reply), "$32\r\n");
	for (i = 0; i < 16; i++)
		n += snprintf(reply + n, sizeof(reply) - (size_t)n, "%02x",
		    key[i]);
	snprintf(reply + n, sizeof(reply) - (size_t)n, "\r\n");
	fr_reply(&fr, reply);
	FR_PUMP_UNTIL(&fr, ST(store_waits) == 2);

	/* served again: authenticated, now waiting for the quota claim */
	CHECK_EQ_INT(ST(store_waits), 2);
	CHECK_EQ_INT(ST(auth_ok), 1);
	CHECK_EQ_INT(tp1.tp_sent, 0);
	CHECK_EQ_INT(park_count(sv.sv_park), 1);
	CHECK_EQ_INT(fr_expect(&fr, "EVAL"), 0);
	CHECK_EQ_STR(fr.fr_argv[3], "turnd/quota/" REALM "/carol");
	fr_reply(&fr, ":1\r\n");
	FR_PUMP_UNTIL(&fr, tp1.tp_sent > 0);

	CHECK_EQ_INT(tp1.tp_sent, 1);
	ans_sent(&tp1);
	CHECK_EQ_INT(ans.type, ALLOC_OK);
	CHECK(ans_signed("carol", "carol-pw"));
	CHECK(stun_msg_find(&ans, STUN_ATTR_XOR_RELAYED_ADDRESS) != NULL);
	CHECK_EQ_INT(nallocs(), 1);
	CHECK_EQ_INT(park_count(sv.sv_park), 0);
	CHECK_EQ_INT(ST(alloc_created), 1);
	CHECK_EQ_INT(ST(stun_requests), 4);
	CHECK_EQ_INT(ST(auth_ok), 2);
	CHECK_EQ_INT(ST(error_responses), 0);
	world_free();
}

/*
 * A request the store never answers: server_tick() answers 500 once
 * store.redis.command_timeout has passed, not before.
 */
static void
test_parked_expires(void)
{
	const struct stun_attr	*a;
	const char		*reason;
	size_t			 rlen;
	int			 code;
	struct msg		 m;

	world_new(1);
	msg_allocate(&m, 1);
	msg_sign(&m, "dave", "dave-pw");
	CHECK_EQ_INT(ask(&cli1, &tp1, &m), 0);
	CHECK_EQ_INT(fr_expect(&fr, "GET"), 0);	/* and no answer */
	server_tick(&sv);
	sv.sv_now += CMD_TIMEOUT;
	server_tick(&sv);
	CHECK_EQ_INT(tp1.tp_sent, 0);
	CHECK_EQ_INT(park_count(sv.sv_park), 1);

	sv.sv_now++;
	server_tick(&sv);
	CHECK_EQ_INT(tp1.tp_sent, 1);
	ans_sent(&tp1);
	CHECK_EQ_INT(ans.type, ALLOC_ERR);
	a = stun_msg_find(&ans, STUN_ATTR_ERROR_CODE);
	CHECK(a != NULL && stun_attr_get_error(a, &code, &reason,
	    &rlen) == 0 && code == STUN_ERR_SERVER_ERROR &&
	    rlen == strlen("Credential store unavailable") &&
	    memcmp(reason, "Credential store unavailable", rlen) == 0);
	CHECK(ans.mi_idx < 0);
	CHECK_EQ_INT(park_count(sv.sv_park), 0);
	CHECK_EQ_INT(ST(err_500), 1);
	CHECK_EQ_INT(ST(stun_requests), 2);
	CHECK_EQ_INT(nallocs(), 0);
	world_free();
}

/* alice allocates on cli2/tp2, her quota claim granted by Redis. */
static void
alice_on_tp2(void)
{
	struct msg	m;

	msg_allocate(&m, 1);
	msg_sign_for(&m, "alice", "alice-pw", &cli2);
	CHECK_EQ_INT(ask(&cli2, &tp2, &m), 0);
	CHECK_EQ_INT(fr_expect(&fr, "EVAL"), 0);
	fr_reply(&fr, ":1\r\n");
	FR_PUMP_UNTIL(&fr, tp2.tp_sent > 0);
	ans_sent(&tp2);
	CHECK_EQ_INT(ans.type, ALLOC_OK);
	CHECK_EQ_INT(nallocs(), 1);
}

/*
 * An endpoint going away (server_path_closed()) ends the allocation it
 * carries and forgets the requests that wait on it: the store's answer
 * then finds nothing to serve.
 */
static void
test_path_closed(void)
{
	struct msg	m;

	world_new(1);
	alice_on_tp2();

	/* erin's key must come from Redis: waits, on tp2 */
	msg_begin(&m, STUN_METHOD_REFRESH, 2);
	msg_sign_for(&m, "erin", "erin-pw", &cli2);
	CHECK_EQ_INT(ask(&cli2, &tp2, &m), 0);
	CHECK_EQ_INT(park_count(sv.sv_park), 1);
	/* one on another path stays */
	msg_begin(&m, STUN_METHOD_REFRESH, 3);
	msg_sign_for(&m, "erin", "erin-pw", &cli3);
	CHECK_EQ_INT(ask(&cli3, &tp3, &m), 0);
	CHECK_EQ_INT(park_count(sv.sv_park), 2);

	server_path_closed(&sv, &tp2.tp_path, SA(&cli2), SA(&local4));
	CHECK_EQ_INT(nallocs(), 0);
	CHECK_EQ_INT(ST(alloc_deleted), 1);
	CHECK_EQ_INT(park_count(sv.sv_park), 1);

	CHECK_EQ_INT(fr_expect(&fr, "GET"), 0);
	fr_reply(&fr, "$-1\r\n");		/* no such user */
	FR_PUMP_UNTIL(&fr, tp3.tp_sent > 0);
	CHECK_EQ_INT(tp2.tp_sent, 1);		/* the Allocate's answer */
	CHECK_EQ_INT(tp3.tp_sent, 1);
	ans_sent(&tp3);
	CHECK_EQ_INT(ans_code(), STUN_ERR_UNAUTHENTICATED);
	CHECK_EQ_INT(park_count(sv.sv_park), 0);
	world_free();
}

/*
 * ChannelData on an unbound channel can never be relayed (a stream
 * closes on it) -- except while a request of that path waits for the
 * store, as it may be the ChannelBind for that channel (server.h).
 */
static void
test_chan_unbound_while_parked(void)
{
	struct server_pkt	pkt;
	struct msg		m;
	const uint8_t		cd[8] = { 0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4 };

	world_new(1);
	alice_on_tp2();

	memset(&pkt, 0, sizeof(pkt));
	pkt.transport = TRANSPORT_UDP;
	pkt.src = SA(&cli2);
	pkt.local = SA(&local4);
	pkt.path = &tp2.tp_path;
	CHECK_EQ_INT(server_chan_bound(&sv, &pkt, 0x4000), 0);
	CHECK_EQ_INT(server_chandata(&sv, &pkt, cd, sizeof(cd)), -1);

	/* erin's key must come from Redis: her request waits on tp2 */
	msg_begin(&m, STUN_METHOD_REFRESH, 2);
	msg_sign_for(&m, "erin", "erin-pw", &cli2);
	CHECK_EQ_INT(ask(&cli2, &tp2, &m), 0);
	CHECK_EQ_INT(park_count(sv.sv_park), 1);
	CHECK_EQ_INT(server_chan_bound(&sv, &pkt, 0x4000), 1);
	CHECK_EQ_INT(server_chandata(&sv, &pkt, cd, sizeof(cd)), 0);

	CHECK_EQ_INT(fr_expect(&fr, "GET"), 0);
	fr_reply(&fr, "$-1\r\n");
	FR_PUMP_UNTIL(&fr, tp2.tp_sent > 1);
	CHECK_EQ_INT(park_count(sv.sv_park), 0);
	CHECK_EQ_INT(server_chan_bound(&sv, &pkt, 0x4000), 0);
	world_free();
}

int
main(void)
{
	if (addr_parse("192.0.2.1:40001", 0, &cli1, NULL) == -1 ||
	    addr_parse("192.0.2.1:40002", 0, &cli2, NULL) == -1 ||
	    addr_parse("192.0.2.1:40003", 0, &cli3, NULL) == -1 ||
	    addr_parse("198.51.100.1:3478", 0, &local4, NULL) == -1) {
		printf("Bail out! addresses\n");
		return (1);
	}
	RUN(test_rollback_508);
	RUN(test_dual_v6_fails);
	RUN(test_reservation_token);
	RUN(test_441_other_user);
	RUN(test_challenges);
	RUN(test_parked_then_answered);
	RUN(test_parked_expires);
	RUN(test_path_closed);
	RUN(test_chan_unbound_while_parked);
	return (unit_done());
}
