/* mesh.c - the job's daemons as one mesh: handler table, requests, calls, broadcast, dead nodes,
 * state as JSON. Start-up (rendezvous, connections, loop hook) is in mesh_join.c. */
#define _GNU_SOURCE
#include "log.h"
#include "mesh_priv.h"
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mesh_env_ms(const char *name, int dflt)
{
    const char *v = getenv(name);
    char *end;
    long ms = v && *v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || ms <= 0 || ms > 3600000) {
        if (v && *v)
            ebt_warn("mesh: %s='%s' is not 1..3600000 ms: using %d", name, v, dflt);
        return dflt;
    }
    return (int)ms;
}

/* EBTD_P_PING: empty -> "node <id>". */
static int mesh_ping(struct ebtd *d, int from_node, const void *req, size_t len,
                     struct ebtd_reply *r)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "node %d", ebtd_mesh_self(d));
    if (!ebtd_reply_alloc(r, (size_t)n))
        return -ENOMEM;
    memcpy(r->data, text, (size_t)n);
    return 0;
}

/* Run the handler for op (also used for calls to self). */
static int mesh_dispatch(struct ebtd *d, int from, uint16_t op, const void *req, size_t len,
                         struct ebtd_reply *r)
{
    if (op == EBTD_P_PING)
        return mesh_ping(d, from, req, len, r);
    return mesh_table_dispatch(d, from, op, req, len, r);
}

static void reply_sent(int status, void *arg)
{
    free(arg);
}

static int peer_node_id(ebt_tp_peer_t *peer)
{
    struct mesh_node *n = ebt_tp_peer_data(peer);
    return n ? n->id : -1;
}

/* A node said it is stopping: it is gone for calls, but did not fail. */
static int mesh_serve_bye(struct ebtd_mesh *m, int node)
{
    struct mesh_node *n = &m->node[node];
    if (!n->dead)
        ebt_warn("mesh: node %d stopped: calls to it fail from now on", node);
    n->dead = 1;
    n->err = -ESHUTDOWN;
    return 0;
}

struct bye_wait {
    int pending, all_done;
};

static void bye_done(int status, size_t reply_len, void *arg)
{
    struct bye_wait *w = arg;
    if (--w->pending == 0)
        w->all_done = 1;
}

/* Tell every live node that this one stops (so they do not log it as a failure); bounded. */
void mesh_say_bye(struct ebtd_mesh *m)
{
    struct bye_wait w = {0, 0};
    for (int i = 0; m->up && i < m->nodes; i++) {
        struct mesh_node *n = &m->node[i];
        if (i == m->self || n->dead || !n->out || n->hello_failed)
            continue;
        if (ebt_tp_call_start(n->out, EBTD_P_BYE, NULL, 0, NULL, 0, MESH_BYE_MS, bye_done, &w) == 0)
            w.pending++;
    }
    while (w.pending > 0) /* each has a deadline: bye_done always runs */
        ebt_tp_wait(m->ctx, &w.all_done, MESH_BYE_MS);
}

void mesh_on_request(ebt_tp_msg_t *msg, void *arg)
{
    struct ebtd_mesh *m = arg;
    size_t len;
    const void *req = ebt_tp_msg_data(msg, &len);
    uint16_t op = ebt_tp_msg_op(msg);
    ebt_tp_peer_t *peer = ebt_tp_msg_peer(msg);
    struct ebtd_reply r = {NULL, 0};
    int status;
    if (op == EBTD_P_HELLO)
        status = mesh_serve_hello(m, peer, req, len);
    else if (op == EBTD_P_BYE && peer_node_id(peer) >= 0)
        status = mesh_serve_bye(m, peer_node_id(peer));
    else if (peer_node_id(peer) < 0) {
        status = -EPERM; /* a link that never said which node it is */
        ebt_warn("mesh: request op %u on a link without HELLO refused", op);
    } else
        status = mesh_dispatch(m->d, peer_node_id(peer), op, req, len, &r);
    if (ebt_tp_msg_reply(msg, status, r.data, r.len, reply_sent, r.data) < 0)
        free(r.data);
}

static void mark_dead(struct ebtd_mesh *m, struct mesh_node *n, int status)
{
    if (n->dead)
        return;
    n->dead = 1;
    n->err = status;
    ebt_error("mesh: node %d failed (%s): calls to it fail from now on", n->id, strerror(-status));
}

/* A failed probe needs nothing here: the out link's own error callback marks the node dead. */
static void probe_done(int status, size_t reply_len, void *arg)
{
    struct mesh_node *n = arg;
    n->probing = 0;
}

/* The node's incoming link broke: ask over our own link whether it is still there. */
static void probe_node(struct ebtd_mesh *m, struct mesh_node *n)
{
    if (n->probing || n->dead || !n->out)
        return;
    if (ebt_tp_call_start(n->out, EBTD_P_PING, NULL, 0, NULL, 0, m->timeout_ms, probe_done, n) == 0)
        n->probing = 1;
}

