/*
 * integrity.c -- MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256 checks
 * (RFC 8489 14.5, 14.6), long-term keys (9.2.2) and CRC-32 for
 * FINGERPRINT (14.7).
 */

#include <sys/uio.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "stun/stun.h"

#define STUN_MI_LEN		20
#define STUN_MI256_LEN		32
#define STUN_MI256_MIN		16

/*
 * The HMAC implementation is fetched once and shared by every worker
 * thread (EVP_MAC objects are reference counted and thread-safe); a
 * fetch per packet would take the provider store lock every time.
 */
static EVP_MAC		*stun_hmac_impl;
static pthread_once_t	 stun_hmac_once = PTHREAD_ONCE_INIT;

static void
stun_hmac_fetch(void)
{
	stun_hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

int
stun_hmac(const char *md, const void *key, size_t keylen,
    const struct iovec *iov, int n, uint8_t *out, size_t outlen)
{
	static const uint8_t	 nokey[1];
	EVP_MAC_CTX		*ctx;
	OSSL_PARAM		 params[2];
	size_t			 got = 0;
	int			 i, ok;

	if (pthread_once(&stun_hmac_once, stun_hmac_fetch) != 0 ||
	    stun_hmac_impl == NULL)
		return (-1);
	if ((ctx = EVP_MAC_CTX_new(stun_hmac_impl)) == NULL)
		return (-1);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* A NULL key means "keep the old key" to OpenSSL: pass a real one. */
	if (key == NULL || keylen == 0) {
		key = nokey;
		keylen = 0;
	}
	ok = EVP_MAC_init(ctx, key, keylen, params);
	for (i = 0; ok && i < n; i++)
		if (iov[i].iov_len > 0)
			ok = EVP_MAC_update(ctx, iov[i].iov_base,
			    iov[i].iov_len);
	ok = ok && EVP_MAC_final(ctx, out, &got, outlen) && got == outlen;
	EVP_MAC_CTX_free(ctx);
	return (ok ? 0 : -1);
}

/*
 * Compute the HMAC for the integrity attribute a of m into out (outlen
 * bytes): over the message up to a, with the header length set to end
 * just after a (RFC 8489 14.5, 14.6).
 */
static int
stun_msg_hmac(const struct stun_msg *m, const struct stun_attr *a,
    const char *md, const uint8_t *key, size_t keylen, uint8_t *out,
    size_t outlen)
{
	uint8_t		hdr[STUN_HDR_LEN];
	struct iovec	iov[2];
	size_t		off, adj;

	/* a->val points into m->raw, after the header (parse made it so). */
	off = (size_t)(a->val - m->raw) - STUN_ATTR_HDR_LEN;
	if (off < STUN_HDR_LEN || off > m->rawlen)
		return (-1);
	adj = off - STUN_HDR_LEN + STUN_ATTR_HDR_LEN + a->len;
	if (adj > 0xffff)
		return (-1);
	memcpy(hdr, m->raw, STUN_HDR_LEN);
	hdr[2] = (uint8_t)(adj >> 8);
	hdr[3] = (uint8_t)adj;
	iov[0].iov_base = hdr;
	iov[0].iov_len = STUN_HDR_LEN;
	iov[1].iov_base = (void *)(uintptr_t)(m->raw + STUN_HDR_LEN);
	iov[1].iov_len = off - STUN_HDR_LEN;
	return (stun_hmac(md, key, keylen, iov, 2, out, outlen));
}

/* MESSAGE-INTEGRITY (RFC 8489 14.5): 0 if present and right, else -1. */
int
stun_msg_check_integrity(const struct stun_msg *m, const uint8_t *key,
    size_t keylen)
{
	const struct stun_attr	*a;
	uint8_t			 mac[STUN_MI_LEN];

	if (m->mi_idx < 0 || (unsigned int)m->mi_idx >= m->nattrs)
		return (-1);
	a = &m->attrs[m->mi_idx];
	if (a->len != STUN_MI_LEN)
		return (-1);
	if (stun_msg_hmac(m, a, "SHA1", key, keylen, mac, sizeof(mac)) == -1)
		return (-1);
	return (CRYPTO_memcmp(mac, a->val, STUN_MI_LEN) == 0 ? 0 : -1);
}

/*
 * MESSAGE-INTEGRITY-SHA256 (RFC 8489 14.6): the value may be the HMAC
 * truncated to 16..32 bytes in multiples of 4; the header length covers
 * the attribute as sent.  0 if present and right, else -1.
 */
int
stun_msg_check_integrity_sha256(const struct stun_msg *m,
    const uint8_t *key, size_t keylen)
{
	const struct stun_attr	*a;
	uint8_t			 mac[STUN_MI256_LEN];

	if (m->mi256_idx < 0 || (unsigned int)m->mi256_idx >= m->nattrs)
		return (-1);
	a = &m->attrs[m->mi256_idx];
	if (a->len < STUN_MI256_MIN || a->len > STUN_MI256_LEN ||
	    (a->len & 3) != 0)
		return (-1);
	if (stun_msg_hmac(m, a, "SHA256", key, keylen, mac,
	    sizeof(mac)) == -1)
		return (-1);
	return (CRYPTO_memcmp(mac, a->val, a->len) == 0 ? 0 : -1);
}

/*
 * Hash "user:realm:pass" with md into out (mdlen bytes), or "user:realm"
 * when pass is NULL; a NULL user or realm counts as empty.  On an
 * OpenSSL failure out is zeroed, which matches no real key.
 */
static void
stun_key_hash(const EVP_MD *md, const char *user, const char *realm,
    const char *pass, uint8_t *out, unsigned int mdlen)
{
	EVP_MD_CTX	*ctx;
	unsigned int	 got = 0;
	int		 ok;

	user = user != NULL ? user : "";
	realm = realm != NULL ? realm : "";
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		memset(out, 0, mdlen);
		return;
	}
	ok = EVP_DigestInit_ex(ctx, md, NULL) &&
	    EVP_DigestUpdate(ctx, user, strlen(user)) &&
	    EVP_DigestUpdate(ctx, ":", 1) &&
	    EVP_DigestUpdate(ctx, realm, strlen(realm)) &&
	    (pass == NULL || (EVP_DigestUpdate(ctx, ":", 1) &&
	    EVP_DigestUpdate(ctx, pass, strlen(pass)))) &&
	    EVP_DigestFinal_ex(ctx, out, &got) && got == mdlen;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		memset(out, 0, mdlen);
}

