/* view.h - the logical view of managed paths: the upper layer and its whiteouts over the PFS. */
#ifndef EBTD_VIEW_H
#define EBTD_VIEW_H

#include "proto.h"

#include <stdint.h>
#include <sys/stat.h>

/* lstat of a normalised logical path through the layers: RUN/up/<path> if present, -ENOENT if a
 * whiteout or opaque directory hides it, else the PFS path. Intermediate components must be
 * directories (-ENOTDIR otherwise; the client resolves symlinks first). *layer_p: EBT_LAYER_*. */
int ebt_view_lookup(const char *run_dir, const char *path, struct stat *st, int *layer_p);
int ebt_view_stat(const char *run_dir, const char *path, struct ebt_proto_stat *out);
/* Merged listing of a logical directory, from entry index start, as a READDIR reply payload
 * (ebt_proto_dirhdr + entries) of at most cap bytes; *len_p = bytes used. 0 or -errno. */
int ebt_view_readdir(const char *run_dir, const char *path, uint32_t start, char *buf, uint32_t cap,
                     uint32_t *len_p);

#endif
