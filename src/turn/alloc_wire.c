/*
 * alloc_wire.c -- an allocation as a handover record (alloc_wire.h).
 * The record is the value of an HO_ALLOC record (admin/handover.h); its
 * own records are below.  Types under 0x8000 must be understood (a
 * reader that does not know one refuses the handover); the others are
 * skipped by readers that do not know them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/tlv.h"
#include "common/xmalloc.h"
#include "turn/alloc.h"
#include "turn/alloc_wire.h"

enum {
	AW_PATH = 0x0001,	/* u16 */
	AW_CLIENT,		/* addr */
	AW_LOCAL,		/* addr */
	AW_ID,			/* u64 */
	AW_RELAY,		/* AWR_* */
	AW_EXPIRES,		/* u64: time_t */
	AW_CREATED,		/* u64 */
	AW_LIFETIME,		/* u32 */
	AW_PERM,		/* AWP_* */
	AW_CHAN,		/* AWP_* */
	AW_KEY,			/* bytes, at most 32 */
	AW_ALG,			/* u16 */
	AW_USER,		/* string */
	AW_QUOTA,		/* string */
	AW_BW_SEC,		/* u64 */
	AW_BW_BYTES,		/* u64 */
	AW_TID,			/* STUN_TID_LEN bytes */
	AW_TOKEN,		/* u64 */
	AW_V6ERR,		/* u32 */
	AW_COUNTERS = 0x8001	/* 8 x u64 (optional) */
};

enum {
	AWR_IDX = 1,		/* u8: the family slot */
	AWR_FD,			/* u32: index into the message's fds */
	AWR_ADDR,		/* addr: the relayed address */
	AWP_PEER = 1,		/* addr */
	AWP_EXPIRES,		/* u64 */
	AWP_NUM			/* u16: channel number */
};

#define AW_NCOUNTERS	8

static void
alloc_encode_relays(const struct alloc *a, const struct alloc_wire *w,
    struct tlvbuf *tb)
{
	unsigned int	i;
	size_t		o;

	for (i = 0; i < ALLOC_FAMILIES; i++) {
		if (w->aw_fd[i] < 0)
			continue;
		o = tlv_open(tb, AW_RELAY);
		tlv_put_u8(tb, AWR_IDX, (uint8_t)i);
		tlv_put_u32(tb, AWR_FD, (uint32_t)w->aw_fd[i]);
		tlv_put_addr(tb, AWR_ADDR, &a->a_relay[i].sa);
		tlv_close(tb, o);
	}
}

static void
alloc_encode_peers(const struct alloc *a, struct tlvbuf *tb)
{
	unsigned int	i;
	size_t		o;

	for (i = 0; i < a->a_nperm; i++) {
		o = tlv_open(tb, AW_PERM);
		tlv_put_addr(tb, AWP_PEER, &a->a_perm[i].p_peer.sa);
		tlv_put_u64(tb, AWP_EXPIRES, (uint64_t)a->a_perm[i].p_expires);
		tlv_close(tb, o);
	}
	for (i = 0; i < a->a_nchan; i++) {
		o = tlv_open(tb, AW_CHAN);
		tlv_put_u16(tb, AWP_NUM, a->a_chan[i].ch_num);
		tlv_put_addr(tb, AWP_PEER, &a->a_chan[i].ch_peer.sa);
		tlv_put_u64(tb, AWP_EXPIRES, (uint64_t)a->a_chan[i].ch_expires);
		tlv_close(tb, o);
	}
}

void
alloc_encode(const struct alloc *a, const struct alloc_wire *w,
    struct tlvbuf *tb)
{
	uint8_t		c[AW_NCOUNTERS * 8];
	uint64_t	v[AW_NCOUNTERS] = {
		a->a_pkts_in, a->a_bytes_in, a->a_pkts_out, a->a_bytes_out,
		a->a_rep_pkts_in, a->a_rep_bytes_in, a->a_rep_pkts_out,
		a->a_rep_bytes_out
	};
	unsigned int	i, j;

	tlv_put_u16(tb, AW_PATH, (uint16_t)w->aw_path);
	tlv_put_addr(tb, AW_CLIENT, &a->a_client.sa);
	tlv_put_addr(tb, AW_LOCAL, &a->a_local.sa);
	tlv_put_u64(tb, AW_ID, a->a_id);
	alloc_encode_relays(a, w, tb);
	tlv_put_u64(tb, AW_EXPIRES, (uint64_t)a->a_expires);
	tlv_put_u64(tb, AW_CREATED, (uint64_t)a->a_created);
	tlv_put_u32(tb, AW_LIFETIME, (uint32_t)a->a_lifetime);
	alloc_encode_peers(a, tb);
	tlv_put(tb, AW_KEY, a->a_key, a->a_keylen);
	tlv_put_u16(tb, AW_ALG, a->a_alg);
	if (a->a_user != NULL)
		tlv_put_str(tb, AW_USER, a->a_user);
	if (a->a_quota_id != NULL)
		tlv_put_str(tb, AW_QUOTA, a->a_quota_id);
	tlv_put_u64(tb, AW_BW_SEC, (uint64_t)a->a_bw_sec);
	tlv_put_u64(tb, AW_BW_BYTES, a->a_bw_bytes);
	tlv_put(tb, AW_TID, a->a_tid, sizeof(a->a_tid));
	tlv_put_u64(tb, AW_TOKEN, a->a_token);
	tlv_put_u32(tb, AW_V6ERR, (uint32_t)a->a_v6err);
	for (i = 0; i < AW_NCOUNTERS; i++)
		for (j = 0; j < 8; j++)
			c[i * 8 + j] = (uint8_t)(v[i] >> (56 - 8 * j));
	tlv_put(tb, AW_COUNTERS, c, sizeof(c));
}

