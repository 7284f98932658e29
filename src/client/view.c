/* view.c - managed-path resolution and the layered view: stage, task layer, up layer, (multi-node:
 * the job's namespace and the remote layer), PFS. */
#define _GNU_SOURCE
#include "client.h"
#include "layers.h"
#include "lower.h"
#include "mdcache.h"
#include "path.h"
#include "real.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

int ebt_is_managed_path(char *canonical)
{
    for (int i = 0; i < ebt.cfg.nprefixes; i++) {
        const struct ebt_prefix *p = &ebt.cfg.prefixes[i];
        if (ebt_path_under(canonical, p->path))
            return 1;
        size_t n = p->alias[0] ? ebt_path_under(canonical, p->alias) : 0;
        if (n) { /* rewrite the alias spelling to the canonical prefix */
            char rest[PATH_MAX];
            snprintf(rest, sizeof(rest), "%s", canonical + n);
            if (snprintf(canonical, PATH_MAX, "%s%s", p->path, rest) >= PATH_MAX)
                return 0;
            return 1;
        }
    }
    return 0;
}

static const char *dirfd_path(int dirfd, char *buf)
{
    struct ebt_ofd *o = ebt_fd_get(dirfd);
    if (o)
        return o->logical;
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
    ssize_t n = ebt_sys_readlink(link, buf, PATH_MAX - 1);
    if (n <= 0 || buf[0] != '/')
        return NULL;
    buf[n] = '\0';
    return buf;
}

int ebt_resolve(int dirfd, const char *path, char *out)
{
    if (!ebt.enabled || !path || !path[0] || ebt_in_client)
        return 0;
    char buf[PATH_MAX];
    const char *base = "/";
    if (path[0] != '/') {
        base = dirfd == AT_FDCWD ? ebt.cwd : dirfd_path(dirfd, buf);
        if (!base)
            return 0;
    }
    if (ebt_path_normalize(base, path, out, PATH_MAX) < 0)
        return 0;
    return ebt_is_managed_path(out);
}

int ebt_vis_for(const char *logical)
{
    if (ebt.cfg.nvis == 0)
        return ebt.cfg.visibility;
    return ebt_config_visibility_for(&ebt.cfg, logical);
}

const char *ebt_layer_for_write(const char *logical)
{
    return ebt_vis_for(logical) == EBT_VIS_TASK ? ebt.task_root : ebt.up_root;
}

static int any_whiteouts(void)
{
    return ebt.shared && __atomic_load_n(&ebt.shared->whiteouts, __ATOMIC_ACQUIRE) > 0;
}

static size_t managed_prefix_len(const char *logical)
{
    for (int i = 0; i < ebt.cfg.nprefixes; i++) {
        size_t n = ebt_path_under(logical, ebt.cfg.prefixes[i].path);
        if (n)
            return n;
    }
    return 0;
}

int ebt_view_layer_hides(const char *layer, const char *logical)
{
    return ebt_layer_hides(layer, logical, managed_prefix_len(logical));
}

static int layers_for(const char *logical, const char **layers)
{
    int n = 0;
    if (ebt_vis_for(logical) == EBT_VIS_TASK)
        layers[n++] = ebt.task_root;
    layers[n++] = ebt.up_root;
    return n;
}

/* Look up logical starting at layer index `from`: this node's layers, then (multi-node, if
 * `remote`) the job's namespace and the remote layer, then the PFS. On a multi-node job a
 * whiteout or opaque directory of this node hides only the PFS: another node may have made the
 * name again, and its owner says so. */
static int lookup_from(const char *logical, int from, int follow, int remote, struct ebt_found *f)
{
    const char *layers[2];
    int n = layers_for(logical, layers), mn = ebt_multinode();
    int check_hidden = any_whiteouts(), pfs_hidden = 0;
    for (int i = from; i < n && !pfs_hidden; i++) {
        int hidden = check_hidden ? ebt_view_layer_hides(layers[i], logical) : 0;
        if (hidden < 0 && !mn)
            return hidden;
        if (hidden < 0) {
            pfs_hidden = 1;
            break;
        }
        if (ebt_layer_path(layers[i], logical, f->phys, sizeof(f->phys)) < 0)
            return -ENAMETOOLONG;
        if (ebt_sys_lstat(f->phys, &f->st) == 0) {
            f->where = layers[i] == ebt.up_root ? EBT_W_UP : EBT_W_TASK;
            return 0;
        }
        if (hidden && !mn)
            return -ENOENT;
        pfs_hidden = hidden;
    }
    if (mn && remote) {
        int rc = ebt_remote_lookup(logical, f);
        if (rc <= 0)
            return rc;
    }
    if (pfs_hidden)
        return -ENOENT;
    if (ebt_lower_path(logical, f->phys, sizeof(f->phys)) < 0)
        return -ENAMETOOLONG;
    int rc = ebt_mdc_stat(logical, f->phys, follow, &f->st); /* cached under an input */
    if (rc < 0)
        return rc;
    f->where = EBT_W_PFS;
    return 0;
}

int ebt_view_lookup(const char *logical, int follow, struct ebt_found *f)
{
    memset(f, 0, sizeof(*f));
    if (ebt_leaf_reserved(logical) && managed_prefix_len(logical))
        return -ENOENT; /* a marker of a layer, never a name of the job */
    struct ebt_stage *s = ebt_stage_find(logical);
    if (s && ebt_sys_stat(s->phys, &f->st) == 0) {
        f->where = EBT_W_STAGE;
        snprintf(f->phys, sizeof(f->phys), "%s", s->phys);
        return 0;
    }
    return lookup_from(logical, 0, follow, 1, f);
}

