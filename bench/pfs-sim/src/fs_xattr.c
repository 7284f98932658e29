/* fs_xattr.c - xattr FUSE ops: "lustre.lov" layouts like Lustre; others pass through. */
#define _GNU_SOURCE
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define LOV_XATTR "lustre.lov"

static int is_internal(const char *name)
{
    return strncmp(name, PFS_XATTR_PREFIX, sizeof(PFS_XATTR_PREFIX) - 1) == 0;
}

static struct pfs_sim *mds_begin(enum pfs_op op, struct pfs_service *sv)
{
    struct pfs_node *node = pfs_current_node();
    pfs_mds_begin(node->sim, node->id, op, sv);
    return node->sim;
}

static int stat_rel(struct pfs_sim *sim, const char *path, struct stat *st)
{
    return fstatat(sim->backing_fd, pfs_rel(path), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int get_lov(struct pfs_sim *sim, const char *path, char *value, size_t size)
{
    struct stat st;
    struct pfs_layout lo;
    struct lov_request rq;
    int rc = stat_rel(sim, path, &st);
    if (rc != 0)
        return rc;
    if (S_ISDIR(st.st_mode)) {
        rc = pfs_dir_default_load(sim, pfs_rel(path), &rq);
        return rc != 0 ? rc : (int)lov_encode_request(&rq, value, size);
    }
    if (!S_ISREG(st.st_mode))
        return -ENODATA;
    rc = pfs_layout_load_path(sim, pfs_rel(path), &lo);
    return rc != 0 ? rc : (int)lov_encode(&lo, st.st_ino, value, size);
}

static int pfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
    char full[PATH_MAX];
    if (pfs_ctl_kind(path) != CTL_NONE || is_internal(name))
        return -ENODATA;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_GETXATTR, &sv);
    int rc;
    if (strcmp(name, LOV_XATTR) == 0)
        rc = get_lov(sim, path, value, size);
    else if ((rc = pfs_full_path(sim, pfs_rel(path), full, sizeof(full))) == 0) {
        ssize_t n = lgetxattr(full, name, value, size);
        rc = n < 0 ? -errno : (int)n;
    }
    pfs_service_end(sim, &sv);
    return rc;
}

/* A new layout for an empty regular file (Lustre refuses once objects hold data). */
static int set_file_lov(struct pfs_sim *sim, const char *path, const struct stat *st,
                        const struct lov_request *rq)
{
    struct pfs_layout old, lo;
    if (st->st_size != 0)
        return -EEXIST;
    int rc = pfs_layout_from_request(sim, rq, &lo);
    if (rc == 0 && pfs_layout_load_path(sim, pfs_rel(path), &old) == 0)
        lo.layout_gen = (uint16_t)(old.layout_gen + 1);
    if (rc == 0)
        rc = pfs_layout_store_path(sim, pfs_rel(path), &lo);
    if (rc == 0) {
        pfs_objects_forget(&sim->objs, st->st_dev, st->st_ino);
        atomic_fetch_add(&sim->layout_epoch, 1);
    }
    return rc;
}

static int set_dir_lov(struct pfs_sim *sim, const char *path, const struct lov_request *rq)
{
    if (rq->stripe_offset != LOV_OFFSET_ANY && rq->stripe_offset >= sim->cfg.osts)
        return -EINVAL;
    return pfs_dir_default_store(sim, pfs_rel(path), rq);
}

static int set_lov(struct pfs_sim *sim, const char *path, const char *value, size_t size)
{
    struct stat st;
    struct lov_request rq;
    if (lov_parse_request(value, size, &rq) != 0)
        return -EINVAL;
    int rc = stat_rel(sim, path, &st);
    if (rc != 0)
        return rc;
    if (S_ISREG(st.st_mode))
        return set_file_lov(sim, path, &st, &rq);
    if (S_ISDIR(st.st_mode))
        return set_dir_lov(sim, path, &rq);
    return -EOPNOTSUPP;
}

