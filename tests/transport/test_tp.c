/* test_tp.c - transport tests, UCX on loopback (forked server) or MPI (ranks from mpirun):
 * test_tp <case> (see tests/transport/CMakeLists.txt). */
#define _GNU_SOURCE
#include "tp_test_util.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024u * 1024u)

#define MAX_EXTRA 8

struct client {
    struct tpt_node n;
    pid_t child;
    ebt_tp_peer_t *peer;
    ebt_tp_peer_t *extra[MAX_EXTRA]; /* MPI: ranks 2.. (TPT_RANKS ranks in all) */
    int nextra;
};

static void mpi_connect(struct client *c, int rank, ebt_tp_peer_t **peer_p)
{
    char addr[EBT_TP_ADDR_MAX];
    snprintf(addr, sizeof(addr), "mpi:%d", rank);
    int rc = ebt_tp_peer_connect(c->n.ctx, addr, peer_p);
    TPT_CHECK(rc == 0, "connect %s: %s", addr, strerror(-rc));
}

/* Destroy the context, and check that it takes under a second (no hang in MPI_Finalize). */
static void node_destroy(struct tpt_node *n)
{
    double t0 = tpt_now();
    ebt_tp_ctx_destroy(n->ctx);
    double dt = tpt_now() - t0;
    printf("shutdown: context destroyed in %.3f s\n", dt);
    TPT_CHECK(dt < 1.0, "shutdown took %.3f s", dt);
}

/* MPI: rank 0 is the client; every other rank serves until it is told to exit, then leaves. */
static void mpi_client_start(struct client *c, int timeout_ms)
{
    tpt_node_init(&c->n, NULL, timeout_ms);
    int rank = tpt_rank(c->n.ctx);
    if (rank != 0) {
        int rc = tpt_serve(&c->n, NULL, 120);
        node_destroy(&c->n);
        printf("PASS rank %d: served\n", rank);
        exit(rc == 0 ? 0 : 3);
    }
    const char *nr = getenv("TPT_RANKS");
    int ranks = nr ? atoi(nr) : 2;
    TPT_CHECK(ranks >= 2 && ranks <= MAX_EXTRA + 2, "TPT_RANKS=%d: 2..%d", ranks, MAX_EXTRA + 2);
    mpi_connect(c, 1, &c->peer);
    for (int r = 2; r < ranks; r++)
        mpi_connect(c, r, &c->extra[c->nextra++]);
    int32_t pid = 0;
    size_t len = 0;
    int rc = ebt_tp_call(c->peer, TPT_PID, NULL, 0, &pid, sizeof(pid), &len, 20000);
    TPT_CHECK(rc == 0 && len == sizeof(pid), "pid of rank 1: %s", strerror(-rc));
    c->child = pid;
}

static void client_start(struct client *c, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    if (tpt_mpi()) {
        mpi_client_start(c, timeout_ms);
        return;
    }
    char addr[EBT_TP_ADDR_MAX];
    c->child = tpt_fork_server(addr, sizeof(addr)); /* fork before UCX exists in this process */
    tpt_node_init(&c->n, NULL, timeout_ms);
    int rc = ebt_tp_peer_connect(c->n.ctx, addr, &c->peer);
    TPT_CHECK(rc == 0, "connect %s: %s", addr, strerror(-rc));
}

