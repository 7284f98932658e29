/* stage.h - the staging engine of ebt stage-in/stage-out: copy a tree on one node with threads,
 * keeping types, links, modes, owners, times and user xattrs, resumable after a kill. */
#ifndef EBT_STAGE_H
#define EBT_STAGE_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Names starting with this are the engine's temporaries in the destination (reserved). */
#define STAGE_TMP_PREFIX ".ebt~st."
#define STAGE_BUF (4u << 20) /* bytes per read/write request of a chunk copy */

enum stage_kind {
    SK_DIR,
    SK_REG,
    SK_SYMLINK,
    SK_FIFO,
    SK_HARDLINK, /* a further name of an inode already in the list (link_to) */
    SK_SPECIAL,  /* socket or device: reported and skipped */
};

/* What became of an entry in this run. */
enum stage_state { ST_TODO = 0, ST_COPIED, ST_SKIPPED, ST_FAILED };

struct stage_ent {
    char *rel;        /* path below the root, "" for the root; owned */
    const char *leaf; /* last component, inside rel ("." for the root) */
    char *target;     /* SK_SYMLINK: the link's text; owned */
    struct stat st;   /* lstat of the source, taken before it was read */
    int kind;         /* enum stage_kind */
    long link_to;     /* SK_HARDLINK: index of the first name of the inode */
    long parent;      /* index of the directory holding it (-1 for the root) */
    int fresh;        /* SK_DIR: made by this run (nothing inside can be in place yet) */
    int state;        /* enum stage_state */
    /* a regular file copied in chunks (see stage_copy.c) */
    int nchunks;
    atomic_int chunks_left;
    atomic_int chunk_err; /* first chunk error (-errno), 0 if none */
    int out_fd;           /* the temporary in the destination, -1 until created */
    int map_fd;           /* its map of chunks done */
};

/* One unit of copy work: a whole entry, or chunk k of a large file. */
struct stage_task {
    long ent;
    int chunk;
};

struct stage_counters {
    atomic_ullong files, dirs, symlinks, hardlinks, fifos, specials;
    atomic_ullong copied, skipped, errors, bytes, verified, mismatches;
    atomic_ullong chunks_resumed; /* chunks a killed run had done: not copied again */
    atomic_ullong files_done, bytes_total, files_total; /* for the progress line */
};

struct stage_job {
    const char *cmd; /* "stage-in" or "stage-out" (messages, layout direction) */
    char src[PATH_MAX], dst[PATH_MAX];
    int src_fd, dst_fd; /* O_PATH directory fds of the two roots */
    int threads, verify, json, progress;
    uint64_t chunk;
    atomic_int can_chown; /* root: owners are kept (until a chown is refused); else only where
                             the kernel allows */
    uid_t euid;
    gid_t egid;
    int pid;
    int dst_made; /* DEST was made by this run */
    struct stage_ent *ents;
    long nents, cap;
    atomic_int *dirfd; /* per entry index: its destination directory's fd (-1 not yet) */
    struct stage_task *tasks;
    long ntasks;
    atomic_long next;          /* the next task / entry a worker takes */
    pthread_mutex_t locks[64]; /* per-file creation of chunked temporaries (ent % 64) */
    struct stage_counters c;
    double t0;
    const char *corrupt; /* tests only (EBT_STAGE_TEST_CORRUPT): a leaf name to damage */
};

/* stage_walk.c: list the source tree (parents before children) and its hard links. 0, or -1
 * after an error that makes the copy impossible (the root unreadable); entries that cannot be
 * read are reported and counted as errors. */
int stage_walk(struct stage_job *j);
void stage_free(struct stage_job *j);

/* stage_dest.c: confined access to both trees: a path below a root, resolved following no
 * symlink and never leaving the root. */
