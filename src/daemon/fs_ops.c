/* fs_ops.c - the FUSE view's operations: each maps a path under one managed prefix onto the
 * layered namespace (layers.h). Writes go straight into the up layer (docs/semantics.md says
 * what that means for each visibility mode). ebtd is never preloaded: plain libc calls here. */
#define _GNU_SOURCE
#include "fs_int.h"
#include "log.h"
#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The fd behind an open file's handle, or -1 (none, or a directory's handle). */
static int fh_fd(const struct fuse_file_info *fi)
{
    return fi && fi->fh ? ((const struct fs_file *)(uintptr_t)fi->fh)->fd : -1;
}

static struct ebtd_fs_mount *mount_of_call(void)
{
    return fuse_get_context()->private_data;
}

/* The logical path of a path inside the mount ("/" is the prefix itself). */
static int logical_of(const char *path, char *out)
{
    const char *prefix = mount_of_call()->prefix;
    int n = strcmp(path, "/") == 0 ? snprintf(out, PATH_MAX, "%s", prefix)
                                   : snprintf(out, PATH_MAX, "%s%s", prefix, path);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

#define LOGICAL(var, path)                                                                         \
    char var[PATH_MAX];                                                                            \
    do {                                                                                           \
        int lrc_ = logical_of(path, var);                                                          \
        if (lrc_ < 0)                                                                              \
            return lrc_;                                                                           \
    } while (0)

static const struct ebt_layers *layers(void)
{
    return &mount_of_call()->fs->layers;
}

/* Inode numbers of the two layers never collide (tar and cp -a pair hard links by them). */
static void fix_ino(struct stat *st, int layer)
{
    st->st_ino = (st->st_ino << 1) | (layer == EBT_L_LOWER);
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    if (fh_fd(fi) >= 0) {
        struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
        if (fstat(f->fd, st) < 0)
            return -errno;
        fix_ino(st, f->layer);
        return 0;
    }
    LOGICAL(logical, path);
    struct ebt_hit h;
    int rc = ebt_layers_lookup(layers(), logical, &h);
    if (rc == 0) {
        *st = h.st;
        fix_ino(st, h.layer);
    }
    return rc;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
    LOGICAL(logical, path);
    struct ebt_hit h;
    int rc = ebt_layers_lookup(layers(), logical, &h);
    if (rc < 0)
        return rc;
    ssize_t n = readlink(h.phys, buf, size - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return 0;
}

/* Make up/<logical> the thing to change: copy a lower file, directory or symlink up. */
static int up_target(const char *logical, char *up)
{
    struct ebt_hit h;
    int rc = ebt_layers_lookup(layers(), logical, &h);
    if (rc < 0)
        return rc;
    if ((rc = ebt_layers_up_path(layers(), logical, up)) < 0 || h.layer == EBT_L_UP)
        return rc;
    if (S_ISREG(h.st.st_mode) && fs_was_spilled(mount_of_call()->fs, logical)) {
        snprintf(up, PATH_MAX, "%s", h.phys); /* it lives on the PFS now */
        return 0;
    }
    if (S_ISDIR(h.st.st_mode))
        return ebt_layers_up_dir(layers(), logical);
    if (S_ISREG(h.st.st_mode))
        return ebt_layers_copy_up(layers(), logical, 0);
    return -EOPNOTSUPP; /* a PFS symlink, FIFO or device: changed only by replacing it */
}

/* Prepare a new name in up: its parent directory exists there and no whiteout stays on it.
 * Returns 1 if the name hid something below (a removed PFS name). */
/* A name the job may not make (reserved for EBT's markers): said once in the log. */
static int refuse_reserved(const char *logical)
{
    static int said;
    if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
        ebt_warn("fuse view: %s: names beginning with " EBT_RESERVED_PREFIX
                 " are reserved by EBT in managed directories (EINVAL)",
                 logical);
    return -EINVAL;
}

static int new_name(const char *logical, char *up)
{
    if (ebt_leaf_reserved(logical))
        return refuse_reserved(logical);
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", logical);
    *strrchr(parent, '/') = '\0';
    int rc = ebt_layers_up_dir(layers(), parent[0] ? parent : "/");
    if (rc < 0 || (rc = ebt_layers_up_path(layers(), logical, up)) < 0)
        return rc;
    int hid = ebt_layers_has_whiteout(layers(), logical);
    if (hid)
        ebt_layers_unwhiteout(layers(), logical);
    return hid;
}

static int fs_mknod(const char *path, mode_t mode, dev_t rdev)
{
    LOGICAL(logical, path);
    char up[PATH_MAX];
    int rc = new_name(logical, up);
    if (rc < 0)
        return rc;
    if (mknod(up, mode, rdev) < 0)
        return -errno;
    return chmod(up, mode & 07777) < 0 ? -errno : 0;
}

static int fs_mkdir(const char *path, mode_t mode)
{
    LOGICAL(logical, path);
    char up[PATH_MAX];
    int hid = new_name(logical, up);
    if (hid < 0)
        return hid;
    if (mkdir(up, 0700) < 0)
        return -errno;
    if (chmod(up, mode & 07777) < 0)
        return -errno;
    return hid ? ebt_layers_make_opaque(layers(), logical) : 0;
}

static int fs_unlink(const char *path)
{
    LOGICAL(logical, path);
    char up[PATH_MAX];
    struct stat st;
    int rc = ebt_layers_up_path(layers(), logical, up);
    if (rc < 0)
        return rc;
    if (lstat(up, &st) == 0) {
        if (unlink(up) < 0)
            return -errno;
        ebt_layers_forget_meta(layers(), &st);
    }
    return ebt_layers_in_lower(layers(), logical) ? ebt_layers_whiteout(layers(), logical) : 0;
}

static int fs_rmdir(const char *path)
{
    LOGICAL(logical, path);
    char *names = NULL;
    size_t bytes;
    int n = ebt_layers_list(layers(), logical, &names, &bytes);
    free(names);
    if (n < 0)
        return n;
    if (n > 0)
        return -ENOTEMPTY;
    int rc = ebt_layers_remove_up_dir(layers(), logical);
    if (rc < 0)
        return rc;
    return ebt_layers_in_lower(layers(), logical) ? ebt_layers_whiteout(layers(), logical) : 0;
}

static int fs_symlink(const char *target, const char *path)
{
    LOGICAL(logical, path);
    char up[PATH_MAX];
    int rc = new_name(logical, up);
    if (rc < 0)
        return rc;
    return symlink(target, up) < 0 ? -errno : 0;
}

static int fs_link(const char *from, const char *to)
{
    LOGICAL(lfrom, from);
    LOGICAL(lto, to);
    char ufrom[PATH_MAX], uto[PATH_MAX];
    int rc = up_target(lfrom, ufrom);
    if (rc < 0 || (rc = new_name(lto, uto)) < 0)
        return rc;
    return link(ufrom, uto) < 0 ? -errno : 0;
}

/* rename: the source moves inside up; a source that the PFS also has leaves a whiteout; a
 * directory that the PFS holds content of cannot move there (EXDEV: mv copies instead). */
static int fs_rename(const char *from, const char *to, unsigned int flags)
{
    LOGICAL(lfrom, from);
    LOGICAL(lto, to);
    if (flags & ~RENAME_NOREPLACE)
        return -EINVAL;
    if (ebt_leaf_reserved(lto))
        return refuse_reserved(lto);
    struct ebt_hit src, dst;
    int rc = ebt_layers_lookup(layers(), lfrom, &src);
    if (rc < 0)
        return rc;
    int dst_exists = ebt_layers_lookup(layers(), lto, &dst) == 0;
    if (dst_exists && (flags & RENAME_NOREPLACE))
        return -EEXIST;
    int from_lower = ebt_layers_in_lower(layers(), lfrom);
    if (S_ISDIR(src.st.st_mode) && from_lower)
        return -EXDEV;
    if (dst_exists && S_ISDIR(dst.st.st_mode)) {
        char *names = NULL;
        size_t bytes;
        int n = ebt_layers_list(layers(), lto, &names, &bytes);
        free(names);
        if (n > 0)
            return -ENOTEMPTY;
    }
    char ufrom[PATH_MAX], uto[PATH_MAX];
    struct stat top_st;
    if ((rc = ebt_layers_up_path(layers(), lfrom, ufrom)) < 0)
        return rc;
    int in_top = lstat(ufrom, &top_st) == 0;
    if (!in_top && S_ISREG(src.st.st_mode))
        rc = ebt_layers_copy_up(layers(), lfrom, 0);
    else if (!in_top)
        return -EXDEV; /* a lower symlink or special file */
    if (rc < 0)
        return rc;
    int hid = new_name(lto, uto);
    if (hid < 0)
        return hid;
    int to_lower = ebt_layers_in_lower(layers(), lto);
    if (dst_exists && S_ISDIR(dst.st.st_mode) && dst.layer == EBT_L_UP)
        ebt_layers_remove_up_dir(layers(), lto); /* empty in the view: only markers */
    if (rename(ufrom, uto) < 0)
        return -errno;
    if (S_ISDIR(src.st.st_mode) && (to_lower || hid))
        ebt_layers_make_opaque(layers(), lto);
    return from_lower ? ebt_layers_whiteout(layers(), lfrom) : 0;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    if (fh_fd(fi) >= 0)
        return fchmod(fh_fd(fi), mode) < 0 ? -errno : 0;
    LOGICAL(logical, path);
    char up[PATH_MAX];
    int rc = up_target(logical, up);
    return rc < 0 ? rc : chmod(up, mode) < 0 ? -errno : 0;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    if (fh_fd(fi) >= 0)
        return fchown(fh_fd(fi), uid, gid) < 0 ? -errno : 0;
    LOGICAL(logical, path);
    char up[PATH_MAX];
    int rc = up_target(logical, up);
    return rc < 0 ? rc : lchown(up, uid, gid) < 0 ? -errno : 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (fh_fd(fi) >= 0)
        return ftruncate(fh_fd(fi), size) < 0 ? -errno : 0;
    LOGICAL(logical, path);
    struct ebt_hit h;
    char up[PATH_MAX];
    int rc = ebt_layers_lookup(layers(), logical, &h);
    if (rc == 0 && h.layer == EBT_L_LOWER)
        rc = ebt_layers_copy_up(layers(), logical, size == 0);
    if (rc < 0 || (rc = ebt_layers_up_path(layers(), logical, up)) < 0)
        return rc;
    return truncate(up, size) < 0 ? -errno : 0;
}

static int fs_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi)
{
    if (fh_fd(fi) >= 0)
        return futimens(fh_fd(fi), ts) < 0 ? -errno : 0;
    LOGICAL(logical, path);
    char up[PATH_MAX];
    int rc = up_target(logical, up);
    return rc < 0 ? rc : utimensat(AT_FDCWD, up, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int keep_file(struct fuse_file_info *fi, int fd, int layer, const char *logical)
{
    struct fs_file *f = calloc(1, sizeof(*f));
    char *name = f ? strdup(logical) : NULL;
    if (!name) {
        free(f);
        close(fd);
        return -ENOMEM;
    }
    f->logical = name; /* (operations on a handle get no path: nullpath_ok) */
    f->fd = fd;
    f->layer = layer;
    f->flags = fi->flags & (O_ACCMODE | O_APPEND);
    fs_file_track(mount_of_call()->fs, f);
    fi->fh = (uint64_t)(uintptr_t)f;
    fi->keep_cache = 0; /* the preload fast path changes files behind the kernel's back */
    return 0;
}

#define FS_OPEN_DROP (O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT)

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    LOGICAL(logical, path);
    struct ebt_hit h;
    int rc = ebt_layers_lookup(layers(), logical, &h);
    if (rc < 0)
        return rc;
    int write = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
    if (write && h.layer == EBT_L_LOWER && S_ISREG(h.st.st_mode)) {
        if ((rc = ebt_layers_copy_up(layers(), logical, fi->flags & O_TRUNC)) < 0 ||
            (rc = ebt_layers_lookup(layers(), logical, &h)) < 0)
            return rc;
    }
    int fd = open(h.phys, (fi->flags & ~FS_OPEN_DROP) | O_CLOEXEC);
    return fd < 0 ? -errno : keep_file(fi, fd, h.layer, logical);
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    LOGICAL(logical, path);
    char up[PATH_MAX];
    int rc = new_name(logical, up);
    if (rc < 0)
        return rc;
    int fd = open(up, (fi->flags & ~(O_NOCTTY | O_DIRECT)) | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (fchmod(fd, mode & 07777) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return keep_file(fi, fd, EBT_L_UP, logical);
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)path;
    ssize_t n = pread(((struct fs_file *)(uintptr_t)fi->fh)->fd, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static ssize_t write_shared(struct ebtd_fs *fs, int fd, const char *buf, size_t size, off_t off)
{
    pthread_rwlock_rdlock(&fs->spill_lock);
    ssize_t n = pwrite(fd, buf, size, off);
    int e = errno;
    pthread_rwlock_unlock(&fs->spill_lock);
    errno = e;
    return n;
}

/* Over EBT_CACHE_BYTES (the bytes every writer of the job put into the cache, as the preload
 * client counts them), an up-layer file moves to the PFS before it grows; if it cannot, the
 * limit is soft and the write goes on into the cache. */
static void cache_gate(struct ebtd_fs_mount *m, struct fs_file *f, size_t size)
{
    const struct ebt_layers *L = &m->fs->layers;
    uint64_t limit = L->cfg->cache_bytes;
    if (limit && L->cache_bytes && f->layer == EBT_L_UP &&
        __atomic_load_n(L->cache_bytes, __ATOMIC_RELAXED) + size > limit)
        fs_spill(m->fs, f, strlen(m->prefix));
}

static void cache_account(struct ebtd_fs_mount *m, const struct fs_file *f, ssize_t n)
{
    const struct ebt_layers *L = &m->fs->layers;
    if (n > 0 && f->layer == EBT_L_UP && L->cache_bytes)
        __atomic_add_fetch(L->cache_bytes, (uint64_t)n, __ATOMIC_RELAXED);
}

/* All of it: a cache file system that takes only part, or none, makes the file move to the PFS
 * (fs_spill.c) and the rest is written there, as natively on a PFS with room. */
static int fs_write(const char *unused_path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct ebtd_fs_mount *m = mount_of_call();
    struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
    size_t done = 0;
    cache_gate(m, f, size);
    while (done < size) {
        ssize_t n = write_shared(m->fs, f->fd, buf + done, size - done, off + (off_t)done);
        if (n > 0) {
            cache_account(m, f, n);
            done += (size_t)n;
            continue;
        }
        int full = n < 0 && (errno == ENOSPC || errno == EDQUOT), rc = n < 0 ? -errno : -EIO;
        if (!full || fs_spill(m->fs, f, strlen(m->prefix)) < 0)
            return done ? (int)done : rc;
    }
    return (int)done;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
    LOGICAL(logical, path);
    char low[PATH_MAX];
    if (ebt_lower_path(logical, low, sizeof(low)) < 0)
        return -ENAMETOOLONG;
    return statvfs(low, sv) < 0 && statvfs(mount_of_call()->fs->layers.up, sv) < 0 ? -errno : 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
    fs_file_untrack(mount_of_call()->fs, f);
    close(f->fd);
    free(f->logical);
    free(f);
    return 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    int fd = ((struct fs_file *)(uintptr_t)fi->fh)->fd;
    return (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
}

static int fs_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
    (void)path;
    return fallocate(((struct fs_file *)(uintptr_t)fi->fh)->fd, mode, off, len) < 0 ? -errno : 0;
}

static off_t fs_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
    (void)path;
    off_t r = lseek(((struct fs_file *)(uintptr_t)fi->fh)->fd, off, whence);
    return r < 0 ? -errno : r;
}

/* ---- extended attributes: read from where the file is, changed on its up copy; EBT's own
 * (EBT_XATTR_RESERVED) are neither shown nor set ---- */

static int xattr_reserved(const char *name)
{
    return !strncmp(name, EBT_XATTR_RESERVED, sizeof(EBT_XATTR_RESERVED) - 1);
}

static int fs_setxattr(const char *path, const char *name, const char *value, size_t size,
                       int flags)
{
    LOGICAL(logical, path);
    char up[PATH_MAX];
    if (xattr_reserved(name))
        return -EINVAL;
    int rc = up_target(logical, up);
    return rc < 0 ? rc : lsetxattr(up, name, value, size, flags) < 0 ? -errno : 0;
}

static int fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
    LOGICAL(logical, path);
    struct ebt_hit h;
    if (xattr_reserved(name))
        return -ENODATA;
    int rc = ebt_layers_lookup(layers(), logical, &h);
    if (rc < 0)
        return rc;
    ssize_t n = lgetxattr(h.phys, name, value, size);
    return n < 0 ? -errno : (int)n;
}

static int fs_listxattr(const char *path, char *list, size_t size)
{
    LOGICAL(logical, path);
    struct ebt_hit h;
    int rc = ebt_layers_lookup(layers(), logical, &h);
    if (rc < 0)
        return rc;
    char all[65536];
    ssize_t n = llistxattr(h.phys, all, sizeof(all));
    if (n < 0)
        return -errno;
    size_t len = 0;
    for (ssize_t off = 0; off < n; off += (ssize_t)strlen(all + off) + 1) {
        size_t k = strlen(all + off) + 1;
        if (xattr_reserved(all + off))
            continue;
        if (size && len + k > size)
            return -ERANGE;
        if (size)
            memcpy(list + len, all + off, k);
        len += k;
    }
    return (int)len;
}

static int fs_removexattr(const char *path, const char *name)
{
    LOGICAL(logical, path);
    char up[PATH_MAX];
    if (xattr_reserved(name))
        return -ENODATA;
    int rc = up_target(logical, up);
    return rc < 0 ? rc : lremovexattr(up, name) < 0 ? -errno : 0;
}

/* ---- directories: the listing is taken at opendir (a snapshot, like a tmpfs getdents) ---- */

struct fs_dir {
    int fd; /* -1: not a file (fs_file's layout up to here) */
    int layer;
    char *names;
    size_t bytes;
};

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
    LOGICAL(logical, path);
    struct fs_dir *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->fd = -1;
    int n = ebt_layers_list(layers(), logical, &d->names, &d->bytes);
    if (n < 0) {
        free(d);
        return n;
    }
    fi->fh = (uint64_t)(uintptr_t)d;
    return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)path;
    (void)off;
    (void)flags;
    struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    for (size_t pos = 0; pos < d->bytes; pos += strlen(d->names + pos) + 1)
        if (filler(buf, d->names + pos, NULL, 0, 0))
            break;
    return 0;
}

static int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
    free(d->names);
    free(d);
    return 0;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    cfg->use_ino = 1;
    cfg->readdir_ino = 0;
    cfg->hard_remove = 1;   /* no .fuse_hidden names: open files keep their own fd */
    cfg->entry_timeout = 0; /* the preload fast path creates and removes names in up directly */
    cfg->negative_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->kernel_cache = 0;
    cfg->nullpath_ok = 1;
    return fuse_get_context()->private_data;
}

const struct fuse_operations ebtd_fs_ops = {
    .init = fs_init,
    .getattr = fs_getattr,
    .readlink = fs_readlink,
    .mknod = fs_mknod,
    .mkdir = fs_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = fs_symlink,
    .rename = fs_rename,
    .link = fs_link,
    .chmod = fs_chmod,
    .chown = fs_chown,
    .truncate = fs_truncate,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .statfs = fs_statfs,
    .release = fs_release,
    .fsync = fs_fsync,
    .setxattr = fs_setxattr,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
    .removexattr = fs_removexattr,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .releasedir = fs_releasedir,
    .create = fs_create,
    .utimens = fs_utimens,
    .fallocate = fs_fallocate,
    .lseek = fs_lseek,
};
