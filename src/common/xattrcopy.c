/* xattrcopy.c - copy user extended attributes between open files (xattrcopy.h), on raw system
 * calls (the preloaded client's wrappers are never involved). */
#define _GNU_SOURCE
#include "xattrcopy.h"
#include "sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define XATTR_LIST_CAP 65536
#define XATTR_VALUE_CAP 65536

static int copied(const char *key)
{
    return !strncmp(key, "user.", 5) &&
           strncmp(key, EBT_XATTR_RESERVED, sizeof(EBT_XATTR_RESERVED) - 1) != 0;
}

/* The names of fd's attributes in list (XATTR_LIST_CAP): their bytes, 0 if none are kept, or
 * -errno. */
static long list_of(int fd, char *list)
{
    long n = syscall(SYS_flistxattr, fd, list, XATTR_LIST_CAP);
    if (n < 0)
        return errno == ENOTSUP ? 0 : -errno;
    return n;
}

int ebt_xattr_any(int src_fd)
{
    char *list = malloc(XATTR_LIST_CAP);
    long n = list ? list_of(src_fd, list) : -ENOMEM;
    int any = 0;
    for (long off = 0; n > 0 && off < n && !any; off += (long)strlen(list + off) + 1)
        any = copied(list + off);
    free(list);
    return n < 0 ? (int)n : any;
}

static int set_one(int dst_fd, const char *key, const void *val, size_t n, int *mode_changed)
{
    if (syscall(SYS_fsetxattr, dst_fd, key, val, n, 0) == 0)
        return 0;
    struct stat st;
    if (errno != EACCES || ebt_sys_fstat(dst_fd, &st) < 0 ||
        ebt_sys_fchmod(dst_fd, st.st_mode | S_IWUSR) < 0)
        return -errno;
    *mode_changed = 1;
    return syscall(SYS_fsetxattr, dst_fd, key, val, n, 0) == 0 ? 0 : -errno;
}

int ebt_xattr_copy(int src_fd, int dst_fd, int *mode_changed)
{
    char *list = malloc(XATTR_LIST_CAP), *val = malloc(XATTR_VALUE_CAP);
    long n = list && val ? list_of(src_fd, list) : -ENOMEM;
    int rc = n < 0 ? (int)n : 0, set = 0;
    for (long off = 0; rc == 0 && off < n; off += (long)strlen(list + off) + 1) {
        const char *key = list + off;
        if (!copied(key))
            continue;
        long v = syscall(SYS_fgetxattr, src_fd, key, val, XATTR_VALUE_CAP);
        if (v < 0) {
            rc = errno == ENODATA ? 0 : -errno; /* removed meanwhile */
            continue;
        }
        rc = set_one(dst_fd, key, val, (size_t)v, mode_changed);
        set += rc == 0;
    }
    free(list);
    free(val);
    if (rc == -ENOTSUP) /* the destination file system keeps none */
        rc = 0;
    return rc < 0 ? rc : set;
}
