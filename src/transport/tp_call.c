/* tp_call.c - requests and replies: ids, matching, deadlines, the server's messages. */
#define _GNU_SOURCE
#include "tp_core.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TP_GRACE_MS 2000      /* ebt_tp_call: wait this long past the deadline for cleanup */
#define TP_SCAN_NS 1000000ull /* deadlines are checked at most once a millisecond */

static struct ebt_tp_call **tp_bucket(ebt_tp_ctx_t *ctx, uint64_t id)
{
    return &ctx->bucket[id % EBT_TP_BUCKETS];
}

static void tp_call_unhash(struct ebt_tp_call *c)
{
    if (!c->hashed)
        return;
    for (struct ebt_tp_call **pp = tp_bucket(c->peer->ctx, c->sx.hdr.id); *pp; pp = &(*pp)->hnext)
        if (*pp == c) {
            *pp = c->hnext;
            break;
        }
    c->hashed = 0;
}

static struct ebt_tp_call *tp_call_find(ebt_tp_ctx_t *ctx, uint64_t id)
{
    for (struct ebt_tp_call *c = *tp_bucket(ctx, id); c; c = c->hnext)
        if (c->sx.hdr.id == id)
            return c;
    return NULL;
}

/* A finished call whose buffers the backend no longer uses goes to the done queue. */
static void tp_call_settle(struct ebt_tp_call *c)
{
    if (!c->finished || c->send_busy || c->recv_busy || c->queued)
        return;
    c->queued = 1;
    tp_list_del(&c->link);
    tp_list_add(&c->peer->ctx->done, &c->link);
}

void tp_call_finish(struct ebt_tp_call *c, int status)
{
    if (!c->finished) {
        c->finished = 1;
        c->status = status;
        tp_call_unhash(c);
    }
    tp_call_settle(c);
}

static struct ebt_tp_call *tp_call_new(ebt_tp_peer_t *peer, uint16_t op, const void *req,
                                       size_t req_len, int timeout_ms)
{
    ebt_tp_ctx_t *ctx = peer->ctx;
    struct ebt_tp_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->peer = peer;
    c->sx.hdr =
        (struct ebt_tp_hdr){.id = ctx->next_id++, .len = req_len, .op = op, .kind = EBT_TP_REQUEST};
    c->sx.data = req;
    c->sx.owner = c->rx.owner = c;
    c->sx.role = EBT_TP_X_CALL_SEND;
    c->rx.role = EBT_TP_X_CALL_RECV;
    if (timeout_ms == 0)
        timeout_ms = ctx->timeout_ms;
    c->deadline = ebt_tp_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    return c;
}

int ebt_tp_call_start(ebt_tp_peer_t *peer, uint16_t op, const void *req, size_t req_len,
                      void *reply, size_t reply_cap, int timeout_ms, ebt_tp_done_fn *done,
                      void *arg)
{
    ebt_tp_ctx_t *ctx = peer->ctx;
    if (timeout_ms < 0 || !done)
        return -EINVAL;
    if (peer->status)
        return peer->status;
    struct ebt_tp_call *c = tp_call_new(peer, op, req, req_len, timeout_ms);
    if (!c)
        return -ENOMEM;
    c->reply = reply;
    c->reply_cap = reply_cap;
    c->done = done;
    c->arg = arg;
    tp_peer_ref(peer);
    struct ebt_tp_call **b = tp_bucket(ctx, c->sx.hdr.id);
    c->hnext = *b;
    *b = c;
    c->hashed = 1;
    tp_list_add(&ctx->calls, &c->link);
    c->send_busy = 1;
    int rc = ctx->ops->msg_send(peer, &c->sx);
    if (rc < 0) {
        tp_call_unhash(c);
        tp_list_del(&c->link);
        tp_peer_unref(peer);
        free(c);
    }
    return rc;
}

struct tp_sync {
    int flag, status, abandoned;
    size_t len;
};

static void tp_sync_done(int status, size_t reply_len, void *arg)
{
    struct tp_sync *s = arg;
    if (s->abandoned) {
        free(s);
        return;
    }
    s->status = status;
    s->len = reply_len;
    s->flag = 1;
}

int ebt_tp_call(ebt_tp_peer_t *peer, uint16_t op, const void *req, size_t req_len, void *reply,
                size_t reply_cap, size_t *reply_len_p, int timeout_ms)
{
    ebt_tp_ctx_t *ctx = peer->ctx;
    struct tp_sync *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int rc =
        ebt_tp_call_start(peer, op, req, req_len, reply, reply_cap, timeout_ms, tp_sync_done, s);
    if (rc < 0) {
        free(s);
        return rc;
    }
    int ms = (timeout_ms ? timeout_ms : ctx->timeout_ms) + TP_GRACE_MS;
    if (ebt_tp_wait(ctx, &s->flag, ms) < 0) {
        /* Cannot happen unless the backend holds a buffer after a forced close. */
        ebt_error("transport: call to %s did not finish after its deadline", peer->addr);
        ebt_tp_core_peer_failed(peer, -ETIMEDOUT);
        if (ebt_tp_wait(ctx, &s->flag, TP_GRACE_MS) < 0) {
            s->abandoned = 1;
            return -ETIMEDOUT;
        }
    }
    rc = s->status;
    if (reply_len_p)
        *reply_len_p = s->len;
    free(s);
    return rc;
}

