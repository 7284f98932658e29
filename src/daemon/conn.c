/* conn.c - per-connection request framing and validation for ebtd (never trusts the peer), and
 * the connection's reply queue: replies are sent without blocking, the rest kept in order. */
#define _GNU_SOURCE
#include "conn.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define CONN_BUF_START 4096
#define CONN_BUF_MAX (EBT_CONN_MAX_MSG + 1) /* a maximal message and its NUL pad */
#define CONN_KEEP_IDLE (64u << 10)          /* idle buffers larger than this are freed */

void ebt_conn_init(struct ebt_conn *c, int fd, char *reply, uint32_t reply_cap)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->reply = reply;
    c->reply_cap = reply_cap;
}

void ebt_conn_free(struct ebt_conn *c)
{
    free(c->buf);
    free(c->out);
    c->buf = c->out = NULL;
    c->head = c->len = c->cap = 0;
    c->out_head = c->out_len = c->out_cap = 0;
}

size_t ebt_conn_queued(const struct ebt_conn *c)
{
    return c->out_len - c->out_head;
}

/* --- the reply queue --- */

/* One non-blocking sendmsg; *sent = bytes written (0 if the socket is full); 0 or -errno. */
static int conn_send_iov(int fd, struct iovec *iov, int niov, size_t *sent)
{
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
    ssize_t w;
    do
        w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    *sent = w > 0 ? (size_t)w : 0;
    if (w < 0 && errno != EAGAIN)
        return errno == EPIPE ? -ECONNRESET : -errno;
    return 0;
}

/* Append n bytes to the queue (moving the unsent bytes to the front first). */
static int conn_enqueue(struct ebt_conn *c, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (c->out_head) {
        memmove(c->out, c->out + c->out_head, ebt_conn_queued(c));
        c->out_len -= c->out_head;
        c->out_head = 0;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : CONN_BUF_START;
        while (cap < c->out_len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p)
            return -ENOMEM;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return 0;
}

/* Queue header + payload behind what is queued, sending at once if nothing is. -ENOBUFS when
 * the queue is over its bound: the peer does not read, drop it. */
static int conn_queue_msg(struct ebt_conn *c, const struct ebt_proto_hdr *h, const void *payload)
{
    size_t total = sizeof(*h) + h->length, sent = 0;
    if (ebt_conn_queued(c) == 0) {
        struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {(void *)payload, h->length}};
        int rc = conn_send_iov(c->fd, iov, h->length ? 2 : 1, &sent);
        if (rc < 0)
            return rc;
    }
    int rc = 0;
    if (sent < sizeof(*h))
        rc = conn_enqueue(c, (const char *)h + sent, sizeof(*h) - sent);
    size_t poff = sent > sizeof(*h) ? sent - sizeof(*h) : 0;
    if (rc == 0 && sent < total)
        rc = conn_enqueue(c, (const char *)payload + poff, h->length - poff);
    if (rc == 0 && ebt_conn_queued(c) > EBT_CONN_QUEUE_MAX)
        rc = -ENOBUFS;
    return rc;
}

int ebt_conn_writable(struct ebt_conn *c)
{
    while (ebt_conn_queued(c)) {
        struct iovec iov = {c->out + c->out_head, ebt_conn_queued(c)};
        size_t sent;
        int rc = conn_send_iov(c->fd, &iov, 1, &sent);
        if (rc < 0)
            return rc;
        if (sent == 0)
            return 0; /* full: wait for POLLOUT */
        c->out_head += sent;
    }
    c->out_head = c->out_len = 0;
    if (c->out_cap > CONN_KEEP_IDLE) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    return 0;
}

static int conn_reply(struct ebt_conn *c, const struct ebt_proto_hdr *req, int status,
                      const void *payload, uint32_t len)
{
    struct ebt_proto_hdr h = {.magic = EBT_PROTO_MAGIC,
                              .version = EBT_PROTO_VERSION,
                              .op = req->op,
                              .length = len,
                              .reqid = req->reqid,
                              .status = status};
    return conn_queue_msg(c, &h, payload);
}

/* --- framing --- */

static void conn_log_reject(const struct ebt_conn *c, const struct ebt_proto_hdr *h, int status)
{
    if (status == -EMSGSIZE)
        ebt_warn("ebtd: client fd %d sent a message of %u payload bytes, over the protocol's "
                 "maximum of %u: closing",
                 c->fd, h->length, EBT_PROTO_MAX_PAYLOAD);
    else if (status == -EPROTONOSUPPORT)
        ebt_warn("ebtd: client fd %d speaks protocol version %u, not %u: closing", c->fd,
                 h->version, EBT_PROTO_VERSION);
    else if (h->magic != EBT_PROTO_MAGIC)
        ebt_warn("ebtd: malformed message on fd %d: bad magic 0x%08x: closing", c->fd, h->magic);
    else
        ebt_warn("ebtd: malformed message on fd %d: %s: closing", c->fd, strerror(-status));
}

