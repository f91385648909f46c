/*
 * conf_value.c -- the value handlers of turnd.conf: one per enum
 * conf_type, each turning a libconfig setting into the field of struct
 * turnd_conf that its schema row (conf_table.c) names, with the type,
 * range, length and duplicate checks of that type.
 *
 * conf.c calls conf_set() for every setting of the file and for every
 * default, and conf_value_free() when it frees a conf.  Errors go
 * through conf_err(), here for conf.c too, and name the line and the
 * dotted key.
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "conf/conf.h"
#include "conf/conf_int.h"

#define CONF_LIST_MAX	1024		/* entries in one list */
#define CONF_QUOTE_MAX	72		/* a value quoted in a message */

/* A value being parsed, before it replaces the field. */
union conf_val {
	int			 v_int;
	char			*v_str;
	struct conf_addr	 v_addr;
	struct conf_addrs	 v_addrs;
	struct conf_cidrs	 v_cidrs;
	struct conf_strs	 v_strs;
	struct conf_users	 v_users;
};

/* "name:line: key: message" into the caller's buffer; returns -1. */
int
conf_err(struct conf_ctx *ctx, unsigned int line, const char *key,
    const char *fmt, ...)
{
	char	msg[CONF_ERR_LEN];
	va_list	ap;

	if (ctx->cx_err == NULL || ctx->cx_errlen == 0)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ctx->cx_err, ctx->cx_errlen, "%s:%u: %s: %s", ctx->cx_name,
	    line, key, msg);
	return (-1);
}

/* "a string", "an integer", ... for "expected X, got Y". */
const char *
conf_got(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return ("a group { ... }");
	case CONFIG_TYPE_INT:
		return ("an integer");
	case CONFIG_TYPE_INT64:
		return ("a 64-bit integer");
	case CONFIG_TYPE_FLOAT:
		return ("a float");
	case CONFIG_TYPE_STRING:
		return ("a string");
	case CONFIG_TYPE_BOOL:
		return ("a boolean");
	case CONFIG_TYPE_ARRAY:
		return ("an array [ ... ]");
	case CONFIG_TYPE_LIST:
		return ("a list ( ... )");
	}
	return ("nothing");
}

/* Quote a value for a message: printable, bounded, in buf. */
static const char *
conf_quote(const char *s, char *buf, size_t len)
{
	size_t	i = 0;

	buf[i++] = '"';
	for (; *s != '\0' && i < len - 5; s++)
		buf[i++] = isprint((unsigned char)*s) ? *s : '?';
	if (*s != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i++] = '"';
	buf[i] = '\0';
	return (buf);
}

/* ck_enum "a|b|c" as "\"a\", \"b\", \"c\"" in buf. */
static const char *
conf_enum_list(const struct conf_key *k, char *buf, size_t len)
{
	const char	*p = k->ck_enum;
	size_t		 n, used = 0;

	buf[0] = '\0';
	while (*p != '\0' && used < len) {
		n = strcspn(p, "|");
		used += (size_t)snprintf(buf + used, len - used, "%s\"%.*s\"",
		    used > 0 ? ", " : "", (int)n, p);
		p += n + (p[n] == '|');
	}
	return (buf);
}

static int
get_bool(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, union conf_val *v)
{
	const char	*str;

	if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
		v->v_int = config_setting_get_bool(s) ? 1 : 0;
		return (0);
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		str = config_setting_get_string(s);
		if (strcasecmp(str, "true") == 0 ||
		    strcasecmp(str, "false") == 0)
			return (conf_err(ctx, sline(s), k->ck_name,
			    "expected true or false, got a string "
			    "(write it without quotes)"));
	}
	return (conf_err(ctx, sline(s), k->ck_name,
	    "expected true or false, got %s", conf_got(s)));
}

