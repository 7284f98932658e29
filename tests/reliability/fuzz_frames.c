/* fuzz_frames.c - the fuzzer's frame cases: valid requests with known answers, mutated headers,
 * truncated frames, oversized frames, and frames of exactly 4095/4096/max bytes. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CALL_MS 5000

/* header + payload into out; returns the total length. */
static size_t put_msg(char *out, uint16_t op, const void *payload, uint32_t len, uint32_t reqid)
{
    struct ebt_proto_hdr h = fz_hdr(op, len, reqid);
    memcpy(out, &h, sizeof(h));
    if (len)
        memcpy(out + sizeof(h), payload, len);
    return sizeof(h) + len;
}

static size_t put_path(char *out, uint16_t op, const char *path, uint32_t reqid)
{
    return put_msg(out, op, path, (uint32_t)strlen(path) + 1, reqid);
}

size_t fz_gen_request(struct fz *f, char *out, size_t cap, uint32_t reqid, int32_t *expect,
                      int hello)
{
    char path[PATH_MAX + 64], junk[64];
    unsigned k = fz_below(10);
    if (cap < sizeof(struct ebt_proto_hdr) + sizeof(path))
        fz_die("request buffer too small");
    switch (fz_below(hello ? 14 : 13)) {
    case 0:
        snprintf(path, sizeof(path), "%s/fz/f%u", f->prefix, k);
        *expect = 0;
        return put_path(out, EBT_OP_STAT, path, reqid);
    case 1:
        snprintf(path, sizeof(path), "%s/fz/nope%u", f->prefix, k);
        *expect = -ENOENT;
        return put_path(out, EBT_OP_STAT, path, reqid);
    case 2:
        *expect = -EXDEV;
        return put_path(out, EBT_OP_STAT, "/etc/passwd", reqid);
    case 3:
        *expect = -EINVAL;
        return put_path(out, EBT_OP_STAT, "fz/f0", reqid);
    case 4:
        *expect = -EINVAL; /* no NUL */
        return put_msg(out, EBT_OP_STAT, "/abc", 4, reqid);
    case 5:
        snprintf(path, sizeof(path), "%s/fz", f->prefix);
        *expect = 0;
        return put_path(out, EBT_OP_READDIR, path, reqid);
    case 6:
        *expect = 0;
        return put_msg(out, EBT_OP_COUNTERS, NULL, 0, reqid);
    case 7:
        snprintf(path, sizeof(path), "%s/fz/f%u", f->prefix, k);
        *expect = -EOPNOTSUPP; /* one node: no namespace service */
        return put_path(out, EBT_OP_MD_RESOLVE, path, reqid);
    case 8:
        fz_fill(junk, sizeof(junk));
        *expect = -EOPNOTSUPP;
        return put_msg(out, (uint16_t)(EBT_OP_MAX + 1 + fz_below(60000)), junk,
                       fz_below(sizeof(junk) + 1), reqid);
    case 9:
        *expect = -EOPNOTSUPP;
        return put_msg(out, 0, NULL, 0, reqid);
    case 10:
        *expect = -EINVAL; /* SHUTDOWN takes no payload: refused, the daemon keeps serving */
        return put_msg(out, EBT_OP_SHUTDOWN, "x", 1, reqid);
    case 11:
        *expect = -EINVAL;
        return put_msg(out, EBT_OP_FLUSH, "now", 3, reqid);
    case 12:
        snprintf(path, sizeof(path), "%s/fz/../fz//f%u", f->prefix, k);
        *expect = 0;
        return put_path(out, EBT_OP_STAT, path, reqid);
    default:
        *expect = 0;
        return put_msg(out, EBT_OP_HELLO, "pid=1\ntask=fuzz\n", 16, reqid);
    }
}

static int reconnect(struct fz *f, int fd)
{
    if (fd >= 0)
        close(fd);
    f->conns++;
    return fz_connect(f->run);
}

/* Send a built message and check its one reply; returns the reply status. */
static int send_checked(struct fz *f, int fd, const char *msg, size_t n, int32_t expect,
                        const char *what)
{
    struct ebt_proto_hdr h;
    struct fz_reply r;
    memcpy(&h, msg, sizeof(h));
    long long deadline = fz_now_ms() + CALL_MS;
    int rc = fz_send_all(fd, msg, n, deadline);
    if (rc == 0)
        rc = fz_read_reply(fd, h.op, h.reqid, &r, deadline);
    if (rc < 0)
        fz_die("%s (op %u, %zu bytes): %s", what, h.op, n, strerror(-rc));
    if (expect != FZ_ANY && r.h.status != expect)
        fz_die("%s (op %u): status %d, expected %d", what, h.op, r.h.status, expect);
    f->msgs++;
    return r.h.status;
}

