/* real.h - the one interception idiom: every wrapped libc symbol, resolved once with RTLD_NEXT. */
#ifndef EBT_REAL_H
#define EBT_REAL_H

#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>

struct statx;
struct utimbuf;
struct timeval;

/* X(return type, name, parameter list). Adding a wrapper = one line here + its body. */
#define EBT_REAL_LIST(X)                                                                           \
    X(int, open, (const char *, int, ...))                                                         \
    X(int, open64, (const char *, int, ...))                                                       \
    X(int, openat, (int, const char *, int, ...))                                                  \
    X(int, openat64, (int, const char *, int, ...))                                                \
    X(int, __open_2, (const char *, int))                                                          \
    X(int, __open64_2, (const char *, int))                                                        \
    X(int, __openat_2, (int, const char *, int))                                                   \
    X(int, __openat64_2, (int, const char *, int))                                                 \
    X(int, creat, (const char *, mode_t))                                                          \
    X(int, creat64, (const char *, mode_t))                                                        \
    X(int, close, (int))                                                                           \
    X(ssize_t, write, (int, const void *, size_t))                                                 \
    X(ssize_t, pwrite, (int, const void *, size_t, off_t))                                         \
    X(ssize_t, pwrite64, (int, const void *, size_t, off64_t))                                     \
    X(ssize_t, writev, (int, const struct iovec *, int))                                           \
    X(ssize_t, pwritev, (int, const struct iovec *, int, off_t))                                   \
    X(ssize_t, pwritev64, (int, const struct iovec *, int, off64_t))                               \
    X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int))                             \
    X(ssize_t, pwritev64v2, (int, const struct iovec *, int, off64_t, int))                        \
    X(int, fsync, (int))                                                                           \
    X(int, fdatasync, (int))                                                                       \
    X(int, ftruncate, (int, off_t))                                                                \
    X(int, ftruncate64, (int, off64_t))                                                            \
    X(int, fallocate, (int, int, off_t, off_t))                                                    \
    X(int, fallocate64, (int, int, off64_t, off64_t))                                              \
    X(int, posix_fallocate, (int, off_t, off_t))                                                   \
    X(int, posix_fallocate64, (int, off64_t, off64_t))                                             \
    X(int, truncate, (const char *, off_t))                                                        \
    X(int, truncate64, (const char *, off64_t))                                                    \
    X(ssize_t, copy_file_range, (int, off64_t *, int, off64_t *, size_t, unsigned))                \
    X(ssize_t, sendfile, (int, int, off_t *, size_t))                                              \
    X(ssize_t, sendfile64, (int, int, off64_t *, size_t))                                          \
    X(void *, mmap, (void *, size_t, int, int, int, off_t))                                        \
    X(void *, mmap64, (void *, size_t, int, int, int, off64_t))                                    \
    X(int, dup, (int))                                                                             \
    X(int, dup2, (int, int))                                                                       \
    X(int, dup3, (int, int, int))                                                                  \
    X(int, fcntl, (int, int, ...))                                                                 \
    X(int, fcntl64, (int, int, ...))                                                               \
    X(int, stat, (const char *, struct stat *))                                                    \
    X(int, stat64, (const char *, struct stat64 *))                                                \
    X(int, lstat, (const char *, struct stat *))                                                   \
    X(int, lstat64, (const char *, struct stat64 *))                                               \
    X(int, fstatat, (int, const char *, struct stat *, int))                                       \
    X(int, fstat, (int, struct stat *))                                                            \
    X(int, fstat64, (int, struct stat64 *))                                                        \
    X(int, __fxstat, (int, int, struct stat *))                                                    \
    X(int, __fxstat64, (int, int, struct stat64 *))                                                \
    X(int, fstatat64, (int, const char *, struct stat64 *, int))                                   \
    X(int, __xstat, (int, const char *, struct stat *))                                            \
    X(int, __xstat64, (int, const char *, struct stat64 *))                                        \
    X(int, __lxstat, (int, const char *, struct stat *))                                           \
    X(int, __lxstat64, (int, const char *, struct stat64 *))                                       \
    X(int, __fxstatat, (int, int, const char *, struct stat *, int))                               \
    X(int, __fxstatat64, (int, int, const char *, struct stat64 *, int))                           \
    X(int, statx, (int, const char *, int, unsigned, struct statx *))                              \
    X(int, access, (const char *, int))                                                            \
    X(int, faccessat, (int, const char *, int, int))                                               \
    X(int, euidaccess, (const char *, int))                                                        \
    X(int, eaccess, (const char *, int))                                                           \
    X(int, statfs, (const char *, struct statfs *))                                                \
    X(int, statfs64, (const char *, struct statfs64 *))                                            \
    X(int, fstatfs, (int, struct statfs *))                                                        \
    X(int, fstatfs64, (int, struct statfs64 *))                                                    \
    X(int, unlink, (const char *))                                                                 \
    X(int, unlinkat, (int, const char *, int))                                                     \
    X(int, remove, (const char *))                                                                 \
    X(int, rename, (const char *, const char *))                                                   \
    X(int, renameat, (int, const char *, int, const char *))                                       \
    X(int, renameat2, (int, const char *, int, const char *, unsigned))                            \
    X(int, mkdir, (const char *, mode_t))                                                          \
    X(int, mkdirat, (int, const char *, mode_t))                                                   \
    X(int, rmdir, (const char *))                                                                  \
    X(int, chmod, (const char *, mode_t))                                                          \
    X(int, fchmodat, (int, const char *, mode_t, int))                                             \
    X(int, chown, (const char *, uid_t, gid_t))                                                    \
    X(int, lchown, (const char *, uid_t, gid_t))                                                   \
    X(int, fchownat, (int, const char *, uid_t, gid_t, int))                                       \
    X(int, fchmod, (int, mode_t))                                                                  \
    X(int, fchown, (int, uid_t, gid_t))                                                            \
    X(int, futimens, (int, const struct timespec *))                                               \
    X(int, utimensat, (int, const char *, const struct timespec *, int))                           \
    X(int, utimes, (const char *, const struct timeval *))                                         \
    X(int, utime, (const char *, const struct utimbuf *))                                          \
    X(int, symlink, (const char *, const char *))                                                  \
    X(int, symlinkat, (const char *, int, const char *))                                           \
    X(int, link, (const char *, const char *))                                                     \
    X(int, linkat, (int, const char *, int, const char *, int))                                    \
    X(ssize_t, readlink, (const char *, char *, size_t))                                           \
    X(ssize_t, readlinkat, (int, const char *, char *, size_t))                                    \
    X(char *, realpath, (const char *, char *))                                                    \
    X(ssize_t, getxattr, (const char *, const char *, void *, size_t))                             \
    X(ssize_t, lgetxattr, (const char *, const char *, void *, size_t))                            \
    X(ssize_t, listxattr, (const char *, char *, size_t))                                          \
    X(ssize_t, llistxattr, (const char *, char *, size_t))                                         \
    X(int, setxattr, (const char *, const char *, const void *, size_t, int))                      \
    X(int, lsetxattr, (const char *, const char *, const void *, size_t, int))                     \
    X(int, removexattr, (const char *, const char *))                                              \
    X(int, lremovexattr, (const char *, const char *))                                             \
    X(int, chdir, (const char *))                                                                  \
    X(int, fchdir, (int))                                                                          \
    X(char *, getcwd, (char *, size_t))                                                            \
    X(DIR *, opendir, (const char *))                                                              \
    X(DIR *, fdopendir, (int))                                                                     \
    X(struct dirent *, readdir, (DIR *))                                                           \
    X(struct dirent64 *, readdir64, (DIR *))                                                       \
    X(int, closedir, (DIR *))                                                                      \
    X(void, rewinddir, (DIR *))                                                                    \
    X(FILE *, fopen, (const char *, const char *))                                                 \
    X(FILE *, fopen64, (const char *, const char *))                                               \
    X(FILE *, freopen, (const char *, const char *, FILE *))                                       \
    X(FILE *, freopen64, (const char *, const char *, FILE *))                                     \
    X(FILE *, fdopen, (int, const char *))                                                         \
    X(int, fclose, (FILE *))                                                                       \
    X(int, fileno, (FILE *))                                                                       \
    X(int, fileno_unlocked, (FILE *))                                                              \
    X(int, execve, (const char *, char *const[], char *const[]))                                   \
    X(int, execveat, (int, const char *, char *const[], char *const[], int))                       \
    X(int, fexecve, (int, char *const[], char *const[]))                                           \
    X(int, execv, (const char *, char *const[]))                                                   \
    X(int, execvp, (const char *, char *const[]))                                                  \
    X(int, execvpe, (const char *, char *const[], char *const[]))                                  \
    X(int, flock, (int, int))                                                                      \
    X(int, lockf, (int, int, off_t))                                                               \
    X(int, lockf64, (int, int, off64_t))                                                           \
    X(void, _exit, (int))                                                                          \
    X(void, _Exit, (int))

#define EBT_REAL_FIELD(ret, name, params) ret(*name) params;
struct ebt_real_table {
    EBT_REAL_LIST(EBT_REAL_FIELD)
};
#undef EBT_REAL_FIELD

extern struct ebt_real_table ebt_real;
void ebt_real_resolve_all(void);

/* The real libc function, resolved on first use (also before the constructor has run). */
#define EBT_REAL(name) (ebt_real.name ? ebt_real.name : (ebt_real_resolve_all(), ebt_real.name))

#endif
