/* fs_data.c - file open/create/close (MDS) and striped data ops split per OST (OSS). */
#define _GNU_SOURCE
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One stripe-aligned part of a byte range: what one OST serves. */
struct piece {
    size_t len;
    unsigned stripe; /* index in the layout */
    int ost;
};

static void piece_at(const struct pfs_layout *lo, uint64_t off, size_t remaining, struct piece *p)
{
    uint64_t unit = off / lo->stripe_size;
    uint64_t left_in_unit = lo->stripe_size - off % lo->stripe_size;
    p->stripe = (unsigned)(unit % lo->stripe_count);
    p->ost = lo->ost[p->stripe];
    p->len = remaining < left_in_unit ? remaining : (size_t)left_in_unit;
}

/* Copies the handle's layout into *lo; the cache is reloaded when a layout changed anywhere
 * since it was filled. Several FUSE threads may use one handle at once: h->mu guards it. */
static int handle_layout(struct pfs_sim *sim, struct pfs_handle *h, struct pfs_layout *lo)
{
    int rc = 0;
    uint64_t epoch = atomic_load(&sim->layout_epoch);
    pthread_mutex_lock(&h->mu);
    if (!h->have_layout || h->layout_epoch != epoch) {
        rc = pfs_layout_load_fd(sim, h->fd, &h->layout);
        h->have_layout = rc == 0;
        h->layout_epoch = epoch;
    }
    if (rc == 0)
        memcpy(lo, &h->layout, sizeof(*lo));
    pthread_mutex_unlock(&h->mu);
    return rc;
}

static int finish_open(struct pfs_sim *sim, int fd, int flags, struct fuse_file_info *fi)
{
    struct stat st;
    struct pfs_handle *h = pfs_handle_new(H_FILE, fd);
    if (h == NULL)
        return -ENOMEM;
    if (fstat(fd, &st) == 0) {
        h->dev = st.st_dev;
        h->ino = st.st_ino;
    }
    h->append = (flags & O_APPEND) != 0;
    fi->fh = (uintptr_t)h;
    fi->direct_io = !sim->cfg.cached;
    fi->keep_cache = 0;
    return 0;
}

/* The backing fd never has O_APPEND: writes need their real offset to find the OST. */
static int backing_flags(int flags)
{
    return (flags & ~(O_APPEND | O_CREAT | O_EXCL | O_NOCTTY)) | O_CLOEXEC;
}

static int pfs_open(const char *path, struct fuse_file_info *fi)
{
    enum pfs_ctl_kind ctl = pfs_ctl_kind(path);
    if (ctl != CTL_NONE)
        return ctl == CTL_DIR ? -EISDIR : pfs_ctl_open(ctl, fi);
    struct pfs_node *node = pfs_current_node();
    struct pfs_sim *sim = node->sim;
    struct pfs_service sv;
    pfs_mds_begin(sim, node->id, OP_OPEN, &sv);
    int fd = openat(sim->backing_fd, pfs_rel(path), backing_flags(fi->flags));
    int rc = fd < 0 ? -errno : 0;
    pfs_service_end(sim, &sv);
    if (rc == 0 && (rc = finish_open(sim, fd, fi->flags, fi)) != 0)
        close(fd);
    return rc;
}

/* Creates the backing file with a fresh layout; an existing file (non-O_EXCL race with another
 * node) is just opened and keeps its layout. Returns the fd or -errno. */
static int create_backing(struct pfs_sim *sim, const char *path, mode_t mode, int flags)
{
    const char *rel = pfs_rel(path);
    char parent[PATH_MAX];
    struct pfs_layout lo;
    int fd = openat(sim->backing_fd, rel, backing_flags(flags) | O_CREAT | O_EXCL, mode);
    if (fd < 0 && errno == EEXIST && !(flags & O_EXCL))
        fd = openat(sim->backing_fd, rel, backing_flags(flags));
    else if (fd >= 0) {
        pfs_parent_rel(path, parent, sizeof(parent));
        int rc = pfs_layout_for_new_file(sim, parent, &lo);
        if (rc == 0)
            rc = pfs_layout_store_fd(fd, &lo);
        if (rc != 0) {
            close(fd);
            unlinkat(sim->backing_fd, rel, 0);
            return rc;
        }
        pfs_set_owner(sim, rel);
    }
    return fd < 0 ? -errno : fd;
}

static int pfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    if (pfs_ctl_kind(path) != CTL_NONE)
        return -EPERM;
    struct pfs_node *node = pfs_current_node();
    struct pfs_sim *sim = node->sim;
    struct pfs_service sv;
    pfs_mds_begin(sim, node->id, OP_CREATE, &sv);
    int fd = create_backing(sim, path, mode, fi->flags);
    pfs_service_end(sim, &sv);
    if (fd < 0)
        return fd;
    int rc = finish_open(sim, fd, fi->flags, fi);
    if (rc != 0)
        close(fd);
    return rc;
}

