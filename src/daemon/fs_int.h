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
};

extern const struct fuse_operations ebtd_fs_ops;

#endif
