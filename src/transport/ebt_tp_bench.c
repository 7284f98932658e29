/* ebt_tp_bench.c - ebt-tp-bench: node-to-node bandwidth and latency through the transport. */
#define _GNU_SOURCE
#include "transport.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { OP_PUT = 1, OP_GET = 2, OP_EXIT = 3 };

struct opts {
    size_t size;
    int count, window, repeats, get, lat;
    const char *listen, *connect;
};

struct bench {
    ebt_tp_ctx_t *ctx;
    ebt_tp_peer_t *peer;
    char *buf; /* source of puts, or the server's source of gets */
    char **rbuf;
    size_t size;
    int issued, finished, failed, count, stop;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void serve_request(ebt_tp_msg_t *msg, void *arg)
{
    struct bench *b = arg;
    size_t len;
    const void *data = ebt_tp_msg_data(msg, &len);
    uint64_t want = 0;
    switch (ebt_tp_msg_op(msg)) {
    case OP_PUT:
        ebt_tp_msg_reply(msg, 0, NULL, 0, NULL, NULL);
        break; /* data landed: done */
    case OP_GET:
        if (len == sizeof(want))
            memcpy(&want, data, sizeof(want));
        if (want > b->size) {
            free(b->buf);
            b->buf = calloc(1, want);
            b->size = b->buf ? want : 0;
        }
        ebt_tp_msg_reply(msg, b->buf ? 0 : -ENOMEM, b->buf, b->buf ? want : 0, NULL, NULL);
        break;
    case OP_EXIT:
        b->stop = 1;
        ebt_tp_msg_reply(msg, 0, NULL, 0, NULL, NULL);
        break;
    default:
        ebt_tp_msg_reply(msg, -EOPNOTSUPP, NULL, 0, NULL, NULL);
    }
}

/* The daemon's loop in miniature: progress, arm, poll the event fd. */
static void run_loop(struct bench *b, const volatile int *flag, int want, double limit_s)
{
    double end = now_s() + limit_s;
    while (*flag < want && !b->stop && now_s() < end) {
        if (ebt_tp_progress(b->ctx) > 0 || ebt_tp_arm(b->ctx) == -EAGAIN)
            continue;
        struct pollfd p = {.fd = ebt_tp_event_fd(b->ctx), .events = POLLIN};
        poll(&p, 1, 100);
    }
}

static int serve(struct bench *b)
{
    int never = 0;
    run_loop(b, &never, 1, 3600);
    ebt_tp_ctx_destroy(b->ctx);
    free(b->buf);
    return 0;
}

static int server(const char *listen, int fd)
{
    struct bench b = {0};
    struct ebt_tp_params p = {.listen = listen, .on_request = serve_request, .request_arg = &b};
    int rc = ebt_tp_ctx_create(NULL, &p, &b.ctx);
    if (rc < 0) {
        fprintf(stderr, "ebt-tp-bench: listen %s: %s\n", listen, strerror(-rc));
        return 1;
    }
    char addr[EBT_TP_ADDR_MAX];
    ebt_tp_ctx_address(b.ctx, addr, sizeof(addr));
    dprintf(fd, "%s\n", addr);
    return serve(&b);
}

static void issue(struct bench *b, int get);

static void call_done(int status, size_t reply_len, void *arg)
{
    struct bench *b = arg;
    b->finished++;
    if (status < 0 && b->failed++ == 0)
        fprintf(stderr, "ebt-tp-bench: call failed: %s\n", strerror(-status));
}

static void issue(struct bench *b, int get)
{
    static uint64_t want;
    want = b->size;
    int slot = b->issued % 64;
    int rc = get ? ebt_tp_call_start(b->peer, OP_GET, &want, sizeof(want), b->rbuf[slot], b->size,
                                     0, call_done, b)
                 : ebt_tp_call_start(b->peer, OP_PUT, b->buf, b->size, NULL, 0, 0, call_done, b);
    if (rc < 0) {
        fprintf(stderr, "ebt-tp-bench: call_start: %s\n", strerror(-rc));
        exit(1);
    }
    b->issued++;
}

/* count calls of size bytes, window outstanding at a time; returns MB/s (1e6 bytes), or with
 * -l the microseconds per call */
static double one_run(struct bench *b, const struct opts *o)
{
    b->issued = b->finished = b->failed = 0;
    double t0 = now_s();
    while (b->finished < o->count) {
        while (b->issued < o->count && b->issued - b->finished < o->window)
            issue(b, o->get);
        run_loop(b, &b->finished, b->finished + 1, 30);
        if (b->failed)
            exit(1);
    }
    double dt = now_s() - t0;
    return o->lat ? dt / o->count * 1e6 : (double)o->count * (double)o->size / dt / 1e6;
}

static const char *ebt_tp_bench_backend(void)
{
    const char *t = getenv("EBT_TRANSPORT");
    return t && *t ? t : "ucx";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int client_run(struct bench *b, const struct opts *o);

static int client(const char *addr, const struct opts *o)
{
    struct bench b = {.size = o->size};
    struct ebt_tp_params p = {.timeout_ms = 30000};
    if (ebt_tp_ctx_create(NULL, &p, &b.ctx) < 0 || ebt_tp_peer_connect(b.ctx, addr, &b.peer) < 0)
        return 1;
    return client_run(&b, o);
}

/* MPI (EBT_TRANSPORT=mpi, under mpirun -np 2): rank 1 serves, rank 0 measures. */
static int mpi_main(const struct opts *o)
{
    struct bench b = {.size = o->size};
    struct ebt_tp_params p = {.timeout_ms = 30000, .on_request = serve_request, .request_arg = &b};
    char addr[EBT_TP_ADDR_MAX];
    if (ebt_tp_ctx_create("mpi", &p, &b.ctx) < 0 || ebt_tp_ctx_address(b.ctx, addr, sizeof(addr)))
        return 1;
    if (strcmp(addr, "mpi:0") != 0) {
        b.size = 0; /* the server's GET buffer grows on demand */
        return serve(&b);
    }
    if (ebt_tp_peer_connect(b.ctx, "mpi:1", &b.peer) < 0)
        return 1;
    return client_run(&b, o);
}

static int client_run(struct bench *b, const struct opts *o)
{
    b->buf = calloc(1, o->size);
    b->rbuf = calloc(64, sizeof(*b->rbuf));
    for (int i = 0; i < 64; i++)
        b->rbuf[i] = calloc(1, o->size);
    one_run(b,
            &(struct opts){
                .size = o->size, .count = 100, .window = o->window, .get = o->get, .lat = o->lat});
    double r[64];
    int n = o->repeats > 64 ? 64 : o->repeats;
    for (int i = 0; i < n; i++) {
        r[i] = one_run(b, o);
        printf("run %d: %s %zu B x %d, window %d: %.1f %s\n", i + 1, o->get ? "get" : "put",
               o->size, o->count, o->window, r[i], o->lat ? "us per call" : "MB/s");
    }
    qsort(r, (size_t)n, sizeof(r[0]), cmp_double);
    if (o->lat)
        printf("median: %.2f us per call (%s)\n", r[n / 2], ebt_tp_bench_backend());
    else
        printf("median: %.1f MB/s (%.2f GB/s) (%s)\n", r[n / 2], r[n / 2] / 1000,
               ebt_tp_bench_backend());
    ebt_tp_call(b->peer, OP_EXIT, NULL, 0, NULL, 0, NULL, 5000);
    ebt_tp_peer_close(b->peer);
    ebt_tp_ctx_destroy(b->ctx);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: ebt-tp-bench [-s SIZE] [-n COUNT] [-w WINDOW] [-r REPEATS] [-g] [-l]\n"
            "                    [--listen HOST:PORT | --connect HOST:PORT]\n"
            "Bulk bandwidth through the EBT transport (backend: $EBT_TRANSPORT, default ucx).\n"
            "Without --listen/--connect a server is forked on 127.0.0.1. -g: get (the server\n"
            "replies with SIZE bytes into the caller's buffer) instead of put. -l: latency\n"
            "(microseconds per call; use with -w 1 and a small -s). EBT_TRANSPORT=mpi: run\n"
            "under mpirun -np 2 (rank 1 serves, rank 0 measures).\n");
}

int main(int argc, char **argv)
{
    struct opts o = {.size = 1 << 20, .count = 2000, .window = 16, .repeats = 5};
    static const struct option lo[] = {{"listen", 1, 0, 'L'}, {"connect", 1, 0, 'C'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "s:n:w:r:glh", lo, NULL)) != -1) {
        switch (c) {
        case 's':
            o.size = strtoull(optarg, NULL, 0);
            break;
        case 'n':
            o.count = atoi(optarg);
            break;
        case 'w':
            o.window = atoi(optarg);
            break;
        case 'r':
            o.repeats = atoi(optarg);
            break;
        case 'g':
            o.get = 1;
            break;
        case 'l':
            o.lat = 1;
            break;
        case 'L':
            o.listen = optarg;
            break;
        case 'C':
            o.connect = optarg;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (o.window < 1 || o.window > 64 || o.count < 1 || o.size < 1) {
        usage();
        return 2;
    }
    const char *t = getenv("EBT_TRANSPORT");
    if (t && !strcmp(t, "mpi"))
        return mpi_main(&o);
    if (o.listen)
        return server(o.listen, 1);
    if (o.connect)
        return client(o.connect, &o);
    int pfd[2];
    if (pipe(pfd) < 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(pfd[0]);
        _exit(server("127.0.0.1:0", pfd[1]));
    }
    close(pfd[1]);
    char addr[EBT_TP_ADDR_MAX] = "";
    FILE *f = fdopen(pfd[0], "r");
    if (!f || !fgets(addr, sizeof(addr), f))
        return 1;
    addr[strcspn(addr, "\n")] = '\0';
    int rc = client(addr, &o);
    waitpid(pid, NULL, 0);
    return rc;
}
