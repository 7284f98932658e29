/* sys.h - raw system calls used by EBT's own I/O, so it never re-enters the client's wrappers. */
#ifndef EBT_SYS_H
#define EBT_SYS_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* PFS operation counting (pfscount.h): when set, every call below that names a path from the
 * current directory (AT_FDCWD) hands the path to it first. */
extern void (*ebt_sys_path_hook)(const char *path);
static inline void ebt_sys_seen(int dirfd, const char *path)
{
    if (__builtin_expect(ebt_sys_path_hook != NULL, 0) && (dirfd == AT_FDCWD || *path == '/'))
        ebt_sys_path_hook(path);
}

/* Each returns what the kernel returns; on failure -1 with errno set (syscall(2) semantics). */
static inline int ebt_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    ebt_sys_seen(dirfd, path);
    return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}
static inline int ebt_sys_open(const char *path, int flags, mode_t mode)
{
    return ebt_sys_openat(AT_FDCWD, path, flags, mode);
}
static inline int ebt_sys_close(int fd)
{
    return (int)syscall(SYS_close, fd);
}
static inline ssize_t ebt_sys_read(int fd, void *buf, size_t n)
{
    return syscall(SYS_read, fd, buf, n);
}
static inline ssize_t ebt_sys_write(int fd, const void *buf, size_t n)
{
    return syscall(SYS_write, fd, buf, n);
}
static inline ssize_t ebt_sys_pread(int fd, void *buf, size_t n, off_t off)
{
    return syscall(SYS_pread64, fd, buf, n, off);
}
static inline ssize_t ebt_sys_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return syscall(SYS_pwrite64, fd, buf, n, off);
}
static inline off_t ebt_sys_lseek(int fd, off_t off, int whence)
{
    return (off_t)syscall(SYS_lseek, fd, off, whence);
}
static inline int ebt_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    if (*path)
        ebt_sys_seen(dirfd, path);
    return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}
static inline int ebt_sys_stat(const char *path, struct stat *st)
{
    return ebt_sys_fstatat(AT_FDCWD, path, st, 0);
}
static inline int ebt_sys_lstat(const char *path, struct stat *st)
{
    return ebt_sys_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
static inline int ebt_sys_fstat(int fd, struct stat *st)
{
    return ebt_sys_fstatat(fd, "", st, AT_EMPTY_PATH);
}
static inline int ebt_sys_mkdir(const char *path, mode_t mode)
{
    ebt_sys_seen(AT_FDCWD, path);
    return (int)syscall(SYS_mkdirat, AT_FDCWD, path, mode);
}
static inline int ebt_sys_unlink(const char *path)
{
    ebt_sys_seen(AT_FDCWD, path);
    return (int)syscall(SYS_unlinkat, AT_FDCWD, path, 0);
}
static inline int ebt_sys_rmdir(const char *path)
{
    ebt_sys_seen(AT_FDCWD, path);
    return (int)syscall(SYS_unlinkat, AT_FDCWD, path, AT_REMOVEDIR);
}
static inline int ebt_sys_rename(const char *from, const char *to)
{
    ebt_sys_seen(AT_FDCWD, from);
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 0);
}
static inline int ebt_sys_ftruncate(int fd, off_t len)
{
    return (int)syscall(SYS_ftruncate, fd, len);
}
static inline int ebt_sys_fsync(int fd)
{
    return (int)syscall(SYS_fsync, fd);
}
static inline int ebt_sys_fchmod(int fd, mode_t mode)
{
    return (int)syscall(SYS_fchmod, fd, mode);
}
static inline int ebt_sys_access(const char *path, int mode)
{
    ebt_sys_seen(AT_FDCWD, path);
    return (int)syscall(SYS_faccessat, AT_FDCWD, path, mode);
}
static inline ssize_t ebt_sys_getdents64(int fd, void *buf, size_t n)
{
    return syscall(SYS_getdents64, fd, buf, n);
}
static inline ssize_t ebt_sys_copy_range(int in, off_t *ioff, int out, off_t *ooff, size_t n)
{
    return syscall(SYS_copy_file_range, in, ioff, out, ooff, n, 0);
}
static inline ssize_t ebt_sys_readlink(const char *path, char *buf, size_t n)
{
    ebt_sys_seen(AT_FDCWD, path);
    return syscall(SYS_readlinkat, AT_FDCWD, path, buf, n);
}

/* Full-length helpers: loop over short transfers; return 0 or -errno. */
int ebt_write_full(int fd, const void *buf, size_t n);
int ebt_pwrite_full(int fd, const void *buf, size_t n, off_t off);
/* Copy [off, off+len) from in to out at the same offset; 0 or -errno. Short source = hole (zeros
 * are not written: the target keeps its bytes, so callers extend with ftruncate first). */
int ebt_copy_range(int in, int out, off_t off, off_t len);
/* mkdir -p of every component of path (not path itself if parent_only); 0 or -errno. */
int ebt_mkdirs(const char *path, mode_t mode, int parent_only);
/* open(2) that, when a create fails for a missing parent, makes the parents and retries: the
 * common case (parent present) costs one system call. fd or -errno. */
int ebt_open_mkparents(const char *path, int flags, mode_t mode);
/* renameat2(RENAME_NOREPLACE), making the target's parents if they are missing. 0 or -errno. */
int ebt_rename_noreplace_mkparents(const char *from, const char *to);
/* Copy the whole file at src into a new file dst (replaced if present) with the given mode
 * ((mode_t)-1: src's mode); dst_st (optional) gets dst's stat after the copy. On failure dst is
 * removed. 0 or -errno. */
int ebt_copy_to_new(const char *src, const char *dst, mode_t mode, struct stat *dst_st);
/* rm -rf path using raw calls; 0 or -errno. */
int ebt_remove_tree(const char *path);
/* Seconds on the monotonic clock (for durations). */
double ebt_now_s(void);

#endif
