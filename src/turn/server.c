/*
 * server.c -- STUN request dispatch and the Binding method (RFC 8489
 * sections 6.3 and 7.3, RFC 5780 section 6).
 *
 * Every message is checked in the order RFC 8489 7.3 gives: header
 * (else drop), FINGERPRINT (else drop), class, unknown
 * comprehension-required attributes (420), then the method.  One
 * function builds every error response.
 */

#include <string.h>

#include "conf/conf.h"
#include "stun/stun.h"
#include "turn/server.h"
#include "turn/stats.h"

void
server_init(struct server *sv, const struct turnd_conf *conf,
    struct stats *st)
{
	memset(sv, 0, sizeof(*sv));
	sv->sv_conf = conf;
	sv->sv_stats = st;
}

/* SOFTWARE, then FINGERPRINT if the request carried one (RFC 8489 7.3). */
static size_t
server_finish(struct server *sv, const struct stun_msg *m,
    struct stun_build *b)
{
	const char	*sw = sv->sv_conf->software;

	if (sw != NULL && *sw != '\0')
		stun_build_str(b, STUN_ATTR_SOFTWARE, sw);
	if (m->fp_idx >= 0)
		stun_build_fingerprint(b);
	return (stun_build_finish(b));
}

/*
 * The one place error responses are built: ERROR-CODE with the RFC
 * reason phrase (or reason), UNKNOWN-ATTRIBUTES for a 420.
 */
static void
server_error(struct server *sv, const struct stun_msg *m, int code,
    const char *reason, const uint16_t *unknown, unsigned int nunknown,
    struct server_reply *reply)
{
	struct stun_build	b;

	stun_build_init(&b, reply->buf, reply->cap,
	    STUN_TYPE(m->method, STUN_CLASS_ERROR), m->tid);
	stun_build_error(&b, code, reason);
	if (nunknown > 0)
		stun_build_unknown(&b, unknown, nunknown);
	reply->len = server_finish(sv, m, &b);
	reply->change = 0;
	reply->port = 0;
	if (reply->len == 0)
		return;

	STATS_INC(sv->sv_stats, error_responses);
	if (code == STUN_ERR_BAD_REQUEST)
		STATS_INC(sv->sv_stats, err_400);
	else if (code == STUN_ERR_UNKNOWN_ATTRIBUTE)
		STATS_INC(sv->sv_stats, err_420);
}

/*
 * Unknown comprehension-required attributes, plus the RFC 5780 ones when
 * this socket cannot honour them (RFC 5780 section 6.1: a server without
 * an alternate address treats CHANGE-REQUEST as unknown).
 */
static unsigned int
server_unknown(const struct server_pkt *pkt, const struct stun_msg *m,
    uint16_t *out, unsigned int max)
{
	static const uint16_t	 rfc5780_only[] = {
		STUN_ATTR_CHANGE_REQUEST, STUN_ATTR_RESPONSE_PORT
	};
	unsigned int		 n, i;

	n = stun_msg_unknown(m, out, max);
	if (pkt->origin != NULL || m->method != STUN_METHOD_BINDING)
		return (n);
	for (i = 0; i < sizeof(rfc5780_only) / sizeof(rfc5780_only[0]); i++)
		if (n < max && stun_msg_find(m, rfc5780_only[i]) != NULL)
			out[n++] = rfc5780_only[i];
	return (n);
}

/*
 * Binding (RFC 8489 section 7.3.1): XOR-MAPPED-ADDRESS, MAPPED-ADDRESS
 * when configured for RFC 3489-era clients, and with RFC 5780 on,
 * RESPONSE-ORIGIN and OTHER-ADDRESS, honouring CHANGE-REQUEST.
 */
