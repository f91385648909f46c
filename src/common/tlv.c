/*
 * tlv.c -- type-length-value records (tlv.h).
 */

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "common/tlv.h"
#include "common/xmalloc.h"

void
tlv_init(struct tlvbuf *tb)
{
	memset(tb, 0, sizeof(*tb));
}

void
tlv_free(struct tlvbuf *tb)
{
	free(tb->tb_buf);
	tlv_init(tb);
}

void
tlv_reset(struct tlvbuf *tb)
{
	tb->tb_len = 0;
}

static uint8_t *
tlv_room(struct tlvbuf *tb, size_t n)
{
	size_t	cap;

	if (tb->tb_cap - tb->tb_len < n) {
		cap = tb->tb_cap > 0 ? tb->tb_cap : 256;
		while (cap - tb->tb_len < n)
			cap *= 2;
		tb->tb_buf = xreallocarray(tb->tb_buf, cap, 1);
		tb->tb_cap = cap;
	}
	tb->tb_len += n;
	return (tb->tb_buf + tb->tb_len - n);
}

static void
tlv_head(uint8_t *p, uint16_t type, uint32_t len)
{
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = (uint8_t)(len >> 24);
	p[3] = (uint8_t)(len >> 16);
	p[4] = (uint8_t)(len >> 8);
	p[5] = (uint8_t)len;
}

void
tlv_put(struct tlvbuf *tb, uint16_t type, const void *val, size_t len)
{
	uint8_t	*p = tlv_room(tb, TLV_HEAD + len);

	tlv_head(p, type, (uint32_t)len);
	if (len > 0)
		memcpy(p + TLV_HEAD, val, len);
}

static void
tlv_put_be(struct tlvbuf *tb, uint16_t type, uint64_t v, size_t n)
{
	uint8_t	b[8];
	size_t	i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	tlv_put(tb, type, b, n);
}

void
tlv_put_u8(struct tlvbuf *tb, uint16_t type, uint8_t v)
{
	tlv_put_be(tb, type, v, 1);
}

void
tlv_put_u16(struct tlvbuf *tb, uint16_t type, uint16_t v)
{
	tlv_put_be(tb, type, v, 2);
}

void
tlv_put_u32(struct tlvbuf *tb, uint16_t type, uint32_t v)
{
	tlv_put_be(tb, type, v, 4);
}

void
tlv_put_u64(struct tlvbuf *tb, uint16_t type, uint64_t v)
{
	tlv_put_be(tb, type, v, 8);
}

void
tlv_put_str(struct tlvbuf *tb, uint16_t type, const char *s)
{
	tlv_put(tb, type, s, strlen(s));
}

void
tlv_put_addr(struct tlvbuf *tb, uint16_t type, const struct sockaddr *sa)
{
	uint8_t	b[19];
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET6) {
		b[0] = 6;
		memcpy(b + 1, &sin6->sin6_port, 2);
		memcpy(b + 3, &sin6->sin6_addr, 16);
		tlv_put(tb, type, b, 19);
	} else {
		b[0] = 4;
		memcpy(b + 1, &sin->sin_port, 2);
		memcpy(b + 3, &sin->sin_addr, 4);
		tlv_put(tb, type, b, 7);
	}
}

size_t
tlv_open(struct tlvbuf *tb, uint16_t type)
{
	uint8_t	*p = tlv_room(tb, TLV_HEAD);

	tlv_head(p, type, 0);
	return (tb->tb_len - TLV_HEAD);
}

void
tlv_close(struct tlvbuf *tb, size_t opened)
{
	uint8_t	*p = tb->tb_buf + opened;

	tlv_head(p, (uint16_t)(p[0] << 8 | p[1]),
	    (uint32_t)(tb->tb_len - opened - TLV_HEAD));
}

void
tlv_iter_init(struct tlv_iter *it, const void *p, size_t len)
{
	it->ti_p = p;
	it->ti_left = len;
}

int
tlv_next(struct tlv_iter *it, struct tlv *t)
{
	const uint8_t	*p = it->ti_p;
	size_t		 len;

	if (it->ti_left == 0)
		return (0);
	if (it->ti_left < TLV_HEAD)
		return (-1);
	len = (size_t)p[2] << 24 | (size_t)p[3] << 16 | (size_t)p[4] << 8 |
	    p[5];
	if (len > it->ti_left - TLV_HEAD)
		return (-1);
	t->t_type = (uint16_t)(p[0] << 8 | p[1]);
	t->t_val = p + TLV_HEAD;
	t->t_len = len;
	it->ti_p += TLV_HEAD + len;
	it->ti_left -= TLV_HEAD + len;
	return (1);
}

static int
tlv_be(const struct tlv *t, size_t n, uint64_t *v)
{
	size_t	i;

	if (t->t_len != n)
		return (-1);
	*v = 0;
	for (i = 0; i < n; i++)
		*v = *v << 8 | t->t_val[i];
	return (0);
}

int
tlv_u8(const struct tlv *t, uint8_t *v)
{
	uint64_t	x;

	if (tlv_be(t, 1, &x) == -1)
		return (-1);
	*v = (uint8_t)x;
	return (0);
}

int
tlv_u16(const struct tlv *t, uint16_t *v)
{
	uint64_t	x;

	if (tlv_be(t, 2, &x) == -1)
		return (-1);
	*v = (uint16_t)x;
	return (0);
}

int
tlv_u32(const struct tlv *t, uint32_t *v)
{
	uint64_t	x;

	if (tlv_be(t, 4, &x) == -1)
		return (-1);
	*v = (uint32_t)x;
	return (0);
}

int
tlv_u64(const struct tlv *t, uint64_t *v)
{
	return (tlv_be(t, 8, v));
}

char *
tlv_str(const struct tlv *t)
{
	char	*s;

	if (memchr(t->t_val, '\0', t->t_len) != NULL)
		return (NULL);
	s = xmalloc(t->t_len + 1);
	memcpy(s, t->t_val, t->t_len);
	s[t->t_len] = '\0';
	return (s);
}

int
tlv_addr(const struct tlv *t, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (t->t_len == 7 && t->t_val[0] == 4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_port, t->t_val + 1, 2);
		memcpy(&sin->sin_addr, t->t_val + 3, 4);
		return (0);
	}
	if (t->t_len == 19 && t->t_val[0] == 6) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_port, t->t_val + 1, 2);
		memcpy(&sin6->sin6_addr, t->t_val + 3, 16);
		return (0);
	}
	return (-1);
}
