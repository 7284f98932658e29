/* md_ops.c - the md service's entry points: start/stop, the client ops (RESOLVE, FETCH, NOTE,
 * UNLINK, LISTDIR) routed to the path's owner, and the shard visit for the flush. */
#define _GNU_SOURCE
#include "log.h"
#include "md_int.h"
#include "mesh.h"
#include "path.h"
#include "proto.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A client's path payload: NUL inside len, absolute, normalised, under a managed prefix. */
static int take_path(const struct ebtd *d, const char *payload, uint32_t len, char *out, size_t cap,
                     uint32_t *used)
{
    int n = ebt_proto_path_check(payload, len);
    if (n < 0)
        return n;
    *used = (uint32_t)n + 1;
    int rc = ebt_path_normalize("/", payload, out, cap);
    if (rc < 0)
        return rc;
    for (int i = 0; i < d->cfg->nprefixes; i++)
        if (ebt_path_under(out, d->cfg->prefixes[i].path))
            return 0;
    return d->cfg->nprefixes == 0 ? 0 : -EXDEV;
}

/* "path NUL u32" payloads (NOTE, UNLINK). */
static int take_path_u32(const struct ebtd *d, const char *payload, uint32_t len, char *out,
                         size_t cap, uint32_t *val)
{
    uint32_t used;
    int rc = take_path(d, payload, len, out, cap, &used);
    if (rc == 0 && used + sizeof(*val) != len)
        rc = -EINVAL;
    if (rc == 0)
        memcpy(val, payload + used, sizeof(*val));
    if (rc == 0 && strcmp(out, "/") == 0)
        rc = -EINVAL;
    return rc;
}

/* ---- NOTE ---- */

static int note_stat(struct ebtd *d, const char *path, uint32_t kind, struct md_wire_note *w)
{
    char f[PATH_MAX];
    struct stat st;
    int rc;
    if (kind == EBT_NOTE_FILE) {
        rc = md_local_copy(d, path, f, sizeof(f), &st);
        if (rc == 0 && !S_ISREG(st.st_mode))
            rc = -EINVAL;
    } else {
        rc = md_layer_file(d, "up", path, f, sizeof(f));
        if (rc == 0 && ebt_sys_lstat(f, &st) < 0)
            rc = -errno;
        if (rc == 0 && !S_ISDIR(st.st_mode))
            rc = -ENOTDIR;
    }
    if (rc < 0)
        return rc;
    *w = (struct md_wire_note){kind == EBT_NOTE_FILE ? EBTD_MD_FILE : EBTD_MD_DIR, st.st_mode,
                               S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0, st.st_mtim.tv_sec,
                               st.st_mtim.tv_nsec};
    return 0;
}

/* After the owner's answer: shared files move to RUN/held; remember the note. */
static int noted(struct ebtd *d, const char *path, uint32_t kind, uint32_t flags)
{
    int rc = 0;
    if (kind == EBTD_MD_FILE && (flags & EBT_NOTE_SHARED))
        rc = md_demote_local(d, path);
    if (rc == 0)
        rc = md_map_put(&d->md->noted, path, (void *)1, NULL);
    return rc;
}

/* The wire form of a client's note: a claim carries only its kind; the others the local copy's
 * attributes. */
static int note_wire(struct ebtd *d, const char *path, uint32_t kind, struct md_wire_note *w)
{
    if (kind == EBT_NOTE_CLAIM || kind == EBT_NOTE_UNCLAIM) {
        *w = (struct md_wire_note){kind == EBT_NOTE_CLAIM ? MD_NOTE_CLAIM : MD_NOTE_UNCLAIM, 0, 0,
                                   0, 0};
        return 0;
    }
    if (kind == EBT_NOTE_DIR_EXCL) { /* before the mkdir: the name is taken and shown at once */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        *w = (struct md_wire_note){EBTD_MD_DIR | MD_NOTE_EXCL, S_IFDIR | 0755, 0, now.tv_sec,
                                   now.tv_nsec};
        return 0;
    }
    if (kind != EBT_NOTE_FILE && kind != EBT_NOTE_DIR)
        return -EINVAL;
    return note_stat(d, path, kind, w);
}