static int
get_int(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, union conf_val *v)
{
	long long	 n;
	unsigned int	 i;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		n = config_setting_get_int(s);
		for (i = 0; i < ctx->cx_nbig; i++)
			if (ctx->cx_big[i].cb_line == sline(s) &&
			    ctx->cx_big[i].cb_value == n)
				return (conf_err(ctx, sline(s), k->ck_name,
				    "%s is out of range (%lld..%lld)",
				    ctx->cx_big[i].cb_text, k->ck_min,
				    k->ck_max));
		break;
	case CONFIG_TYPE_INT64:
		n = config_setting_get_int64(s);
		if (n >= k->ck_min && n <= k->ck_max)
			return (conf_err(ctx, sline(s), k->ck_name,
			    "expected an integer, got a 64-bit integer "
			    "(drop the L suffix)"));
		break;
	case CONFIG_TYPE_FLOAT:
		return (conf_err(ctx, sline(s), k->ck_name,
		    "expected an integer, got a float (%g)",
		    config_setting_get_float(s)));
	default:
		return (conf_err(ctx, sline(s), k->ck_name,
		    "expected an integer, got %s", conf_got(s)));
	}
	if (n < k->ck_min || n > k->ck_max)
		return (conf_err(ctx, sline(s), k->ck_name,
		    "%lld is out of range (%lld..%lld)", n, k->ck_min,
		    k->ck_max));
	v->v_int = (int)n;
	return (0);
}

/* Length of a string in [min, max]; what names it ("user"), or NULL. */
static int
check_len(struct conf_ctx *ctx, const struct conf_key *k, unsigned int line,
    const char *str, long long min, long long max, const char *what)
{
	size_t	len = strlen(str);

	if ((long long)len < min && len == 0)
		return (conf_err(ctx, line, k->ck_name, "%s%smust not be empty",
		    what ? what : "", what ? " " : ""));
	if ((long long)len < min || (long long)len > max)
		return (conf_err(ctx, line, k->ck_name,
		    "%s%slength %zu is out of range (%lld..%lld bytes)",
		    what ? what : "", what ? ": " : "", len, min, max));
	return (0);
}

static int
get_str(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, union conf_val *v)
{
	const char	*str;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return (conf_err(ctx, sline(s), k->ck_name,
		    "expected a string, got %s", conf_got(s)));
	str = config_setting_get_string(s);
	if (check_len(ctx, k, sline(s), str, k->ck_min, k->ck_max,
	    NULL) == -1)
		return (-1);
	v->v_str = xstrdup(str);
	return (0);
}

static int
get_enum(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, union conf_val *v)
{
	char		 list[CONF_ERR_LEN / 2], q[CONF_QUOTE_MAX];
	const char	*str, *p;
	size_t		 n;

	conf_enum_list(k, list, sizeof(list));
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return (conf_err(ctx, sline(s), k->ck_name,
		    "expected one of %s (in quotes), got %s", list,
		    conf_got(s)));
	str = config_setting_get_string(s);
	for (p = k->ck_enum;; p += n + 1) {
		n = strcspn(p, "|");
		if (n == strlen(str) && strncmp(p, str, n) == 0) {
			v->v_str = xstrdup(str);
			return (0);
		}
		if (p[n] == '\0')
			break;
	}
	return (conf_err(ctx, sline(s), k->ck_name, "%s is not one of %s",
	    conf_quote(str, q, sizeof(q)), list));
}

/* One "ip:port" (CONF_ADDR, CONF_ADDRS) or bare IP (CONF_IP, CONF_IPS). */
static int
parse_addr(struct conf_ctx *ctx, const struct conf_key *k, unsigned int line,
    const char *str, int ip_only, struct sockaddr_storage *ss)
{
	char		 q[CONF_QUOTE_MAX];
	const char	*why;

	if (!ip_only) {
		if (addr_parse(str, (uint16_t)k->ck_min, ss, &why) == 0)
			return (0);
		return (conf_err(ctx, line, k->ck_name, "%s: %s",
		    conf_quote(str, q, sizeof(q)), why));
	}
	if (addr_parse_ip(str, ss) == 0)
		return (0);
	if (addr_parse(str, 0, ss, NULL) == 0)
		return (conf_err(ctx, line, k->ck_name,
		    "%s: expected an IP address without a port",
		    conf_quote(str, q, sizeof(q))));
	return (conf_err(ctx, line, k->ck_name,
	    "%s: not a numeric IPv4 or IPv6 address",
	    conf_quote(str, q, sizeof(q))));
}

