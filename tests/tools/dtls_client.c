/*
 * dtls_client.c -- a DTLS 1.2 client for the black-box tests
 * (tests/blackbox/test_dtls.py): Python's ssl has no DTLS (RFC 6347).
 *
 *	dtls_client [-s] [-b ip] host port
 *
 * Handshakes with host:port (from ip when -b is given) and prints
 *	connected <local ip> <local port> <sha256 of the server's certificate>
 * then each record received as "recv <hex>".  Lines on stdin:
 *	send <hex>	one record
 *	close		close_notify, then "closed" and exit
 * EOF on stdin ends it without a close_notify; the server's close_notify
 * or an alert prints "eof".  With -s it stops once the ClientHello that
 * carries the server's cookie has been sent, prints "stalled <ip> <port>
 * answered" (the server went on with the handshake) or "... silent" (no
 * answer in STALL_MS) and waits for EOF on stdin, sending nothing more.
 * Exit 0, or 1 with "error <why>" on stdout.
 */

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define HS_SECS		10	/* whole handshake */
#define LINE_MAX_LEN	(2 * 16384 + 16)
#define STALL_MS	2000	/* for the answer to the cookie */

#define MTU		1400

static int	hello_after_cookie;	/* ClientHello sent after a cookie */
static int	got_cookie;		/* HelloVerifyRequest received */
static int	hold_reads;		/* -s: read nothing after that hello */

static void
die(const char *why)
{
	printf("error %s\n", why);
	fflush(stdout);
	exit(1);
}

/* Watch the handshake messages: which way, what type (RFC 6347 4.2). */
static void
msg_cb(int write_p, int version, int type, const void *buf, size_t len,
    SSL *ssl, void *arg)
{
	const unsigned char	*p = buf;

	(void)version;
	(void)ssl;
	(void)arg;
	if (type != SSL3_RT_HANDSHAKE || len < 1)
		return;
	if (!write_p && p[0] == DTLS1_MT_HELLO_VERIFY_REQUEST)
		got_cookie = 1;
	if (write_p && p[0] == SSL3_MT_CLIENT_HELLO && got_cookie)
		hello_after_cookie = 1;
}

/*
 * A BIO on the connected socket (its data) that reads nothing once
 * hold_reads and hello_after_cookie are set: a stalling client must not
 * take the server's answer in the same SSL_connect() call.
 */
static int
sock_write(BIO *b, const char *buf, int len)
{
	int	fd = *(int *)BIO_get_data(b);

	(void)send(fd, buf, (size_t)len, 0);	/* lost as on the wire */
	return (len);
}

static int
sock_read(BIO *b, char *buf, int len)
{
	int	fd = *(int *)BIO_get_data(b);
	ssize_t	n;

	BIO_clear_retry_flags(b);
	if ((hold_reads && hello_after_cookie) ||
	    (n = recv(fd, buf, (size_t)len, 0)) == -1) {
		BIO_set_retry_read(b);
		return (-1);
	}
	return ((int)n);
}

static long
sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return (1);
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return (MTU);
	}
	return (0);
}

static BIO *
sock_bio(int *fd)
{
	BIO_METHOD	*m;
	BIO		*b;

	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sock");
	if (m == NULL || !BIO_meth_set_write(m, sock_write) ||
	    !BIO_meth_set_read(m, sock_read) ||
	    !BIO_meth_set_ctrl(m, sock_ctrl) || (b = BIO_new(m)) == NULL)
		die("bio");
	BIO_set_data(b, fd);
	BIO_set_init(b, 1);
	return (b);
}

static void
print_hex(const char *tag, const unsigned char *p, size_t n)
{
	size_t	i;

	printf("%s ", tag);
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
	fflush(stdout);
}

static void
print_local(const char *tag, int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);
	char			ip[INET6_ADDRSTRLEN];
	unsigned int		port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		die("getsockname");
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	printf("%s %s %u", tag, ip, port);
}

static int
addr_parse(const char *ip, unsigned int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return (0);
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return (0);
	}
	return (-1);
}

/* Wait for fd to be readable, at most ms; DTLS retransmits meanwhile. */
static void
wait_read(SSL *ssl, int fd, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) == 0 && DTLSv1_handle_timeout(ssl) < 0)
		die("retransmission");
}

/*
 * The ClientHello with the cookie is out: say whether the server answered
 * it within STALL_MS (its ServerHello: it made an association) or not (it
 * dropped it), then read nothing more.
 */
static void
stall(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		buf[256];

	print_local("stalled", fd);
	printf(" %s\n", poll(&pfd, 1, STALL_MS) == 1 ? "answered" : "silent");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	exit(0);
}