/* Long-term key, MD5 (RFC 8489 9.2.2, PASSWORD-ALGORITHM MD5). */
void
stun_key_md5(const char *user, const char *realm, const char *pass,
    uint8_t out[16])
{
	stun_key_hash(EVP_md5(), user, realm, pass != NULL ? pass : "", out,
	    16);
}

/* Long-term key, SHA-256 (RFC 8489 9.2.2, PASSWORD-ALGORITHM SHA-256). */
void
stun_key_sha256(const char *user, const char *realm, const char *pass,
    uint8_t out[32])
{
	stun_key_hash(EVP_sha256(), user, realm, pass != NULL ? pass : "", out,
	    32);
}

int
stun_key_failed(const uint8_t *key, size_t len)
{
	uint8_t	acc = 0;
	size_t	i;

	for (i = 0; i < len; i++)
		acc |= key[i];
	return (acc == 0);
}

/* USERHASH (RFC 8489 14.4): SHA-256 of "user:realm". */
void
stun_userhash(const char *user, const char *realm, uint8_t out[32])
{
	stun_key_hash(EVP_sha256(), user, realm, NULL, out, 32);
}

/* CRC-32 table for the reflected polynomial 0xedb88320 (ISO 3309). */
static const uint32_t stun_crc_tab[256] = {
	0x00000000U, 0x77073096U, 0xee0e612cU, 0x990951baU,
	0x076dc419U, 0x706af48fU, 0xe963a535U, 0x9e6495a3U,
	0x0edb8832U, 0x79dcb8a4U, 0xe0d5e91eU, 0x97d2d988U,
	0x09b64c2bU, 0x7eb17cbdU, 0xe7b82d07U, 0x90bf1d91U,
	0x1db71064U, 0x6ab020f2U, 0xf3b97148U, 0x84be41deU,
	0x1adad47dU, 0x6ddde4ebU, 0xf4d4b551U, 0x83d385c7U,
	0x136c9856U, 0x646ba8c0U, 0xfd62f97aU, 0x8a65c9ecU,
	0x14015c4fU, 0x63066cd9U, 0xfa0f3d63U, 0x8d080df5U,
	0x3b6e20c8U, 0x4c69105eU, 0xd56041e4U, 0xa2677172U,
	0x3c03e4d1U, 0x4b04d447U, 0xd20d85fdU, 0xa50ab56bU,
	0x35b5a8faU, 0x42b2986cU, 0xdbbbc9d6U, 0xacbcf940U,
	0x32d86ce3U, 0x45df5c75U, 0xdcd60dcfU, 0xabd13d59U,
	0x26d930acU, 0x51de003aU, 0xc8d75180U, 0xbfd06116U,
	0x21b4f4b5U, 0x56b3c423U, 0xcfba9599U, 0xb8bda50fU,
	0x2802b89eU, 0x5f058808U, 0xc60cd9b2U, 0xb10be924U,
	0x2f6f7c87U, 0x58684c11U, 0xc1611dabU, 0xb6662d3dU,
	0x76dc4190U, 0x01db7106U, 0x98d220bcU, 0xefd5102aU,
	0x71b18589U, 0x06b6b51fU, 0x9fbfe4a5U, 0xe8b8d433U,
	0x7807c9a2U, 0x0f00f934U, 0x9609a88eU, 0xe10e9818U,
	0x7f6a0dbbU, 0x086d3d2dU, 0x91646c97U, 0xe6635c01U,
	0x6b6b51f4U, 0x1c6c6162U, 0x856530d8U, 0xf262004eU,
	0x6c0695edU, 0x1b01a57bU, 0x8208f4c1U, 0xf50fc457U,
	0x65b0d9c6U, 0x12b7e950U, 0x8bbeb8eaU, 0xfcb9887cU,
	0x62dd1ddfU, 0x15da2d49U, 0x8cd37cf3U, 0xfbd44c65U,
	0x4db26158U, 0x3ab551ceU, 0xa3bc0074U, 0xd4bb30e2U,
	0x4adfa541U, 0x3dd895d7U, 0xa4d1c46dU, 0xd3d6f4fbU,
	0x4369e96aU, 0x346ed9fcU, 0xad678846U, 0xda60b8d0U,
	0x44042d73U, 0x33031de5U, 0xaa0a4c5fU, 0xdd0d7cc9U,
	0x5005713cU, 0x270241aaU, 0xbe0b1010U, 0xc90c2086U,
	0x5768b525U, 0x206f85b3U, 0xb966d409U, 0xce61e49fU,
	0x5edef90eU, 0x29d9c998U, 0xb0d09822U, 0xc7d7a8b4U,
	0x59b33d17U, 0x2eb40d81U, 0xb7bd5c3bU, 0xc0ba6cadU,
	0xedb88320U, 0x9abfb3b6U, 0x03b6e20cU, 0x74b1d29aU,
	0xead54739U, 0x9dd277afU, 0x04db2615U, 0x73dc1683U,
	0xe3630b12U, 0x94643b84U, 0x0d6d6a3eU, 0x7a6a5aa8U,
	0xe40ecf0bU, 0x9309ff9dU, 0x0a00ae27U, 0x7d079eb1U,
	0xf00f9344U, 0x8708a3d2U, 0x1e01f268U, 0x6906c2feU,
	0xf762575dU, 0x806567cbU, 0x196c3671U, 0x6e6b06e7U,
	0xfed41b76U, 0x89d32be0U, 0x10da7a5aU, 0x67dd4accU,
	0xf9b9df6fU, 0x8ebeeff9U, 0x17b7be43U, 0x60b08ed5U,
	0xd6d6a3e8U, 0xa1d1937eU, 0x38d8c2c4U, 0x4fdff252U,
	0xd1bb67f1U, 0xa6bc5767U, 0x3fb506ddU, 0x48b2364bU,
	0xd80d2bdaU, 0xaf0a1b4cU, 0x36034af6U, 0x41047a60U,
	0xdf60efc3U, 0xa867df55U, 0x316e8eefU, 0x4669be79U,
	0xcb61b38cU, 0xbc66831aU, 0x256fd2a0U, 0x5268e236U,
	0xcc0c7795U, 0xbb0b4703U, 0x220216b9U, 0x5505262fU,
	0xc5ba3bbeU, 0xb2bd0b28U, 0x2bb45a92U, 0x5cb36a04U,
	0xc2d7ffa7U, 0xb5d0cf31U, 0x2cd99e8bU, 0x5bdeae1dU,
	0x9b64c2b0U, 0xec63f226U, 0x756aa39cU, 0x026d930aU,
	0x9c0906a9U, 0xeb0e363fU, 0x72076785U, 0x05005713U,
	0x95bf4a82U, 0xe2b87a14U, 0x7bb12baeU, 0x0cb61b38U,
	0x92d28e9bU, 0xe5d5be0dU, 0x7cdcefb7U, 0x0bdbdf21U,
	0x86d3d2d4U, 0xf1d4e242U, 0x68ddb3f8U, 0x1fda836eU,
	0x81be16cdU, 0xf6b9265bU, 0x6fb077e1U, 0x18b74777U,
	0x88085ae6U, 0xff0f6a70U, 0x66063bcaU, 0x11010b5cU,
	0x8f659effU, 0xf862ae69U, 0x616bffd3U, 0x166ccf45U,
	0xa00ae278U, 0xd70dd2eeU, 0x4e048354U, 0x3903b3c2U,
	0xa7672661U, 0xd06016f7U, 0x4969474dU, 0x3e6e77dbU,
	0xaed16a4aU, 0xd9d65adcU, 0x40df0b66U, 0x37d83bf0U,
	0xa9bcae53U, 0xdebb9ec5U, 0x47b2cf7fU, 0x30b5ffe9U,
	0xbdbdf21cU, 0xcabac28aU, 0x53b39330U, 0x24b4a3a6U,
	0xbad03605U, 0xcdd70693U, 0x54de5729U, 0x23d967bfU,
	0xb3667a2eU, 0xc4614ab8U, 0x5d681b02U, 0x2a6f2b94U,
	0xb40bbe37U, 0xc30c8ea1U, 0x5a05df1bU, 0x2d02ef8dU,
};

/* CRC-32 as zlib's crc32(0, buf, len) (RFC 8489 14.7 via ISO 3309). */
uint32_t
stun_crc32(const uint8_t *p, size_t len)
{
	uint32_t	crc = 0xffffffffU;

	while (len-- > 0)
		crc = stun_crc_tab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return (crc ^ 0xffffffffU);
}
