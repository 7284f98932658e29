/* tp_core.c - backend-independent transport core: contexts, peers, progress and waiting. */
#define _GNU_SOURCE
#include "tp_core.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TP_SLEEP_MAX_MS 100 /* longest sleep on the fd: a missed wake-up costs at most this */
#define TP_PROGRESS_ROUNDS 16

static const struct ebt_tp_ops *const tp_backends[] = {
    &ebt_tp_ucx_ops,
#ifdef EBT_HAVE_MPI
    &ebt_tp_mpi_ops,
#endif
};

uint64_t ebt_tp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const struct ebt_tp_ops *tp_backend_find(const char *name)
{
    if (!name)
        name = getenv("EBT_TRANSPORT");
    if (!name || !*name)
        name = "ucx";
    for (size_t i = 0; i < sizeof(tp_backends) / sizeof(tp_backends[0]); i++)
        if (strcmp(tp_backends[i]->name, name) == 0)
            return tp_backends[i];
    return NULL;
}

static void tp_ctx_lists_init(ebt_tp_ctx_t *ctx)
{
    tp_list_init(&ctx->peers);
    tp_list_init(&ctx->calls);
    tp_list_init(&ctx->done);
    tp_list_init(&ctx->msgs);
    tp_list_init(&ctx->inbox);
    tp_list_init(&ctx->sentq);
}

int ebt_tp_ctx_create(const char *backend, const struct ebt_tp_params *params, ebt_tp_ctx_t **ctx_p)
{
    const struct ebt_tp_ops *ops = tp_backend_find(backend);
    if (!ops) {
        const char *name = backend ? backend : getenv("EBT_TRANSPORT");
        ebt_error("transport: unknown backend '%s'%s", name,
                  name && !strcmp(name, "mpi") ? " (not built: no MPI found, or -DEBT_MPI=off)"
                                               : "");
        return -ENOENT;
    }
    ebt_tp_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    ctx->ops = ops;
    ctx->on_request = params->on_request;
    ctx->request_arg = params->request_arg;
    ctx->on_peer_error = params->on_peer_error;
    ctx->error_arg = params->error_arg;
    ctx->timeout_ms = params->timeout_ms > 0 ? params->timeout_ms : EBT_TP_TIMEOUT_MS;
    ctx->max_request = params->max_request ? params->max_request : EBT_TP_MAX_REQUEST;
    ctx->next_id = 1;
    tp_ctx_lists_init(ctx);
    int rc = ops->ctx_init(ctx, params);
    if (rc < 0) {
        free(ctx);
        return rc;
    }
    *ctx_p = ctx;
    return 0;
}

/* Fail everything, let the backend hand back every buffer, run the callbacks, free. */
void ebt_tp_ctx_destroy(ebt_tp_ctx_t *ctx)
{
    if (!ctx)
        return;
    for (struct ebt_tp_list *l = ctx->calls.next, *nx; l != &ctx->calls; l = nx) {
        nx = l->next;
        tp_call_finish(tp_container(l, struct ebt_tp_call, link), -ECANCELED);
    }
    for (struct ebt_tp_list *l = ctx->peers.next; l != &ctx->peers; l = l->next)
        tp_peer_backend_close(tp_container(l, ebt_tp_peer_t, link));
    uint64_t end = ebt_tp_now_ns() + 2000000000ull;
    while (!tp_list_empty(&ctx->calls) && ebt_tp_now_ns() < end)
        ctx->ops->worker_progress(ctx);
    if (!tp_list_empty(&ctx->calls))
        ebt_error("transport: calls still busy at shutdown");
    tp_done_dispatch(ctx);
    tp_sent_dispatch(ctx);
    while (!tp_list_empty(&ctx->inbox))
        tp_msg_free(tp_container(ctx->inbox.next, struct ebt_tp_msg, link));
    while (!tp_list_empty(&ctx->msgs))
        tp_msg_free(tp_container(ctx->msgs.next, struct ebt_tp_msg, link));
    tp_buf_drain(ctx);
    ctx->ops->ctx_fini(ctx);
    while (!tp_list_empty(&ctx->peers)) {
        ebt_tp_peer_t *p = tp_container(ctx->peers.next, ebt_tp_peer_t, link);
        tp_list_del(&p->link);
        free(p);
    }
    free(ctx);
}

int ebt_tp_ctx_address(ebt_tp_ctx_t *ctx, char *buf, size_t cap)
{
    return ctx->ops->ctx_address(ctx, buf, cap);
}

static ebt_tp_peer_t *tp_peer_new(ebt_tp_ctx_t *ctx, int incoming)
{
    ebt_tp_peer_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->ctx = ctx;
    p->incoming = incoming;
    p->refs = 1; /* the owner: the caller of connect, or the context for incoming peers */
    tp_list_add(&ctx->peers, &p->link);
    return p;
}

ebt_tp_peer_t *ebt_tp_core_peer_accept(ebt_tp_ctx_t *ctx)
{
    ebt_tp_peer_t *p = tp_peer_new(ctx, 1);
    if (p)
        snprintf(p->addr, sizeof(p->addr), "incoming");
    return p;
}

int ebt_tp_peer_connect(ebt_tp_ctx_t *ctx, const char *addr, ebt_tp_peer_t **peer_p)
{
    ebt_tp_peer_t *p = tp_peer_new(ctx, 0);
    if (!p)
        return -ENOMEM;
    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    int rc = ctx->ops->peer_connect(p, addr);
    if (rc < 0) {
        p->be_closed = 1;
        tp_list_del(&p->link);
        free(p);
        return rc;
    }
    *peer_p = p;
    return 0;
}

