/* mesh_stream.c - pipelined calls to one node: a window of requests in flight, replies taken in
 * whatever order they land (the remote read pulls a file this way). */
#define _GNU_SOURCE
#include "log.h"
#include "mesh_priv.h"
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct stream_slot {
    struct stream *s;
    uint64_t seq;
    int busy, landed, status;
    size_t len;
    char *req, *reply;
};

struct stream {
    struct stream_slot *slot;
    int window, pending, any_landed;
};

static void slot_done(int status, size_t reply_len, void *arg)
{
    struct stream_slot *sl = arg;
    sl->status = status;
    sl->len = reply_len;
    sl->landed = 1;
    sl->s->pending--;
    sl->s->any_landed = 1;
}

static int stream_alloc(struct stream *s, int window, size_t req_cap, size_t reply_cap)
{
    s->window = window;
    s->slot = calloc((size_t)window, sizeof(*s->slot));
    if (!s->slot)
        return -ENOMEM;
    for (int i = 0; i < window; i++) {
        s->slot[i].s = s;
        s->slot[i].req = malloc(req_cap ? req_cap : 1);
        s->slot[i].reply = malloc(reply_cap ? reply_cap : 1);
        if (!s->slot[i].req || !s->slot[i].reply)
            return -ENOMEM;
    }
    return 0;
}

static void stream_free(struct stream *s)
{
    for (int i = 0; s->slot && i < s->window; i++) {
        free(s->slot[i].req);
        free(s->slot[i].reply);
    }
    free(s->slot);
}

/* Hand every landed reply to done; the slot is free again. */
static int stream_collect(struct stream *s, ebtd_stream_done_fn *done, void *arg)
{
    int rc = 0;
    for (int i = 0; i < s->window; i++) {
        struct stream_slot *sl = &s->slot[i];
        if (!sl->busy || !sl->landed)
            continue;
        sl->busy = sl->landed = 0;
        int r = sl->status < 0 ? sl->status : done(sl->seq, 0, sl->reply, sl->len, arg);
        if (r < 0 && rc == 0)
            rc = r;
    }
    s->any_landed = 0;
    return rc;
}

int ebtd_mesh_call_stream(struct ebtd *d, int node, uint16_t op, int window, size_t req_cap,
                          size_t reply_cap, ebtd_stream_next_fn *next, ebtd_stream_done_fn *done,
                          void *arg)
{
    struct ebtd_mesh *m = d->mesh;
    struct stream s = {0};
    uint64_t seq = 0;
    int rc = 0, more = 1;
    if (!m || node < 0 || node >= m->nodes || node == m->self || window < 1)
        return -EINVAL;
    if ((rc = stream_alloc(&s, window, req_cap, reply_cap)) < 0) {
        stream_free(&s);
        return rc;
    }
    while (rc == 0 && (more || s.pending > 0)) {
        for (int i = 0; rc == 0 && more && i < window; i++) {
            struct stream_slot *sl = &s.slot[i];
            size_t len = 0;
            if (sl->busy || !(more = next(seq, sl->req, &len, arg)))
                continue;
            ebt_tp_peer_t *p = mesh_node_link(m, &m->node[node], &rc);
            if (!p) {
                rc = rc < 0 ? rc : -EHOSTDOWN;
                break;
            }
            *sl = (struct stream_slot){
                .s = &s, .seq = seq++, .busy = 1, .req = sl->req, .reply = sl->reply};
            s.pending++;
            rc = ebt_tp_call_start(p, op, sl->req, len, sl->reply, reply_cap, m->timeout_ms,
                                   slot_done, sl);
            if (rc < 0)
                sl->busy = 0, s.pending--;
        }
        if (s.pending > 0 && !s.any_landed) /* every call has a deadline: done always runs */
            ebt_tp_wait(m->ctx, &s.any_landed, 1000);
        int c = stream_collect(&s, done, arg);
        if (rc == 0)
            rc = c;
    }
    while (s.pending > 0) /* after an error: let the calls in flight finish into our buffers */
        ebt_tp_wait(m->ctx, &s.any_landed, 1000), s.any_landed = 0;
    if (rc < 0)
        ebt_warn("mesh: stream of op %u to node %d: %s", op, node, strerror(-rc));
    stream_free(&s);
    return rc;
}
