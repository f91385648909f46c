/*
 * conf_int.h -- what conf.c (the load) and conf_value.c (the per-type
 * value handlers and the error messages) share; private to src/conf,
 * not part of conf.h.
 */

#ifndef CONF_INT_H
#define CONF_INT_H

#include <stddef.h>

#include <libconfig.h>

#include "conf/conf.h"

/*
 * An integer literal that libconfig 1.5 truncated: it reads integers
 * with atoi(3), so 4294967297 arrives as 1.  conf_prescan() finds them
 * in the text; get_int() recognises the setting by line and value.
 */
struct conf_bigint {
	unsigned int	 cb_line;
	int		 cb_value;	/* what libconfig stored */
	char		 cb_text[24];	/* what the file says */
};

/* One load: where messages go and what to call the file in them. */
struct conf_ctx {
	const char		*cx_name;
	char			*cx_err;
	size_t			 cx_errlen;
	struct conf_bigint	*cx_big;
	unsigned int		 cx_nbig;
};

static inline unsigned int
sline(const config_setting_t *s)
{
	return ((unsigned int)config_setting_source_line(s));
}

/* conf_value.c */

/* "name:line: key: message" into the caller's buffer; returns -1. */
int		 conf_err(struct conf_ctx *, unsigned int, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
/* "a string", "an integer", ... for "expected X, got Y". */
const char	*conf_got(const config_setting_t *);
/*
 * Parse setting s as key k and, if it is good, replace the field in
 * conf (freeing the old value).  On error conf is unchanged, the
 * message is in ctx, and -1 is returned.
 */
int		 conf_set(struct conf_ctx *, const struct conf_key *,
		    const config_setting_t *, struct turnd_conf *);
/* Free what the field of key k in conf owns (conf_free()). */
void		 conf_value_free(const struct conf_key *, struct turnd_conf *);
/* Replace the field of key k in dst with a copy of src's (conf_key_keep()). */
void		 conf_value_copy(const struct conf_key *,
		    struct turnd_conf *dst, const struct turnd_conf *src);

#endif /* CONF_INT_H */