void fz_case_valid(struct fz *f, int n)
{
    static char msg[PATH_MAX * 2];
    int fd = reconnect(f, -1);
    for (int i = 0; i < n; i++) {
        int32_t expect;
        size_t len = fz_gen_request(f, msg, sizeof(msg), f->next_id++, &expect, 1);
        send_checked(f, fd, msg, len, expect, "valid request");
        if (fz_below(50) == 0)
            fd = reconnect(f, fd);
    }
    close(fd);
}

/* The error reply that closes a connection, then the close itself. */
static void expect_reply_and_close(struct fz *f, int fd, const struct ebt_proto_hdr *h,
                                   int32_t status, const char *what)
{
    struct fz_reply r;
    long long deadline = fz_now_ms() + CALL_MS;
    int rc = fz_read_reply(fd, h->op, h->reqid, &r, deadline);
    if (rc < 0)
        fz_die("%s: no reply: %s", what, strerror(-rc));
    if (r.h.status != status)
        fz_die("%s: status %d, expected %d", what, r.h.status, status);
    if (fz_wait_closed(fd, deadline) < 0)
        fz_die("%s: connection not closed", what);
}

/* One mutated header: 0 = the daemon must close, 1 = the connection stays. */
static int one_random_header(struct fz *f, int fd)
{
    struct ebt_proto_hdr h = fz_hdr((uint16_t)fz_below(EBT_OP_MAX + 8), 0, (uint32_t)fz_rand());
    h.status = fz_below(4) ? 0 : (int32_t)fz_rand();
    unsigned kind = fz_below(100);
    int32_t close_status = 0;
    if (kind < 8) {
        h.magic = (uint32_t)fz_rand() | 1u << 31; /* never the real magic (bit 31 is 0 there) */
        close_status = -EPROTO;
    } else if (kind < 16) {
        h.version = (uint16_t)(2 + fz_below(60000));
        close_status = -EPROTONOSUPPORT;
    } else if (kind < 24) {
        h.length = EBT_PROTO_MAX_PAYLOAD + 1 + fz_below(UINT32_MAX - EBT_PROTO_MAX_PAYLOAD - 1);
        close_status = -EMSGSIZE;
    }
    if (close_status) {
        if (fz_send_all(fd, &h, sizeof(h), fz_now_ms() + CALL_MS) < 0)
            fz_die("send a bad header");
        f->msgs++;
        expect_reply_and_close(f, fd, &h, close_status, "bad header");
        return 0;
    }
    if (h.op == EBT_OP_FLUSH || h.op == EBT_OP_SHUTDOWN)
        h.op = (uint16_t)(EBT_OP_MAX + 1 + fz_below(100)); /* never flush or stop the daemon */
    static char msg[sizeof(h) + 512];
    h.length = fz_below(300);
    memcpy(msg, &h, sizeof(h));
    fz_fill(msg + sizeof(h), h.length);
    if (fz_below(3) == 0 && h.length > 2) {
        msg[sizeof(h)] = '/';
        msg[sizeof(h) + h.length - 1] = '\0'; /* a path-like payload */
    }
    int known = h.op >= EBT_OP_HELLO && h.op <= EBT_OP_MAX;
    send_checked(f, fd, msg, sizeof(h) + h.length, known ? FZ_ANY : -EOPNOTSUPP, "random header");
    return 1;
}

void fz_case_random_headers(struct fz *f, int n)
{
    int fd = reconnect(f, -1);
    for (int i = 0; i < n; i++)
        if (!one_random_header(f, fd))
            fd = reconnect(f, fd);
    close(fd);
}

