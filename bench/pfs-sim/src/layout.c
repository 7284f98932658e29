/* layout.c - layout policy (defaults, round-robin start OST) and persistence in backing xattrs. */
#define _GNU_SOURCE
#include "layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

int pfs_full_path(struct pfs_sim *sim, const char *rel, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s", sim->cfg.backing, rel);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static unsigned resolve_count(struct pfs_sim *sim, uint16_t requested)
{
    int osts = sim->cfg.osts;
    if (requested == LOV_COUNT_ALL)
        return (unsigned)osts;
    if (requested == 0)
        return sim->cfg.stripe_count < 0 ? (unsigned)osts : (unsigned)sim->cfg.stripe_count;
    return requested > osts ? (unsigned)osts : requested;
}

static void fill_osts(struct pfs_layout *lo, unsigned start, unsigned count, int osts)
{
    lo->stripe_count = (uint16_t)count;
    for (unsigned i = 0; i < count; i++)
        lo->ost[i] = (uint16_t)((start + i) % (unsigned)osts);
}

int pfs_layout_from_request(struct pfs_sim *sim, const struct lov_request *rq,
                            struct pfs_layout *lo)
{
    unsigned osts = (unsigned)sim->cfg.osts;
    unsigned start;
    if (rq->stripe_offset == LOV_OFFSET_ANY)
        start = (unsigned)(atomic_fetch_add(&sim->next_start_ost, 1) % osts);
    else if (rq->stripe_offset < osts)
        start = rq->stripe_offset;
    else
        return -EINVAL;
    memset(lo, 0, sizeof(*lo));
    lo->magic = rq->magic == LOV_USER_MAGIC_V3 ? LOV_USER_MAGIC_V3 : LOV_USER_MAGIC_V1;
    lo->stripe_size = rq->stripe_size != 0 ? rq->stripe_size : sim->cfg.stripe_size;
    memcpy(lo->pool, rq->pool, LOV_POOL_NAME_LEN);
    fill_osts(lo, start, resolve_count(sim, rq->stripe_count), (int)osts);
    return 0;
}

void pfs_layout_for_inode(struct pfs_sim *sim, uint64_t ino, struct pfs_layout *lo)
{
    memset(lo, 0, sizeof(*lo));
    lo->magic = LOV_USER_MAGIC_V1;
    lo->stripe_size = sim->cfg.stripe_size;
    fill_osts(lo, (unsigned)(ino % (uint64_t)sim->cfg.osts), resolve_count(sim, 0), sim->cfg.osts);
}

static void default_request(struct lov_request *rq)
{
    memset(rq, 0, sizeof(*rq));
    rq->magic = LOV_USER_MAGIC_V1;
    rq->stripe_offset = LOV_OFFSET_ANY;
}

int pfs_layout_for_new_file(struct pfs_sim *sim, const char *parent_rel, struct pfs_layout *lo)
{
    struct lov_request rq;
    int rc = pfs_dir_default_load(sim, parent_rel, &rq);
    if (rc != 0)
        default_request(&rq);
    return pfs_layout_from_request(sim, &rq, lo);
}

static int decode_stored(struct pfs_sim *sim, const unsigned char *buf, ssize_t n,
                         struct pfs_layout *lo)
{
    if (lov_decode_layout(buf, (size_t)n, sim->cfg.osts, lo) != 0) {
        fprintf(stderr, "pfs-sim: ignoring a corrupt or foreign stored layout\n");
        return -1;
    }
    return 0;
}

int pfs_layout_load_fd(struct pfs_sim *sim, int fd, struct pfs_layout *lo)
{
    unsigned char
        buf[sizeof(struct lov_user_md_v3_hdr) + PFS_MAX_OSTS * sizeof(struct lov_user_ost_data)];
    ssize_t n = fgetxattr(fd, PFS_XATTR_FILE_LAYOUT, buf, sizeof(buf));
    if (n > 0 && decode_stored(sim, buf, n, lo) == 0)
        return 0;
    if (n < 0 && errno != ENODATA)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    pfs_layout_for_inode(sim, st.st_ino, lo);
    return 0;
}

int pfs_layout_load_path(struct pfs_sim *sim, const char *rel, struct pfs_layout *lo)
{
    char path[PATH_MAX];
    unsigned char
        buf[sizeof(struct lov_user_md_v3_hdr) + PFS_MAX_OSTS * sizeof(struct lov_user_ost_data)];
    if (pfs_full_path(sim, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    ssize_t n = lgetxattr(path, PFS_XATTR_FILE_LAYOUT, buf, sizeof(buf));
    if (n > 0 && decode_stored(sim, buf, n, lo) == 0)
        return 0;
    if (n < 0 && errno != ENODATA)
        return -errno;
    struct stat st;
    if (lstat(path, &st) != 0)
        return -errno;
    pfs_layout_for_inode(sim, st.st_ino, lo);
    return 0;
}

int pfs_layout_store_fd(int fd, const struct pfs_layout *lo)
{
    unsigned char
        buf[sizeof(struct lov_user_md_v3_hdr) + PFS_MAX_OSTS * sizeof(struct lov_user_ost_data)];
    long n = lov_encode(lo, 0, buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    return fsetxattr(fd, PFS_XATTR_FILE_LAYOUT, buf, (size_t)n, 0) == 0 ? 0 : -errno;
}

int pfs_layout_store_path(struct pfs_sim *sim, const char *rel, const struct pfs_layout *lo)
{
    char path[PATH_MAX];
    unsigned char
        buf[sizeof(struct lov_user_md_v3_hdr) + PFS_MAX_OSTS * sizeof(struct lov_user_ost_data)];
    if (pfs_full_path(sim, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    long n = lov_encode(lo, 0, buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    return lsetxattr(path, PFS_XATTR_FILE_LAYOUT, buf, (size_t)n, 0) == 0 ? 0 : -errno;
}

int pfs_dir_default_load(struct pfs_sim *sim, const char *rel, struct lov_request *rq)
{
    char path[PATH_MAX];
    struct lov_user_md_v3_hdr h;
    if (pfs_full_path(sim, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    ssize_t n = lgetxattr(path, PFS_XATTR_DIR_DEFAULT, &h, sizeof(h));
    if (n < 0)
        return errno == ENOTSUP ? -ENODATA : -errno;
    return lov_parse_request(&h, (size_t)n, rq) == 0 ? 0 : -ENODATA;
}

int pfs_dir_default_store(struct pfs_sim *sim, const char *rel, const struct lov_request *rq)
{
    char path[PATH_MAX];
    struct lov_user_md_v3_hdr h;
    if (pfs_full_path(sim, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    long n = lov_encode_request(rq, &h, sizeof(h));
    if (n < 0)
        return (int)n;
    return lsetxattr(path, PFS_XATTR_DIR_DEFAULT, &h, (size_t)n, 0) == 0 ? 0 : -errno;
}

int pfs_dir_default_remove(struct pfs_sim *sim, const char *rel)
{
    char path[PATH_MAX];
    if (pfs_full_path(sim, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    if (lremovexattr(path, PFS_XATTR_DIR_DEFAULT) == 0 || errno == ENODATA)
        return 0;
    return -errno;
}
