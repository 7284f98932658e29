/* client.h - internal API of libebt.so: global state, fd table, layered view, file logic. */
#ifndef EBT_CLIENT_H
#define EBT_CLIENT_H

#include "config.h"
#include "extlog.h"
#include "proto.h"
#include "rundir.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

/* ---- global state (init.c) ---- */

struct ebt_client {
    int enabled; /* 0: pass everything through */
    struct ebt_config cfg;
    char up_root[PATH_MAX];     /* RUN/up */
    char task_root[PATH_MAX];   /* RUN/task/<tid> */
    char stage_dir[PATH_MAX];   /* RUN/stage */
    char remote_root[PATH_MAX]; /* RUN/remote: other nodes' files (multi-node) */
    char held_root[PATH_MAX];   /* RUN/held: this node's part of shared files (multi-node) */
    char cwd[PATH_MAX];         /* logical cwd */
    int cwd_managed;
    struct ebt_shared_state *shared;
    pthread_mutex_t lock; /* fd table, stage list, dir streams */
    pid_t pid;            /* this process (set at start and in a fork child; a vfork or clone
                             child that shares our memory has another getpid()) */
};
extern struct ebt_client ebt;
extern __thread int ebt_in_client; /* re-entrancy guard: EBT's own calls pass through */

void ebt_client_init(void);
void ebt_warn_once(const char *what, const char *path); /* log once per distinct what */
/* One line on stderr for the whole job (the first process to get here says it). */
void ebt_tell_user_once(const char *marker, const char *msg);

/* ---- paths (view.c) ---- */
/* Resolve (dirfd, path) to a canonical logical path. Returns 1 if managed, 0 if not, -errno. */
int ebt_resolve(int dirfd, const char *path, char *out);
int ebt_is_managed_path(char *canonical); /* may rewrite an alias */
int ebt_vis_for(const char *logical);
const char *ebt_layer_for_write(const char *logical); /* up_root, or task_root for task mode */

/* ---- layered view (view.c) ---- */
enum ebt_where { EBT_W_NONE = 0, EBT_W_STAGE, EBT_W_TASK, EBT_W_UP, EBT_W_PFS, EBT_W_REMOTE };
struct ebt_found {
    int where;
    char phys[PATH_MAX];
    struct stat st;
};
/* Find what the logical path names in this process's view. 0 (f filled) or -ENOENT/-errno. */
int ebt_view_lookup(const char *logical, int follow, struct ebt_found *f);
/* Make sure the directory `logical` exists in the given layer (copying up the chain). */
int ebt_view_layer_dir(const char *layer, const char *logical);
/* Is there something below `logical` in the layers under `layer` (other layers, PFS)? */
int ebt_view_exists_below(const char *layer, const char *logical);
int ebt_view_whiteout_add(const char *layer, const char *logical);
void ebt_view_whiteout_remove(const char *layer, const char *logical);
int ebt_view_dir_empty(const char *logical); /* 1 empty, 0 not, -errno (dir.c) */
int ebt_view_list(const char *logical, char ***names, size_t *n);
void ebt_view_list_free(char **names, size_t n);
int ebt_view_parent_dir(const char *logical); /* 0 if the parent is a directory in the view */
/* A whiteout in layer of logical or of a directory above it (-ENOENT), an opaque directory of
 * layer above it (1), or neither (0): ebt_layer_hides from logical's managed prefix on. */
int ebt_view_layer_hides(const char *layer, const char *logical);
/* The physical directories whose union is the logical directory, top first (task, up, remote,
 * PFS: at most 4). */
int ebt_view_dir_sources(const char *logical, char phys[][PATH_MAX], int max);

/* ---- open-file descriptions and the fd table (fdtable.c) ---- */
enum ebt_ofd_kind { EBT_OFD_READ = 1, EBT_OFD_LAYER, EBT_OFD_STAGE, EBT_OFD_DIR };

