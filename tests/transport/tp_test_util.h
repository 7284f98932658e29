/* tp_test_util.h - shared by the transport tests: a server (forked, or an MPI rank), its ops,
 * checksums, timing. */
#ifndef EBT_TP_TEST_UTIL_H
#define EBT_TP_TEST_UTIL_H

#include "transport.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

enum tpt_op {
    TPT_ECHO = 1,       /* reply = request */
    TPT_NOREPLY = 2,    /* never replied */
    TPT_GET = 3,        /* req {u64 size, u64 seed} -> size pattern bytes */
    TPT_PUT = 4,        /* -> u64 checksum of the request */
    TPT_RELAY = 5,      /* echo through the caller (async: reply when the nested call is done) */
    TPT_RELAY_SYNC = 6, /* the same with a blocking nested call over the other connection */
    TPT_DONE = 7,       /* the other side finished its calls */
    TPT_EXIT = 8,       /* reply, then stop serving */
    TPT_PID = 9,        /* -> the server's pid (MPI: the test kills a rank it did not fork) */
};

#define TPT_FAIL(...)                                                                              \
    do {                                                                                           \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                       \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)
#define TPT_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            TPT_FAIL(__VA_ARGS__);                                                                 \
    } while (0)

struct tpt_node {
    ebt_tp_ctx_t *ctx;
    ebt_tp_peer_t *other; /* outgoing connection to the other process, if any */
    int stop;             /* set by TPT_EXIT */
    int peer_done;        /* TPT_DONE received */
    int held;             /* TPT_NOREPLY messages kept */
};

/* The backend under test is MPI (EBT_TRANSPORT=mpi): processes come from mpirun, not fork. */
int tpt_mpi(void);
/* MPI: this process's rank, from the context's address "mpi:R". */
int tpt_rank(ebt_tp_ctx_t *ctx);
double tpt_now(void);
uint64_t tpt_sum(const void *buf, size_t len);
void tpt_fill(void *buf, size_t len, uint64_t seed);
/* Create a context listening on listen (NULL: connect only) whose handler serves enum tpt_op. */
void tpt_node_init(struct tpt_node *n, const char *listen, int timeout_ms);
/* Serve until n->stop or (if until_done) n->peer_done and *own_done, at most limit_s seconds. */
int tpt_serve(struct tpt_node *n, const volatile int *own_done, double limit_s);
/* Fork a server child listening on 127.0.0.1:0; its address goes to addr. */
pid_t tpt_fork_server(char *addr, size_t cap);
/* Pipes for passing addresses between processes, with a timeout. */
void tpt_send_line(int fd, const char *s);
void tpt_recv_line(int fd, char *buf, size_t cap, int timeout_ms);

#endif
