/* tp_backend.h - what a transport backend sees of the core: objects and the upcalls it makes. */
#ifndef EBT_TP_BACKEND_H
#define EBT_TP_BACKEND_H

#include "transport.h"

#include <stdint.h>

struct ebt_tp_list {
    struct ebt_tp_list *prev, *next;
};

/* One message moving through a backend: a request or a reply, sent or received. The owner (a
 * call or a msg) embeds it; the backend keeps its own request handle in be. */
enum ebt_tp_xfer_role {
    EBT_TP_X_CALL_SEND,
    EBT_TP_X_CALL_RECV,
    EBT_TP_X_MSG_RECV,
    EBT_TP_X_MSG_SEND
};
struct ebt_tp_xfer {
    struct ebt_tp_hdr hdr; /* what goes on the wire (send) or came from it (receive) */
    const void *data;      /* send: payload of hdr.len bytes */
    void *owner;
    int role;
    void *be;
};

struct ebt_tp_peer {
    struct ebt_tp_list link; /* ctx->peers */
    ebt_tp_ctx_t *ctx;
    void *be;      /* backend connection (UCX: struct tp_ucx_peer) */
    void *data;    /* the daemon's own pointer */
    int status;    /* 0 alive, else why it failed */
    int notify;    /* failure seen by the backend, not yet handled by the core */
    int be_closed; /* ops->peer_close already called */
    int incoming;  /* accepted by the listener (owned by the context) */
    int refs;      /* owner + every call and msg using it */
    char addr[EBT_TP_ADDR_MAX];
};

#define EBT_TP_BUCKETS 1024
#define EBT_TP_BUF_CACHE 32 /* large request buffers kept for reuse */
#define EBT_TP_BUF_CACHE_MIN (64u << 10)

struct ebt_tp_buf {
    void *p;
    size_t cap;
};

struct ebt_tp_ctx {
    const struct ebt_tp_ops *ops;
    void *be;
    ebt_tp_request_fn *on_request;
    void *request_arg;
    ebt_tp_peer_error_fn *on_peer_error;
    void *error_arg;
    int timeout_ms;
    uint64_t max_request;
    uint64_t next_id;
    uint64_t next_scan; /* next time the deadlines are checked (ns) */
    int nfailed;        /* peers with notify set */
    struct ebt_tp_list peers;
    struct ebt_tp_list calls;                   /* outstanding calls: deadlines, peer failure */
    struct ebt_tp_list done;                    /* finished calls waiting for their done callback */
    struct ebt_tp_list msgs;                    /* requests being received or held by a handler */
    struct ebt_tp_list inbox;                   /* requests ready for the handler */
    struct ebt_tp_list sentq;                   /* replies sent, waiting for their sent callback */
    struct ebt_tp_call *bucket[EBT_TP_BUCKETS]; /* id -> unfinished call */
    /* Freed request buffers: a fresh malloc of a large buffer faults its pages in every time
     * (glibc trims or unmaps it on free), which halved the put bandwidth. */
    struct ebt_tp_buf bufs[EBT_TP_BUF_CACHE];
    int nbufs;
};

/* Upcalls from the backend (may be made inside the backend's own callbacks: they only queue). */
/* An incoming connection: a new peer owned by the context. NULL if out of memory. */
ebt_tp_peer_t *ebt_tp_core_peer_accept(ebt_tp_ctx_t *ctx);
/* The connection failed (status -errno). */
void ebt_tp_core_peer_failed(ebt_tp_peer_t *peer, int status);
/* A message header arrived. Returns the transfer to report completion on, and where its
 * hdr->len payload bytes go (*buf_p NULL: discard them), or NULL: drop the message. */
struct ebt_tp_xfer *ebt_tp_core_recv_begin(ebt_tp_peer_t *peer, const struct ebt_tp_hdr *hdr,
                                           void **buf_p);
/* A send or receive finished (0 or -errno); the buffers are the core's again. */
void ebt_tp_core_xfer_done(struct ebt_tp_xfer *x, int status);

uint64_t ebt_tp_now_ns(void);

#endif