static void count_bytes(struct pfs_sim *sim, int node, int ost, int is_write, uint64_t n)
{
    struct pfs_stats *st = &sim->stats;
    pfs_stats_add(is_write ? &st->ost[ost].write_bytes : &st->ost[ost].read_bytes, n);
    pfs_stats_add(is_write ? &st->node[node].write_bytes : &st->node[node].read_bytes, n);
}

static int pfs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (h != NULL && h->kind == H_CTL_FILE)
        return pfs_ctl_read(h, buf, size, off);
    if (h == NULL || h->kind != H_FILE)
        return -EBADF;
    struct pfs_node *node = pfs_current_node();
    struct pfs_sim *sim = node->sim;
    struct pfs_layout layout;
    const struct pfs_layout *lo = &layout;
    pfs_stats_count_request(&sim->stats, node->id, OP_READ);
    int rc = handle_layout(sim, h, &layout);
    if (rc != 0)
        return rc;
    size_t done = 0;
    while (done < size) {
        struct piece p;
        struct pfs_service sv;
        piece_at(lo, (uint64_t)off + done, size - done, &p);
        pfs_oss_begin(sim, p.ost, OSS_READ, p.len, &sv);
        ssize_t n = pread(h->fd, buf + done, p.len, off + (off_t)done);
        int err = errno;
        pfs_service_end(sim, &sv);
        if (n < 0)
            return done > 0 ? (int)done : -err;
        count_bytes(sim, node->id, p.ost, 0, (uint64_t)n);
        done += (size_t)n;
        if ((size_t)n < p.len)
            break; /* end of file */
    }
    return (int)done;
}

/* Takes the extent lock of the piece's stripe object for node; charges a revocation when
 * another node held it. */
static void take_extent_lock(struct pfs_sim *sim, struct pfs_handle *h, int node,
                             const struct piece *p)
{
    struct pfs_stats *st = &sim->stats;
    int revoked = pfs_objects_record_write(&sim->objs, h->dev, h->ino, p->stripe, p->ost, node);
    atomic_fetch_or(&st->ost[p->ost].writer_nodes, 1ull << node);
    if (revoked != 1)
        return;
    pfs_stats_add(&st->lock_revocations, 1);
    pfs_stats_add(&st->node[node].lock_revocations, 1);
    pfs_stats_add(&st->ost[p->ost].lock_revocations, 1);
    pfs_sleep_us(sim->cfg.lock_penalty_us);
}

static int write_pieces(struct pfs_sim *sim, struct pfs_handle *h, int node, const char *buf,
                        size_t size, off_t off)
{
    struct pfs_layout layout;
    const struct pfs_layout *lo = &layout;
    int rc = handle_layout(sim, h, &layout);
    if (rc != 0)
        return rc;
    size_t done = 0;
    while (done < size) {
        struct piece p;
        struct pfs_service sv;
        piece_at(lo, (uint64_t)off + done, size - done, &p);
        take_extent_lock(sim, h, node, &p);
        pfs_oss_begin(sim, p.ost, OSS_WRITE, p.len, &sv);
        ssize_t n = pwrite(h->fd, buf + done, p.len, off + (off_t)done);
        int err = errno;
        pfs_service_end(sim, &sv);
        if (n < 0)
            return done > 0 ? (int)done : -err;
        count_bytes(sim, node, p.ost, 1, (uint64_t)n);
        done += (size_t)n;
        if ((size_t)n < p.len)
            break; /* device full */
    }
    return (int)done;
}

static int pfs_write(const char *path, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (h != NULL && h->kind == H_CTL_FILE)
        return pfs_ctl_write(h, buf, size);
    if (h == NULL || h->kind != H_FILE)
        return -EBADF;
    struct pfs_node *node = pfs_current_node();
    struct pfs_sim *sim = node->sim;
    pfs_stats_count_request(&sim->stats, node->id, OP_WRITE);
    if (!h->append)
        return write_pieces(sim, h, node->id, buf, size, off);
    struct stat st;
    pthread_mutex_lock(&sim->append_mu);
    int rc =
        fstat(h->fd, &st) == 0 ? write_pieces(sim, h, node->id, buf, size, st.st_size) : -errno;
    pthread_mutex_unlock(&sim->append_mu);
    return rc;
}

static int pfs_flush(const char *path, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (h != NULL && h->kind == H_FILE) {
        struct pfs_node *node = pfs_current_node();
        pfs_stats_count_request(&node->sim->stats, node->id, OP_FLUSH);
    }
    return 0;
}

