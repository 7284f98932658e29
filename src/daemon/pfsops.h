/* pfsops.h - counted metadata operations on the PFS (each system call adds 1 to *ops). */
#ifndef EBTD_PFSOPS_H
#define EBTD_PFSOPS_H

#include <stdint.h>
#include <sys/types.h>

/* rm -rf; a missing path is fine. 0 or -errno. */
int ebt_pfs_remove(const char *path, uint64_t *ops);
/* Remove everything inside dir (keep dir); missing dir is fine. */
int ebt_pfs_clear(const char *dir, uint64_t *ops);
/* mkdir with exactly mode (chmod if umask_now masked bits); an existing name is fine (its mode
 * is left alone). */
int ebt_pfs_mkdir(const char *path, mode_t mode, mode_t umask_now, uint64_t *ops);
/* Make path a symlink to target, replacing a non-directory that is in the way. */
int ebt_pfs_symlink(const char *target, const char *path, uint64_t *ops);

#endif
