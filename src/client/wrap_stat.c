/* wrap_stat.c - wrappers that look names up: the stat families, statx, access, statfs,
 * readlink and realpath. fd-based calls (fstat) only show a promoted file's inode at open
 * (publish.c ebt_alias_fix): a managed fd is a real file. */
#define _GNU_SOURCE
#include "client.h"
#include "incache.h"
#include "lower.h"
#include "mdcache.h"
#include "path.h"
#include "real.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat and stat64 differ here");

static int stat_logical(const char *logical, int follow, void *st)
{
    struct ebt_found f;
    int rc = ebt_view_lookup(logical, follow, &f);
    /* a symlink of the job's layers, followed: the kernel follows it from the layer's path, as
     * for statx, access and open of the name (before, stat() described the link itself: a
     * venv's bin/python looked like no program to Python's search of PATH) */
    if (rc == 0 && follow && S_ISLNK(f.st.st_mode) && f.where != EBT_W_PFS &&
        ebt_sys_stat(f.phys, &f.st) < 0)
        rc = -errno;
    if (rc == 0) {
        ebt_alias_fix(f.st.st_dev, &f.st.st_ino);
        memcpy(st, &f.st, sizeof(struct stat));
    }
    return ebt_libc_status(rc);
}

static int fixed(int rc, struct stat *st)
{
    if (rc == 0)
        ebt_alias_fix(st->st_dev, &st->st_ino);
    return rc;
}

/* fstat: a promoted file's inode, an input copy's PFS attributes. */
static int fixed_fd(int rc, int fd, struct stat *st)
{
    if (rc == 0)
        ebt_incache_fstat(fd, st);
    return fixed(rc, st);
}

int fstat(int fd, struct stat *st)
{
    return fixed_fd(EBT_REAL(fstat)(fd, st), fd, st);
}
int fstat64(int fd, struct stat64 *st)
{
    return fixed_fd(EBT_REAL(fstat64)(fd, st), fd, (struct stat *)st);
}
int __fxstat(int v, int fd, struct stat *st)
{
    return fixed_fd(EBT_REAL(__fxstat)(v, fd, st), fd, st);
}
int __fxstat64(int v, int fd, struct stat64 *st)
{
    return fixed_fd(EBT_REAL(__fxstat64)(v, fd, st), fd, (struct stat *)st);
}

/* A path under an input that is not managed: the PFS's answer, cached. */
static int stat_input(const char *logical, int follow, void *st)
{
    return ebt_libc_status(ebt_mdc_stat(logical, logical, follow, st));
}

/* Managed? then answer from the view; under an input, from its cache; the macro keeps every
 * stat wrapper one line long. */
#define EBT_STAT_AT(dirfd, path, follow, st, passthrough)                                          \
    ({                                                                                             \
        char l_[PATH_MAX];                                                                         \
        ebt_resolve((dirfd), (path), l_) > 0     ? stat_logical(l_, (follow), (st))                \
        : ebt_input_resolve((dirfd), (path), l_) ? stat_input(l_, (follow), (st))                  \
                                                 : (passthrough);                                  \
    })

int stat(const char *p, struct stat *st)
{
    return EBT_STAT_AT(AT_FDCWD, p, 1, st, EBT_REAL(stat)(p, st));
}
int stat64(const char *p, struct stat64 *st)
{
    return EBT_STAT_AT(AT_FDCWD, p, 1, st, EBT_REAL(stat64)(p, st));
}
int lstat(const char *p, struct stat *st)
{
    return EBT_STAT_AT(AT_FDCWD, p, 0, st, EBT_REAL(lstat)(p, st));
}
int lstat64(const char *p, struct stat64 *st)
{
    return EBT_STAT_AT(AT_FDCWD, p, 0, st, EBT_REAL(lstat64)(p, st));
}
int __xstat(int v, const char *p, struct stat *st)
{
    return EBT_STAT_AT(AT_FDCWD, p, 1, st, EBT_REAL(__xstat)(v, p, st));
}
int __xstat64(int v, const char *p, struct stat64 *st)
{
    return EBT_STAT_AT(AT_FDCWD, p, 1, st, EBT_REAL(__xstat64)(v, p, st));
}
int __lxstat(int v, const char *p, struct stat *st)
{
    return EBT_STAT_AT(AT_FDCWD, p, 0, st, EBT_REAL(__lxstat)(v, p, st));
}
int __lxstat64(int v, const char *p, struct stat64 *st)
{
    return EBT_STAT_AT(AT_FDCWD, p, 0, st, EBT_REAL(__lxstat64)(v, p, st));
}

