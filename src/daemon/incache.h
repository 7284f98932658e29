/* incache.h - node-local copies of input files (incache.c). */
#ifndef EBTD_INCACHE_H
#define EBTD_INCACHE_H

#include <stdint.h>

struct ebtd;

/* EBT_OP_INPUT: struct stat of the PFS file (as the client saw it), path NUL -> struct
 * ebt_proto_fetch naming RUN/icache/<key>, made if needed. -EFBIG: not copied (too big, copies
 * off), -ENOSPC: no room left for copies, -ESTALE: the file is not that version any more,
 * -EXDEV: not under an input. The client then reads the PFS. */
int ebtd_input_op(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                  uint32_t *replylen);
/* Register the peer handler (before the mesh starts). */
void ebtd_incache_register(void);

#endif