/* Cut frames: part of a header, or a header and part of its payload, then EOF or a close. */
static void one_truncated(struct fz *f)
{
    static char msg[sizeof(struct ebt_proto_hdr) + 4096];
    int fd = reconnect(f, -1);
    long long deadline = fz_now_ms() + CALL_MS;
    uint32_t len = 1 + fz_below(4000);
    struct ebt_proto_hdr h = fz_hdr(EBT_OP_HELLO, len, f->next_id++);
    memcpy(msg, &h, sizeof(h));
    fz_fill(msg + sizeof(h), len);
    int in_header = fz_below(2);
    size_t cut = in_header ? 1 + fz_below(sizeof(h) - 1) : sizeof(h) + fz_below(len);
    if (fz_send_all(fd, msg, cut, deadline) < 0)
        fz_die("send a cut frame");
    f->msgs++;
    if (fz_below(4) == 0) { /* abandoned halfway: nothing to check but the daemon's health */
        close(fd);
        return;
    }
    shutdown(fd, SHUT_WR);
    if (!in_header) {
        expect_reply_and_close(f, fd, &h, -EPROTO, "payload cut by EOF");
    } else {
        char c;
        if (fz_recv_all(fd, &c, 1, deadline) != -ECONNRESET)
            fz_die("header cut by EOF: expected a close without a reply");
    }
    close(fd);
}

void fz_case_truncated(struct fz *f, int n)
{
    for (int i = 0; i < n; i++)
        one_truncated(f);
}

void fz_case_oversized(struct fz *f, int n)
{
    static char junk[8192];
    for (int i = 0; i < n; i++) {
        int fd = reconnect(f, -1);
        uint32_t over = i % 4 == 0 ? 1 : 1 + fz_below(UINT32_MAX - EBT_PROTO_MAX_PAYLOAD - 1);
        struct ebt_proto_hdr h = fz_hdr(EBT_OP_STAT, EBT_PROTO_MAX_PAYLOAD + over, f->next_id++);
        long long deadline = fz_now_ms() + CALL_MS;
        if (fz_send_all(fd, &h, sizeof(h), deadline) < 0)
            fz_die("send an oversized header");
        if (fz_below(2)) /* some payload after it, as a real sender would */
            send(fd, junk, fz_below(sizeof(junk)), MSG_NOSIGNAL | MSG_DONTWAIT);
        f->msgs++;
        expect_reply_and_close(f, fd, &h, -EMSGSIZE, "oversized frame");
        close(fd);
    }
}

/* A message of `total` bytes on the wire: HELLO (answered 0) or a STAT whose path is followed
 * by padding (answered -EINVAL: trailing bytes). The connection must stay usable. */
static void exact_size(struct fz *f, int fd, size_t total, int stat)
{
    static char msg[sizeof(struct ebt_proto_hdr) + EBT_PROTO_MAX_PAYLOAD];
    uint32_t len = (uint32_t)(total - sizeof(struct ebt_proto_hdr));
    struct ebt_proto_hdr h = fz_hdr(stat ? EBT_OP_STAT : EBT_OP_HELLO, len, f->next_id++);
    memcpy(msg, &h, sizeof(h));
    memset(msg + sizeof(h), 'a', len);
    if (stat) {
        int n = snprintf(msg + sizeof(h), len, "%s/fz/f0", f->prefix);
        msg[sizeof(h) + n] = '\0';
    }
    char what[64];
    snprintf(what, sizeof(what), "%s of exactly %zu bytes", stat ? "STAT" : "HELLO", total);
    send_checked(f, fd, msg, total, stat ? -EINVAL : 0, what);
}

void fz_case_exact_sizes(struct fz *f)
{
    const size_t hdr = sizeof(struct ebt_proto_hdr);
    const size_t sizes[] = {
        4095, 4096, 4097, 65536, hdr + EBT_PROTO_MAX_PAYLOAD - 1, hdr + EBT_PROTO_MAX_PAYLOAD};
    int fd = reconnect(f, -1);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        exact_size(f, fd, sizes[i], 0);
        exact_size(f, fd, sizes[i], 1);
        int32_t expect;
        static char msg[PATH_MAX * 2];
        size_t n = fz_gen_request(f, msg, sizeof(msg), f->next_id++, &expect, 0);
        send_checked(f, fd, msg, n, expect, "request after a large frame");
    }
    /* one byte over: refused, closed */
    struct ebt_proto_hdr h = fz_hdr(EBT_OP_HELLO, EBT_PROTO_MAX_PAYLOAD + 1, f->next_id++);
    if (fz_send_all(fd, &h, sizeof(h), fz_now_ms() + CALL_MS) < 0)
        fz_die("send max+1");
    f->msgs++;
    expect_reply_and_close(f, fd, &h, -EMSGSIZE, "max+1 frame");
    close(fd);
}
