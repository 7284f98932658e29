/* wrap_stdio.c - stdio on managed files: fopen opens through EBT, fclose publishes.
 * A stream opened for reading is glibc's own on the real fd EBT opened (its reads never reach
 * our read(), and need not). A stream that may write is a cookie stream (stdio_cookie.c) whose
 * writes go through our write(), so a full cache spills instead of failing; fileno() of it
 * gives its fd. Writes through stdio are still published as a whole file. */
#define _GNU_SOURCE
#include "client.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* fopen mode -> open flags; clean is the mode without the letters fdopen has no use for. */
static int mode_flags(const char *mode, char *clean, size_t cap)
{
    int flags, plus = strchr(mode, '+') != NULL;
    switch (mode[0]) {
    case 'r':
        flags = plus ? O_RDWR : O_RDONLY;
        break;
    case 'w':
        flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC;
        break;
    case 'a':
        flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
        break;
    default:
        return -EINVAL;
    }
    size_t k = 0;
    for (const char *m = mode; *m && *m != ',' && k + 1 < cap; m++) {
        if (*m == 'x')
            flags |= O_EXCL;
        else if (*m == 'e')
            flags |= O_CLOEXEC;
        else
            clean[k++] = *m;
    }
    clean[k] = '\0';
    return flags;
}

static void mark_stdio_writer(int fd, int flags)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    if (o && o->track && (flags & O_ACCMODE) != O_RDONLY)
        o->untracked_writes = 1;
}

static FILE *fopen_managed(const char *logical, const char *mode)
{
    char clean[16];
    int flags = mode_flags(mode, clean, sizeof(clean));
    if (flags < 0) {
        errno = EINVAL;
        return NULL;
    }
    int fd = ebt_open_managed(logical, flags, 0666);
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    mark_stdio_writer(fd, flags);
    FILE *f =
        (flags & O_ACCMODE) != O_RDONLY ? ebt_cookie_open(fd, clean) : EBT_REAL(fdopen)(fd, clean);
    if (!f) {
        int e = errno;
        ebt_close_managed(fd);
        errno = e;
    }
    return f;
}

FILE *fopen(const char *p, const char *mode)
{
    char l[PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0)
        return EBT_REAL(fopen)(p, mode);
    return fopen_managed(l, mode);
}

FILE *fopen64(const char *p, const char *mode)
{
    char l[PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0)
        return EBT_REAL(fopen64)(p, mode);
    return fopen_managed(l, mode);
}

FILE *fdopen(int fd, const char *mode)
{
    int writes = mode && (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+'));
    if (!writes || !ebt_fd_get(fd))
        return EBT_REAL(fdopen)(fd, mode);
    char clean[16];
    int flags = mode_flags(mode, clean, sizeof(clean));
    if (flags < 0 || fcntl(fd, F_GETFL) < 0) { /* as fdopen: a bad mode or fd fails */
        errno = flags < 0 ? EINVAL : EBADF;
        return NULL;
    }
    FILE *f = ebt_cookie_open(fd, clean);
    if (f)
        mark_stdio_writer(fd, O_RDWR);
    return f;
}

/* glibc's answer fd for f, or the fd under one of our cookie streams (which has none). */
static int fileno_or_cookie(FILE *f, int fd, int e)
{
    int c = fd < 0 ? ebt_cookie_fd(f) : -1;
    if (c < 0)
        return fd;
    errno = e;
    return c;
}

int fileno(FILE *f)
{
    int e = errno;
    return fileno_or_cookie(f, EBT_REAL(fileno)(f), e);
}

int fileno_unlocked(FILE *f)
{
    int e = errno;
    return fileno_or_cookie(f, EBT_REAL(fileno_unlocked)(f), e);
}

static int fclose_real(void *f)
{
    return EBT_REAL(fclose)((FILE *)f);
}

int fclose(FILE *f)
{
    if (ebt_cookie_fd(f) >= 0) /* its close function closes the fd through EBT (publishing) */
        return EBT_REAL(fclose)(f);
    int fd = f ? fileno(f) : -1;
    if (!ebt_fd_get(fd))
        return EBT_REAL(fclose)(f);
    fflush(f); /* the data must be in the file before it is published */
    return ebt_release_fd(fd, fclose_real, f);
}

/* freopen of a cookie stream onto a path EBT does not manage: glibc would turn the stream into
 * a file stream and keep its cookie; the path is put under the stream's fd instead. */
static FILE *reopen_cookie(const char *p, const char *mode, FILE *f, int old)
{
    char clean[16];
    int flags = mode_flags(mode, clean, sizeof(clean));
    int fd = flags < 0 ? -1 : EBT_REAL(open)(p, flags, 0666);
    if (fd < 0) {
        if (flags < 0)
            errno = EINVAL;
        return NULL;
    }
    int rc = EBT_REAL(dup2)(fd, old);
    EBT_REAL(close)(fd);
    if (rc < 0)
        return NULL;
    clearerr(f);
    return f;
}

/* freopen onto a managed path: open it through EBT and put it under the stream's fd. */
static FILE *freopen_common(const char *p, const char *mode, FILE *f, int is64)
{
    char l[PATH_MAX];
    int old = f ? fileno(f) : -1;
    if (!p && ebt_cookie_fd(f) >= 0) { /* glibc reopens by fd, which a cookie stream lacks */
        fflush(f);
        clearerr(f);
        return f; /* the same file, its mode unchanged */
    }
    if (!p || ebt_resolve(AT_FDCWD, p, l) <= 0) {
        struct ebt_ofd *o = ebt_fd_get(old);
        if (o) { /* the old file is ours: publish it before stdio closes it behind our back */
            fflush(f);
            ebt_sync_managed(old);
            ebt_ofd_release(ebt_fd_take(old));
        }
        if (old >= 0 && ebt_cookie_fd(f) == old)
            return reopen_cookie(p, mode, f, old);
        return is64 ? EBT_REAL(freopen64)(p, mode, f) : EBT_REAL(freopen)(p, mode, f);
    }
    char clean[16];
    int flags = mode_flags(mode, clean, sizeof(clean));
    int fd = flags < 0 ? -EINVAL : ebt_open_managed(l, flags, 0666);
    if (fd < 0 || old < 0) {
        errno = fd < 0 ? -fd : EBADF;
        return NULL;
    }
    fflush(f);
    int rc = dup2(fd, old);
    close(fd);
    if (rc < 0)
        return NULL;
    mark_stdio_writer(old, flags);
    clearerr(f);
    return f;
}

FILE *freopen(const char *p, const char *mode, FILE *f)
{
    return freopen_common(p, mode, f, 0);
}

FILE *freopen64(const char *p, const char *mode, FILE *f)
{
    return freopen_common(p, mode, f, 1);
}
