/* fuzz_lib.c - helpers of the protocol fuzzer: seeded generator, deadline-bounded socket I/O,
 * reply checks, the pipelining pump, counters and CPU time of the daemon. */
#define _GNU_SOURCE
#include "fuzz_lib.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t fz_state = 88172645463325252ull;

void fz_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

void fz_seed(uint64_t seed)
{
    fz_state = seed ? seed : 1;
}

uint64_t fz_rand(void)
{
    fz_state ^= fz_state >> 12;
    fz_state ^= fz_state << 25;
    fz_state ^= fz_state >> 27;
    return fz_state * 2685821657736338717ull;
}

uint32_t fz_below(uint32_t n)
{
    return n ? (uint32_t)(fz_rand() % n) : 0;
}

void fz_fill(void *buf, size_t n)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)fz_rand();
}

long long fz_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sock_addr(const char *run, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", run, EBT_PROTO_SOCK_NAME);
    return n < 0 || (size_t)n >= sizeof(sa->sun_path) ? -ENAMETOOLONG : 0;
}

int fz_connect(const char *run)
{
    int fd = ebt_proto_connect(run);
    if (fd < 0)
        fz_die("connect to %s: %s", run, strerror(-fd));
    return fd;
}

int fz_connect_nb(const char *run)
{
    struct sockaddr_un sa;
    if (sock_addr(run, &sa) < 0)
        return -ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int wait_fd(int fd, short ev, long long deadline)
{
    for (;;) {
        long long left = deadline - fz_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = ev};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n > 0)
            return 0;
    }
}

int fz_send_all(int fd, const void *buf, size_t n, long long deadline)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        if (w < 0)
            return errno == EPIPE ? -ECONNRESET : -errno;
        done += (size_t)w;
    }
    return 0;
}

int fz_recv_all(int fd, void *buf, size_t n, long long deadline)
{
    char scratch[65536];
    size_t done = 0;
    while (done < n) {
        size_t want = n - done;
        if (!buf && want > sizeof(scratch))
            want = sizeof(scratch);
        ssize_t r = recv(fd, buf ? (char *)buf + done : scratch, want, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = wait_fd(fd, POLLIN, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ECONNRESET;
        done += (size_t)r;
    }
    return 0;
}

int fz_wait_closed(int fd, long long deadline)
{
    for (;;) {
        int rc = fz_recv_all(fd, NULL, 1 << 20, deadline);
        if (rc == -ETIMEDOUT)
            return rc;
        if (rc < 0)
            return 0; /* EOF or reset: closed */
    }
}

struct ebt_proto_hdr fz_hdr(uint16_t op, uint32_t len, uint32_t reqid)
{
    return (struct ebt_proto_hdr){EBT_PROTO_MAGIC, EBT_PROTO_VERSION, op, len, reqid, 0};
}

static void check_reply_hdr(const struct ebt_proto_hdr *h, uint16_t op, uint32_t reqid)
{
    if (h->magic != EBT_PROTO_MAGIC || h->version != EBT_PROTO_VERSION)
        fz_die("reply with a bad magic/version (0x%08x/%u)", h->magic, h->version);
    if (h->op != op || h->reqid != reqid)
        fz_die("reply op %u reqid %u, expected op %u reqid %u (out of order?)", h->op, h->reqid, op,
               reqid);
    if (h->length > EBT_PROTO_MAX_PAYLOAD || h->status > 0)
        fz_die("reply length %u status %d", h->length, h->status);
}

int fz_read_reply(int fd, uint16_t op, uint32_t reqid, struct fz_reply *r, long long deadline)
{
    int rc = fz_recv_all(fd, &r->h, sizeof(r->h), deadline);
    if (rc < 0)
        return rc;
    check_reply_hdr(&r->h, op, reqid);
    r->kept = r->h.length < sizeof(r->payload) - 1 ? r->h.length : sizeof(r->payload) - 1;
    rc = fz_recv_all(fd, r->payload, r->kept, deadline);
    if (rc == 0)
        rc = fz_recv_all(fd, NULL, r->h.length - r->kept, deadline);
    r->payload[r->kept] = '\0';
    return rc;
}

int fz_call(int fd, uint16_t op, const void *req, uint32_t len, struct fz_reply *r, int ms)
{
    static uint32_t id = 1u << 30;
    struct ebt_proto_hdr h = fz_hdr(op, len, ++id);
    long long deadline = fz_now_ms() + ms;
    int rc = fz_send_all(fd, &h, sizeof(h), deadline);
    if (rc == 0)
        rc = fz_send_all(fd, req, len, deadline);
    if (rc == 0)
        rc = fz_read_reply(fd, op, id, r, deadline);
    return rc;
}

/* --- pipelining --- */
struct pipe_rx {
    char buf[1 << 16];
    size_t len;
    uint32_t got, n, first_id;
    const int32_t *expect;
};

/* Take every complete reply at the front of the receive buffer. */
static void pipe_parse(struct pipe_rx *x)
{
    size_t off = 0;
    struct ebt_proto_hdr h;
    while (x->len - off >= sizeof(h)) {
        memcpy(&h, x->buf + off, sizeof(h));
        if (h.length > sizeof(x->buf) - sizeof(h))
            fz_die("pipelined reply of %u bytes", h.length);
        if (x->len - off < sizeof(h) + h.length)
            break;
        if (x->got >= x->n)
            fz_die("more replies than requests");
        if (h.reqid != x->first_id + x->got)
            fz_die("pipelined reply %u has reqid %u: out of order", x->got, h.reqid);
        check_reply_hdr(&h, h.op, h.reqid);
        if (x->expect && x->expect[x->got] != FZ_ANY && h.status != x->expect[x->got])
            fz_die("pipelined request %u (op %u): status %d, expected %d", x->got, h.op, h.status,
                   x->expect[x->got]);
        x->got++;
        off += sizeof(h) + h.length;
    }
    memmove(x->buf, x->buf + off, x->len - off);
    x->len -= off;
}

static int pipe_recv(int fd, struct pipe_rx *x)
{
    ssize_t r = recv(fd, x->buf + x->len, sizeof(x->buf) - x->len, MSG_DONTWAIT);
    if (r == 0)
        return -ECONNRESET;
    if (r < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    x->len += (size_t)r;
    pipe_parse(x);
    return 0;
}

int fz_pipeline(int fd, const char *req, size_t len, uint32_t n, uint32_t first_id,
                const int32_t *expect, long long deadline)
{
    static struct pipe_rx x;
    x = (struct pipe_rx){.n = n, .first_id = first_id, .expect = expect};
    size_t sent = 0;
    while (x.got < n) {
        long long left = deadline - fz_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0)};
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            return -errno;
        if (sent < len && (p.revents & POLLOUT)) {
            ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                return -ECONNRESET;
            sent += w > 0 ? (size_t)w : 0;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            int rc = pipe_recv(fd, &x);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

long long fz_counter(int fd, const char *key)
{
    struct fz_reply r;
    int rc = fz_call(fd, EBT_OP_COUNTERS, NULL, 0, &r, 5000);
    if (rc < 0 || r.h.status != 0)
        fz_die("COUNTERS: %s", strerror(-(rc < 0 ? rc : r.h.status)));
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(r.payload, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

double fz_cpu_seconds(int pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        fz_die("daemon %d is gone (%s)", pid, path);
    text[n] = '\0';
    const char *p = strrchr(text, ')'); /* fields after the command name */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        fz_die("cannot parse %s", path);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
