/* md.h - multi-node namespace service: the shard this node owns, client ops, holders, fetch. */
#ifndef EBTD_MD_H
#define EBTD_MD_H

#include "extlog.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ebtd;

/* Set up d->md when d->cfg->nodes > 1: create RUN/remote and RUN/held, register the peer
 * handlers (before ebtd_mesh_start). 0 or -errno. No-op (d->md stays NULL) on one node. */
int ebtd_md_start(struct ebtd *d);
void ebtd_md_stop(struct ebtd *d);

/* Serve a client's EBT_OP_MD_* request (see proto.h and docs/multinode.md). -EOPNOTSUPP when
 * d->md is NULL. Errors reaching other nodes come back as -EIO (the log names the node). */
int ebtd_md_client_op(struct ebtd *d, uint16_t op, const char *payload, uint32_t len, char *reply,
                      uint32_t cap, uint32_t *replylen);

/* ---- for the coordinated flush (flush_mn.c) ---- */
enum ebtd_md_kind { EBTD_MD_FILE = 1, EBTD_MD_DIR = 2, EBTD_MD_GONE = 3 };
struct ebtd_md_rec_view {
    const char *path;
    int kind;
    mode_t mode;
    uint64_t size;
    int64_t mtime_sec, mtime_nsec;
    int nholders;
    const int *holders; /* node ids, in note order (the last noted is last) */
};
typedef int ebtd_md_visit_fn(const struct ebtd_md_rec_view *r, void *arg);
/* Visit every record of this node's shard (any order); stops at the first non-zero return. */
int ebtd_md_visit(struct ebtd *d, ebtd_md_visit_fn *fn, void *arg);
/* Note every file and directory of RUN/up (and RUN/held) this node has not noted yet (e.g.
 * task-mode files after the task merge). 0 or -errno. */
int ebtd_md_note_all(struct ebtd *d);
/* For a file several nodes hold: the byte ranges node `node` wins under the overlap rule
 * (docs/multinode.md) and the file's final size. Asks the owner and the holders. 0 or -errno. */
int ebtd_md_winning_ranges(struct ebtd *d, const char *path, int node, struct ebt_ivs *out,
                           uint64_t *size);

/* The bytes of a new PFS file in want (merged over its holders by the overlap rule) into fd at
 * their offsets, pulled from the holders (this node's own copy read locally); bytes no holder
 * wrote are left alone (holes: zeros). For the OST-dealt flush (flush_dealw.c). 0 or -errno. */
int ebtd_md_pull_ranges(struct ebtd *d, const char *path, const struct ebt_ivs *want, int fd);

#endif
