/* md_noteall.c - note everything of RUN/up and RUN/held this node has not noted yet (e.g. task-mode
 * files after the task merge), batched: one peer message per owner for up to MD_BATCH bytes. */
#define _GNU_SOURCE
#include "dirlist.h"
#include "log.h"
#include "md_int.h"
#include "mesh.h"
#include "path.h"
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
#include <time.h>

#define MD_BATCH (256u << 10)

struct batch {
    char *buf;
    size_t len, cap, count;
};

struct walk {
    struct ebtd *d;
    struct batch *b; /* one per owner */
    int rc;
    size_t notes, messages;
};

/* Send owner's batch and apply the answers. */
static int flush_batch(struct walk *w, int owner)
{
    struct batch *b = &w->b[owner];
    if (b->count == 0)
        return 0;
    size_t cap = b->count * sizeof(struct md_wire_note_reply), got;
    struct md_wire_note_reply *rep = malloc(cap);
    int rc = rep ? 0 : -ENOMEM;
    if (rc == 0)
        rc = md_call(w->d, owner, MD_P_NOTE, b->buf, b->len, rep, cap, &got);
    w->messages++;
    if (rc == 0 && got != cap)
        rc = -EIO;
    const char *p = b->buf;
    for (size_t i = 0; rc == 0 && i < b->count; i++) {
        struct md_wire_note n;
        memcpy(&n, p, sizeof(n));
        const char *path = p + sizeof(n);
        p = path + strlen(path) + 1;
        if (rep[i].status < 0) {
            ebt_warn("md: note of %s refused by node %d: %s", path, owner,
                     strerror(-rep[i].status));
            continue;
        }
        if (n.kind == EBTD_MD_FILE && (rep[i].flags & EBT_NOTE_SHARED))
            rc = md_demote_local(w->d, path);
        if (rc == 0)
            rc = md_map_put(&w->d->md->noted, path, (void *)1, NULL);
        w->notes++;
    }
    free(rep);
    b->len = b->count = 0;
    return rc;
}

static int add_note(struct walk *w, const char *path, const struct stat *st)
{
    int owner = ebt_path_owner(path, w->d->md->nodes);
    struct batch *b = &w->b[owner];
    size_t need = sizeof(struct md_wire_note) + strlen(path) + 1;
    if (b->len + need > MD_BATCH) {
        int rc = flush_batch(w, owner);
        if (rc < 0)
            return rc;
    }
    if (b->len + need > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + need)
            cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p)
            return -ENOMEM;
        b->buf = p;
        b->cap = cap;
    }
    struct md_wire_note n = {S_ISDIR(st->st_mode) ? EBTD_MD_DIR : EBTD_MD_FILE, st->st_mode,
                             S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0, st->st_mtim.tv_sec,
                             st->st_mtim.tv_nsec};
    memcpy(b->buf + b->len, &n, sizeof(n));
    memcpy(b->buf + b->len + sizeof(n), path, need - sizeof(n));
    b->len += need;
    b->count++;
    return 0;
}

static int managed(const struct ebtd *d, const char *path)
{
    for (int i = 0; i < d->cfg->nprefixes; i++)
        if (ebt_path_under(path, d->cfg->prefixes[i].path))
            return 1;
    return d->cfg->nprefixes == 0;
}

/* Walk the layer directory real (logical path logical, "" for the root). */
static int walk_dir(struct walk *w, const char *real, const char *logical)
{
    struct ebt_dirlist l;
    int rc = ebt_dirlist_read(real, &l);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        char r[PATH_MAX], p[PATH_MAX];
        struct stat st;
        if (ebt_name_reserved(l.e[i].name))
            continue;
        if (snprintf(r, sizeof(r), "%s/%s", real, l.e[i].name) >= (int)sizeof(r) ||
            snprintf(p, sizeof(p), "%s/%s", logical, l.e[i].name) >= (int)sizeof(p) ||
            ebt_sys_lstat(r, &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
            continue;
        if (managed(w->d, p) && !md_map_get(&w->d->md->noted, p))
            rc = add_note(w, p, &st);
        if (rc == 0 && S_ISDIR(st.st_mode))
            rc = walk_dir(w, r, p);
    }
    ebt_dirlist_free(&l);
    return rc;
}

int ebtd_md_note_all(struct ebtd *d)
{
    if (!d->md)
        return 0;
    struct walk w = {d, calloc((size_t)d->md->nodes, sizeof(struct batch)), 0, 0, 0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char root[PATH_MAX];
    int rc = w.b ? 0 : -ENOMEM;
    if (rc == 0 && snprintf(root, sizeof(root), "%s/up", d->run_dir) < (int)sizeof(root))
        rc = walk_dir(&w, root, "");
    if (rc == 0 && snprintf(root, sizeof(root), "%s/held", d->run_dir) < (int)sizeof(root))
        rc = walk_dir(&w, root, "");
    for (int i = 0; w.b && i < d->md->nodes; i++) {
        if (rc == 0)
            rc = flush_batch(&w, i);
        free(w.b[i].buf);
    }
    free(w.b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ebt_info("md: noted %zu paths not noted before in %zu messages, %.3f s%s", w.notes, w.messages,
             (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
             rc < 0 ? " (failed)" : "");
    return rc;
}
