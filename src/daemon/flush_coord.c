/* flush_coord.c - the coordinator of a multi-node flush: drives every node's steps in lockstep
 * and does the job's metadata once (removed names, directories, shared files' attributes). */
#define _GNU_SOURCE
#include "flush_coord_deal.h"
#include "flush_mn.h"
#include "log.h"
#include "lower.h"
#include "md.h"
#include "mesh.h"
#include "path.h"
#include "pfsops.h"
#include "plan.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define COORD_LIST_MAX (16u << 20)
#define COORD_POLL_MS 50

struct coord {
    struct ebtd *d;
    int nodes;
    struct ebt_flush_stats *st;
    char *err;
    size_t errcap;
    struct ebt_plan_list dirs, gone, shared; /* shared: mode in .mode, times in the line */
    struct timespec *shared_mtime;           /* per shared file */
    struct fcd_result dealt;                 /* files whose OSTs were dealt to nodes */
};

static void coord_fail(struct coord *c, int node, const char *step, const char *why, int rc)
{
    if (!c->err[0])
        snprintf(c->err, c->errcap, "flush failed: node %d: %s: %s", node, step,
                 why && *why ? why : strerror(-rc));
    ebt_error("flush: node %d: %s: %s", node, step, why && *why ? why : strerror(-rc));
}

/* The reason a node gives for its failed step (its STATUS text), else the errno text. */
static void node_reason(struct coord *c, int node, const char *step, int rc)
{
    struct fmn_status s;
    size_t len = 0;
    memset(&s, 0, sizeof(s));
    if (rc != -EHOSTDOWN && rc != -ETIMEDOUT && rc != -ECONNRESET &&
        ebtd_mesh_call(c->d, node, P_FLUSH_STATUS, NULL, 0, &s, sizeof(s), &len) == 0 &&
        len == sizeof(s))
        s.err[sizeof(s.err) - 1] = '\0';
    coord_fail(c, node, step, s.err, rc);
}

/* Run one step on every node; on failure say which node and why. Results kept if res given. */
static int step_all(struct coord *c, uint16_t op, const void *req, size_t len, size_t cap,
                    const char *step, struct ebtd_mesh_result *keep)
{
    struct ebtd_mesh_result *res = keep ? keep : calloc((size_t)c->nodes, sizeof(*res));
    if (!res)
        return -ENOMEM;
    int rc = ebtd_mesh_broadcast(c->d, op, req, len, cap, res);
    for (int i = 0; rc < 0 && i < c->nodes; i++)
        if (res[i].status < 0) {
            node_reason(c, i, step, res[i].status);
            break;
        }
    if (!keep) {
        ebtd_mesh_results_free(res, c->nodes);
        free(res);
    }
    return rc;
}

static int list_push(struct ebt_plan_list *l, const char *path, mode_t mode)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct ebt_plan_item *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n].path = strdup(path)))
        return -ENOMEM;
    l->v[l->n++].mode = mode;
    return 0;
}