void mesh_on_peer_error(ebt_tp_peer_t *peer, int status, void *arg)
{
    struct ebtd_mesh *m = arg;
    struct mesh_node *n = ebt_tp_peer_data(peer);
    if (!n || m->stopping)
        return;
    if (peer == n->in) {
        n->in = NULL; /* the context frees accepted peers after this callback */
        ebt_info("mesh: link from node %d closed (%s)", n->id, strerror(-status));
        if (m->up)
            probe_node(m, n);
        return;
    }
    if (peer != n->out)
        return;
    if (!m->up) {
        n->hello_failed = 1; /* the join loop retries */
        n->err = status;
    } else if (status == -ETIMEDOUT) {
        ebt_warn("mesh: link to node %d closed after a timeout: reconnecting", n->id);
        n->hello_failed = 1; /* mesh_call reconnects */
    } else {
        mark_dead(m, n, status);
    }
}

int ebtd_mesh_nodes(const struct ebtd *d)
{
    return d->mesh ? d->mesh->nodes : 1;
}

int ebtd_mesh_self(const struct ebtd *d)
{
    return d->mesh ? d->mesh->self : 0;
}

int ebtd_mesh_alive(const struct ebtd *d, int node)
{
    if (node < 0 || node >= ebtd_mesh_nodes(d))
        return 0;
    return d->mesh ? !d->mesh->node[node].dead : 1;
}

static int call_self(struct ebtd *d, uint16_t op, const void *req, size_t len, void *reply,
                     size_t cap, size_t *reply_len)
{
    struct ebtd_reply r = {NULL, 0};
    int rc = mesh_dispatch(d, ebtd_mesh_self(d), op, req, len, &r);
    if (reply_len)
        *reply_len = r.len;
    if (r.len > cap)
        rc = rc < 0 ? rc : -EMSGSIZE; /* nothing copied */
    else if (r.len)
        memcpy(reply, r.data, r.len);
    free(r.data);
    return rc;
}

/* The outgoing link to node, once the node knows us (HELLO answered); reconnected if a timeout
 * closed it. NULL: *rc says why. A node that refuses a reconnect after the join is dead. */
ebt_tp_peer_t *mesh_node_link(struct ebtd_mesh *m, struct mesh_node *n, int *rc)
{
    *rc = mesh_link_ready(m, n);
    if (*rc == 0)
        return n->out;
    if (m->up && !n->dead && *rc != -EAGAIN && *rc != -ETIMEDOUT)
        mark_dead(m, n, *rc);
    return NULL;
}

static void log_call_error(int node, uint16_t op, int rc)
{
    if (rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -EMSGSIZE || rc == -ECANCELED)
        ebt_warn("mesh: call op %u to node %d: %s", op, node, strerror(-rc));
}

int ebtd_mesh_call(struct ebtd *d, int node, uint16_t op, const void *req, size_t len, void *reply,
                   size_t cap, size_t *reply_len)
{
    struct ebtd_mesh *m = d->mesh;
    size_t got = 0;
    int rc = 0;
    if (reply_len)
        *reply_len = 0;
    if (node < 0 || node >= ebtd_mesh_nodes(d))
        return -EINVAL;
    if (node == ebtd_mesh_self(d))
        return call_self(d, op, req, len, reply, cap, reply_len);
    ebt_tp_peer_t *p = mesh_node_link(m, &m->node[node], &rc);
    if (!p)
        return rc < 0 ? rc : -EHOSTDOWN;
    rc = ebt_tp_call(p, op, req, len, reply, cap, &got, m->timeout_ms);
    if (reply_len)
        *reply_len = got;
    log_call_error(node, op, rc);
    return rc;
}

struct bcast {
    int pending;
    int all_done;
};
struct bcast_call {
    struct bcast *b;
    struct ebtd_mesh_result *res;
};

static void bcast_done(int status, size_t reply_len, void *arg)
{
    struct bcast_call *c = arg;
    c->res->status = status;
    c->res->len = reply_len;
    if (--c->b->pending == 0)
        c->b->all_done = 1;
}

/* Start the call to one remote node; on failure its result says why. */
static void bcast_start(struct ebtd_mesh *m, int node, uint16_t op, const void *req, size_t len,
                        size_t cap, struct bcast_call *c)
{
    int rc = 0;
    ebt_tp_peer_t *p = mesh_node_link(m, &m->node[node], &rc);
    c->res->data = malloc(cap ? cap : 1);
    if (!p || !c->res->data) {
        c->res->status = !p ? (rc < 0 ? rc : -EHOSTDOWN) : -ENOMEM;
        return;
    }
    c->b->pending++;
    rc = ebt_tp_call_start(p, op, req, len, c->res->data, cap, m->timeout_ms, bcast_done, c);
    if (rc < 0) {
        c->b->pending--;
        c->res->status = rc;
    }
}

