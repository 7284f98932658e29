/* lock.c - file locks on managed files. flock, fcntl (POSIX and OFD) and lockf locks taken
 * through a managed fd land on one lock file per logical file, RUN/locks/<hash>, held open by
 * the fd's open-file record: writers of one file in close mode each have a private stage, yet
 * they exclude each other exactly as the kernel makes them do natively (the lock belongs to the
 * open file description, shared by dup and fork and handed over at exec). A close-mode file that
 * is locked becomes one shared copy for this process (ebt_stage_promote): lockers coordinate. */
#define _GNU_SOURCE
#include "client.h"
#include "real.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define LOCK_DIR "locks"

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int open_lock_file(const char *logical)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/" LOCK_DIR "/%016llx", ebt.cfg.run_dir,
                     (unsigned long long)fnv1a(logical));
    if (n >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
    int fd = ebt_sys_open(path, flags, 0600);
    if (fd < 0 && errno == ENOENT) { /* a run directory made before locks/ existed */
        char *slash = strrchr(path, '/');
        *slash = '\0';
        int made = ebt_sys_mkdir(path, 0700);
        *slash = '/';
        if (made < 0 && errno != EEXIST)
            return -errno;
        fd = ebt_sys_open(path, flags, 0600);
    }
    return fd < 0 ? -errno : fd;
}

/* The record's lock fd: opened at its first lock, or when the record is about to be shared with
 * another process (fork, exec), so that a lock taken there is on the same open file description
 * as natively. Lock-free: two threads racing keep one. */
static int lock_fd_of(struct ebt_ofd *o)
{
    int fd = __atomic_load_n(&o->lock_fd, __ATOMIC_ACQUIRE), none = -1;
    if (fd >= 0)
        return fd;
    fd = open_lock_file(o->logical);
    if (fd < 0)
        return fd;
    if (!__atomic_compare_exchange_n(&o->lock_fd, &none, fd, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        ebt_sys_close(fd);
        fd = none;
    }
    return fd;
}

void ebt_lock_prepare_share(struct ebt_ofd *o)
{
    if (o->kind != EBT_OFD_DIR)
        lock_fd_of(o);
}

int ebt_flock_managed(int fd, struct ebt_ofd *o, int op)
{
    if ((op & LOCK_UN) && o->lock_fd < 0)
        return 0; /* never locked */
    if (!(op & LOCK_UN))
        ebt_stage_promote(o, fd); /* the lockers see one copy, as natively */
    int lfd = lock_fd_of(o);
    return lfd < 0 ? ebt_libc_status(lfd) : EBT_REAL(flock)(lfd, op);
}

/* A lock range relative to the managed fd (SEEK_CUR, SEEK_END) made absolute for the lock file. */
static int absolute_range(int fd, struct flock *fl)
{
    off_t base = 0;
    struct stat st;
    if (fl->l_whence == SEEK_CUR)
        base = (off_t)syscall(SYS_lseek, fd, 0, SEEK_CUR);
    else if (fl->l_whence == SEEK_END)
        base = ebt_sys_fstat(fd, &st) < 0 ? -1 : st.st_size;
    else if (fl->l_whence != SEEK_SET)
        return -EINVAL;
    if (base < 0)
        return -errno;
    fl->l_start += base;
    fl->l_whence = SEEK_SET;
    return 0;
}

int ebt_is_lock_cmd(int cmd)
{
    return cmd == F_GETLK || cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_GETLK ||
           cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
}

int ebt_fcntl_lock_managed(int fd, struct ebt_ofd *o, int cmd, struct flock *fl)
{
    struct flock abs = *fl;
    if (fl->l_type != F_UNLCK && cmd != F_GETLK && cmd != F_OFD_GETLK)
        ebt_stage_promote(o, fd); /* the lockers see one copy, as natively (before SEEK_END) */
    int rc = absolute_range(fd, &abs);
    if (rc < 0)
        return ebt_libc_status(rc);
    if (abs.l_type == F_UNLCK && o->lock_fd < 0 && cmd != F_GETLK && cmd != F_OFD_GETLK)
        return 0;
    int lfd = lock_fd_of(o);
    if (lfd < 0)
        return ebt_libc_status(lfd);
    rc = (int)syscall(SYS_fcntl, lfd, cmd, &abs);
    if (rc == 0 && (cmd == F_GETLK || cmd == F_OFD_GETLK))
        *fl = abs;
    return rc;
}

int ebt_lockf_managed(int fd, struct ebt_ofd *o, int cmd, off_t len)
{
    struct flock fl = {.l_whence = SEEK_CUR, .l_start = 0, .l_len = len};
    switch (cmd) {
    case F_TEST:
        fl.l_type = F_RDLCK;
        if (ebt_fcntl_lock_managed(fd, o, F_GETLK, &fl) < 0)
            return -1;
        if (fl.l_type == F_UNLCK || fl.l_pid == getpid())
            return 0;
        errno = EACCES;
        return -1;
    case F_ULOCK:
        fl.l_type = F_UNLCK;
        return ebt_fcntl_lock_managed(fd, o, F_SETLK, &fl);
    case F_LOCK:
        fl.l_type = F_WRLCK;
        return ebt_fcntl_lock_managed(fd, o, F_SETLKW, &fl);
    case F_TLOCK:
        fl.l_type = F_WRLCK;
        return ebt_fcntl_lock_managed(fd, o, F_SETLK, &fl);
    default:
        errno = EINVAL;
        return -1;
    }
}