static void list_free(struct ebt_plan_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* One LIST line: "D mode path", "G path" or "S mode sec nsec path". */
static int parse_line(struct coord *c, char *line)
{
    unsigned mode = 0;
    long long sec = 0, nsec = 0;
    int off = 0;
    if (line[0] == 'D' && sscanf(line, "D %o %n", &mode, &off) == 1 && off > 0)
        return list_push(&c->dirs, line + off, (mode_t)mode);
    if (line[0] == 'G' && line[1] == ' ')
        return list_push(&c->gone, line + 2, 0);
    if (line[0] == 'S' && sscanf(line, "S %o %lld %lld %n", &mode, &sec, &nsec, &off) == 3 &&
        off > 0) {
        struct timespec *t = realloc(c->shared_mtime, (c->shared.n + 1) * sizeof(*t));
        if (!t)
            return -ENOMEM;
        c->shared_mtime = t;
        t[c->shared.n] = (struct timespec){(time_t)sec, (long)nsec};
        return list_push(&c->shared, line + off, (mode_t)mode);
    }
    return -EPROTO;
}

static int parse_list(struct coord *c, char *text, size_t len)
{
    char *end = text + len;
    for (char *p = text; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return -EPROTO;
        *nl = '\0';
        int rc = parse_line(c, p);
        if (rc < 0)
            return rc;
        p = nl + 1;
    }
    return 0;
}

static int gather(struct coord *c)
{
    struct ebtd_mesh_result *res = calloc((size_t)c->nodes, sizeof(*res));
    if (!res)
        return -ENOMEM;
    int rc = step_all(c, P_FLUSH_LIST, NULL, 0, COORD_LIST_MAX, "list the namespace", res);
    for (int i = 0; rc == 0 && i < c->nodes; i++)
        if ((rc = parse_list(c, res[i].data, res[i].len)) < 0)
            coord_fail(c, i, "list the namespace", "malformed listing", rc);
    ebtd_mesh_results_free(res, c->nodes);
    free(res);
    return rc;
}

static int by_depth(const void *a, const void *b)
{
    const struct ebt_plan_item *x = a, *y = b;
    int dx = ebt_plan_depth(x->path), dy = ebt_plan_depth(y->path);
    return dx != dy ? dx - dy : strcmp(x->path, y->path);
}

/* A directory at or above a managed prefix is not the job's to create. */
static int is_managed_below_prefix(const struct ebt_config *cfg, const char *dir)
{
    for (int i = 0; i < cfg->nprefixes; i++) {
        size_t n = ebt_path_under(dir, cfg->prefixes[i].path);
        if (n && dir[n] == '/')
            return 1;
    }
    return 0;
}

/* The job's metadata, once: removed names, then directories parents first. */
static int coord_metadata(struct coord *c)
{
    int self = ebtd_mesh_self(c->d), rc = 0;
    for (size_t i = 0; rc == 0 && i < c->gone.n; i++)
        if ((rc = ebt_pfs_remove(c->d->cfg, c->gone.v[i].path, &c->st->meta_ops)) < 0)
            coord_fail(c, self, c->gone.v[i].path, "remove", rc);
        else
            c->st->whiteouts++;
    if (rc == 0)
        rc = step_all(c, P_FLUSH_REMOVE, NULL, 0, 0, "remove names", NULL);
    mode_t um = umask(0);
    umask(um);
    qsort(c->dirs.v, c->dirs.n, sizeof(c->dirs.v[0]), by_depth);
    for (size_t i = 0; rc == 0 && i < c->dirs.n; i++) {
        const struct ebt_plan_item *it = &c->dirs.v[i];
        if (!is_managed_below_prefix(c->d->cfg, it->path))
            continue;
        if ((rc = ebt_pfs_mkdir(c->d->cfg, it->path, it->mode, um, &c->st->meta_ops)) < 0)
            coord_fail(c, self, it->path, "mkdir", rc);
        else
            c->st->dirs++;
    }
    if (rc == 0)
        rc = step_all(c, P_FLUSH_DIRS, NULL, 0, 0, "directories", NULL);
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Every node writes what it holds; poll until all are done. */
static int coord_data(struct coord *c)
{
    int rc = step_all(c, P_FLUSH_DATA, NULL, 0, 0, "start writing", NULL);
    struct ebtd_mesh_result *res = calloc((size_t)c->nodes, sizeof(*res));
    if (!res)
        return -ENOMEM;
    for (int running = rc == 0; running;) {
        sleep_ms(COORD_POLL_MS);
        rc = step_all(c, P_FLUSH_STATUS, NULL, 0, sizeof(struct fmn_status), "status", res);
        running = 0;
        for (int i = 0; rc == 0 && i < c->nodes; i++) {
            const struct fmn_status *s = res[i].data;
            if (res[i].len != sizeof(*s))
                rc = -EPROTO;
            else if (s->running)
                running = 1;
            else if (s->status < 0) {
                coord_fail(c, i, "write files", s->err, s->status);
                rc = s->status;
            }
        }
        ebtd_mesh_results_free(res, c->nodes);
        memset(res, 0, (size_t)c->nodes * sizeof(*res));
    }
    free(res);
    return rc;
}

/* Shared files: the mode and times once, after every holder wrote its ranges. */
static int coord_shared_attrs(struct coord *c)
{
    for (size_t i = 0; i < c->shared.n; i++) {
        const struct ebt_plan_item *it = &c->shared.v[i];
        struct timespec ts[2] = {c->shared_mtime[i], c->shared_mtime[i]};
        char leaf[NAME_MAX + 1];
        c->st->meta_ops += 2;
        int dirfd = ebt_lower_at(c->d->cfg, it->path, leaf, sizeof(leaf)), rc = dirfd;
        if (dirfd >= 0) {
            rc = fchmodat(dirfd, leaf, it->mode & 07777, AT_SYMLINK_NOFOLLOW) < 0 ||
                         utimensat(dirfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0
                     ? -errno
                     : 0;
            ebt_sys_close(dirfd);
        }
        if (rc < 0) {
            coord_fail(c, ebtd_mesh_self(c->d), it->path, "mode and times", rc);
            return rc;
        }
    }
    return 0;
}

static void stats_add(struct ebt_flush_stats *to, const struct ebt_flush_stats *s)
{
    to->files += s->files;
    to->symlinks += s->symlinks;
    to->dirs += s->dirs;
    to->whiteouts += s->whiteouts;
    to->opaques += s->opaques;
    to->skipped += s->skipped;
    to->whole_files += s->whole_files;
    to->partial_files += s->partial_files;
    to->bytes += s->bytes;
    to->meta_ops += s->meta_ops;
    to->data_ops += s->data_ops;
    to->merge.tasks += s->merge.tasks;
    to->job_meta_ops += s->job_meta_ops;
    to->layouts_set += s->layouts_set;
    to->layouts_inherited += s->layouts_inherited;
    to->layouts_refused += s->layouts_refused;
}

/* End every node's flush (also after a failure) and sum what they did. */
static int coord_end(struct coord *c, int rc)
{
    struct ebtd_mesh_result *res = calloc((size_t)c->nodes, sizeof(*res));
    int32_t status = rc;
    if (!res)
        return rc < 0 ? rc : -ENOMEM;
    int erc = ebtd_mesh_broadcast(c->d, P_FLUSH_END, &status, sizeof(status),
                                  sizeof(struct ebt_flush_stats), res);
    for (int i = 0; i < c->nodes; i++) {
        if (res[i].len == sizeof(struct ebt_flush_stats))
            stats_add(c->st, res[i].data);
        if (rc == 0 && res[i].status < 0)
            coord_fail(c, i, "finish", NULL, res[i].status);
    }
    ebtd_mesh_results_free(res, c->nodes);
    free(res);
    return rc < 0 ? rc : erc;
}

static void coord_free(struct coord *c)
{
    ebtd_flush_deal_free(&c->dealt);
    free(c->shared_mtime);
    list_free(&c->dirs);
    list_free(&c->gone);
    list_free(&c->shared);
}

int ebtd_flush_mn_run(struct ebtd *d, int only_if_needed, struct ebt_flush_stats *st, char *err,
                      size_t errcap)
{
    struct coord c = {.d = d, .nodes = ebtd_mesh_nodes(d), .st = st, .err = err, .errcap = errcap};
    double t0 = ebt_now_s();
    memset(st, 0, sizeof(*st));
    err[0] = '\0';
    if (only_if_needed && ebtd_flush_mn_clean(d)) {
        ebt_info("flush: this node is flushed and saw no new client since: nothing to do");
        st->complete = 1;
        return 0;
    }
    ebt_info("flush: coordinating %d nodes", c.nodes);
    int rc = step_all(&c, P_FLUSH_PREP, NULL, 0, 0, "prepare", NULL);
    if (rc == 0)
        rc = step_all(&c, P_FLUSH_SCAN, NULL, 0, 0, "scan", NULL);
    if (rc == 0)
        rc = gather(&c);
    if (rc == 0)
        rc = coord_metadata(&c);
    if (rc == 0 && (rc = ebtd_flush_deal(d, st, &c.dealt, err, errcap)) < 0)
        ebt_error("%s", err);
    if (rc == 0)
        rc = coord_data(&c);
    if (rc == 0)
        rc = coord_shared_attrs(&c);
    if (rc == 0 && (rc = ebtd_flush_deal_attrs(d, &c.dealt, st, err, errcap)) < 0)
        ebt_error("%s", err);
    rc = coord_end(&c, rc);
    st->complete = rc == 0;
    st->seconds = ebt_now_s() - t0;
    coord_free(&c);
    return rc;
}
