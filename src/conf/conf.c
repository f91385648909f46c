/*
 * conf.c -- load turnd.conf: libconfig reads the syntax, the schema table
 * (conf_table.c) decides everything else, then conf_check() looks at
 * settings that depend on each other.
 *
 * Every error names the file, the line and the dotted key, and stops the
 * load: "turnd.conf:12: relay.min_port: 80 is out of range (1024..65535)".
 * Defaults go through the same type handlers (conf_value.c, which also
 * formats the messages) as the file.
 * The table and conf_check() live in conf_table.c.  No globals but the
 * table, no static buffers: loads may run in any thread.  Also the
 * lookups on a loaded conf that several modules share.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "conf/conf_int.h"

#define CONF_FILE_MAX	(1024 * 1024)	/* bytes of turnd.conf */
#define CONF_PATH_MAX	256		/* a dotted path */

/*
 * Find integer literals that libconfig 1.5 would truncate, and refuse
 * @include: every file:line we print must point into the one file, and
 * included text would escape this scan.  Strings and comments are
 * skipped; lines are counted as libconfig counts them.
 */
static int
conf_prescan(struct conf_ctx *ctx, const char *p)
{
	struct conf_bigint	*b;
	const char		*start, *q;
	unsigned int		 line = 1;
	long long		 v;
	int			 big, value;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/');
			    p++)
				line += (*p == '\n');
			p += (*p != '\0') ? 2 : 0;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				line += (*p == '\n');
			}
			p += (*p != '\0');
		} else if (*p == '@') {
			if (strncmp(p, "@include", 8) == 0)
				return (conf_err(ctx, line, "@include",
				    "not supported; keep the whole "
				    "configuration in one file"));
			p++;
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			while (isalnum((unsigned char)*p) || *p == '-' ||
			    *p == '_' || *p == '*')
				p++;
		} else if (*p == '.' && isdigit((unsigned char)p[1])) {
			/* a float such as .5 */
			for (p++; isalnum((unsigned char)*p) || *p == '.'; p++)
				;
		} else if (isdigit((unsigned char)*p) || ((*p == '-' ||
		    *p == '+') && isdigit((unsigned char)p[1]))) {
			start = p;
			q = p + 1;
			if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
				for (q = p + 2; isxdigit((unsigned char)*q); q++)
					;
				errno = 0;
				v = (long long)strtoull(p, NULL, 16);
				big = (errno == ERANGE || v < 0 || v > INT_MAX);
				value = (int)strtoul(p, NULL, 16);
			} else {
				while (isdigit((unsigned char)*q))
					q++;
				errno = 0;
				v = strtoll(p, NULL, 10);
				big = (errno == ERANGE || v > INT_MAX ||
				    v < INT_MIN);
				value = (int)strtol(p, NULL, 10);
			}
			if (*q == '.' || *q == 'e' || *q == 'E' || *q == 'L')
				big = 0;	/* float or int64: kept whole */
			while (isalnum((unsigned char)*q) || *q == '.' ||
			    ((*q == '-' || *q == '+') &&
			    (q[-1] == 'e' || q[-1] == 'E')))
				q++;
			if (big) {
				ctx->cx_big = xreallocarray(ctx->cx_big,
				    ctx->cx_nbig + 1, sizeof(*ctx->cx_big));
				b = &ctx->cx_big[ctx->cx_nbig++];
				b->cb_line = line;
				b->cb_value = value;
				if ((size_t)(q - start) < sizeof(b->cb_text))
					snprintf(b->cb_text, sizeof(b->cb_text),
					    "%.*s", (int)(q - start), start);
				else
					snprintf(b->cb_text, sizeof(b->cb_text),
					    "%.19s...", start);
			}
			p = q;
		} else
			p++;
	}
	return (0);
}

/* ------------------------------------------------------------- walk */

/* An unknown key, with a hint when one is close. */
static int
conf_unknown(struct conf_ctx *ctx, unsigned int line, const char *path,
    const char *prefix, const char *name)
{
	char	hint[CONF_PATH_MAX];

	if (conf_key_suggest(prefix, name, hint, sizeof(hint)) != NULL)
		return (conf_err(ctx, line, path,
		    "unknown key (did you mean %s?)", hint));
	return (conf_err(ctx, line, path, "unknown key"));
}

/* Is path a section: a proper prefix of some key? */
static int
conf_is_section(const char *path)
{
	size_t		len = strlen(path);
	unsigned int	i;

	for (i = 0; i < conf_nkeys; i++)
		if (strncmp(conf_keys[i].ck_name, path, len) == 0 &&
		    conf_keys[i].ck_name[len] == '.')
			return (1);
	return (0);
}

/* Check every setting of group g (path prefix) against the table. */
static int
conf_walk(struct conf_ctx *ctx, const config_setting_t *g,
    const char *prefix, struct turnd_conf *conf)
{
	const config_setting_t	*s;
	const struct conf_key	*k;
	const char		*name;
	char			 path[CONF_PATH_MAX];
	int			 i, n;

	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, (unsigned int)i);
		name = config_setting_name(s);
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix != '\0' ? "." : "", name);
		if ((k = conf_key_find(path)) != NULL) {
			if (conf_set(ctx, k, s, conf) == -1)
				return (-1);
			conf->key_line[k - conf_keys] = sline(s);
		} else if (conf_is_section(path)) {
			if (!config_setting_is_group(s))
				return (conf_err(ctx, sline(s), path,
				    "expected a section { ... }, got %s",
				    conf_got(s)));
			if (conf_walk(ctx, s, path, conf) == -1)
				return (-1);
		} else
			return (conf_unknown(ctx, sline(s), path, prefix,
			    name));
	}
	return (0);
}

