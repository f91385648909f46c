/*
 * test_alloc.c -- the allocation table, permissions and channel binding
 * rules (RFC 8656 sections 9 and 11), with a fake clock.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "stun/stun.h"
#include "turn/alloc.h"
#include "unit.h"

static struct sockaddr_storage
sa(const char *s)
{
	struct sockaddr_storage	ss;

	if (addr_parse(s, 0, &ss, NULL) == -1)
		abort();
	return (ss);
}
static struct sockaddr_storage	tmp[8];
static unsigned int		ntmp;

static struct sockaddr *
A(const char *s)
{
	struct sockaddr_storage	*ss = &tmp[ntmp++ % 8];

	*ss = sa(s);
	return ((struct sockaddr *)ss);
}

static void
test_table(void)
{
	struct alloc_table	*t = alloc_table_new();
	struct alloc		*a, *b;
	struct sockaddr_storage	 c1 = sa("192.0.2.1:5000"), c2 = sa("192.0.2.1:5001");
	struct sockaddr_storage	 l = sa("198.51.100.1:3478"), l2 = sa("198.51.100.1:3479");
	unsigned int		 i;

	a = alloc_new(t, TRANSPORT_UDP, (struct sockaddr *)&c1,
	    (struct sockaddr *)&l);
	CHECK(a != NULL);
	CHECK_EQ_INT(alloc_table_count(t), 1);
	CHECK(alloc_find(t, TRANSPORT_UDP, (struct sockaddr *)&c1,
	    (struct sockaddr *)&l) == a);
	/* any part of the 5-tuple differing: another allocation */
	CHECK(alloc_find(t, TRANSPORT_TCP, (struct sockaddr *)&c1,
	    (struct sockaddr *)&l) == NULL);
	CHECK(alloc_find(t, TRANSPORT_UDP, (struct sockaddr *)&c2,
	    (struct sockaddr *)&l) == NULL);
	CHECK(alloc_find(t, TRANSPORT_UDP, (struct sockaddr *)&c1,
	    (struct sockaddr *)&l2) == NULL);
	b = alloc_new(t, TRANSPORT_UDP, (struct sockaddr *)&c2,
	    (struct sockaddr *)&l);
	CHECK(b != a && a->a_id != b->a_id);
	CHECK(alloc_find(t, TRANSPORT_UDP, (struct sockaddr *)&c2,
	    (struct sockaddr *)&l) == b);
	alloc_free(t, a);
	CHECK_EQ_INT(alloc_table_count(t), 1);
	CHECK(alloc_find(t, TRANSPORT_UDP, (struct sockaddr *)&c1,
	    (struct sockaddr *)&l) == NULL);
	alloc_free(t, b);
	alloc_free(t, NULL);

	/* many: each found again, all removed */
	for (i = 0; i < 3000; i++) {
		addr_set_port((struct sockaddr *)&c1, (uint16_t)(1000 + i));
		alloc_new(t, TRANSPORT_UDP, (struct sockaddr *)&c1,
		    (struct sockaddr *)&l);
	}
	CHECK_EQ_INT(alloc_table_count(t), 3000);
	for (i = 0; i < 3000; i++) {
		addr_set_port((struct sockaddr *)&c1, (uint16_t)(1000 + i));
		a = alloc_find(t, TRANSPORT_UDP, (struct sockaddr *)&c1,
		    (struct sockaddr *)&l);
		CHECK(a != NULL);
		if (a != NULL)
			alloc_free(t, a);
	}
	CHECK_EQ_INT(alloc_table_count(t), 0);
	alloc_table_free(t);
}

static struct alloc *
one(struct alloc_table *t)
{
	return (alloc_new(t, TRANSPORT_UDP, A("192.0.2.1:5000"),
	    A("198.51.100.1:3478")));
}

static void
test_perms(void)
{
	struct alloc_table	*t = alloc_table_new();
	struct alloc		*a = one(t);
	char			 ip[32];
	unsigned int		 i;

	CHECK_EQ_INT(perm_check(a, A("203.0.113.9:1"), 100), 0);
	CHECK_EQ_INT(perm_install(a, A("203.0.113.9:1"), 100, 400), 0);
	/* the port does not matter (RFC 8656 9) */
	CHECK_EQ_INT(perm_check(a, A("203.0.113.9:65000"), 100), 1);
	CHECK_EQ_INT(perm_check(a, A("203.0.113.10:1"), 100), 0);
	CHECK_EQ_INT(perm_check(a, A("203.0.113.9:1"), 399), 1);
	CHECK_EQ_INT(perm_check(a, A("203.0.113.9:1"), 400), 0);
	/* a refresh extends it, no new slot */
	CHECK_EQ_INT(perm_install(a, A("203.0.113.9:2"), 300, 700), 0);
	CHECK_EQ_INT(a->a_nperm, 1);
	CHECK_EQ_INT(perm_check(a, A("203.0.113.9:1"), 600), 1);
	/* IPv6 peers are separate */
	CHECK_EQ_INT(perm_install(a, A("[2001:db8::9]:1"), 300, 700), 0);
	CHECK_EQ_INT(perm_check(a, A("[2001:db8::9]:7"), 301), 1);
	CHECK_EQ_INT(perm_check(a, A("[2001:db8::a]:7"), 301), 0);

	/* full: the 65th live one is refused, an expired slot is reused */
	for (i = a->a_nperm; i < ALLOC_PERMS_MAX; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%u:1", 100 + i);
		CHECK_EQ_INT(perm_install(a, A(ip), 300, 800 + i), 0);
	}
	CHECK_EQ_INT(perm_install(a, A("203.0.114.1:1"), 300, 900), -1);
	CHECK_EQ_INT(perm_install(a, A("203.0.114.1:1"), 750, 900), 0);
	CHECK_EQ_INT(a->a_nperm, ALLOC_PERMS_MAX);
	CHECK_EQ_INT(perm_check(a, A("203.0.114.1:1"), 751), 1);
	CHECK_EQ_INT(perm_check(a, A("203.0.113.9:1"), 751), 0);
	alloc_free(t, a);
	alloc_table_free(t);
}