/* *at variants: an empty path with AT_EMPTY_PATH means the fd itself. */
static int fd_itself(const char *p, int flags)
{
    return (flags & AT_EMPTY_PATH) && p && !p[0];
}

int fstatat(int d, const char *p, struct stat *st, int fl)
{
    if (fd_itself(p, fl))
        return fixed(EBT_REAL(fstatat)(d, p, st, fl), st);
    return EBT_STAT_AT(d, p, !(fl & AT_SYMLINK_NOFOLLOW), st, EBT_REAL(fstatat)(d, p, st, fl));
}
int fstatat64(int d, const char *p, struct stat64 *st, int fl)
{
    if (fd_itself(p, fl))
        return fixed(EBT_REAL(fstatat64)(d, p, st, fl), (struct stat *)st);
    return EBT_STAT_AT(d, p, !(fl & AT_SYMLINK_NOFOLLOW), st, EBT_REAL(fstatat64)(d, p, st, fl));
}
int __fxstatat(int v, int d, const char *p, struct stat *st, int fl)
{
    if (fd_itself(p, fl))
        return EBT_REAL(__fxstatat)(v, d, p, st, fl);
    return EBT_STAT_AT(d, p, !(fl & AT_SYMLINK_NOFOLLOW), st,
                       EBT_REAL(__fxstatat)(v, d, p, st, fl));
}
int __fxstatat64(int v, int d, const char *p, struct stat64 *st, int fl)
{
    if (fd_itself(p, fl))
        return EBT_REAL(__fxstatat64)(v, d, p, st, fl);
    return EBT_STAT_AT(d, p, !(fl & AT_SYMLINK_NOFOLLOW), st,
                       EBT_REAL(__fxstatat64)(v, d, p, st, fl));
}

/* Calls that only need the physical path of the name: look it up, then ask the kernel. A name
 * on the PFS under an input (managed or not) gives its logical path in input (PATH_MAX; else
 * ""), so the caller can answer from the metadata cache. */
static int physical_in(int dirfd, const char *path, int follow, char *phys, int *managed,
                       char *input)
{
    char logical[PATH_MAX];
    input[0] = '\0';
    *managed = !fd_itself(path, AT_EMPTY_PATH) && ebt_resolve(dirfd, path, logical) > 0;
    if (!*managed) {
        if (!fd_itself(path, AT_EMPTY_PATH) && ebt_input_resolve(dirfd, path, input)) {
            *managed = 1;
            memcpy(phys, input, strlen(input) + 1);
        }
        return 0;
    }
    struct ebt_found f;
    int rc = ebt_view_lookup(logical, follow, &f);
    if (rc == 0)
        memcpy(phys, f.phys, strlen(f.phys) + 1);
    if (rc == 0 && f.where == EBT_W_PFS && ebt_input_of(logical) >= 0)
        memcpy(input, logical, strlen(logical) + 1);
    return rc;
}

static int physical(int dirfd, const char *path, int follow, char *phys, int *managed)
{
    char input[PATH_MAX]; /* xattrs are not cached: the kernel asks the PFS by phys */
    return physical_in(dirfd, path, follow, phys, managed, input);
}

/* access() on the PFS under an input: existence from the cache; the rest from the PFS. */
static int access_in(const char *input, const char *phys, int mode, int fl)
{
    if (mode == F_OK) {
        struct stat st;
        return ebt_libc_status(ebt_mdc_stat(input, phys, !(fl & AT_SYMLINK_NOFOLLOW), &st));
    }
    int rc = ebt_mdc_absent(input, phys);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(faccessat)(AT_FDCWD, phys, mode, fl);
}