struct ebt_stage { /* a close-mode private copy, shared by this process's opens of one path */
    struct ebt_stage *next;
    char logical[PATH_MAX];
    char phys[PATH_MAX];
    char layer[PATH_MAX];
    int users;
    int published; /* published at least once */
    int unlinked;  /* the job removed the name: never publish again */
    int based;     /* started as a copy of a PFS file (or another node's merged copy) */
    uint64_t base_size;
    int claimed;     /* created with O_EXCL on several nodes: its owner holds the name */
    int placeholder; /* created with O_EXCL: an empty layer file holds the name */
    unsigned long long placeholder_ino; /* its inode: replaced by the stage at publication */
    unsigned long long held_ino;        /* multi-node: this node's part of the file at fill time */
    uint64_t held_log_off;              /* and the length of its extent log then */
    int seen_set; /* the layer file as this stage last took it in (fsync: refresh_from_target) */
    unsigned long long seen_ino;
    struct timespec seen_ctime;
    int origin_ok; /* origin_fd holds the layer file the name had at the open (or its new file's
                      placeholder): O_PATH, a number >= 512, checked by device and inode */
    int origin_fd;
    dev_t origin_dev;
    ino_t origin_ino;
    int times_set; /* the program set the stage's times (futimens, utimensat): a publication */
    struct timespec times[2]; /* gives them to the file unless a write came after (atime, mtime) */
};

struct ebt_ofd {
    int refs; /* fds of this process that point here */
    pthread_mutex_t lock;
    int kind;
    int flags;
    int track;            /* record extents of writes */
    int untracked_writes; /* written through stdio or a shared mapping: publish all */
    int trunc_set;
    uint64_t trunc_min;
    struct ebt_ivs ext;
    unsigned long long meta_ino; /* layer file with an extent log (kind LAYER, track) */
    struct ebt_stage *stage;     /* kind STAGE */
    int lock_fd;                 /* RUN/locks/<hash> once locked (lock.c), else -1 */
    int forked;                  /* shared with another process by fork: never promoted */
    dev_t alias_dev;             /* promoted: the layer file shown with the stage's inode */
    ino_t alias_real;
    char logical[PATH_MAX];
};

struct ebt_ofd *ebt_fd_get(int fd); /* NULL if not managed */
void ebt_fd_set(int fd, struct ebt_ofd *o);
struct ebt_ofd *ebt_fd_take(int fd); /* remove from the table; caller drops the reference */
void ebt_ofd_ref(struct ebt_ofd *o);
struct ebt_ofd *ebt_ofd_new(int kind, int flags, const char *logical);
int ebt_fd_table_size(void); /* one past the highest managed fd number seen */
void ebt_fd_mark_shared_writers(void);
void ebt_fd_reset_locks_in_child(void);
/* Every fd of this process that shares o now reaches newfd's file (same numbers; the offset is
 * newfd's). 0 or -errno. */
int ebt_fd_repoint(struct ebt_ofd *o, int newfd);
void ebt_fd_prepare_fork(void); /* lock fds for every record (lock.c); with ebt.lock */

/* ---- file locks (lock.c): on one lock file per logical file ---- */
struct flock;
int ebt_flock_managed(int fd, struct ebt_ofd *o, int op);
int ebt_is_lock_cmd(int cmd);
int ebt_fcntl_lock_managed(int fd, struct ebt_ofd *o, int cmd, struct flock *fl);
int ebt_lockf_managed(int fd, struct ebt_ofd *o, int cmd, off_t len);
/* Before fork or exec shares the record with another process: give it its lock fd now. */
void ebt_lock_prepare_share(struct ebt_ofd *o);

/* ---- permission checks against the PFS (perm.c): 0 or -EACCES/-EPERM/-EROFS ---- */
/* chmod, chown and utimes of a name that still is a PFS file follow that file's owner (the
 * cache copy is the job user's, so the kernel would allow what the PFS then refuses the flush):
 * kind EBT_ATTR_*, u/g the new owner for EBT_ATTR_OWNER. */
enum { EBT_ATTR_MODE = 1, EBT_ATTR_OWNER, EBT_ATTR_TIMES_SET, EBT_ATTR_TIMES_NOW };
int ebt_perm_attr(const char *logical, int follow, int kind, uid_t u, gid_t g);
int ebt_perm_pfs(const struct ebt_found *f, int amode); /* 0 unless f is on the PFS */
/* W_OK|X_OK on a PFS parent directory, and the parent is a directory (ebt_view_parent_dir). */
int ebt_perm_parent(const char *logical);