/* Malformed: tell the peer why (best effort), then close (the stream cannot be resynchronised). */
static int conn_reject(struct ebt_conn *c, const struct ebt_proto_hdr *h, int status)
{
    c->bad++;
    conn_log_reject(c, h, status);
    conn_reply(c, h, status, NULL, 0);
    return status;
}

/* Move the unserved bytes to the front; free a large buffer that is empty. */
static void conn_compact_input(struct ebt_conn *c)
{
    if (c->head) {
        memmove(c->buf, c->buf + c->head, c->len - c->head);
        c->len -= c->head;
        c->head = 0;
    }
    if (c->len == 0 && c->cap > CONN_KEEP_IDLE) {
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    }
}

/* Room to read at least one more byte and still NUL-pad a message: len + 1 < cap. */
static int conn_room(struct ebt_conn *c)
{
    conn_compact_input(c);
    if (c->len + 1 < c->cap)
        return 0;
    size_t cap = c->cap ? c->cap * 2 : CONN_BUF_START;
    if (cap > CONN_BUF_MAX)
        cap = CONN_BUF_MAX;
    if (c->len + 1 >= cap)
        return -EMSGSIZE; /* cannot happen: reading stops at one maximal message */
    char *p = realloc(c->buf, cap);
    if (!p)
        return -ENOMEM;
    c->buf = p;
    c->cap = cap;
    return 0;
}

/* Read until EAGAIN or the buffer holds a maximal message. 1 = peer closed, 0, or -errno. */
static int conn_fill(struct ebt_conn *c)
{
    for (;;) {
        if (c->len - c->head >= EBT_CONN_MAX_MSG)
            return 0;
        int rc = conn_room(c);
        if (rc < 0)
            return rc;
        size_t want = c->cap - c->len - 1; /* >= 1; keeps the pad byte */
        ssize_t r = recv(c->fd, c->buf + c->len, want, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == EAGAIN ? 0 : -errno;
        if (r == 0)
            return 1;
        c->len += (size_t)r;
    }
}

/* Serve the message at the head of the buffer. 1 = served, 0 = incomplete, <0 = close. */
static int conn_serve_one(struct ebt_conn *c, ebt_conn_handler *fn, void *ctx)
{
    struct ebt_proto_hdr h;
    size_t avail = c->len - c->head;
    if (avail < sizeof(h))
        return 0;
    char *msg = c->buf + c->head;
    memcpy(&h, msg, sizeof(h));
    int rc = ebt_proto_hdr_check(&h, 0);
    if (rc < 0)
        return conn_reject(c, &h, rc);
    size_t total = sizeof(h) + h.length;
    if (avail < total)
        return 0;
    char saved = msg[total]; /* head + total <= len < cap */
    msg[total] = '\0';
    uint32_t replylen = 0;
    int status = -EOPNOTSUPP;
    if (ebt_proto_hdr_check(&h, 1) == 0)
        status = fn(ctx, &h, msg + sizeof(h), c->reply, c->reply_cap, &replylen);
    else
        c->bad++;
    msg[total] = saved;
    c->head += total;
    if (replylen > c->reply_cap)
        replylen = 0;
    rc = conn_reply(c, &h, status, c->reply, replylen);
    return rc < 0 ? rc : 1;
}

/* The peer closed with bytes left over: a cut message. */
static int conn_truncated(struct ebt_conn *c)
{
    struct ebt_proto_hdr h;
    size_t avail = c->len - c->head;
    if (avail < sizeof(h))
        return -ECONNRESET; /* the header itself is unreadable: just close */
    memcpy(&h, c->buf + c->head, sizeof(h));
    c->bad++;
    ebt_warn("ebtd: client fd %d closed inside a message (%zu of %zu bytes): closing", c->fd, avail,
             sizeof(h) + h.length);
    conn_reply(c, &h, -EPROTO, NULL, 0);
    return -EPROTO;
}

int ebt_conn_readable(struct ebt_conn *c, ebt_conn_handler *fn, void *ctx)
{
    int eof = conn_fill(c);
    if (eof < 0)
        return eof;
    int rc;
    while ((rc = conn_serve_one(c, fn, ctx)) > 0)
        ;
    if (rc < 0)
        return rc;
    if (eof)
        return c->len > c->head ? conn_truncated(c) : -ECONNRESET;
    conn_compact_input(c);
    return 0;
}
