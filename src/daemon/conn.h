/* conn.h - server side of one client connection: buffer, validate and dispatch requests. */
#ifndef EBTD_CONN_H
#define EBTD_CONN_H

#include "proto.h"

#include <stddef.h>
#include <stdint.h>

/* Serve one valid request: fill reply (at most cap bytes), set *replylen, return the status
 * (0 or -errno) for the reply header. Payload is NUL-padded one byte past h->length. */
typedef int ebt_conn_handler(void *ctx, const struct ebt_proto_hdr *h, const char *payload,
                             char *reply, uint32_t cap, uint32_t *replylen);

struct ebt_conn {
    int fd;
    char *buf; /* received, not yet served bytes */
    size_t len, cap;
    char *reply; /* shared reply buffer of reply_cap bytes (the server is single-threaded) */
    uint32_t reply_cap;
    uint64_t bad; /* malformed messages seen */
};

void ebt_conn_init(struct ebt_conn *c, int fd, char *reply, uint32_t reply_cap);
void ebt_conn_free(struct ebt_conn *c); /* does not close fd */
/* Read what is available and serve every complete request. Malformed input gets an error reply:
 * bad op -EOPNOTSUPP (connection kept); bad magic -EPROTO, version -EPROTONOSUPPORT, length
 * -EMSGSIZE, payload cut by EOF -EPROTO (connection to be closed). Returns 0 to keep the
 * connection, or -errno to close it (-ECONNRESET: peer closed). */
int ebt_conn_readable(struct ebt_conn *c, ebt_conn_handler *fn, void *ctx);

#endif