void tp_calls_expire(ebt_tp_ctx_t *ctx, uint64_t now)
{
    if (now < ctx->next_scan)
        return;
    ctx->next_scan = now + TP_SCAN_NS;
    for (struct ebt_tp_list *l = ctx->calls.next, *nx; l != &ctx->calls; l = nx) {
        nx = l->next;
        struct ebt_tp_call *c = tp_container(l, struct ebt_tp_call, link);
        if (c->finished || c->deadline > now)
            continue;
        tp_call_finish(c, -ETIMEDOUT);
        if (c->send_busy || c->recv_busy) {
            /* Data still moving: only closing the connection gives the buffers back. */
            ebt_warn("transport: call to %s timed out mid-transfer: closing", c->peer->addr);
            ebt_tp_core_peer_failed(c->peer, -ETIMEDOUT);
        }
    }
}

void tp_calls_fail_peer(ebt_tp_peer_t *peer, int status)
{
    ebt_tp_ctx_t *ctx = peer->ctx;
    for (struct ebt_tp_list *l = ctx->calls.next, *nx; l != &ctx->calls; l = nx) {
        nx = l->next;
        struct ebt_tp_call *c = tp_container(l, struct ebt_tp_call, link);
        if (c->peer == peer)
            tp_call_finish(c, status);
    }
}

int tp_done_dispatch(ebt_tp_ctx_t *ctx)
{
    int n = 0;
    while (!tp_list_empty(&ctx->done)) {
        struct ebt_tp_call *c = tp_container(ctx->done.next, struct ebt_tp_call, link);
        tp_list_del(&c->link);
        c->done(c->status, c->reply_len, c->arg);
        tp_peer_unref(c->peer);
        free(c);
        n++;
    }
    return n;
}

/* ---- server side ---- */

uint16_t ebt_tp_msg_op(const ebt_tp_msg_t *msg)
{
    return msg->rx.hdr.op;
}

const void *ebt_tp_msg_data(const ebt_tp_msg_t *msg, size_t *len_p)
{
    if (len_p)
        *len_p = msg->len;
    return msg->data;
}

ebt_tp_peer_t *ebt_tp_msg_peer(const ebt_tp_msg_t *msg)
{
    return msg->peer;
}

void *tp_buf_get(ebt_tp_ctx_t *ctx, size_t len, size_t *cap_p)
{
    for (int i = 0; len >= EBT_TP_BUF_CACHE_MIN && i < ctx->nbufs; i++) {
        struct ebt_tp_buf b = ctx->bufs[i];
        if (b.cap >= len && b.cap / 2 <= len) {
            ctx->bufs[i] = ctx->bufs[--ctx->nbufs];
            *cap_p = b.cap;
            return b.p;
        }
    }
    *cap_p = len;
    return malloc(len);
}

void tp_buf_put(ebt_tp_ctx_t *ctx, void *p, size_t cap)
{
    if (!p)
        return;
    if (cap < EBT_TP_BUF_CACHE_MIN) {
        free(p);
        return;
    }
    if (ctx->nbufs == EBT_TP_BUF_CACHE) { /* evict the oldest */
        free(ctx->bufs[0].p);
        ctx->bufs[0] = ctx->bufs[--ctx->nbufs];
    }
    ctx->bufs[ctx->nbufs++] = (struct ebt_tp_buf){p, cap};
}

void tp_buf_drain(ebt_tp_ctx_t *ctx)
{
    while (ctx->nbufs > 0)
        free(ctx->bufs[--ctx->nbufs].p);
}

void tp_msg_free(struct ebt_tp_msg *m)
{
    tp_list_del(&m->link);
    tp_buf_put(m->peer->ctx, m->data, m->cap);
    tp_peer_unref(m->peer);
    free(m);
}

int ebt_tp_msg_reply(ebt_tp_msg_t *m, int status, const void *data, size_t len,
                     ebt_tp_sent_fn *sent, void *arg)
{
    ebt_tp_peer_t *peer = m->peer;
    if (m->state != TP_MSG_HELD)
        return -EINVAL;
    if (peer->status) {
        int rc = peer->status;
        tp_msg_free(m);
        return rc;
    }
    m->sx.hdr = (struct ebt_tp_hdr){
        .id = m->rx.hdr.id, .len = len, .op = m->rx.hdr.op, .kind = EBT_TP_REPLY, .status = status};
    m->sx.data = data;
    m->sent = sent;
    m->arg = arg;
    m->state = TP_MSG_REPLYING;
    int rc = peer->ctx->ops->msg_send(peer, &m->sx);
    if (rc < 0)
        tp_msg_free(m);
    return rc;
}

