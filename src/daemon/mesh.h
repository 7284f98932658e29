/* mesh.h - the job's daemons as one mesh: node ids, peer connections, calls between daemons. */
#ifndef EBTD_MESH_H
#define EBTD_MESH_H

#include <stddef.h>
#include <stdint.h>

struct ebtd;

/* Peer operation codes (the transport's `op`). Each module owns a range. */
enum ebtd_peer_op {
    EBTD_P_PING = 1,      /* mesh.c: empty -> "node <id>" */
    EBTD_P_MD_FIRST = 10, /* md_*.c: 10..29 */
    EBTD_P_MD_LAST = 29,
    EBTD_P_FLUSH_FIRST = 30, /* flush_mn.c: 30..39 */
    EBTD_P_FLUSH_LAST = 39,
    EBTD_P_INPUT_FIRST = 40, /* incache.c: 40..44 */
    EBTD_P_INPUT_LAST = 44,
    EBTD_P_MAX = 45,
};

/* A handler's reply: allocate it with ebtd_reply_alloc (freed by the mesh once sent). */
struct ebtd_reply {
    void *data;
    size_t len;
};
void *ebtd_reply_alloc(struct ebtd_reply *r, size_t len); /* NULL on ENOMEM; r->len = len */

/* Serve one peer request: req/len is the payload; fill *r (or leave it empty). Return 0 or
 * -errno (sent back as the call's status). Handlers run in the daemon's thread and may call
 * other daemons themselves (the mesh keeps serving requests while a call waits). */
typedef int ebtd_peer_handler(struct ebtd *d, int from_node, const void *req, size_t len,
                              struct ebtd_reply *r);
void ebtd_mesh_handle(uint16_t op, ebtd_peer_handler *fn); /* register before ebtd_mesh_start */

/* Start the mesh when d->cfg->nodes > 1: transport context listening on this host, address
 * published in the rendezvous directory (<rendezvous>/node.<id>, atomically), wait (at most
 * EBTD_MESH_JOIN_MS) until every node published, connect to all, register the transport's event
 * fd in d->loop. 0 or -errno (logged with the reason, e.g. which nodes never appeared). */
#define EBTD_MESH_JOIN_MS 60000
int ebtd_mesh_start(struct ebtd *d);
void ebtd_mesh_stop(struct ebtd *d);
const char *ebtd_mesh_error(void); /* why the last ebtd_mesh_start failed (one line), or "" */

int ebtd_mesh_nodes(const struct ebtd *d);           /* 1 without a mesh */
int ebtd_mesh_self(const struct ebtd *d);            /* this node's id; 0 without a mesh */
int ebtd_mesh_alive(const struct ebtd *d, int node); /* 1 alive, 0 failed */

/* Call node's handler for op and wait for the reply (the deadline is the transport's default,
 * EBT_TP_TIMEOUT_MS, or EBT_PEER_TIMEOUT_MS from the environment). node == self calls the handler
 * directly. The reply is copied into reply[0..cap); *reply_len gets its full length. Returns the
 * handler's status, or -EHOSTDOWN (node known dead), -ETIMEDOUT, -ECONNRESET, -EMSGSIZE. */
int ebtd_mesh_call(struct ebtd *d, int node, uint16_t op, const void *req, size_t len, void *reply,
                   size_t cap, size_t *reply_len);

/* Call every node (self included) concurrently with the same request; res[i] for node i:
 * status, and a malloc'ed reply (data, len) the caller frees with ebtd_mesh_results_free.
 * Returns 0 if every node answered 0, else the first failing status (res says which). A reply
 * larger than reply_cap: status -EMSGSIZE, data NULL, len the size it needed. A dead node:
 * -EHOSTDOWN at once. */
struct ebtd_mesh_result {
    int status;
    void *data;
    size_t len;
};
int ebtd_mesh_broadcast(struct ebtd *d, uint16_t op, const void *req, size_t len, size_t reply_cap,
                        struct ebtd_mesh_result *res);
void ebtd_mesh_results_free(struct ebtd_mesh_result *res, int n);

/* Pipelined calls to one remote node (mesh_stream.c): next(seq, req, &len, arg) builds request
 * seq in req[0..req_cap) and returns 1, or 0 when there are no more; done(seq, status, reply,
 * len, arg) takes its reply (any order) and returns 0 or -errno to stop. At most `window` calls
 * are in flight, each with its own reply buffer of reply_cap bytes. Returns 0 or the first
 * error (a call's status or done's). Not for node == self. */
typedef int ebtd_stream_next_fn(uint64_t seq, void *req, size_t *len, void *arg);
typedef int ebtd_stream_done_fn(uint64_t seq, int status, const void *reply, size_t len, void *arg);
int ebtd_mesh_call_stream(struct ebtd *d, int node, uint16_t op, int window, size_t req_cap,
                          size_t reply_cap, ebtd_stream_next_fn *next, ebtd_stream_done_fn *done,
                          void *arg);

/* One line of JSON about the mesh (node id, nodes, job, per-peer state), for EBT_OP_PEERS. */
int ebtd_mesh_json(const struct ebtd *d, char *out, size_t cap);
/* EBT_OP_PEERS (ops.c): empty payload -> ebtd_mesh_json; payload "ping" -> the same JSON with
 * "ping":{"ms":T,"status":[s0,s1,..]}, a PING broadcast to every node (s: 0 or -errno). */
int ebtd_mesh_peers_op(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                       uint32_t *replylen);

#endif
