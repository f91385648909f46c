/*
 * names.c -- STUN attribute, method and error names (IANA STUN registry;
 * reason phrases from RFC 8489 14.8, RFC 8656 19, RFC 6062 6.3, RFC 8016).
 */

#include <stddef.h>
#include <stdint.h>

#include "stun/stun.h"

struct stun_name {
	int		 sn_code;
	const char	*sn_name;
};

static const struct stun_name stun_attr_names[] = {
	{ STUN_ATTR_MAPPED_ADDRESS,		"MAPPED-ADDRESS" },
	{ STUN_ATTR_CHANGE_REQUEST,		"CHANGE-REQUEST" },
	{ STUN_ATTR_USERNAME,			"USERNAME" },
	{ STUN_ATTR_MESSAGE_INTEGRITY,		"MESSAGE-INTEGRITY" },
	{ STUN_ATTR_ERROR_CODE,			"ERROR-CODE" },
	{ STUN_ATTR_UNKNOWN_ATTRIBUTES,		"UNKNOWN-ATTRIBUTES" },
	{ STUN_ATTR_CHANNEL_NUMBER,		"CHANNEL-NUMBER" },
	{ STUN_ATTR_LIFETIME,			"LIFETIME" },
	{ STUN_ATTR_BANDWIDTH,			"BANDWIDTH" },
	{ STUN_ATTR_XOR_PEER_ADDRESS,		"XOR-PEER-ADDRESS" },
	{ STUN_ATTR_DATA,			"DATA" },
	{ STUN_ATTR_REALM,			"REALM" },
	{ STUN_ATTR_NONCE,			"NONCE" },
	{ STUN_ATTR_XOR_RELAYED_ADDRESS,	"XOR-RELAYED-ADDRESS" },
	{ STUN_ATTR_REQUESTED_ADDRESS_FAMILY,	"REQUESTED-ADDRESS-FAMILY" },
	{ STUN_ATTR_EVEN_PORT,			"EVEN-PORT" },
	{ STUN_ATTR_REQUESTED_TRANSPORT,	"REQUESTED-TRANSPORT" },
	{ STUN_ATTR_DONT_FRAGMENT,		"DONT-FRAGMENT" },
	{ STUN_ATTR_ACCESS_TOKEN,		"ACCESS-TOKEN" },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256,	"MESSAGE-INTEGRITY-SHA256" },
	{ STUN_ATTR_PASSWORD_ALGORITHM,		"PASSWORD-ALGORITHM" },
	{ STUN_ATTR_USERHASH,			"USERHASH" },
	{ STUN_ATTR_XOR_MAPPED_ADDRESS,		"XOR-MAPPED-ADDRESS" },
	{ STUN_ATTR_RESERVATION_TOKEN,		"RESERVATION-TOKEN" },
	{ STUN_ATTR_PRIORITY,			"PRIORITY" },
	{ STUN_ATTR_USE_CANDIDATE,		"USE-CANDIDATE" },
	{ STUN_ATTR_PADDING,			"PADDING" },
	{ STUN_ATTR_RESPONSE_PORT,		"RESPONSE-PORT" },
	{ STUN_ATTR_CONNECTION_ID,		"CONNECTION-ID" },
	{ STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY,	"ADDITIONAL-ADDRESS-FAMILY" },
	{ STUN_ATTR_ADDRESS_ERROR_CODE,		"ADDRESS-ERROR-CODE" },
	{ STUN_ATTR_PASSWORD_ALGORITHMS,	"PASSWORD-ALGORITHMS" },
	{ STUN_ATTR_ALTERNATE_DOMAIN,		"ALTERNATE-DOMAIN" },
	{ STUN_ATTR_ICMP,			"ICMP" },
	{ STUN_ATTR_SOFTWARE,			"SOFTWARE" },
	{ STUN_ATTR_ALTERNATE_SERVER,		"ALTERNATE-SERVER" },
	{ STUN_ATTR_FINGERPRINT,		"FINGERPRINT" },
	{ STUN_ATTR_ICE_CONTROLLED,		"ICE-CONTROLLED" },
	{ STUN_ATTR_ICE_CONTROLLING,		"ICE-CONTROLLING" },
	{ STUN_ATTR_RESPONSE_ORIGIN,		"RESPONSE-ORIGIN" },
	{ STUN_ATTR_OTHER_ADDRESS,		"OTHER-ADDRESS" },
	{ STUN_ATTR_THIRD_PARTY_AUTHORIZATION,	"THIRD-PARTY-AUTHORIZATION" },
	{ STUN_ATTR_ORIGIN,			"ORIGIN" },
	{ STUN_ATTR_MOBILITY_TICKET,		"MOBILITY-TICKET" },
};

