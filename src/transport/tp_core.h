/* tp_core.h - internals shared by the core's files: lists, calls, messages. */
#ifndef EBT_TP_CORE_H
#define EBT_TP_CORE_H

#include "tp_backend.h"

#include <stddef.h>

#define tp_container(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void tp_list_init(struct ebt_tp_list *l)
{
    l->prev = l->next = l;
}
static inline int tp_list_empty(const struct ebt_tp_list *l)
{
    return l->next == l;
}
static inline void tp_list_add(struct ebt_tp_list *head, struct ebt_tp_list *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}
static inline void tp_list_del(struct ebt_tp_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    tp_list_init(n);
}

/* An outstanding call (client side). */
struct ebt_tp_call {
    struct ebt_tp_list link;   /* ctx->calls until finished and idle, then ctx->done */
    struct ebt_tp_call *hnext; /* hash chain while unfinished */
    ebt_tp_peer_t *peer;
    struct ebt_tp_xfer sx; /* the request going out */
    struct ebt_tp_xfer rx; /* the reply coming in */
    uint64_t deadline;     /* monotonic ns */
    void *reply;
    size_t reply_cap, reply_len;
    ebt_tp_done_fn *done;
    void *arg;
    int status;
    unsigned send_busy : 1, recv_busy : 1, finished : 1, hashed : 1, queued : 1;
};

/* A received request (server side). */
enum tp_msg_state { TP_MSG_RECEIVING, TP_MSG_READY, TP_MSG_HELD, TP_MSG_REPLYING };
struct ebt_tp_msg {
    struct ebt_tp_list link; /* ctx->msgs, ctx->inbox or ctx->sentq */
    ebt_tp_peer_t *peer;
    struct ebt_tp_xfer rx, sx;
    void *data;
    size_t len, cap;
    ebt_tp_sent_fn *sent;
    void *arg;
    int status; /* receive error (request not delivered), or the send's result */
    int state;
};

void tp_peer_ref(ebt_tp_peer_t *peer);
void tp_peer_unref(ebt_tp_peer_t *peer);
void tp_peer_backend_close(ebt_tp_peer_t *peer);

/* tp_call.c */
void tp_call_finish(struct ebt_tp_call *c, int status);
void tp_calls_expire(ebt_tp_ctx_t *ctx, uint64_t now);
void tp_calls_fail_peer(ebt_tp_peer_t *peer, int status);
int tp_done_dispatch(ebt_tp_ctx_t *ctx);
int tp_inbox_dispatch(ebt_tp_ctx_t *ctx);
int tp_sent_dispatch(ebt_tp_ctx_t *ctx);
void tp_msg_free(struct ebt_tp_msg *m);
void *tp_buf_get(ebt_tp_ctx_t *ctx, size_t len, size_t *cap_p);
void tp_buf_put(ebt_tp_ctx_t *ctx, void *p, size_t cap);
void tp_buf_drain(ebt_tp_ctx_t *ctx);

#endif