static void
test_channels(void)
{
	struct alloc_table	*t = alloc_table_new();
	struct alloc		*a = one(t);
	const struct chan	*c;
	char			 ip[32];
	unsigned int		 i;

	/* range (RFC 8656 11.1) */
	CHECK_EQ_INT(chan_bind(a, 0x3fff, STUN_CHAN_MAX, A("203.0.113.9:9"), 0, 600, 300),
	    STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(chan_bind(a, 0x5000, STUN_CHAN_MAX, A("203.0.113.9:9"), 0, 600, 300),
	    STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(chan_bind(a, 0x4000, STUN_CHAN_MAX, A("203.0.113.9:9"), 0,
	    600, 300), 0);
	c = chan_by_num(a, 0x4000, 1);
	CHECK(c != NULL && addr_eq((struct sockaddr *)&c->ch_peer,
	    A("203.0.113.9:9")));
	CHECK(chan_by_peer(a, A("203.0.113.9:9"), 1) == c);
	/* the peer's port matters for channels */
	CHECK(chan_by_peer(a, A("203.0.113.9:10"), 1) == NULL);
	/* binding installs the permission (11.2) */
	CHECK_EQ_INT(perm_check(a, A("203.0.113.9:1"), 299), 1);
	CHECK_EQ_INT(perm_check(a, A("203.0.113.9:1"), 300), 0);
	/* refresh of the same binding */
	CHECK_EQ_INT(chan_bind(a, 0x4000, STUN_CHAN_MAX, A("203.0.113.9:9"), 500, 1100, 800),
	    0);
	CHECK(chan_by_num(a, 0x4000, 1000) != NULL);
	CHECK_EQ_INT(a->a_nchan, 1);
	/* same number to another peer, same peer to another number: 400 */
	CHECK_EQ_INT(chan_bind(a, 0x4000, STUN_CHAN_MAX, A("203.0.113.9:10"), 600, 1200, 900),
	    STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(chan_bind(a, 0x4001, STUN_CHAN_MAX, A("203.0.113.9:9"), 600, 1200, 900),
	    STUN_ERR_BAD_REQUEST);
	/* expired but quarantined for 5 minutes: still 400 */
	CHECK(chan_by_num(a, 0x4000, 1100) == NULL);
	CHECK_EQ_INT(chan_bind(a, 0x4000, STUN_CHAN_MAX, A("203.0.113.9:10"), 1200, 1800,
	    1500), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(chan_bind(a, 0x4001, STUN_CHAN_MAX, A("203.0.113.9:9"), 1399, 2000,
	    1700), STUN_ERR_BAD_REQUEST);
	/* the same pair may be bound again at any time */
	CHECK_EQ_INT(chan_bind(a, 0x4000, STUN_CHAN_MAX, A("203.0.113.9:9"), 1300, 1900,
	    1600), 0);
	CHECK(chan_by_num(a, 0x4000, 1301) != NULL);
	/* after expiry + quarantine the number is free for another peer */
	CHECK_EQ_INT(chan_bind(a, 0x4000, STUN_CHAN_MAX, A("203.0.113.9:10"), 2200, 2800,
	    2500), 0);
	c = chan_by_num(a, 0x4000, 2201);
	CHECK(c != NULL && addr_port((struct sockaddr *)&c->ch_peer) == 10);
	CHECK_EQ_INT(a->a_nchan, 1);

	/* full: 508; IPv6 peers work too */
	for (i = 1; i < ALLOC_CHANS_MAX; i++) {
		snprintf(ip, sizeof(ip), "[2001:db8::%x]:9", i);
		CHECK_EQ_INT(chan_bind(a, (uint16_t)(0x4000 + i), STUN_CHAN_MAX, A(ip), 2300,
		    2900, 2600), 0);
	}
	CHECK_EQ_INT(chan_bind(a, 0x4fff, STUN_CHAN_MAX, A("203.0.113.200:9"), 2300, 2900,
	    2600), STUN_ERR_INSUFFICIENT_CAPACITY);
	CHECK(chan_by_num(a, 0x4003, 2301) != NULL);
	alloc_free(t, a);

	/* RFC 5766's wider range, when the caller allows it */
	a = one(t);
	CHECK_EQ_INT(chan_bind(a, 0x6c98, STUN_CHAN_MAX, A("203.0.113.8:9"), 0,
	    600, 300), STUN_ERR_BAD_REQUEST);
	CHECK_EQ_INT(chan_bind(a, 0x6c98, STUN_CHAN_RFC5766_MAX,
	    A("203.0.113.8:9"), 0, 600, 300), 0);
	CHECK_EQ_INT(chan_bind(a, 0x7fff, STUN_CHAN_RFC5766_MAX,
	    A("203.0.113.7:9"), 0, 600, 300), STUN_ERR_BAD_REQUEST);
	CHECK(chan_by_num(a, 0x6c98, 1) != NULL);
	alloc_free(t, a);
	alloc_table_free(t);
}

int
main(void)
{
	RUN(test_table);
	RUN(test_perms);
	RUN(test_channels);
	return (unit_done());
}
