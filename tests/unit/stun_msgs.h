/*
 * stun_msgs.h -- STUN messages shared by test_stun_codec.c and
 * test_stun_build.c: a fixed transaction ID and key, hand-made messages
 * for what the builder refuses to write (struct raw), and one built
 * message with most kinds of attribute (build_big()).
 */

#ifndef STUN_MSGS_H
#define STUN_MSGS_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stun/stun.h"

#define BINDING_REQ	STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_REQUEST)
#define ALLOC_ERR	STUN_TYPE(STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR)

static const uint8_t tid0[STUN_TID_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
};
static const uint8_t key0[] = "a key";

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
	r->b[4] = 0x21;
	r->b[5] = 0x12;
	r->b[6] = 0xa4;
	r->b[7] = 0x42;
	memcpy(r->b + 8, tid0, STUN_TID_LEN);
	r->len = STUN_HDR_LEN;
}

/* Append a TLV claiming len bytes, with vlen value bytes after it. */
static inline void
raw_tlv(struct raw *r, uint16_t type, uint16_t len, const void *val,
    size_t vlen)
{
	r->b[r->len] = (uint8_t)(type >> 8);
	r->b[r->len + 1] = (uint8_t)type;
	r->b[r->len + 2] = (uint8_t)(len >> 8);
	r->b[r->len + 3] = (uint8_t)len;
	r->len += 4;
	if (val != NULL)
		memcpy(r->b + r->len, val, vlen);
	r->len += vlen;
}

/* A well-formed attribute: value then zero padding. */
static inline void
raw_attr(struct raw *r, uint16_t type, const void *val, size_t len)
{
	raw_tlv(r, type, (uint16_t)len, val, len);
	while (r->len % 4 != 0)
		r->b[r->len++] = 0;
}

/* Set the header length to match the bytes written. */
static inline void
raw_fix(struct raw *r)
{
	size_t	n = r->len - STUN_HDR_LEN;

	r->b[2] = (uint8_t)(n >> 8);
	r->b[3] = (uint8_t)n;
}

/* A message with one of most kinds of attribute, MI, MI-SHA256 and FP. */
static inline size_t
build_big(uint8_t *buf, size_t cap)
{
	struct stun_build	b;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	static const uint16_t	unk[] = { 0x7f00, 0x0002, 0x7f01 };
	static const uint8_t	pwalgs[] = { 0, 1, 0, 0, 0, 2, 0, 0 };
	static const uint8_t	even[] = { 0x80 };
	uint8_t			data[13];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(3478);
	sin.sin_addr.s_addr = htonl(0xc0000201);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(65535);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	memset(data, 0xab, sizeof(data));

	stun_build_init(&b, buf, cap, ALLOC_ERR, tid0);
	stun_build_error(&b, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL);
	stun_build_unknown(&b, unk, 3);
	stun_build_str(&b, STUN_ATTR_REALM, "example.org");
	stun_build_str(&b, STUN_ATTR_NONCE, "0123456789abcdef");
	stun_build_str(&b, STUN_ATTR_SOFTWARE, "turnd");
	stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER,
	    (struct sockaddr *)&sin);
	stun_build_xaddr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS,
	    (struct sockaddr *)&sin);
	stun_build_xaddr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS,
	    (struct sockaddr *)&sin6);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_build_u32(&b, STUN_ATTR_REQUESTED_TRANSPORT, 17U << 24);
	stun_build_u32(&b, STUN_ATTR_CHANNEL_NUMBER, 0x40000000U);
	stun_build_u64(&b, STUN_ATTR_RESERVATION_TOKEN, 0x0102030405060708ULL);
	stun_build_attr(&b, STUN_ATTR_EVEN_PORT, even, sizeof(even));
	stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, pwalgs,
	    sizeof(pwalgs));
	stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, pwalgs, 4);
	stun_build_attr(&b, STUN_ATTR_DATA, data, sizeof(data));
	stun_build_attr(&b, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	stun_build_integrity(&b, key0, sizeof(key0));
	stun_build_integrity_sha256(&b, key0, sizeof(key0));
	stun_build_fingerprint(&b);
	return (stun_build_finish(&b));
}

#endif /* STUN_MSGS_H */
