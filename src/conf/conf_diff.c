/*
 * conf_diff.c -- comparing two configurations key by key, and keeping
 * the running value of a key in a new one (reload, conf.h).
 */

#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"

#define FIELD(c, k)	((char *)(c) + (k)->ck_off)

static int
strs_equal(const struct conf_strs *a, const struct conf_strs *b)
{
	unsigned int	i;

	if (a->cs_n != b->cs_n)
		return (0);
	for (i = 0; i < a->cs_n; i++)
		if (strcmp(a->cs_str[i], b->cs_str[i]) != 0)
			return (0);
	return (1);
}

static int
users_equal(const struct conf_users *a, const struct conf_users *b)
{
	unsigned int	i;

	if (a->cu_n != b->cu_n)
		return (0);
	for (i = 0; i < a->cu_n; i++)
		if (strcmp(a->cu[i].cu_user, b->cu[i].cu_user) != 0 ||
		    strcmp(a->cu[i].cu_password, b->cu[i].cu_password) != 0)
			return (0);
	return (1);
}

int
conf_key_equal(const struct turnd_conf *a, const struct turnd_conf *b,
    const struct conf_key *k)
{
	const void	*x = FIELD(a, k), *y = FIELD(b, k);
	const struct conf_addrs	*aa, *ab;
	const struct conf_cidrs	*ca, *cb;

	switch (k->ck_type) {
	case CONF_BOOL:
	case CONF_INT:
		return (*(const int *)x == *(const int *)y);
	case CONF_STR:
	case CONF_ENUM:
		return (strcmp(*(char *const *)x, *(char *const *)y) == 0);
	case CONF_ADDR:
	case CONF_IP:
		return (memcmp(x, y, sizeof(struct conf_addr)) == 0);
	case CONF_ADDRS:
	case CONF_IPS:
		aa = x;
		ab = y;
		return (aa->ca_n == ab->ca_n && (aa->ca_n == 0 ||
		    memcmp(aa->ca_addr, ab->ca_addr, aa->ca_n *
		    sizeof(*aa->ca_addr)) == 0));
	case CONF_CIDRS:
		ca = x;
		cb = y;
		return (ca->cc_n == cb->cc_n && (ca->cc_n == 0 ||
		    memcmp(ca->cc_cidr, cb->cc_cidr, ca->cc_n *
		    sizeof(*ca->cc_cidr)) == 0));
	case CONF_STRS:
		return (strs_equal(x, y));
	case CONF_USERS:
		return (users_equal(x, y));
	}
	return (0);
}

void
conf_key_keep(struct turnd_conf *nc, const struct turnd_conf *old,
    const struct conf_key *k)
{
	conf_value_copy(k, nc, old);
}
