/*
 * stun.h -- the STUN codec: message header, attributes, integrity,
 * fingerprint and ChannelData/stream framing (RFC 8489, 8656, 6062,
 * 5780, 8016, 7635).
 *
 * Pure functions over caller buffers: no I/O, no logging, no allocation.
 * A parsed struct stun_msg and its struct stun_attr entries are views
 * into the caller's buffer and are valid only while that buffer is.
 * Functions return 0 on success and -1 on failure unless said otherwise.
 */

#ifndef STUN_H
#define STUN_H

#include <sys/socket.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#define STUN_HDR_LEN		20
#define STUN_MAGIC		0x2112A442U
#define STUN_TID_LEN		12
#define STUN_ATTR_HDR_LEN	4
#define STUN_ATTR_MAX		64	/* per message; more is hostile */
#define STUN_MSG_MAX		(STUN_HDR_LEN + 65535)
#define STUN_FINGERPRINT_XOR	0x5354554EU
#define STUN_UNKNOWN_MAX	16	/* listed in one UNKNOWN-ATTRIBUTES */

/* Limits on string attribute values (RFC 8489 section 14). */
#define STUN_USERNAME_MAX	512	/* bytes, "less than 513" */
#define STUN_REALM_MAX		763
#define STUN_NONCE_MAX		763
#define STUN_SOFTWARE_MAX	763
#define STUN_REASON_MAX		763

/* Classes (RFC 8489 section 5). */
#define STUN_CLASS_REQUEST	0x0000
#define STUN_CLASS_INDICATION	0x0010
#define STUN_CLASS_SUCCESS	0x0100
#define STUN_CLASS_ERROR	0x0110
#define STUN_CLASS_MASK		0x0110

/* Methods. */
#define STUN_METHOD_BINDING		0x001	/* RFC 8489 */
#define STUN_METHOD_ALLOCATE		0x003	/* RFC 8656 */
#define STUN_METHOD_REFRESH		0x004
#define STUN_METHOD_SEND		0x006
#define STUN_METHOD_DATA		0x007
#define STUN_METHOD_CREATE_PERMISSION	0x008
#define STUN_METHOD_CHANNEL_BIND	0x009
#define STUN_METHOD_CONNECT		0x00a	/* RFC 6062 */
#define STUN_METHOD_CONNECTION_BIND	0x00b
#define STUN_METHOD_CONNECTION_ATTEMPT	0x00c

