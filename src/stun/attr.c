/*
 * attr.c -- typed decoders for STUN attribute values (RFC 8489 14,
 * RFC 8656 18, RFC 5780 7).
 *
 * Each decoder reads one attribute's (val, len) view and checks its exact
 * size first; none of them looks outside it.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stun/bytes.h"
#include "stun/stun.h"

#define STUN_ADDR4_LEN		8	/* 4 + IPv4 address */
#define STUN_ADDR6_LEN		20	/* 4 + IPv6 address */

/*
 * Decode a (possibly XOR'ed) address value.  key is NULL for plain
 * MAPPED-ADDRESS, or the 16 bytes cookie + transaction ID to XOR with
 * (RFC 8489 14.2): the port with the cookie's top 16 bits, the address
 * with the cookie (IPv4) or cookie and TID (IPv6).  The first byte is
 * ignored, as RFC 8489 14.1 asks of receivers.
 */
static int
stun_addr_decode(const struct stun_attr *a, const uint8_t *key,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	uint8_t			*dst;
	uint16_t		 port;
	size_t			 alen, i;

	if (a == NULL || ss == NULL || a->len < 4)
		return (-1);
	switch (a->val[1]) {
	case STUN_FAMILY_IPV4:
		alen = 4;
		break;
	case STUN_FAMILY_IPV6:
		alen = 16;
		break;
	default:
		return (-1);
	}
	if (a->len != 4 + alen)
		return (-1);

	port = get16(a->val + 2);
	if (key != NULL)
		port ^= get16(key);
	memset(ss, 0, sizeof(*ss));
	if (alen == 4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		dst = (uint8_t *)&sin->sin_addr;
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		dst = sin6->sin6_addr.s6_addr;
	}
	for (i = 0; i < alen; i++)
		dst[i] = a->val[4 + i] ^ (key != NULL ? key[i] : 0);
	return (0);
}

/* MAPPED-ADDRESS, ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS. */
int
stun_attr_get_addr(const struct stun_attr *a, struct sockaddr_storage *ss)
{
	return (stun_addr_decode(a, NULL, ss));
}

/* XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS (14.2). */
int
stun_attr_get_xaddr(const struct stun_attr *a,
    const uint8_t tid[STUN_TID_LEN], struct sockaddr_storage *ss)
{
	uint8_t	key[4 + STUN_TID_LEN] = { 0x21, 0x12, 0xa4, 0x42 };

	if (tid == NULL)
		return (-1);
	memcpy(key + 4, tid, STUN_TID_LEN);
	return (stun_addr_decode(a, key, ss));
}

/* A 32-bit value: LIFETIME, PRIORITY, CONNECTION-ID, ... (exactly 4). */
int
stun_attr_get_u32(const struct stun_attr *a, uint32_t *v)
{
	if (a == NULL || a->len != 4)
		return (-1);
	*v = get32(a->val);
	return (0);
}

/* A 64-bit value: RESERVATION-TOKEN, ICE-CONTROLL{ED,ING} (exactly 8). */
int
stun_attr_get_u64(const struct stun_attr *a, uint64_t *v)
{
	if (a == NULL || a->len != 8)
		return (-1);
	*v = (uint64_t)get32(a->val) << 32 | get32(a->val + 4);
	return (0);
}

/*
 * The first byte of REQUESTED-TRANSPORT (RFC 8656 18.7),
 * REQUESTED-ADDRESS-FAMILY (18.10), ADDITIONAL-ADDRESS-FAMILY (18.11):
 * 4-byte values whose other bytes are RFFU; EVEN-PORT is a 1-byte value
 * (18.8).
 */
int
stun_attr_get_u8(const struct stun_attr *a, uint8_t *v)
{
	if (a == NULL)
		return (-1);
	if (a->len != (a->type == STUN_ATTR_EVEN_PORT ? 1 : 4))
		return (-1);
	*v = a->val[0];
	return (0);
}

/* CHANNEL-NUMBER (RFC 8656 18.1): the number, then 16 bits RFFU. */
int
stun_attr_get_channel(const struct stun_attr *a, uint16_t *chan)
{
	if (a == NULL || a->len != 4)
		return (-1);
	*chan = get16(a->val);
	return (0);
}

