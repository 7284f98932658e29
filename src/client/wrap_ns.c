/* wrap_ns.c - wrappers that change names or attributes: unlink, rename, mkdir, rmdir, truncate,
 * chmod/chown/utimes, links, and the working directory (chdir, fchdir, getcwd). */
#define _GNU_SOURCE
#include "client.h"
#include "lower.h"
#include "mdcache.h"
#include "path.h"
#include "real.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <utime.h>

void ebt_cwd_refresh(void);

/* glibc declares these arguments nonnull, but programs do pass NULL: test outside the wrapper. */
static int ebt_path_empty(const char *p)
{
    return !p || !p[0];
}
int ebt_ns_attr_target(const char *logical, int follow, char *phys);

int unlink(const char *p)
{
    ebt_mdc_written(AT_FDCWD, p);
    char l[PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0)
        return EBT_REAL(unlink)(p);
    return ebt_libc_status(ebt_ns_unlink(l));
}

int unlinkat(int d, const char *p, int fl)
{
    ebt_mdc_written(d, p);
    char l[PATH_MAX];
    if (ebt_resolve(d, p, l) <= 0)
        return EBT_REAL(unlinkat)(d, p, fl);
    return ebt_libc_status((fl & AT_REMOVEDIR) ? ebt_ns_rmdir(l) : ebt_ns_unlink(l));
}

/* glibc's remove() unlinks (or, for a directory, rmdirs) through its own internal calls, which
 * never reach the wrappers above; libgfortran's CLOSE(STATUS='DELETE') and many programs use it. */
int remove(const char *p)
{
    ebt_mdc_written(AT_FDCWD, p);
    char l[PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0)
        return EBT_REAL(remove)(p);
    int rc = ebt_ns_unlink(l);
    return ebt_libc_status(rc == -EISDIR ? ebt_ns_rmdir(l) : rc);
}

int rmdir(const char *p)
{
    ebt_mdc_written(AT_FDCWD, p);
    char l[PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0)
        return EBT_REAL(rmdir)(p);
    return ebt_libc_status(ebt_ns_rmdir(l));
}

int mkdir(const char *p, mode_t mode)
{
    ebt_mdc_written(AT_FDCWD, p);
    char l[PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0)
        return EBT_REAL(mkdir)(p, mode);
    return ebt_libc_status(ebt_ns_mkdir(l, mode));
}

int mkdirat(int d, const char *p, mode_t mode)
{
    ebt_mdc_written(d, p);
    char l[PATH_MAX];
    if (ebt_resolve(d, p, l) <= 0)
        return EBT_REAL(mkdirat)(d, p, mode);
    return ebt_libc_status(ebt_ns_mkdir(l, mode));
}

/* Both names managed: EBT renames. One of them only: the kernel would copy, so say EXDEV. */
static int rename_common(int fd1, const char *p1, int fd2, const char *p2, unsigned fl, int *done)
{
    ebt_mdc_written(fd1, p1);
    ebt_mdc_written(fd2, p2);
    char l1[PATH_MAX], l2[PATH_MAX];
    int m1 = ebt_resolve(fd1, p1, l1) > 0, m2 = ebt_resolve(fd2, p2, l2) > 0;
    *done = m1 || m2;
    if (!*done)
        return 0;
    if (m1 != m2)
        return ebt_libc_status(-EXDEV);
    return ebt_libc_status(ebt_ns_rename(l1, l2, fl));
}

int rename(const char *a, const char *b)
{
    int done, rc = rename_common(AT_FDCWD, a, AT_FDCWD, b, 0, &done);
    return done ? rc : EBT_REAL(rename)(a, b);
}

int renameat(int da, const char *a, int db, const char *b)
{
    int done, rc = rename_common(da, a, db, b, 0, &done);
    return done ? rc : EBT_REAL(renameat)(da, a, db, b);
}

int renameat2(int da, const char *a, int db, const char *b, unsigned fl)
{
    int done, rc = rename_common(da, a, db, b, fl, &done);
    return done ? rc : EBT_REAL(renameat2)(da, a, db, b, fl);
}

int truncate(const char *p, off_t len)
{
    ebt_mdc_written(AT_FDCWD, p);
    char l[PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0)
        return EBT_REAL(truncate)(p, len);
    return ebt_libc_status(ebt_ns_truncate(l, len));
}

int truncate64(const char *p, off64_t len)
{
    ebt_mdc_written(AT_FDCWD, p);
    char l[PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0)
        return EBT_REAL(truncate64)(p, len);
    return ebt_libc_status(ebt_ns_truncate(l, len));
}

/* Attribute changes go to the layer copy (made if needed); the flush applies them last. Who
 * may make them is decided first, by the PFS file's owner where the name still is one (perm.c). */
struct attr_change {
    int kind; /* EBT_ATTR_*, 0: no check */
    uid_t u;
    gid_t g;
};
#define ATTR(k) ((struct attr_change){(k), (uid_t)-1, (gid_t)-1})

