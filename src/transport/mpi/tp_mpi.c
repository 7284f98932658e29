/* tp_mpi.c - MPI backend of the transport (daemon thread side): context and progress thread,
 * addresses ("mpi:RANK"), connections named by id, sends, arrivals handed to the core. */
#define _GNU_SOURCE
#include "tp_mpi.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int tp_mpi_in_use; /* MPI is initialised once per process: one context per process */

void tp_mpi_q_push(struct tp_mpi_queue *q, struct tp_mpi_op *op)
{
    op->next = NULL;
    if (q->tail)
        q->tail->next = op;
    else
        q->head = op;
    q->tail = op;
}

struct tp_mpi_op *tp_mpi_q_take(struct tp_mpi_queue *q)
{
    struct tp_mpi_op *l = q->head;
    q->head = q->tail = NULL;
    return l;
}

int tp_mpi_errno(int mpi_rc)
{
    int cls = MPI_ERR_OTHER;
    MPI_Error_class(mpi_rc, &cls);
    switch (cls) {
    case MPI_SUCCESS:
        return 0;
    case MPI_ERR_TRUNCATE:
        return -EMSGSIZE;
    case MPI_ERR_NO_MEM:
        return -ENOMEM;
    case MPI_ERR_RANK:
        return -EHOSTUNREACH;
    default:
        return -ECONNRESET; /* MPI cannot go on talking to that rank */
    }
}

static void tp_mpi_cmd(struct tp_mpi_ctx *mc, struct tp_mpi_op *op)
{
    pthread_mutex_lock(&mc->lock);
    tp_mpi_q_push(&mc->cmd, op);
    pthread_mutex_unlock(&mc->lock);
    tp_mpi_wake_thread(mc);
}

/* ---- connections: (rank, conn id, which side) -> peer ---- */

static struct tp_mpi_peer **tp_mpi_bucket(struct tp_mpi_ctx *mc, int rank, uint32_t conn)
{
    return &mc->bucket[((unsigned)rank * 31u + conn) % TP_MPI_BUCKETS];
}

static struct tp_mpi_peer *tp_mpi_peer_find(struct tp_mpi_ctx *mc, int rank, uint32_t conn,
                                            int acceptor)
{
    for (struct tp_mpi_peer *p = *tp_mpi_bucket(mc, rank, conn); p; p = p->hnext)
        if (p->rank == rank && p->conn == conn && p->acceptor == acceptor)
            return p;
    return NULL;
}

static struct tp_mpi_peer *tp_mpi_peer_add(struct tp_mpi_ctx *mc, ebt_tp_peer_t *peer, int rank,
                                           uint32_t conn, int acceptor)
{
    struct tp_mpi_peer *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    *p = (struct tp_mpi_peer){.peer = peer, .rank = rank, .conn = conn, .acceptor = acceptor};
    struct tp_mpi_peer **b = tp_mpi_bucket(mc, rank, conn);
    p->hnext = *b;
    *b = p;
    peer->be = p;
    return p;
}

static void tp_mpi_peer_del(struct tp_mpi_ctx *mc, struct tp_mpi_peer *p)
{
    for (struct tp_mpi_peer **pp = tp_mpi_bucket(mc, p->rank, p->conn); *pp; pp = &(*pp)->hnext)
        if (*pp == p) {
            *pp = p->hnext;
            break;
        }
    p->peer->be = NULL;
    free(p);
}

/* "mpi:R" (or "R") -> R, a rank of the world. */
static int tp_mpi_parse(struct tp_mpi_ctx *mc, const char *addr, int *rank_p)
{
    const char *s = strncmp(addr, "mpi:", 4) == 0 ? addr + 4 : addr;
    char *end;
    long r = strtol(s, &end, 10);
    if (!*s || *end || r < 0 || r >= mc->size) {
        ebt_error("transport: '%s' is not an MPI rank (mpi:0..mpi:%d)", addr, mc->size - 1);
        return -EINVAL;
    }
    *rank_p = (int)r;
    return 0;
}

/* No handshake: every rank of the world is reachable; the first message names the connection. */
static int tp_mpi_peer_connect(ebt_tp_peer_t *peer, const char *addr)
{
    struct tp_mpi_ctx *mc = peer->ctx->be;
    int rank;
    int rc = tp_mpi_parse(mc, addr, &rank);
    if (rc < 0)
        return rc;
    return tp_mpi_peer_add(mc, peer, rank, ++mc->next_conn, 0) ? 0 : -ENOMEM;
}