static void
server_binding(struct server *sv, const struct server_pkt *pkt,
    const struct stun_msg *m, struct server_reply *reply)
{
	const struct stun_attr	*a;
	struct stun_build	 b;
	uint32_t		 flags;
	unsigned int		 change = 0;
	uint16_t		 port = 0;

	if (pkt->origin != NULL &&
	    (a = stun_msg_find(m, STUN_ATTR_CHANGE_REQUEST)) != NULL) {
		if (stun_attr_get_u32(a, &flags) == -1) {
			server_error(sv, m, STUN_ERR_BAD_REQUEST,
			    "Bad CHANGE-REQUEST", NULL, 0, reply);
			return;
		}
		if (flags & STUN_CHANGE_IP)
			change |= 2;
		if (flags & STUN_CHANGE_PORT)
			change |= 1;
	}
	if (pkt->origin != NULL &&
	    (a = stun_msg_find(m, STUN_ATTR_RESPONSE_PORT)) != NULL) {
		/* RFC 5780 7.5: a 16-bit port, then 16 bits of padding. */
		if (stun_attr_get_u32(a, &flags) == -1 || flags >> 16 == 0) {
			server_error(sv, m, STUN_ERR_BAD_REQUEST,
			    "Bad RESPONSE-PORT", NULL, 0, reply);
			return;
		}
		port = (uint16_t)(flags >> 16);
	}

	stun_build_init(&b, reply->buf, reply->cap,
	    STUN_TYPE(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS), m->tid);
	stun_build_xaddr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, pkt->src);
	if (sv->sv_conf->stun_mapped_address)
		stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, pkt->src);
	if (pkt->origin != NULL) {
		stun_build_addr(&b, STUN_ATTR_RESPONSE_ORIGIN,
		    pkt->origin[change]);
		stun_build_addr(&b, STUN_ATTR_OTHER_ADDRESS, pkt->origin[3]);
	}
	reply->len = server_finish(sv, m, &b);
	reply->change = change;
	reply->port = port;
	if (reply->len > 0)
		STATS_INC(sv->sv_stats, binding_success);
}

void
server_handle(struct server *sv, const struct server_pkt *pkt,
    const uint8_t *msg, size_t len, struct server_reply *reply)
{
	struct stun_msg	m;
	uint16_t	unknown[STUN_UNKNOWN_MAX];
	unsigned int	nunknown;
	int		rc;

	reply->len = 0;
	reply->change = 0;
	reply->port = 0;

	rc = stun_msg_parse(&m, msg, len);
	if (rc == STUN_PARSE_NOTSTUN) {
		STATS_INC(sv->sv_stats, dropped_notstun);
		return;
	}
	if (rc == STUN_PARSE_MALFORMED) {
		/* The header is sound: a request can still be told. */
		if (m.cls == STUN_CLASS_REQUEST) {
			STATS_INC(sv->sv_stats, stun_requests);
			m.fp_idx = -1;
			server_error(sv, &m, STUN_ERR_BAD_REQUEST,
			    "Malformed attributes", NULL, 0, reply);
		} else
			STATS_INC(sv->sv_stats, dropped_malformed);
		return;
	}
	if (stun_msg_check_fingerprint(&m) == -1) {
		STATS_INC(sv->sv_stats, dropped_fingerprint);
		return;
	}

	switch (m.cls) {
	case STUN_CLASS_REQUEST:
		break;
	case STUN_CLASS_INDICATION:
		/* A Binding indication is a keepalive: no answer (7.3.2). */
		STATS_INC(sv->sv_stats, stun_indications);
		return;
	default:
		/* Responses are never expected by a server. */
		STATS_INC(sv->sv_stats, dropped_other);
		return;
	}

	STATS_INC(sv->sv_stats, stun_requests);
	nunknown = server_unknown(pkt, &m, unknown, STUN_UNKNOWN_MAX);
	if (nunknown > 0) {
		server_error(sv, &m, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL, unknown,
		    nunknown, reply);
		return;
	}

	switch (m.method) {
	case STUN_METHOD_BINDING:
		server_binding(sv, pkt, &m, reply);
		break;
	default:
		server_error(sv, &m, STUN_ERR_BAD_REQUEST, "Unsupported method",
		    NULL, 0, reply);
		break;
	}
}
