/*
 * turn_admin.c -- what turnctl asks of a worker's allocations: list them
 * (text or JSON), and end them.  Runs on the worker that owns them.
 */

#include <stdio.h>
#include <string.h>

#include "common/addr.h"
#include "common/sbuf.h"
#include "conf/conf.h"
#include "turn/alloc.h"
#include "turn/server.h"
#include "turn/server_int.h"

int
server_filter_match(const struct server_filter *f, const struct alloc *a,
    time_t now)
{
	unsigned int	i;

	if (f->sf_id != 0 && a->a_id != f->sf_id)
		return (0);
	if (f->sf_user != NULL && strcmp(a->a_user, f->sf_user) != 0)
		return (0);
	if (f->sf_peer.ss_family != 0) {
		for (i = 0; i < a->a_nperm; i++)
			if (a->a_perm[i].p_expires > now &&
			    addr_ip_eq((const struct sockaddr *)
			    &a->a_perm[i].p_peer,
			    (const struct sockaddr *)&f->sf_peer))
				break;
		if (i == a->a_nperm)
			return (0);
	}
	return (1);
}

/* One allocation as a JSON object, but its closing brace. */
static void
session_json(struct sbuf *sb, const struct alloc *a, time_t now)
{
	char		buf[ADDR_STRLEN];
	unsigned int	i, n;

	sbuf_printf(sb, "{\"id\":\"%020llu\",\"user\":",
	    (unsigned long long)a->a_id);
	sbuf_json_str(sb, a->a_user);
	sbuf_printf(sb, ",\"transport\":\"%s\",\"client\":\"%s\"",
	    transport_name(a->a_transport), addr_fmt((const struct sockaddr *)
	    &a->a_client, buf, sizeof(buf)));
	sbuf_printf(sb, ",\"server\":\"%s\",\"relayed\":[", addr_fmt(
	    (const struct sockaddr *)&a->a_local, buf, sizeof(buf)));
	for (i = 0, n = 0; i < ALLOC_FAMILIES; i++)
		if (a->a_relay[i].sa.sa_family != 0)
			sbuf_printf(sb, "%s\"%s\"", n++ ? "," : "",
			    addr_fmt((const struct sockaddr *)&a->a_relay[i],
			    buf, sizeof(buf)));
	sbuf_printf(sb, "],\"age\":%lld,\"lifetime_left\":%lld,"
	    "\"permissions\":[", (long long)(now - a->a_created),
	    (long long)(a->a_expires - now));
	for (i = 0, n = 0; i < a->a_nperm; i++)
		if (a->a_perm[i].p_expires > now)
			sbuf_printf(sb, "%s{\"peer\":\"%s\",\"left\":%lld}",
			    n++ ? "," : "", addr_fmt_ip((const struct sockaddr *)
			    &a->a_perm[i].p_peer, buf, sizeof(buf)),
			    (long long)(a->a_perm[i].p_expires - now));
	sbuf_printf(sb, "],\"channels\":[");
	for (i = 0, n = 0; i < a->a_nchan; i++)
		if (a->a_chan[i].ch_expires > now)
			sbuf_printf(sb, "%s{\"number\":%u,\"peer\":\"%s\","
			    "\"left\":%lld}", n++ ? "," : "",
			    a->a_chan[i].ch_num, addr_fmt((const struct sockaddr *)
			    &a->a_chan[i].ch_peer, buf, sizeof(buf)),
			    (long long)(a->a_chan[i].ch_expires - now));
	sbuf_printf(sb, "],\"packets_to_peer\":%llu,\"bytes_to_peer\":%llu,"
	    "\"packets_to_client\":%llu,\"bytes_to_client\":%llu",
	    (unsigned long long)a->a_pkts_out,
	    (unsigned long long)a->a_bytes_out,
	    (unsigned long long)a->a_pkts_in,
	    (unsigned long long)a->a_bytes_in);
}