/* CONF_ADDR and CONF_IP: one string, "" for none. */
static int
get_addr(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, union conf_val *v)
{
	const char	*str;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return (conf_err(ctx, sline(s), k->ck_name,
		    "expected a string (%s), got %s",
		    k->ck_type == CONF_IP ? "\"ip\"" : "\"ip:port\"",
		    conf_got(s)));
	str = config_setting_get_string(s);
	if (*str == '\0')
		return (0);
	if (parse_addr(ctx, k, sline(s), str, k->ck_type == CONF_IP,
	    &v->v_addr.ca_ss) == -1)
		return (-1);
	v->v_addr.ca_set = 1;
	return (0);
}

/* Check that s is a list or an array; its length in *n. */
static int
list_len(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, const char *want, unsigned int *n)
{
	int	len;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return (conf_err(ctx, sline(s), k->ck_name,
		    "expected a list %s, got %s", want, conf_got(s)));
	len = config_setting_length(s);
	if (len > CONF_LIST_MAX)
		return (conf_err(ctx, sline(s), k->ck_name,
		    "%d entries, at most %d are allowed", len, CONF_LIST_MAX));
	*n = (unsigned int)len;
	return (0);
}

/* Entry i of a list of strings; *line is set for messages. */
static const char *
list_str(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, unsigned int i, unsigned int *line)
{
	const config_setting_t	*e = config_setting_get_elem(s, i);

	*line = sline(e) ? sline(e) : sline(s);
	if (config_setting_type(e) != CONFIG_TYPE_STRING) {
		conf_err(ctx, *line, k->ck_name,
		    "expected strings in the list, got %s", conf_got(e));
		return (NULL);
	}
	return (config_setting_get_string(e));
}

/* CONF_ADDRS, CONF_IPS: no entry twice. */
static int
get_addrs(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, union conf_val *v)
{
	struct conf_addrs	*a = &v->v_addrs;
	struct sockaddr		*sa;
	const char		*str;
	char			 q[CONF_QUOTE_MAX];
	unsigned int		 i, j, n, line;
	int			 ip_only = (k->ck_type == CONF_IPS);

	if (list_len(ctx, k, s, ip_only ? "[ \"ip\", ... ]" :
	    "[ \"ip:port\", ... ]", &n) == -1)
		return (-1);
	if (n > 0)
		a->ca_addr = xcalloc(n, sizeof(*a->ca_addr));
	for (i = 0; i < n; i++) {
		if ((str = list_str(ctx, k, s, i, &line)) == NULL ||
		    parse_addr(ctx, k, line, str, ip_only,
		    &a->ca_addr[i]) == -1)
			return (-1);
		sa = (struct sockaddr *)&a->ca_addr[i];
		for (j = 0; j < i; j++)
			if (addr_eq((struct sockaddr *)&a->ca_addr[j], sa))
				return (conf_err(ctx, line, k->ck_name,
				    "%s is listed twice",
				    conf_quote(str, q, sizeof(q))));
		a->ca_n++;
	}
	return (0);
}

static int
get_cidrs(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, union conf_val *v)
{
	struct conf_cidrs	*c = &v->v_cidrs;
	const char		*str, *why;
	char			 q[CONF_QUOTE_MAX];
	unsigned int		 i, n, line;

	if (list_len(ctx, k, s, "[ \"ip/prefix\", ... ]", &n) == -1)
		return (-1);
	if (n > 0)
		c->cc_cidr = xcalloc(n, sizeof(*c->cc_cidr));
	for (i = 0; i < n; i++) {
		if ((str = list_str(ctx, k, s, i, &line)) == NULL)
			return (-1);
		if (cidr_parse(str, &c->cc_cidr[i], &why) == -1)
			return (conf_err(ctx, line, k->ck_name, "%s: %s",
			    conf_quote(str, q, sizeof(q)), why));
		c->cc_n++;
	}
	return (0);
}

/* CONF_STRS: values are not echoed, they may be secrets. */
static int
get_strs(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, union conf_val *v)
{
	struct conf_strs	*l = &v->v_strs;
	const char		*str;
	unsigned int		 i, n, line;

	if (list_len(ctx, k, s, "[ \"...\", ... ]", &n) == -1)
		return (-1);
	if (n > 0)
		l->cs_str = xcalloc(n, sizeof(*l->cs_str));
	for (i = 0; i < n; i++) {
		if ((str = list_str(ctx, k, s, i, &line)) == NULL ||
		    check_len(ctx, k, line, str, k->ck_min, k->ck_max,
		    "entry") == -1)
			return (-1);
		l->cs_str[l->cs_n++] = xstrdup(str);
	}
	return (0);
}