/* Forget the connection; its transfers come back through the done queue (within
 * TP_MPI_CLOSE_MS); the other side is told unless MPI already failed towards it. */
static void tp_mpi_peer_close(ebt_tp_peer_t *peer)
{
    struct tp_mpi_ctx *mc = peer->ctx->be;
    struct tp_mpi_peer *p = peer->be;
    if (!p)
        return;
    struct tp_mpi_op *c = calloc(1, sizeof(*c));
    if (c) {
        c->kind = TP_MPI_OP_CLOSE;
        c->rank = p->rank;
        c->env.conn = p->conn;
        c->env.from_acceptor = (uint8_t)p->acceptor;
        c->tell_peer = peer->status != -ECONNRESET;
        c->req_env = c->req_data = MPI_REQUEST_NULL;
        tp_mpi_cmd(mc, c);
    }
    tp_mpi_peer_del(mc, p);
}

static int tp_mpi_msg_send(ebt_tp_peer_t *peer, struct ebt_tp_xfer *x)
{
    struct tp_mpi_ctx *mc = peer->ctx->be;
    struct tp_mpi_peer *p = peer->be;
    if (!p)
        return peer->status ? peer->status : -ENOTCONN;
    struct tp_mpi_op *op = calloc(1, sizeof(*op));
    if (!op)
        return -ENOMEM;
    op->kind = TP_MPI_OP_SEND;
    op->rank = p->rank;
    op->x = x;
    op->buf = (char *)x->data;
    op->len = x->hdr.len;
    op->env =
        (struct tp_mpi_env){.hdr = x->hdr, .conn = p->conn, .from_acceptor = (uint8_t)p->acceptor};
    op->req_env = op->req_data = MPI_REQUEST_NULL;
    if (mc->multiple) { /* post it here: no hand-over latency */
        int rc = tp_mpi_send_start(mc, op);
        if (rc < 0) {
            op->x = NULL;
            op->close_at = 1; /* whatever MPI took stays with the thread until it finishes */
            tp_mpi_cmd(mc, op);
            return rc;
        }
    }
    x->be = op;
    tp_mpi_cmd(mc, op);
    return 0;
}

/* ---- events from the progress thread ---- */

static void tp_mpi_fail_rank(struct tp_mpi_ctx *mc, int rank, int status)
{
    for (int b = 0; b < TP_MPI_BUCKETS; b++)
        for (struct tp_mpi_peer *p = mc->bucket[b]; p; p = p->hnext)
            if (p->rank == rank)
                ebt_tp_core_peer_failed(p->peer, status);
}

/* The peer an envelope belongs to; a first message from a connecting side makes a new peer. */
static ebt_tp_peer_t *tp_mpi_arrival_peer(struct tp_mpi_ctx *mc, int rank,
                                          const struct tp_mpi_env *env)
{
    struct tp_mpi_peer *p = tp_mpi_peer_find(mc, rank, env->conn, !env->from_acceptor);
    if (p)
        return p->peer;
    if (env->from_acceptor || env->ctl != TP_MPI_CTL_MSG)
        return NULL; /* a reply or close for a connection we closed */
    ebt_tp_peer_t *peer = ebt_tp_core_peer_accept(mc->ctx);
    if (!peer)
        return NULL;
    snprintf(peer->addr, sizeof(peer->addr), "mpi:%d (in)", rank);
    if (!tp_mpi_peer_add(mc, peer, rank, env->conn, 1)) {
        ebt_tp_core_peer_failed(peer, -ENOMEM);
        return NULL;
    }
    return peer;
}

/* Turn an arrival whose payload travels separately into a receive (into buf, or discarded). */
static void tp_mpi_post_recv(struct tp_mpi_ctx *mc, struct tp_mpi_op *op, struct ebt_tp_xfer *x,
                             void *buf)
{
    free(op->ibuf);
    op->ibuf = NULL;
    op->kind = TP_MPI_OP_RECV;
    op->x = x;
    op->len = op->env.hdr.len;
    op->off = 0;
    op->buf = buf;
    if (!buf) { /* MPI cannot drop a message: receive it into scratch, piece by piece */
        op->scratch = 1;
        op->buf = malloc(op->len < mc->split ? op->len : mc->split);
        if (!op->buf) {
            ebt_error("transport: mpi: no memory to discard a %zu byte payload", op->len);
            op->scratch = 0;
            if (x)
                ebt_tp_core_xfer_done(x, -ENOMEM);
            free(op);
            return;
        }
    }
    if (x)
        x->be = op;
    op->req_env = op->req_data = MPI_REQUEST_NULL;
    tp_mpi_cmd(mc, op);
}