void tp_peer_backend_close(ebt_tp_peer_t *peer)
{
    if (peer->be_closed)
        return;
    peer->be_closed = 1;
    peer->ctx->ops->peer_close(peer);
}

void tp_peer_ref(ebt_tp_peer_t *peer)
{
    peer->refs++;
}

void tp_peer_unref(ebt_tp_peer_t *peer)
{
    if (--peer->refs > 0)
        return;
    tp_peer_backend_close(peer);
    tp_list_del(&peer->link);
    free(peer);
}

void ebt_tp_peer_close(ebt_tp_peer_t *peer)
{
    if (peer->status == 0)
        peer->status = -ECANCELED;
    tp_calls_fail_peer(peer, -ECANCELED);
    tp_peer_backend_close(peer);
    tp_peer_unref(peer);
}

int ebt_tp_peer_status(const ebt_tp_peer_t *peer)
{
    return peer->status;
}

void ebt_tp_peer_set_data(ebt_tp_peer_t *peer, void *data)
{
    peer->data = data;
}

void *ebt_tp_peer_data(const ebt_tp_peer_t *peer)
{
    return peer->data;
}

void ebt_tp_core_peer_failed(ebt_tp_peer_t *peer, int status)
{
    if (peer->status != 0)
        return;
    ebt_info("transport: peer %s failed: %s", peer->addr, strerror(-status));
    peer->status = status;
    peer->notify = 1;
    peer->ctx->nfailed++;
}

/* Handle failures the backend reported: close, fail the calls, tell the daemon. */
static int tp_peers_notify(ebt_tp_ctx_t *ctx)
{
    int n = 0;
    while (ctx->nfailed > 0) {
        ebt_tp_peer_t *p = NULL;
        for (struct ebt_tp_list *l = ctx->peers.next; l != &ctx->peers && !p; l = l->next)
            if (tp_container(l, ebt_tp_peer_t, link)->notify)
                p = tp_container(l, ebt_tp_peer_t, link);
        ctx->nfailed--;
        if (!p)
            break;
        p->notify = 0;
        tp_peer_ref(p);
        tp_calls_fail_peer(p, p->status); /* first: the calls keep the peer's error */
        tp_peer_backend_close(p);
        if (ctx->on_peer_error)
            ctx->on_peer_error(p, p->status, ctx->error_arg);
        if (p->incoming)
            tp_peer_unref(p); /* the context's reference */
        tp_peer_unref(p);
        n++;
    }
    return n;
}

int ebt_tp_progress(ebt_tp_ctx_t *ctx)
{
    int n = 0;
    for (int i = 0; i < TP_PROGRESS_ROUNDS; i++) {
        int k = ctx->ops->worker_progress(ctx);
        if (k <= 0)
            break;
        n += k;
    }
    n += tp_peers_notify(ctx);
    tp_calls_expire(ctx, ebt_tp_now_ns());
    n += tp_peers_notify(ctx); /* an expired busy call may have failed its peer */
    n += tp_done_dispatch(ctx);
    n += tp_sent_dispatch(ctx);
    n += tp_inbox_dispatch(ctx);
    return n;
}

int ebt_tp_event_fd(ebt_tp_ctx_t *ctx)
{
    return ctx->ops->worker_fd(ctx);
}

int ebt_tp_arm(ebt_tp_ctx_t *ctx)
{
    if (ctx->nfailed || !tp_list_empty(&ctx->done) || !tp_list_empty(&ctx->inbox) ||
        !tp_list_empty(&ctx->sentq))
        return -EAGAIN;
    return ctx->ops->worker_arm(ctx);
}

int ebt_tp_timeout_ms(ebt_tp_ctx_t *ctx)
{
    uint64_t now = ebt_tp_now_ns(), first = UINT64_MAX;
    for (struct ebt_tp_list *l = ctx->calls.next; l != &ctx->calls; l = l->next) {
        struct ebt_tp_call *c = tp_container(l, struct ebt_tp_call, link);
        if (!c->finished && c->deadline < first)
            first = c->deadline;
    }
    if (first == UINT64_MAX)
        return -1;
    return first <= now ? 0 : (int)((first - now + 999999) / 1000000);
}

/* Sleep on the event fd until an event, the next deadline, or limit_ms. */
static void tp_sleep(ebt_tp_ctx_t *ctx, int limit_ms)
{
    int ms = ebt_tp_timeout_ms(ctx);
    if (ms < 0 || ms > limit_ms)
        ms = limit_ms;
    if (ms > TP_SLEEP_MAX_MS)
        ms = TP_SLEEP_MAX_MS;
    struct pollfd p = {.fd = ebt_tp_event_fd(ctx), .events = POLLIN};
    if (p.fd < 0) {
        ms = ms > 1 ? 1 : ms;
        struct timespec ts = {0, (long)ms * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    poll(&p, 1, ms);
}

int ebt_tp_wait(ebt_tp_ctx_t *ctx, const volatile int *flag, int timeout_ms)
{
    uint64_t end = ebt_tp_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (!*flag) {
        if (ebt_tp_progress(ctx) > 0 || *flag)
            continue;
        uint64_t now = ebt_tp_now_ns();
        if (now >= end)
            return -ETIMEDOUT;
        if (ebt_tp_arm(ctx) == -EAGAIN)
            continue;
        tp_sleep(ctx, (int)((end - now + 999999) / 1000000));
    }
    return 0;
}
