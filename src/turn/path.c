/*
 * path.c -- the names of the client transports (path.h).
 */

#include "turn/path.h"

const char *
transport_name(enum transport t)
{
	static const char *const name[] = { "udp", "tcp", "tls", "dtls" };

	return ((unsigned int)t < sizeof(name) / sizeof(name[0]) ? name[t] :
	    "?");
}