static void tp_mpi_arrival(struct tp_mpi_ctx *mc, struct tp_mpi_op *op)
{
    if (op->len < sizeof(op->env)) {
        ebt_warn("transport: mpi: short message (%zu bytes) from rank %d dropped", op->len,
                 op->rank);
        goto free_op;
    }
    memcpy(&op->env, op->ibuf, sizeof(op->env));
    int inl = op->env.data_tag < 0;
    if (inl && op->env.inline_len != op->env.hdr.len)
        goto bad;
    if (inl && op->len != sizeof(op->env) + op->env.inline_len)
        goto bad;
    ebt_tp_peer_t *peer = tp_mpi_arrival_peer(mc, op->rank, &op->env);
    if (op->env.ctl == TP_MPI_CTL_CLOSE) {
        if (peer)
            ebt_tp_core_peer_failed(peer, -ECONNRESET);
        goto free_op;
    }
    void *buf = NULL;
    struct ebt_tp_xfer *x = peer ? ebt_tp_core_recv_begin(peer, &op->env.hdr, &buf) : NULL;
    if (!inl) {
        tp_mpi_post_recv(mc, op, x, buf);
        return;
    }
    if (x && buf && op->env.inline_len)
        memcpy(buf, op->ibuf + sizeof(op->env), op->env.inline_len);
    if (x)
        ebt_tp_core_xfer_done(x, 0);
    goto free_op;
bad:
    ebt_warn("transport: mpi: malformed message from rank %d dropped", op->rank);
free_op:
    free(op->ibuf);
    free(op);
}

static void tp_mpi_event(struct tp_mpi_ctx *mc, struct tp_mpi_op *op)
{
    switch (op->kind) {
    case TP_MPI_OP_ARRIVAL:
        tp_mpi_arrival(mc, op);
        return;
    case TP_MPI_OP_PEERERR:
        tp_mpi_fail_rank(mc, op->rank, -ECONNRESET);
        break;
    default: /* SEND, RECV, XDONE */
        if (op->x) {
            op->x->be = NULL;
            ebt_tp_core_xfer_done(op->x, op->status);
        }
        free(op->ibuf);
        if (op->scratch)
            free(op->buf);
    }
    free(op);
}

