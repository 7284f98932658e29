/* md_peer.c - peer handlers of the namespace: the owner's NOTE, RECORD, UNLINK and LIST, and a
 * holder's DEMOTE, STAT and DROP of its local copy. */
#define _GNU_SOURCE
#include "log.h"
#include "md_int.h"
#include "mesh.h"
#include "path.h"
#include "proto.h"
#include "rundir.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- holder side ---- */

/* Under the share lock: RUN/up/<path> becomes RUN/held/<path> (same inode: open fds keep
 * working). A node never keeps two copies: if both exist, bytes of one would be lost. */
static int demote_locked(const char *path, const char *up, const char *held)
{
    struct stat ust, hst;
    if (ebt_sys_lstat(up, &ust) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISREG(ust.st_mode))
        return 0;
    if (ebt_sys_lstat(held, &hst) == 0) {
        ebt_error("md: %s: this node has two copies (RUN/up and RUN/held)", path);
        return -EIO;
    }
    return ebt_rename_noreplace_mkparents(up, held);
}

int md_demote_local(struct ebtd *d, const char *path)
{
    char up[PATH_MAX], held[PATH_MAX];
    if (md_layer_file(d, "up", path, up, sizeof(up)) < 0 ||
        md_layer_file(d, "held", path, held, sizeof(held)) < 0)
        return -ENAMETOOLONG;
    int lock = ebt_share_lock(d->run_dir);
    if (lock < 0)
        return lock;
    int rc = demote_locked(path, up, held);
    ebt_sys_close(lock);
    return rc;
}

