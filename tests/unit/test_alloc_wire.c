/*
 * test_alloc_wire.c -- the live upgrade's state format: TLV records
 * (common/tlv.c) and an allocation through alloc_encode()/alloc_decode()
 * (turn/alloc_wire.c): every field comes back, an unknown optional
 * record is skipped, an unknown required one or a truncated record is
 * refused with a reason.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/tlv.h"
#include "common/xmalloc.h"
#include "stun/stun.h"
#include "turn/alloc.h"
#include "turn/alloc_wire.h"
#include "unit.h"

static void
set(union addr_in46 *u, const char *s)
{
	struct sockaddr_storage	ss;

	if (addr_parse(s, 0, &ss, NULL) == -1)
		abort();
	memcpy(u, &ss, addr_len((struct sockaddr *)&ss));
}

static struct alloc *
sample(void)
{
	struct alloc	*a = xcalloc(1, sizeof(*a));
	unsigned int	 i;

	a->a_transport = TRANSPORT_UDP;
	set(&a->a_client, "192.0.2.7:40001");
	set(&a->a_local, "[2001:db8::1]:3478");
	a->a_id = 0x0123456789abcdefULL;
	set(&a->a_relay[0], "198.51.100.1:20002");
	set(&a->a_relay[1], "[2001:db8::2]:20004");
	a->a_expires = 1800000000;
	a->a_created = 1799999000;
	a->a_lifetime = 600;
	a->a_nperm = a->a_permcap = 3;
	a->a_perm = xcalloc(3, sizeof(*a->a_perm));
	for (i = 0; i < 3; i++) {
		set(&a->a_perm[i].p_peer, i == 2 ? "[2001:db8::9]:0" :
		    "203.0.113.9:0");
		a->a_perm[i].p_expires = 1800000100 + i;
	}
	a->a_nchan = a->a_chancap = 1;
	a->a_chan = xcalloc(1, sizeof(*a->a_chan));
	a->a_chan[0].ch_num = 0x4001;
	set(&a->a_chan[0].ch_peer, "203.0.113.9:5000");
	a->a_chan[0].ch_expires = 1800000200;
	memset(a->a_key, 0xAB, 16);
	a->a_keylen = 16;
	a->a_alg = 1;
	alloc_set_user(a, "expiry:alice", "alice");
	a->a_bw_sec = 1799999999;
	a->a_bw_bytes = 12345;
	a->a_pkts_in = 1;
	a->a_bytes_in = 2;
	a->a_pkts_out = 3;
	a->a_bytes_out = 4;
	a->a_rep_pkts_in = 5;
	a->a_rep_bytes_out = 8;
	memset(a->a_tid, 0x5A, sizeof(a->a_tid));
	a->a_token = 0xfeedfacecafebeefULL;
	a->a_v6err = 440;
	return (a);
}

static void
test_roundtrip(void)
{
	struct alloc		*a = sample(), *b;
	struct alloc_wire	 w = { 3, { 0, 7 } }, got;
	struct tlvbuf		 tb;
	char			 err[128] = "";

	tlv_init(&tb);
	alloc_encode(a, &w, &tb);
	b = alloc_decode(tb.tb_buf, tb.tb_len, &got, err, sizeof(err));
	CHECK(b != NULL);
	if (b == NULL) {
		printf("# %s\n", err);
		goto out;
	}
	CHECK_EQ_INT(got.aw_path, 3);
	CHECK_EQ_INT(got.aw_fd[0], 0);
	CHECK_EQ_INT(got.aw_fd[1], 7);
	CHECK(addr_eq(&b->a_client.sa, &a->a_client.sa));
	CHECK(addr_eq(&b->a_local.sa, &a->a_local.sa));
	CHECK(addr_eq(&b->a_relay[0].sa, &a->a_relay[0].sa));
	CHECK(addr_eq(&b->a_relay[1].sa, &a->a_relay[1].sa));
	CHECK(b->a_id == a->a_id && b->a_token == a->a_token);
	CHECK(b->a_expires == a->a_expires && b->a_created == a->a_created);
	CHECK_EQ_INT(b->a_lifetime, 600);
	CHECK_EQ_INT(b->a_nperm, 3);
	CHECK(addr_ip_eq(&b->a_perm[2].p_peer.sa, &a->a_perm[2].p_peer.sa));
	CHECK(b->a_perm[1].p_expires == a->a_perm[1].p_expires);
	CHECK_EQ_INT(b->a_nchan, 1);
	CHECK_EQ_INT(b->a_chan[0].ch_num, 0x4001);
	CHECK(addr_eq(&b->a_chan[0].ch_peer.sa, &a->a_chan[0].ch_peer.sa));
	CHECK(b->a_keylen == 16 && memcmp(b->a_key, a->a_key, 16) == 0);
	CHECK_EQ_INT(b->a_alg, 1);
	CHECK(strcmp(b->a_user, "expiry:alice") == 0);
	CHECK(strcmp(b->a_quota_id, "alice") == 0);
	CHECK(b->a_bw_sec == a->a_bw_sec && b->a_bw_bytes == 12345);
	CHECK(b->a_pkts_out == 3 && b->a_bytes_out == 4);
	CHECK(b->a_rep_pkts_in == 5 && b->a_rep_bytes_out == 8);
	CHECK(memcmp(b->a_tid, a->a_tid, sizeof(a->a_tid)) == 0);
	CHECK_EQ_INT(b->a_v6err, 440);
	alloc_discard(b);
out:
	tlv_free(&tb);
	alloc_discard(a);
}

/* A record appended after the allocation's own, then decoded. */
static struct alloc *
with_extra(uint16_t type, char *err, size_t errlen)
{
	struct alloc		*a = sample(), *b;
	struct alloc_wire	 w = { 0, { -1, -1 } }, got;
	struct tlvbuf		 tb;

	tlv_init(&tb);
	alloc_encode(a, &w, &tb);
	tlv_put_u32(&tb, type, 1);
	b = alloc_decode(tb.tb_buf, tb.tb_len, &got, err, errlen);
	tlv_free(&tb);
	alloc_discard(a);
	return (b);
}

