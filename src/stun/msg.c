/*
 * msg.c -- STUN message header and attribute walk (RFC 8489 5, 6.3, 14,
 * 14.5-14.7), unknown-attribute collection and FINGERPRINT check.
 */

#include <stddef.h>
#include <stdint.h>

#include "stun/bytes.h"
#include "stun/stun.h"

/* A cursor over the attribute area of one message. */
struct stun_attr_iter {
	const uint8_t	*p;		/* next attribute header */
	size_t		 left;		/* bytes left in the attribute area */
	unsigned int	 count;		/* attributes returned so far */
};

/*
 * Return 1 and fill in *a for the next attribute, 0 at the clean end of
 * the area, -1 if the area is malformed (a TLV overrunning it, or more
 * than STUN_ATTR_MAX attributes).  Every value is padded to 4 bytes on
 * the wire (RFC 8489 14); the padded length is checked against the bytes
 * left, in size_t, before the cursor moves.
 */
static int
stun_attr_next(struct stun_attr_iter *it, struct stun_attr *a)
{
	size_t	padded;

	if (it->left == 0)
		return (0);
	if (it->left < STUN_ATTR_HDR_LEN || it->count >= STUN_ATTR_MAX)
		return (-1);

	a->type = get16(it->p);
	a->len = get16(it->p + 2);
	padded = pad4(a->len);
	if (padded > it->left - STUN_ATTR_HDR_LEN)
		return (-1);
	a->val = it->p + STUN_ATTR_HDR_LEN;

	it->count++;
	it->p += STUN_ATTR_HDR_LEN + padded;
	it->left -= STUN_ATTR_HDR_LEN + padded;
	return (1);
}

/*
 * The header checks of RFC 8489 6.3 (top two bits zero, magic cookie,
 * length a multiple of 4), on at least STUN_HDR_LEN bytes.
 */
static int
stun_hdr_ok(const uint8_t *buf)
{
	if ((buf[0] & 0xc0) != 0)
		return (0);
	if (get32(buf + 4) != STUN_MAGIC)
		return (0);
	if ((get16(buf + 2) & 3) != 0)
		return (0);
	return (1);
}

int
stun_msg_maybe(const uint8_t *buf, size_t len)
{
	if (buf == NULL || len < STUN_HDR_LEN)
		return (0);
	return (stun_hdr_ok(buf));
}

/*
 * Parse exactly len bytes at buf into *m (a view into buf).  See stun.h
 * for the contract.  Of the attributes, only those that count are kept
 * in m->attrs: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and
 * FINGERPRINT (RFC 8489 14.5), after MESSAGE-INTEGRITY-SHA256 only
 * FINGERPRINT (14.6); FINGERPRINT must be last (14.7).  Ignored
 * attributes still count towards STUN_ATTR_MAX.
 */
int
stun_msg_parse(struct stun_msg *m, const uint8_t *buf, size_t len)
{
	struct stun_attr_iter	 it;
	struct stun_attr	 a;
	int			 r, seen_mi = 0, seen_mi256 = 0, seen_fp = 0;

	m->raw = buf;
	m->rawlen = 0;
	m->type = m->method = m->cls = 0;
	m->tid = NULL;
	m->nattrs = 0;
	m->mi_idx = m->mi256_idx = m->fp_idx = -1;

	if (buf == NULL || len < STUN_HDR_LEN || !stun_hdr_ok(buf))
		return (STUN_PARSE_NOTSTUN);
	/* Over UDP the datagram is exactly one message (RFC 8489 6.3). */
	if ((size_t)get16(buf + 2) != len - STUN_HDR_LEN)
		return (STUN_PARSE_NOTSTUN);

	m->rawlen = len;
	m->type = get16(buf);
	m->method = STUN_TYPE_METHOD(m->type);
	m->cls = STUN_TYPE_CLASS(m->type);
	m->tid = buf + 8;

	it.p = buf + STUN_HDR_LEN;
	it.left = len - STUN_HDR_LEN;
	it.count = 0;
	while ((r = stun_attr_next(&it, &a)) == 1) {
		if (seen_fp)
			return (STUN_PARSE_MALFORMED);
		switch (a.type) {
		case STUN_ATTR_FINGERPRINT:
			seen_fp = 1;
			m->fp_idx = (int)m->nattrs;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
			if (seen_mi256)
				continue;
			seen_mi256 = 1;
			m->mi256_idx = (int)m->nattrs;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY:
			if (seen_mi || seen_mi256)
				continue;
			seen_mi = 1;
			m->mi_idx = (int)m->nattrs;
			break;
		default:
			if (seen_mi || seen_mi256)
				continue;
			break;
		}
		/* nattrs < it.count <= STUN_ATTR_MAX */
		m->attrs[m->nattrs++] = a;
	}
	if (r == -1)
		return (STUN_PARSE_MALFORMED);
	return (STUN_PARSE_OK);
}

/* First attribute of that type among those that count, or NULL. */
const struct stun_attr *
stun_msg_find(const struct stun_msg *m, uint16_t type)
{
	unsigned int	i;

	for (i = 0; i < m->nattrs; i++)
		if (m->attrs[i].type == type)
			return (&m->attrs[i]);
	return (NULL);
}

/*
 * Comprehension-required types (< 0x8000) that stun_attr_known() does
 * not know, for a 420 response's UNKNOWN-ATTRIBUTES (RFC 8489 7.3.1,
 * 14.9): in message order, each once, at most max of them.
 */
unsigned int
stun_msg_unknown(const struct stun_msg *m, uint16_t *out, unsigned int max)
{
	unsigned int	i, j, n = 0;
	uint16_t	t;

	if (out == NULL)
		return (0);
	for (i = 0; i < m->nattrs && n < max; i++) {
		t = m->attrs[i].type;
		if (!STUN_ATTR_IS_REQUIRED(t) || stun_attr_known(t))
			continue;
		for (j = 0; j < n; j++)
			if (out[j] == t)
				break;
		if (j == n)
			out[n++] = t;
	}
	return (n);
}

/*
 * FINGERPRINT (RFC 8489 14.7): CRC-32 of the message up to the attribute,
 * whose header length already counts it since it is last, XOR
 * 0x5354554e.  1 if absent, 0 if right, -1 if wrong or not 4 bytes.
 */
int
stun_msg_check_fingerprint(const struct stun_msg *m)
{
	const struct stun_attr	*a;
	size_t			 off;
	uint32_t		 crc;

	if (m->fp_idx < 0 || (unsigned int)m->fp_idx >= m->nattrs)
		return (1);
	a = &m->attrs[m->fp_idx];
	if (a->len != 4)
		return (-1);
	off = (size_t)(a->val - m->raw) - STUN_ATTR_HDR_LEN;
	crc = stun_crc32(m->raw, off) ^ STUN_FINGERPRINT_XOR;
	return (crc == get32(a->val) ? 0 : -1);
}
