/* wl_common.c - fork-based ranks with a process-shared barrier, I/O phase timing and the result
 * line. */
#include "wl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Lives in a MAP_SHARED page so every forked rank updates the same counters. */
struct wl_shared {
    pthread_barrier_t barrier;
    double phase_t0; /* rank 0: start of the current I/O phase */
    double io_s;     /* rank 0: sum of I/O phase wall times */
    _Atomic uint64_t wbytes, rbytes, files, digest;
    _Atomic int errors;
};

double wl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int wl_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ebt-workload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

/* Expand "%n" in the directory template to the node number. */
void wl_root_for(const wl_opts_t *o, int node, char *out, size_t n)
{
    const char *p = strstr(o->dir, "%n");
    if (!p) {
        snprintf(out, n, "%s", o->dir);
        return;
    }
    snprintf(out, n, "%.*s%d%s", (int)(p - o->dir), o->dir, node, p + 2);
}

void wl_barrier(wl_ctx_t *c)
{
    pthread_barrier_wait(&c->sh->barrier);
}

/* I/O time is what rank 0 sees between the barriers around each I/O phase (slowest rank wins). */
void wl_phase_begin(wl_ctx_t *c)
{
    wl_barrier(c);
    if (c->rank == 0)
        c->sh->phase_t0 = wl_now();
}

void wl_phase_end(wl_ctx_t *c)
{
    wl_barrier(c);
    if (c->rank == 0)
        c->sh->io_s += wl_now() - c->sh->phase_t0;
}

void wl_count(wl_ctx_t *c, uint64_t wbytes, uint64_t rbytes, uint64_t files)
{
    atomic_fetch_add(&c->sh->wbytes, wbytes);
    atomic_fetch_add(&c->sh->rbytes, rbytes);
    atomic_fetch_add(&c->sh->files, files);
}

/* Order-independent combination of per-file checksums. */
void wl_digest_add(wl_ctx_t *c, uint64_t sum)
{
    atomic_fetch_add(&c->sh->digest, sum);
}

/* The shared state in a file (--shm): made and initialised once, mapped by every invocation. */
int wl_shm_init(const wl_opts_t *o)
{
    pthread_barrierattr_t a;
    int fd = open(o->shm, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, sizeof(struct wl_shared)) < 0)
        return wl_fail("%s: %s", o->shm, strerror(errno));
    struct wl_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (sh == MAP_FAILED)
        return wl_fail("mmap %s: %s", o->shm, strerror(errno));
    memset(sh, 0, sizeof(*sh));
    pthread_barrierattr_init(&a);
    pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(&sh->barrier, &a, (unsigned)o->ranks);
    pthread_barrierattr_destroy(&a);
    munmap(sh, sizeof(*sh));
    return 0;
}

static struct wl_shared *shared_file(const wl_opts_t *o)
{
    int fd = open(o->shm, O_RDWR);
    if (fd < 0) {
        wl_fail("%s: %s (make it with --shm-init)", o->shm, strerror(errno));
        return NULL;
    }
    struct wl_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return sh == MAP_FAILED ? NULL : sh;
}

static struct wl_shared *shared_new(int parties)
{
    pthread_barrierattr_t a;
    struct wl_shared *sh =
        mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return NULL;
    memset(sh, 0, sizeof(*sh));
    pthread_barrierattr_init(&a);
    pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(&sh->barrier, &a, (unsigned)parties);
    pthread_barrierattr_destroy(&a);
    return sh;
}

static void ctx_init(wl_ctx_t *c, const wl_opts_t *o, int rank, struct wl_shared *sh)
{
    c->o = o;
    c->rank = rank;
    c->sh = sh;
    wl_root_for(o, o->nodes > 1 ? rank * o->nodes / o->ranks : 0, c->root, sizeof(c->root));
}

/* Fork the ranks; a rank that fails exits 1 and the run fails, but the barrier would then hang,
 * so a failing rank still passes the barriers: workloads record errors and keep going. */
static int run_ranks(const wl_opts_t *o, const wl_workload_t *w, struct wl_shared *sh)
{
    int bad = 0;
    for (int r = 0; r < o->ranks; r++) {
        if (o->node_only >= 0 && (o->nodes > 1 ? r * o->nodes / o->ranks : 0) != o->node_only)
            continue;
        pid_t pid = fork();
        if (pid < 0)
            return wl_fail("fork: %s", strerror(errno));
        if (pid == 0) {
            wl_ctx_t c;
            ctx_init(&c, o, r, sh);
            int rc = w->run(&c);
            if (rc)
                atomic_fetch_add(&sh->errors, 1);
            fflush(NULL);
            _exit(rc ? 1 : 0);
        }
    }
    for (int st; wait(&st) > 0;)
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    return bad ? -1 : 0;
}

static void print_result(const wl_opts_t *o, struct wl_shared *sh, double wall, int ok)
{
    static const char *modes[] = {"run", "setup", "verify"};
    printf("{\"workload\":\"%s\",\"mode\":\"%s\",\"ranks\":%d,\"nodes\":%d,\"scale\":\"%s\","
           "\"io_s\":%.6f,\"wall_s\":%.6f,\"bytes_written\":%llu,\"bytes_read\":%llu,"
           "\"files\":%llu,\"digest\":\"%016llx\",\"ok\":%s}\n",
           o->name, modes[o->mode], o->ranks, o->nodes, o->full ? "full" : "quick", sh->io_s, wall,
           (unsigned long long)sh->wbytes, (unsigned long long)sh->rbytes,
           (unsigned long long)sh->files, (unsigned long long)sh->digest, ok ? "true" : "false");
    fflush(stdout);
}

/* Setup and verify run in one process as rank 0; run forks o->ranks ranks. */
int wl_launch(const wl_opts_t *o, const wl_workload_t *w)
{
    int single = o->mode != WL_RUN;
    struct wl_shared *sh = o->shm && !single ? shared_file(o) : shared_new(single ? 1 : o->ranks);
    double t0 = wl_now();
    int rc = 0;
    if (!sh)
        return wl_fail("mmap: %s", strerror(errno));
    if (single) {
        wl_ctx_t c;
        int (*fn)(wl_ctx_t *) = o->mode == WL_SETUP ? w->setup : w->verify;
        ctx_init(&c, o, 0, sh);
        rc = fn ? fn(&c) : 0;
    } else {
        rc = run_ranks(o, w, sh);
    }
    if (sh->errors)
        rc = -1;
    print_result(o, sh, wl_now() - t0, rc == 0);
    return rc;
}

/* For workloads where only rank 0 does I/O: it times its own I/O calls. */
void wl_io_add(wl_ctx_t *c, double seconds)
{
    if (c->rank == 0)
        c->sh->io_s += seconds;
}
