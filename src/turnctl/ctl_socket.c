/*
 * ctl_socket.c -- the turnctl commands answered by a running turnd over
 * its control socket (admin/control.h has the protocol): status,
 * sessions, session, kill, reload, drain, upgrade.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin/control.h"
#include "common/clock.h"
#include "common/sbuf.h"
#include "common/xmalloc.h"
#include "turnctl/turnctl.h"

#define CTL_ANSWER_MAX	(64 * 1024 * 1024)
#define CTL_WAIT_MS	30000		/* for the whole answer */
#define CTL_UPGRADE_WAIT_MS	3600000	/* upgrade: the takeover's end */

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Read to EOF into sb, within wait_ms; 0 or -1 (errno). */
static int
read_all(int fd, struct sbuf *sb, int wait_ms)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		 buf[8192];
	ssize_t		 n;
	long long	 end = clock_mono_ms() + wait_ms, left;

	for (;;) {
		if ((left = end - clock_mono_ms()) <= 0 ||
		    poll(&pfd, 1, (int)left) <= 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0)
			return (0);
		if (sb->sb_len + (size_t)n > CTL_ANSWER_MAX) {
			errno = EFBIG;
			return (-1);
		}
		sbuf_printf(sb, "%.*s", (int)n, buf);
	}
}

int
ctl_request(struct ctl *ctl, const char *line)
{
	struct sockaddr_un	 sun;
	struct sbuf		 req, ans;
	const char		*body;
	int			 fd, rc = CTL_FAIL;

	if (ctl->c_socket == NULL || *ctl->c_socket == '\0') {
		fprintf(stderr, "turnctl: control.socket is off in %s; give "
		    "the socket with -s\n", ctl->c_conf_path);
		return (CTL_FAIL);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(ctl->c_socket) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "turnctl: %s: path too long\n", ctl->c_socket);
		return (CTL_FAIL);
	}
	strcpy(sun.sun_path, ctl->c_socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "turnctl: cannot reach turnd at %s: %s (is it "
		    "running? another socket: -s PATH)\n", ctl->c_socket,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return (CTL_FAIL);
	}
	sbuf_init(&req);
	sbuf_init(&ans);
	sbuf_printf(&req, "%s%s\n", line, ctl->c_json ? " json" : "");
	if (write_all(fd, req.sb_buf, req.sb_len) == -1 ||
	    shutdown(fd, SHUT_WR) == -1 || read_all(fd, &ans,
	    ctl->c_wait_ms > 0 ? ctl->c_wait_ms : CTL_WAIT_MS) == -1) {
		fprintf(stderr, "turnctl: %s: %s\n", ctl->c_socket,
		    strerror(errno));
		goto out;
	}
	body = sbuf_str(&ans);
	if (strncmp(body, "ok\n", 3) == 0) {
		fputs(body + 3, stdout);
		rc = CTL_OK;
	} else if (strncmp(body, "error\n", 6) == 0) {
		fputs(body + 6, ctl->c_json ? stdout : stderr);
	} else
		fprintf(stderr, "turnctl: %s: not an answer from turnd\n",
		    ctl->c_socket);
out:
	close(fd);
	sbuf_free(&req);
	sbuf_free(&ans);
	return (rc);
}

/* A word the protocol can carry: no blanks or control characters. */
static int
ctl_word_ok(const char *what, const char *s)
{
	const unsigned char	*p;

	if (*s == '\0')
		goto bad;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			goto bad;
	if (strlen(s) > 512)
		goto bad;
	return (1);
bad:
	fprintf(stderr, "turnctl: bad %s \"%s\"\n", what, s);
	return (0);
}

/* "30", "30s", "5m", "1h", "2d" in seconds; -1 if not that. */
long
ctl_duration(const char *s)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return (-1);
	v = strtol(s, &end, 10);
	if (v < 0 || v > 1000000)	/* times 86400 fits any long */
		return (-1);
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	case 'd':
		v *= 86400;
		break;
	default:
		return (-1);
	}
	if (*end != '\0' && end[1] != '\0')
		return (-1);
	return (v > 366L * 86400 ? -1 : v);	/* what turnd accepts */
}

static int
ctl_plain(struct ctl *ctl, int argc, char *argv[], const char *line)
{
	if (argc != 1) {
		fprintf(stderr, "usage: turnctl %s\n", argv[0]);
		return (CTL_USAGE);
	}
	return (ctl_request(ctl, line));
}

int
ctl_status(struct ctl *ctl, int argc, char *argv[])
{
	return (ctl_plain(ctl, argc, argv, "status"));
}

int
ctl_reload(struct ctl *ctl, int argc, char *argv[])
{
	return (ctl_plain(ctl, argc, argv, "reload"));
}