/* ---- file logic (file.c) ---- */
int ebt_open_managed(const char *logical, int flags, mode_t mode);
int ebt_copy_up_file(const char *layer, const char *logical, const struct ebt_found *f);
int ebt_close_managed(int fd); /* fd is managed; closes it */
/* Drop fd from the table, publishing first if it is the last reference, then call closer. */
int ebt_release_fd(int fd, int (*closer)(void *ctx), void *ctx);
void ebt_ofd_release(struct ebt_ofd *o);                 /* drop one reference; NULL is fine */
void ebt_record_write(int fd, int64_t off, int64_t len); /* off < 0: current offset - len */
void ebt_record_trunc(int fd, uint64_t size);
int ebt_sync_managed(int fd); /* publish (close mode) on fsync */
struct ebt_stage *ebt_stage_find(const char *logical);
/* Hold the layer file at phys as the stage's origin (see struct ebt_stage). */
void ebt_stage_hold_origin(struct ebt_stage *s, const char *phys);
/* The origin fd if it still is the file it was opened on, else -1. */
int ebt_stage_origin(const struct ebt_stage *s, struct stat *st);
/* This process retargets the stage itself (its own rename): the origin says nothing any more. */
void ebt_stage_drop_origin(struct ebt_stage *s);
void ebt_stage_forget(struct ebt_stage *s);  /* unlist and free */
void ebt_stage_release(struct ebt_stage *s); /* drop a user; the last unlists and frees */
int ebt_stage_children(const char *dir, char names[][256], int max);
struct ebt_stage *ebt_stage_adopt(const char *logical, const char *phys, const char *layer);
int ebt_meta_append(unsigned long long ino, const struct ebt_ext_rec *r, size_t n);
int ebt_meta_exists(unsigned long long ino);
void ebt_publish_all_at_exit(void);
/* close mode, one node: a file that its programs lock or map shared coordinates them itself (as
 * NFS makes a lock a point of coherence): publish this process's copy and make every fd of the
 * record reach the shared layer file, as in write mode. 0 or -errno (the fd stays as it was). */
int ebt_stage_promote(struct ebt_ofd *o, int fd);
/* A promoted file's shared copy is shown with the inode number it had at open (stat, fstat). */
void ebt_alias_fix(dev_t dev, ino_t *ino);
/* _exit/_Exit: publish what this process still has open, unless it is a vfork child borrowing
 * its parent's memory (the parent publishes). */
void ebt_publish_before_exit(void);
void ebt_stage_rename(const char *from, const char *to);
void ebt_stage_mark_unlinked(const char *logical);
/* The program just set the times of fd's stage, or of logical's stage of this process (fd < 0):
 * remember them for its publication (publish.c). */
void ebt_stage_times_set(int fd, const char *logical);

/* ---- writable stdio streams on managed files (stdio_cookie.c) ---- */
#include <stdio.h>
/* A stream on fd whose writes go through write() (spilling on a full cache). NULL + errno. */
FILE *ebt_cookie_open(int fd, const char *mode);
int ebt_cookie_fd(FILE *f); /* the fd under such a stream, or -1 for any other stream */
/* At start: stdout and stderr on managed files become such streams (not in C++ programs). */
void ebt_cookie_adopt_std(void);

/* ---- capacity (spill.c) ---- */
int ebt_cache_over(uint64_t more);
void ebt_cache_account(int64_t n);
int ebt_cache_out_of_space(int err);
int ebt_spill_fd(int fd); /* move fd's file to the PFS; fd now writes through. 0 or -errno */
int ebt_spill_ofd(struct ebt_ofd *o, int fd);
int ebt_open_write_through(const char *logical, int flags, mode_t mode);

/* ---- namespace operations (ns.c): each returns 0 or -errno ---- */
int ebt_ns_mkdir(const char *logical, mode_t mode);
int ebt_ns_rmdir(const char *logical);
int ebt_ns_unlink(const char *logical);
int ebt_ns_rename(const char *from, const char *to, unsigned flags);
int ebt_ns_truncate(const char *logical, off_t len);
int ebt_ns_attr_target(const char *logical, int follow, char *phys); /* copy up for chmod... */

