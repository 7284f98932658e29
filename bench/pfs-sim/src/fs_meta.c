/* fs_meta.c - namespace and attribute FUSE ops, each served by the MDS pool. */
#define _GNU_SOURCE
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Starts an MDS op for the calling node; returns the simulator. */
static struct pfs_sim *mds_begin(enum pfs_op op, struct pfs_service *sv)
{
    struct pfs_node *node = pfs_current_node();
    pfs_mds_begin(node->sim, node->id, op, sv);
    return node->sim;
}

static int result(int rc)
{
    return rc == 0 ? 0 : -errno;
}

static int pfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    enum pfs_ctl_kind ctl = pfs_ctl_kind(path);
    if (h != NULL && (h->kind == H_CTL_FILE || h->kind == H_CTL_DIR))
        return pfs_ctl_getattr(h->kind == H_CTL_FILE ? CTL_STATS : CTL_DIR, st);
    if (ctl != CTL_NONE)
        return pfs_ctl_getattr(ctl, st);
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_GETATTR, &sv);
    int rc;
    if (h != NULL && h->kind == H_FILE)
        rc = result(fstat(h->fd, st));
    else if (path == NULL)
        rc = -ESTALE;
    else
        rc = result(fstatat(sim->backing_fd, pfs_rel(path), st, AT_SYMLINK_NOFOLLOW));
    if (rc == -ENOENT)
        pfs_stats_add(&sim->stats.mds.enoent, 1);
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_readlink(const char *path, char *buf, size_t size)
{
    if (size == 0)
        return -EINVAL;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_READLINK, &sv);
    ssize_t n = readlinkat(sim->backing_fd, pfs_rel(path), buf, size - 1);
    int rc = n < 0 ? -errno : 0;
    pfs_service_end(sim, &sv);
    if (n >= 0)
        buf[n] = '\0';
    return rc;
}

/* mknod of a regular file also gives it a layout, like create. */
static int pfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
    if (pfs_ctl_kind(path) != CTL_NONE)
        return -EEXIST;
    char parent[PATH_MAX];
    struct pfs_layout lo;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_MKNOD, &sv);
    const char *rel = pfs_rel(path);
    int rc = result(mknodat(sim->backing_fd, rel, mode, rdev));
    if (rc == 0 && S_ISREG(mode)) {
        pfs_parent_rel(path, parent, sizeof(parent));
        rc = pfs_layout_for_new_file(sim, parent, &lo);
        if (rc == 0)
            rc = pfs_layout_store_path(sim, rel, &lo);
        if (rc != 0)
            unlinkat(sim->backing_fd, rel, 0);
    }
    if (rc == 0)
        pfs_set_owner(sim, rel);
    pfs_service_end(sim, &sv);
    return rc;
}

/* New directories inherit their parent's default layout, as in Lustre. */
static void inherit_dir_default(struct pfs_sim *sim, const char *path)
{
    char parent[PATH_MAX];
    struct lov_request rq;
    pfs_parent_rel(path, parent, sizeof(parent));
    if (pfs_dir_default_load(sim, parent, &rq) == 0)
        pfs_dir_default_store(sim, pfs_rel(path), &rq);
}

static int pfs_mkdir(const char *path, mode_t mode)
{
    if (pfs_ctl_kind(path) != CTL_NONE)
        return -EEXIST;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_MKDIR, &sv);
    int rc = result(mkdirat(sim->backing_fd, pfs_rel(path), mode));
    if (rc == 0) {
        inherit_dir_default(sim, path);
        pfs_set_owner(sim, pfs_rel(path));
    }
    pfs_service_end(sim, &sv);
    return rc;
}

/* Forgets the stripe objects of rel if removing it destroys the file (its last link). */
static int last_link_of(struct pfs_sim *sim, const char *rel, struct stat *st)
{
    if (fstatat(sim->backing_fd, rel, st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    return S_ISREG(st->st_mode) && st->st_nlink == 1;
}

static int pfs_unlink(const char *path)
{
    if (pfs_ctl_kind(path) != CTL_NONE)
        return -EPERM;
    struct stat st;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_UNLINK, &sv);
    const char *rel = pfs_rel(path);
    int last = last_link_of(sim, rel, &st);
    int rc = result(unlinkat(sim->backing_fd, rel, 0));
    if (rc == 0 && last)
        pfs_objects_forget(&sim->objs, st.st_dev, st.st_ino);
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_rmdir(const char *path)
{
    if (pfs_ctl_kind(path) != CTL_NONE)
        return -EPERM;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_RMDIR, &sv);
    int rc = result(unlinkat(sim->backing_fd, pfs_rel(path), AT_REMOVEDIR));
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_symlink(const char *target, const char *path)
{
    if (pfs_ctl_kind(path) != CTL_NONE)
        return -EEXIST;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_SYMLINK, &sv);
    int rc = result(symlinkat(target, sim->backing_fd, pfs_rel(path)));
    if (rc == 0)
        pfs_set_owner(sim, pfs_rel(path));
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_rename(const char *from, const char *to, unsigned int flags)
{
    if (pfs_ctl_kind(from) != CTL_NONE || pfs_ctl_kind(to) != CTL_NONE)
        return -EPERM;
    struct stat st;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_RENAME, &sv);
    int last = !(flags & RENAME_EXCHANGE) && last_link_of(sim, pfs_rel(to), &st);
    int rc = result(renameat2(sim->backing_fd, pfs_rel(from), sim->backing_fd, pfs_rel(to), flags));
    if (rc == 0 && last)
        pfs_objects_forget(&sim->objs, st.st_dev, st.st_ino);
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_link(const char *from, const char *to)
{
    if (pfs_ctl_kind(from) != CTL_NONE || pfs_ctl_kind(to) != CTL_NONE)
        return -EPERM;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_LINK, &sv);
    int rc = result(linkat(sim->backing_fd, pfs_rel(from), sim->backing_fd, pfs_rel(to), 0));
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (pfs_ctl_kind(path) != CTL_NONE || (h != NULL && h->kind != H_FILE))
        return -EPERM;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_CHMOD, &sv);
    int rc = h != NULL ? result(fchmod(h->fd, mode))
                       : result(fchmodat(sim->backing_fd, pfs_rel(path), mode, 0));
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (pfs_ctl_kind(path) != CTL_NONE || (h != NULL && h->kind != H_FILE))
        return -EPERM;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_CHOWN, &sv);
    int rc = h != NULL
                 ? result(fchown(h->fd, uid, gid))
                 : result(fchownat(sim->backing_fd, pfs_rel(path), uid, gid, AT_SYMLINK_NOFOLLOW));
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (pfs_ctl_kind(path) != CTL_NONE || (h != NULL && h->kind != H_FILE))
        return pfs_ctl_kind(path) == CTL_STATS ? 0 : -EPERM; /* `touch stats` is harmless */
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_UTIMENS, &sv);
    int rc = h != NULL ? result(futimens(h->fd, tv))
                       : result(utimensat(sim->backing_fd, pfs_rel(path), tv, AT_SYMLINK_NOFOLLOW));
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_statfs(const char *path, struct statvfs *sv_out)
{
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_STATFS, &sv);
    int rc = result(fstatvfs(sim->backing_fd, sv_out));
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_access(const char *path, int mask)
{
    if (pfs_ctl_kind(path) != CTL_NONE)
        return pfs_ctl_kind(path) == CTL_OTHER ? -ENOENT : 0;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_ACCESS, &sv);
    int rc = result(faccessat(sim->backing_fd, pfs_rel(path), mask, 0));
    pfs_service_end(sim, &sv);
    return rc;
}

