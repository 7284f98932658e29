/* md_remote.c - the remote layer RUN/remote/<path>: placeholders with version stamps, directories,
 * removal of stale entries, and MD_LISTDIR (every node's children of a directory, in parallel). */
#define _GNU_SOURCE
#include "dirlist.h"
#include "log.h"
#include "lower.h"
#include "md_int.h"
#include "mesh.h"
#include "proto.h"
#include "rundir.h"
#include "server.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

int md_stamp_set(struct ebtd *d, const char *path, uint64_t version, uint64_t size, int64_t ms,
                 int64_t mns)
{
    struct md_stamp *s = malloc(sizeof(*s)), *old = NULL;
    if (!s)
        return -ENOMEM;
    *s = (struct md_stamp){version, size, ms, mns};
    int rc = md_map_put(&d->md->stamps, path, s, (void **)&old);
    free(rc < 0 ? s : old);
    return rc;
}

static void stamp_del(struct ebtd *d, const char *path)
{
    free(md_map_del(&d->md->stamps, path));
}

static int remove_entry(const char *file)
{
    struct stat st;
    if (ebt_sys_lstat(file, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode))
        return ebt_remove_tree(file);
    return ebt_sys_unlink(file) < 0 && errno != ENOENT ? -errno : 0;
}

/* RUN/remote/<path> in f, about to change: its version stamp goes. */
static int entry_changing(struct ebtd *d, const char *path, char *f)
{
    if (md_layer_file(d, "remote", path, f, PATH_MAX) < 0)
        return -ENAMETOOLONG;
    stamp_del(d, path);
    return 0;
}

int md_remote_remove(struct ebtd *d, const char *path)
{
    char f[PATH_MAX];
    int rc = entry_changing(d, path, f);
    return rc < 0 ? rc : remove_entry(f);
}

/* The job's namespace has no record of path (a PFS name, the managed prefix itself, a directory
 * the job removed): a file placeholder is stale, and so is an empty directory; but a directory
 * with entries holds the placeholders of children that other nodes made
 * (RUN/remote/<prefix>/<dir made by node 0>): removing it would pull them from under the lookups
 * of this node's other processes, which would see ENOENT for a moment. */
/* A directory of the PFS: RUN/remote/<path> may stay (empty, or holding placeholders of files
 * other nodes made in it) while this node's processes list it or walk below it. */
static int pfs_has_dir(const char *path)
{
    char phys[PATH_MAX];
    struct stat st;
    return ebt_lower_path(path, phys, sizeof(phys)) == 0 && ebt_sys_lstat(phys, &st) == 0 &&
           S_ISDIR(st.st_mode);
}

int md_remote_forget(struct ebtd *d, const char *path)
{
    char f[PATH_MAX];
    struct stat st;
    int rc = entry_changing(d, path, f);
    if (rc < 0 || ebt_sys_lstat(f, &st) < 0 || (S_ISDIR(st.st_mode) && pfs_has_dir(path)))
        return rc;
    rc = S_ISDIR(st.st_mode) ? ebt_sys_rmdir(f) : ebt_sys_unlink(f);
    return rc < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT ? -errno : 0;
}

int md_remote_dir(struct ebtd *d, const char *path)
{
    char f[PATH_MAX];
    struct stat st;
    int rc = entry_changing(d, path, f);
    if (rc < 0 || (ebt_sys_lstat(f, &st) == 0 && S_ISDIR(st.st_mode)))
        return rc;
    rc = remove_entry(f);
    return rc < 0 ? rc : ebt_mkdirs(f, 0755, 0);
}

