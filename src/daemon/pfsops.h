/* pfsops.h - counted metadata operations on the PFS (each system call adds 1 to *ops), all
 * confined to the managed tree: a path is resolved beneath its prefix's PFS root following no
 * symlink (lower.h ebt_lower_at), so a symlink the job or anyone left on the PFS cannot lead the
 * flush outside. */
#ifndef EBTD_PFSOPS_H
#define EBTD_PFSOPS_H

#include "config.h"

#include <stdint.h>
#include <sys/types.h>

/* rm -rf of the name itself (a symlink is removed, never followed); a missing path is fine.
 * 0 or -errno. */
int ebt_pfs_remove(const struct ebt_config *cfg, const char *path, uint64_t *ops);
/* Make path an empty directory's place: everything inside a directory is removed (the directory
 * kept); a non-directory there (a symlink, a file) is removed; a missing path is fine. */
int ebt_pfs_clear(const struct ebt_config *cfg, const char *dir, uint64_t *ops);
/* mkdir with exactly mode (chmod if umask_now masked bits); an existing directory is fine (its
 * mode is left alone); an existing non-directory is -EEXIST. */
int ebt_pfs_mkdir(const struct ebt_config *cfg, const char *path, mode_t mode, mode_t umask_now,
                  uint64_t *ops);
/* Make path a symlink to target, replacing a non-directory that is in the way. */
int ebt_pfs_symlink(const struct ebt_config *cfg, const char *target, const char *path,
                    uint64_t *ops);

#endif