int tp_inbox_dispatch(ebt_tp_ctx_t *ctx)
{
    int n = 0;
    while (!tp_list_empty(&ctx->inbox)) {
        struct ebt_tp_msg *m = tp_container(ctx->inbox.next, struct ebt_tp_msg, link);
        tp_list_del(&m->link);
        tp_list_add(&ctx->msgs, &m->link);
        m->state = TP_MSG_HELD;
        if (m->status < 0)
            ebt_tp_msg_reply(m, m->status, NULL, 0, NULL, NULL);
        else if (!ctx->on_request)
            ebt_tp_msg_reply(m, -EOPNOTSUPP, NULL, 0, NULL, NULL);
        else
            ctx->on_request(m, ctx->request_arg);
        n++;
    }
    return n;
}

int tp_sent_dispatch(ebt_tp_ctx_t *ctx)
{
    int n = 0;
    while (!tp_list_empty(&ctx->sentq)) {
        struct ebt_tp_msg *m = tp_container(ctx->sentq.next, struct ebt_tp_msg, link);
        tp_list_del(&m->link);
        if (m->sent)
            m->sent(m->status, m->arg);
        tp_msg_free(m);
        n++;
    }
    return n;
}

/* ---- upcalls from the backend ---- */

static struct ebt_tp_xfer *tp_recv_reply(ebt_tp_peer_t *peer, const struct ebt_tp_hdr *hdr,
                                         void **buf_p)
{
    struct ebt_tp_call *c = tp_call_find(peer->ctx, hdr->id);
    if (!c || c->peer != peer || c->finished) {
        ebt_debug("transport: dropping reply %llu (late or unknown)", (unsigned long long)hdr->id);
        return NULL;
    }
    tp_call_unhash(c); /* a duplicate cannot match any more */
    c->rx.hdr = *hdr;
    c->reply_len = hdr->len;
    c->recv_busy = 1;
    *buf_p = hdr->len <= c->reply_cap ? c->reply : NULL;
    return &c->rx;
}

static struct ebt_tp_xfer *tp_recv_request(ebt_tp_peer_t *peer, const struct ebt_tp_hdr *hdr,
                                           void **buf_p)
{
    if (peer->status)
        return NULL;
    struct ebt_tp_msg *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL; /* the caller will time out */
    m->peer = peer;
    tp_peer_ref(peer);
    m->rx.hdr = *hdr;
    m->rx.owner = m->sx.owner = m;
    m->rx.role = EBT_TP_X_MSG_RECV;
    m->sx.role = EBT_TP_X_MSG_SEND;
    m->state = TP_MSG_RECEIVING;
    tp_list_add(&peer->ctx->msgs, &m->link);
    *buf_p = NULL;
    if (hdr->len > peer->ctx->max_request)
        m->status = -EMSGSIZE;
    else if (hdr->len > 0 && !(m->data = tp_buf_get(peer->ctx, hdr->len, &m->cap)))
        m->status = -ENOMEM;
    else
        m->len = hdr->len;
    *buf_p = m->data;
    return &m->rx;
}

struct ebt_tp_xfer *ebt_tp_core_recv_begin(ebt_tp_peer_t *peer, const struct ebt_tp_hdr *hdr,
                                           void **buf_p)
{
    *buf_p = NULL;
    if (hdr->kind == EBT_TP_REPLY)
        return tp_recv_reply(peer, hdr, buf_p);
    if (hdr->kind == EBT_TP_REQUEST)
        return tp_recv_request(peer, hdr, buf_p);
    ebt_warn("transport: message of unknown kind %u from %s", hdr->kind, peer->addr);
    return NULL;
}

static void tp_call_xfer_done(struct ebt_tp_call *c, int role, int status)
{
    if (status < 0) /* a transfer that fails means the connection broke */
        status = c->peer->status ? c->peer->status : -ECONNRESET;
    if (role == EBT_TP_X_CALL_SEND) {
        c->send_busy = 0;
        if (status < 0)
            tp_call_finish(c, status);
        tp_call_settle(c);
        return;
    }
    c->recv_busy = 0;
    if (status == 0)
        status = c->reply_len > c->reply_cap ? -EMSGSIZE : c->rx.hdr.status;
    tp_call_finish(c, status);
}

static void tp_msg_xfer_done(struct ebt_tp_msg *m, int role, int status)
{
    ebt_tp_ctx_t *ctx = m->peer->ctx;
    if (role == EBT_TP_X_MSG_RECV) {
        if (status < 0) /* freed or answered from the inbox, never inside a backend callback */
            m->status = status;
        m->state = TP_MSG_READY;
        tp_list_del(&m->link);
        tp_list_add(&ctx->inbox, &m->link);
        return;
    }
    m->status = status;
    tp_list_del(&m->link);
    tp_list_add(&ctx->sentq, &m->link);
}

void ebt_tp_core_xfer_done(struct ebt_tp_xfer *x, int status)
{
    if (x->role == EBT_TP_X_CALL_SEND || x->role == EBT_TP_X_CALL_RECV)
        tp_call_xfer_done(x->owner, x->role, status);
    else
        tp_msg_xfer_done(x->owner, x->role, status);
}