static int set_times(const char *f, int64_t ms, int64_t mns)
{
    struct timespec ts[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT}, {.tv_sec = ms, .tv_nsec = mns}};
    return syscall(SYS_utimensat, AT_FDCWD, f, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* The remote copy is already this version (and, if strict, this size): keep it. */
static int keep_copy(struct ebtd *d, const char *path, const char *f, uint64_t size,
                     uint64_t version, int strict)
{
    struct md_stamp *s = md_map_get(&d->md->stamps, path);
    struct stat st;
    if (!s || s->version != version || (strict && s->size != size))
        return 0;
    return ebt_sys_lstat(f, &st) == 0 && S_ISREG(st.st_mode) &&
           (!strict || (uint64_t)st.st_size == size);
}

/* A sparse placeholder: no data, the size, mode and mtime. */
static int set_attrs(int fd, mode_t mode, uint64_t size, int64_t ms, int64_t mns)
{
    int rc = ebt_sys_ftruncate(fd, 0) < 0 || ebt_sys_ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
    if (rc == 0 && ebt_sys_fchmod(fd, mode & 07777) < 0)
        rc = -errno;
    return rc == 0 ? md_futimens(fd, ms, mns) : rc;
}

static int placeholder(struct ebtd *d, const char *path, mode_t mode, uint64_t size, int64_t ms,
                       int64_t mns, uint64_t version, int strict)
{
    char f[PATH_MAX], tmp[PATH_MAX];
    if (md_layer_file(d, "remote", path, f, sizeof(f)) < 0)
        return -ENAMETOOLONG;
    if (keep_copy(d, path, f, size, version, strict))
        return strict ? set_times(f, ms, mns) : 0;
    int fd = md_open_unshared(f); /* nobody has it open: the same inode, new attributes */
    if (fd >= 0) {
        int rc = set_attrs(fd, mode, size, ms, mns);
        md_unshared_close(fd);
        if (rc == 0)
            md_stamp_set(d, path, version, size, ms, mns);
        return rc;
    }
    int n = snprintf(tmp, sizeof(tmp), "%s", f);
    char *slash = strrchr(tmp, '/');
    if (n < 0 || (size_t)n >= sizeof(tmp) || !slash)
        return -ENAMETOOLONG;
    n = snprintf(slash + 1, sizeof(tmp) - (size_t)(slash + 1 - tmp), "%sph.%lu",
                 EBT_RESERVED_PREFIX, ++d->md->tmpseq);
    if (n < 0 || (size_t)n >= sizeof(tmp) - (size_t)(slash + 1 - tmp))
        return -ENAMETOOLONG;
    fd = ebt_open_mkparents(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fd;
    int rc = set_attrs(fd, mode, size, ms, mns);
    ebt_sys_close(fd);
    if (rc == 0 && ebt_sys_rename(tmp, f) < 0) {
        rc = -errno;
        if (rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST) {
            ebt_remove_tree(f);
            rc = ebt_sys_rename(tmp, f) < 0 ? -errno : 0;
        }
    }
    if (rc < 0)
        ebt_sys_unlink(tmp);
    else
        md_stamp_set(d, path, version, size, ms, mns);
    return rc;
}

int md_remote_placeholder(struct ebtd *d, const char *path, mode_t mode, uint64_t size, int64_t ms,
                          int64_t mns, uint64_t version)
{
    return placeholder(d, path, mode, size, ms, mns, version, 1);
}

/* ---- MD_LISTDIR ---- */

struct child {
    const struct md_wire_child *w; /* unaligned: read with memcpy */
    const char *name;
    uint32_t kind;
};

static int cmp_child(const void *a, const void *b)
{
    return strcmp(((const struct child *)a)->name, ((const struct child *)b)->name);
}

static int valid_name(const char *name)
{
    return name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/') &&
           !ebt_name_reserved(name) && strlen(name) <= NAME_MAX;
}

/* Parse every node's reply into kids (pointers into the replies). -EIO if one is malformed. */
static int collect(const struct ebtd_mesh_result *res, int nodes, struct child **kids, size_t *n)
{
    size_t cap = 0;
    *kids = NULL;
    *n = 0;
    for (int i = 0; i < nodes; i++) {
        const char *p = res[i].data, *end = p + res[i].len;
        while (p && p < end) {
            const char *name = p + sizeof(struct md_wire_child);
            const char *nul = name < end ? memchr(name, '\0', (size_t)(end - name)) : NULL;
            if (!nul || !valid_name(name))
                return -EIO;
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                void *q = realloc(*kids, cap * sizeof(**kids));
                if (!q)
                    return -ENOMEM;
                *kids = q;
            }
            struct child c = {(const struct md_wire_child *)p, name, 0};
            memcpy(&c.kind, p, sizeof(c.kind));
            (*kids)[(*n)++] = c;
            p = nul + 1;
        }
    }
    if (*n > 1)
        qsort(*kids, *n, sizeof(**kids), cmp_child);
    return 0;
}

static int apply_child(struct ebtd *d, const char *dir, const char *rdir, const struct child *c)
{
    char path[PATH_MAX], wh[PATH_MAX];
    struct md_wire_child w;
    memcpy(&w, c->w, sizeof(w)); /* the reply buffer need not be aligned */
    int n = snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", c->name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    n = snprintf(wh, sizeof(wh), "%s/%s%s", rdir, EBT_WHITEOUT_PREFIX, c->name);
    if (n < 0 || (size_t)n >= sizeof(wh))
        return -ENAMETOOLONG;
    if (w.kind != EBTD_MD_GONE)
        ebt_sys_unlink(wh);
    if (w.kind == EBTD_MD_FILE)
        return placeholder(d, path, w.mode, w.size, w.mtime_sec, w.mtime_nsec, w.version, 0);
    if (w.kind == EBTD_MD_DIR)
        return md_remote_dir(d, path);
    int rc = md_remote_remove(d, path);
    int fd = rc == 0 ? ebt_sys_open(wh, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (rc == 0 && fd < 0)
        rc = -errno;
    if (fd >= 0)
        ebt_sys_close(fd);
    return rc;
}

static const struct child *find_child(const struct child *kids, size_t n, const char *name)
{
    struct child key = {NULL, name, 0};
    return n ? bsearch(&key, kids, n, sizeof(*kids), cmp_child) : NULL;
}

/* Remove entries of RUN/remote/<dir> that no node listed (whiteouts of names no longer gone). */
static int prune(struct ebtd *d, const char *dir, const char *rdir, const struct child *kids,
                 size_t n)
{
    struct ebt_dirlist l;
    char f[PATH_MAX], path[PATH_MAX];
    int rc = ebt_dirlist_read(rdir, &l);
    if (rc < 0)
        return rc;
    size_t wl = strlen(EBT_WHITEOUT_PREFIX);
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        const char *name = l.e[i].name;
        int wh = strncmp(name, EBT_WHITEOUT_PREFIX, wl) == 0;
        const struct child *c = find_child(kids, n, wh ? name + wl : name);
        if (wh ? c && c->kind == EBTD_MD_GONE : c || ebt_name_reserved(name))
            continue;
        int fl = snprintf(f, sizeof(f), "%s/%s", rdir, name);
        int pl = snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", name);
        if (fl < 0 || (size_t)fl >= sizeof(f) || pl < 0 || (size_t)pl >= sizeof(path))
            continue;
        if (!wh && l.e[i].type == DT_DIR && pfs_has_dir(path))
            continue; /* no record, but the PFS has it: processes may be inside */
        if (!wh)
            stamp_del(d, path);
        rc = remove_entry(f);
    }
    ebt_dirlist_free(&l);
    return rc;
}

static int list_failed(struct ebtd *d, const struct ebtd_mesh_result *res, int nodes)
{
    for (int i = 0; i < nodes; i++) {
        int rc = res[i].status;
        if (rc >= 0 || d->md->logged[i])
            continue;
        d->md->logged[i] = 1;
        if (md_transport_error(rc))
            ebt_error("md: node %d unreachable (listing): %s", i, strerror(-rc));
        else
            ebt_error("md: listing on node %d failed: %s", i, strerror(-rc));
    }
    return -EIO;
}

int md_op_listdir(struct ebtd *d, const char *dir, uint32_t *count)
{
    int nodes = d->md->nodes;
    char rdir[PATH_MAX];
    struct ebtd_mesh_result *res = calloc((size_t)nodes, sizeof(*res));
    struct child *kids = NULL;
    size_t n = 0;
    if (!res)
        return -ENOMEM;
    int rc = ebtd_mesh_broadcast(d, MD_P_LIST, dir, strlen(dir) + 1, MD_LIST_MAX, res);
    if (rc < 0)
        rc = list_failed(d, res, nodes);
    if (rc == 0)
        rc = collect(res, nodes, &kids, &n);
    if (rc == 0)
        rc = md_layer_file(d, "remote", dir, rdir, sizeof(rdir));
    if (rc == 0)
        rc = md_remote_dir(d, dir);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (i == 0 || strcmp(kids[i].name, kids[i - 1].name) != 0)
            rc = apply_child(d, dir, rdir, &kids[i]);
    if (rc == 0)
        rc = prune(d, dir, rdir, kids, n);
    *count = (uint32_t)n;
    free(kids);
    ebtd_mesh_results_free(res, nodes);
    free(res);
    return rc;
}
