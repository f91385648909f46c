/*
 * build.c -- the STUN message builder (RFC 8489 5, 14; MESSAGE-INTEGRITY
 * 14.5, MESSAGE-INTEGRITY-SHA256 14.6, FINGERPRINT 14.7).
 *
 * Writes into the caller's buffer.  Any overflow or bad argument makes the
 * builder sticky-failed: later calls do nothing and stun_build_finish()
 * returns 0, so a caller checks once, at the end.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stun/bytes.h"
#include "stun/stun.h"

#define STUN_MI_LEN		20
#define STUN_MI256_LEN		32
#define STUN_BODY_MAX		0xfffc	/* largest multiple of 4 in 16 bits */

/*
 * Start a message of the given type and transaction ID in buf (cap
 * bytes).  Fails (sticky) if buf cannot hold a header, if the type has
 * either of its top two bits set (RFC 8489 6), or if tid is NULL.
 */
void
stun_build_init(struct stun_build *b, uint8_t *buf, size_t cap,
    uint16_t type, const uint8_t tid[STUN_TID_LEN])
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->err = 0;
	b->pad = 0;
	if (buf == NULL || cap < STUN_HDR_LEN || tid == NULL ||
	    (type & 0xc000) != 0) {
		b->err = 1;
		return;
	}
	put16(buf, type);
	put16(buf + 2, 0);
	put32(buf + 4, STUN_MAGIC);
	memcpy(buf + 8, tid, STUN_TID_LEN);
	b->len = STUN_HDR_LEN;
}

/*
 * Append an attribute header for a value of len bytes plus its padding,
 * and bring the header length up to date.  Returns the value's first
 * byte for the caller to fill, or NULL (and the builder fails) if the
 * value does not fit the buffer or the 16-bit message length.
 */
static uint8_t *
stun_build_reserve(struct stun_build *b, uint16_t type, size_t len)
{
	uint8_t	*p;
	size_t	 padded, need;

	if (b->err)
		return (NULL);
	if (len > 0xffff)
		goto fail;
	padded = (len + 3) & ~(size_t)3;
	need = STUN_ATTR_HDR_LEN + padded;
	if (b->len < STUN_HDR_LEN || b->len > b->cap ||
	    need > b->cap - b->len ||
	    need > STUN_BODY_MAX - (b->len - STUN_HDR_LEN))
		goto fail;

	p = b->buf + b->len;
	put16(p, type);
	put16(p + 2, (uint16_t)len);
	memset(p + STUN_ATTR_HDR_LEN + len, b->pad, padded - len);
	b->len += need;
	put16(b->buf + 2, (uint16_t)(b->len - STUN_HDR_LEN));
	return (p + STUN_ATTR_HDR_LEN);
fail:
	b->err = 1;
	return (NULL);
}

/* Append a raw attribute; a NULL val with len > 0 writes zeros. */
void
stun_build_attr(struct stun_build *b, uint16_t type, const void *val,
    size_t len)
{
	uint8_t	*p;

	if ((p = stun_build_reserve(b, type, len)) == NULL || len == 0)
		return;
	if (val != NULL)
		memcpy(p, val, len);
	else
		memset(p, 0, len);
}

void
stun_build_u32(struct stun_build *b, uint16_t type, uint32_t v)
{
	uint8_t	*p;

	if ((p = stun_build_reserve(b, type, 4)) != NULL)
		put32(p, v);
}

void
stun_build_u64(struct stun_build *b, uint16_t type, uint64_t v)
{
	uint8_t	*p;

	if ((p = stun_build_reserve(b, type, 8)) != NULL) {
		put32(p, (uint32_t)(v >> 32));
		put32(p + 4, (uint32_t)v);
	}
}

/* A string attribute without its NUL; NULL fails the builder. */
void
stun_build_str(struct stun_build *b, uint16_t type, const char *s)
{
	if (s == NULL) {
		b->err = 1;
		return;
	}
	stun_build_attr(b, type, s, strlen(s));
}

/*
 * An address attribute (RFC 8489 14.1); with xor set, XOR'ed with the
 * magic cookie and this message's transaction ID (14.2).  Only AF_INET
 * and AF_INET6 are accepted.
 */
static void
stun_build_sa(struct stun_build *b, uint16_t type, const struct sockaddr *sa,
    int xor)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*src;
	uint8_t				 key[4 + STUN_TID_LEN], *p;
	uint16_t			 port;
	size_t				 alen, i;
	uint8_t				 fam;

	if (b->err)
		return;
	if (sa == NULL)
		goto fail;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		fam = STUN_FAMILY_IPV4;
		alen = 4;
		port = ntohs(sin->sin_port);
		src = (const uint8_t *)&sin->sin_addr;
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		fam = STUN_FAMILY_IPV6;
		alen = 16;
		port = ntohs(sin6->sin6_port);
		src = sin6->sin6_addr.s6_addr;
		break;
	default:
		goto fail;
	}

	/* The header, and so the TID, is in place since init succeeded. */
	memset(key, 0, sizeof(key));
	if (xor) {
		put32(key, STUN_MAGIC);
		memcpy(key + 4, b->buf + 8, STUN_TID_LEN);
	}
	if ((p = stun_build_reserve(b, type, 4 + alen)) == NULL)
		return;
	p[0] = 0;
	p[1] = fam;
	put16(p + 2, (uint16_t)(port ^ (key[0] << 8 | key[1])));
	for (i = 0; i < alen; i++)
		p[4 + i] = src[i] ^ key[i];
	return;