int statx(int d, const char *p, int fl, unsigned mask, struct statx *stx)
{
    char phys[PATH_MAX], input[PATH_MAX];
    int managed, rc = fd_itself(p, fl)
                          ? 0
                          : physical_in(d, p, !(fl & AT_SYMLINK_NOFOLLOW), phys, &managed, input);
    if (fd_itself(p, fl) || !managed)
        rc = EBT_REAL(statx)(d, p, fl, mask, stx);
    else if (rc == 0 && input[0])
        rc = ebt_libc_status(ebt_mdc_statx(input, phys, fl, mask, stx));
    else
        rc = rc < 0 ? ebt_libc_status(rc) : EBT_REAL(statx)(AT_FDCWD, phys, fl, mask, stx);
    if (rc == 0) {
        ino_t ino = (ino_t)stx->stx_ino;
        ebt_alias_fix(makedev(stx->stx_dev_major, stx->stx_dev_minor), &ino);
        stx->stx_ino = ino;
    }
    return rc;
}

int access(const char *p, int mode)
{
    char phys[PATH_MAX], input[PATH_MAX];
    int managed, rc = physical_in(AT_FDCWD, p, 1, phys, &managed, input);
    if (!managed)
        return EBT_REAL(access)(p, mode);
    if (rc == 0 && input[0])
        return access_in(input, phys, mode, 0);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(access)(phys, mode);
}

int faccessat(int d, const char *p, int mode, int fl)
{
    char phys[PATH_MAX], input[PATH_MAX];
    int managed, rc = physical_in(d, p, !(fl & AT_SYMLINK_NOFOLLOW), phys, &managed, input);
    if (!managed)
        return EBT_REAL(faccessat)(d, p, mode, fl);
    if (rc == 0 && input[0])
        return access_in(input, phys, mode, fl);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(faccessat)(AT_FDCWD, phys, mode, fl);
}

int euidaccess(const char *p, int mode)
{
    char phys[PATH_MAX], input[PATH_MAX];
    int managed, rc = physical_in(AT_FDCWD, p, 1, phys, &managed, input);
    if (!managed)
        return EBT_REAL(euidaccess)(p, mode);
    if (rc == 0 && input[0])
        return access_in(input, phys, mode, AT_EACCESS);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(euidaccess)(phys, mode);
}

int eaccess(const char *p, int mode)
{
    return euidaccess(p, mode);
}

ssize_t readlink(const char *p, char *buf, size_t n)
{
    char phys[PATH_MAX], input[PATH_MAX];
    int managed, rc = physical_in(AT_FDCWD, p, 0, phys, &managed, input);
    if (!managed)
        return EBT_REAL(readlink)(p, buf, n);
    if (rc == 0 && input[0]) {
        ssize_t r = ebt_mdc_readlink(input, phys, buf, n);
        return r < 0 ? (errno = (int)-r, -1) : r;
    }
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(readlink)(phys, buf, n);
}

ssize_t readlinkat(int d, const char *p, char *buf, size_t n)
{
    char phys[PATH_MAX], input[PATH_MAX];
    int managed, rc = physical_in(d, p, 0, phys, &managed, input);
    if (!managed)
        return EBT_REAL(readlinkat)(d, p, buf, n);
    if (rc == 0 && input[0]) {
        ssize_t r = ebt_mdc_readlink(input, phys, buf, n);
        return r < 0 ? (errno = (int)-r, -1) : r;
    }
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(readlinkat)(AT_FDCWD, phys, buf, n);
}

/* Managed trees are resolved lexically (docs/semantics.md): the answer is the logical path. */
char *realpath(const char *p, char *resolved)
{
    char logical[PATH_MAX];
    struct ebt_found f;
    if (ebt_resolve(AT_FDCWD, p, logical) <= 0)
        return EBT_REAL(realpath)(p, resolved);
    int rc = ebt_view_lookup(logical, 1, &f);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    if (!resolved)
        return strdup(logical);
    memcpy(resolved, logical, strlen(logical) + 1);
    return resolved;
}