/* Attributes, comprehension-required (< 0x8000). */
#define STUN_ATTR_MAPPED_ADDRESS		0x0001	/* RFC 8489 */
#define STUN_ATTR_CHANGE_REQUEST		0x0003	/* RFC 5780 */
#define STUN_ATTR_USERNAME			0x0006	/* RFC 8489 */
#define STUN_ATTR_MESSAGE_INTEGRITY		0x0008
#define STUN_ATTR_ERROR_CODE			0x0009
#define STUN_ATTR_UNKNOWN_ATTRIBUTES		0x000A
#define STUN_ATTR_CHANNEL_NUMBER		0x000C	/* RFC 8656 */
#define STUN_ATTR_LIFETIME			0x000D
#define STUN_ATTR_BANDWIDTH			0x0010	/* RFC 5766 draft, reserved */
#define STUN_ATTR_XOR_PEER_ADDRESS		0x0012
#define STUN_ATTR_DATA				0x0013
#define STUN_ATTR_REALM				0x0014	/* RFC 8489 */
#define STUN_ATTR_NONCE				0x0015
#define STUN_ATTR_XOR_RELAYED_ADDRESS		0x0016	/* RFC 8656 */
#define STUN_ATTR_REQUESTED_ADDRESS_FAMILY	0x0017
#define STUN_ATTR_EVEN_PORT			0x0018
#define STUN_ATTR_REQUESTED_TRANSPORT		0x0019
#define STUN_ATTR_DONT_FRAGMENT			0x001A
#define STUN_ATTR_ACCESS_TOKEN			0x001B	/* RFC 7635 */
#define STUN_ATTR_MESSAGE_INTEGRITY_SHA256	0x001C	/* RFC 8489 */
#define STUN_ATTR_PASSWORD_ALGORITHM		0x001D
#define STUN_ATTR_USERHASH			0x001E
#define STUN_ATTR_XOR_MAPPED_ADDRESS		0x0020
#define STUN_ATTR_RESERVATION_TOKEN		0x0022	/* RFC 8656 */
#define STUN_ATTR_PRIORITY			0x0024	/* RFC 8445 */
#define STUN_ATTR_USE_CANDIDATE			0x0025
#define STUN_ATTR_PADDING			0x0026	/* RFC 5780 */
#define STUN_ATTR_RESPONSE_PORT			0x0027
#define STUN_ATTR_CONNECTION_ID			0x002A	/* RFC 6062 */
/* Comprehension-optional (>= 0x8000). */
#define STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY	0x8000	/* RFC 8656 */
#define STUN_ATTR_ADDRESS_ERROR_CODE		0x8001
#define STUN_ATTR_PASSWORD_ALGORITHMS		0x8002	/* RFC 8489 */
#define STUN_ATTR_ALTERNATE_DOMAIN		0x8003
#define STUN_ATTR_ICMP				0x8004	/* RFC 8656 */
#define STUN_ATTR_SOFTWARE			0x8022	/* RFC 8489 */
#define STUN_ATTR_ALTERNATE_SERVER		0x8023
#define STUN_ATTR_FINGERPRINT			0x8028
#define STUN_ATTR_ICE_CONTROLLED		0x8029	/* RFC 8445 */
#define STUN_ATTR_ICE_CONTROLLING		0x802A
#define STUN_ATTR_RESPONSE_ORIGIN		0x802B	/* RFC 5780 */
#define STUN_ATTR_OTHER_ADDRESS			0x802C
#define STUN_ATTR_THIRD_PARTY_AUTHORIZATION	0x802E	/* RFC 7635 */
#define STUN_ATTR_ORIGIN			0x802F	/* draft stun-origin */
#define STUN_ATTR_MOBILITY_TICKET		0x8030	/* RFC 8016 */

#define STUN_ATTR_IS_REQUIRED(t)	((t) < 0x8000)

/* Error codes (RFC 8489 section 14.8, RFC 8656 section 19, RFC 6062). */
#define STUN_ERR_TRY_ALTERNATE		300
#define STUN_ERR_BAD_REQUEST		400
#define STUN_ERR_UNAUTHENTICATED	401
#define STUN_ERR_FORBIDDEN		403
#define STUN_ERR_MOBILITY_FORBIDDEN	405
#define STUN_ERR_UNKNOWN_ATTRIBUTE	420
#define STUN_ERR_ALLOCATION_MISMATCH	437
#define STUN_ERR_STALE_NONCE		438
#define STUN_ERR_ADDRESS_FAMILY		440
#define STUN_ERR_WRONG_CREDENTIALS	441
#define STUN_ERR_UNSUPPORTED_TRANSPORT	442
#define STUN_ERR_PEER_ADDRESS_FAMILY	443
#define STUN_ERR_CONNECTION_EXISTS	446
#define STUN_ERR_CONNECTION_FAILURE	447
#define STUN_ERR_ALLOCATION_QUOTA	486
#define STUN_ERR_SERVER_ERROR		500
#define STUN_ERR_INSUFFICIENT_CAPACITY	508

/* Address families in address attributes. */
#define STUN_FAMILY_IPV4	0x01
#define STUN_FAMILY_IPV6	0x02

/* CHANGE-REQUEST flags (RFC 5780 section 7.2). */
#define STUN_CHANGE_IP		0x04
#define STUN_CHANGE_PORT	0x02

/* PASSWORD-ALGORITHM values (RFC 8489 section 18.5). */
#define STUN_PWALG_MD5		0x0001
#define STUN_PWALG_SHA256	0x0002

/* REQUESTED-TRANSPORT protocol numbers. */
#define STUN_TRANSPORT_UDP	17
#define STUN_TRANSPORT_TCP	6	/* RFC 6062 */

/* ChannelData (RFC 8656 section 12). */
#define STUN_CHAN_HDR_LEN	4
#define STUN_CHAN_MIN		0x4000	/* valid for ChannelBind */
#define STUN_CHAN_MAX		0x4FFF
#define STUN_CHAN_RFC5766_MAX	0x7FFE	/* RFC 5766's wider range */
#define STUN_CHAN_FRAME_MAX	0x7FFF	/* 0b01 prefix: framed as ChannelData */