static int child_reap(pid_t pid, double limit_s)
{
    double end = tpt_now() + limit_s;
    int st;
    while (tpt_now() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static void client_stop(struct client *c)
{
    for (int i = -1; i < c->nextra; i++) {
        ebt_tp_peer_t *p = i < 0 ? c->peer : c->extra[i];
        int rc = ebt_tp_call(p, TPT_EXIT, NULL, 0, NULL, 0, NULL, 5000);
        TPT_CHECK(rc == 0, "exit call: %s", strerror(-rc));
        ebt_tp_peer_close(p);
    }
    node_destroy(&c->n);
    if (!tpt_mpi())
        TPT_CHECK(child_reap(c->child, 10) == 0, "server did not exit cleanly");
}

/* ---- many concurrent requests, replies matched ---- */

struct echo_call {
    size_t len;
    int status, finished;
    size_t got;
    char *req, *rep;
};

static void echo_done(int status, size_t reply_len, void *arg)
{
    struct echo_call *e = arg;
    e->status = status;
    e->got = reply_len;
    e->finished = 1;
}

static int test_concurrent(void)
{
    enum { N = 2000 };
    struct client c;
    client_start(&c, 20000);
    static struct echo_call calls[N];
    for (int i = 0; i < N; i++) {
        struct echo_call *e = &calls[i];
        e->len = i % 10 == 0 ? 100000 + (size_t)i : 8 + (size_t)(i * 7 % 1000); /* some by rndv */
        e->req = malloc(e->len);
        e->rep = malloc(e->len);
        tpt_fill(e->req, e->len, (uint64_t)i + 1);
        ebt_tp_peer_t *p = i % (c.nextra + 1) == 0 ? c.peer : c.extra[i % (c.nextra + 1) - 1];
        int rc = ebt_tp_call_start(p, TPT_ECHO, e->req, e->len, e->rep, e->len, 0, echo_done, e);
        TPT_CHECK(rc == 0, "call_start %d: %s", i, strerror(-rc));
    }
    double end = tpt_now() + 30;
    for (int i = 0; i < N; i++) {
        TPT_CHECK(ebt_tp_wait(c.n.ctx, &calls[i].finished, (int)((end - tpt_now()) * 1000)) == 0,
                  "call %d never finished", i);
        struct echo_call *e = &calls[i];
        TPT_CHECK(e->status == 0, "call %d: %s", i, strerror(-e->status));
        TPT_CHECK(e->got == e->len && memcmp(e->req, e->rep, e->len) == 0,
                  "call %d: reply does not match its request", i);
        free(e->req);
        free(e->rep);
    }
    printf("concurrent: %d calls to %d servers, all replies matched\n", N, c.nextra + 1);
    client_stop(&c);
    return 0;
}

/* ---- 64 MiB both ways, checksums ---- */

static void bulk_put_get(ebt_tp_peer_t *peer, size_t size)
{
    char *buf = malloc(size);
    tpt_fill(buf, size, 42);
    uint64_t want = tpt_sum(buf, size), got = 0;
    double t0 = tpt_now();
    int rc = ebt_tp_call(peer, TPT_PUT, buf, size, &got, sizeof(got), NULL, 30000);
    double t1 = tpt_now();
    TPT_CHECK(rc == 0 && got == want, "put: rc %d, checksum %llx want %llx", rc,
              (unsigned long long)got, (unsigned long long)want);
    memset(buf, 0, size);
    uint64_t req[2] = {size, 42};
    size_t len = 0;
    rc = ebt_tp_call(peer, TPT_GET, req, sizeof(req), buf, size, &len, 30000);
    double t2 = tpt_now();
    TPT_CHECK(rc == 0 && len == size, "get: rc %d len %zu", rc, len);
    TPT_CHECK(tpt_sum(buf, size) == want, "get: checksum mismatch");
    printf("bulk: %zu MiB put %.3f s, get %.3f s, checksums match\n", size / MIB, t1 - t0, t2 - t1);
    /* a reply larger than the caller's buffer is -EMSGSIZE, and the connection survives */
    rc = ebt_tp_call(peer, TPT_GET, req, sizeof(req), buf, size / 2, &len, 30000);
    TPT_CHECK(rc == -EMSGSIZE && len == size, "short buffer: rc %d len %zu", rc, len);
    free(buf);
}

static int test_bulk(void)
{
    struct client c;
    client_start(&c, 0);
    bulk_put_get(c.peer, 64 * MIB);
    client_stop(&c);
    return 0;
}

/* ---- a server that never replies: -ETIMEDOUT, the connection stays usable ---- */

static int test_timeout(void)
{
    struct client c;
    client_start(&c, 0);
    TPT_CHECK(ebt_tp_call(c.peer, TPT_ECHO, "x", 1, NULL, 0, NULL, 5000) == -EMSGSIZE,
              "warm-up call");
    double t0 = tpt_now();
    int rc = ebt_tp_call(c.peer, TPT_NOREPLY, "x", 1, NULL, 0, NULL, 500);
    double dt = tpt_now() - t0;
    printf("timeout: no reply -> %s after %.3f s (deadline 0.5 s)\n", strerror(-rc), dt);
    TPT_CHECK(rc == -ETIMEDOUT, "expected -ETIMEDOUT, got %d", rc);
    TPT_CHECK(dt >= 0.49 && dt < 1.5, "took %.3f s", dt);
    char rep[4];
    size_t len;
    rc = ebt_tp_call(c.peer, TPT_ECHO, "abc", 3, rep, sizeof(rep), &len, 5000);
    TPT_CHECK(rc == 0 && len == 3 && memcmp(rep, "abc", 3) == 0, "echo after timeout: %d", rc);
    client_stop(&c);
    return 0;
}

/* ---- the server is SIGKILLed while calls wait: a clear error, well before the deadline ---- */

enum { KILL_PUTS = 8 };

/* kill-bulk: 64 MiB puts in flight (send_busy) when the peer dies */
static void kill_start_puts(struct client *c, struct echo_call *e, char *buf, size_t size)
{
    for (int i = 0; i < KILL_PUTS; i++) {
        e[i].len = sizeof(uint64_t);
        int rc = ebt_tp_call_start(c->peer, TPT_PUT, buf, size, &e[i].got, sizeof(uint64_t), 0,
                                   echo_done, &e[i]);
        TPT_CHECK(rc == 0, "put %d: %d", i, rc);
    }
}

/* UCX sees the socket close: -ECONNRESET. MPI may not notice a dead rank at all: the deadline. */
static int kill_error_ok(int status)
{
    return status == -ECONNRESET || (tpt_mpi() && status == -ETIMEDOUT);
}

static void kill_check_puts(struct client *c, struct echo_call *e)
{
    int failed = 0;
    for (int i = 0; i < KILL_PUTS; i++) {
        TPT_CHECK(ebt_tp_wait(c->n.ctx, &e[i].finished, 3000) == 0, "put %d hung", i);
        failed += e[i].status < 0;
        TPT_CHECK(e[i].status == 0 || kill_error_ok(e[i].status), "put %d: %d", i, e[i].status);
    }
    printf("kill: %d of %d 64 MiB puts in flight failed (%s), the rest completed\n", failed,
           KILL_PUTS, tpt_mpi() ? "-ECONNRESET or -ETIMEDOUT" : strerror(ECONNRESET));
    TPT_CHECK(failed > 0, "all puts finished before the kill: nothing was in flight");
}

static int test_kill(int bulk)
{
    const int deadline_ms = tpt_mpi() ? 3000 : 8000, next_ms = tpt_mpi() ? 1000 : 5000;
    struct client c;
    client_start(&c, deadline_ms);
    TPT_CHECK(ebt_tp_call(c.peer, TPT_ECHO, NULL, 0, NULL, 0, NULL, 5000) == 0, "warm-up");
    static struct echo_call e, puts[KILL_PUTS];
    size_t size = 64 * MIB;
    char *buf = bulk ? calloc(1, size) : NULL;
    int rc = ebt_tp_call_start(c.peer, TPT_NOREPLY, "x", 1, NULL, 0, 0, echo_done, &e);
    TPT_CHECK(rc == 0, "call_start: %d", rc);
    if (bulk)
        kill_start_puts(&c, puts, buf, size);
    int dummy = 0;
    ebt_tp_wait(c.n.ctx, &dummy, bulk ? 30 : 300);
    double t0 = tpt_now();
    kill(c.child, SIGKILL);
    ebt_tp_wait(c.n.ctx, &e.finished, deadline_ms + 3000);
    double dt = tpt_now() - t0;
    TPT_CHECK(e.finished, "call never finished: a hang");
    printf("kill: peer SIGKILLed -> %s after %.3f s (deadline %.1f s)\n", strerror(-e.status), dt,
           deadline_ms / 1000.0);
    TPT_CHECK(kill_error_ok(e.status), "status %d, want -ECONNRESET%s", e.status,
              tpt_mpi() ? " or -ETIMEDOUT" : "");
    TPT_CHECK(dt < deadline_ms / 1000.0 + 1.0, "took %.3f s", dt);
    if (bulk)
        kill_check_puts(&c, puts);
    t0 = tpt_now();
    rc = ebt_tp_call(c.peer, TPT_ECHO, NULL, 0, NULL, 0, NULL, next_ms);
    dt = tpt_now() - t0;
    printf("kill: next call -> %s after %.3f s\n", strerror(-rc), dt);
    TPT_CHECK(kill_error_ok(rc), "call to a dead peer: %d", rc);
    TPT_CHECK(dt < next_ms / 1000.0 + 1.0, "next call took %.3f s", dt);
    if (!tpt_mpi())
        child_reap(c.child, 5);
    ebt_tp_peer_close(c.peer);
    node_destroy(&c.n);
    free(buf);
    return 0;
}

/* ---- two processes calling each other, handlers calling back: no deadlock ---- */

struct mutual_state {
    int finished, failed, sent_done;
    int outstanding;
};

static void mutual_done(int status, size_t reply_len, void *arg)
{
    struct echo_call *e = arg;
    echo_done(status, reply_len, arg);
    if (status != 0 || reply_len != e->len || memcmp(e->req, e->rep, e->len) != 0)
        fprintf(stderr, "mutual: call failed or mismatched: %s\n", strerror(-status));
}

static int mutual_side(int rfd, int wfd, const char *who)
{
    enum { N = 300 };
    struct tpt_node n;
    tpt_node_init(&n, "127.0.0.1:0", 15000);
    char me[EBT_TP_ADDR_MAX], other[EBT_TP_ADDR_MAX];
    TPT_CHECK(ebt_tp_ctx_address(n.ctx, me, sizeof(me)) == 0, "address");
    if (rfd < 0) { /* MPI: ranks 0 (A) and 1 (B) */
        int rank = tpt_rank(n.ctx);
        TPT_CHECK(rank < 2, "mutual runs on 2 ranks");
        who = rank == 0 ? "A" : "B";
        snprintf(other, sizeof(other), "mpi:%d", 1 - rank);
    } else {
        tpt_send_line(wfd, me);
        tpt_recv_line(rfd, other, sizeof(other), 20000);
    }
    TPT_CHECK(ebt_tp_peer_connect(n.ctx, other, &n.other) == 0, "connect");
    static struct echo_call e[N];
    for (int i = 0; i < N; i++) {
        e[i].len = i % 16 == 0 ? 80000 : 64;
        e[i].req = malloc(e[i].len);
        e[i].rep = malloc(e[i].len);
        tpt_fill(e[i].req, e[i].len, (uint64_t)i * 3 + (who[0] == 'A'));
        uint16_t op = i % 4 == 3 ? TPT_RELAY_SYNC : TPT_RELAY;
        int rc = ebt_tp_call_start(n.other, op, e[i].req, e[i].len, e[i].rep, e[i].len, 0,
                                   mutual_done, &e[i]);
        TPT_CHECK(rc == 0, "%s: call_start: %d", who, rc);
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        ebt_tp_wait(n.ctx, &e[i].finished, 20000);
        TPT_CHECK(e[i].finished, "%s: call %d hung (deadlock?)", who, i);
        ok += e[i].status == 0 && memcmp(e[i].req, e[i].rep, e[i].len) == 0;
    }
    TPT_CHECK(ok == N, "%s: only %d of %d relayed calls correct", who, ok, N);
    int rc = ebt_tp_call(n.other, TPT_DONE, NULL, 0, NULL, 0, NULL, 10000);
    TPT_CHECK(rc == 0, "%s: done call: %d", who, rc);
    int own = 1;
    TPT_CHECK(tpt_serve(&n, &own, 20) == 0, "%s: the other side never finished", who);
    printf("mutual %s: %d calls through the other side (handlers calling back), no deadlock\n", who,
           N);
    ebt_tp_peer_close(n.other);
    node_destroy(&n);
    return 0;
}

static int test_mutual(void)
{
    if (tpt_mpi())
        return mutual_side(-1, -1, NULL);
    int a2b[2], b2a[2];
    TPT_CHECK(pipe(a2b) == 0 && pipe(b2a) == 0, "pipe");
    pid_t pid = fork();
    TPT_CHECK(pid >= 0, "fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(mutual_side(a2b[0], b2a[1], "B"));
    }
    mutual_side(b2a[0], a2b[1], "A");
    TPT_CHECK(child_reap(pid, 30) == 0, "side B failed");
    return 0;
}

/* ---- the two halves of the network-namespace test (tests/transport/netns.sh) ---- */

static int netns_server(const char *addr)
{
    struct tpt_node n;
    tpt_node_init(&n, addr, 0);
    printf("netns server listening on %s\n", addr);
    fflush(stdout);
    return tpt_serve(&n, NULL, 60) == 0 ? 0 : 1;
}

static int netns_client(const char *addr)
{
    struct tpt_node n;
    tpt_node_init(&n, NULL, 0);
    ebt_tp_peer_t *peer;
    TPT_CHECK(ebt_tp_peer_connect(n.ctx, addr, &peer) == 0, "connect %s", addr);
    int rc = -1;
    for (int i = 0; i < 50 && rc != 0; i++) { /* the server may still be starting */
        rc = ebt_tp_call(peer, TPT_ECHO, NULL, 0, NULL, 0, NULL, 2000);
        if (rc != 0) {
            ebt_tp_peer_close(peer);
            usleep(100000);
            TPT_CHECK(ebt_tp_peer_connect(n.ctx, addr, &peer) == 0, "connect %s", addr);
        }
    }
    TPT_CHECK(rc == 0, "no answer from %s: %s", addr, strerror(-rc));
    bulk_put_get(peer, 64 * MIB);
    TPT_CHECK(ebt_tp_call(peer, TPT_EXIT, NULL, 0, NULL, 0, NULL, 5000) == 0, "exit");
    ebt_tp_peer_close(peer);
    ebt_tp_ctx_destroy(n.ctx);
    printf("netns client: ok over %s\n", addr);
    return 0;
}

static int run_case(const char *t, int argc, char **argv)
{
    if (strcmp(t, "concurrent") == 0)
        return test_concurrent();
    if (strcmp(t, "bulk") == 0)
        return test_bulk();
    if (strcmp(t, "timeout") == 0)
        return test_timeout();
    if (strcmp(t, "kill") == 0)
        return test_kill(0);
    if (strcmp(t, "kill-bulk") == 0)
        return test_kill(1);
    if (strcmp(t, "mutual") == 0)
        return test_mutual();
    if (strcmp(t, "netns-server") == 0 && argc > 2)
        return netns_server(argv[2]);
    if (strcmp(t, "netns-client") == 0 && argc > 2)
        return netns_client(argv[2]);
    fprintf(stderr, "usage: test_tp concurrent|bulk|timeout|kill|kill-bulk|mutual|"
                    "netns-server ADDR|netns-client ADDR\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    ebt_log_open("/dev/stderr", "test_tp");
    if (getenv("EBT_LOG_LEVEL"))
        ebt_log_level_now = atoi(getenv("EBT_LOG_LEVEL"));
    const char *t = argc > 1 ? argv[1] : "";
    int rc = run_case(t, argc, argv);
    if (rc == 0)
        printf("PASS %s\n", t);
    return rc;
}
