/* wrap_open.c - wrappers: the open family, creat, close, dup/dup2/dup3, fcntl and the locks
 * (flock, lockf). */
#define _GNU_SOURCE
#include "client.h"
#include "lower.h"
#include "mdcache.h"
#include "real.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

/* The mode argument exists only when the flags create a file. */
#define EBT_OPEN_MODE(flags, last, out)                                                            \
    do {                                                                                           \
        va_list ap_;                                                                               \
        va_start(ap_, last);                                                                       \
        out = ((flags) & (O_CREAT | __O_TMPFILE)) ? va_arg(ap_, mode_t) : 0;                       \
        va_end(ap_);                                                                               \
    } while (0)

/* glibc's __O_TMPFILE includes O_DIRECTORY: a directory open is no write. */
static int write_intent(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) ||
           (flags & __O_TMPFILE) == __O_TMPFILE;
}

/* Not managed: under an input, a reading open without O_NOFOLLOW of a name the cache knows is
 * missing fails at once, others open relative to the directory's cached fd: the fd, -errno, or
 * 1 ("ask the kernel"). */
static int open_input(int dirfd, const char *path, int flags)
{
    char l[PATH_MAX];
    if (write_intent(flags) || (flags & O_NOFOLLOW) || !ebt_input_resolve(dirfd, path, l))
        return 1;
    int rc = ebt_mdc_absent(l, l);
    return rc < 0 ? rc : ebt_mdfd_open(l, l, flags, 0);
}

static int open_at(int dirfd, const char *path, int flags, mode_t mode, int *managed)
{
    char logical[PATH_MAX];
    if (write_intent(flags))
        ebt_mdc_written(dirfd, path); /* under an input: its cached answers are dropped */
    *managed = ebt_resolve(dirfd, path, logical) > 0;
    if (!*managed) {
        int rc = open_input(dirfd, path, flags);
        *managed = rc != 1;
        return rc == 1 ? 0 : rc;
    }
    if ((flags & __O_TMPFILE) == __O_TMPFILE && ebt_lower_covers(logical)) {
        *managed = 0; /* the kernel asks the view (EOPNOTSUPP there too: callers fall back) */
        return 0;
    }
    if ((flags & __O_TMPFILE) == __O_TMPFILE) {
        ebt_warn_once("O_TMPFILE is not supported on managed paths", logical);
        return -EOPNOTSUPP;
    }
    return ebt_open_managed(logical, flags, mode);
}