/* ---- reading ---- */

static int
wire_time(const struct tlv *t, time_t *out)
{
	uint64_t	v;

	if (tlv_u64(t, &v) == -1)
		return (-1);
	*out = (time_t)v;
	return (0);
}

static int
decode_relay(const struct tlv *t, struct alloc *a, struct alloc_wire *w)
{
	struct tlv_iter		 it;
	struct tlv		 s;
	struct sockaddr_storage	 ss;
	uint8_t			 idx = 0xFF;
	uint32_t		 fd = UINT32_MAX;
	int			 r, have = 0;

	tlv_iter_init(&it, t->t_val, t->t_len);
	while ((r = tlv_next(&it, &s)) == 1) {
		if (s.t_type == AWR_IDX)
			r = tlv_u8(&s, &idx);
		else if (s.t_type == AWR_FD)
			r = tlv_u32(&s, &fd);
		else if (s.t_type == AWR_ADDR) {
			r = tlv_addr(&s, &ss);
			have = r == 0;
		} else
			r = TLV_OPTIONAL(s.t_type) ? 0 : -1;
		if (r == -1)
			return (-1);
	}
	if (r == -1 || idx >= ALLOC_FAMILIES || fd > INT32_MAX || !have)
		return (-1);
	memcpy(&a->a_relay[idx], &ss, addr_len((struct sockaddr *)&ss));
	w->aw_fd[idx] = (int)fd;
	return (0);
}

/* A permission or channel record: peer, expiry, number (channels). */
static int
decode_peer(const struct tlv *t, struct sockaddr_storage *peer,
    time_t *expires, uint16_t *num)
{
	struct tlv_iter	it;
	struct tlv	s;
	int		r, have = 0;

	*num = 0;
	tlv_iter_init(&it, t->t_val, t->t_len);
	while ((r = tlv_next(&it, &s)) == 1) {
		if (s.t_type == AWP_PEER) {
			r = tlv_addr(&s, peer);
			have = r == 0;
		} else if (s.t_type == AWP_EXPIRES)
			r = wire_time(&s, expires);
		else if (s.t_type == AWP_NUM)
			r = tlv_u16(&s, num);
		else
			r = TLV_OPTIONAL(s.t_type) ? 0 : -1;
		if (r == -1)
			return (-1);
	}
	return (r == -1 || !have ? -1 : 0);
}

static int
decode_perm(const struct tlv *t, struct alloc *a)
{
	struct sockaddr_storage	 peer;
	time_t			 exp = 0;
	uint16_t		 num;

	if (decode_peer(t, &peer, &exp, &num) == -1 ||
	    a->a_nperm >= ALLOC_PERMS_MAX)
		return (-1);
	a->a_perm = xreallocarray(a->a_perm, a->a_nperm + 1,
	    sizeof(*a->a_perm));
	a->a_permcap = a->a_nperm + 1;
	memset(&a->a_perm[a->a_nperm], 0, sizeof(a->a_perm[0]));
	memcpy(&a->a_perm[a->a_nperm].p_peer, &peer,
	    addr_len((struct sockaddr *)&peer));
	a->a_perm[a->a_nperm++].p_expires = exp;
	return (0);
}

static int
decode_chan(const struct tlv *t, struct alloc *a)
{
	struct sockaddr_storage	 peer;
	time_t			 exp = 0;
	uint16_t		 num;

	if (decode_peer(t, &peer, &exp, &num) == -1 ||
	    a->a_nchan >= ALLOC_CHANS_MAX || num == 0)
		return (-1);
	a->a_chan = xreallocarray(a->a_chan, a->a_nchan + 1,
	    sizeof(*a->a_chan));
	a->a_chancap = a->a_nchan + 1;
	memset(&a->a_chan[a->a_nchan], 0, sizeof(a->a_chan[0]));
	a->a_chan[a->a_nchan].ch_num = num;
	memcpy(&a->a_chan[a->a_nchan].ch_peer, &peer,
	    addr_len((struct sockaddr *)&peer));
	a->a_chan[a->a_nchan++].ch_expires = exp;
	return (0);
}

