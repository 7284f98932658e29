/* conn.c - per-connection request framing and validation for ebtd (never trusts the peer). */
#define _GNU_SOURCE
#include "conn.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CONN_REPLY_TIMEOUT_MS 5000
#define CONN_MAX_MSG (sizeof(struct ebt_proto_hdr) + EBT_PROTO_MAX_PAYLOAD)

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
    c->buf = NULL;
    c->len = c->cap = 0;
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
    return ebt_proto_send(c->fd, &h, payload, CONN_REPLY_TIMEOUT_MS);
}

/* Malformed: tell the peer why, then close (the stream cannot be resynchronised). */
static int conn_reject(struct ebt_conn *c, const struct ebt_proto_hdr *h, int status)
{
    c->bad++;
    ebt_warn("ebtd: malformed message on fd %d: %s", c->fd, strerror(-status));
    conn_reply(c, h, status, NULL, 0);
    return status;
}

/* Room for one more read: grow up to one maximal message (+1 byte for the NUL pad). */
static int conn_room(struct ebt_conn *c)
{
    if (c->len < c->cap)
        return 0;
    size_t cap = c->cap ? c->cap * 2 : 4096;
    if (cap > CONN_MAX_MSG + 1)
        cap = CONN_MAX_MSG + 1;
    if (cap <= c->len)
        return -EMSGSIZE;
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
        if (c->len >= CONN_MAX_MSG)
            return 0;
        int rc = conn_room(c);
        if (rc < 0)
            return rc;
        size_t want = c->cap - c->len - 1;
        if (want > CONN_MAX_MSG - c->len)
            want = CONN_MAX_MSG - c->len;
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
    if (c->len < sizeof(h))
        return 0;
    memcpy(&h, c->buf, sizeof(h));
    int rc = ebt_proto_hdr_check(&h, 0);
    if (rc < 0)
        return conn_reject(c, &h, rc);
    size_t total = sizeof(h) + h.length;
    if (c->len < total)
        return 0;
    char saved = c->buf[total]; /* buffer has cap >= total + 1 */
    c->buf[total] = '\0';
    uint32_t replylen = 0;
    int status = -EOPNOTSUPP;
    if (ebt_proto_hdr_check(&h, 1) == 0)
        status = fn(ctx, &h, c->buf + sizeof(h), c->reply, c->reply_cap, &replylen);
    else
        c->bad++;
    c->buf[total] = saved;
    memmove(c->buf, c->buf + total, c->len - total);
    c->len -= total;
    if (replylen > c->reply_cap)
        replylen = 0;
    rc = conn_reply(c, &h, status, c->reply, replylen);
    return rc < 0 ? rc : 1;
}

/* The peer closed with bytes left over: a cut message. */
static int conn_truncated(struct ebt_conn *c)
{
    struct ebt_proto_hdr h;
    if (c->len < sizeof(h))
        return -ECONNRESET; /* the header itself is unreadable: just close */
    memcpy(&h, c->buf, sizeof(h));
    return conn_reject(c, &h, -EPROTO);
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
        return c->len ? conn_truncated(c) : -ECONNRESET;
    return 0;
}