/* ------------------------------------------------------------ public */

struct turnd_conf *
conf_new_defaults(void)
{
	struct turnd_conf	*conf;
	struct conf_ctx		 ctx;
	const struct conf_key	*k;
	config_t		 cfg;
	char			 err[CONF_ERR_LEN], *text;
	unsigned int		 i;

	conf = xcalloc(1, sizeof(*conf));
	atomic_init(&conf->refs, 1);
	conf->key_line = xcalloc(conf_nkeys, sizeof(*conf->key_line));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cx_name = "default";
	ctx.cx_err = err;
	ctx.cx_errlen = sizeof(err);
	for (i = 0; i < conf_nkeys; i++) {
		k = &conf_keys[i];
		text = xasprintf("default = %s;", k->ck_default);
		config_init(&cfg);
		if (config_read_string(&cfg, text) == CONFIG_FALSE)
			fatalx("%s: default %s: %s", k->ck_name, k->ck_default,
			    config_error_text(&cfg));
		if (conf_set(&ctx, k, config_lookup(&cfg, "default"),
		    conf) == -1)
			fatalx("%s", err);
		config_destroy(&cfg);
		free(text);
	}
	return (conf);
}

struct turnd_conf *
conf_load_string(const char *text, const char *name, char *err,
    size_t errlen)
{
	struct turnd_conf	*conf;
	struct conf_ctx		 ctx;
	config_t		 cfg;
	const char		*file;
	int			 rv;

	if (name == NULL)
		name = "(string)";
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&ctx, 0, sizeof(ctx));
	ctx.cx_name = name;
	ctx.cx_err = err;
	ctx.cx_errlen = errlen;

	conf = conf_new_defaults();
	conf->path = xstrdup(name);
	if (conf_prescan(&ctx, text) == -1)
		goto fail;
	config_init(&cfg);
	if (config_read_string(&cfg, text) == CONFIG_FALSE) {
		file = config_error_file(&cfg);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s:%d: %s",
			    file != NULL ? file : name,
			    config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		goto fail;
	}
	rv = conf_walk(&ctx, config_root_setting(&cfg), "", conf);
	config_destroy(&cfg);
	if (rv == -1 || conf_check(conf, err, errlen) == -1)
		goto fail;
	free(ctx.cx_big);
	return (conf);
fail:
	free(ctx.cx_big);
	conf_free(conf);
	return (NULL);
}

struct turnd_conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct turnd_conf	*conf;
	FILE			*fp;
	char			*text;
	size_t			 len = 0, size = 8192, n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	text = xmalloc(size);
	while ((n = fread(text + len, 1, size - len - 1, fp)) > 0) {
		len += n;
		if (len > CONF_FILE_MAX)
			break;
		if (len == size - 1) {
			text = xreallocarray(text, 2, size);
			size *= 2;
		}
	}
	if (ferror(fp) || len > CONF_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, len > CONF_FILE_MAX ?
		    "larger than 1 MiB" : strerror(errno));
		fclose(fp);
		free(text);
		return (NULL);
	}
	fclose(fp);
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		return (NULL);
	}
	conf = conf_load_string(text, path, err, errlen);
	free(text);
	return (conf);
}

const struct turnd_conf *
conf_ref(const struct turnd_conf *conf)
{
	if (conf != NULL)
		atomic_fetch_add_explicit(&((struct turnd_conf *)conf)->refs,
		    1, memory_order_relaxed);
	return (conf);
}

/*
 * The last reference frees: acq_rel, so that what other holders did
 * with the conf happens before the free (the release of each unref,
 * the acquire of the last).
 */
void
conf_unref(const struct turnd_conf *cconf)
{
	struct turnd_conf	*conf = (struct turnd_conf *)cconf;
	unsigned int		 i;

	if (conf == NULL || atomic_fetch_sub_explicit(&conf->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < conf_nkeys; i++)
		conf_value_free(&conf_keys[i], conf);
	free(conf->path);
	free(conf->key_line);
	free(conf);
}

void
conf_free(struct turnd_conf *conf)
{
	conf_unref(conf);
}

int
conf_peek_string(const char *path, const char *key, char *out, size_t len)
{
	config_t	 cfg;
	const char	*v = NULL;
	int		 rc = -1;

	config_init(&cfg);
	if (config_read_file(&cfg, path) == CONFIG_TRUE &&
	    config_lookup_string(&cfg, key, &v) == CONFIG_TRUE &&
	    strlen(v) < len) {
		memcpy(out, v, strlen(v) + 1);
		rc = 0;
	}
	config_destroy(&cfg);
	return (rc);
}

int
conf_relay_external(const struct turnd_conf *conf, int family, uint16_t port,
    struct sockaddr_storage *out)
{
	const struct conf_addrs	*ca = &conf->relay_external;
	unsigned int		 i;

	for (i = 0; i < ca->ca_n; i++)
		if (ca->ca_addr[i].ss_family == family) {
			*out = ca->ca_addr[i];
			addr_set_port((struct sockaddr *)out, port);
			return (0);
		}
	return (-1);
}