#define STUN_TYPE(method, cls)						\
	((uint16_t)((((method) & 0x0F80) << 2) | (((method) & 0x0070) << 1) | \
	    ((method) & 0x000F) | (cls)))
#define STUN_TYPE_METHOD(t)						\
	((uint16_t)((((t) & 0x3E00) >> 2) | (((t) & 0x00E0) >> 1) | ((t) & 0x000F)))
#define STUN_TYPE_CLASS(t)	((uint16_t)((t) & STUN_CLASS_MASK))

/* One attribute: a view into the message. */
struct stun_attr {
	uint16_t	 type;
	uint16_t	 len;		/* value length, padding excluded */
	const uint8_t	*val;		/* borrowed: points into the message */
};

/* A parsed message: a view into the caller's buffer. */
struct stun_msg {
	const uint8_t	*raw;		/* the whole message */
	size_t		 rawlen;	/* STUN_HDR_LEN + attribute length */
	uint16_t	 type;
	uint16_t	 method;
	uint16_t	 cls;
	const uint8_t	*tid;		/* STUN_TID_LEN bytes */
	unsigned int	 nattrs;	/* attributes that count (see parse) */
	struct stun_attr attrs[STUN_ATTR_MAX];
	int		 mi_idx;	/* index in attrs of MESSAGE-INTEGRITY, -1 */
	int		 mi256_idx;	/* ... MESSAGE-INTEGRITY-SHA256, -1 */
	int		 fp_idx;	/* ... FINGERPRINT, -1 */
};

/* Results of stun_msg_parse(). */
#define STUN_PARSE_OK		0
#define STUN_PARSE_NOTSTUN	(-1)	/* bad header: drop silently */
#define STUN_PARSE_MALFORMED	(-2)	/* header fine, attributes not */

/*
 * Parse the message of exactly len bytes at buf.  The header must have
 * the top two bits zero, the magic cookie, a length that is a multiple
 * of 4 and equal to len - 20; otherwise STUN_PARSE_NOTSTUN and *m is
 * unusable.  Then the attribute area is walked with bounded reads: a
 * TLV overrunning the area, more than STUN_ATTR_MAX attributes, or any
 * attribute after FINGERPRINT gives STUN_PARSE_MALFORMED (m->type, cls,
 * method and tid are valid, so a request can still get a 400).
 * Attributes following MESSAGE-INTEGRITY are dropped from attrs except
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT; those following
 * MESSAGE-INTEGRITY-SHA256 except FINGERPRINT (RFC 8489 14.5, 14.6);
 * dropped attributes still count towards STUN_ATTR_MAX.
 */
int	stun_msg_parse(struct stun_msg *, const uint8_t *buf, size_t len);

/* Cheap pre-check on a datagram's first bytes: 1 if it may be STUN
 * (at least 20 bytes, top bits, cookie, length a multiple of 4; the
 * length is not matched against len, so a prefix will do). */
int	stun_msg_maybe(const uint8_t *buf, size_t len);

/* First attribute of that type, or NULL. */
const struct stun_attr *stun_msg_find(const struct stun_msg *, uint16_t type);

/*
 * Collect the comprehension-required attribute types this codec does not
 * know into out (at most max, in order, no duplicates); returns the count.
 */
unsigned int stun_msg_unknown(const struct stun_msg *, uint16_t *out,
	    unsigned int max);

/* 1 if the type is one of the attributes above. */
int	stun_attr_known(uint16_t type);
/* Attribute and method names for logs and tests ("XOR-MAPPED-ADDRESS",
 * "CreatePermission"); "unknown" for anything else. */
const char *stun_attr_name(uint16_t type);
const char *stun_method_name(uint16_t method);
/* The RFC reason phrase for an error code, "" if none is defined. */
const char *stun_err_reason(int code);

/*
 * FINGERPRINT: 0 if present and correct, -1 if present and wrong, 1 if
 * absent.
 */
int	stun_msg_check_fingerprint(const struct stun_msg *);