int
ctl_sessions(struct ctl *ctl, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "user",	required_argument,	NULL,	'u' },
		{ "peer",	required_argument,	NULL,	'p' },
		{ "limit",	required_argument,	NULL,	'l' },
		{ NULL,		0,			NULL,	0 }
	};
	struct sbuf	line;
	char		*end;
	long		 l;
	int		 ch, rc = CTL_USAGE;

	sbuf_init(&line);
	sbuf_printf(&line, "sessions");
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+u:p:l:", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			if (!ctl_word_ok("user", optarg))
				goto out;
			sbuf_printf(&line, " user=%s", optarg);
			break;
		case 'p':
			if (!ctl_word_ok("peer", optarg))
				goto out;
			sbuf_printf(&line, " peer=%s", optarg);
			break;
		case 'l':
			l = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || l < 1 ||
			    l > 100000) {
				fprintf(stderr, "turnctl: --limit: 1 to "
				    "100000\n");
				goto out;
			}
			sbuf_printf(&line, " limit=%ld", l);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	rc = ctl_request(ctl, sbuf_str(&line));
	goto out;
usage:
	fprintf(stderr, "usage: turnctl sessions [--user U] [--peer ADDR] "
	    "[--limit N]\n");
out:
	sbuf_free(&line);
	return (rc);
}

int
ctl_session(struct ctl *ctl, int argc, char *argv[])
{
	struct sbuf	line;
	int		rc;

	if (argc != 2 || strspn(argv[1], "0123456789") != strlen(argv[1]) ||
	    *argv[1] == '\0' || strlen(argv[1]) > 20) {
		fprintf(stderr, "usage: turnctl session ID (the 20 digits "
		    "that turnctl sessions shows)\n");
		return (CTL_USAGE);
	}
	sbuf_init(&line);
	sbuf_printf(&line, "session id=%s", argv[1]);
	rc = ctl_request(ctl, sbuf_str(&line));
	sbuf_free(&line);
	return (rc);
}

int
ctl_kill(struct ctl *ctl, int argc, char *argv[])
{
	struct sbuf	line;
	int		rc;

	sbuf_init(&line);
	if (argc == 2 && *argv[1] != '\0' && strlen(argv[1]) <= 20 &&
	    strspn(argv[1], "0123456789") == strlen(argv[1]))
		sbuf_printf(&line, "kill id=%s", argv[1]);
	else if (argc == 3 && strcmp(argv[1], "--user") == 0 &&
	    ctl_word_ok("user", argv[2]))
		sbuf_printf(&line, "kill user=%s", argv[2]);
	else {
		fprintf(stderr, "usage: turnctl kill ID | turnctl kill "
		    "--user U\n");
		sbuf_free(&line);
		return (CTL_USAGE);
	}
	rc = ctl_request(ctl, sbuf_str(&line));
	sbuf_free(&line);
	return (rc);
}

int
ctl_drain(struct ctl *ctl, int argc, char *argv[])
{
	struct sbuf	line;
	long		t = 0;
	int		rc;

	if (argc == 3 && strcmp(argv[1], "--timeout") == 0 &&
	    (t = ctl_duration(argv[2])) >= 0)
		;
	else if (argc != 1) {
		fprintf(stderr, "usage: turnctl drain [--timeout T] (T: "
		    "seconds, or 30s, 5m, 1h)\n");
		return (CTL_USAGE);
	}
	sbuf_init(&line);
	sbuf_printf(&line, "drain timeout=%ld", t);
	rc = ctl_request(ctl, sbuf_str(&line));
	sbuf_free(&line);
	return (rc);
}

/*
 * upgrade: the answer comes when the new process has taken over (or the
 * old one rolled back), so wait longer than for the other commands.
 */
int
ctl_upgrade(struct ctl *ctl, int argc, char *argv[])
{
	struct sbuf	line;
	int		rc;

	sbuf_init(&line);
	if (argc == 3 && strcmp(argv[1], "--binary") == 0 &&
	    *argv[2] == '/' && strcspn(argv[2], " \t\r\n") == strlen(argv[2]))
		sbuf_printf(&line, "upgrade binary=%s", argv[2]);
	else if (argc == 1)
		sbuf_printf(&line, "upgrade");
	else {
		fprintf(stderr, "usage: turnctl upgrade [--binary PATH] (PATH: "
		    "absolute, without spaces)\n");
		sbuf_free(&line);
		return (CTL_USAGE);
	}
	ctl->c_wait_ms = CTL_UPGRADE_WAIT_MS;
	rc = ctl_request(ctl, sbuf_str(&line));
	sbuf_free(&line);
	return (rc);
}
