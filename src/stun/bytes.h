/*
 * bytes.h -- big-endian loads and stores and 4-byte padding, private to
 * the codec (src/stun).
 */

#ifndef STUN_BYTES_H
#define STUN_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static inline uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

static inline void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Attribute values and stream ChannelData are padded to 4 (RFC 8489 14). */
static inline size_t
pad4(size_t n)
{
	return ((n + 3) & ~(size_t)3);
}

#endif /* STUN_BYTES_H */
