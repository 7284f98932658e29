/* fuzz_load.c - the fuzzer's load cases: pipelined bursts, abandoned connections, clients that
 * never read their replies, and a burst of connections past the daemon's fd limit. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MS 2000    /* "answered within a couple of seconds" */
#define GENEROUS_MS 20000 /* for whole bursts on a loaded 2-core machine */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void fz_case_pipelined(struct fz *f, int bursts, int per_burst)
{
    size_t cap = (size_t)per_burst * (sizeof(struct ebt_proto_hdr) + PATH_MAX + 64);
    char *req = malloc(cap);
    int32_t *expect = malloc((size_t)per_burst * sizeof(*expect));
    int fd = fz_connect(f->run);
    f->conns++;
    for (int b = 0; b < bursts; b++) {
        size_t len = 0;
        uint32_t first = f->next_id;
        for (int i = 0; i < per_burst; i++)
            len += fz_gen_request(f, req + len, cap - len, f->next_id++, &expect[i], 0);
        int rc = fz_pipeline(fd, req, len, (uint32_t)per_burst, first, expect,
                             fz_now_ms() + GENEROUS_MS);
        if (rc < 0)
            fz_die("pipelined burst %d of %d requests (%zu bytes): %s", b, per_burst, len,
                   strerror(-rc));
        f->msgs += (unsigned long long)per_burst;
        if (b % 5 == 4) { /* fresh connections now and then */
            close(fd);
            fd = fz_connect(f->run);
            f->conns++;
        }
    }
    close(fd);
    free(req);
    free(expect);
}

/* Connect, maybe send requests (complete or cut), close without reading anything. */
void fz_case_abandoned(struct fz *f, int n)
{
    static char msg[64 * (sizeof(struct ebt_proto_hdr) + PATH_MAX + 64)];
    for (int i = 0; i < n; i++) {
        int fd = fz_connect(f->run);
        f->conns++;
        size_t len = 0;
        int k = (int)fz_below(50);
        for (int j = 0; j < k; j++) {
            int32_t expect;
            len += fz_gen_request(f, msg + len, sizeof(msg) - len, f->next_id++, &expect, 0);
        }
        if (fz_below(3) == 0 && len > 1)
            len -= 1 + fz_below((uint32_t)len - 1); /* the last one cut */
        if (len)
            fz_send_all(fd, msg, len, fz_now_ms() + ANSWER_MS);
        f->msgs += (unsigned long long)k;
        if (fz_below(2))
            shutdown(fd, SHUT_RD); /* the daemon's replies then fail at once */
        close(fd);
    }
    struct fz_reply r;
    if (fz_call(f->ctl, EBT_OP_HELLO, "fuzz", 4, &r, ANSWER_MS) < 0 || r.h.status != 0)
        fz_die("daemon unresponsive after abandoned connections");
}

/* Send `count` READDIR requests of PREFIX/big and never read. */
static int nonreader(struct fz *f, int count)
{
    static char msg[sizeof(struct ebt_proto_hdr) + PATH_MAX];
    char path[PATH_MAX];
    int fd = fz_connect(f->run);
    f->conns++;
    snprintf(path, sizeof(path), "%s/big", f->prefix);
    uint32_t plen = (uint32_t)strlen(path) + 1;
    for (int i = 0; i < count; i++) {
        struct ebt_proto_hdr h = fz_hdr(EBT_OP_READDIR, plen, 7000000 + (uint32_t)i);
        memcpy(msg, &h, sizeof(h));
        memcpy(msg + sizeof(h), path, plen);
        if (fz_send_all(fd, msg, sizeof(h) + plen, fz_now_ms() + ANSWER_MS) < 0)
            fz_die("non-reader: send");
        f->msgs++;
    }
    return fd;
}

/* One STAT per call on fd, `n` times; returns the slowest answer in ms (dies past ANSWER_MS). */
static long long answer_times(struct fz *f, int fd, int n)
{
    char path[PATH_MAX];
    long long worst = 0;
    snprintf(path, sizeof(path), "%s/fz/f1", f->prefix);
    for (int i = 0; i < n; i++) {
        struct fz_reply r;
        long long t0 = fz_now_ms();
        int rc = fz_call(fd, EBT_OP_STAT, path, (uint32_t)strlen(path) + 1, &r, ANSWER_MS);
        if (rc < 0 || r.h.status != 0)
            fz_die("a client was not answered within %d ms while another did not read: %s",
                   ANSWER_MS, strerror(-(rc < 0 ? rc : r.h.status)));
        long long t = fz_now_ms() - t0;
        worst = t > worst ? t : worst;
        f->msgs++;
    }
    return worst;
}

/* A client under the queue bound that never reads is kept (and stalls nobody); one far over it
 * is dropped; a third client is answered within ANSWER_MS throughout. */
