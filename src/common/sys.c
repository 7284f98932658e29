/* sys.c - full-length I/O loops, recursive mkdir and removal, on raw system calls. */
#define _GNU_SOURCE
#include "sys.h"

#include <dirent.h>
#include <linux/fs.h>
#include <errno.h>
#include <time.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int ebt_write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = ebt_sys_write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        if (w == 0)
            return -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ebt_pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = ebt_sys_pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        if (w == 0)
            return -EIO;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int copy_range_by_buffer(int in, int out, off_t off, off_t len)
{
    char buf[1 << 16];
    while (len > 0) {
        size_t want = len < (off_t)sizeof(buf) ? (size_t)len : sizeof(buf);
        ssize_t r = ebt_sys_pread(in, buf, want, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return 0;
        int rc = ebt_pwrite_full(out, buf, (size_t)r, off);
        if (rc < 0)
            return rc;
        off += r;
        len -= r;
    }
    return 0;
}

int ebt_copy_range(int in, int out, off_t off, off_t len)
{
    off_t ioff = off, ooff = off;
    while (len > 0) {
        ssize_t n = ebt_sys_copy_range(in, &ioff, out, &ooff, (size_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
            return copy_range_by_buffer(in, out, ioff, len);
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        len -= n;
    }
    return 0;
}

int ebt_mkdirs(const char *path, mode_t mode, int parent_only)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    if (parent_only) {
        char *slash = strrchr(buf, '/');
        if (!slash || slash == buf)
            return 0;
        *slash = '\0';
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (ebt_sys_mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    return 0;
}

int ebt_open_mkparents(const char *path, int flags, mode_t mode)
{
    int fd = ebt_sys_open(path, flags, mode);
    if (fd < 0 && errno == ENOENT && (flags & O_CREAT)) {
        int rc = ebt_mkdirs(path, 0755, 1);
        if (rc < 0)
            return rc;
        fd = ebt_sys_open(path, flags, mode);
    }
    return fd < 0 ? -errno : fd;
}

int ebt_rename_noreplace_mkparents(const char *from, const char *to)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno != ENOENT || attempt == 1)
            break;
        int rc = ebt_mkdirs(to, 0755, 1);
        if (rc < 0)
            return rc;
    }
    return -errno;
}

int ebt_copy_to_new(const char *src, const char *dst, mode_t mode, struct stat *dst_st)
{
    struct stat sst, dst_local;
    int in = ebt_sys_open(src, O_RDONLY | O_CLOEXEC, 0), out = -1, rc = 0;
    if (in < 0)
        return -errno;
    if (ebt_sys_fstat(in, &sst) < 0)
        rc = -errno;
    if (mode == (mode_t)-1)
        mode = sst.st_mode & 07777;
    if (rc == 0 && (out = ebt_sys_open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        rc = -errno;
    if (rc == 0)
        rc = ebt_copy_range(in, out, 0, sst.st_size);
    if (rc == 0 && ebt_sys_fchmod(out, mode) < 0) /* exact mode, whatever the umask */
        rc = -errno;
    if (rc == 0 && ebt_sys_fstat(out, dst_st ? dst_st : &dst_local) < 0)
        rc = -errno;
    ebt_sys_close(in);
    if (out >= 0)
        ebt_sys_close(out);
    if (rc < 0 && out >= 0)
        ebt_sys_unlink(dst);
    return rc;
}

int ebt_remove_tree(const char *path)
{
    struct stat st;
    if (ebt_sys_lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return ebt_sys_unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    int fd = ebt_sys_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    char buf[8192], child[PATH_MAX];
    int rc = 0;
    for (;;) {
        ssize_t n = ebt_sys_getdents64(fd, buf, sizeof(buf));
        if (n <= 0) {
            if (n < 0)
                rc = -errno;
            break;
        }
        for (ssize_t pos = 0; pos < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + pos);
            pos += d->d_reclen;
            if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
                continue;
            if (snprintf(child, sizeof(child), "%s/%s", path, d->d_name) >= (int)sizeof(child))
                rc = -ENAMETOOLONG;
            else if (ebt_remove_tree(child) < 0 && rc == 0)
                rc = -EIO;
        }
    }
    ebt_sys_close(fd);
    if (ebt_sys_rmdir(path) < 0 && errno != ENOENT && rc == 0)
        rc = -errno;
    return rc;
}

double ebt_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