/*
 * MESSAGE-INTEGRITY (HMAC-SHA1) / -SHA256 over the message up to the
 * attribute with the header length adjusted as RFC 8489 14.5 says.
 * 0 if present and it matches key (compared with CRYPTO_memcmp),
 * -1 otherwise (absent, truncated, or wrong).  MESSAGE-INTEGRITY-SHA256
 * may be truncated to 16..32 bytes in multiples of 4 (14.6).
 */
int	stun_msg_check_integrity(const struct stun_msg *, const uint8_t *key,
	    size_t keylen);
int	stun_msg_check_integrity_sha256(const struct stun_msg *,
	    const uint8_t *key, size_t keylen);

/*
 * HMAC (RFC 2104) with digest md ("SHA1" or "SHA256") keyed with the
 * keylen bytes at key (key may be NULL when keylen is 0: the empty key)
 * over the n buffers of iov, in order.  Writes the whole digest to out,
 * whose size outlen must be the digest's (20 for SHA1, 32 for SHA256).
 * 0, or -1 if OpenSSL failed or outlen is not the digest's size.  Safe
 * from any thread: the implementation is fetched once per process, not
 * per call.  The one HMAC of turnd: integrity checks, nonces and REST
 * passwords (src/turn/auth.c) all come here.
 */
int	stun_hmac(const char *md, const void *key, size_t keylen,
	    const struct iovec *iov, int n, uint8_t *out, size_t outlen);

/* Long-term credential keys (RFC 8489 9.2.2): MD5 or SHA-256 of
 * "username:realm:password" (the password already OpaqueString'd). */
void	stun_key_md5(const char *user, const char *realm, const char *pass,
	    uint8_t out[16]);
void	stun_key_sha256(const char *user, const char *realm, const char *pass,
	    uint8_t out[32]);
/*
 * 1 if key (len bytes) is all zero: what the functions above leave when
 * OpenSSL fails.  Anyone could compute a MAC with it, so such a key must
 * never be used.
 */
int	stun_key_failed(const uint8_t *key, size_t len);
/* USERHASH (RFC 8489 14.4): SHA-256 of "username:realm"; zeros if
 * OpenSSL failed. */
void	stun_userhash(const char *user, const char *realm, uint8_t out[32]);
/* CRC-32 (ISO 3309, as zlib's crc32) of len bytes. */
uint32_t stun_crc32(const uint8_t *, size_t);

/* Typed decoders over one attribute's (val, len); exact sizes checked. */
int	stun_attr_get_addr(const struct stun_attr *, struct sockaddr_storage *);
int	stun_attr_get_xaddr(const struct stun_attr *,
	    const uint8_t tid[STUN_TID_LEN], struct sockaddr_storage *);
int	stun_attr_get_u32(const struct stun_attr *, uint32_t *);
int	stun_attr_get_u64(const struct stun_attr *, uint64_t *);
/* First byte of a 4-byte value (REQUESTED-TRANSPORT,
 * REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY, EVEN-PORT (1 byte)). */
int	stun_attr_get_u8(const struct stun_attr *, uint8_t *);
/* CHANNEL-NUMBER: 16-bit number then RFFU. */
int	stun_attr_get_channel(const struct stun_attr *, uint16_t *);
/* ERROR-CODE: code 300..699 and a borrowed reason (not NUL-terminated). */
int	stun_attr_get_error(const struct stun_attr *, int *code,
	    const char **reason, size_t *reasonlen);
/* UNKNOWN-ATTRIBUTES: up to max types; returns the count or -1. */
int	stun_attr_get_unknown(const struct stun_attr *, uint16_t *out,
	    unsigned int max);
/* PASSWORD-ALGORITHMS: list of (alg, params) pairs; returns the count of
 * algorithms written to out (max at most) or -1 if malformed. */
int	stun_attr_get_pwalgs(const struct stun_attr *, uint16_t *out,
	    unsigned int max);
/* PASSWORD-ALGORITHM: one algorithm (params must be empty for MD5/SHA-256). */
int	stun_attr_get_pwalg(const struct stun_attr *, uint16_t *);
/*
 * Copy a UTF-8 string attribute (USERNAME, REALM, NONCE, SOFTWARE) into
 * out as a NUL-terminated string if len < outsz and len <= max; -1 on
 * overflow or an embedded NUL.
 */
int	stun_attr_get_str(const struct stun_attr *, size_t max, char *out,
	    size_t outsz);

