/*
 * fuzz_stream.c -- libFuzzer target for TCP/TLS stream framing: the
 * first input byte picks a chunk size, the rest is a byte stream fed in
 * chunks of that size through a reassembly buffer, as a connection
 * would, and every frame is parsed.  The frames found must be the same
 * as when the whole stream is framed in place.  Invariant violations
 * abort().
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FRAMES_MAX	4096
#define CHUNK_MAX	256
#define WINDOW		(STUN_MSG_MAX + 3)	/* the most framing needs */

struct seen {
	int	kind;
	size_t	framelen;
};

static struct seen	ref[FRAMES_MAX];
static uint8_t		rbuf[WINDOW + CHUNK_MAX];

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* Parse one frame as the connection handler would. */
static void
frame_parse(const uint8_t *p, const struct stun_frame *f)
{
	struct stun_msg		m;
	struct stun_chan	c;
	int			r;

	check(f->msglen <= f->framelen && f->framelen <= WINDOW);
	if (f->kind == STUN_FRAME_STUN) {
		check(f->msglen == f->framelen && f->msglen >= STUN_HDR_LEN);
		/* Framing checked the header, so this is STUN. */
		r = stun_msg_parse(&m, p, f->msglen);
		check(r == STUN_PARSE_OK || r == STUN_PARSE_MALFORMED);
		if (r == STUN_PARSE_OK)
			(void)stun_msg_check_fingerprint(&m);
		return;
	}
	check(f->kind == STUN_FRAME_CHAN);
	check(f->framelen % 4 == 0 && f->framelen - f->msglen < 4);
	check(stun_chan_parse(p, f->framelen, &c) == 0);
	check(c.len + (size_t)STUN_CHAN_HDR_LEN == f->msglen);
	check(c.chan >= 0x4000 && c.chan <= STUN_CHAN_FRAME_MAX);
	check(stun_chan_parse(p, f->msglen, &c) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct stun_frame	 f;
	const uint8_t		*s;
	size_t			 len, off, chunk, in, have, used, k;
	unsigned int		 nref = 0, got = 0;
	int			 r, ref_end;

	if (n < 1)
		return (0);
	chunk = 1 + d[0] % CHUNK_MAX;
	s = d + 1;
	len = n - 1;

	/* The reference: frame the whole stream in place. */
	off = 0;
	while ((r = stun_frame_next(s + off, len - off, &f)) == 1) {
		check(f.framelen > 0 && f.framelen <= len - off);
		frame_parse(s + off, &f);
		if (nref < FRAMES_MAX) {
			ref[nref].kind = f.kind;
			ref[nref].framelen = f.framelen;
		}
		nref++;
		off += f.framelen;
	}
	ref_end = r;
	/* Never waiting on more than a window's worth. */
	if (r == 0)
		check(len - off < WINDOW);

	/* Now in chunks through a reassembly buffer. */
	have = in = 0;
	r = 0;
	while (in < len && r != -1) {
		k = chunk < len - in ? chunk : len - in;
		check(have + k <= sizeof(rbuf));
		memcpy(rbuf + have, s + in, k);
		have += k;
		in += k;
		used = 0;
		while ((r = stun_frame_next(rbuf + used, have - used, &f)) ==
		    1) {
			frame_parse(rbuf + used, &f);
			if (got < FRAMES_MAX && got < nref)
				check(ref[got].kind == f.kind &&
				    ref[got].framelen == f.framelen);
			got++;
			used += f.framelen;
		}
		if (r == 0)
			check(have - used < WINDOW);
		memmove(rbuf, rbuf + used, have - used);
		have -= used;
	}
	check(got == nref);
	check(r == ref_end || (len == 0 && r == 0));
	return (0);
}