static void
handshake(SSL *ssl, int fd, int stall_on_cookie)
{
	time_t	end = time(NULL) + HS_SECS;
	int	rc;

	while ((rc = SSL_connect(ssl)) != 1) {
		if (SSL_get_error(ssl, rc) != SSL_ERROR_WANT_READ)
			die("handshake");
		if (stall_on_cookie && hello_after_cookie)
			stall(fd);
		if (time(NULL) >= end)
			die("handshake timeout");
		wait_read(ssl, fd, 200);
	}
}

static void
print_connected(SSL *ssl, int fd)
{
	X509		*cert = SSL_get1_peer_certificate(ssl);
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0, i;

	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &n) != 1)
		die("no certificate");
	X509_free(cert);
	print_local("connected", fd);
	printf(" ");
	for (i = 0; i < n; i++)
		printf("%02x", md[i]);
	printf("\n");
	fflush(stdout);
}

/* Every record waiting: 0, or -1 once the server closed. */
static int
drain(SSL *ssl)
{
	unsigned char	buf[16384];
	int		n, err;

	for (;;) {
		if ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) {
			print_hex("recv", buf, (size_t)n);
			continue;
		}
		err = SSL_get_error(ssl, n);
		ERR_clear_error();
		if (err == SSL_ERROR_WANT_READ)
			return (0);
		printf("eof\n");
		fflush(stdout);
		return (-1);
	}
}

static int
unhex(const char *s, unsigned char *out, size_t cap, size_t *len)
{
	unsigned int	b;
	size_t		n = 0;

	while (s[0] != '\0' && s[0] != '\n') {
		if (n == cap || sscanf(s, "%2x", &b) != 1)
			return (-1);
		out[n++] = (unsigned char)b;
		s += 2;
	}
	*len = n;
	return (0);
}

/* One line from stdin: 0 to go on, 1 to stop. */
static int
command(SSL *ssl, const char *line)
{
	unsigned char	rec[16384];
	size_t		n;

	if (strncmp(line, "send ", 5) == 0) {
		if (unhex(line + 5, rec, sizeof(rec), &n) == -1)
			die("bad hex");
		if (SSL_write(ssl, rec, (int)n) <= 0)
			die("write");
		return (0);
	}
	if (strcmp(line, "close") == 0) {
		(void)SSL_shutdown(ssl);
		printf("closed\n");
		fflush(stdout);
		return (1);
	}
	die("unknown command");
	return (1);
}

/* Records in, lines from stdin out, until EOF, close or the server's end. */
static void
run(SSL *ssl, int fd)
{
	static char	line[LINE_MAX_LEN];
	struct pollfd	pfd[2];
	size_t		have = 0;
	ssize_t		n;
	char		*nl;

	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = 0;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			die("poll");
		if ((pfd[0].revents & POLLIN) && drain(ssl) == -1)
			return;
		if (!(pfd[1].revents & (POLLIN | POLLHUP)))
			continue;
		if ((n = read(0, line + have, sizeof(line) - 1 - have)) <= 0)
			return;
		have += (size_t)n;
		line[have] = '\0';
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (command(ssl, line) == 1)
				return;
			have -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, have + 1);
		}
		if (have == sizeof(line) - 1)
			die("line too long");
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage	 ss, bs;
	socklen_t		 len, blen;
	const char		*bind_ip = NULL;
	SSL_CTX			*ctx;
	SSL			*ssl;
	BIO			*bio;
	int			 ch, fd, stall_on_cookie = 0;

	while ((ch = getopt(argc, argv, "b:s")) != -1) {
		if (ch == 'b')
			bind_ip = optarg;
		else if (ch == 's')
			stall_on_cookie = 1;
		else
			die("usage: dtls_client [-s] [-b ip] host port");
	}
	if (argc - optind != 2 ||
	    addr_parse(argv[optind], (unsigned int)atoi(argv[optind + 1]),
	    &ss, &len) == -1)
		die("usage: dtls_client [-s] [-b ip] host port");
	if ((fd = socket(ss.ss_family, SOCK_DGRAM, 0)) == -1)
		die("socket");
	if (bind_ip != NULL && (addr_parse(bind_ip, 0, &bs, &blen) == -1 ||
	    bind(fd, (struct sockaddr *)&bs, blen) == -1))
		die("bind");
	if (connect(fd, (struct sockaddr *)&ss, len) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		die("connect");
	if ((ctx = SSL_CTX_new(DTLS_client_method())) == NULL ||
	    (ssl = SSL_new(ctx)) == NULL ||
	    (bio = sock_bio(&fd)) == NULL)
		die("openssl");
	SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
	SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
	SSL_set_mtu(ssl, MTU);
	SSL_set_bio(ssl, bio, bio);
	hold_reads = stall_on_cookie;
	SSL_set_msg_callback(ssl, msg_cb);
	handshake(ssl, fd, stall_on_cookie);
	print_connected(ssl, fd);
	run(ssl, fd);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return (0);
}