/* One { user = "..."; password = "..."; } group. */
static int
get_user(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *e, struct conf_user *u)
{
	const config_setting_t	*m;
	const char		*name, *val;
	char			**dst;
	int			 i, n;

	n = config_setting_length(e);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(e, (unsigned int)i);
		name = config_setting_name(m);
		if (strcmp(name, "user") == 0)
			dst = &u->cu_user;
		else if (strcmp(name, "password") == 0)
			dst = &u->cu_password;
		else
			return (conf_err(ctx, sline(m), k->ck_name,
			    "unknown key \"%s\" in a user entry "
			    "(expected user and password)", name));
		if (config_setting_type(m) != CONFIG_TYPE_STRING)
			return (conf_err(ctx, sline(m), k->ck_name,
			    "%s: expected a string, got %s", name,
			    conf_got(m)));
		val = config_setting_get_string(m);
		if (check_len(ctx, k, sline(m), val, k->ck_min, k->ck_max,
		    name) == -1)
			return (-1);
		*dst = xstrdup(val);
	}
	if (u->cu_user == NULL || u->cu_password == NULL)
		return (conf_err(ctx, sline(e), k->ck_name,
		    "user entry without %s",
		    u->cu_user == NULL ? "user" : "password"));
	return (0);
}

static int
get_users(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, union conf_val *v)
{
	struct conf_users	*l = &v->v_users;
	const config_setting_t	*e;
	char			 q[CONF_QUOTE_MAX];
	unsigned int		 i, j, n;

	if (list_len(ctx, k, s, "( { user = \"...\"; password = \"...\"; }, "
	    "... )", &n) == -1)
		return (-1);
	if (n > 0)
		l->cu = xcalloc(n, sizeof(*l->cu));
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (!config_setting_is_group(e))
			return (conf_err(ctx, sline(e) ? sline(e) : sline(s),
			    k->ck_name, "expected { user = \"...\"; "
			    "password = \"...\"; } entries, got %s",
			    conf_got(e)));
		l->cu_n++;
		if (get_user(ctx, k, e, &l->cu[i]) == -1)
			return (-1);
		for (j = 0; j < i; j++)
			if (strcmp(l->cu[j].cu_user, l->cu[i].cu_user) == 0)
				return (conf_err(ctx, sline(e), k->ck_name,
				    "user %s is listed twice (first at "
				    "line %u)", conf_quote(l->cu[i].cu_user,
				    q, sizeof(q)),
				    sline(config_setting_get_elem(s, j))));
	}
	return (0);
}

/* Free what a value of key k owns. */
static void
val_free(const struct conf_key *k, union conf_val *v)
{
	unsigned int	i;

	switch (k->ck_type) {
	case CONF_STR:
	case CONF_ENUM:
		free(v->v_str);
		break;
	case CONF_ADDRS:
	case CONF_IPS:
		free(v->v_addrs.ca_addr);
		break;
	case CONF_CIDRS:
		free(v->v_cidrs.cc_cidr);
		break;
	case CONF_STRS:
		for (i = 0; i < v->v_strs.cs_n; i++)
			free(v->v_strs.cs_str[i]);
		free(v->v_strs.cs_str);
		break;
	case CONF_USERS:
		for (i = 0; i < v->v_users.cu_n; i++) {
			free(v->v_users.cu[i].cu_user);
			free(v->v_users.cu[i].cu_password);
		}
		free(v->v_users.cu);
		break;
	default:
		break;
	}
}

typedef int	(*conf_get_cb)(struct conf_ctx *, const struct conf_key *,
		    const config_setting_t *, union conf_val *);

/* Per type: the parser, and the size of the field it fills. */
static const struct {
	conf_get_cb	 ct_get;
	size_t		 ct_size;
} conf_types[] = {
	[CONF_BOOL] =	{ get_bool,	sizeof(int) },
	[CONF_INT] =	{ get_int,	sizeof(int) },
	[CONF_STR] =	{ get_str,	sizeof(char *) },
	[CONF_ENUM] =	{ get_enum,	sizeof(char *) },
	[CONF_ADDR] =	{ get_addr,	sizeof(struct conf_addr) },
	[CONF_ADDRS] =	{ get_addrs,	sizeof(struct conf_addrs) },
	[CONF_IP] =	{ get_addr,	sizeof(struct conf_addr) },
	[CONF_IPS] =	{ get_addrs,	sizeof(struct conf_addrs) },
	[CONF_CIDRS] =	{ get_cidrs,	sizeof(struct conf_cidrs) },
	[CONF_STRS] =	{ get_strs,	sizeof(struct conf_strs) },
	[CONF_USERS] =	{ get_users,	sizeof(struct conf_users) },
};