static int tp_mpi_progress(ebt_tp_ctx_t *ctx)
{
    struct tp_mpi_ctx *mc = ctx->be;
    uint64_t v;
    if (read(mc->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        ebt_warn("transport: mpi event fd: %m");
    pthread_mutex_lock(&mc->lock);
    struct tp_mpi_op *l = tp_mpi_q_take(&mc->done);
    pthread_mutex_unlock(&mc->lock);
    int n = 0;
    for (struct tp_mpi_op *nx; l; l = nx, n++) {
        nx = l->next;
        tp_mpi_event(mc, l);
    }
    return n;
}

static int tp_mpi_fd(ebt_tp_ctx_t *ctx)
{
    return ((struct tp_mpi_ctx *)ctx->be)->efd;
}

static int tp_mpi_arm(ebt_tp_ctx_t *ctx)
{
    struct tp_mpi_ctx *mc = ctx->be;
    pthread_mutex_lock(&mc->lock);
    int busy = mc->done.head != NULL;
    pthread_mutex_unlock(&mc->lock);
    return busy ? -EAGAIN : 0;
}

/* ---- context ---- */

static size_t tp_mpi_split(void)
{
    const char *v = getenv("EBT_TP_MPI_SPLIT"); /* internal knob (tests): bytes per MPI message */
    unsigned long long n = v && *v ? strtoull(v, NULL, 0) : 0;
    if (n == 0 || n > TP_MPI_CHUNK_MAX)
        return TP_MPI_CHUNK_MAX;
    return (size_t)n;
}

static void tp_mpi_free(struct tp_mpi_ctx *mc)
{
    if (mc->efd >= 0)
        close(mc->efd);
    if (mc->wfd >= 0)
        close(mc->wfd);
    pthread_mutex_destroy(&mc->lock);
    pthread_cond_destroy(&mc->cond);
    free(mc->rank_failed);
    free(mc);
}

/* Wait (bounded) for the thread to set *flag. 0, or -ETIMEDOUT. */
static int tp_mpi_wait_flag(struct tp_mpi_ctx *mc, const int *flag, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&mc->lock);
    while (!*flag && rc == 0)
        rc = pthread_cond_timedwait(&mc->cond, &mc->lock, &ts);
    int ok = *flag;
    pthread_mutex_unlock(&mc->lock);
    return ok ? 0 : -ETIMEDOUT;
}

static int tp_mpi_ctx_init(ebt_tp_ctx_t *ctx, const struct ebt_tp_params *params)
{
    if (tp_mpi_in_use) {
        ebt_error("transport: mpi: one context per process (MPI is initialised once)");
        return -EBUSY;
    }
    struct tp_mpi_ctx *mc = calloc(1, sizeof(*mc));
    if (!mc)
        return -ENOMEM;
    mc->ctx = ctx;
    mc->split = tp_mpi_split();
    pthread_mutex_init(&mc->lock, NULL);
    pthread_cond_init(&mc->cond, NULL);
    mc->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    mc->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mc->efd < 0 || mc->wfd < 0 || pthread_create(&mc->thread, NULL, tp_mpi_thread_main, mc)) {
        ebt_error("transport: mpi: cannot start the progress thread: %m");
        tp_mpi_free(mc);
        return -EAGAIN;
    }
    tp_mpi_wait_flag(mc, &mc->init_done, 3600 * 1000); /* MPI_Init returns or aborts */
    if (mc->init_rc < 0) {
        ebt_error("transport: mpi: MPI initialisation failed");
        pthread_join(mc->thread, NULL);
        int rc = mc->init_rc;
        tp_mpi_free(mc);
        return rc;
    }
    tp_mpi_in_use = 1;
    ctx->be = mc;
    return 0;
}

static void tp_mpi_ops_free(struct tp_mpi_op *l)
{
    for (struct tp_mpi_op *nx; l; l = nx) {
        nx = l->next;
        free(l->ibuf);
        if (l->scratch)
            free(l->buf);
        free(l);
    }
}

static void tp_mpi_ctx_fini(ebt_tp_ctx_t *ctx)
{
    struct tp_mpi_ctx *mc = ctx->be;
    pthread_mutex_lock(&mc->lock);
    mc->stop = 1;
    pthread_mutex_unlock(&mc->lock);
    tp_mpi_wake_thread(mc);
    ctx->be = NULL;
    if (tp_mpi_wait_flag(mc, &mc->exited, TP_MPI_FINI_MS) < 0) {
        ebt_warn("transport: mpi: progress thread did not finish in %d ms (MPI_Finalize "
                 "waiting for a rank?): leaving it",
                 TP_MPI_FINI_MS);
        pthread_detach(mc->thread); /* its state stays allocated: it may still touch it */
        return;
    }
    pthread_join(mc->thread, NULL);
    /* The core has freed its calls and messages: whatever is left is only memory now. */
    tp_mpi_ops_free(tp_mpi_q_take(&mc->cmd));
    tp_mpi_ops_free(tp_mpi_q_take(&mc->done));
    tp_mpi_ops_free(mc->active);
    tp_mpi_free(mc);
}

static int tp_mpi_address(ebt_tp_ctx_t *ctx, char *buf, size_t cap)
{
    struct tp_mpi_ctx *mc = ctx->be;
    int n = snprintf(buf, cap, "mpi:%d", mc->rank);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

const struct ebt_tp_ops ebt_tp_mpi_ops = {
    .name = "mpi",
    .ctx_init = tp_mpi_ctx_init,
    .ctx_fini = tp_mpi_ctx_fini,
    .ctx_address = tp_mpi_address,
    .peer_connect = tp_mpi_peer_connect,
    .peer_close = tp_mpi_peer_close,
    .msg_send = tp_mpi_msg_send,
    .worker_progress = tp_mpi_progress,
    .worker_fd = tp_mpi_fd,
    .worker_arm = tp_mpi_arm,
};
