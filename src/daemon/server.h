/* server.h - ebtd: the per-node daemon that owns a run directory (socket, ops, counters). */
#ifndef EBTD_SERVER_H
#define EBTD_SERVER_H

#include "config.h"
#include "conn.h"
#include "loop.h"

struct ebtd_mesh;
struct ebtd_md;
struct ebtd_fs;

#include <limits.h>
#include <stdint.h>

#define EBTD_VERSION "0.1.0"

struct ebtd_counters {
    uint64_t clients, hellos, requests, rejected, bad_messages;
    uint64_t accept_pauses;   /* accept failed for lack of fds: listening paused (server.c) */
    uint64_t dropped_clients; /* clients dropped for not reading their replies (conn.h) */
    uint64_t flush_ops, flush_failures, flush_files, flush_bytes, flush_meta_ops, flush_data_ops;
    double flush_seconds;
    /* input copies (incache.c): opens served, files copied from the PFS (bytes), from a home */
    uint64_t input_opens, input_pfs_files, input_pfs_bytes, input_peer_files;
    /* input metadata (mdserve.c): questions of clients, answers asked of the PFS, of a home */
    uint64_t input_md_asks, input_md_pfs, input_md_peer;
};

struct ebtd {
    char run_dir[PATH_MAX];
    struct ebt_config *cfg;
    struct ebt_loop loop;
    int lfd, sigfd;
    char *reply; /* EBT_PROTO_MAX_PAYLOAD bytes, shared by all connections */
    struct ebtd_counters c;
    double accept_logged; /* when the last "cannot accept" line was logged (rate limit) */
    double started;
    struct ebtd_mesh *mesh; /* the job's other daemons (mesh.h); NULL on a one-node job */
    struct ebtd_md *md;     /* multi-node metadata and data service (md.h); NULL on one node */
    struct ebtd_fs *fs;     /* the FUSE view over the prefixes (fs.h); NULL if not mounted */
};

/* Bind RUN/ebtd.sock (0600), write RUN/ebtd.pid, set up signals; 0 or -errno (logged). */
int ebtd_init(struct ebtd *d, const char *run_dir, struct ebt_config *cfg);
/* On a multi-node job (cfg->nodes > 1): the namespace service (md.h), then join the mesh
 * (mesh.h). 0 or -errno (logged). No-op on one node. */
int ebtd_start_multinode(struct ebtd *d);
/* Serve until SIGTERM/SIGINT or SHUTDOWN; then remove the socket and pid file. */
int ebtd_serve(struct ebtd *d);
void ebtd_fini(struct ebtd *d);

/* Request dispatch (ops.c): an ebt_conn_handler with ctx = struct ebtd. */
int ebtd_handle(void *ctx, const struct ebt_proto_hdr *h, const char *payload, char *reply,
                uint32_t cap, uint32_t *replylen);

#endif