/* The nearest existing PFS directory above a logical path reports the space that matters. */
int ebt_statfs_logical(const char *logical, struct statfs *buf)
{
    char probe[PATH_MAX];
    snprintf(probe, sizeof(probe), "%s", logical);
    for (;;) {
        if (syscall(SYS_statfs, probe, buf) == 0)
            return 0;
        char *slash = strrchr(probe, '/');
        if (!slash || slash == probe)
            return (int)syscall(SYS_statfs, "/", buf);
        *slash = '\0';
    }
}

int statfs(const char *p, struct statfs *buf)
{
    char logical[PATH_MAX];
    struct ebt_found f;
    if (ebt_resolve(AT_FDCWD, p, logical) <= 0)
        return EBT_REAL(statfs)(p, buf);
    int rc = ebt_view_lookup(logical, 1, &f);
    return rc < 0 ? ebt_libc_status(rc) : ebt_statfs_logical(logical, buf);
}

int statfs64(const char *p, struct statfs64 *buf)
{
    return statfs(p, (struct statfs *)buf);
}

/* Extended attributes: read from wherever the name lives; changes are not carried to the PFS
 * yet, so they are refused on managed paths rather than silently lost. */
ssize_t getxattr(const char *p, const char *name, void *v, size_t n)
{
    char phys[PATH_MAX];
    int managed, rc = physical(AT_FDCWD, p, 1, phys, &managed);
    if (!managed)
        return EBT_REAL(getxattr)(p, name, v, n);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(getxattr)(phys, name, v, n);
}

ssize_t lgetxattr(const char *p, const char *name, void *v, size_t n)
{
    char phys[PATH_MAX];
    int managed, rc = physical(AT_FDCWD, p, 0, phys, &managed);
    if (!managed)
        return EBT_REAL(lgetxattr)(p, name, v, n);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(lgetxattr)(phys, name, v, n);
}

ssize_t listxattr(const char *p, char *list, size_t n)
{
    char phys[PATH_MAX];
    int managed, rc = physical(AT_FDCWD, p, 1, phys, &managed);
    if (!managed)
        return EBT_REAL(listxattr)(p, list, n);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(listxattr)(phys, list, n);
}

ssize_t llistxattr(const char *p, char *list, size_t n)
{
    char phys[PATH_MAX];
    int managed, rc = physical(AT_FDCWD, p, 0, phys, &managed);
    if (!managed)
        return EBT_REAL(llistxattr)(p, list, n);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(llistxattr)(phys, list, n);
}

static int refuse_xattr_change(const char *p, int *managed)
{
    char l[PATH_MAX];
    *managed = ebt_resolve(AT_FDCWD, p, l) > 0;
    if (*managed && ebt_lower_covers(l))
        *managed = 0; /* the FUSE view changes them: the real call reaches it */
    if (*managed)
        ebt_warn_once("extended attribute changes on managed paths are not supported", l);
    return ebt_libc_status(-ENOTSUP);
}

int setxattr(const char *p, const char *name, const void *v, size_t n, int fl)
{
    int managed, rc = refuse_xattr_change(p, &managed);
    return managed ? rc : EBT_REAL(setxattr)(p, name, v, n, fl);
}

int lsetxattr(const char *p, const char *name, const void *v, size_t n, int fl)
{
    int managed, rc = refuse_xattr_change(p, &managed);
    return managed ? rc : EBT_REAL(lsetxattr)(p, name, v, n, fl);
}

int removexattr(const char *p, const char *name)
{
    int managed, rc = refuse_xattr_change(p, &managed);
    return managed ? rc : EBT_REAL(removexattr)(p, name);
}

int lremovexattr(const char *p, const char *name)
{
    int managed, rc = refuse_xattr_change(p, &managed);
    return managed ? rc : EBT_REAL(lremovexattr)(p, name);
}