int ebt_view_exists_below(const char *layer, const char *logical)
{
    const char *layers[2];
    int n = layers_for(logical, layers), from = n;
    for (int i = 0; i < n; i++)
        if (layers[i] == layer)
            from = i + 1;
    struct ebt_found f; /* the remote layer is the job's namespace: MD_UNLINK, not a whiteout */
    return lookup_from(logical, from, 0, 0, &f) == 0;
}

/* Make the layer's directory for logical, parents first, each with the mode and times of the
 * directory it mirrors (the flush gives the PFS the layer's directory times). */
int ebt_view_layer_dir(const char *layer, const char *logical)
{
    char phys[PATH_MAX];
    struct stat st;
    if (ebt_layer_path(layer, logical, phys, sizeof(phys)) < 0)
        return -ENAMETOOLONG;
    if (ebt_sys_lstat(phys, &st) == 0)
        return 0;
    if (!managed_prefix_len(logical) || strlen(logical) <= managed_prefix_len(logical))
        return ebt_mkdirs(phys, 0755, 0); /* the prefix itself and above it */
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", logical);
    *strrchr(parent, '/') = '\0';
    int rc = ebt_view_layer_dir(layer, parent);
    if (rc < 0)
        return rc;
    struct ebt_found f;
    int seen = ebt_view_exists_below(layer, logical) && lookup_from(logical, 0, 1, 0, &f) == 0 &&
               S_ISDIR(f.st.st_mode);
    if (ebt_sys_mkdir(phys, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (syscall(SYS_fchmodat, AT_FDCWD, phys, seen ? f.st.st_mode & 07777 : 0755) < 0)
        return -errno;
    if (seen) {
        struct timespec ts[2] = {f.st.st_atim, f.st.st_mtim};
        syscall(SYS_utimensat, AT_FDCWD, phys, ts, AT_SYMLINK_NOFOLLOW);
    }
    return 0;
}

int ebt_view_whiteout_add(const char *layer, const char *logical)
{
    char phys[PATH_MAX];
    if (ebt_whiteout_path(layer, logical, phys, sizeof(phys)) < 0)
        return -ENAMETOOLONG;
    int rc = ebt_mkdirs(phys, 0755, 1);
    if (rc < 0)
        return rc;
    int fd = ebt_sys_open(phys, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    ebt_sys_close(fd);
    if (ebt.shared)
        __atomic_add_fetch(&ebt.shared->whiteouts, 1, __ATOMIC_ACQ_REL);
    return 0;
}

void ebt_view_whiteout_remove(const char *layer, const char *logical)
{
    char phys[PATH_MAX];
    if (any_whiteouts() && ebt_whiteout_path(layer, logical, phys, sizeof(phys)) == 0)
        ebt_sys_unlink(phys);
}

int ebt_view_parent_dir(const char *logical)
{
    char buf[PATH_MAX];
    const char *dir, *name;
    struct ebt_found pf;
    if (ebt_path_split(logical, buf, sizeof(buf), &dir, &name) < 0)
        return -ENAMETOOLONG;
    if (ebt_name_reserved(name)) { /* the flush would take the job's file for a marker */
        ebt_warn_once("names beginning with " EBT_RESERVED_PREFIX
                      " are reserved by EBT in managed directories (EINVAL)",
                      logical);
        return -EINVAL;
    }
    int rc = ebt_view_lookup(dir, 1, &pf);
    if (rc < 0)
        return rc;
    if (!S_ISDIR(pf.st.st_mode))
        return -ENOTDIR;
    /* A PFS directory decides who may create or remove in it, as it would without EBT. */
    return ebt_perm_pfs(&pf, W_OK | X_OK);
}

/* A directory source below this node's layers: RUN/remote/<dir> (after MD_LISTDIR). */
static int remote_dir_source(const char *logical, char *phys)
{
    struct stat st;
    return ebt_layer_path(ebt.remote_root, logical, phys, PATH_MAX) == 0 &&
           ebt_sys_lstat(phys, &st) == 0 && S_ISDIR(st.st_mode);
}

int ebt_view_dir_sources(const char *logical, char phys[][PATH_MAX], int max)
{
    const char *layers[2];
    int n = layers_for(logical, layers), k = 0, check_hidden = any_whiteouts();
    int mn = ebt_multinode(), pfs_hidden = 0;
    struct stat st;
    for (int i = 0; i < n && k < max && !pfs_hidden; i++) {
        int hidden = check_hidden ? ebt_view_layer_hides(layers[i], logical) : 0;
        if (hidden < 0 && !mn)
            return k;
        if (hidden < 0)
            break;
        if (ebt_layer_path(layers[i], logical, phys[k], PATH_MAX) == 0 &&
            ebt_sys_lstat(phys[k], &st) == 0 && S_ISDIR(st.st_mode)) {
            k++;
            char marker[PATH_MAX];
            if (snprintf(marker, sizeof(marker), "%s/" EBT_OPAQUE_NAME, phys[k - 1]) < PATH_MAX &&
                ebt_sys_lstat(marker, &st) == 0)
                pfs_hidden = 1;
        }
        pfs_hidden |= hidden;
        if (pfs_hidden && !mn)
            return k;
    }
    if (mn && k < max && remote_dir_source(logical, phys[k]))
        k++;
    if (!pfs_hidden && k < max && ebt_lower_path(logical, phys[k], PATH_MAX) == 0 &&
        ebt_mdc_stat(logical, phys[k], 1, &st) == 0 && S_ISDIR(st.st_mode))
        k++;
    return k;
}