static int
decode_counters(const struct tlv *t, struct alloc *a)
{
	uint64_t	*v[AW_NCOUNTERS] = {
		&a->a_pkts_in, &a->a_bytes_in, &a->a_pkts_out,
		&a->a_bytes_out, &a->a_rep_pkts_in, &a->a_rep_bytes_in,
		&a->a_rep_pkts_out, &a->a_rep_bytes_out
	};
	unsigned int	 i, j;

	if (t->t_len < sizeof(v) / sizeof(v[0]) * 8)
		return (-1);
	for (i = 0; i < AW_NCOUNTERS; i++)
		for (*v[i] = 0, j = 0; j < 8; j++)
			*v[i] = *v[i] << 8 | t->t_val[i * 8 + j];
	return (0);
}

static int
decode_addr(const struct tlv *t, union addr_in46 *out)
{
	struct sockaddr_storage	ss;

	if (tlv_addr(t, &ss) == -1)
		return (-1);
	memcpy(out, &ss, addr_len((struct sockaddr *)&ss));
	return (0);
}

static int
decode_u64(const struct tlv *t, uint64_t *v)
{
	return (tlv_u64(t, v));
}

static int
decode_str(const struct tlv *t, char **out)
{
	free(*out);
	return ((*out = tlv_str(t)) == NULL ? -1 : 0);
}

/* One record of the allocation into a (or w): 0, or -1. */
static int
decode_one(const struct tlv *t, struct alloc *a, struct alloc_wire *w,
    unsigned int *seen)
{
	uint16_t	u16;
	uint32_t	u32;

	if (t->t_type < 32)
		*seen |= 1U << t->t_type;
	switch (t->t_type) {
	case AW_PATH:
		if (tlv_u16(t, &u16) == -1)
			return (-1);
		w->aw_path = u16;
		return (0);
	case AW_CLIENT:
		return (decode_addr(t, &a->a_client));
	case AW_LOCAL:
		return (decode_addr(t, &a->a_local));
	case AW_ID:
		return (decode_u64(t, &a->a_id));
	case AW_RELAY:
		return (decode_relay(t, a, w));
	case AW_EXPIRES:
		return (wire_time(t, &a->a_expires));
	case AW_CREATED:
		return (wire_time(t, &a->a_created));
	case AW_LIFETIME:
		if (tlv_u32(t, &u32) == -1)
			return (-1);
		a->a_lifetime = (int)u32;
		return (0);
	case AW_PERM:
		return (decode_perm(t, a));
	case AW_CHAN:
		return (decode_chan(t, a));
	case AW_KEY:
		if (t->t_len > sizeof(a->a_key))
			return (-1);
		memcpy(a->a_key, t->t_val, t->t_len);
		a->a_keylen = t->t_len;
		return (0);
	case AW_ALG:
		return (tlv_u16(t, &a->a_alg));
	case AW_USER:
		return (decode_str(t, &a->a_user));
	case AW_QUOTA:
		return (decode_str(t, &a->a_quota_id));
	case AW_BW_SEC:
		return (wire_time(t, &a->a_bw_sec));
	case AW_BW_BYTES:
		return (decode_u64(t, &a->a_bw_bytes));
	case AW_TID:
		if (t->t_len != sizeof(a->a_tid))
			return (-1);
		memcpy(a->a_tid, t->t_val, t->t_len);
		return (0);
	case AW_TOKEN:
		return (decode_u64(t, &a->a_token));
	case AW_V6ERR:
		if (tlv_u32(t, &u32) == -1)
			return (-1);
		a->a_v6err = (int)u32;
		return (0);
	case AW_COUNTERS:
		return (decode_counters(t, a));
	}
	return (TLV_OPTIONAL(t->t_type) ? 0 : -2);
}

#define AW_NEEDED	(1U << AW_PATH | 1U << AW_CLIENT | 1U << AW_LOCAL | \
			 1U << AW_ID | 1U << AW_EXPIRES | 1U << AW_USER | \
			 1U << AW_QUOTA)

struct alloc *
alloc_decode(const uint8_t *p, size_t len, struct alloc_wire *w, char *err,
    size_t errlen)
{
	struct tlv_iter	 it;
	struct tlv	 t;
	struct alloc	*a = xcalloc(1, sizeof(*a));
	unsigned int	 i, seen = 0;
	int		 r;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < ALLOC_FAMILIES; i++)
		w->aw_fd[i] = -1;
	a->a_transport = TRANSPORT_UDP;
	tlv_iter_init(&it, p, len);
	while ((r = tlv_next(&it, &t)) == 1)
		if ((r = decode_one(&t, a, w, &seen)) < 0)
			break;
	if (r == -2)
		snprintf(err, errlen, "allocation record: unknown required "
		    "field 0x%04x", t.t_type);
	else if (r == -1)
		snprintf(err, errlen, "allocation record: malformed field "
		    "0x%04x", t.t_type);
	else if ((seen & AW_NEEDED) != AW_NEEDED ||
	    a->a_client.sa.sa_family == 0 || a->a_local.sa.sa_family == 0) {
		snprintf(err, errlen, "allocation record: fields missing");
		r = -1;
	}
	if (r < 0) {
		alloc_discard(a);
		return (NULL);
	}
	return (a);
}
