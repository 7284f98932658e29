/* fs_common.c - helpers shared by the FUSE ops: current node, paths, handles, ownership. */
#define _GNU_SOURCE
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pfs_node *pfs_current_node(void)
{
    return fuse_get_context()->private_data;
}

const char *pfs_rel(const char *path)
{
    if (path == NULL || path[0] == '\0' || strcmp(path, "/") == 0)
        return ".";
    return path[0] == '/' ? path + 1 : path;
}

void pfs_parent_rel(const char *path, char *buf, size_t cap)
{
    const char *rel = pfs_rel(path);
    const char *slash = strrchr(rel, '/');
    if (slash == NULL || strcmp(rel, ".") == 0) {
        snprintf(buf, cap, ".");
        return;
    }
    snprintf(buf, cap, "%.*s", (int)(slash - rel), rel);
}

enum pfs_ctl_kind pfs_ctl_kind(const char *path)
{
    static const char dir[] = "/" PFS_CTL_DIR_NAME;
    size_t n = sizeof(dir) - 1;
    if (path == NULL || strncmp(path, dir, n) != 0)
        return CTL_NONE;
    if (path[n] == '\0')
        return CTL_DIR;
    if (path[n] != '/')
        return CTL_NONE;
    return strcmp(path + n + 1, "stats") == 0 ? CTL_STATS : CTL_OTHER;
}

void pfs_set_owner(struct pfs_sim *sim, const char *rel)
{
    const struct fuse_context *ctx = fuse_get_context();
    if (geteuid() != 0 || (ctx->uid == 0 && ctx->gid == 0))
        return;
    if (fchownat(sim->backing_fd, rel, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) != 0)
        fprintf(stderr, "pfs-sim: chown %s to %u:%u: %s\n", rel, (unsigned)ctx->uid,
                (unsigned)ctx->gid, strerror(errno));
}

struct pfs_handle *pfs_handle_new(enum pfs_handle_kind kind, int fd)
{
    struct pfs_handle *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->kind = kind;
    h->fd = fd;
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

void pfs_handle_free(struct pfs_handle *h)
{
    if (h == NULL)
        return;
    pthread_mutex_destroy(&h->mu);
    free(h->ctl_data);
    free(h);
}

void pfs_fs_operations(struct fuse_operations *ops)
{
    memset(ops, 0, sizeof(*ops));
    pfs_meta_operations(ops);
    pfs_data_operations(ops);
    pfs_xattr_operations(ops);
}
