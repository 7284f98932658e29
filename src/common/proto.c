/* proto.c - client side of the EBT wire protocol and the checks both sides share. */
#define _GNU_SOURCE
#include "proto.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>

static uint32_t proto_next_reqid = 1;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: none); 0 means expired. */
static int left_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - now_ms();
    return left <= 0 ? 0 : (int)(left > INT_MAX ? INT_MAX : left);
}

/* Wait for events on fd until the deadline; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int t = left_ms(deadline);
        if (t == 0 && deadline >= 0)
            return -ETIMEDOUT;
        int n = poll(&p, 1, t);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ETIMEDOUT;
        return 0; /* readable, writable, or an error/hangup the next call reports */
    }
}

const char *ebt_proto_op_name(unsigned op)
{
    static const char *names[] = {"?",         "HELLO",      "STAT",       "READDIR",  "FLUSH",
                                  "COUNTERS",  "SHUTDOWN",   "MD_RESOLVE", "MD_FETCH", "MD_NOTE",
                                  "MD_UNLINK", "MD_LISTDIR", "PEERS",      "INPUT",    "MDC"};
    return op <= EBT_OP_MAX ? names[op] : "?";
}

int ebt_proto_hdr_check(const struct ebt_proto_hdr *h, int check_op)
{
    if (h->magic != EBT_PROTO_MAGIC)
        return -EPROTO;
    if (h->version != EBT_PROTO_VERSION)
        return -EPROTONOSUPPORT;
    if (h->length > EBT_PROTO_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (check_op && (h->op < EBT_OP_HELLO || h->op > EBT_OP_MAX))
        return -EOPNOTSUPP;
    return 0;
}

int ebt_proto_path_check(const void *payload, uint32_t len)
{
    const char *p = payload;
    const char *nul = len ? memchr(p, '\0', len) : NULL;
    if (!nul || p[0] != '/')
        return -EINVAL;
    if (nul - p >= PATH_MAX)
        return -ENAMETOOLONG;
    return (int)(nul - p);
}

int ebt_proto_connect(const char *run_dir)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!run_dir || !*run_dir)
        return -EINVAL;
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", run_dir, EBT_PROTO_SOCK_NAME);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* On AF_UNIX a blocking connect waits for backlog room up to SO_SNDTIMEO. */
    struct timeval tv = {.tv_sec = EBT_PROTO_TIMEOUT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int rc;
    do
        rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        rc = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
        ebt_sys_close(fd);
        return rc;
    }
    return fd;
}

int ebt_proto_send(int fd, const struct ebt_proto_hdr *h, const void *payload, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    size_t total = sizeof(*h) + h->length, done = 0;
    while (done < total) {
        struct iovec iov[2];
        int niov = 0;
        if (done < sizeof(*h))
            iov[niov++] = (struct iovec){(char *)h + done, sizeof(*h) - done};
        size_t poff = done < sizeof(*h) ? 0 : done - sizeof(*h);
        if (h->length > poff)
            iov[niov++] = (struct iovec){(char *)payload + poff, h->length - poff};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
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

/* Receive exactly n bytes (buf NULL: discard them); -ECONNRESET on EOF. */
static int recv_full(int fd, void *buf, size_t n, int64_t deadline)
{
    char scratch[4096];
    size_t done = 0;
    while (done < n) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        size_t want = n - done;
        char *dst = buf ? (char *)buf + done : scratch;
        if (!buf && want > sizeof(scratch))
            want = sizeof(scratch);
        ssize_t r = recv(fd, dst, want, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ECONNRESET;
        done += (size_t)r;
    }
    return 0;
}

static int recv_reply(int fd, uint16_t op, uint32_t reqid, void *reply, uint32_t cap,
                      uint32_t *replylen, int64_t deadline)
{
    struct ebt_proto_hdr h;
    int rc = recv_full(fd, &h, sizeof(h), deadline);
    if (rc < 0)
        return rc;
    if (ebt_proto_hdr_check(&h, 0) < 0 || h.reqid != reqid || h.op != op)
        return -EPROTO;
    uint32_t keep = h.length < cap ? h.length : cap;
    if (keep && !reply)
        keep = 0;
    rc = recv_full(fd, reply, keep, deadline);
    if (rc == 0 && h.length > keep)
        rc = recv_full(fd, NULL, h.length - keep, deadline);
    if (rc < 0)
        return rc;
    if (replylen)
        *replylen = keep;
    if (h.length > keep)
        return -EMSGSIZE;
    return h.status;
}

int ebt_proto_call_timeout(int fd, uint16_t op, const void *req, uint32_t reqlen, void *reply,
                           uint32_t replycap, uint32_t *replylen, int timeout_ms)
{
    if (replylen)
        *replylen = 0;
    if (reqlen > EBT_PROTO_MAX_PAYLOAD || (reqlen && !req))
        return -EMSGSIZE;
    struct ebt_proto_hdr h = {
        .magic = EBT_PROTO_MAGIC, .version = EBT_PROTO_VERSION, .op = op, .length = reqlen};
    h.reqid = __atomic_fetch_add(&proto_next_reqid, 1, __ATOMIC_RELAXED);
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    int rc = ebt_proto_send(fd, &h, req, timeout_ms);
    if (rc < 0)
        return rc;
    return recv_reply(fd, op, h.reqid, reply, replycap, replylen, deadline);
}

int ebt_proto_call(int fd, uint16_t op, const void *req, uint32_t reqlen, void *reply,
                   uint32_t replycap, uint32_t *replylen)
{
    return ebt_proto_call_timeout(fd, op, req, reqlen, reply, replycap, replylen,
                                  EBT_PROTO_TIMEOUT_MS);
}