static int attr_target(int dirfd, const char *p, int follow, char *phys, int *managed,
                       struct attr_change c)
{
    ebt_mdc_written(dirfd, p);
    char l[PATH_MAX];
    *managed = p && ebt_resolve(dirfd, p, l) > 0;
    if (!*managed)
        return 0;
    int rc = c.kind ? ebt_perm_attr(l, follow, c.kind, c.u, c.g) : 0;
    return rc < 0 ? rc : ebt_ns_attr_target(l, follow, phys);
}

/* rc of a times call through (dirfd, p) on phys: when phys is this process's close-mode stage
 * of the name, the times are kept for its publication. */
static int times_done(int rc, int dirfd, const char *p, const char *phys)
{
    char l[PATH_MAX];
    struct ebt_stage *s = rc == 0 && ebt_resolve(dirfd, p, l) > 0 ? ebt_stage_find(l) : NULL;
    if (s && !strcmp(s->phys, phys))
        ebt_stage_times_set(-1, l);
    return rc;
}

/* utimensat's times: "now" (NULL, or both UTIME_NOW) needs write access, set times ownership. */
static int times_kind(const struct timespec ts[2])
{
    if (!ts || (ts[0].tv_nsec == UTIME_NOW && ts[1].tv_nsec == UTIME_NOW))
        return EBT_ATTR_TIMES_NOW;
    if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
        return 0;
    return EBT_ATTR_TIMES_SET;
}

/* On an fd of a managed file: the same rule, by the name it was opened with. */
static int fd_attr_check(int fd, struct attr_change c)
{
    struct ebt_ofd *o = c.kind ? ebt_fd_get(fd) : NULL;
    return o ? ebt_perm_attr(o->logical, 1, c.kind, c.u, c.g) : 0;
}

int chmod(const char *p, mode_t mode)
{
    char phys[PATH_MAX];
    int m, rc = attr_target(AT_FDCWD, p, 1, phys, &m, ATTR(EBT_ATTR_MODE));
    if (!m)
        return EBT_REAL(chmod)(p, mode);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(chmod)(phys, mode);
}

int fchmodat(int d, const char *p, mode_t mode, int fl)
{
    char phys[PATH_MAX];
    int m, rc = attr_target(d, p, !(fl & AT_SYMLINK_NOFOLLOW), phys, &m, ATTR(EBT_ATTR_MODE));
    if (!m)
        return EBT_REAL(fchmodat)(d, p, mode, fl);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(fchmodat)(AT_FDCWD, phys, mode, fl);
}

int chown(const char *p, uid_t u, gid_t g)
{
    char phys[PATH_MAX];
    int m, rc = attr_target(AT_FDCWD, p, 1, phys, &m, (struct attr_change){EBT_ATTR_OWNER, u, g});
    if (!m)
        return EBT_REAL(chown)(p, u, g);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(chown)(phys, u, g);
}

int lchown(const char *p, uid_t u, gid_t g)
{
    char phys[PATH_MAX];
    int m, rc = attr_target(AT_FDCWD, p, 0, phys, &m, (struct attr_change){EBT_ATTR_OWNER, u, g});
    if (!m)
        return EBT_REAL(lchown)(p, u, g);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(lchown)(phys, u, g);
}

int fchownat(int d, const char *p, uid_t u, gid_t g, int fl)
{
    char phys[PATH_MAX];
    if ((fl & AT_EMPTY_PATH) && ebt_path_empty(p))
        return EBT_REAL(fchownat)(d, p, u, g, fl);
    int m, rc = attr_target(d, p, !(fl & AT_SYMLINK_NOFOLLOW), phys, &m,
                            (struct attr_change){EBT_ATTR_OWNER, u, g});
    if (!m)
        return EBT_REAL(fchownat)(d, p, u, g, fl);
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(fchownat)(AT_FDCWD, phys, u, g, fl);
}

int utimensat(int d, const char *p, const struct timespec ts[2], int fl)
{
    char phys[PATH_MAX];
    int m, rc = attr_target(d, p, !(fl & AT_SYMLINK_NOFOLLOW), phys, &m, ATTR(times_kind(ts)));
    if (!m) /* (utimensat(fd, NULL, ...), futimens's system call, is not checked: glibc declares
             * the path non-null; futimens itself is wrapped) */
        return EBT_REAL(utimensat)(d, p, ts, fl);
    return rc < 0 ? ebt_libc_status(rc)
                  : times_done(EBT_REAL(utimensat)(AT_FDCWD, phys, ts, fl), d, p, phys);
}

int fchmod(int fd, mode_t mode)
{
    int rc = fd_attr_check(fd, ATTR(EBT_ATTR_MODE));
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(fchmod)(fd, mode);
}

int fchown(int fd, uid_t u, gid_t g)
{
    int rc = fd_attr_check(fd, (struct attr_change){EBT_ATTR_OWNER, u, g});
    return rc < 0 ? ebt_libc_status(rc) : EBT_REAL(fchown)(fd, u, g);
}