static void
test_unknown_records(void)
{
	struct alloc	*b;
	char		 err[128] = "";

	/* a later version's optional record: skipped */
	b = with_extra(0x8123, err, sizeof(err));
	CHECK(b != NULL);
	alloc_discard(b);
	/* a required one: refused, named */
	b = with_extra(0x0123, err, sizeof(err));
	CHECK(b == NULL);
	CHECK(strstr(err, "unknown required field 0x0123") != NULL);
}

/* 1 if cut falls between two records of tb. */
static int
on_boundary(const struct tlvbuf *tb, size_t cut)
{
	struct tlv_iter	it;
	struct tlv	t;
	size_t		at = 0;

	tlv_iter_init(&it, tb->tb_buf, tb->tb_len);
	while (at < cut && tlv_next(&it, &t) == 1)
		at += TLV_HEAD + t.t_len;
	return (at == cut);
}

static void
test_malformed(void)
{
	struct alloc		*a = sample(), *b;
	struct alloc_wire	 w = { 0, { 0, -1 } }, got;
	struct tlvbuf		 tb;
	char			 err[128] = "";
	size_t			 cut;

	tlv_init(&tb);
	alloc_encode(a, &w, &tb);
	/*
	 * A value cut inside a record is refused; cut between records it
	 * is a record with fewer fields, refused while a required one is
	 * missing (the user and the quota id come after the others).
	 */
	for (cut = 0; cut < tb.tb_len; cut++) {
		b = alloc_decode(tb.tb_buf, cut, &got, err, sizeof(err));
		CHECK(b == NULL || (on_boundary(&tb, cut) &&
		    b->a_quota_id != NULL));
		alloc_discard(b);
	}
	/* a field of the wrong size */
	tlv_reset(&tb);
	tlv_put_u16(&tb, 0x0004, 7);	/* AW_ID is 8 bytes */
	CHECK(alloc_decode(tb.tb_buf, tb.tb_len, &got, err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, "malformed") != NULL);
	tlv_free(&tb);
	alloc_discard(a);
}

static void
test_tlv_nested(void)
{
	struct tlvbuf	tb;
	struct tlv_iter	it, in;
	struct tlv	t, s;
	uint64_t	v = 0;
	size_t		o;

	tlv_init(&tb);
	o = tlv_open(&tb, 9);
	tlv_put_u64(&tb, 1, 42);
	tlv_put_str(&tb, 2, "x");
	tlv_close(&tb, o);
	tlv_iter_init(&it, tb.tb_buf, tb.tb_len);
	CHECK_EQ_INT(tlv_next(&it, &t), 1);
	CHECK_EQ_INT(t.t_type, 9);
	CHECK_EQ_INT(t.t_len, 2 * TLV_HEAD + 8 + 1);
	tlv_iter_init(&in, t.t_val, t.t_len);
	CHECK_EQ_INT(tlv_next(&in, &s), 1);
	CHECK(tlv_u64(&s, &v) == 0 && v == 42);
	CHECK_EQ_INT(tlv_next(&it, &t), 0);
	/* a length past the end */
	tb.tb_buf[5]++;
	tlv_iter_init(&it, tb.tb_buf, tb.tb_len);
	CHECK_EQ_INT(tlv_next(&it, &t), -1);
	tlv_free(&tb);
}

int
main(void)
{
	RUN(test_roundtrip);
	RUN(test_unknown_records);
	RUN(test_malformed);
	RUN(test_tlv_nested);
	return (unit_done());
}
