/*
 * tlv.h -- type-length-value records in a growable byte buffer: the
 * handover's state format (doc/ARCHITECTURE section 8).  A record is a
 * 16-bit type, a 32-bit length and the value, all in network order;
 * values may hold records themselves.  As with STUN attributes (RFC
 * 8489 section 14), types below 0x8000 must be understood by a reader,
 * the others may be skipped.
 */

#ifndef TLV_H
#define TLV_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define TLV_HEAD	6
#define TLV_OPTIONAL(t)	(((t) & 0x8000) != 0)

struct tlvbuf {
	uint8_t		*tb_buf;
	size_t		 tb_len;
	size_t		 tb_cap;
};

void	tlv_init(struct tlvbuf *);
void	tlv_free(struct tlvbuf *);
void	tlv_reset(struct tlvbuf *);
void	tlv_put(struct tlvbuf *, uint16_t type, const void *, size_t len);
void	tlv_put_u8(struct tlvbuf *, uint16_t type, uint8_t);
void	tlv_put_u16(struct tlvbuf *, uint16_t type, uint16_t);
void	tlv_put_u32(struct tlvbuf *, uint16_t type, uint32_t);
void	tlv_put_u64(struct tlvbuf *, uint16_t type, uint64_t);
void	tlv_put_str(struct tlvbuf *, uint16_t type, const char *);
/* An address: family (4 or 6), port, then 4 or 16 bytes. */
void	tlv_put_addr(struct tlvbuf *, uint16_t type, const struct sockaddr *);
/* Start a record whose value is the records put until tlv_close(). */
size_t	tlv_open(struct tlvbuf *, uint16_t type);
void	tlv_close(struct tlvbuf *, size_t opened);

/* Walking records: tlv_next() gives 1 and the next one, 0 at the end,
 * -1 when the rest is not whole records. */
struct tlv_iter {
	const uint8_t	*ti_p;
	size_t		 ti_left;
};

struct tlv {
	uint16_t	 t_type;
	const uint8_t	*t_val;
	size_t		 t_len;
};

void	tlv_iter_init(struct tlv_iter *, const void *, size_t);
int	tlv_next(struct tlv_iter *, struct tlv *);
/* A value of exactly the size asked for: 0, or -1. */
int	tlv_u8(const struct tlv *, uint8_t *);
int	tlv_u16(const struct tlv *, uint16_t *);
int	tlv_u32(const struct tlv *, uint32_t *);
int	tlv_u64(const struct tlv *, uint64_t *);
/* A string without NUL bytes, copied (the caller frees it); or NULL. */
char	*tlv_str(const struct tlv *);
/* The address of tlv_put_addr() into ss (zeroed first): 0, or -1. */
int	tlv_addr(const struct tlv *, struct sockaddr_storage *);

#endif /* TLV_H */