static int pfs_setxattr(const char *path, const char *name, const char *value, size_t size,
                        int flags)
{
    char full[PATH_MAX];
    if (pfs_ctl_kind(path) != CTL_NONE || is_internal(name))
        return -EPERM;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_SETXATTR, &sv);
    int rc;
    if (strcmp(name, LOV_XATTR) == 0)
        rc = set_lov(sim, path, value, size);
    else if ((rc = pfs_full_path(sim, pfs_rel(path), full, sizeof(full))) == 0)
        rc = lsetxattr(full, name, value, size, flags) == 0 ? 0 : -errno;
    pfs_service_end(sim, &sv);
    return rc;
}

/* Reads the backing name list into a malloc'd buffer; *len_p gets its length. */
static int backing_names(const char *full, char **names_p, ssize_t *len_p)
{
    for (int tries = 0; tries < 8; tries++) {
        ssize_t n = llistxattr(full, NULL, 0);
        if (n < 0)
            return -errno;
        char *names = malloc((size_t)n + 1);
        if (names == NULL)
            return -ENOMEM;
        ssize_t got = n > 0 ? llistxattr(full, names, (size_t)n) : 0;
        if (got >= 0) {
            *names_p = names;
            *len_p = got;
            return 0;
        }
        free(names);
        if (errno != ERANGE)
            return -errno;
    }
    return -ERANGE;
}

/* Appends name (with its NUL) to out when it fits; always counts its length. */
static void add_name(char *out, size_t cap, size_t *used, const char *name)
{
    size_t n = strlen(name) + 1;
    if (out != NULL && *used + n <= cap)
        memcpy(out + *used, name, n);
    *used += n;
}

static int has_lov(struct pfs_sim *sim, const char *path)
{
    struct stat st;
    struct lov_request rq;
    if (stat_rel(sim, path, &st) != 0)
        return 0;
    if (S_ISREG(st.st_mode))
        return 1;
    return S_ISDIR(st.st_mode) && pfs_dir_default_load(sim, pfs_rel(path), &rq) == 0;
}

static int list_names(struct pfs_sim *sim, const char *path, char *list, size_t size)
{
    char full[PATH_MAX];
    char *names = NULL;
    ssize_t len = 0;
    size_t used = 0;
    int rc = pfs_full_path(sim, pfs_rel(path), full, sizeof(full));
    if (rc == 0)
        rc = backing_names(full, &names, &len);
    if (rc != 0)
        return rc;
    for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1)
        if (!is_internal(names + i))
            add_name(size ? list : NULL, size, &used, names + i);
    free(names);
    if (has_lov(sim, path))
        add_name(size ? list : NULL, size, &used, LOV_XATTR);
    if (size != 0 && used > size)
        return -ERANGE;
    return (int)used;
}

static int pfs_listxattr(const char *path, char *list, size_t size)
{
    if (pfs_ctl_kind(path) != CTL_NONE)
        return 0;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_LISTXATTR, &sv);
    int rc = list_names(sim, path, list, size);
    pfs_service_end(sim, &sv);
    return rc;
}

static int remove_lov(struct pfs_sim *sim, const char *path)
{
    struct stat st;
    int rc = stat_rel(sim, path, &st);
    if (rc != 0)
        return rc;
    return S_ISDIR(st.st_mode) ? pfs_dir_default_remove(sim, pfs_rel(path)) : -EPERM;
}

static int pfs_removexattr(const char *path, const char *name)
{
    char full[PATH_MAX];
    if (pfs_ctl_kind(path) != CTL_NONE || is_internal(name))
        return -EPERM;
    struct pfs_service sv;
    struct pfs_sim *sim = mds_begin(OP_REMOVEXATTR, &sv);
    int rc;
    if (strcmp(name, LOV_XATTR) == 0)
        rc = remove_lov(sim, path);
    else if ((rc = pfs_full_path(sim, pfs_rel(path), full, sizeof(full))) == 0)
        rc = lremovexattr(full, name) == 0 ? 0 : -errno;
    pfs_service_end(sim, &sv);
    return rc;
}

void pfs_xattr_operations(struct fuse_operations *ops)
{
    ops->getxattr = pfs_getxattr;
    ops->setxattr = pfs_setxattr;
    ops->listxattr = pfs_listxattr;
    ops->removexattr = pfs_removexattr;
}
