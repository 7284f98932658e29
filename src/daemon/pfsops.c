/* pfsops.c - PFS metadata operations for the flush phases, each counted and each confined
 * beneath its managed prefix (pfsops.h). */
#define _GNU_SOURCE
#include "pfsops.h"
#include "dirlist.h"
#include "lower.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void count(uint64_t *ops)
{
    __atomic_add_fetch(ops, 1, __ATOMIC_RELAXED);
}

static int remove_at(int dirfd, const char *name, uint64_t *ops);

/* Remove every entry of the directory fd (each by name, relative to fd, never followed). */
static int clear_fd(int fd, uint64_t *ops)
{
    struct ebt_dirlist l;
    count(ops); /* getdents of the directory */
    int rc = ebt_dirlist_readfd(fd, &l);
    if (rc < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = remove_at(fd, l.e[i].name, ops);
    ebt_dirlist_free(&l);
    return rc;
}

/* name inside dirfd: a directory's content (the directory kept), or -ENOTDIR for anything
 * else, or 0 if missing. */
static int clear_dir_at(int dirfd, const char *name, uint64_t *ops)
{
    count(ops);
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : errno == ELOOP ? -ENOTDIR : -errno;
    int rc = clear_fd(fd, ops);
    ebt_sys_close(fd);
    return rc;
}

static int remove_at(int dirfd, const char *name, uint64_t *ops)
{
    struct stat st;
    count(ops);
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    count(ops);
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    int rc = clear_dir_at(dirfd, name, ops);
    count(ops);
    if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -errno;
    return rc;
}

/* Run fn on path's (parent fd, leaf); a missing parent directory is ENOENT. */
static int with_parent(const struct ebt_config *cfg, const char *path,
                       int (*fn)(int dirfd, const char *leaf, void *arg), void *arg)
{
    char leaf[NAME_MAX + 1];
    int dirfd = ebt_lower_at(cfg, path, leaf, sizeof(leaf));
    if (dirfd < 0)
        return dirfd;
    int rc = fn(dirfd, leaf, arg);
    ebt_sys_close(dirfd);
    return rc;
}

static int remove_cb(int dirfd, const char *leaf, void *ops)
{
    return remove_at(dirfd, leaf, ops);
}

int ebt_pfs_remove(const struct ebt_config *cfg, const char *path, uint64_t *ops)
{
    int rc = with_parent(cfg, path, remove_cb, ops);
    return rc == -ENOENT || rc == -ENOTDIR ? 0 : rc; /* no parent directory: no such name */
}

static int clear_cb(int dirfd, const char *leaf, void *ops)
{
    int rc = clear_dir_at(dirfd, leaf, ops);
    return rc == -ENOTDIR ? remove_at(dirfd, leaf, ops) : rc;
}

int ebt_pfs_clear(const struct ebt_config *cfg, const char *dir, uint64_t *ops)
{
    int rc = with_parent(cfg, dir, clear_cb, ops);
    return rc == -ENOENT ? 0 : rc;
}

struct mkdir_arg {
    mode_t mode, umask_now;
    uint64_t *ops;
};

static int mkdir_cb(int dirfd, const char *leaf, void *arg)
{
    struct mkdir_arg *a = arg;
    struct stat st;
    count(a->ops);
    if (mkdirat(dirfd, leaf, a->mode) < 0) {
        if (errno != EEXIST)
            return -errno;
        /* taken as the directory when it is one (no extra stat on the usual path: the
         * prefix's own directories exist); anything else in the way is an error */
        if (!strcmp(leaf, "."))
            return 0;
        count(a->ops);
        if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -EEXIST;
    }
    if ((a->mode & ~a->umask_now) == a->mode)
        return 0;
    count(a->ops); /* the umask took bits the job's directory has; never through a symlink */
    int fd = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc = fd < 0 || fchmod(fd, a->mode) < 0 ? -errno : 0;
    if (fd >= 0)
        ebt_sys_close(fd);
    return rc;
}

int ebt_pfs_mkdir(const struct ebt_config *cfg, const char *path, mode_t mode, mode_t umask_now,
                  uint64_t *ops)
{
    struct mkdir_arg a = {mode & 07777, umask_now, ops};
    return with_parent(cfg, path, mkdir_cb, &a);
}

struct symlink_arg {
    const char *target;
    uint64_t *ops;
};

static int symlink_cb(int dirfd, const char *leaf, void *arg)
{
    struct symlink_arg *a = arg;
    char cur[PATH_MAX];
    count(a->ops);
    if (symlinkat(a->target, dirfd, leaf) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    count(a->ops);
    ssize_t n = readlinkat(dirfd, leaf, cur, sizeof(cur) - 1);
    if (n >= 0) {
        cur[n] = '\0';
        if (!strcmp(cur, a->target))
            return 0; /* already there: a resumed flush */
    }
    count(a->ops);
    if (unlinkat(dirfd, leaf, 0) < 0)
        return -errno; /* EISDIR: a directory is in the way and the job did not remove it */
    count(a->ops);
    return symlinkat(a->target, dirfd, leaf) < 0 ? -errno : 0;
}

int ebt_pfs_symlink(const struct ebt_config *cfg, const char *target, const char *path,
                    uint64_t *ops)
{
    struct symlink_arg a = {target, ops};
    return with_parent(cfg, path, symlink_cb, &a);
}
