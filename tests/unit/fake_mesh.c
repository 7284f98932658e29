/* fake_mesh.c - mesh.h for unit tests: several in-process daemons; a call runs the target's
 * handler directly; a node marked dead fails with -EHOSTDOWN. */
#define _GNU_SOURCE
#include "fake_mesh.h"
#include "mesh.h"
#include "mesh_priv.h"
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ebtd *fake_node[FAKE_MAX_NODES];
int fake_dead[FAKE_MAX_NODES];
unsigned long fake_calls[EBTD_P_MAX];

int ebtd_mesh_start(struct ebtd *d)
{
    return 0;
}

void ebtd_mesh_stop(struct ebtd *d) {}

int ebtd_mesh_nodes(const struct ebtd *d)
{
    return d->cfg->nodes;
}

int ebtd_mesh_self(const struct ebtd *d)
{
    return d->cfg->node_id;
}

int ebtd_mesh_alive(const struct ebtd *d, int node)
{
    return !fake_dead[node];
}

static int call(struct ebtd *d, int node, uint16_t op, const void *req, size_t len,
                struct ebtd_reply *r)
{
    if (node < 0 || node >= d->cfg->nodes || op >= EBTD_P_MAX)
        return -EINVAL;
    if (fake_dead[node])
        return -EHOSTDOWN;
    if (op < EBTD_P_MAX)
        fake_calls[op]++;
    return mesh_table_dispatch(fake_node[node], d->cfg->node_id, op, req, len, r);
}

int ebtd_mesh_call(struct ebtd *d, int node, uint16_t op, const void *req, size_t len, void *reply,
                   size_t cap, size_t *reply_len)
{
    struct ebtd_reply r = {NULL, 0};
    int rc = call(d, node, op, req, len, &r);
    if (reply_len)
        *reply_len = r.len;
    if (r.len && reply)
        memcpy(reply, r.data, r.len < cap ? r.len : cap);
    free(r.data);
    return rc;
}

int ebtd_mesh_broadcast(struct ebtd *d, uint16_t op, const void *req, size_t len, size_t reply_cap,
                        struct ebtd_mesh_result *res)
{
    int first = 0;
    for (int i = 0; i < d->cfg->nodes; i++) {
        struct ebtd_reply r = {NULL, 0};
        res[i].status = call(d, i, op, req, len, &r);
        if (res[i].status == 0 && r.len > reply_cap)
            res[i].status = -EMSGSIZE;
        res[i].data = r.data;
        res[i].len = r.len;
        if (res[i].status < 0 && first == 0)
            first = res[i].status;
    }
    return first;
}

void ebtd_mesh_results_free(struct ebtd_mesh_result *res, int n)
{
    for (int i = 0; res && i < n; i++) {
        free(res[i].data);
        res[i].data = NULL;
    }
}

int ebtd_mesh_json(const struct ebtd *d, char *out, size_t cap)
{
    return 0;
}

/* The stream as sequential calls: same requests, same replies, one at a time. */
int ebtd_mesh_call_stream(struct ebtd *d, int node, uint16_t op, int window, size_t req_cap,
                          size_t reply_cap, ebtd_stream_next_fn *next, ebtd_stream_done_fn *done,
                          void *arg)
{
    char *req = malloc(req_cap ? req_cap : 1);
    int rc = req ? 0 : -ENOMEM;
    (void)window;
    for (uint64_t seq = 0; rc == 0; seq++) {
        size_t len = 0;
        if (!next(seq, req, &len, arg))
            break;
        struct ebtd_reply r = {NULL, 0};
        rc = call(d, node, op, req, len, &r);
        if (rc == 0 && r.len > reply_cap)
            rc = -EMSGSIZE;
        rc = rc < 0 ? rc : done(seq, 0, r.data, r.len, arg);
        free(r.data);
    }
    free(req);
    return rc;
}