fail:
	b->err = 1;
}

/* MAPPED-ADDRESS and friends (RFC 8489 14.1). */
void
stun_build_addr(struct stun_build *b, uint16_t type,
    const struct sockaddr *sa)
{
	stun_build_sa(b, type, sa, 0);
}

/* XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS (14.2). */
void
stun_build_xaddr(struct stun_build *b, uint16_t type,
    const struct sockaddr *sa)
{
	stun_build_sa(b, type, sa, 1);
}

/*
 * ERROR-CODE (RFC 8489 14.8): code 300..699 split into class and number,
 * then the reason (stun_err_reason(code) if NULL), at most
 * STUN_REASON_MAX bytes.
 */
void
stun_build_error(struct stun_build *b, int code, const char *reason)
{
	uint8_t	*p;
	size_t	 rlen;

	if (b->err)
		return;
	if (code < 300 || code > 699) {
		b->err = 1;
		return;
	}
	if (reason == NULL)
		reason = stun_err_reason(code);
	if ((rlen = strlen(reason)) > STUN_REASON_MAX) {
		b->err = 1;
		return;
	}
	if ((p = stun_build_reserve(b, STUN_ATTR_ERROR_CODE, 4 + rlen)) == NULL)
		return;
	p[0] = 0;
	p[1] = 0;
	p[2] = (uint8_t)(code / 100);
	p[3] = (uint8_t)(code % 100);
	memcpy(p + 4, reason, rlen);
}

/*
 * UNKNOWN-ATTRIBUTES (RFC 8489 14.9): n types, at most STUN_UNKNOWN_MAX,
 * padded like any value (the RFC 3489 repeat-the-last padding is gone).
 */
void
stun_build_unknown(struct stun_build *b, const uint16_t *types,
    unsigned int n)
{
	uint8_t		*p;
	unsigned int	 i;

	if (b->err)
		return;
	if (n > STUN_UNKNOWN_MAX || (n > 0 && types == NULL)) {
		b->err = 1;
		return;
	}
	if ((p = stun_build_reserve(b, STUN_ATTR_UNKNOWN_ATTRIBUTES,
	    (size_t)n * 2)) == NULL)
		return;
	for (i = 0; i < n; i++)
		put16(p + 2 * i, types[i]);
}

/*
 * Append an HMAC attribute of maclen bytes: the header length already
 * counts it when the HMAC is taken over everything before it (RFC 8489
 * 14.5, 14.6).
 */
static void
stun_build_hmac(struct stun_build *b, uint16_t type, const char *md,
    const uint8_t *key, size_t keylen, size_t maclen)
{
	struct iovec	 iov;
	uint8_t		*p;

	if ((p = stun_build_reserve(b, type, maclen)) == NULL)
		return;
	iov.iov_base = b->buf;
	iov.iov_len = (size_t)(p - STUN_ATTR_HDR_LEN - b->buf);
	if (stun_hmac(md, key, keylen, &iov, 1, p, maclen) == -1)
		b->err = 1;
}

/* MESSAGE-INTEGRITY: HMAC-SHA1, 20 bytes (RFC 8489 14.5). */
void
stun_build_integrity(struct stun_build *b, const uint8_t *key, size_t keylen)
{
	stun_build_hmac(b, STUN_ATTR_MESSAGE_INTEGRITY, "SHA1", key, keylen,
	    STUN_MI_LEN);
}

/* MESSAGE-INTEGRITY-SHA256: HMAC-SHA256, untruncated (RFC 8489 14.6). */
void
stun_build_integrity_sha256(struct stun_build *b, const uint8_t *key,
    size_t keylen)
{
	stun_build_hmac(b, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "SHA256", key,
	    keylen, STUN_MI256_LEN);
}

/* FINGERPRINT: CRC-32 up to it, XOR 0x5354554e (RFC 8489 14.7). */
void
stun_build_fingerprint(struct stun_build *b)
{
	uint8_t	*p;

	if ((p = stun_build_reserve(b, STUN_ATTR_FINGERPRINT, 4)) == NULL)
		return;
	put32(p, stun_crc32(b->buf, (size_t)(p - STUN_ATTR_HDR_LEN - b->buf)) ^
	    STUN_FINGERPRINT_XOR);
}

/*
 * Finish a message whose last attribute (type, len bytes of value) the
 * caller sends from a buffer of its own, followed by its padding
 * (stun_pad(len) zero bytes): the attribute header is appended and the
 * message length counts the value and its padding.  Returns the length of
 * what was built (the head to send before the value), or 0.
 */
size_t
stun_build_finish_tail(struct stun_build *b, uint16_t type, size_t len)
{
	size_t	padded = (len + 3) & ~(size_t)3;
	uint8_t	*p;

	if (b->err || len > 0xffff || STUN_ATTR_HDR_LEN > b->cap - b->len ||
	    STUN_ATTR_HDR_LEN + padded > STUN_BODY_MAX -
	    (b->len - STUN_HDR_LEN))
		return (0);
	p = b->buf + b->len;
	put16(p, type);
	put16(p + 2, (uint16_t)len);
	put16(b->buf + 2, (uint16_t)(b->len - STUN_HDR_LEN +
	    STUN_ATTR_HDR_LEN + padded));
	return (b->len + STUN_ATTR_HDR_LEN);
}

/* The finished message's length, or 0 if any step failed. */
size_t
stun_build_finish(struct stun_build *b)
{
	return (b->err ? 0 : b->len);
}