static void bcast_self(struct ebtd *d, uint16_t op, const void *req, size_t len, size_t cap,
                       struct ebtd_mesh_result *res)
{
    struct ebtd_reply r = {NULL, 0};
    res->status = mesh_dispatch(d, ebtd_mesh_self(d), op, req, len, &r);
    res->len = r.len;
    if (r.len > cap && res->status == 0)
        res->status = -EMSGSIZE;
    res->data = r.data;
}

int ebtd_mesh_broadcast(struct ebtd *d, uint16_t op, const void *req, size_t len, size_t reply_cap,
                        struct ebtd_mesh_result *res)
{
    int n = ebtd_mesh_nodes(d), self = ebtd_mesh_self(d), first = 0;
    struct bcast b = {0, 0};
    struct bcast_call *calls = calloc((size_t)n, sizeof(*calls));
    if (!calls)
        return -ENOMEM;
    memset(res, 0, (size_t)n * sizeof(*res));
    for (int i = 0; i < n; i++) {
        calls[i] = (struct bcast_call){&b, &res[i]};
        if (i != self)
            bcast_start(d->mesh, i, op, req, len, reply_cap, &calls[i]);
    }
    bcast_self(d, op, req, len, reply_cap, &res[self]);
    while (b.pending > 0) /* every started call has a deadline: its done always runs */
        ebt_tp_wait(d->mesh->ctx, &b.all_done, 1000);
    free(calls);
    for (int i = 0; i < n; i++) {
        if (res[i].status == -EMSGSIZE || (res[i].status < 0 && i != self && !res[i].len)) {
            free(res[i].data); /* nothing usable; len says what a -EMSGSIZE reply needed */
            res[i].data = NULL;
        }
        if (i != self)
            log_call_error(i, op, res[i].status);
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

static int json_add(char *out, size_t cap, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int json_add(char *out, size_t cap, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *used)
        return -EMSGSIZE;
    *used += (size_t)k;
    return 0;
}

static const char *node_state(const struct ebtd_mesh *m, int i)
{
    return i == m->self ? "self" : m->node[i].dead ? "dead" : "alive";
}

/* {"job":..,"node":I,"nodes":N,"address":..,"dead":K,"peers":[{"node":J,"state":..,"error":..}]}
 * Returns the length written or -EMSGSIZE. */
int ebtd_mesh_json(const struct ebtd *d, char *out, size_t cap)
{
    const struct ebtd_mesh *m = d->mesh;
    size_t used = 0;
    int dead = 0;
    for (int i = 0; m && i < m->nodes; i++)
        dead += m->node[i].dead;
    if (cap == 0)
        return -EMSGSIZE;
    int rc =
        json_add(out, cap, &used,
                 "{\"job\":\"%s\",\"node\":%d,\"nodes\":%d,\"address\":\"%s\",\"dead\":%d,"
                 "\"peers\":[",
                 d->cfg->job_id, ebtd_mesh_self(d), ebtd_mesh_nodes(d), m ? m->addr : "", dead);
    for (int i = 0; m && rc == 0 && i < m->nodes; i++)
        rc = json_add(out, cap, &used, "%s{\"node\":%d,\"state\":\"%s\",\"error\":\"%s\"}",
                      i ? "," : "", i, node_state(m, i),
                      !m->node[i].dead               ? ""
                      : m->node[i].err == -ESHUTDOWN ? "stopped"
                                                     : strerror(-m->node[i].err));
    if (rc == 0)
        rc = json_add(out, cap, &used, "]}");
    return rc < 0 ? rc : (int)used;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Append ,"ping":{...} before the JSON's closing brace (at out[*used - 1]). */
static int peers_ping(struct ebtd *d, char *out, size_t cap, size_t *used)
{
    int n = ebtd_mesh_nodes(d);
    struct ebtd_mesh_result *res = calloc((size_t)n, sizeof(*res));
    if (!res)
        return -ENOMEM;
    double t0 = mono_ms();
    ebtd_mesh_broadcast(d, EBTD_P_PING, NULL, 0, 64, res);
    double ms = mono_ms() - t0;
    (*used)--; /* drop the closing brace */
    int rc = json_add(out, cap, used, ",\"ping\":{\"ms\":%.3f,\"status\":[", ms);
    for (int i = 0; i < n && rc == 0; i++)
        rc = json_add(out, cap, used, "%s%d", i ? "," : "", res[i].status);
    if (rc == 0)
        rc = json_add(out, cap, used, "]}}");
    ebtd_mesh_results_free(res, n);
    free(res);
    return rc;
}

int ebtd_mesh_peers_op(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                       uint32_t *replylen)
{
    int ping = len == 4 && !memcmp(payload, "ping", 4);
    *replylen = 0;
    if (len && !ping)
        return -EINVAL;
    int n = ebtd_mesh_json(d, reply, cap);
    if (n < 0)
        return n;
    size_t used = (size_t)n;
    int rc = ping ? peers_ping(d, reply, cap, &used) : 0;
    *replylen = rc == 0 ? (uint32_t)used : 0;
    return rc;
}