/* IANA method names (RFC 8489 18.2, RFC 8656 18, RFC 6062 6.1). */
static const struct stun_name stun_method_names[] = {
	{ STUN_METHOD_BINDING,			"Binding" },
	{ STUN_METHOD_ALLOCATE,			"Allocate" },
	{ STUN_METHOD_REFRESH,			"Refresh" },
	{ STUN_METHOD_SEND,			"Send" },
	{ STUN_METHOD_DATA,			"Data" },
	{ STUN_METHOD_CREATE_PERMISSION,	"CreatePermission" },
	{ STUN_METHOD_CHANNEL_BIND,		"ChannelBind" },
	{ STUN_METHOD_CONNECT,			"Connect" },
	{ STUN_METHOD_CONNECTION_BIND,		"ConnectionBind" },
	{ STUN_METHOD_CONNECTION_ATTEMPT,	"ConnectionAttempt" },
};

static const struct stun_name stun_err_reasons[] = {
	{ STUN_ERR_TRY_ALTERNATE,		"Try Alternate" },
	{ STUN_ERR_BAD_REQUEST,			"Bad Request" },
	{ STUN_ERR_UNAUTHENTICATED,		"Unauthenticated" },
	{ STUN_ERR_FORBIDDEN,			"Forbidden" },
	{ STUN_ERR_MOBILITY_FORBIDDEN,		"Mobility Forbidden" },
	{ STUN_ERR_UNKNOWN_ATTRIBUTE,		"Unknown Attribute" },
	{ STUN_ERR_ALLOCATION_MISMATCH,		"Allocation Mismatch" },
	{ STUN_ERR_STALE_NONCE,			"Stale Nonce" },
	{ STUN_ERR_ADDRESS_FAMILY,	"Address Family not Supported" },
	{ STUN_ERR_WRONG_CREDENTIALS,		"Wrong Credentials" },
	{ STUN_ERR_UNSUPPORTED_TRANSPORT,
	    "Unsupported Transport Protocol" },
	{ STUN_ERR_PEER_ADDRESS_FAMILY,	"Peer Address Family Mismatch" },
	{ STUN_ERR_CONNECTION_EXISTS,	"Connection Already Exists" },
	{ STUN_ERR_CONNECTION_FAILURE,
	    "Connection Timeout or Failure" },
	{ STUN_ERR_ALLOCATION_QUOTA,	"Allocation Quota Reached" },
	{ STUN_ERR_SERVER_ERROR,		"Server Error" },
	{ STUN_ERR_INSUFFICIENT_CAPACITY,	"Insufficient Capacity" },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static const char *
stun_name_find(const struct stun_name *tab, size_t n, int code)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (tab[i].sn_code == code)
			return (tab[i].sn_name);
	return (NULL);
}

/* 1 if type is one of the STUN_ATTR_* constants in stun.h, else 0. */
int
stun_attr_known(uint16_t type)
{
	return (stun_name_find(stun_attr_names, NITEMS(stun_attr_names),
	    type) != NULL);
}

/* The IANA name of an attribute type, or "unknown". */
const char *
stun_attr_name(uint16_t type)
{
	const char	*s;

	s = stun_name_find(stun_attr_names, NITEMS(stun_attr_names), type);
	return (s != NULL ? s : "unknown");
}

/* The IANA name of a method ("CreatePermission"), or "unknown". */
const char *
stun_method_name(uint16_t method)
{
	const char	*s;

	s = stun_name_find(stun_method_names, NITEMS(stun_method_names),
	    method);
	return (s != NULL ? s : "unknown");
}

/* The RFC reason phrase for an error code, "" if none is defined. */
const char *
stun_err_reason(int code)
{
	const char	*s;

	s = stun_name_find(stun_err_reasons, NITEMS(stun_err_reasons), code);
	return (s != NULL ? s : "");
}
