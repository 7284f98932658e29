/* flush_mn.h - the coordinated flush of a multi-node job (docs/multinode.md "Flush across nodes").
 */
#ifndef EBTD_FLUSH_MN_H
#define EBTD_FLUSH_MN_H

#include "flush.h"
#include "mesh.h"

#include <stddef.h>
#include <stdint.h>

struct ebtd;

/* Peer operations of the flush; every node serves them (flush_mn.c), the coordinator calls them
 * on all nodes at once (flush_coord.c). */
enum ebtd_flush_peer_op {
    P_FLUSH_PREP = EBTD_P_FLUSH_FIRST, /* begin the node's flush, note everything -> empty */
    P_FLUSH_LIST,                      /* -> this shard's dirs, gone names, shared files */
    P_FLUSH_REMOVE,                    /* the node's whiteouts and opaque directories */
    P_FLUSH_DIRS,                      /* the node's directories */
    P_FLUSH_DATA,                      /* start writing files and held ranges (a thread) */
    P_FLUSH_STATUS,                    /* -> struct fmn_status */
    P_FLUSH_END,                       /* i32 status so far -> struct ebt_flush_stats */
    P_FLUSH_FILES,                     /* -> the node's regular files: size, mode, mtime */
    P_FLUSH_DEAL,                      /* the node's stripe chunks of dealt files */
    P_FLUSH_SCAN,                      /* after every node's PREP: stamp, then rescan the layers */
};
_Static_assert((int)P_FLUSH_SCAN <= (int)EBTD_P_FLUSH_LAST, "flush peer ops fit their range");

struct fmn_status {
    int32_t running, status;
    char err[512];
};

/* Register the flush's peer handlers (before ebtd_mesh_start). */
void ebtd_flush_mn_register(void);

/* This node took part in a complete job-wide flush and nothing in its layers (RUN/up, task,
 * held: files, directories, whiteouts) changed since that flush began. */
int ebtd_flush_mn_clean(const struct ebtd *d);
/* Run the job-wide flush with this node as coordinator. only_if_needed: skip it (complete, no
 * work) when ebtd_flush_mn_clean (this node's data is all on the PFS; ebt stop). Stats are summed
 * over the nodes; on failure err names the node, the file and the reason. 0 or -errno. */
int ebtd_flush_mn_run(struct ebtd *d, int only_if_needed, struct ebt_flush_stats *st, char *err,
                      size_t errcap);

#endif