/* One allocation, one line of text (sessions) or a block (session ID). */
static void
session_text(struct sbuf *sb, const struct alloc *a, time_t now, int full)
{
	char		client[ADDR_STRLEN], relay[2][ADDR_STRLEN], buf[ADDR_STRLEN];
	unsigned int	i, np = 0, nc = 0;

	addr_fmt((const struct sockaddr *)&a->a_client, client, sizeof(client));
	for (i = 0; i < ALLOC_FAMILIES; i++) {
		relay[i][0] = '\0';
		if (a->a_relay[i].sa.sa_family != 0)
			addr_fmt((const struct sockaddr *)&a->a_relay[i],
			    relay[i], sizeof(relay[i]));
	}
	for (i = 0; i < a->a_nperm; i++)
		np += a->a_perm[i].p_expires > now;
	for (i = 0; i < a->a_nchan; i++)
		nc += a->a_chan[i].ch_expires > now;
	if (!full) {
		sbuf_printf(sb, "%020llu %-16s %-3s %-22s %-22s %6lld %6lld "
		    "%3u %3u %llu/%llu\n", (unsigned long long)a->a_id,
		    a->a_user, transport_name(a->a_transport), client,
		    relay[0][0] ? relay[0] : relay[1],
		    (long long)(now - a->a_created),
		    (long long)(a->a_expires - now), np, nc,
		    (unsigned long long)a->a_pkts_out,
		    (unsigned long long)a->a_pkts_in);
		return;
	}
	sbuf_printf(sb, "id:            %020llu\nuser:          %s\n"
	    "client:        %s %s\nserver:        %s\n",
	    (unsigned long long)a->a_id, a->a_user,
	    transport_name(a->a_transport), client, addr_fmt(
	    (const struct sockaddr *)&a->a_local, buf, sizeof(buf)));
	for (i = 0; i < ALLOC_FAMILIES; i++)
		if (relay[i][0] != '\0')
			sbuf_printf(sb, "relayed:       %s\n", relay[i]);
	sbuf_printf(sb, "age:           %lld s\nlifetime left: %lld s\n",
	    (long long)(now - a->a_created), (long long)(a->a_expires - now));
	for (i = 0; i < a->a_nperm; i++)
		if (a->a_perm[i].p_expires > now)
			sbuf_printf(sb, "permission:    %s (%lld s left)\n",
			    addr_fmt_ip((const struct sockaddr *)
			    &a->a_perm[i].p_peer, buf, sizeof(buf)),
			    (long long)(a->a_perm[i].p_expires - now));
	for (i = 0; i < a->a_nchan; i++)
		if (a->a_chan[i].ch_expires > now)
			sbuf_printf(sb, "channel:       0x%04x %s (%lld s left)\n",
			    a->a_chan[i].ch_num, addr_fmt((const struct sockaddr *)
			    &a->a_chan[i].ch_peer, buf, sizeof(buf)),
			    (long long)(a->a_chan[i].ch_expires - now));
	sbuf_printf(sb, "to peers:      %llu packets, %llu bytes\n"
	    "to client:     %llu packets, %llu bytes\n",
	    (unsigned long long)a->a_pkts_out,
	    (unsigned long long)a->a_bytes_out,
	    (unsigned long long)a->a_pkts_in,
	    (unsigned long long)a->a_bytes_in);
}

static void
sv_ops_tcp_list(struct server *sv, const struct alloc *a, struct sbuf *sb,
    int json)
{
	if (sv->sv_ops->ro_tcp_list != NULL)
		sv->sv_ops->ro_tcp_list(sv->sv_net, a, sb, json);
}

struct list_ctx {
	struct server			*lc_sv;
	const struct server_filter	*lc_f;
	struct sbuf			*lc_sb;
	unsigned int			 lc_n;
	unsigned int			 lc_max;
};

static void
list_one(struct alloc *a, void *arg)
{
	struct list_ctx	*lc = arg;
	const struct server_filter *f = lc->lc_f;

	if (lc->lc_n >= lc->lc_max ||
	    !server_filter_match(f, a, lc->lc_sv->sv_now))
		return;
	if (f->sf_json) {
		if (lc->lc_n > 0)
			sbuf_printf(lc->lc_sb, ",");
		session_json(lc->lc_sb, a, lc->lc_sv->sv_now);
		sbuf_printf(lc->lc_sb, ",\"relay\":\"%s\"",
		    a->a_tcp ? "tcp" : "udp");
	} else
		session_text(lc->lc_sb, a, lc->lc_sv->sv_now, f->sf_full);
	/* RFC 6062: the peer and data connections, the net layer's */
	if (a->a_tcp && (f->sf_json || f->sf_full))
		sv_ops_tcp_list(lc->lc_sv, a, lc->lc_sb, f->sf_json);
	if (f->sf_json)
		sbuf_printf(lc->lc_sb, "}");
	lc->lc_n++;
}

unsigned int
server_sessions(struct server *sv, const struct server_filter *f,
    unsigned int max, struct sbuf *sb)
{
	struct list_ctx	lc = { sv, f, sb, 0, max };

	if (sv->sv_allocs != NULL)
		alloc_foreach(sv->sv_allocs, list_one, &lc);
	return (lc.lc_n);
}

struct find_ctx {
	struct server			*fc_sv;
	const struct server_filter	*fc_f;
	struct alloc			**fc_out;
	unsigned int			 fc_n;
	unsigned int			 fc_max;
};

static void
find_one(struct alloc *a, void *arg)
{
	struct find_ctx	*fc = arg;

	if (fc->fc_n < fc->fc_max &&
	    server_filter_match(fc->fc_f, a, fc->fc_sv->sv_now))
		fc->fc_out[fc->fc_n++] = a;
}

unsigned int
server_find(struct server *sv, const struct server_filter *f,
    struct alloc **out, unsigned int max)
{
	struct find_ctx	fc = { sv, f, out, 0, max };

	if (sv->sv_allocs != NULL)
		alloc_foreach(sv->sv_allocs, find_one, &fc);
	return (fc.fc_n);
}

unsigned int
server_kill(struct server *sv, const struct server_filter *f)
{
	struct alloc	*found[64];
	unsigned int	 i, n, total = 0;

	/* alloc_foreach() must not see a freed allocation: gather, end */
	do {
		n = server_find(sv, f, found, 64);
		for (i = 0; i < n; i++)
			server_alloc_end(sv, found[i], 0);
		total += n;
	} while (n == 64);
	return (total);
}