int stage_open_beneath(int root, const char *rel, int flags); /* fd or -errno */
/* The parent directory of e in the destination (an fd to close): >= 0 or -errno. */
int stage_dst_parent(struct stage_job *j, const struct stage_ent *e);
/* Keep each destination directory's fd once resolved (when the fd limit allows), and close. */
void stage_dst_cache(struct stage_job *j);
void stage_dst_uncache(struct stage_job *j);
/* The entry's temporary name in its destination directory. */
void stage_tmp_name(const struct stage_job *j, const struct stage_ent *e, char *out, size_t cap);
/* Unlink the names in destination directory rel that begin with prefix (but not with except). */
void stage_unlink_prefixed(struct stage_job *j, const char *rel, const char *prefix,
                           const char *except);
/* Make every destination directory (parents first), removing temporaries of killed runs. */
void stage_make_dirs(struct stage_job *j);

/* stage_meta.c */
/* Owner, user xattrs, mode of e onto name in dirfd (src_fd: the source, opened for reading; -1
 * for none). mode_set: name was created with e's exact mode, so the mode is set again only where
 * the chown cleared setuid/setgid. Times are set by the caller, last. */
int stage_meta_apply(struct stage_job *j, const struct stage_ent *e, int dirfd, const char *name,
                     int src_fd, int mode_set, const char **step);
int stage_meta_times(const struct stage_ent *e, int dirfd, const char *name);
/* The user.* xattrs of src_fd onto name in dirfd (opened only if there are any). 0 or -errno. */
int stage_xattr_copy(int src_fd, int dirfd, const char *name);
/* Directories' owners, modes, xattrs and times, deepest first (after their contents). */
void stage_dir_meta(struct stage_job *j);

/* stage_copy.c */
int stage_check_skip(struct stage_job *j, struct stage_ent *e); /* 1: already in place */
void stage_copy_task(struct stage_job *j, const struct stage_task *t, char *buf);
void stage_hardlinks(struct stage_job *j);
int stage_open_src(struct stage_job *j, const struct stage_ent *e); /* confined, O_NOATIME */
void stage_entry_done(struct stage_job *j, struct stage_ent *e, int rc, const char *step);
int stage_finish_rename(struct stage_job *j, const struct stage_ent *e, int pfd, const char *tmp);

/* stage_chunk.c: a large or sparse file in chunks on any threads, resumable chunk by chunk: its
 * temporary (STAGE_PART_PREFIX + a hash of the source's identity) and a map of the chunks done
 * (NAME.map, one byte per chunk, set after the chunk's data is synced) survive a kill. */
#define STAGE_PART_PREFIX STAGE_TMP_PREFIX "p."
void stage_copy_chunk(struct stage_job *j, const struct stage_task *t, int pfd, char *buf);
/* Remove partial files no entry of this run resumed (their source changed), in the directories
 * that existed before the run. */
void stage_sweep_partials(struct stage_job *j);

/* stage_verify.c: 64-bit FNV-1a of a file's content: 0 or -errno. */
int stage_hash_fd(int fd, char *buf, size_t cap, uint64_t *out);
/* Checksum every file copied in this run on both sides; list mismatches. */
void stage_verify(struct stage_job *j);
int stage_same_content(struct stage_job *j, const struct stage_ent *e, char *buf); /* 1 same */

/* stage_layout.c: the seam for a layout-aware (OST-aware) stage: the order of the copy tasks
 * and how each destination file is created. */
void stage_layout_plan(struct stage_job *j);
/* Create the temporary name in dirfd for e's data: an fd open for writing, or -errno. */
int stage_layout_create(struct stage_job *j, const struct stage_ent *e, int dirfd,
                        const char *name);
/* Small whole files are copied by the flush's engine (xfer.c), which creates them itself: 1 if
 * the layout lets it (no layout to set before the first write). */
int stage_layout_plain(struct stage_job *j, const struct stage_ent *e);

/* stage_run.c */
int stage_run(struct stage_job *j); /* all phases; the exit status */
/* Run fn(j, i, buf) for i in [0, n) on j->threads threads. */
void stage_parallel(struct stage_job *j, long n, void (*fn)(struct stage_job *, long, char *));
/* Report a failed entry on stderr (names printed with unprintable bytes escaped). */
void stage_err(struct stage_job *j, const char *rel, const char *step, int err);
void stage_warn(struct stage_job *j, const char *rel, const char *what);
double stage_now(void);

#endif
