/*
 * alloc_wire.h -- an allocation as a record of the handover's state
 * format (common/tlv.h; doc/ARCHITECTURE section 8): everything of a
 * UDP allocation except its sockets, which travel beside the records
 * (SCM_RIGHTS) and are named by their index in the message.
 */

#ifndef ALLOC_WIRE_H
#define ALLOC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "turn/alloc.h"

struct tlvbuf;

/* What travels with the allocation besides its own state. */
struct alloc_wire {
	unsigned int	 aw_path;		/* index of its listener
						 * socket in the worker */
	int		 aw_fd[ALLOC_FAMILIES];	/* relay socket: index into
						 * the message's fds, or -1 */
};

/* a (and w) as one record appended to tb. */
void		 alloc_encode(const struct alloc *, const struct alloc_wire *,
		    struct tlvbuf *tb);
/*
 * The value of one record: a new allocation in no table (alloc_insert()
 * puts it in one, alloc_discard() frees it), with *w filled; or NULL
 * with the reason in err.
 */
struct alloc	*alloc_decode(const uint8_t *, size_t, struct alloc_wire *w,
		    char *err, size_t errlen);

#endif /* ALLOC_WIRE_H */
