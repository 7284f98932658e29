/* fs_int.h - internals shared by fs.c (mounts) and fs_ops.c (operations). */
#ifndef EBTD_FS_INT_H
#define EBTD_FS_INT_H

#define FUSE_USE_VERSION 312
#include <fuse3/fuse.h>

#include "config.h"
#include "layers.h"
#include "lower.h"

#include <limits.h>
#include <pthread.h>
#include <sys/types.h>

struct ebtd_fs;

struct ebtd_fs_mount {
    struct ebtd_fs *fs;
    int index;             /* the prefix's index in the config */
    char prefix[PATH_MAX]; /* the mount point = the canonical managed prefix */
    int lower_fd;          /* O_PATH on the prefix, opened before the mount covered it */
    struct fuse *fuse;
    pthread_t thread;
    int running;
};

struct ebtd_fs {
    struct ebt_layers layers;
    struct ebtd_fs_mount m[EBT_MAX_PREFIXES];
    int n;
    pthread_mutex_t files_mu;
    struct fs_file *files;       /* open handles on up-layer files (fs_spill.c) */
    pthread_rwlock_t spill_lock; /* writers share it; a spill takes it alone */
    char **spilled;              /* names moved to the PFS: their attributes are changed there */
    size_t nspilled;
};

/* An open file of the view: an fd on its layer's copy. */
struct fs_file {
    int fd;
    int layer;
    int flags; /* to reopen it on the PFS: the access mode and O_APPEND */
    int tracked;
    char *logical; /* the path it was opened by (a rename since makes it not spill) */
    dev_t dev;
    ino_t ino;
    struct fs_file *next, *prev;
};

/* fs_spill.c: the handle registry and the move of a file to the PFS on a full cache. */
void fs_files_init(struct ebtd_fs *fs);
void fs_file_track(struct ebtd_fs *fs, struct fs_file *f);
void fs_file_untrack(struct ebtd_fs *fs, struct fs_file *f);
/* 0: the file is on the PFS now and f writes there; -ENOSPC: it stays (the caller's error). */
int fs_spill(struct ebtd_fs *fs, struct fs_file *f, size_t start);
/* Was logical moved to the PFS by a spill? A chmod, utimes or xattr change of it then goes to
 * the PFS file: a copy-up would shadow the bytes its open handles still write there. */
int fs_was_spilled(struct ebtd_fs *fs, const char *logical);
void fs_files_fini(struct ebtd_fs *fs);

extern const struct fuse_operations ebtd_fs_ops;

#endif
