/* lower.h - how EBT code reaches the PFS below a managed prefix that the daemon has covered with
 * its FUSE view. Before mounting, ebtd opens each prefix O_PATH and links RUN/lower/<i> to
 * /proc/<ebtd>/fd/<n>: a path through that magic link walks the PFS directory underneath the
 * mount. Without a mount (preload-only mode, an offline flush) the logical path is the PFS path. */
#ifndef EBT_LOWER_H
#define EBT_LOWER_H

#include "config.h"

#include <stddef.h>

#define EBT_LOWER_DIR "lower"

/* Read RUN/lower/<i> for every prefix of cfg (cfg must outlive the module's use). 1 if any prefix
 * is mounted, 0 if none. */
int ebt_lower_load(const struct ebt_config *cfg, const char *run);
/* Forget every mapping: logical paths are PFS paths again. */
void ebt_lower_reset(void);
/* Set prefix i's lower path (the daemon, which holds the fd). */
void ebt_lower_set(const struct ebt_config *cfg, int i, const char *lower);
/* The path that reaches logical's PFS copy: 0, or -ENAMETOOLONG. Unmanaged paths map to
 * themselves. */
int ebt_lower_path(const char *logical, char *out, size_t cap);
/* Does the FUSE view cover logical (its prefix is mounted)? */
int ebt_lower_covers(const char *logical);

/* Where EBT acts on the PFS for the job (the flush), it stays inside the managed tree: the
 * directory holding logical's last component is opened beneath the prefix's PFS root (through
 * the lower link when mounted), following no symlink and never leaving the root (openat2
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). Returns that directory's fd (the caller closes it) and
 * the last component in leaf ("." for the prefix itself), on which the caller acts with *at calls
 * that do not follow it; or -errno: -EXDEV if logical is under no prefix of cfg, -ELOOP/-ENOTDIR
 * if a symlink or a non-directory is on the way. */
int ebt_lower_at(const struct ebt_config *cfg, const char *logical, char *leaf, size_t cap);

#endif
