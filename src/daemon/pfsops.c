/* pfsops.c - PFS metadata operations for the flush phases, each counted. */
#define _GNU_SOURCE
#include "pfsops.h"
#include "lower.h"
#include "dirlist.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void count(uint64_t *ops)
{
    __atomic_add_fetch(ops, 1, __ATOMIC_RELAXED);
}

/* Every PFS path goes through the lower link of its prefix when the FUSE view covers it. */
#define TO_LOWER(var)                                                                              \
    char var##_lower[PATH_MAX];                                                                    \
    if (ebt_lower_path(var, var##_lower, sizeof(var##_lower)) < 0)                                 \
        return -ENAMETOOLONG;                                                                      \
    var = var##_lower

static int remove_counted(const char *child, void *ops)
{
    return ebt_pfs_remove(child, ops);
}

int ebt_pfs_clear(const char *dir, uint64_t *ops)
{
    TO_LOWER(dir);
    count(ops); /* open + getdents of the directory */
    return ebt_dirlist_each_child(dir, remove_counted, ops);
}

int ebt_pfs_remove(const char *path, uint64_t *ops)
{
    TO_LOWER(path);
    struct stat st;
    count(ops);
    if (ebt_sys_lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode)) {
        count(ops);
        return ebt_sys_unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    }
    int rc = ebt_pfs_clear(path, ops);
    count(ops);
    if (rc == 0 && ebt_sys_rmdir(path) < 0 && errno != ENOENT)
        rc = -errno;
    return rc;
}

int ebt_pfs_mkdir(const char *path, mode_t mode, mode_t umask_now, uint64_t *ops)
{
    TO_LOWER(path);
    mode &= 07777;
    count(ops);
    /* EEXIST: taken as the directory (no extra stat); if it is a file, creating the files
     * below it fails with ENOTDIR and names the path */
    if (ebt_sys_mkdir(path, mode) < 0)
        return errno == EEXIST ? 0 : -errno;
    if ((mode & ~umask_now) == mode)
        return 0;
    count(ops); /* the umask took bits the job's directory has */
    return syscall(SYS_fchmodat, AT_FDCWD, path, mode) < 0 ? -errno : 0;
}

static int pfs_symlink_once(const char *target, const char *path, uint64_t *ops)
{
    count(ops);
    return syscall(SYS_symlinkat, target, AT_FDCWD, path) < 0 ? -errno : 0;
}

int ebt_pfs_symlink(const char *target, const char *path, uint64_t *ops)
{
    TO_LOWER(path);
    int rc = pfs_symlink_once(target, path, ops);
    if (rc != -EEXIST)
        return rc;
    char cur[PATH_MAX];
    count(ops);
    ssize_t n = ebt_sys_readlink(path, cur, sizeof(cur) - 1);
    if (n >= 0) {
        cur[n] = '\0';
        if (!strcmp(cur, target))
            return 0; /* already there: a resumed flush */
    }
    count(ops);
    if (ebt_sys_unlink(path) < 0)
        return -errno; /* EISDIR: a directory is in the way and the job did not remove it */
    return pfs_symlink_once(target, path, ops);
}
