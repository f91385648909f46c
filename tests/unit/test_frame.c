/*
 * test_frame.c -- ChannelData parsing (RFC 8656 12.4) and the TCP/TLS
 * stream framing of STUN and ChannelData (RFC 8489 6.2.2, RFC 8656 12.5):
 * whole streams fed byte by byte, in random chunks and all at once.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"
#include "unit.h"
#include "rfc5769.h"

/* A stream of interleaved frames and what framing must find in it. */
struct expect {
	int	kind;
	size_t	msglen;
	size_t	framelen;
	size_t	off;		/* where the frame starts in the stream */
	uint8_t	seed;		/* ChannelData bytes are seed, seed + 1, ... */
};

struct stream {
	uint8_t		b[4096];
	size_t		len;
	struct expect	ex[32];
	unsigned int	n;
};

static void
add_stun(struct stream *s, const uint8_t *msg, size_t len)
{
	memcpy(s->b + s->len, msg, len);
	s->ex[s->n].kind = STUN_FRAME_STUN;
	s->ex[s->n].msglen = len;
	s->ex[s->n].framelen = len;
	s->ex[s->n].off = s->len;
	s->n++;
	s->len += len;
}

/* ChannelData with dlen bytes of data, each (uint8_t)(seed + i). */
static void
add_chan(struct stream *s, uint16_t chan, uint16_t dlen, uint8_t seed)
{
	size_t	i, padded = ((size_t)dlen + 3) & ~(size_t)3;

	stun_chan_hdr(s->b + s->len, chan, dlen);
	for (i = 0; i < padded; i++)
		s->b[s->len + 4 + i] = i < dlen ? (uint8_t)(seed + i) : 0;
	s->ex[s->n].kind = STUN_FRAME_CHAN;
	s->ex[s->n].msglen = 4 + (size_t)dlen;
	s->ex[s->n].framelen = 4 + padded;
	s->ex[s->n].off = s->len;
	s->ex[s->n].seed = seed;
	s->n++;
	s->len += 4 + padded;
}

static void
make_stream(struct stream *s)
{
	static const uint8_t	tid[STUN_TID_LEN] = { 7, 7, 7 };
	struct stun_build	b;
	uint8_t			msg[128];
	size_t			n;

	memset(s, 0, sizeof(*s));
	add_stun(s, rfc5769_req, sizeof(rfc5769_req));
	add_chan(s, 0x4000, 1, 0x10);
	add_chan(s, 0x4fff, 5, 0x20);
	add_stun(s, rfc5769_resp6, sizeof(rfc5769_resp6));
	add_chan(s, 0x7fff, 7, 0x30);	/* reserved, framed all the same */
	add_chan(s, 0x4001, 0, 0);
	add_chan(s, 0x5000, 4, 0x40);
	add_chan(s, 0x4002, 6, 0x50);
	stun_build_init(&b, msg, sizeof(msg),
	    STUN_TYPE(STUN_METHOD_SEND, STUN_CLASS_INDICATION), tid);
	stun_build_attr(&b, STUN_ATTR_DATA, "odd", 3);
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	add_stun(s, msg, n);
	add_stun(s, rfc5769_ltreq, sizeof(rfc5769_ltreq));
	add_chan(s, 0x4003, 3, 0x60);
}

/* Check frame i of stream s as found at p. */
static void
check_frame(const struct stream *s, unsigned int i, const uint8_t *p,
    const struct stun_frame *f)
{
	const struct expect	*e = &s->ex[i];
	struct stun_msg		 m;
	struct stun_chan	 c;
	size_t			 j;

	CHECK_EQ_INT(f->kind, e->kind);
	CHECK_EQ_INT(f->msglen, e->msglen);
	CHECK_EQ_INT(f->framelen, e->framelen);
	CHECK_EQ_MEM(p, s->b + e->off, e->framelen);
	if (f->kind == STUN_FRAME_STUN) {
		CHECK_EQ_INT(stun_msg_parse(&m, p, f->msglen), STUN_PARSE_OK);
		return;
	}
	/* Both the padded frame and the bare message parse. */
	CHECK_EQ_INT(stun_chan_parse(p, f->framelen, &c), 0);
	CHECK_EQ_INT(stun_chan_parse(p, f->msglen, &c), 0);
	CHECK_EQ_INT(c.len, f->msglen - 4);
	CHECK(c.data == p + 4);
	for (j = 0; j < c.len; j++)
		if (c.data[j] != (uint8_t)(e->seed + j))
			break;
	CHECK_EQ_INT(j, c.len);
}

/*
 * Feed the stream in chunks (chunk() gives each size) into a reassembly
 * buffer, framing as a connection would; check every frame comes out
 * once, in order, and nothing is left over.
 */