static int drop_file(struct ebtd *d, const char *file)
{
    struct stat st;
    char meta[PATH_MAX];
    if (ebt_sys_lstat(file, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    if (ebt_sys_unlink(file) < 0 && errno != ENOENT)
        return -errno;
    if (ebt_meta_path(d->run_dir, (unsigned long long)st.st_ino, meta, sizeof(meta)) == 0)
        ebt_sys_unlink(meta);
    return 0;
}

/* A directory the job removed: what this node still has below it can only be whiteouts, markers
 * and empty directories (rmdir checked the job's view), so the whole local tree goes. */
static int drop_dir(const char *dir)
{
    struct stat st;
    if (ebt_sys_lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    int rc = ebt_remove_tree(dir);
    return rc == -ENOENT ? 0 : rc;
}

int md_drop_local(struct ebtd *d, const char *path)
{
    char f[PATH_MAX];
    int rc = 0;
    if (md_layer_file(d, "held", path, f, sizeof(f)) == 0 && (rc = drop_file(d, f)) == 0)
        rc = drop_dir(f);
    if (rc == 0 && md_layer_file(d, "up", path, f, sizeof(f)) == 0 && (rc = drop_file(d, f)) == 0)
        rc = drop_dir(f);
    md_map_del(&d->md->noted, path);
    return rc;
}

static int h_demote(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    char path[PATH_MAX];
    int n = md_take_path(req, len, path, sizeof(path));
    if (n < 0)
        return n;
    return md_demote_local(d, path);
}

static int h_drop(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    char path[PATH_MAX];
    int n = md_take_path(req, len, path, sizeof(path));
    if (n < 0)
        return n;
    return md_drop_local(d, path);
}

static int h_stat(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    char path[PATH_MAX], f[PATH_MAX];
    struct stat st;
    int rc = md_take_path(req, len, path, sizeof(path));
    if (rc >= 0)
        rc = md_local_copy(d, path, f, sizeof(f), &st);
    if (rc < 0)
        return rc;
    struct md_wire_stat *w = ebtd_reply_alloc(r, sizeof(*w));
    if (!w)
        return -ENOMEM;
    memset(w, 0, sizeof(*w));
    w->size = (uint64_t)st.st_size;
    w->mtime_sec = st.st_mtim.tv_sec;
    w->mtime_nsec = st.st_mtim.tv_nsec;
    w->mode = st.st_mode;
    return 0;
}

/* ---- owner side ---- */

/* Tell the holders of path other than `except` that it is shared. 0 or -EIO. */
static int demote_others(struct ebtd *d, const char *path, const int *holders, int n, int except)
{
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (holders[i] != except) {
            int r = md_call(d, holders[i], MD_P_DEMOTE, path, strlen(path) + 1, NULL, 0, NULL);
            if (r < 0) {
                ebt_warn("md: demote of %s on node %d: %s", path, holders[i], strerror(-r));
                rc = -EIO;
            }
        }
    return rc;
}

/* Does the job's namespace have the name from a node other than from (its kernel decides
 * between its own processes)? A removed name (GONE) is free; a PFS name was seen by the client. */
static int taken_elsewhere(struct ebtd *d, const char *path, int from)
{
    const struct md_rec *rec = md_shard_get(&d->md->shard, path);
    if (rec && rec->kind == EBTD_MD_DIR)
        return 1;
    for (int i = 0; rec && rec->kind == EBTD_MD_FILE && i < rec->nholders; i++)
        if (rec->holders[i] != from)
            return 1;
    void *c = md_map_get(&d->md->claims, path);
    return c && (intptr_t)c != from + 1;
}

/* An O_EXCL create or a mkdir takes the name at its owner, which sees every node's in turn. */
static int claim(struct ebtd *d, const char *path, int from)
{
    if (taken_elsewhere(d, path, from))
        return -EEXIST;
    return md_map_put(&d->md->claims, path, (void *)(intptr_t)(from + 1), NULL);
}

static void unclaim(struct ebtd *d, const char *path, int from)
{
    if ((intptr_t)md_map_get(&d->md->claims, path) == from + 1)
        md_map_del(&d->md->claims, path);
}

/* One note: record it; if a new holder made the file shared, demote the others. */
static int note_one(struct ebtd *d, int from, const struct md_wire_note *w, const char *path,
                    uint32_t *flags)
{
    *flags = 0;
    if (w->kind == MD_NOTE_CLAIM)
        return claim(d, path, from);
    if (w->kind == MD_NOTE_UNCLAIM) {
        unclaim(d, path, from);
        return 0;
    }
    int excl = (w->kind & MD_NOTE_EXCL) != 0, rc;
    struct md_note n = {(int)(w->kind & ~(uint32_t)MD_NOTE_EXCL), (mode_t)w->mode, w->size,
                        w->mtime_sec, w->mtime_nsec};
    int was_holder = 0;
    if (n.kind != EBTD_MD_FILE && n.kind != EBTD_MD_DIR)
        return -EINVAL;
    if (excl && (n.kind != EBTD_MD_DIR || (rc = claim(d, path, from)) < 0))
        return n.kind != EBTD_MD_DIR ? -EINVAL : rc;
    struct md_rec *rec = md_shard_note(&d->md->shard, path, &n, from, &was_holder);
    if (!rec)
        return -ENOMEM;
    if (rec->kind != EBTD_MD_FILE || rec->nholders < 2)
        return 0;
    *flags = EBT_NOTE_SHARED;
    if (was_holder)
        return 0;                        /* the others were told when they became shared */
    int nh = rec->nholders, holders[nh]; /* copied: the record may change during the calls */
    memcpy(holders, rec->holders, sizeof(holders));
    return demote_others(d, path, holders, nh, from);
}

static int h_note(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    const char *p = req, *end = p + len;
    size_t count = 0;
    for (const char *q = p; q < end; count++) { /* validate the whole batch first */
        if ((size_t)(end - q) < sizeof(struct md_wire_note) + 2)
            return -EINVAL;
        const char *s = q + sizeof(struct md_wire_note), *nul = memchr(s, '\0', (size_t)(end - s));
        if (!nul || *s != '/')
            return -EINVAL;
        q = nul + 1;
    }
    struct md_wire_note_reply *out = ebtd_reply_alloc(r, count * sizeof(*out));
    if (!out && count)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        struct md_wire_note w;
        char path[PATH_MAX];
        memcpy(&w, p, sizeof(w));
        const char *s = p + sizeof(w);
        p = s + strlen(s) + 1;
        int n = md_take_path(s, (size_t)(p - s), path, sizeof(path));
        out[i].status = n < 0 ? n : note_one(d, from, &w, path, &out[i].flags);
    }
    return 0;
}

static int h_record(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    char path[PATH_MAX];
    int n = md_take_path(req, len, path, sizeof(path));
    if (n < 0)
        return n;
    const struct md_rec *rec = md_shard_get(&d->md->shard, path);
    if (!rec)
        return -ENOENT;
    size_t hl = (size_t)rec->nholders * sizeof(struct md_wire_holder);
    char *buf = ebtd_reply_alloc(r, sizeof(struct md_wire_rec) + hl);
    if (!buf)
        return -ENOMEM;
    struct md_wire_rec w = {(uint32_t)rec->kind, (uint32_t)rec->mode,     rec->size, rec->mtime_sec,
                            rec->mtime_nsec,     (uint32_t)rec->nholders, 0};
    memcpy(buf, &w, sizeof(w));
    for (int i = 0; i < rec->nholders; i++) {
        struct md_wire_holder h = {rec->holders[i], 0, rec->seqs[i], rec->hsizes[i]};
        memcpy(buf + sizeof(w) + (size_t)i * sizeof(h), &h, sizeof(h));
    }
    return 0;
}

static int drop_everywhere(struct ebtd *d, const char *path, int rc)
{
    int nodes = ebtd_mesh_nodes(d);
    struct ebtd_mesh_result *res = calloc((size_t)nodes, sizeof(*res));
    if (!res)
        return -ENOMEM;
    int e = ebtd_mesh_broadcast(d, MD_P_DROP, path, strlen(path) + 1, 0, res);
    for (int i = 0; e < 0 && i < nodes; i++)
        if (res[i].status < 0 && res[i].status != -ENOENT) {
            ebt_warn("md: drop of directory %s on node %d: %s", path, i, strerror(-res[i].status));
            if (rc == 0)
                rc = -EIO;
        }
    ebtd_mesh_results_free(res, nodes);
    free(res);
    return rc;
}

static int h_unlink(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    char path[PATH_MAX];
    uint32_t is_dir;
    struct stat st;
    if (len < sizeof(is_dir) + 2)
        return -EINVAL;
    memcpy(&is_dir, req, sizeof(is_dir));
    int n =
        md_take_path((const char *)req + sizeof(is_dir), len - sizeof(is_dir), path, sizeof(path));
    if (n < 0)
        return n;
    struct md_rec *rec = md_shard_get(&d->md->shard, path);
    int nh = rec ? rec->nholders : 0, holders[nh > 0 ? nh : 1], rc = 0;
    md_map_del(&d->md->claims, path); /* the name is free again, whoever claimed it */
    if (nh)
        memcpy(holders, rec->holders, (size_t)nh * sizeof(int));
    /* the PFS still has the name: keep it listed as gone; else forget it */
    if (ebt_sys_lstat(path, &st) == 0)
        rc = md_shard_gone(&d->md->shard, path) ? 0 : -ENOMEM;
    else
        md_shard_drop(&d->md->shard, path);
    if (is_dir) /* any node may have the directory (as the parent of its files): all drop it */
        return drop_everywhere(d, path, rc);
    for (int i = 0; i < nh; i++) {
        int e = md_call(d, holders[i], MD_P_DROP, path, strlen(path) + 1, NULL, 0, NULL);
        if (e < 0 && rc == 0)
            rc = e == -ENOENT ? 0 : -EIO;
    }
    return rc;
}

/* ---- LIST: the children of a directory in this shard ---- */

struct list_ctx {
    char *buf;
    size_t len;
};

static int list_one(const struct md_rec *rec, void *arg)
{
    struct list_ctx *c = arg;
    const char *name = strrchr(rec->path, '/') + 1;
    size_t nl = strlen(name) + 1;
    if (c->buf) {
        struct md_wire_child w = {(uint32_t)rec->kind, (uint32_t)rec->mode, rec->size,
                                  md_rec_version(rec), rec->mtime_sec,      rec->mtime_nsec};
        memcpy(c->buf + c->len, &w, sizeof(w));
        memcpy(c->buf + c->len + sizeof(w), name, nl);
    }
    c->len += sizeof(struct md_wire_child) + nl;
    return 0;
}

static int h_list(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    char dir[PATH_MAX];
    int n = ebt_proto_path_check(req, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    if (n < 0 || ebt_path_normalize("/", req, dir, sizeof(dir)) < 0)
        return -EINVAL;
    struct list_ctx c = {NULL, 0};
    md_shard_children(&d->md->shard, dir, list_one, &c);
    if (c.len == 0)
        return 0;
    if (c.len > MD_LIST_MAX) {
        ebt_error("md: %s has too many names in this shard for one listing (%zu bytes)", dir,
                  c.len);
        return -EFBIG;
    }
    c.buf = ebtd_reply_alloc(r, c.len);
    if (!c.buf)
        return -ENOMEM;
    c.len = 0;
    md_shard_children(&d->md->shard, dir, list_one, &c);
    return 0;
}

void md_peer_register(void)
{
    ebtd_mesh_handle(MD_P_NOTE, h_note);
    ebtd_mesh_handle(MD_P_RECORD, h_record);
    ebtd_mesh_handle(MD_P_DEMOTE, h_demote);
    ebtd_mesh_handle(MD_P_STAT, h_stat);
    ebtd_mesh_handle(MD_P_UNLINK, h_unlink);
    ebtd_mesh_handle(MD_P_DROP, h_drop);
    ebtd_mesh_handle(MD_P_LIST, h_list);
}
