/*
 * tls.c -- the TLS server context (RFC 8489 section 6.2.2: TLS 1.2 or
 * later) and the self-signed certificate of the demo mode.
 */

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "net/net.h"

static void
tls_err(char *err, size_t errlen, const char *what, const char *path)
{
	char		buf[256];
	unsigned long	e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	if (path != NULL)
		snprintf(err, errlen, "%s: %s: %s", what, path,
		    e != 0 ? buf : "failed");
	else
		snprintf(err, errlen, "%s: %s", what, e != 0 ? buf : "failed");
	ERR_clear_error();
}

/*
 * ALPN (RFC 7443): accept "stun.turn" or "stun.nat-discovery" when the
 * client offers one; a client offering none is fine too.
 */
static int
tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char	protos[] =
	    "\x09stun.turn\x12stun.nat-discovery";

	if (SSL_select_next_proto((unsigned char **)out, outlen, protos,
	    sizeof(protos) - 1, in, inlen) == OPENSSL_NPN_NEGOTIATED)
		return (SSL_TLSEXT_ERR_OK);
	return (SSL_TLSEXT_ERR_NOACK);
}

SSL_CTX *
tls_ctx_new(const struct turnd_conf *conf, char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	int	 minv;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_err(err, errlen, "tls", NULL);
		return (NULL);
	}
	minv = strcmp(conf->tls_min_version, "1.3") == 0 ? TLS1_3_VERSION :
	    TLS1_2_VERSION;
	SSL_CTX_set_min_proto_version(ctx, minv);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (conf->tls_ciphers != NULL && *conf->tls_ciphers != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, conf->tls_ciphers) != 1) {
		tls_err(err, errlen, "tls.ciphers", conf->tls_ciphers);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->tls_cert) != 1) {
		tls_err(err, errlen, "tls.cert", conf->tls_cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, conf->tls_key,
	    SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, "tls.key", conf->tls_key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "tls.key does not match tls.cert",
		    conf->tls_key);
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
	return (ctx);
fail:
	SSL_CTX_free(ctx);
	return (NULL);
}

/* A P-256 key and a one-year self-signed certificate for host. */
int
tls_make_selfsigned(const char *certpath, const char *keypath,
    const char *host, char *err, size_t errlen)
{
	EVP_PKEY	*pkey = NULL;
	X509		*x = NULL;
	X509_NAME	*name;
	X509_EXTENSION	*ext = NULL;
	X509V3_CTX	 v3;
	FILE		*f = NULL;
	char		 san[300];
	int		 rc = -1;

	if ((pkey = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)arc4random() >> 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)host, -1, -1, 0);
	X509_set_issuer_name(x, name);
	snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1,IP:::1", host);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    san)) == NULL || !X509_add_ext(x, ext, -1))
		goto fail;
	if (!X509_sign(x, pkey, EVP_sha256()))
		goto fail;
	if ((f = fopen(keypath, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	if ((f = fopen(certpath, "w")) == NULL || !PEM_write_X509(f, x) ||
	    fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	f = NULL;
	rc = 0;
fail:
	if (rc == -1)
		tls_err(err, errlen, "self-signed certificate", certpath);
	if (f != NULL)
		fclose(f);
	X509_EXTENSION_free(ext);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return (rc);
}
