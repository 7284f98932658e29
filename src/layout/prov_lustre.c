/* prov_lustre.c - the lustre provider: layouts through the lustre.lov xattr (Lustre itself and
 * the PFS simulator), and the posix provider (no layouts). */
#define _GNU_SOURCE
#include "layout.h"
#include "log.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

static void count(uint64_t *ops)
{
    if (ops)
        __atomic_add_fetch(ops, 1, __ATOMIC_RELAXED);
}

/* Where the xattr is read from: an fd, or a path (followed or not). */
struct lov_src {
    int fd;
    const char *path;
    int follow;
};

static ssize_t src_get(const struct lov_src *s, void *buf, size_t cap)
{
    if (!s->path)
        return fgetxattr(s->fd, EBT_LOV_XATTR, buf, cap);
    return s->follow ? getxattr(s->path, EBT_LOV_XATTR, buf, cap)
                     : lgetxattr(s->path, EBT_LOV_XATTR, buf, cap);
}

static int get_errno(void)
{
    return errno == ENOTSUP ? -EOPNOTSUPP : -errno;
}

/* A blob too large for the stack buffer: ask its size, then read it whole. */
static int lov_load_big(const struct lov_src *s, struct ebt_lov *out)
{
    ssize_t n = src_get(s, NULL, 0);
    if (n < 0)
        return get_errno();
    if ((size_t)n > EBT_LOV_MAX_BLOB)
        return -E2BIG;
    void *buf = malloc((size_t)n + 1);
    if (!buf)
        return -ENOMEM;
    ssize_t got = src_get(s, buf, (size_t)n);
    int rc = got < 0 ? get_errno() : ebt_lov_parse(buf, (size_t)got, out);
    free(buf);
    return rc;
}

static int lov_load(const struct lov_src *s, struct ebt_lov *out)
{
    unsigned char small[4096];
    memset(out, 0, sizeof(*out));
    ssize_t n = src_get(s, small, sizeof(small));
    if (n >= 0)
        return ebt_lov_parse(small, (size_t)n, out);
    return errno == ERANGE ? lov_load_big(s, out) : get_errno();
}

int ebt_lov_read_fd(int fd, struct ebt_lov *out)
{
    struct lov_src s = {fd, NULL, 0};
    return lov_load(&s, out);
}

int ebt_lov_read_path(const char *path, int follow, struct ebt_lov *out)
{
    struct lov_src s = {-1, path, follow};
    return lov_load(&s, out);
}

static int lustre_get_fd(const struct ebt_layout_provider *p, int fd, struct ebt_lov *out,
                         uint64_t *ops)
{
    count(ops);
    return ebt_lov_read_fd(fd, out);
}

/* dirfd may be O_PATH (fgetxattr refuses those): go through its /proc/self/fd link. */
static int lustre_get_dir(const struct ebt_layout_provider *p, int dirfd, const char *name,
                          struct ebt_lov *out, uint64_t *ops)
{
    char path[PATH_MAX];
    int dot = !strcmp(name, ".");
    int n = dot ? snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd)
                : snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
    if (n < 0 || n >= (int)sizeof(path))
        return -ENAMETOOLONG;
    count(ops);
    return ebt_lov_read_path(path, dot, out);
}

/* Open with Lustre's delayed create, then set the layout while the file has no objects. */
static int lustre_create(const struct ebt_layout_provider *p, int dirfd, const char *name,
                         int flags, mode_t mode, const struct ebt_lov_req *rq, int *set_p,
                         uint64_t *ops)
{
    unsigned char blob[EBT_LOV_V3_SIZE];
    *set_p = 0;
    count(ops);
    int fd = ebt_sys_openat(dirfd, name, flags | (rq ? EBT_O_LOV_DELAY_CREATE : 0), mode);
    if (fd < 0 || !rq)
        return fd < 0 ? -errno : fd;
    long n = ebt_lov_build(rq, blob, sizeof(blob));
    if (n > 0)
        count(ops);
    if (n > 0 && fsetxattr(fd, EBT_LOV_XATTR, blob, (size_t)n, 0) == 0)
        *set_p = 1;
    else
        ebt_warn("layout: %s: cannot set %d stripe(s) of %u bytes: %s (the file keeps the "
                 "default layout)",
                 name, rq->stripe_count, rq->stripe_size, strerror(n > 0 ? errno : (int)-n));
    return fd;
}

const struct ebt_layout_ops ebt_layout_lustre_ops = {
    .name = "lustre",
    .create = lustre_create,
    .get_fd = lustre_get_fd,
    .get_dir = lustre_get_dir,
};

static int posix_create(const struct ebt_layout_provider *p, int dirfd, const char *name, int flags,
                        mode_t mode, const struct ebt_lov_req *rq, int *set_p, uint64_t *ops)
{
    *set_p = 0;
    count(ops);
    int fd = ebt_sys_openat(dirfd, name, flags, mode);
    return fd < 0 ? -errno : fd;
}

static int posix_get_fd(const struct ebt_layout_provider *p, int fd, struct ebt_lov *out,
                        uint64_t *ops)
{
    memset(out, 0, sizeof(*out));
    return -ENODATA;
}

static int posix_get_dir(const struct ebt_layout_provider *p, int dirfd, const char *name,
                         struct ebt_lov *out, uint64_t *ops)
{
    memset(out, 0, sizeof(*out));
    return -ENODATA;
}

const struct ebt_layout_ops ebt_layout_posix_ops = {
    .name = "posix",
    .create = posix_create,
    .get_fd = posix_get_fd,
    .get_dir = posix_get_dir,
};
