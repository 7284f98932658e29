/* conn.h - server side of one client connection: buffer, validate and dispatch requests, queue
 * replies without ever blocking (docs/reliability.md). */
#ifndef EBTD_CONN_H
#define EBTD_CONN_H

#include "proto.h"

#include <stddef.h>
#include <stdint.h>

/* The largest message on the wire: a header and EBT_PROTO_MAX_PAYLOAD payload bytes. */
#define EBT_CONN_MAX_MSG (sizeof(struct ebt_proto_hdr) + EBT_PROTO_MAX_PAYLOAD)
/* Reply bytes a connection may have queued, unsent, before it is dropped (a client that does
 * not read its replies). Always room for one maximal reply. */
#define EBT_CONN_QUEUE_MAX (4u << 20)
_Static_assert(EBT_CONN_QUEUE_MAX >= EBT_CONN_MAX_MSG, "the queue holds a maximal reply");

/* Serve one valid request: fill reply (at most cap bytes), set *replylen, return the status
 * (0 or -errno) for the reply header. Payload is NUL-padded one byte past h->length. */
typedef int ebt_conn_handler(void *ctx, const struct ebt_proto_hdr *h, const char *payload,
                             char *reply, uint32_t cap, uint32_t *replylen);

struct ebt_conn {
    int fd;
    char *buf; /* received bytes; buf[head, len) not yet served; len < cap (room for a NUL) */
    size_t head, len, cap;
    char *out; /* queued reply bytes; out[out_head, out_len) not yet sent */
    size_t out_head, out_len, out_cap;
    char *reply; /* shared reply buffer of reply_cap bytes (the server is single-threaded) */
    uint32_t reply_cap;
    uint64_t bad; /* malformed messages seen */
};

void ebt_conn_init(struct ebt_conn *c, int fd, char *reply, uint32_t reply_cap);
void ebt_conn_free(struct ebt_conn *c); /* does not close fd */
/* Read what is available and serve every complete request, in order; replies are sent without
 * blocking and the rest queued. Malformed input gets an error reply: bad op -EOPNOTSUPP
 * (connection kept); bad magic -EPROTO, version -EPROTONOSUPPORT, length -EMSGSIZE, payload cut
 * by EOF -EPROTO (connection to be closed). Returns 0 to keep the connection, or -errno to close
 * it (-ECONNRESET: peer closed; -ENOBUFS: more than EBT_CONN_QUEUE_MAX reply bytes queued). */
int ebt_conn_readable(struct ebt_conn *c, ebt_conn_handler *fn, void *ctx);
/* Send queued replies until the socket is full; 0 or -errno (close). */
int ebt_conn_writable(struct ebt_conn *c);
/* Reply bytes queued and not yet sent (poll for POLLOUT while non-zero). */
size_t ebt_conn_queued(const struct ebt_conn *c);

#endif
