/* view.c - STAT and READDIR answers from the layered view (up + whiteouts over the PFS). */
#define _GNU_SOURCE
#include "view.h"
#include "dirlist.h"
#include "lower.h"
#include "rundir.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Does the up directory updir (real path) hide the lower name? */
static int up_hides(const char *updir, const char *name)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof(p), "%s/%s%s", updir, EBT_WHITEOUT_PREFIX, name) >= (int)sizeof(p))
        return 1;
    if (ebt_sys_access(p, F_OK) == 0)
        return 1;
    snprintf(p, sizeof(p), "%s/%s", updir, EBT_OPAQUE_NAME);
    return ebt_sys_access(p, F_OK) == 0;
}

static int lower_stat(const char *path, struct stat *st, int *layer_p)
{
    char low[PATH_MAX];
    if (ebt_lower_path(path, low, sizeof(low)) < 0)
        return -ENAMETOOLONG;
    if (ebt_sys_lstat(low, st) < 0)
        return -errno;
    *layer_p = EBT_LAYER_PFS;
    return 0;
}

int ebt_view_lookup(const char *run_dir, const char *path, struct stat *st, int *layer_p)
{
    char real[PATH_MAX];
    if (path[0] != '/')
        return -EINVAL;
    int n = snprintf(real, sizeof(real), "%s/up", run_dir);
    if (n < 0 || (size_t)n + strlen(path) >= sizeof(real))
        return -ENAMETOOLONG;
    const char *p = path;
    int components = 0;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchrnul(p, '/');
        char name[NAME_MAX + 1];
        if (end - p > NAME_MAX)
            return -ENAMETOOLONG;
        snprintf(name, sizeof(name), "%.*s", (int)(end - p), p);
        size_t parent_len = strlen(real);
        snprintf(real + parent_len, sizeof(real) - parent_len, "/%s", name);
        if (ebt_sys_lstat(real, st) < 0) {
            if (errno != ENOENT)
                return -errno;
            real[parent_len] = '\0';
            return up_hides(real, name) ? -ENOENT : lower_stat(path, st, layer_p);
        }
        if (*end && !S_ISDIR(st->st_mode))
            return -ENOTDIR;
        p = end;
        components++;
    }
    if (components == 0) /* "/" itself */
        return lower_stat(path, st, layer_p);
    *layer_p = EBT_LAYER_UP;
    return 0;
}

int ebt_view_stat(const char *run_dir, const char *path, struct ebt_proto_stat *out)
{
    struct stat st;
    int layer;
    int rc = ebt_view_lookup(run_dir, path, &st, &layer);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    out->size = (uint64_t)st.st_size;
    out->ino = st.st_ino;
    out->nlink = st.st_nlink;
    out->blocks = (uint64_t)st.st_blocks;
    out->mode = st.st_mode;
    out->uid = st.st_uid;
    out->gid = st.st_gid;
    out->layer = (uint32_t)layer;
    out->atime_sec = st.st_atim.tv_sec;
    out->atime_nsec = st.st_atim.tv_nsec;
    out->mtime_sec = st.st_mtim.tv_sec;
    out->mtime_nsec = st.st_mtim.tv_nsec;
    out->ctime_sec = st.st_ctim.tv_sec;
    out->ctime_nsec = st.st_ctim.tv_nsec;
    out->blksize = (uint32_t)st.st_blksize;
    return 0;
}

/* Merge the up listing (minus reserved names) with the PFS listing (minus hidden names). */
static int merge_lists(const struct ebt_dirlist *up, const struct ebt_dirlist *low,
                       struct ebt_dirlist *out)
{
    int opaque = ebt_dirlist_find(up, EBT_OPAQUE_NAME) != NULL;
    char wh[NAME_MAX + 16];
    size_t cap = up->n + (opaque ? 0 : low->n);
    memset(out, 0, sizeof(*out));
    out->e = calloc(cap ? cap : 1, sizeof(*out->e));
    if (!out->e)
        return -ENOMEM;
    for (size_t i = 0; i < up->n; i++)
        if (!ebt_name_reserved(up->e[i].name))
            out->e[out->n++] = up->e[i];
    for (size_t i = 0; !opaque && i < low->n; i++) {
        const char *name = low->e[i].name;
        snprintf(wh, sizeof(wh), "%s%s", EBT_WHITEOUT_PREFIX, name);
        if (!ebt_dirlist_find(up, name) && !ebt_dirlist_find(up, wh) && !ebt_name_reserved(name))
            out->e[out->n++] = low->e[i];
    }
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct ebt_dirent *)a)->name, ((const struct ebt_dirent *)b)->name);
}

static int emit(const struct ebt_dirlist *l, uint32_t start, char *buf, uint32_t cap,
                uint32_t *len_p)
{
    struct ebt_proto_dirhdr h = {0};
    uint32_t off = sizeof(h);
    if (cap < sizeof(h))
        return -EMSGSIZE;
    for (size_t i = start; i < l->n; i++) {
        size_t need = 1 + strlen(l->e[i].name) + 1;
        if (off + need > cap) {
            h.more = 1;
            break;
        }
        buf[off] = (char)l->e[i].type;
        memcpy(buf + off + 1, l->e[i].name, need - 1);
        off += (uint32_t)need;
        h.nent++;
    }
    if (h.nent == 0 && h.more)
        return -EMSGSIZE;
    memcpy(buf, &h, sizeof(h));
    *len_p = off;
    return 0;
}

int ebt_view_readdir(const char *run_dir, const char *path, uint32_t start, char *buf, uint32_t cap,
                     uint32_t *len_p)
{
    struct stat st;
    struct ebt_dirlist up = {0}, low = {0}, merged = {0};
    char updir[PATH_MAX];
    int layer, rc = ebt_view_lookup(run_dir, path, &st, &layer);
    if (rc == 0 && !S_ISDIR(st.st_mode))
        rc = -ENOTDIR;
    if (rc < 0)
        return rc;
    if (layer == EBT_LAYER_UP &&
        snprintf(updir, sizeof(updir), "%s/up%s", run_dir, path) < (int)sizeof(updir))
        rc = ebt_dirlist_read(updir, &up);
    char lowdir[PATH_MAX];
    if (rc == 0 && ebt_lower_path(path, lowdir, sizeof(lowdir)) < 0)
        rc = -ENAMETOOLONG;
    if (rc == 0 && ebt_dirlist_read(lowdir, &low) < 0)
        memset(&low, 0, sizeof(low)); /* no PFS directory: only what the job created */
    if (rc == 0)
        rc = merge_lists(&up, &low, &merged);
    if (rc == 0) {
        if (merged.n > 1)
            qsort(merged.e, merged.n, sizeof(*merged.e), cmp_name);
        rc = emit(&merged, start, buf, cap, len_p);
    }
    free(merged.e); /* names are owned by up and low */
    ebt_dirlist_free(&up);
    ebt_dirlist_free(&low);
    return rc;
}
