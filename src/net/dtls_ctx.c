/*
 * dtls_ctx.c -- the OpenSSL side of the DTLS listener (dtls.c): the
 * context made from the TLS one (tls.cert and tls.key, made again on
 * reload), the BIO through which records come from the datagram just
 * received and go out as one datagram each, and the stateless cookies of
 * the HelloVerifyRequest (RFC 6347 4.2.1): an HMAC of the source address
 * and port under a key rotated every DTLS_KEY_SECS, the previous key
 * still accepted.
 */

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/addr.h"
#include "common/log.h"
#include "net/dtls_int.h"
#include "net/sock.h"

/* --------------------------------------------------------------- BIO */

static int
dio_write(BIO *b, const char *buf, int len)
{
	struct dio	*io = BIO_get_data(b);
	struct dsock	*ds = io->io_sock;
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	align;
		uint8_t		buf[SOCK_PKTINFO_SPACE];
	}		 cm;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = (size_t)len;
	mh.msg_name = &io->io_peer;
	mh.msg_namelen = addr_len((struct sockaddr *)&io->io_peer);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (ds->ds_wild) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = sock_set_source(cm.buf, &io->io_local);
	}
	/* A datagram the kernel refuses is lost as on the wire. */
	if (sendmsg(ds->ds_ls.ls_fd, &mh, 0) == -1)
		STATS_INC(dtls_stats(ds->ds_set), udp_send_errors);
	return (len);
}

static int
dio_read(BIO *b, char *buf, int len)
{
	struct dio	*io = BIO_get_data(b);
	size_t		 n;

	BIO_clear_retry_flags(b);
	if (io->io_in == NULL) {
		BIO_set_retry_read(b);
		return (-1);
	}
	n = io->io_inlen < (size_t)len ? io->io_inlen : (size_t)len;
	memcpy(buf, io->io_in, n);
	io->io_in = NULL;
	return ((int)n);
}

static long
dio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct dio	*io = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return (1);
	case BIO_CTRL_PENDING:
		return (io->io_in != NULL ? (long)io->io_inlen : 0);
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return (DTLS_MTU);
	}
	return (0);
}

BIO *
dtls_bio_new(struct dtls_set *d, struct dio *io)
{
	BIO	*b;

	if ((b = BIO_new(d->d_meth)) == NULL)
		return (NULL);
	BIO_set_data(b, io);
	BIO_set_init(b, 1);
	return (b);
}

/* ----------------------------------------------------------- cookies */

/* HMAC-SHA256 of the source address and port under key k. */
void
dtls_cookie_make(const struct dtls_set *d, int k, const struct sockaddr *sa,
    uint8_t out[32])
{
	uint8_t		in[19];
	unsigned int	olen = 32;
	uint16_t	port = addr_port(sa);
	int		family;

	memset(in, 0, sizeof(in));
	(void)addr_ip_bytes(sa, in + 3, &family);
	in[0] = (uint8_t)family;
	in[1] = (uint8_t)(port >> 8);
	in[2] = (uint8_t)port;
	if (HMAC(EVP_sha256(), d->d_key[k], sizeof(d->d_key[k]), in,
	    sizeof(in), out, &olen) == NULL)
		memset(out, 0, 32);
}

/* The BIO's data: the source the ClientHello came from. */
static struct dio *
dtls_ssl_io(SSL *ssl)
{
	return (BIO_get_data(SSL_get_rbio(ssl)));
}

static int
dtls_cookie_gen(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	struct dio	*io = dtls_ssl_io(ssl);

	dtls_cookie_make(io->io_sock->ds_set, 0,
	    (struct sockaddr *)&io->io_peer, cookie);
	*len = 32;
	STATS_INC(dtls_stats(io->io_sock->ds_set), dtls_hello_verify);
	return (1);
}

int
dtls_cookie_check(const struct dtls_set *d, const struct sockaddr *sa,
    const unsigned char *cookie, unsigned int len)
{
	uint8_t		 want[32];
	int		 k;

	if (len != sizeof(want))
		return (0);
	for (k = 0; k < 2; k++) {
		dtls_cookie_make(d, k, sa, want);
		if (CRYPTO_memcmp(want, cookie, sizeof(want)) == 0)
			return (1);
	}
	return (0);
}

static int
dtls_cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
	struct dio	*io = dtls_ssl_io(ssl);

	return (dtls_cookie_check(io->io_sock->ds_set,
	    (struct sockaddr *)&io->io_peer, cookie, len));
}

void
dtls_key_rotate(struct dtls_set *d, time_t now)
{
	memcpy(d->d_key[1], d->d_key[0], sizeof(d->d_key[0]));
	if (RAND_bytes(d->d_key[0], sizeof(d->d_key[0])) != 1)
		fatalx("%s: no random bytes", __func__);
	d->d_key_time = now;
}

/* ------------------------------------------------------- the context */

/*
 * A DTLS context with the certificate, chain and key of the TLS context
 * tls (made from tls.cert and tls.key, and made again on reload).
 */
SSL_CTX *
dtls_ctx_new(const struct turnd_conf *conf, SSL_CTX *tls)
{
	SSL_CTX		*ctx;
	X509		*cert = SSL_CTX_get0_certificate(tls);
	EVP_PKEY	*key = SSL_CTX_get0_privatekey(tls);
	STACK_OF(X509)	*chain = NULL;

	if (cert == NULL || key == NULL ||
	    (ctx = SSL_CTX_new(DTLS_server_method())) == NULL)
		return (NULL);
	SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_QUERY_MTU);
	SSL_CTX_set_read_ahead(ctx, 1);
	if (conf->tls_ciphers != NULL && *conf->tls_ciphers != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, conf->tls_ciphers) != 1)
		goto fail;
	if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		goto fail;
	if (SSL_CTX_get0_chain_certs(tls, &chain) == 1 && chain != NULL &&
	    SSL_CTX_set1_chain(ctx, chain) != 1)
		goto fail;
	SSL_CTX_set_cookie_generate_cb(ctx, dtls_cookie_gen);
	SSL_CTX_set_cookie_verify_cb(ctx, dtls_cookie_verify);
	return (ctx);
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return (NULL);
}

void
dtls_meth_new(struct dtls_set *d)
{
	d->d_meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "turnd dtls");
	if (d->d_meth == NULL || !BIO_meth_set_write(d->d_meth, dio_write) ||
	    !BIO_meth_set_read(d->d_meth, dio_read) ||
	    !BIO_meth_set_ctrl(d->d_meth, dio_ctrl))
		fatalx("%s: cannot make the DTLS BIO", __func__);
}

/* Reload: new associations use tls's certificate (old ones keep theirs). */
void
dtls_set_ctx(struct dtls_set *d, SSL_CTX *tls)
{
	SSL_CTX		*ctx;
	unsigned int	 i;

	if (d == NULL || d->d_n == 0 || tls == NULL)
		return;
	if ((ctx = dtls_ctx_new(d->d_w->w_conf, tls)) == NULL) {
		log_warnx("%s: worker %u keeps its DTLS certificate", __func__,
		    d->d_w->w_id);
		return;
	}
	SSL_CTX_free(d->d_ctx);
	d->d_ctx = ctx;
	for (i = 0; i < d->d_n; i++) {
		SSL_free(d->d_socks[i].ds_ssl);
		d->d_socks[i].ds_ssl = NULL;
	}
}
