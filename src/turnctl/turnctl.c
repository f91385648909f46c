/*
 * turnctl.c -- turnctl's main: options, the configuration, and the
 * command table (relayctl-style: any unique prefix of a command works;
 * ctl_cmd.c looks them up).
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "conf/conf.h"
#include "turnctl/turnctl.h"

#define TURND_CONF_DEFAULT	SYSCONFDIR "/turnd/turnd.conf"

static const struct ctl_cmd commands[] = {
	{ "status",	"",				ctl_status },
	{ "sessions",	"[--user U] [--peer ADDR] [--limit N]", ctl_sessions },
	{ "session",	"ID",				ctl_session },
	{ "kill",	"ID | --user U",		ctl_kill },
	{ "user",	"add|del|list|passwd ...",	ctl_user },
	{ "secret",	"add|del|list ...",		ctl_secret },
	{ "peer",	"allow|deny|del|list ...",	ctl_peer },
	{ "realm",	"set|get|unset OPTION [VALUE]",	ctl_realm },
	{ "ice",	"--user U [--ttl 1h] [--secret-from-store]", ctl_ice },
	{ "reload",	"",				ctl_reload },
	{ "drain",	"[--timeout T]",		ctl_drain },
	{ NULL,		NULL,				NULL }
};

/* Commands that replace the running process: never from a prefix. */
static const struct ctl_cmd whole[] = {
	{ "upgrade",	"[--binary PATH]",		ctl_upgrade },
	{ NULL,		NULL,				NULL }
};

static void
usage(FILE *f)
{
	const struct ctl_cmd	*c;

	fprintf(f, "usage: turnctl [-c FILE] [-s SOCKET] [--json] "
	    "COMMAND [ARGS]\ncommands (any unique prefix):\n");
	for (c = commands; c->cc_name != NULL; c++)
		fprintf(f, "  %-9s %s\n", c->cc_name, c->cc_usage);
	fprintf(f, "in full only:\n");
	for (c = whole; c->cc_name != NULL; c++)
		fprintf(f, "  %-9s %s\n", c->cc_name, c->cc_usage);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL,	'j' },
		{ "help",	no_argument,		NULL,	'h' },
		{ "version",	no_argument,		NULL,	'V' },
		{ NULL,		0,			NULL,	0 }
	};
	struct ctl		 ctl;
	const struct ctl_cmd	*table, *c;
	struct turnd_conf	*conf;
	char			 err[CONF_ERR_LEN + 64], peek[128];
	int			 ch, rc;

	memset(&ctl, 0, sizeof(ctl));
	ctl.c_conf_path = TURND_CONF_DEFAULT;
	/* "+": options end at the command, whose own options follow it */
	while ((ch = getopt_long(argc, argv, "+c:s:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.c_conf_path = optarg;
			break;
		case 's':
			ctl.c_socket = optarg;
			break;
		case 'j':
			ctl.c_json = 1;
			break;
		case 'h':
			usage(stdout);
			return (CTL_OK);
		case 'V':
			printf("turnctl %s\n", PACKAGE_VERSION);
			return (CTL_OK);
		default:
			usage(stderr);
			return (CTL_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return (CTL_USAGE);
	}
	(void)log_open(LOG_LVL_WARN, "", 0);
	conf = conf_load(ctl.c_conf_path, err, sizeof(err));
	if (conf == NULL && ctl.c_socket == NULL) {
		/*
		 * A file turnd would refuse: say so, but still find the
		 * socket, so that "turnctl reload" can report turnd's own
		 * answer (turnd keeps running on its old configuration).
		 */
		fprintf(stderr, "turnctl: warning: %s\n", err);
		if (conf_peek_string(ctl.c_conf_path, "control.socket",
		    peek, sizeof(peek)) == 0)
			ctl.c_socket = peek;
		else if (access(ctl.c_conf_path, R_OK) == 0)
			ctl.c_socket = "/run/turnd/control.sock";
		else
			return (CTL_FAIL);
	}
	ctl.c_conf = conf;
	if (ctl.c_socket == NULL)
		ctl.c_socket = conf->control_socket;
	table = commands;
	for (c = whole; c->cc_name != NULL; c++)
		if (strcmp(c->cc_name, argv[0]) == 0)
			table = whole;
	if (ctl_lookup(table, argv[0], "command") == NULL) {
		usage(stderr);
		conf_free(conf);
		return (CTL_USAGE);
	}
	rc = ctl_dispatch(&ctl, table, "command", argc, argv);
	conf_free(conf);
	return (rc);
}
