/* tp_mpi.h - MPI backend internals: the progress thread, its queues, operations and wire envelope.
 */
#ifndef EBT_TP_MPI_H
#define EBT_TP_MPI_H

#include "tp_backend.h"

#include <limits.h>
#include <mpi.h>
#include <pthread.h>
#include <stdint.h>

#define TP_MPI_TAG_ENV 1          /* every message starts with an envelope on this tag */
#define TP_MPI_TAG_DATA0 16       /* payloads that do not fit inline: their own tag from here */
#define TP_MPI_INLINE (32u << 10) /* payloads up to this travel inside the envelope (one copy) */
#define TP_MPI_CHUNK_MAX ((size_t)INT_MAX & ~(size_t)4095) /* MPI counts are int: split above */
#define TP_MPI_CLOSE_MS 250 /* transfers of a closed connection are given back after this */
#define TP_MPI_FINI_MS 800  /* bound on the progress thread's exit (MPI_Finalize) */
#define TP_MPI_PROBES 64    /* envelopes taken per progress round */

/* What travels on TP_MPI_TAG_ENV, followed by inline_len payload bytes. A connection is named by
 * the connecting side's id (conn) plus the two ranks; from_acceptor says which end sent it. */
enum tp_mpi_ctl { TP_MPI_CTL_MSG = 0, TP_MPI_CTL_CLOSE = 1 };
struct tp_mpi_env {
    struct ebt_tp_hdr hdr;
    uint32_t conn;
    uint8_t from_acceptor;
    uint8_t ctl;
    uint16_t pad;
    int32_t data_tag; /* payload messages' tag when not inline */
    uint32_t inline_len;
};

/* One unit of work or one event; queued daemon -> thread (cmd) or thread -> daemon (done). */
enum tp_mpi_kind {
    TP_MPI_OP_SEND,    /* cmd: send env (+ payload); done: finished, status */
    TP_MPI_OP_RECV,    /* cmd: receive the payload of an arrival into buf (NULL: discard) */
    TP_MPI_OP_CLOSE,   /* cmd: a connection was closed: give its transfers back, tell the peer */
    TP_MPI_OP_ARRIVAL, /* done: an envelope (+ inline data) arrived */
    TP_MPI_OP_XDONE,   /* done: report x with status (an abandoned transfer) */
    TP_MPI_OP_PEERERR, /* done: MPI failed talking to rank */
};

struct tp_mpi_op {
    struct tp_mpi_op *next;
    int kind;
    int rank;
    int status;
    struct tp_mpi_env env;
    struct ebt_tp_xfer *x; /* the core's transfer; NULL once given back or for a discard */
    char *buf;             /* send: payload (user's); recv: destination or scratch */
    char *ibuf;            /* envelope + inline bytes (owned) */
    size_t len, off, chunk;
    int scratch; /* buf is ours (discard) */
    MPI_Request req_env, req_data;
    uint64_t close_at; /* ns: give x back at this time (connection closed) */
    int tell_peer;     /* CLOSE: send TP_MPI_CTL_CLOSE to the rank */
};

struct tp_mpi_queue {
    struct tp_mpi_op *head, *tail;
};

/* Daemon-side view of a connection (peer->be). */
struct tp_mpi_peer {
    struct tp_mpi_peer *hnext;
    ebt_tp_peer_t *peer;
    int rank;
    uint32_t conn;
    int acceptor; /* we accepted it (the other side connected) */
};

#define TP_MPI_BUCKETS 256

struct tp_mpi_ctx {
    ebt_tp_ctx_t *ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* init finished, thread finished */
    struct tp_mpi_queue cmd;  /* daemon -> thread (lock) */
    struct tp_mpi_queue done; /* thread -> daemon (lock) */
    int efd;                  /* eventfd: the thread signals done work */
    int wfd;                  /* eventfd: the daemon wakes the thread */
    int init_done, init_rc, stop, exited;
    int multiple; /* MPI_THREAD_MULTIPLE: the daemon thread posts sends itself */
    int rank, size, tag_ub;
    int finalize; /* we initialised MPI: finalize it */
    size_t split; /* largest single MPI message payload (EBT_TP_MPI_SPLIT) */
    MPI_Comm comm;
    /* thread-only state */
    struct tp_mpi_op *active; /* in flight in MPI */
    int nactive, orphans;
    unsigned next_tag;
    unsigned char *rank_failed; /* [size] */
    int any_failed;
    /* daemon-only state */
    uint32_t next_conn;
    struct tp_mpi_peer *bucket[TP_MPI_BUCKETS];
};

void tp_mpi_q_push(struct tp_mpi_queue *q, struct tp_mpi_op *op);
struct tp_mpi_op *tp_mpi_q_take(struct tp_mpi_queue *q); /* the whole list */
int tp_mpi_errno(int mpi_rc);

/* tp_mpi_thread.c */
void *tp_mpi_thread_main(void *arg);
int tp_mpi_send_start(struct tp_mpi_ctx *mc, struct tp_mpi_op *op); /* MPI calls: see multiple */
void tp_mpi_wake_thread(struct tp_mpi_ctx *mc);

#endif