/* ---- multi-node: daemon channel, job namespace, remote layer (remote.c) ---- */
/* Everything multi-node is gated on this: a one-node job never pays for it. */
/* One request to the node daemon on this process's channel (remote.c): the daemon's status, or
 * -EIO with *failed set to the channel's error (connect or transport; nothing is reported). */
int ebt_daemon_call(uint16_t op, const void *req, uint32_t reqlen, void *reply, uint32_t cap,
                    uint32_t *rlen, int timeout_ms, int *failed);
extern int ebt_md_off; /* the daemon runs one node although EBT_NODES > 1 */
static inline int ebt_multinode(void)
{
    return ebt.cfg.nodes > 1 && !ebt_md_off;
}
/* Each returns 0 or -errno; -EIO if the daemon cannot be reached (said once on stderr). */
int ebt_md_resolve(const char *logical, struct ebt_proto_resolve *r);
int ebt_md_fetch(const char *logical, uint64_t size_hint, struct ebt_proto_fetch *out);
int ebt_md_note(const char *logical, int kind);
int ebt_md_unlink(const char *logical, int is_dir);
int ebt_md_listdir(const char *logical);
int ebt_md_note_if_visible(const char *logical, int kind); /* write/close modes only */
int ebt_md_unlink_if_visible(const char *logical, int is_dir);
/* O_EXCL across nodes: take the name at its owner before creating (1 taken, 0 not needed here:
 * one node or task mode, -EEXIST another node has it); give it back if the create failed. */
int ebt_md_claim_if_visible(const char *logical);
void ebt_md_unclaim(const char *logical);
int ebt_md_rename_tree(const char *layer, const char *from, const char *to);
int ebt_remote_lookup(const char *logical, struct ebt_found *f); /* 1: unknown, PFS decides */
/* Another node's regular file about to be read or copied: its merged content, fetched, and the
 * copy this fetch wrote opened read-only in *fd (-1 if f is not such a file; f->st from the open
 * copy); read or copy through *fd (or ebt_fd_path), never RUN/remote/<path> by name again. */
int ebt_remote_materialize(const char *logical, struct ebt_found *f, uint32_t *flags, int *fd);
int ebt_remote_fetch_open(const char *logical, const struct ebt_found *f, uint32_t *flags);
/* "/proc/self/fd/N": a name that opens the same file as fd (for code that copies by name). */
const char *ebt_fd_path(int fd, char *buf, size_t cap);
int ebt_held_path(const char *logical, char *phys); /* 1 if RUN/held/<logical> exists */
int ebt_up_enter(const char *phys, const char *logical, int *lock); /* 0, -EEXIST: it is held */
void ebt_up_leave(int lock);
void ebt_meta_mark_whole(const char *phys);
void ebt_held_snapshot(const char *logical, unsigned long long *ino, uint64_t *log_off);
/* Copy [0, end) of in to out at the same offsets, except the ranges in keep (sorted). */
int ebt_copy_except(int in, int out, uint64_t end, const struct ebt_ivs *keep);
int ebt_held_refresh_since(int src, int held, unsigned long long ino, uint64_t log_off);
int ebt_held_refresh_path(const char *logical, struct ebt_found *remote, const char *held,
                          int *lock);
void ebt_remote_init(void);

/* ---- directory streams (dir.c) ---- */
#include <dirent.h>
DIR *ebt_dir_open(const char *logical, int fd);
DIR *ebt_dir_open_input(const char *path); /* an input's directory, from the metadata cache */
int ebt_dir_is_ours(DIR *d);
struct dirent *ebt_dir_read(DIR *d);
struct dirent64 *ebt_dir_read64(DIR *d);
void ebt_dir_rewind(DIR *d);
int ebt_dir_close(DIR *d);

/* ---- exec hand-over (proc.c) ---- */
void ebt_exec_prepare(void);
void ebt_exec_adopt(void);

/* Convert a 0/-errno status into the libc convention at the wrapper boundary. */
#include <errno.h>
static inline int ebt_libc_status(int rc)
{
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

#endif