static int pfs_release(const char *path, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (h != NULL && h->kind == H_FILE) {
        struct pfs_node *node = pfs_current_node();
        struct pfs_service sv;
        pfs_mds_begin(node->sim, node->id, OP_RELEASE, &sv);
        close(h->fd);
        pfs_service_end(node->sim, &sv);
    }
    pfs_handle_free(h);
    return 0;
}

/* Charges non-data work (sync, punch) on every OST of the layout; the real call runs in the
 * first OST's service. */
static int charge_all_osts(struct pfs_sim *sim, const struct pfs_layout *lo, enum pfs_oss_op op,
                           int (*work)(void *), void *arg)
{
    int rc = 0;
    for (unsigned i = 0; i < lo->stripe_count; i++) {
        struct pfs_service sv;
        pfs_oss_begin(sim, lo->ost[i], op, 0, &sv);
        if (i == 0 && work != NULL)
            rc = work(arg);
        pfs_service_end(sim, &sv);
    }
    return rc;
}

struct sync_arg {
    int fd, datasync;
};

static int do_sync(void *arg)
{
    struct sync_arg *a = arg;
    int rc = a->datasync ? fdatasync(a->fd) : fsync(a->fd);
    return rc == 0 ? 0 : -errno;
}

static int pfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (h == NULL || h->kind != H_FILE)
        return 0;
    struct pfs_node *node = pfs_current_node();
    struct pfs_sim *sim = node->sim;
    struct pfs_layout layout;
    pfs_stats_count_request(&sim->stats, node->id, OP_FSYNC);
    int rc = handle_layout(sim, h, &layout);
    if (rc != 0)
        return rc;
    struct sync_arg a = {h->fd, datasync};
    return charge_all_osts(sim, &layout, OSS_SYNC, do_sync, &a);
}

static int truncate_backing(struct pfs_sim *sim, const char *path, struct pfs_handle *h, off_t size)
{
    char full[PATH_MAX];
    if (h != NULL)
        return ftruncate(h->fd, size) == 0 ? 0 : -errno;
    if (pfs_full_path(sim, pfs_rel(path), full, sizeof(full)) != 0)
        return -ENAMETOOLONG;
    return truncate(full, size) == 0 ? 0 : -errno;
}

/* truncate = MDS setattr, then a punch on every OST object of the file. */
static int pfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (pfs_ctl_kind(path) == CTL_STATS || (h != NULL && h->kind == H_CTL_FILE))
        return 0; /* `echo reset > stats` truncates first */
    if (pfs_ctl_kind(path) != CTL_NONE || (h != NULL && h->kind != H_FILE))
        return -EPERM;
    struct pfs_node *node = pfs_current_node();
    struct pfs_sim *sim = node->sim;
    struct pfs_layout lo;
    struct pfs_service sv;
    pfs_mds_begin(sim, node->id, OP_TRUNCATE, &sv);
    int rc = truncate_backing(sim, path, h, size);
    if (rc == 0)
        rc = h != NULL ? pfs_layout_load_fd(sim, h->fd, &lo)
                       : pfs_layout_load_path(sim, pfs_rel(path), &lo);
    pfs_service_end(sim, &sv);
    if (rc == 0)
        charge_all_osts(sim, &lo, OSS_PUNCH, NULL, NULL);
    return rc;
}

static int pfs_fallocate(const char *path, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
    struct pfs_handle *h = pfs_handle_of(fi);
    if (h == NULL || h->kind != H_FILE)
        return -EOPNOTSUPP;
    struct pfs_node *node = pfs_current_node();
    struct pfs_sim *sim = node->sim;
    struct pfs_layout layout;
    const struct pfs_layout *lo = &layout;
    pfs_stats_count_request(&sim->stats, node->id, OP_FALLOCATE);
    int rc = handle_layout(sim, h, &layout);
    if (rc != 0)
        return rc;
    /* one ALLOC per OST object the range touches (at most one pass over the stripes) */
    uint64_t pos = (uint64_t)off, end = (uint64_t)off + (uint64_t)len;
    for (unsigned i = 0; i < lo->stripe_count && pos < end; i++) {
        struct piece p;
        struct pfs_service sv;
        piece_at(lo, pos, (size_t)(end - pos), &p);
        pfs_oss_begin(sim, p.ost, OSS_ALLOC, 0, &sv);
        if (i == 0 && fallocate(h->fd, mode, off, len) != 0)
            rc = -errno;
        pfs_service_end(sim, &sv);
        pos += p.len;
    }
    return rc;
}

void pfs_data_operations(struct fuse_operations *ops)
{
    ops->open = pfs_open;
    ops->create = pfs_create;
    ops->read = pfs_read;
    ops->write = pfs_write;
    ops->flush = pfs_flush;
    ops->release = pfs_release;
    ops->fsync = pfs_fsync;
    ops->truncate = pfs_truncate;
    ops->fallocate = pfs_fallocate;
}