static int open_dir_handle(struct pfs_sim *sim, const char *path, struct pfs_handle **h_p)
{
    int fd = openat(sim->backing_fd, pfs_rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct pfs_handle *h = pfs_handle_new(H_DIR, fd);
    DIR *dir = h != NULL ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        int err = h != NULL ? errno : ENOMEM;
        close(fd);
        pfs_handle_free(h);
        return -err;
    }
    h->dir = dir;
    h->is_root = strcmp(pfs_rel(path), ".") == 0;
    *h_p = h;
    return 0;
}

static int pfs_opendir(const char *path, struct fuse_file_info *fi)
{
    enum pfs_ctl_kind ctl = pfs_ctl_kind(path);
    if (ctl != CTL_NONE)
        return ctl == CTL_DIR ? pfs_ctl_open(ctl, fi) : -ENOTDIR;
    struct pfs_handle *h = NULL;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_OPENDIR, &sv);
    int rc = open_dir_handle(sim, path, &h);
    pfs_service_end(sim, &sv);
    if (rc == 0)
        fi->fh = (uintptr_t)h;
    return rc;
}

/* Lists the whole directory in one call (offset 0 mode: libfuse buffers it). */
static int fill_dir(struct pfs_handle *h, void *buf, fuse_fill_dir_t filler)
{
    rewinddir(h->dir);
    errno = 0;
    for (struct dirent *de = readdir(h->dir); de != NULL; de = readdir(h->dir)) {
        if (h->is_root && strcmp(de->d_name, PFS_CTL_DIR_NAME) == 0)
            continue;
        struct stat st;
        memset(&st, 0, sizeof(st));
        st.st_ino = de->d_ino;
        st.st_mode = (mode_t)de->d_type << 12;
        if (filler(buf, de->d_name, &st, 0, 0) != 0)
            return -ENOMEM;
    }
    return errno != 0 ? -errno : 0;
}

static int pfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (h == NULL)
        return -EBADF;
    if (h->kind == H_CTL_DIR)
        return pfs_ctl_readdir(buf, filler);
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_READDIR, &sv);
    int rc = fill_dir(h, buf, filler);
    pfs_service_end(sim, &sv);
    return rc;
}

static int pfs_releasedir(const char *path, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (h == NULL)
        return 0;
    if (h->kind == H_DIR) {
        struct pfs_service sv;
        struct pfs_sim *sim = mds_begin(OP_RELEASEDIR, &sv);
        closedir(h->dir);
        pfs_service_end(sim, &sv);
    }
    pfs_handle_free(h);
    return 0;
}

static int pfs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (h == NULL || h->kind != H_DIR)
        return 0;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_FSYNCDIR, &sv);
    int rc = result(datasync ? fdatasync(h->fd) : fsync(h->fd));
    pfs_service_end(sim, &sv);
    return rc;
}

void pfs_meta_operations(struct fuse_operations *ops)
{
    ops->getattr = pfs_getattr;
    ops->readlink = pfs_readlink;
    ops->mknod = pfs_mknod;
    ops->mkdir = pfs_mkdir;
    ops->unlink = pfs_unlink;
    ops->rmdir = pfs_rmdir;
    ops->symlink = pfs_symlink;
    ops->rename = pfs_rename;
    ops->link = pfs_link;
    ops->chmod = pfs_chmod;
    ops->chown = pfs_chown;
    ops->utimens = pfs_utimens;
    ops->statfs = pfs_statfs;
    ops->access = pfs_access;
    ops->opendir = pfs_opendir;
    ops->readdir = pfs_readdir;
    ops->releasedir = pfs_releasedir;
    ops->fsyncdir = pfs_fsyncdir;
}
