/* layers.h - the one-node layered namespace as ebtd's FUSE view serves it: the up layer
 * (RUN/up, with whiteouts and opaque markers, rundir.h) over the lower layer, the PFS reached
 * through lower.h; under visibility task the task layer of the daemon's task id lies on top and
 * takes every change ("up" below means the layer that takes changes). Every function takes a
 * canonical logical path under a managed prefix and returns 0 (or a count) or -errno. */
#ifndef EBT_LAYERS_H
#define EBT_LAYERS_H

#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>

enum ebt_layer { EBT_L_UP = 1, EBT_L_LOWER = 2 };

struct ebt_layers {
    const struct ebt_config *cfg;
    char run[PATH_MAX];
    char up[PATH_MAX];
    char task[PATH_MAX];   /* RUN/task/<cfg->task_id>: the top layer of prefixes in task mode */
    uint64_t *whiteouts;   /* RUN/state's counter that tells clients to look for whiteouts */
    uint64_t *cache_bytes; /* RUN/state's bytes written into the cache (EBT_CACHE_BYTES) */
};

struct ebt_hit {
    int layer;
    char phys[PATH_MAX];
    struct stat st;
};

/* Walk the components of logical from offset start (its managed prefix's length): a whiteout of
 * any of them in layer hides it (-ENOENT); an opaque directory of layer above it hides the layers
 * below (1); else 0. */
int ebt_layer_hides(const char *layer, const char *logical, size_t start);

int ebt_layers_init(struct ebt_layers *L, const char *run, const struct ebt_config *cfg);
void ebt_layers_fini(struct ebt_layers *L);
/* What logical names (lstat semantics): -ENOENT, -ENOTDIR, or h filled (layer EBT_L_UP for
 * either node-local layer). */
int ebt_layers_lookup(const struct ebt_layers *L, const char *logical, struct ebt_hit *h);
/* Does a layer below up (the PFS) show logical? 1 yes, 0 no. */
int ebt_layers_in_lower(const struct ebt_layers *L, const char *logical);
int ebt_layers_up_path(const struct ebt_layers *L, const char *logical, char *out);
/* Make the up directory of logical (a directory in the view), copying modes and times of the
 * directories it mirrors. */
int ebt_layers_up_dir(const struct ebt_layers *L, const char *logical);
/* Copy the file logical up (it is in the lower layer): afterwards up/<logical> holds the same
 * bytes, mode and times; with truncate, an empty file of the same mode. */
int ebt_layers_copy_up(const struct ebt_layers *L, const char *logical, int truncate);
/* Make logical hidden below up (a whiteout); remove that whiteout. */
int ebt_layers_whiteout(const struct ebt_layers *L, const char *logical);
void ebt_layers_unwhiteout(const struct ebt_layers *L, const char *logical);
int ebt_layers_has_whiteout(const struct ebt_layers *L, const char *logical);
/* Mark the up directory of logical opaque (the lower directory's content is gone). */
int ebt_layers_make_opaque(const struct ebt_layers *L, const char *logical);
/* The names of directory logical, sorted, without "." and "..": *names is malloc'ed, an array of
 * NUL-terminated names packed one after the other; returns the count. */
int ebt_layers_list(const struct ebt_layers *L, const char *logical, char **names, size_t *bytes);
/* Remove the up directory of logical with the markers in it (it is empty in the view). */
int ebt_layers_remove_up_dir(const struct ebt_layers *L, const char *logical);
/* Remove the up file's extent log when its last name goes (inode numbers are reused). */
void ebt_layers_forget_meta(const struct ebt_layers *L, const struct stat *st);

#endif
