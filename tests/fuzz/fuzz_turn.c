/*
 * fuzz_turn.c -- libFuzzer target for the TURN request handlers (Allocate,
 * Refresh, CreatePermission, ChannelBind, Send, ChannelData) behind
 * authentication.
 *
 * A fuzzer cannot forge a MESSAGE-INTEGRITY, so the input is the
 * attribute area of a request and the harness signs it: byte 0 picks the
 * method (and whether the client first holds an allocation), byte 1 the
 * options (FINGERPRINT, the second half goes out as ChannelData), the
 * rest are raw attributes -- malformed ones included -- after which the
 * harness appends USERNAME, REALM, a valid NONCE and MESSAGE-INTEGRITY.
 * Relay sockets are stubs: nothing leaves the process.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "conf/conf.h"
#include "stun/stun.h"
#include "turn/alloc.h"
#include "turn/auth.h"
#include "turn/policy.h"
#include "turn/quota.h"
#include "turn/server.h"
#include "turn/stats.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct turnd_conf	*conf;
static struct auth		*auth;
static struct policy		*policy;
static struct quota		*quota;
static struct alloc_table	*allocs;
static struct stats		 st;
static struct server		 sv;
static struct sockaddr_storage	 client, local;
static uint8_t			 key[16];
static uint16_t			 next_port = 50000;

static int
stub_open(void *net, struct alloc *a, unsigned int idx, int family, int even,
    int df, uint64_t resv_id, uint64_t *token)
{
	struct sockaddr_storage	ss;

	if (addr_parse(family == AF_INET6 ? "[::1]" : "127.0.0.1",
	    next_port++, &ss, NULL) == -1)
		abort();
	memcpy(&a->a_relay[idx], &ss, sizeof(a->a_relay[idx]));
	if (token != NULL)
		*token = 42;
	return (0);
}

static int
stub_claim(void *net, struct alloc *a, unsigned int idx, uint64_t token)
{
	if (token != 42)
		return (STUN_ERR_INSUFFICIENT_CAPACITY);
	return (stub_open(net, a, idx, AF_INET, 0, 0, 0, NULL));
}

static int
stub_held(void *net, uint64_t token, const char *quota_id, uint64_t *id)
{
	return (0);
}

static void
stub_close(void *net, struct alloc *a, int idx)
{
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

static void
setup(void)
{
	static const char text[] =
	    "realm = \"fuzz.realm\";\n"
	    "listen: { udp = [ \"127.0.0.1:3478\" ]; tcp = [ ]; tls = [ ]; };\n"
	    "relay: { addresses = [ \"127.0.0.1\", \"::1\" ];\n"
	    "  allow_peers = [ \"127.0.0.0/8\" ]; user_quota = 4; };\n"
	    "auth: { users = ( { user = \"alice\"; password = \"secret\"; } );\n"
	    "  unauth_rate = 0; };\n";
	char		err[512];
	uint8_t		secret[32] = { 1 };

	if ((conf = conf_load_string(text, "fuzz", err, sizeof(err))) == NULL)
		abort();
	auth = auth_new(conf, secret);
	policy = policy_new(conf);
	quota = quota_new(4, 0);
	allocs = alloc_table_new();
	server_init(&sv, conf, &st);
	server_enable_turn(&sv, allocs, auth, policy, quota, &stub_ops, NULL);
	sv.sv_now = 1000000;
	stun_key_md5("alice", "fuzz.realm", "secret", key);
	addr_parse("127.0.0.1:40000", 0, &client, NULL);
	addr_parse("127.0.0.1:3478", 0, &local, NULL);
}

/* A signed request of method carrying the raw attributes body. */
static size_t
make_request(uint8_t *buf, size_t cap, uint16_t type, const uint8_t *body,
    size_t bodylen, int fp)
{
	struct stun_build	b;
	uint8_t			tid[STUN_TID_LEN] = { 7, 7, 7 };
	char			nonce[AUTH_NONCE_MAX];
	size_t			padded = (bodylen + 3) & ~(size_t)3;

	stun_build_init(&b, buf, cap, type, tid);
	if (padded > 4096 || b.len + padded > cap)
		return (0);
	memset(buf + b.len, 0, padded);
	memcpy(buf + b.len, body, bodylen);
	b.len += padded;
	auth_nonce_make(auth, (struct sockaddr *)&client, sv.sv_now, nonce);
	stun_build_str(&b, STUN_ATTR_USERNAME, "alice");
	stun_build_str(&b, STUN_ATTR_REALM, "fuzz.realm");
	stun_build_str(&b, STUN_ATTR_NONCE, nonce);
	stun_build_integrity(&b, key, sizeof(key));
	if (fp)
		stun_build_fingerprint(&b);
	return (stun_build_finish(&b));
}

static void
handle(const uint8_t *msg, size_t len)
{
	struct server_pkt	pkt;
	struct server_reply	reply;
	static uint8_t		out[4096];
	struct stun_msg		m;

	memset(&pkt, 0, sizeof(pkt));
	pkt.transport = TRANSPORT_UDP;
	pkt.src = (struct sockaddr *)&client;
	pkt.local = (struct sockaddr *)&local;
	reply.buf = out;
	reply.cap = sizeof(out);
	server_handle(&sv, &pkt, msg, len, &reply);
	/* whatever comes back must itself be a well-formed message */
	if (reply.len > 0 && stun_msg_parse(&m, out, reply.len) != 0)
		abort();
	if (len > 0 && (msg[0] & 0xC0) == 0x40)
		server_chandata(&sv, &pkt, msg, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t	methods[] = {
		STUN_METHOD_ALLOCATE, STUN_METHOD_REFRESH,
		STUN_METHOD_CREATE_PERMISSION, STUN_METHOD_CHANNEL_BIND,
		STUN_METHOD_SEND
	};
	static const uint8_t	alloc_body[] = {
		0x00, 0x19, 0x00, 0x04, 17, 0, 0, 0	/* REQUESTED-TRANSPORT */
	};
	static uint8_t		buf[8192];
	struct alloc		*a;
	uint16_t		 method, cls;
	size_t			 n, half;
	uint8_t			 head[SERVER_HEAD_MAX];
	size_t			 padlen;

	if (conf == NULL)
		setup();
	if (size < 2)
		return (0);
	method = methods[(data[0] & 0x7f) %
	    (sizeof(methods) / sizeof(methods[0]))];
	cls = method == STUN_METHOD_SEND ? STUN_CLASS_INDICATION :
	    STUN_CLASS_REQUEST;

	/* most cases run on an existing allocation */
	if (data[0] & 0x80) {
		n = make_request(buf, sizeof(buf),
		    STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST),
		    alloc_body, sizeof(alloc_body), 0);
		handle(buf, n);
	}
	half = (data[1] & 0x02) ? (size - 2) / 2 : size - 2;
	n = make_request(buf, sizeof(buf), STUN_TYPE(method, cls), data + 2,
	    half, data[1] & 0x01);
	if (n > 0)
		handle(buf, n);
	if (data[1] & 0x02)
		handle(data + 2 + half, size - 2 - half);	/* ChannelData */

	/* data from a peer, then end every allocation */
	a = alloc_find(allocs, TRANSPORT_UDP, (struct sockaddr *)&client,
	    (struct sockaddr *)&local);
	if (a != NULL) {
		server_from_peer(&sv, a, (struct sockaddr *)&client, size,
		    data[1] & 0x04, head, &padlen);
		server_alloc_end(&sv, a, 0);
	}
	return (0);
}