static int op_note(struct ebtd *d, const char *path, uint32_t kind, uint32_t *flags)
{
    struct md_wire_note w;
    struct md_wire_note_reply rep;
    size_t len, got;
    int rc = note_wire(d, path, kind, &w);
    void *req = rc == 0 ? md_req(&w, sizeof(w), path, &len) : NULL;
    if (rc == 0 && !req)
        rc = -ENOMEM;
    if (rc == 0)
        rc = md_call(d, ebt_path_owner(path, d->md->nodes), MD_P_NOTE, req, len, &rep, sizeof(rep),
                     &got);
    free(req);
    if (rc == 0 && got != sizeof(rep))
        rc = -EIO;
    if (rc == 0)
        rc = rep.status;
    if (rc == 0 && w.kind != MD_NOTE_CLAIM && w.kind != MD_NOTE_UNCLAIM)
        rc = noted(d, path, w.kind & ~(uint32_t)MD_NOTE_EXCL, rep.flags);
    *flags = rc == 0 ? rep.flags : 0;
    return rc;
}

/* ---- RESOLVE ---- */

/* Fresh size and mtime of a file: ask its holders (they may still be writing). */
static int holders_stat(struct ebtd *d, const char *path, const struct md_recinfo *ri,
                        struct ebt_proto_resolve *out)
{
    int first = 1;
    for (uint32_t i = 0; i < ri->r.nholders; i++) {
        struct md_wire_stat st;
        if (ri->h[i].node == d->md->self)
            out->self_holds = 1;
        size_t got;
        int rc =
            md_call(d, ri->h[i].node, MD_P_STAT, path, strlen(path) + 1, &st, sizeof(st), &got);
        if (rc == -ENOENT)
            continue; /* being dropped */
        if (rc == 0 && got != sizeof(st))
            rc = -EIO;
        if (rc < 0)
            return rc == -EIO ? rc : -EIO;
        if (first || st.size > out->size)
            out->size = st.size;
        first = 0;
        if (st.mtime_sec > out->mtime_sec ||
            (st.mtime_sec == out->mtime_sec && st.mtime_nsec > out->mtime_nsec)) {
            out->mtime_sec = st.mtime_sec;
            out->mtime_nsec = st.mtime_nsec;
        }
    }
    return 0;
}

static int op_resolve(struct ebtd *d, const char *path, struct ebt_proto_resolve *out)
{
    struct md_recinfo ri;
    memset(out, 0, sizeof(*out));
    int rc = md_get_record(d, path, &ri);
    if (rc == -ENOENT) {
        out->state = EBT_RES_NONE;
        return md_remote_forget(d, path);
    }
    if (rc == 0 && ri.r.kind == EBTD_MD_GONE) {
        out->state = EBT_RES_GONE;
        rc = md_remote_remove(d, path);
    } else if (rc == 0 && ri.r.kind == EBTD_MD_DIR) {
        *out = (struct ebt_proto_resolve){EBT_RES_DIR,     ri.r.mode, 0, ri.r.mtime_sec,
                                          ri.r.mtime_nsec, 0,         0};
        rc = md_remote_dir(d, path);
    } else if (rc == 0) {
        *out = (struct ebt_proto_resolve){EBT_RES_FILE,    ri.r.mode,     ri.r.size, ri.r.mtime_sec,
                                          ri.r.mtime_nsec, ri.r.nholders, 0};
        rc = holders_stat(d, path, &ri, out);
        if (rc == 0)
            rc = md_remote_placeholder(d, path, out->mode, out->size, out->mtime_sec,
                                       out->mtime_nsec, md_recinfo_version(&ri));
    }
    md_recinfo_free(&ri);
    return rc;
}

/* ---- UNLINK ---- */

static int op_unlink(struct ebtd *d, const char *path, uint32_t is_dir)
{
    size_t len;
    void *req = md_req(&is_dir, sizeof(is_dir), path, &len);
    if (!req)
        return -ENOMEM;
    int rc = md_call(d, ebt_path_owner(path, d->md->nodes), MD_P_UNLINK, req, len, NULL, 0, NULL);
    free(req);
    md_map_del(&d->md->noted, path);
    int r2 = md_remote_remove(d, path);
    return rc < 0 ? rc : r2;
}

/* ---- dispatch ---- */

static int reply_u32(uint32_t v, char *reply, uint32_t cap, uint32_t *replylen)
{
    if (cap < sizeof(v))
        return -EMSGSIZE;
    memcpy(reply, &v, sizeof(v));
    *replylen = sizeof(v);
    return 0;
}

static int path_only(struct ebtd *d, const char *payload, uint32_t len, char *path, size_t cap)
{
    uint32_t used;
    int rc = take_path(d, payload, len, path, cap, &used);
    return rc == 0 && used != len ? -EINVAL : rc;
}

