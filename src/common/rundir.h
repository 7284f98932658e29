/* rundir.h - the layout of a run directory in node-local storage (see docs/design.md). */
#ifndef EBT_RUNDIR_H
#define EBT_RUNDIR_H

#include <stddef.h>
#include <stdint.h>

/* The prefix of EBT's own extended attributes on node-local files (below): the FUSE view hides
 * them and refuses to set them, the flush and the staging tools never copy them. */
#define EBT_XATTR_RESERVED "user.ebt."

/* RUN/up/<logical>            upper layer: everything the job created or changed, mirrored
 * RUN/task/<tid>/<logical>    per-task layers (visibility=task), merged into up at task end
 * RUN/stage/<pid>.<seq>       close-mode private copies, published at close/fsync
 * RUN/meta/<ino>              extent log of the upper/task file with that inode (extlog.h)
 * RUN/remote/<logical>        multi-node: copies of files other nodes hold (the daemon's cache)
 * RUN/held/<logical>          multi-node: this node's data of a file several nodes wrote
 * RUN/share.lock              multi-node: a file enters RUN/up, or moves from RUN/up to RUN/held,
 *                             only under this lock (one copy per file and node, never two)
 * RUN/icache/<key>            read-only copies of input files (daemon incache.c); key: the PFS
 *                             file's device, inode, size, mtime and ctime (ebt_icache_name)
 * RUN/ebtd.sock, ebtd.pid, ebt.log, flush.journal
 * RUN/retry                   left by an 'ebt run' whose flush failed: the 'ebt flush' that
 *                             completes it removes the run directory, as ebt run would have
 * A whiteout hides a lower (PFS) name: RUN/up/<dir>/.ebt~wh~<name>, an empty regular file.
 * An opaque directory (recreated after removal) holds RUN/up/<dir>/.ebt~opaque.
 * Names starting with ".ebt~" are reserved inside managed trees. */
#define EBT_RUNDIR_RETRY "retry"
#define EBT_RESERVED_PREFIX ".ebt~"
#define EBT_WHITEOUT_PREFIX ".ebt~wh~"
#define EBT_OPAQUE_NAME ".ebt~opaque"
/* On a close-mode stage (RUN/stage/<pid>.<seq>): the logical path it will be published as. A
 * stage whose process died without publishing (SIGKILL, a raw exit) is published by the flush
 * (daemon orphans.c); the attribute is removed when the job unlinks the name. */
#define EBT_STAGE_XATTR "user.ebt.stage"
/* On the empty layer file a close-mode create leaves to hold a new name until its first
 * publication (client file.c open_staged_new): the flush publishes a dead writer's stage over it
 * whatever the times say (both may carry the same coarse timestamp). */
#define EBT_PLACEHOLDER_XATTR "user.ebt.placeholder"
/* Set on a stage at its first publication: if its name is gone at the flush, the job removed or
 * renamed it afterwards (perhaps from another process, which cannot reach this stage's marker):
 * the flush must not bring it back. */
#define EBT_STAGE_PUBLISHED_XATTR "user.ebt.published"

/* On an input copy (RUN/icache/<key>): the PFS's struct stat of the file it copies, which fstat
 * of a descriptor of the copy shows (client incache.c). */
#define EBT_ICACHE_DIR "icache"
#define EBT_ICACHE_XATTR "user.ebt.input"
struct stat;
/* RUN/icache/<key> of the PFS file whose attributes are st. 0 or -ENAMETOOLONG. */
int ebt_icache_path(const char *run, const struct stat *st, char *out, size_t cap);

/* RUN/state: one page every process of the job on this node maps shared. */
#define EBT_STATE_SIZE 4096
struct ebt_shared_state {
    uint64_t magic;
    uint64_t whiteouts; /* whiteouts and opaque markers ever made: 0 = skip ancestor checks */
    uint64_t cache_bytes;
    uint64_t mdc_gen; /* metadata cache of inputs: answers asked under another value are void */
    uint64_t mdc_off; /* bit i: input i was changed on the PFS by the job: not cached any more */
};

/* All return 0 or -ENAMETOOLONG. */
int ebt_rundir_file(const char *run, const char *name, char *out, size_t cap);
int ebt_layer_root(const char *run, const char *task_id, char *out, size_t cap); /* task NULL: up */
int ebt_layer_path(const char *layer_root, const char *logical, char *out, size_t cap);
int ebt_whiteout_path(const char *layer_root, const char *logical, char *out, size_t cap);
int ebt_meta_path(const char *run, unsigned long long ino, char *out, size_t cap);

/* Multi-node: take the node's share lock (RUN/share.lock, flock exclusive). Returns its fd (close
 * it to release) or -errno. Held only for local renames and opens, never across a daemon call. */
int ebt_share_lock(const char *run);

/* Is this directory entry name reserved for EBT (hidden from readdir)? */
int ebt_name_reserved(const char *name);
/* Is the last component of a path such a name? (The job may not make one: its files would be
 * taken for markers by the flush.) */
int ebt_leaf_reserved(const char *path);

#endif
