/*
 * frame.c -- ChannelData messages (RFC 8656 12.4) and framing of the
 * STUN/ChannelData stream on TCP and TLS (RFC 8489 6.2.2, RFC 8656 12.5).
 */

#include <stddef.h>
#include <stdint.h>

#include "stun/bytes.h"
#include "stun/stun.h"

static const uint8_t stun_cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };

/*
 * A ChannelData message of exactly len bytes: the first two bits 0b01
 * (channel numbers 0x4000..0x7FFF, RFC 8656 12), 4 + data length <= len,
 * and at most the 4-byte padding after the data (optional over UDP,
 * 12.5).  0 and *c filled (a view into buf), or -1.
 */
int
stun_chan_parse(const uint8_t *buf, size_t len, struct stun_chan *c)
{
	size_t	dlen;

	if (buf == NULL || len < STUN_CHAN_HDR_LEN || (buf[0] & 0xc0) != 0x40)
		return (-1);
	dlen = get16(buf + 2);
	if (dlen > len - STUN_CHAN_HDR_LEN ||
	    len - STUN_CHAN_HDR_LEN > pad4(dlen))
		return (-1);
	c->chan = get16(buf);
	c->len = (uint16_t)dlen;
	c->data = buf + STUN_CHAN_HDR_LEN;
	return (0);
}

/* The ChannelData header: channel number, then data length (12.4). */
void
stun_chan_hdr(uint8_t out[STUN_CHAN_HDR_LEN], uint16_t chan, uint16_t len)
{
	out[0] = (uint8_t)(chan >> 8);
	out[1] = (uint8_t)chan;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

/*
 * Classify the frame at the front of a stream buffer.  The first byte
 * picks the kind (0b00 STUN, 0b01 ChannelData; 0b10 and 0b11 are neither
 * and so garbage, RFC 7983 and RFC 8656 12); a STUN header is rejected as
 * soon as the bytes at hand show a length that is not a multiple of 4 or
 * a byte of the magic cookie that is wrong, so garbage is found without
 * waiting for a whole header.  Frame lengths come from 16-bit fields: a
 * STUN frame is at most 20 + 65532 bytes, a ChannelData frame at most
 * 4 + 65536, so "need more" never asks for more than STUN_MSG_MAX + 3.
 * On "need more", f->framelen is the whole frame's length once the
 * length field is in (4 bytes), else 0.
 */
int
stun_frame_next(const uint8_t *p, size_t avail, struct stun_frame *f)
{
	size_t	i, len, need;

	f->framelen = 0;
	if (p == NULL || avail == 0)
		return (0);
	switch (p[0] & 0xc0) {
	case 0x00:
		if (avail >= 4 && (get16(p + 2) & 3) != 0)
			return (-1);
		for (i = 4; i < 8 && i < avail; i++)
			if (p[i] != stun_cookie[i - 4])
				return (-1);
		if (avail < 4)
			return (0);
		len = get16(p + 2);
		need = STUN_HDR_LEN + len;
		f->kind = STUN_FRAME_STUN;
		f->framelen = need;
		if (avail < need)
			return (0);
		f->msglen = need;
		return (1);
	case 0x40:
		if (avail < STUN_CHAN_HDR_LEN)
			return (0);
		len = get16(p + 2);
		/* Over a stream the padding is always there (12.5). */
		need = STUN_CHAN_HDR_LEN + pad4(len);
		f->kind = STUN_FRAME_CHAN;
		f->framelen = need;
		if (avail < need)
			return (0);
		f->msglen = STUN_CHAN_HDR_LEN + len;
		return (1);
	default:
		return (-1);
	}
}