static void
feed(const struct stream *s, size_t (*chunk)(void))
{
	static uint8_t		buf[8192];
	struct stun_frame	f;
	size_t			have = 0, in = 0, used, k;
	unsigned int		got = 0;
	int			r;

	while (in < s->len) {
		k = chunk();
		if (k > s->len - in)
			k = s->len - in;
		memcpy(buf + have, s->b + in, k);
		have += k;
		in += k;
		used = 0;
		while ((r = stun_frame_next(buf + used, have - used,
		    &f)) == 1) {
			CHECK(got < s->n);
			if (got >= s->n)
				return;
			CHECK(f.framelen <= have - used);
			check_frame(s, got, buf + used, &f);
			used += f.framelen;
			got++;
		}
		CHECK_EQ_INT(r, 0);
		if (r != 0)
			return;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	CHECK_EQ_INT(got, s->n);
	CHECK_EQ_INT(have, 0);
}

static size_t
chunk_one(void)
{
	return (1);
}

static size_t
chunk_random(void)
{
	/* Mostly small, sometimes large. */
	return ((unit_rng() % 8 == 0) ? unit_rng() % 400 : unit_rng() % 9);
}

static size_t
chunk_all(void)
{
	return (SIZE_MAX);
}

static void
test_byte_by_byte(void)
{
	struct stream	s;

	make_stream(&s);
	feed(&s, chunk_one);
}

static void
test_random_splits(void)
{
	struct stream	s;
	int		i;

	make_stream(&s);
	for (i = 0; i < 500; i++)
		feed(&s, chunk_random);
}

static void
test_one_buffer(void)
{
	struct stream		s;
	struct stun_frame	f;
	size_t			off = 0;
	unsigned int		i;

	make_stream(&s);
	feed(&s, chunk_all);
	/* Straight off the stream buffer, no copying. */
	for (i = 0; i < s.n; i++) {
		CHECK_EQ_INT(stun_frame_next(s.b + off, s.len - off, &f), 1);
		check_frame(&s, i, s.b + off, &f);
		off += f.framelen;
	}
	CHECK_EQ_INT(off, s.len);
	CHECK_EQ_INT(stun_frame_next(s.b + off, 0, &f), 0);
}

static void
test_garbage(void)
{
	struct stun_frame	f;
	uint8_t			b[64];
	unsigned int		c, i;

	/* First bytes 0b10 and 0b11 are garbage on sight. */
	for (c = 0x80; c <= 0xff; c++) {
		memset(b, 0, sizeof(b));
		b[0] = (uint8_t)c;
		CHECK_EQ_INT(stun_frame_next(b, 1, &f), -1);
		CHECK_EQ_INT(stun_frame_next(b, sizeof(b), &f), -1);
	}
	/* A TLS record looks like STUN until its length or cookie shows. */
	CHECK_EQ_INT(stun_frame_next((const uint8_t *)"\x16\x03\x01", 3, &f),
	    0);
	CHECK_EQ_INT(stun_frame_next((const uint8_t *)"\x16\x03\x01\x02\x00",
	    5, &f), -1);
	CHECK_EQ_INT(stun_frame_next((const uint8_t *)"\x16\x03\x01\x00\x01",
	    4, &f), 0);
	CHECK_EQ_INT(stun_frame_next((const uint8_t *)"\x16\x03\x01\x00\x01",
	    5, &f), -1);
	/*
	 * Text starting with '@'..DEL reads as ChannelData: framing cannot
	 * tell, so "GET " waits for 0x5420 bytes; the connection's idle
	 * timeout has to deal with it.
	 */
	CHECK_EQ_INT(stun_frame_next((const uint8_t *)"GET / HTTP/1.1", 14,
	    &f), 0);

	/* A bad magic cookie, seen as soon as its first wrong byte is. */
	memcpy(b, rfc5769_req, sizeof(b));
	for (i = 4; i < 8; i++) {
		b[i] ^= 0x01;
		CHECK_EQ_INT(stun_frame_next(b, i, &f), 0);
		CHECK_EQ_INT(stun_frame_next(b, i + 1, &f), -1);
		CHECK_EQ_INT(stun_frame_next(b, sizeof(b), &f), -1);
		b[i] ^= 0x01;
	}
	/* A STUN length not a multiple of 4. */
	b[3] = 0x59;
	CHECK_EQ_INT(stun_frame_next(b, 3, &f), 0);
	CHECK_EQ_INT(stun_frame_next(b, 4, &f), -1);
	b[3] = 0x58;
	CHECK_EQ_INT(stun_frame_next(b, 4, &f), 0);
	CHECK_EQ_INT(stun_frame_next(b, 20, &f), 0);

	/* ChannelData numbers 0x4000..0x7FFF are all framed. */
	for (c = 0x40; c <= 0x7f; c++) {
		memset(b, 0, sizeof(b));
		b[0] = (uint8_t)c;
		b[1] = (uint8_t)c;
		b[3] = 2;
		CHECK_EQ_INT(stun_frame_next(b, 7, &f), 0);
		CHECK_EQ_INT(stun_frame_next(b, 8, &f), 1);
		CHECK_EQ_INT(f.kind, STUN_FRAME_CHAN);
		CHECK_EQ_INT(f.msglen, 6);
		CHECK_EQ_INT(f.framelen, 8);
	}
}

/*
 * With STUN_MSG_MAX + 3 bytes in hand, any header that is not garbage
 * gives a whole frame: "need more" never asks for more than that.
 */
static void
test_need_more_bound(void)
{
	struct stun_frame	 f;
	uint8_t			*b;
	size_t			 max = STUN_MSG_MAX + 3, len, want;
	int			 bad = 0;

	b = calloc(1, max);
	if (b == NULL)
		abort();
	/* STUN, every length that is a multiple of 4. */
	memcpy(b, rfc5769_req, STUN_HDR_LEN);
	for (len = 0; len <= 0xffff; len += 4) {
		b[2] = (uint8_t)(len >> 8);
		b[3] = (uint8_t)len;
		want = STUN_HDR_LEN + len;
		if (stun_frame_next(b, max, &f) != 1 || f.framelen != want ||
		    f.msglen != want || f.kind != STUN_FRAME_STUN)
			bad++;
		if (stun_frame_next(b, want - 1, &f) != 0)
			bad++;
		/* "need more" tells the whole length once 4 bytes are in */
		if (stun_frame_next(b, 8, &f) != 0 || f.framelen != want ||
		    stun_frame_next(b, 3, &f) != 0 || f.framelen != 0)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* ChannelData, every length. */
	for (len = 0; len <= 0xffff; len++) {
		stun_chan_hdr(b, 0x4000, (uint16_t)len);
		want = 4 + ((len + 3) & ~(size_t)3);
		if (stun_frame_next(b, max, &f) != 1 || f.framelen != want ||
		    f.msglen != 4 + len || f.kind != STUN_FRAME_CHAN ||
		    f.framelen > max)
			bad++;
		if (stun_frame_next(b, want - 1, &f) != 0)
			bad++;
		if (want > 4 && (stun_frame_next(b, 4, &f) != 0 ||
		    f.framelen != want))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* The largest of each. */
	stun_chan_hdr(b, 0x7fff, 0xffff);
	CHECK_EQ_INT(stun_frame_next(b, max, &f), 1);
	CHECK_EQ_INT(f.framelen, 4 + 0x10000);
	CHECK_EQ_INT(stun_chan_parse(b, f.framelen, &(struct stun_chan){ 0 }),
	    0);
	free(b);
}

static void
test_chan_parse(void)
{
	struct stun_chan	c;
	uint8_t			b[16];

	memset(b, 0xee, sizeof(b));
	stun_chan_hdr(b, 0x4001, 5);
	CHECK_EQ_INT(b[0], 0x40);
	CHECK_EQ_INT(b[1], 0x01);
	CHECK_EQ_INT(b[2], 0x00);
	CHECK_EQ_INT(b[3], 0x05);
	memcpy(b + 4, "hello", 5);

	/* Over UDP the padding may or may not be there (RFC 8656 12.5). */
	CHECK_EQ_INT(stun_chan_parse(b, 9, &c), 0);
	CHECK_EQ_INT(c.chan, 0x4001);
	CHECK_EQ_INT(c.len, 5);
	CHECK(c.data == b + 4 && memcmp(c.data, "hello", 5) == 0);
	CHECK_EQ_INT(stun_chan_parse(b, 10, &c), 0);
	CHECK_EQ_INT(stun_chan_parse(b, 12, &c), 0);
	CHECK_EQ_INT(c.len, 5);
	/* Beyond the padding, or short of the data. */
	CHECK_EQ_INT(stun_chan_parse(b, 13, &c), -1);
	CHECK_EQ_INT(stun_chan_parse(b, 8, &c), -1);
	CHECK_EQ_INT(stun_chan_parse(b, 3, &c), -1);
	CHECK_EQ_INT(stun_chan_parse(b, 0, &c), -1);
	CHECK_EQ_INT(stun_chan_parse(NULL, 0, &c), -1);

	/* Empty data. */
	stun_chan_hdr(b, 0x7fff, 0);
	CHECK_EQ_INT(stun_chan_parse(b, 4, &c), 0);
	CHECK_EQ_INT(c.chan, 0x7fff);
	CHECK_EQ_INT(c.len, 0);
	CHECK_EQ_INT(stun_chan_parse(b, 5, &c), -1);

	/* Not 0b01. */
	stun_chan_hdr(b, 0x3fff, 0);
	CHECK_EQ_INT(stun_chan_parse(b, 4, &c), -1);
	stun_chan_hdr(b, 0x8000, 0);
	CHECK_EQ_INT(stun_chan_parse(b, 4, &c), -1);
	stun_chan_hdr(b, 0xc000, 0);
	CHECK_EQ_INT(stun_chan_parse(b, 4, &c), -1);
	/* A STUN message is not ChannelData. */
	CHECK_EQ_INT(stun_chan_parse(rfc5769_req, sizeof(rfc5769_req), &c),
	    -1);
}

int
main(void)
{
	RUN(test_chan_parse);
	RUN(test_byte_by_byte);
	RUN(test_random_splits);
	RUN(test_one_buffer);
	RUN(test_garbage);
	RUN(test_need_more_bound);
	return (unit_done());
}