int futimens(int fd, const struct timespec ts[2])
{
    int rc = fd_attr_check(fd, ATTR(times_kind(ts)));
    if (rc < 0)
        return ebt_libc_status(rc);
    rc = EBT_REAL(futimens)(fd, ts);
    if (rc == 0 && ebt_fd_get(fd))
        ebt_stage_times_set(fd, NULL);
    return rc;
}

int utimes(const char *p, const struct timeval tv[2])
{
    char phys[PATH_MAX];
    int m, rc = attr_target(AT_FDCWD, p, 1, phys, &m,
                            ATTR(tv ? EBT_ATTR_TIMES_SET : EBT_ATTR_TIMES_NOW));
    if (!m)
        return EBT_REAL(utimes)(p, tv);
    return rc < 0 ? ebt_libc_status(rc) : times_done(EBT_REAL(utimes)(phys, tv), AT_FDCWD, p, phys);
}

int utime(const char *p, const struct utimbuf *t)
{
    char phys[PATH_MAX];
    int m, rc = attr_target(AT_FDCWD, p, 1, phys, &m,
                            ATTR(t ? EBT_ATTR_TIMES_SET : EBT_ATTR_TIMES_NOW));
    if (!m)
        return EBT_REAL(utime)(p, t);
    return rc < 0 ? ebt_libc_status(rc) : times_done(EBT_REAL(utime)(phys, t), AT_FDCWD, p, phys);
}

/* Links inside managed trees are not supported yet: refuse clearly, never touch the PFS. */
static int refuse_link(int dirfd, const char *p, const char *what, int *managed)
{
    ebt_mdc_written(dirfd, p);
    char l[PATH_MAX];
    *managed = ebt_resolve(dirfd, p, l) > 0;
    if (*managed && ebt_lower_covers(l)) {
        *managed = 0; /* the FUSE view makes links: the real call reaches it */
        return 0;
    }
    if (*managed)
        ebt_warn_once(what, l);
    return *managed ? ebt_libc_status(-ENOTSUP) : 0;
}

int symlink(const char *target, const char *p)
{
    int m, rc = refuse_link(AT_FDCWD, p, "symlink creation in managed trees is not supported", &m);
    return m ? rc : EBT_REAL(symlink)(target, p);
}

int symlinkat(const char *target, int d, const char *p)
{
    int m, rc = refuse_link(d, p, "symlink creation in managed trees is not supported", &m);
    return m ? rc : EBT_REAL(symlinkat)(target, d, p);
}

int link(const char *a, const char *b)
{
    int m1, m2, rc = refuse_link(AT_FDCWD, b, "hard links in managed trees are not supported", &m1);
    if (!m1)
        rc = refuse_link(AT_FDCWD, a, "hard links in managed trees are not supported", &m2);
    return (m1 || m2) ? rc : EBT_REAL(link)(a, b);
}

int linkat(int da, const char *a, int db, const char *b, int fl)
{
    int m1, m2 = 0, rc = refuse_link(db, b, "hard links in managed trees are not supported", &m1);
    if (!m1 && !ebt_path_empty(a))
        rc = refuse_link(da, a, "hard links in managed trees are not supported", &m2);
    return (m1 || m2) ? rc : EBT_REAL(linkat)(da, a, db, b, fl);
}

/* ---- working directory: the kernel's cwd is a physical directory, ours is logical ---- */

int chdir(const char *p)
{
    char l[PATH_MAX], top[1][PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0) {
        int rc = EBT_REAL(chdir)(p);
        if (rc == 0 && ebt.enabled)
            ebt_cwd_refresh();
        return rc;
    }
    struct ebt_found f;
    int rc = ebt_view_lookup(l, 1, &f);
    if (rc == 0 && !S_ISDIR(f.st.st_mode))
        rc = -ENOTDIR;
    if (rc == 0 && ebt_view_dir_sources(l, top, 1) != 1)
        rc = -ENOENT;
    if (rc == 0 && f.where == EBT_W_PFS && ebt_lower_covers(l))
        snprintf(top[0], PATH_MAX, "%s", l); /* the view, never the PFS beneath it */
    if (rc == 0 && EBT_REAL(chdir)(top[0]) < 0)
        rc = -errno;
    if (rc == 0) {
        memcpy(ebt.cwd, l, strlen(l) + 1);
        ebt.cwd_managed = 1;
    }
    return ebt_libc_status(rc);
}

int fchdir(int fd)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    int rc = EBT_REAL(fchdir)(fd);
    if (rc == 0 && o) {
        snprintf(ebt.cwd, sizeof(ebt.cwd), "%s", o->logical);
        ebt.cwd_managed = 1;
    } else if (rc == 0 && ebt.enabled) {
        ebt_cwd_refresh();
    }
    return rc;
}

char *getcwd(char *buf, size_t size)
{
    if (!ebt.enabled || !ebt.cwd_managed)
        return EBT_REAL(getcwd)(buf, size);
    size_t n = strlen(ebt.cwd) + 1;
    if (!buf)
        return strdup(ebt.cwd);
    if (size < n) {
        errno = size == 0 ? EINVAL : ERANGE;
        return NULL;
    }
    memcpy(buf, ebt.cwd, n);
    return buf;
}