/*
 * ERROR-CODE (RFC 8489 14.8): 21 reserved bits, class (3..6) in 3 bits,
 * number (0..99) in 8 bits, then a UTF-8 reason of at most
 * STUN_REASON_MAX bytes.  reason and reasonlen may be NULL.
 */
int
stun_attr_get_error(const struct stun_attr *a, int *code,
    const char **reason, size_t *reasonlen)
{
	int	cls, num;

	if (a == NULL || a->len < 4 ||
	    (size_t)a->len - 4 > STUN_REASON_MAX)
		return (-1);
	cls = a->val[2] & 0x07;
	num = a->val[3];
	if (cls < 3 || cls > 6 || num > 99)
		return (-1);
	if (code != NULL)
		*code = cls * 100 + num;
	if (reason != NULL)
		*reason = (const char *)a->val + 4;
	if (reasonlen != NULL)
		*reasonlen = (size_t)a->len - 4;
	return (0);
}

/*
 * UNKNOWN-ATTRIBUTES (RFC 8489 14.9): a list of 16-bit types.  Writes up
 * to max of them to out and returns how many it wrote; -1 if the length
 * is odd.
 */
int
stun_attr_get_unknown(const struct stun_attr *a, uint16_t *out,
    unsigned int max)
{
	unsigned int	i, n;

	if (a == NULL || (a->len & 1) != 0)
		return (-1);
	n = a->len / 2;
	if (n > max)
		n = max;
	if (n > 0 && out == NULL)
		return (-1);
	for (i = 0; i < n; i++)
		out[i] = get16(a->val + 2 * i);
	return ((int)n);
}

/*
 * One (algorithm, parameters length, parameters) entry at p with left
 * bytes (RFC 8489 14.11, 14.12).  Returns the bytes it takes, padding
 * included, or 0 if it overruns.  The last entry of a value may omit
 * the padding of its parameters.
 */
static size_t
stun_pwalg_entry(const uint8_t *p, size_t left, uint16_t *alg)
{
	size_t	plen, padded;

	if (left < 4)
		return (0);
	*alg = get16(p);
	plen = get16(p + 2);
	padded = (plen + 3) & ~(size_t)3;
	if (plen > left - 4)
		return (0);
	return (4 + (padded < left - 4 ? padded : left - 4));
}

/*
 * PASSWORD-ALGORITHMS (RFC 8489 14.11): walk the whole list; write the
 * first max algorithms to out and return how many were written, or -1 if
 * any entry overruns the value.
 */
int
stun_attr_get_pwalgs(const struct stun_attr *a, uint16_t *out,
    unsigned int max)
{
	const uint8_t	*p;
	size_t		 left, used;
	uint16_t	 alg;
	unsigned int	 n = 0;

	if (a == NULL)
		return (-1);
	p = a->val;
	left = a->len;
	while (left > 0) {
		if ((used = stun_pwalg_entry(p, left, &alg)) == 0)
			return (-1);
		if (n < max) {
			if (out == NULL)
				return (-1);
			out[n++] = alg;
		}
		p += used;
		left -= used;
	}
	return ((int)n);
}

/*
 * PASSWORD-ALGORITHM (RFC 8489 14.12): one entry filling the value; MD5
 * and SHA-256 take no parameters (18.5).
 */
int
stun_attr_get_pwalg(const struct stun_attr *a, uint16_t *alg)
{
	uint16_t	v;

	if (a == NULL || a->len < 4 ||
	    stun_pwalg_entry(a->val, a->len, &v) != a->len)
		return (-1);
	if ((v == STUN_PWALG_MD5 || v == STUN_PWALG_SHA256) && a->len != 4)
		return (-1);
	*alg = v;
	return (0);
}

/*
 * Copy a UTF-8 string value (USERNAME, REALM, NONCE, SOFTWARE, ...) into
 * out as a C string: -1 unless len <= max and len < outsz, and -1 if the
 * value holds a NUL, which would truncate it silently.  UTF-8 validity is
 * not checked here.
 */
int
stun_attr_get_str(const struct stun_attr *a, size_t max, char *out,
    size_t outsz)
{
	if (a == NULL || out == NULL || a->len > max || a->len >= outsz)
		return (-1);
	if (a->len > 0 && memchr(a->val, '\0', a->len) != NULL)
		return (-1);
	if (a->len > 0)
		memcpy(out, a->val, a->len);
	out[a->len] = '\0';
	return (0);
}