int open(const char *path, int flags, ...)
{
    mode_t mode;
    int managed;
    EBT_OPEN_MODE(flags, flags, mode);
    int rc = open_at(AT_FDCWD, path, flags, mode, &managed);
    return managed ? ebt_libc_status(rc) : EBT_REAL(open)(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode;
    int managed;
    EBT_OPEN_MODE(flags, flags, mode);
    int rc = open_at(AT_FDCWD, path, flags, mode, &managed);
    return managed ? ebt_libc_status(rc) : EBT_REAL(open64)(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode;
    int managed;
    EBT_OPEN_MODE(flags, flags, mode);
    int rc = open_at(dirfd, path, flags, mode, &managed);
    return managed ? ebt_libc_status(rc) : EBT_REAL(openat)(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    mode_t mode;
    int managed;
    EBT_OPEN_MODE(flags, flags, mode);
    int rc = open_at(dirfd, path, flags, mode, &managed);
    return managed ? ebt_libc_status(rc) : EBT_REAL(openat64)(dirfd, path, flags, mode);
}

/* Fortified variants (_FORTIFY_SOURCE): no mode argument, the flags never create. */
int __open_2(const char *path, int flags)
{
    int managed, rc = open_at(AT_FDCWD, path, flags, 0, &managed);
    return managed ? ebt_libc_status(rc) : EBT_REAL(__open_2)(path, flags);
}

int __open64_2(const char *path, int flags)
{
    int managed, rc = open_at(AT_FDCWD, path, flags, 0, &managed);
    return managed ? ebt_libc_status(rc) : EBT_REAL(__open64_2)(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
    int managed, rc = open_at(dirfd, path, flags, 0, &managed);
    return managed ? ebt_libc_status(rc) : EBT_REAL(__openat_2)(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
    int managed, rc = open_at(dirfd, path, flags, 0, &managed);
    return managed ? ebt_libc_status(rc) : EBT_REAL(__openat64_2)(dirfd, path, flags);
}

int creat(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
    return open64(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int close(int fd)
{
    if (!ebt_fd_get(fd))
        return EBT_REAL(close)(fd);
    return ebt_libc_status(ebt_close_managed(fd));
}

/* ---- duplication: the new number shares the open-file record ---- */

static int share_record(int oldfd, int newfd)
{
    struct ebt_ofd *o = ebt_fd_get(oldfd);
    if (newfd >= 0 && o) {
        ebt_ofd_ref(o);
        ebt_fd_set(newfd, o);
    }
    return newfd;
}

int dup(int fd)
{
    return share_record(fd, EBT_REAL(dup)(fd));
}

/* dup2/dup3 close newfd first: if that is the record's last fd here, this is its close, so
 * publish it while it is still open; otherwise (a shell restoring a saved fd over a duplicate)
 * nothing is published. Then duplicate. */
static int dup_onto(int oldfd, int newfd, int flags, int use_dup3)
{
    if (syscall(SYS_fcntl, oldfd, F_GETFD) < 0)
        return -1; /* EBADF, as the real call would say */
    if (oldfd == newfd)
        return use_dup3 ? (errno = EINVAL, -1) : newfd;
    struct ebt_ofd *victim = ebt_fd_get(newfd);
    if (victim && __atomic_load_n(&victim->refs, __ATOMIC_ACQUIRE) == 1)
        ebt_sync_managed(newfd);
    int rc = use_dup3 ? EBT_REAL(dup3)(oldfd, newfd, flags) : EBT_REAL(dup2)(oldfd, newfd);
    if (rc < 0)
        return rc;
    victim = ebt_fd_take(newfd);
    if (victim)
        ebt_ofd_release(victim);
    return share_record(oldfd, rc);
}

int dup2(int oldfd, int newfd)
{
    if (!ebt_fd_get(oldfd) && !ebt_fd_get(newfd))
        return EBT_REAL(dup2)(oldfd, newfd);
    return dup_onto(oldfd, newfd, 0, 0);
}

int dup3(int oldfd, int newfd, int flags)
{
    if (!ebt_fd_get(oldfd) && !ebt_fd_get(newfd))
        return EBT_REAL(dup3)(oldfd, newfd, flags);
    return dup_onto(oldfd, newfd, flags, 1);
}

static int fcntl_managed(int fd, int cmd, void *arg, int rc)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    if (rc < 0 || !o)
        return rc;
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        return share_record(fd, rc);
    if (cmd == F_SETFL) { /* the kernel keeps O_APPEND; we need it to record appends right */
        pthread_mutex_lock(&o->lock);
        o->flags = (o->flags & ~O_APPEND) | ((int)(long)arg & O_APPEND);
        pthread_mutex_unlock(&o->lock);
    }
    return rc;
}

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    struct ebt_ofd *o = ebt_is_lock_cmd(cmd) ? ebt_fd_get(fd) : NULL;
    if (o)
        return ebt_fcntl_lock_managed(fd, o, cmd, arg);
    return fcntl_managed(fd, cmd, arg, EBT_REAL(fcntl)(fd, cmd, arg));
}

int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    struct ebt_ofd *o = ebt_is_lock_cmd(cmd) ? ebt_fd_get(fd) : NULL;
    if (o)
        return ebt_fcntl_lock_managed(fd, o, cmd, arg);
    return fcntl_managed(fd, cmd, arg, EBT_REAL(fcntl64)(fd, cmd, arg));
}

int flock(int fd, int op)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    return o ? ebt_flock_managed(fd, o, op) : EBT_REAL(flock)(fd, op);
}

int lockf(int fd, int cmd, off_t len)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    return o ? ebt_lockf_managed(fd, o, cmd, len) : EBT_REAL(lockf)(fd, cmd, len);
}

int lockf64(int fd, int cmd, off64_t len)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    return o ? ebt_lockf_managed(fd, o, cmd, (off_t)len) : EBT_REAL(lockf64)(fd, cmd, len);
}
