/* mesh_priv.h - the mesh's internal state, shared by mesh.c (calls) and mesh_join.c (start). */
#ifndef EBTD_MESH_PRIV_H
#define EBTD_MESH_PRIV_H

#include "mesh.h"
#include "transport.h"

#include <limits.h>
#include <stdint.h>

/* Mesh-internal peer ops (mesh.c owns 1..9). */
#define EBTD_P_HELLO 2  /* struct mesh_hello -> empty: "I am node N"; names the accepted link */
#define EBTD_P_BYE 3    /* empty -> empty: the caller is stopping (not a failure) */
#define MESH_BYE_MS 500 /* how long a stopping daemon waits for its BYEs */

#define MESH_HELLO_MAGIC 0x45425448u /* "EBTH" */
struct mesh_hello {
    uint32_t magic, node, nodes, pad;
    char job[64];
};

struct mesh_node {
    int id;
    ebt_tp_peer_t *out; /* the connection this daemon opened to the node: our calls go here */
    ebt_tp_peer_t *in;  /* the connection the node opened to us: its requests arrive here */
    int joined;         /* out connected and our HELLO answered */
    int hello_busy;     /* HELLO in flight */
    int hello_settled;  /* set when the HELLO in flight finished (a flag to wait on) */
    int hello_failed;   /* HELLO failed: close out, retry when the published address changes */
    int dead;           /* failed after the join: calls fail at once with -EHOSTDOWN */
    int err;            /* why it failed (or why the join could not reach it) */
    int probing;        /* a PING after a failure of its incoming link is in flight */
    char addr[EBT_TP_ADDR_MAX];
    char bad_addr[EBT_TP_ADDR_MAX]; /* the published address that could not be reached */
};

struct ebtd_mesh {
    struct ebtd *d;
    ebt_tp_ctx_t *ctx;
    int self, nodes;
    int up; /* joined: failures now mark nodes dead */
    int stopping;
    int joining;    /* mesh_join running after the start (reconnect): do not nest */
    int timeout_ms; /* per call (EBT_PEER_TIMEOUT_MS) */
    char addr[EBT_TP_ADDR_MAX];
    char rdv_file[PATH_MAX]; /* <rendezvous>/node.<self> */
    struct mesh_hello hello; /* our HELLO request (sent without a copy) */
    struct mesh_node *node;  /* [nodes] */
};

/* mesh_table.c: run the handler registered for op; -EOPNOTSUPP if none */
int mesh_table_dispatch(struct ebtd *d, int from, uint16_t op, const void *req, size_t len,
                        struct ebtd_reply *r);

/* mesh.c */
void mesh_say_bye(struct ebtd_mesh *m);
void mesh_on_request(ebt_tp_msg_t *msg, void *arg);
void mesh_on_peer_error(ebt_tp_peer_t *peer, int status, void *arg);
int mesh_env_ms(const char *name, int dflt);
/* The outgoing link to node, once the node knows us; NULL: *rc says why (mesh.c). */
ebt_tp_peer_t *mesh_node_link(struct ebtd_mesh *m, struct mesh_node *n, int *rc);

/* mesh_join.c */
int mesh_join(struct ebtd_mesh *m, int join_ms);
int mesh_link_ready(struct ebtd_mesh *m, struct mesh_node *n);
int mesh_serve_hello(struct ebtd_mesh *m, ebt_tp_peer_t *peer, const void *req, size_t len);
void mesh_unpublish(struct ebtd_mesh *m);
int mesh_loop_before(void *arg);

#endif