void fz_case_slow_reader(struct fz *f)
{
    struct fz_reply r;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/big", f->prefix);
    if (fz_call(f->ctl, EBT_OP_READDIR, path, (uint32_t)strlen(path) + 1, &r, GENEROUS_MS) < 0 ||
        r.h.status != 0 || r.h.length < (256u << 10))
        fz_die("READDIR %s: want a reply of >= 256 KiB, got %u bytes", path, r.h.length);
    uint32_t one = r.h.length;
    int fast = fz_connect(f->run);
    int under = nonreader(f, 3); /* ~3 replies: kernel buffer + queue, under the bound */
    int over = nonreader(f, 40); /* ~40 replies: far over 4 MiB */
    long long worst = answer_times(f, fast, 200);
    if (fz_wait_closed(over, fz_now_ms() + GENEROUS_MS) < 0)
        fz_die("a client that never reads %u-byte replies was not dropped", one);
    long long dropped = fz_counter(f->ctl, "dropped_clients");
    if (dropped != 1)
        fz_die("expected exactly one dropped client, counted %lld", dropped);
    long long after = answer_times(f, fast, 50);
    worst = after > worst ? after : worst;
    for (int i = 0; i < 3; i++) /* the kept one reads at last: every reply, in order */
        if (fz_read_reply(under, EBT_OP_READDIR, 7000000 + (uint32_t)i, &r,
                          fz_now_ms() + GENEROUS_MS) < 0 ||
            r.h.status != 0 || r.h.length != one)
            fz_die("queued reply %d to a late reader lost", i);
    printf("slow reader: %u-byte replies; non-reader dropped; slowest other answer %lld ms\n", one,
           worst);
    close(fast);
    close(under);
    close(over);
}

/* --- the fd limit --- */
struct burst {
    int *fd;
    int n;
    char *answered;
};

/* Open up to `want` connections without blocking, each sending one STAT. */
static void burst_open(struct fz *f, struct burst *b, int want)
{
    char path[PATH_MAX + 64], msg[sizeof(struct ebt_proto_hdr) + PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/fz/f2", f->prefix);
    uint32_t plen = (uint32_t)strlen(path) + 1;
    b->fd = calloc((size_t)want, sizeof(int));
    b->answered = calloc((size_t)want, 1);
    for (int i = 0; i < want; i++) {
        int fd = fz_connect_nb(f->run);
        if (fd == -EAGAIN)
            break; /* the backlog is full too */
        if (fd < 0)
            fz_die("burst connect %d: %s", i, strerror(-fd));
        struct ebt_proto_hdr h = fz_hdr(EBT_OP_STAT, plen, 9000000 + (uint32_t)i);
        memcpy(msg, &h, sizeof(h));
        memcpy(msg + sizeof(h), path, plen);
        if (fz_send_all(fd, msg, sizeof(h) + plen, fz_now_ms() + ANSWER_MS) < 0)
            fz_die("burst send %d", i);
        b->fd[b->n++] = fd;
        f->msgs++;
        f->conns++;
    }
}

/* Read the replies that have arrived (wait at most ms); returns how many are answered. */
static int burst_collect(struct burst *b, int ms)
{
    long long deadline = fz_now_ms() + ms;
    int answered = 0;
    for (int i = 0; i < b->n; i++) {
        if (!b->answered[i]) {
            struct pollfd p = {.fd = b->fd[i], .events = POLLIN};
            long long left = deadline - fz_now_ms();
            if (poll(&p, 1, left > 0 ? (int)left : 0) == 1) {
                struct fz_reply r;
                if (fz_read_reply(b->fd[i], EBT_OP_STAT, 9000000 + (uint32_t)i, &r,
                                  fz_now_ms() + ANSWER_MS) < 0 ||
                    r.h.status != 0)
                    fz_die("burst connection %d: bad reply", i);
                b->answered[i] = 1;
            }
        }
        answered += b->answered[i];
    }
    return answered;
}

/* At the limit: existing clients are served, the daemon sleeps between accept attempts. */
static void check_backoff(struct fz *f)
{
    long long p0 = fz_counter(f->ctl, "accept_pauses");
    double c0 = fz_cpu_seconds(f->pid);
    long long t0 = fz_now_ms();
    sleep_ms(1000);
    long long p1 = fz_counter(f->ctl, "accept_pauses");
    long long ms = fz_now_ms() - t0;
    double cpu = (fz_cpu_seconds(f->pid) - c0) / ((double)ms / 1000.0);
    printf("at the fd limit: %lld accept pauses in %lld ms, daemon CPU %.0f%%\n", p1 - p0, ms,
           cpu * 100);
    if (cpu > 0.5)
        fz_die("daemon used %.0f%% CPU at its fd limit (busy loop)", cpu * 100);
    if (p0 < 0 || p1 <= p0)
        fz_die("at the fd limit the daemon did not pause accepting (accept_pauses %lld)", p1);
    if (p1 - p0 > ms / 100 + 5)
        fz_die("accept retried %lld times in %lld ms: no backoff", p1 - p0, ms);
}

void fz_case_fd_burst(struct fz *f)
{
    struct burst b = {0};
    burst_open(f, &b, f->fd_limit + 40);
    sleep_ms(500);
    int answered = burst_collect(&b, 1000);
    printf("fd burst: %d connections, %d answered at the limit of %d fds\n", b.n, answered,
           f->fd_limit);
    if (answered == 0 || answered == b.n)
        fz_die("the burst did not reach the daemon's fd limit (%d of %d answered)", answered, b.n);
    check_backoff(f);
    long long t0 = fz_now_ms();
    for (;;) { /* free the daemon's fds as clients are answered: the waiting ones get in */
        for (int i = 0; i < b.n; i++)
            if (b.answered[i] && b.fd[i] >= 0) {
                close(b.fd[i]);
                b.fd[i] = -1;
            }
        if (burst_collect(&b, 200) == b.n)
            break;
        if (fz_now_ms() - t0 > GENEROUS_MS)
            fz_die("clients waiting in the backlog were not served once fds were free");
    }
    printf("fd burst: the %d waiting clients served %lld ms after fds were freed\n", b.n - answered,
           fz_now_ms() - t0);
    for (int i = 0; i < b.n; i++)
        if (b.fd[i] >= 0)
            close(b.fd[i]);
    free(b.fd);
    free(b.answered);
}
