/* tp_mpi_thread.c - the MPI backend's progress thread: MPI init/finalize, posting and testing
 * requests, chunked payloads, envelope probing, closing connections. Events go to the daemon
 * thread through the done queue and an eventfd. */
#define _GNU_SOURCE
#include "tp_mpi.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TP_MPI_SPIN_US 200      /* after work the thread polls without sleeping this long */
#define TP_MPI_NAP_MAX_US 500   /* longest nap in the first TP_MPI_IDLE_MS without work */
#define TP_MPI_NAP_IDLE_US 2000 /* longest nap after that: what an idle daemon costs */
#define TP_MPI_IDLE_MS 100
#define TP_MPI_DRAIN_MS 100 /* at stop, transfers still in flight get this long */

void tp_mpi_wake_thread(struct tp_mpi_ctx *mc)
{
    uint64_t one = 1;
    if (write(mc->wfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        ebt_warn("transport: mpi wake-up: %m");
}

static void tp_mpi_signal_daemon(struct tp_mpi_ctx *mc)
{
    uint64_t one = 1;
    if (write(mc->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        ebt_warn("transport: mpi event fd: %m");
}

/* Hand finished work to the daemon thread (one lock and one wake-up per round). */
static void tp_mpi_emit_all(struct tp_mpi_ctx *mc, struct tp_mpi_queue *q)
{
    if (!q->head)
        return;
    pthread_mutex_lock(&mc->lock);
    if (mc->done.tail)
        mc->done.tail->next = q->head;
    else
        mc->done.head = q->head;
    mc->done.tail = q->tail;
    pthread_mutex_unlock(&mc->lock);
    q->head = q->tail = NULL;
    tp_mpi_signal_daemon(mc);
}

static void tp_mpi_rank_failed(struct tp_mpi_ctx *mc, int rank, int status,
                               struct tp_mpi_queue *out)
{
    if (rank < 0 || rank >= mc->size || mc->rank_failed[rank])
        return;
    mc->rank_failed[rank] = 1;
    mc->any_failed = 1;
    ebt_warn("transport: mpi: communication with rank %d failed: %s", rank, strerror(-status));
    struct tp_mpi_op *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return;
    ev->kind = TP_MPI_OP_PEERERR;
    ev->rank = rank;
    ev->status = status;
    tp_mpi_q_push(out, ev);
}

/* Post the next piece of op's payload (at most mc->split bytes). 0 or -errno. */
static int tp_mpi_post_chunk(struct tp_mpi_ctx *mc, struct tp_mpi_op *op)
{
    size_t n = op->len - op->off;
    if (n > mc->split)
        n = mc->split;
    op->chunk = n;
    int rc;
    if (op->kind == TP_MPI_OP_SEND)
        rc = MPI_Isend(op->buf + op->off, (int)n, MPI_BYTE, op->rank, op->env.data_tag, mc->comm,
                       &op->req_data);
    else
        rc = MPI_Irecv(op->scratch ? op->buf : op->buf + op->off, (int)n, MPI_BYTE, op->rank,
                       op->env.data_tag, mc->comm, &op->req_data);
    return rc == MPI_SUCCESS ? 0 : tp_mpi_errno(rc);
}

/* Start a send: the envelope (with the payload inline if small), then the first payload chunk.
 * Called by the daemon thread (MPI_THREAD_MULTIPLE) or by the progress thread (FUNNELED). */
int tp_mpi_send_start(struct tp_mpi_ctx *mc, struct tp_mpi_op *op)
{
    size_t n = sizeof(op->env);
    op->req_env = op->req_data = MPI_REQUEST_NULL;
    if (op->len <= TP_MPI_INLINE) {
        op->env.data_tag = -1;
        op->env.inline_len = (uint32_t)op->len;
        n += op->len;
    } else {
        op->env.data_tag =
            TP_MPI_TAG_DATA0 + (int)(mc->next_tag++ % (unsigned)(mc->tag_ub - TP_MPI_TAG_DATA0));
    }
    op->ibuf = malloc(n);
    if (!op->ibuf)
        return -ENOMEM;
    memcpy(op->ibuf, &op->env, sizeof(op->env));
    if (op->env.inline_len)
        memcpy(op->ibuf + sizeof(op->env), op->buf, op->len);
    int rc =
        MPI_Isend(op->ibuf, (int)n, MPI_BYTE, op->rank, TP_MPI_TAG_ENV, mc->comm, &op->req_env);
    if (rc != MPI_SUCCESS)
        return tp_mpi_errno(rc);
    op->off = op->len <= TP_MPI_INLINE ? op->len : 0;
    return op->off < op->len ? tp_mpi_post_chunk(mc, op) : 0;
}

/* Has *r finished? A failure or a cancellation sets *err. */
static int tp_mpi_req_test(MPI_Request *r, int *err)
{
    if (*r == MPI_REQUEST_NULL)
        return 1;
    int flag = 0, cancelled = 0;
    MPI_Status st;
    int rc = MPI_Test(r, &flag, &st);
    if (rc != MPI_SUCCESS) {
        *err = tp_mpi_errno(rc);
        *r = MPI_REQUEST_NULL;
        return 1;
    }
    if (flag && MPI_Test_cancelled(&st, &cancelled) == MPI_SUCCESS && cancelled)
        *err = -ECANCELED;
    return flag;
}

/* Move op's payload on, chunk after chunk (same tag: MPI keeps them in order). 1: finished. */
static int tp_mpi_data_step(struct tp_mpi_ctx *mc, struct tp_mpi_op *op)
{
    for (;;) {
        int err = 0;
        if (op->req_data != MPI_REQUEST_NULL) {
            if (!tp_mpi_req_test(&op->req_data, &err))
                return 0;
            if (err) {
                op->status = err;
                return 1;
            }
            op->off += op->chunk;
        }
        if (op->off >= op->len)
            return 1;
        if (op->close_at) {
            op->status = -ECANCELED;
            return 1;
        }
        int rc = tp_mpi_post_chunk(mc, op);
        if (rc < 0) {
            op->status = rc;
            return 1;
        }
    }
}

/* 1 when every request of op has finished. */
static int tp_mpi_op_step(struct tp_mpi_ctx *mc, struct tp_mpi_op *op)
{
    int err = 0;
    if (!tp_mpi_req_test(&op->req_env, &err))
        return 0;
    if (err && !op->status)
        op->status = err;
    if (op->kind == TP_MPI_OP_ARRIVAL)
        return 1;
    return tp_mpi_data_step(mc, op);
}

/* A closed connection's transfer is given back after TP_MPI_CLOSE_MS even if MPI still has it
 * (a dead rank never completes it): the op stays here, an orphan, until MPI lets go. */
static void tp_mpi_give_back(struct tp_mpi_op *op, uint64_t now, struct tp_mpi_queue *out)
{
    if (!op->x || !op->close_at || now < op->close_at)
        return;
    struct tp_mpi_op *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return; /* retried next round */
    ev->kind = TP_MPI_OP_XDONE;
    ev->x = op->x;
    ev->status = -ECANCELED;
    op->x = NULL;
    tp_mpi_q_push(out, ev);
}

static void tp_mpi_op_free(struct tp_mpi_op *op)
{
    free(op->ibuf);
    if (op->scratch)
        free(op->buf);
    free(op);
}

/* Test everything in flight; finished ops go to out (or are freed if nobody waits for them). */
static int tp_mpi_test_active(struct tp_mpi_ctx *mc, struct tp_mpi_queue *out)
{
    int n = 0;
    uint64_t now = ebt_tp_now_ns();
    for (struct tp_mpi_op **pp = &mc->active, *op; (op = *pp);) {
        tp_mpi_give_back(op, now, out);
        if (!tp_mpi_op_step(mc, op)) {
            pp = &op->next;
            continue;
        }
        *pp = op->next;
        mc->nactive--;
        n++;
        if (op->status < 0 && op->status != -ECANCELED)
            tp_mpi_rank_failed(mc, op->rank, op->status, out);
        if (op->x || (op->kind == TP_MPI_OP_ARRIVAL && !op->status))
            tp_mpi_q_push(out, op);
        else
            tp_mpi_op_free(op);
    }
    return n;
}

static void tp_mpi_activate(struct tp_mpi_ctx *mc, struct tp_mpi_op *op)
{
    op->next = mc->active;
    mc->active = op;
    mc->nactive++;
}

/* The connection (rank, conn, side) is closed: give its transfers back soon, cancel receives. */
static void tp_mpi_close_conn(struct tp_mpi_ctx *mc, struct tp_mpi_op *c, struct tp_mpi_queue *out)
{
    uint64_t at = ebt_tp_now_ns() + TP_MPI_CLOSE_MS * 1000000ull;
    for (struct tp_mpi_op *op = mc->active; op; op = op->next) {
        int side = op->kind == TP_MPI_OP_SEND ? op->env.from_acceptor : !op->env.from_acceptor;
        if (op->rank != c->rank || op->env.conn != c->env.conn || side != c->env.from_acceptor ||
            op->kind == TP_MPI_OP_ARRIVAL)
            continue;
        op->close_at = at;
        if (op->kind == TP_MPI_OP_RECV && op->req_data != MPI_REQUEST_NULL)
            MPI_Cancel(&op->req_data);
    }
    if (!c->tell_peer || mc->rank_failed[c->rank]) {
        free(c);
        return;
    }
    c->kind = TP_MPI_OP_SEND; /* one envelope saying so; nobody waits for it */
    c->env.ctl = TP_MPI_CTL_CLOSE;
    c->len = 0;
    if (tp_mpi_send_start(mc, c) < 0) {
        tp_mpi_op_free(c);
        return;
    }
    tp_mpi_activate(mc, c);
}

/* A send or receive could not be started: report it; whatever MPI took stays as an orphan. */
static void tp_mpi_cmd_failed(struct tp_mpi_ctx *mc, struct tp_mpi_op *op, int rc,
                              struct tp_mpi_queue *out)
{
    op->status = rc;
    if (op->req_env == MPI_REQUEST_NULL && op->req_data == MPI_REQUEST_NULL) {
        if (op->x)
            tp_mpi_q_push(out, op);
        else
            tp_mpi_op_free(op);
        return;
    }
    op->close_at = 1; /* give x back at once, post nothing more */
    tp_mpi_give_back(op, ebt_tp_now_ns(), out);
    tp_mpi_activate(mc, op);
}

static void tp_mpi_run_cmd(struct tp_mpi_ctx *mc, struct tp_mpi_op *op, struct tp_mpi_queue *out)
{
    int rc = 0;
    if (op->kind == TP_MPI_OP_CLOSE) {
        tp_mpi_close_conn(mc, op, out);
        return;
    }
    if (mc->rank_failed[op->rank] && op->req_env == MPI_REQUEST_NULL &&
        op->req_data == MPI_REQUEST_NULL)
        rc = -ECONNRESET;
    else if (op->kind == TP_MPI_OP_SEND && !mc->multiple)
        rc = tp_mpi_send_start(mc, op);
    else if (op->kind == TP_MPI_OP_RECV)
        rc = tp_mpi_post_chunk(mc, op);
    if (rc < 0)
        tp_mpi_cmd_failed(mc, op, rc, out);
    else
        tp_mpi_activate(mc, op);
}

/* Take envelopes that arrived (matched probe: no other receive can steal them). */
static int tp_mpi_probe(struct tp_mpi_ctx *mc)
{
    int n = 0;
    for (; n < TP_MPI_PROBES; n++) {
        int flag = 0, count = 0;
        MPI_Message msg;
        MPI_Status st;
        if (MPI_Improbe(MPI_ANY_SOURCE, TP_MPI_TAG_ENV, mc->comm, &flag, &msg, &st) !=
                MPI_SUCCESS ||
            !flag)
            break;
        MPI_Get_count(&st, MPI_BYTE, &count);
        struct tp_mpi_op *op = calloc(1, sizeof(*op));
        char *buf = malloc(count > 0 ? (size_t)count : 1);
        if (!op || !buf) {
            char junk[sizeof(struct tp_mpi_env)]; /* cannot happen in practice: drop it */
            free(op);
            free(buf);
            MPI_Mrecv(junk, 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
            continue;
        }
        op->kind = TP_MPI_OP_ARRIVAL;
        op->rank = st.MPI_SOURCE;
        op->ibuf = buf;
        op->len = (size_t)count;
        op->req_data = MPI_REQUEST_NULL;
        MPI_Imrecv(buf, count, MPI_BYTE, &msg, &op->req_env);
        tp_mpi_activate(mc, op);
    }
    return n;
}

/* Nap when idle: MPI has no fd to sleep on, so poll without sleeping for TP_MPI_SPIN_US after
 * the last work (a reply usually comes within that: latency), then sleep longer and longer (up
 * to TP_MPI_NAP_MAX_US; after TP_MPI_IDLE_MS without work up to TP_MPI_NAP_IDLE_US), woken at
 * once by the daemon thread's wake-up fd when it hands over work. An incoming message waits at
 * most the current nap. */
static void tp_mpi_nap(struct tp_mpi_ctx *mc, uint64_t idle_since, unsigned *naps)
{
    uint64_t idle_ns = ebt_tp_now_ns() - idle_since;
    if (idle_ns < TP_MPI_SPIN_US * 1000ull) {
        sched_yield(); /* the daemon thread may need this core to answer */
        return;
    }
    unsigned max = idle_ns < TP_MPI_IDLE_MS * 1000000ull ? TP_MPI_NAP_MAX_US : TP_MPI_NAP_IDLE_US;
    unsigned us = ++*naps * 10;
    if (us > max)
        us = max;
    struct pollfd p = {.fd = mc->wfd, .events = POLLIN};
    struct timespec ts = {0, (long)us * 1000};
    if (ppoll(&p, 1, &ts, NULL) > 0) {
        uint64_t v;
        if (read(mc->wfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            ebt_warn("transport: mpi wake-up fd: %m");
    }
}

static int tp_mpi_init(struct tp_mpi_ctx *mc)
{
    int inited = 0, provided = 0, flag = 0;
    const char *t = getenv("EBT_TP_MPI_THREAD");
    int want = t && !strcmp(t, "funneled") ? MPI_THREAD_FUNNELED : MPI_THREAD_MULTIPLE;
    MPI_Initialized(&inited);
    if (inited) {
        MPI_Query_thread(&provided);
    } else {
        if (MPI_Init_thread(NULL, NULL, want, &provided) != MPI_SUCCESS)
            return -EIO;
        mc->finalize = 1;
    }
    if (provided < MPI_THREAD_FUNNELED)
        ebt_warn("transport: mpi provides thread level %d only; all MPI calls stay in one thread",
                 provided);
    mc->multiple = provided >= MPI_THREAD_MULTIPLE && want == MPI_THREAD_MULTIPLE;
    if (MPI_Comm_dup(MPI_COMM_WORLD, &mc->comm) != MPI_SUCCESS)
        return -EIO;
    MPI_Comm_set_errhandler(mc->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(mc->comm, &mc->rank);
    MPI_Comm_size(mc->comm, &mc->size);
    int *ub = NULL;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
    mc->tag_ub = flag && ub ? *ub : 32767;
    mc->rank_failed = calloc((size_t)mc->size, 1);
    if (!mc->rank_failed)
        return -ENOMEM;
    ebt_info("transport: mpi rank %d of %d, thread level %s", mc->rank, mc->size,
             mc->multiple ? "multiple (sends from the daemon thread)" : "funneled (one thread)");
    return 0;
}

/* Events nobody will take any more (the context is going away): memory only. */
static void tp_mpi_ops_drop(struct tp_mpi_op *l)
{
    for (struct tp_mpi_op *nx; l; l = nx) {
        nx = l->next;
        tp_mpi_op_free(l);
    }
}

/* At stop: let what is in flight (the last replies, close notices) finish, for a short while. */
static void tp_mpi_drain(struct tp_mpi_ctx *mc)
{
    uint64_t end = ebt_tp_now_ns() + TP_MPI_DRAIN_MS * 1000000ull;
    while (mc->nactive && ebt_tp_now_ns() < end) {
        struct tp_mpi_queue out = {NULL, NULL};
        for (struct tp_mpi_op *op = mc->active; op; op = op->next)
            op->x = NULL; /* the core has let go of every transfer */
        tp_mpi_test_active(mc, &out);
        tp_mpi_ops_drop(out.head);
    }
}

/* Finalize only when nothing is stuck in MPI: with a dead rank or an orphaned request it would
 * hang (MPI cannot recover from a lost rank). The daemon waits at most TP_MPI_FINI_MS anyway. */
static void tp_mpi_fini(struct tp_mpi_ctx *mc)
{
    if (mc->any_failed || mc->nactive) {
        ebt_warn("transport: mpi: %s: not calling MPI_Finalize",
                 mc->any_failed ? "a rank failed" : "requests still in flight");
        return;
    }
    MPI_Comm_free(&mc->comm);
    if (mc->finalize)
        MPI_Finalize();
}

static void tp_mpi_loop(struct tp_mpi_ctx *mc)
{
    uint64_t busy_at = ebt_tp_now_ns();
    unsigned naps = 0;
    for (;;) {
        struct tp_mpi_queue out = {NULL, NULL};
        pthread_mutex_lock(&mc->lock);
        int stop = mc->stop;
        struct tp_mpi_op *cmds = tp_mpi_q_take(&mc->cmd);
        pthread_mutex_unlock(&mc->lock);
        int n = 0;
        for (struct tp_mpi_op *op = cmds, *nx; op; op = nx, n++) {
            nx = op->next;
            op->next = NULL;
            tp_mpi_run_cmd(mc, op, &out);
        }
        if (stop) {
            tp_mpi_ops_drop(out.head);
            break;
        }
        n += tp_mpi_test_active(mc, &out);
        n += tp_mpi_probe(mc);
        tp_mpi_emit_all(mc, &out);
        if (n) {
            busy_at = ebt_tp_now_ns();
            naps = 0;
        }
        tp_mpi_nap(mc, busy_at, &naps);
    }
}

void *tp_mpi_thread_main(void *arg)
{
    struct tp_mpi_ctx *mc = arg;
    int rc = tp_mpi_init(mc);
    pthread_mutex_lock(&mc->lock);
    mc->init_done = 1;
    mc->init_rc = rc;
    pthread_cond_broadcast(&mc->cond);
    pthread_mutex_unlock(&mc->lock);
    if (rc == 0) {
        tp_mpi_loop(mc);
        tp_mpi_drain(mc);
        tp_mpi_fini(mc);
    }
    pthread_mutex_lock(&mc->lock);
    mc->exited = 1;
    pthread_cond_broadcast(&mc->cond);
    pthread_mutex_unlock(&mc->lock);
    return NULL;
}