/*
 * Parse setting s as key k and, if it is good, replace the field in
 * conf (freeing the old value).  On error conf is unchanged.
 */
int
conf_set(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, struct turnd_conf *conf)
{
	union conf_val	 v, old;
	char		*field = (char *)conf + k->ck_off;
	size_t		 size = conf_types[k->ck_type].ct_size;

	memset(&v, 0, sizeof(v));
	if (conf_types[k->ck_type].ct_get(ctx, k, s, &v) == -1) {
		val_free(k, &v);
		return (-1);
	}
	memset(&old, 0, sizeof(old));
	memcpy(&old, field, size);
	val_free(k, &old);
	memcpy(field, &v, size);
	return (0);
}

/* Free what the field of key k in conf owns. */
void
conf_value_free(const struct conf_key *k, struct turnd_conf *conf)
{
	union conf_val	v;

	memset(&v, 0, sizeof(v));
	memcpy(&v, (char *)conf + k->ck_off, conf_types[k->ck_type].ct_size);
	val_free(k, &v);
}

/* A copy of v, of key k's type, that owns its own memory. */
static void
val_dup(const struct conf_key *k, const union conf_val *v,
    union conf_val *out)
{
	unsigned int	i, n;

	*out = *v;
	switch (k->ck_type) {
	case CONF_STR:
	case CONF_ENUM:
		out->v_str = v->v_str != NULL ? xstrdup(v->v_str) : NULL;
		break;
	case CONF_ADDRS:
	case CONF_IPS:
		if ((n = v->v_addrs.ca_n) == 0)
			break;
		out->v_addrs.ca_addr = xreallocarray(NULL, n,
		    sizeof(*v->v_addrs.ca_addr));
		memcpy(out->v_addrs.ca_addr, v->v_addrs.ca_addr,
		    n * sizeof(*v->v_addrs.ca_addr));
		break;
	case CONF_CIDRS:
		if ((n = v->v_cidrs.cc_n) == 0)
			break;
		out->v_cidrs.cc_cidr = xreallocarray(NULL, n,
		    sizeof(*v->v_cidrs.cc_cidr));
		memcpy(out->v_cidrs.cc_cidr, v->v_cidrs.cc_cidr,
		    n * sizeof(*v->v_cidrs.cc_cidr));
		break;
	case CONF_STRS:
		if ((n = v->v_strs.cs_n) == 0)
			break;
		out->v_strs.cs_str = xcalloc(n, sizeof(*out->v_strs.cs_str));
		for (i = 0; i < n; i++)
			out->v_strs.cs_str[i] = xstrdup(v->v_strs.cs_str[i]);
		break;
	case CONF_USERS:
		if ((n = v->v_users.cu_n) == 0)
			break;
		out->v_users.cu = xcalloc(n, sizeof(*out->v_users.cu));
		for (i = 0; i < n; i++) {
			out->v_users.cu[i].cu_user =
			    xstrdup(v->v_users.cu[i].cu_user);
			out->v_users.cu[i].cu_password =
			    xstrdup(v->v_users.cu[i].cu_password);
		}
		break;
	default:
		break;
	}
}

/* Replace the field of key k in dst with a copy of src's. */
void
conf_value_copy(const struct conf_key *k, struct turnd_conf *dst,
    const struct turnd_conf *src)
{
	union conf_val	 v, copy;
	char		*field = (char *)dst + k->ck_off;
	size_t		 size = conf_types[k->ck_type].ct_size;

	memset(&v, 0, sizeof(v));
	memcpy(&v, (const char *)src + k->ck_off, size);
	memset(&copy, 0, sizeof(copy));
	val_dup(k, &v, &copy);
	conf_value_free(k, dst);
	memcpy(field, &copy, size);
}