/*
 * The builder writes a message into a caller buffer; an overflow makes it
 * sticky-failed (err = 1) and stun_build_finish() returns 0.  The header
 * length is kept current, so integrity and fingerprint are computed over
 * the right bytes.
 *
 * pad is the byte used to pad attribute values to 4 bytes: 0 after
 * stun_build_init() (RFC 8489 14); a test may set it to 0x20 to rebuild
 * the RFC 5769 vectors byte for byte.
 */
struct stun_build {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
	int		 err;
	uint8_t		 pad;		/* padding byte, default 0 */
};

void	stun_build_init(struct stun_build *, uint8_t *buf, size_t cap,
	    uint16_t type, const uint8_t tid[STUN_TID_LEN]);
/* Append a raw attribute, zero-padded to 4 bytes. */
void	stun_build_attr(struct stun_build *, uint16_t type, const void *val,
	    size_t len);
void	stun_build_u32(struct stun_build *, uint16_t type, uint32_t);
void	stun_build_u64(struct stun_build *, uint16_t type, uint64_t);
void	stun_build_str(struct stun_build *, uint16_t type, const char *);
void	stun_build_addr(struct stun_build *, uint16_t type,
	    const struct sockaddr *);
void	stun_build_xaddr(struct stun_build *, uint16_t type,
	    const struct sockaddr *);
/* ERROR-CODE; reason NULL means stun_err_reason(code). */
void	stun_build_error(struct stun_build *, int code, const char *reason);
void	stun_build_unknown(struct stun_build *, const uint16_t *,
	    unsigned int n);
void	stun_build_integrity(struct stun_build *, const uint8_t *key,
	    size_t keylen);
void	stun_build_integrity_sha256(struct stun_build *, const uint8_t *key,
	    size_t keylen);
void	stun_build_fingerprint(struct stun_build *);
/* Total length of the finished message, or 0 if the builder failed. */
size_t	stun_build_finish(struct stun_build *);
/*
 * Finish with a last attribute whose len-byte value the caller sends from
 * its own buffer, then (4 - len % 4) % 4 zero bytes: appends the
 * attribute's header and counts value and padding in the message length.
 * Returns the length of the head built, or 0.
 */
size_t	stun_build_finish_tail(struct stun_build *, uint16_t type,
	    size_t len);

/* ChannelData (RFC 8656 section 12.4). */
struct stun_chan {
	uint16_t	 chan;		/* 0x4000..0x7FFF */
	uint16_t	 len;		/* application data length */
	const uint8_t	*data;		/* borrowed */
};

/*
 * Parse a ChannelData message of len bytes (a UDP datagram, or a frame
 * from stun_frame_next()): 0 if the channel prefix is 0b01 and
 * 4 + data length <= len (padding optional; trailing bytes beyond the
 * padded length are an error), else -1.
 */
int	stun_chan_parse(const uint8_t *buf, size_t len, struct stun_chan *);
/* Write the 4-byte ChannelData header. */
void	stun_chan_hdr(uint8_t out[STUN_CHAN_HDR_LEN], uint16_t chan,
	    uint16_t len);

/*
 * Stream framing for TCP/TLS (RFC 8489 6.2.2, RFC 8656 12.5): STUN
 * messages and ChannelData (padded to 4 bytes) interleave.
 */
#define STUN_FRAME_STUN		1
#define STUN_FRAME_CHAN		2
#define STUN_FRAME_HDR_NEED	8	/* bytes needed to classify a frame */

struct stun_frame {
	int	 kind;		/* STUN_FRAME_STUN or STUN_FRAME_CHAN */
	size_t	 msglen;	/* the message proper (ChannelData unpadded) */
	size_t	 framelen;	/* bytes to consume, padding included */
};

/*
 * Look at the avail bytes at p.  Returns 1 and fills *f if a whole frame
 * is there, 0 if more bytes are needed (never more than STUN_MSG_MAX + 3
 * in all; f->framelen then holds the whole frame's length once its
 * length field is in, else 0), -1 if the bytes cannot start a frame
 * (wrong top bits, bad magic cookie, STUN length not a multiple of 4):
 * the stream is garbage.
 */
int	stun_frame_next(const uint8_t *p, size_t avail, struct stun_frame *f);

#endif /* STUN_H */