int ebtd_md_client_op(struct ebtd *d, uint16_t op, const char *payload, uint32_t len, char *reply,
                      uint32_t cap, uint32_t *replylen)
{
    char path[PATH_MAX];
    uint32_t v = 0;
    *replylen = 0;
    if (!d->md)
        return -EOPNOTSUPP;
    int rc = op == EBT_OP_MD_NOTE || op == EBT_OP_MD_UNLINK
                 ? take_path_u32(d, payload, len, path, sizeof(path), &v)
                 : path_only(d, payload, len, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (op != EBT_OP_MD_LISTDIR && strcmp(path, "/") == 0)
        return -EINVAL;
    switch (op) {
    case EBT_OP_MD_RESOLVE:
        if (cap < sizeof(struct ebt_proto_resolve))
            return -EMSGSIZE;
        rc = op_resolve(d, path, (struct ebt_proto_resolve *)reply);
        *replylen = rc == 0 ? sizeof(struct ebt_proto_resolve) : 0;
        return rc;
    case EBT_OP_MD_FETCH:
        if (cap < sizeof(struct ebt_proto_fetch))
            return -EMSGSIZE;
        rc = md_op_fetch(d, path, (struct ebt_proto_fetch *)reply);
        *replylen = rc == 0 ? sizeof(struct ebt_proto_fetch) : 0;
        return rc;
    case EBT_OP_MD_NOTE:
        rc = op_note(d, path, v, &v);
        return rc < 0 ? rc : reply_u32(v, reply, cap, replylen);
    case EBT_OP_MD_UNLINK:
        return op_unlink(d, path, v);
    case EBT_OP_MD_LISTDIR:
        rc = md_op_listdir(d, path, &v);
        return rc < 0 ? rc : reply_u32(v, reply, cap, replylen);
    }
    return -EOPNOTSUPP;
}

/* ---- start, stop, visit ---- */

static int mkdir_run(struct ebtd *d, const char *name)
{
    char f[PATH_MAX];
    int n = snprintf(f, sizeof(f), "%s/%s", d->run_dir, name);
    if (n < 0 || (size_t)n >= sizeof(f))
        return -ENAMETOOLONG;
    return ebt_sys_mkdir(f, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

int ebtd_md_start(struct ebtd *d)
{
    if (!d->cfg || d->cfg->nodes <= 1)
        return 0;
    struct ebtd_md *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->nodes = d->cfg->nodes;
    m->self = d->cfg->node_id;
    m->logged = calloc((size_t)m->nodes, 1);
    md_shard_init(&m->shard);
    md_map_init(&m->noted);
    md_map_init(&m->stamps);
    md_map_init(&m->claims);
    d->md = m;
    int rc = m->logged ? 0 : -ENOMEM;
    if (rc == 0)
        rc = mkdir_run(d, "remote");
    if (rc == 0)
        rc = mkdir_run(d, "held");
    if (rc < 0) {
        ebt_error("md: cannot start in %s: %s", d->run_dir, strerror(-rc));
        ebtd_md_stop(d);
        return rc;
    }
    /* a lease break (md_open_unshared) signals SIGIO, whose default would end the daemon */
    struct sigaction sa;
    if (sigaction(SIGIO, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGIO, SIG_IGN);
    md_peer_register();
    md_fetch_register();
    ebt_info("md: node %d of %d", m->self, m->nodes);
    return 0;
}

void ebtd_md_stop(struct ebtd *d)
{
    struct ebtd_md *m = d->md;
    if (!m)
        return;
    md_shard_free(&m->shard);
    md_map_free(&m->noted, NULL);
    md_map_free(&m->stamps, free);
    md_map_free(&m->claims, NULL);
    free(m->logged);
    free(m);
    d->md = NULL;
}

struct visit_ctx {
    ebtd_md_visit_fn *fn;
    void *arg;
};

static int visit_one(const struct md_rec *r, void *arg)
{
    struct visit_ctx *c = arg;
    struct ebtd_md_rec_view v = {r->path,      r->kind,       r->mode,     r->size,
                                 r->mtime_sec, r->mtime_nsec, r->nholders, r->holders};
    return c->fn(&v, c->arg);
}

int ebtd_md_visit(struct ebtd *d, ebtd_md_visit_fn *fn, void *arg)
{
    if (!d->md)
        return 0;
    struct visit_ctx c = {fn, arg};
    return md_shard_each(&d->md->shard, visit_one, &c);
}
