/* flush_coord_deal.c - the coordinator's OST dealing (docs/multinode.md "OSTs dealt to nodes"):
 * every node's files gathered, each new file created with the policy's layout on the least
 * loaded OSTs, OSTs dealt to nodes by bytes, each node sent the stripe chunks it writes; after
 * the data, the dealt files' mode and times. */
#define _GNU_SOURCE
#include "flush_coord_deal.h"
#include "layout.h"
#include "log.h"
#include "lower.h"
#include "mesh.h"
#include "path.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FCD_LIST_MAX (16u << 20)
#define FCD_PROBE_NAME ".ebt~osts"

/* One FILES line of one node. */
struct fcd_entry {
    char *path;
    uint64_t size;
    mode_t mode;
    int64_t sec, nsec;
    int node;
};

struct fcd {
    struct ebtd *d;
    int nodes, osts;
    struct ebt_flush_stats *st;
    char *err;
    size_t errcap;
    struct ebt_layout_provider prov[EBT_MAX_PREFIXES];
    int has_layout[EBT_MAX_PREFIXES];
    struct ebt_layout_policy pol;
    struct fcd_entry *e;
    size_t ne, cape;
    uint64_t *load, *local; /* per OST; per OST x node */
    char lastdir[PATH_MAX];
    int lastdir_default;
};

static int fcd_fail(struct fcd *c, const char *path, const char *step, int rc)
{
    if (!c->err[0])
        snprintf(c->err, c->errcap, "flush failed: node %d: %s: %s: %s", ebtd_mesh_self(c->d), path,
                 step, strerror(-rc));
    ebt_error("flush: %s: %s: %s", path, step, strerror(-rc));
    return rc;
}

static int prefix_index(const struct ebt_config *cfg, const char *path)
{
    for (int i = 0; i < cfg->nprefixes; i++)
        if (ebt_path_under(path, cfg->prefixes[i].path))
            return i;
    return -1;
}

/* The provider of every prefix; 1 if any has layouts. Detection errors leave dealing off there
 * (the nodes' own flush reports them). */
static int detect(struct fcd *c)
{
    int any = 0;
    ebt_layout_policy_from_config(c->d->cfg, &c->pol);
    for (int i = 0; i < c->d->cfg->nprefixes; i++) {
        char root[PATH_MAX], why[256];
        c->has_layout[i] = 0;
        if (ebt_lower_path(c->d->cfg->prefixes[i].path, root, sizeof(root)) < 0 ||
            ebt_layout_detect(root, c->d->cfg->layout, &c->prov[i], &c->st->meta_ops, why,
                              sizeof(why)) < 0)
            continue;
        c->has_layout[i] = strcmp(c->prov[i].ops->name, "posix") != 0;
        any |= c->has_layout[i];
    }
    return any;
}

/* The file system's OST count: a probe file asking for all OSTs, its layout read, removed. */
static int probe_osts(struct fcd *c, int pi)
{
    char leaf[NAME_MAX + 1], name[64];
    struct ebt_lov_req rq = {.stripe_count = -1, .stripe_offset = -1};
    struct ebt_lov lov;
    int set = 0, dirfd = ebt_lower_at(c->d->cfg, c->d->cfg->prefixes[pi].path, leaf, sizeof(leaf));
    if (dirfd < 0)
        return dirfd;
    int pfd = ebt_sys_openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    ebt_sys_close(dirfd);
    if (pfd < 0)
        return -errno;
    snprintf(name, sizeof(name), "%s.%d", FCD_PROBE_NAME, (int)getpid());
    const struct ebt_layout_provider *p = &c->prov[pi];
    int fd = p->ops->create(p, pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600, &rq, &set,
                            &c->st->meta_ops);
    int rc = fd < 0 ? fd : p->ops->get_fd(p, fd, &lov, &c->st->meta_ops);
    if (fd >= 0) {
        ebt_sys_close(fd);
        unlinkat(pfd, name, 0);
        c->st->meta_ops++;
    }
    ebt_sys_close(pfd);
    if (rc < 0)
        return rc;
    int n = lov.ncomp == 1 ? (int)lov.comp[0].nost : 0;
    ebt_lov_free(&lov);
    return n > 0 ? n : -ENODATA;
}

static int add_entry(struct fcd *c, const char *line, int node)
{
    unsigned long long size;
    unsigned mode;
    long long sec;
    long nsec;
    int off = 0;
    if (sscanf(line, "%llu %o %lld %ld %n", &size, &mode, &sec, &nsec, &off) != 4 || off <= 0 ||
        line[off] != '/')
        return -EPROTO;
    if (c->ne == c->cape) {
        size_t cap = c->cape ? c->cape * 2 : 256;
        struct fcd_entry *v = realloc(c->e, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->e = v;
        c->cape = cap;
    }
    char *path = strdup(line + off);
    if (!path)
        return -ENOMEM;
    c->e[c->ne++] = (struct fcd_entry){path, size, (mode_t)mode, sec, nsec, node};
    return 0;
}

static int parse_files(struct fcd *c, char *text, size_t len, int node)
{
    char *end = text + len;
    for (char *p = text; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return -EPROTO;
        *nl = '\0';
        int rc = add_entry(c, p, node);
        if (rc < 0)
            return rc;
        p = nl + 1;
    }
    return 0;
}

static int gather_files(struct fcd *c)
{
    struct ebtd_mesh_result *res = calloc((size_t)c->nodes, sizeof(*res));
    if (!res)
        return -ENOMEM;
    int rc = ebtd_mesh_broadcast(c->d, P_FLUSH_FILES, NULL, 0, FCD_LIST_MAX, res);
    for (int i = 0; i < c->nodes; i++) {
        if (rc == 0 && res[i].status == 0)
            rc = parse_files(c, res[i].data, res[i].len, i);
        else if (res[i].status < 0 && !c->err[0])
            snprintf(c->err, c->errcap, "flush failed: node %d: list files for OST dealing: %s", i,
                     strerror(-res[i].status));
    }
    ebtd_mesh_results_free(res, c->nodes);
    free(res);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct fcd_entry *)a)->path, ((const struct fcd_entry *)b)->path);
}

static int by_size_desc(const void *a, const void *b)
{
    const struct fdeal_file *x = a, *y = b;
    return x->size != y->size ? (x->size < y->size ? 1 : -1) : strcmp(x->path, y->path);
}

/* One file per path: the largest size any holder has (the overlap rule's final size), every
 * holder's bit; mode and time of the last entry (shared files get theirs from the owner). */
static int merge_entries(struct fcd *c, struct fcd_result *out)
{
    qsort(c->e, c->ne, sizeof(*c->e), by_path);
    out->v = calloc(c->ne ? c->ne : 1, sizeof(*out->v));
    if (!out->v)
        return -ENOMEM;
    for (size_t i = 0; i < c->ne;) {
        int pi = prefix_index(c->d->cfg, c->e[i].path);
        struct fdeal_file f = {
            .mode = c->e[i].mode, .mtime_sec = c->e[i].sec, .mtime_nsec = c->e[i].nsec};
        size_t j = i;
        for (; j < c->ne && !strcmp(c->e[j].path, c->e[i].path); j++) {
            f.size = c->e[j].size > f.size ? c->e[j].size : f.size;
            f.holders |= c->e[j].node < 64 ? 1ull << c->e[j].node : ~0ull;
        }
        if (pi >= 0 && c->has_layout[pi]) {
            f.path = c->e[i].path;
            c->e[i].path = NULL;
            out->v[out->n++] = f;
        }
        i = j;
    }
    qsort(out->v, out->n, sizeof(*out->v), by_size_desc);
    return 0;
}

/* Does the file's PFS directory have a default layout of its own (asked once per directory,
 * files come in any order but mostly by directory)? 1, 0, or -errno. */
static int dir_default(struct fcd *c, const struct ebt_layout_provider *p, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path);
    if (n < sizeof(c->lastdir) && !strncmp(c->lastdir, path, n) && c->lastdir[n] == '\0')
        return c->lastdir_default;
    char leaf[NAME_MAX + 1];
    int dirfd = ebt_lower_at(c->d->cfg, path, leaf, sizeof(leaf));
    if (dirfd < 0)
        return fcd_fail(c, path, "open parent directory", dirfd);
    struct ebt_lov lov;
    int rc = p->ops->get_dir(p, dirfd, ".", &lov, &c->st->meta_ops);
    ebt_sys_close(dirfd);
    if (rc == 0)
        ebt_lov_free(&lov);
    snprintf(c->lastdir, sizeof(c->lastdir), "%.*s", (int)n, path);
    c->lastdir_default = rc != -ENODATA;
    return c->lastdir_default;
}

/* Take the created file's layout: a plain RAID0 layout with its objects is dealt. */
static int take_layout(struct fdeal_file *f, const struct ebt_lov *lov, int osts)
{
    const struct ebt_lov_comp *k = &lov->comp[0];
    if (lov->ncomp != 1 || !k->nost || !k->stripe_size || (k->pattern & ~1u))
        return 0;
    if (!(f->osts = malloc(k->nost * sizeof(*f->osts))))
        return -ENOMEM;
    for (unsigned i = 0; i < k->nost; i++) {
        f->osts[i] = lov->osts[k->ost_base + i];
        if (f->osts[i] >= osts)
            return 0;
    }
    f->count = (int)k->nost;
    f->unit = k->stripe_size;
    return 1;
}

/* What the placement pass decided for one file, and the create's outcome. */
struct fcd_plan {
    struct ebt_lov_req rq;
    int use_rq; /* 0: the directory's default */
    int rc;     /* create_one: 1 dealt, 0 not, -errno */
};

/* Placement, in order (largest first): the policy's layout on the least loaded OSTs as they
 * will be (the predicted stripes count in the load until the real layouts are read back). */
static int place_all(struct fcd *c, struct fcd_result *r, struct fcd_plan *pl)
{
    for (size_t i = 0; i < r->n; i++) {
        struct fdeal_file *f = &r->v[i];
        const struct ebt_layout_provider *p = &c->prov[prefix_index(c->d->cfg, f->path)];
        int dd = dir_default(c, p, f->path);
        if (dd < 0)
            return dd;
        if ((pl[i].use_rq = !dd) == 0)
            continue;
        ebt_layout_choose(&c->pol, f->size, &pl[i].rq);
        struct ebt_lov_req *rq = &pl[i].rq;
        if (rq->stripe_count < 0 || rq->stripe_count > c->osts)
            rq->stripe_count = c->osts;
        int h = f->holders && !(f->holders & (f->holders - 1)) ? __builtin_ctzll(f->holders) : -1;
        rq->stripe_offset =
            fdeal_pick_near(c->load, c->osts, rq->stripe_count, h, c->nodes, f->size);
        uint16_t guess[FDEAL_MAX_STRIPES];
        for (int k = 0; k < rq->stripe_count && k < FDEAL_MAX_STRIPES; k++)
            guess[k] = (uint16_t)((rq->stripe_offset + k) % c->osts);
        struct fdeal_file g = *f;
        g.osts = guess, g.count = rq->stripe_count, g.unit = rq->stripe_size;
        fdeal_add_load(&g, c->load, NULL, c->osts, c->nodes);
    }
    return 0;
}

/* Create f on the PFS with its planned layout and learn where its stripes are. 1 dealt, 0 not
 * (exists already, or a layout EBT does not deal), or -errno. Runs on several threads. */
static int create_one(struct fcd *c, struct fdeal_file *f, const struct fcd_plan *pl, mode_t um)
{
    const struct ebt_layout_provider *p = &c->prov[prefix_index(c->d->cfg, f->path)];
    char leaf[NAME_MAX + 1];
    int dirfd = ebt_lower_at(c->d->cfg, f->path, leaf, sizeof(leaf)), set = 0, rc;
    if (dirfd < 0)
        return dirfd;
    int fd = p->ops->create(p, dirfd, leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                            f->mode & 07777, pl->use_rq ? &pl->rq : NULL, &set, &c->st->meta_ops);
    ebt_sys_close(dirfd);
    if (fd == -EEXIST)
        return 0; /* on the PFS before: its holders write it as they always did */
    if (fd < 0)
        return fd;
    __atomic_add_fetch(&c->st->layouts_set, (uint64_t)set, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->st->layouts_inherited, (uint64_t)!pl->use_rq, __ATOMIC_RELAXED);
    struct ebt_lov lov;
    rc = p->ops->get_fd(p, fd, &lov, &c->st->meta_ops);
    ebt_sys_close(fd);
    if (rc == 0) {
        rc = take_layout(f, &lov, c->osts);
        ebt_lov_free(&lov);
    } else
        rc = 0;
    if (rc > 0 && (f->mode & 07777 & um))
        f->mode |= 010000; /* the umask took bits: fchmod after the data */
    return rc;
}

#define FCD_CREATE_THREADS 8 /* creates in flight: the MDS's latency overlaps */

struct fcd_creators {
    struct fcd *c;
    struct fcd_result *r;
    struct fcd_plan *pl;
    mode_t um;
    size_t next; /* atomic */
};

static void *creator(void *arg)
{
    struct fcd_creators *w = arg;
    for (size_t i; (i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) < w->r->n;)
        if ((w->pl[i].rc = create_one(w->c, &w->r->v[i], &w->pl[i], w->um)) < 0)
            __atomic_store_n(&w->next, w->r->n, __ATOMIC_RELAXED); /* stop the others */
    return NULL;
}

/* The creates on FCD_CREATE_THREADS threads; then the real layouts make the load. */
static int create_all(struct fcd *c, struct fcd_result *r)
{
    struct fcd_plan *pl = calloc(r->n ? r->n : 1, sizeof(*pl));
    if (!pl)
        return -ENOMEM;
    int rc = place_all(c, r, pl);
    struct fcd_creators w = {c, r, pl, umask(0), 0};
    umask(w.um);
    pthread_t t[FCD_CREATE_THREADS];
    int started = 0;
    for (int i = 0; rc == 0 && i < FCD_CREATE_THREADS; i++)
        started += pthread_create(&t[started], NULL, creator, &w) == 0;
    if (rc == 0 && !started)
        creator(&w);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    memset(c->load, 0, (size_t)c->osts * sizeof(*c->load));
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (rc == 0 && pl[i].rc < 0)
            rc = fcd_fail(c, r->v[i].path, "create", pl[i].rc);
        if (rc < 0 || pl[i].rc <= 0) {
            fdeal_file_free(&r->v[i]);
            continue;
        }
        fdeal_add_load(&r->v[i], c->load, c->local, c->osts, c->nodes);
        r->v[k++] = r->v[i];
    }
    r->n = k;
    free(pl);
    return rc;
}

/* Every node gets the whole table (so it leaves every dealt file to the deal), with its own
 * stripe chunks. */
static int send_tables(struct fcd *c, const struct fcd_result *r, const int *node_of_ost)
{
    int rc = 0;
    for (int node = 0; rc == 0 && node < c->nodes; node++) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        uint64_t bytes = 0;
        for (size_t i = 0; rc == 0 && i < r->n; i++) {
            struct ebt_ivs iv;
            rc = fdeal_ranges(&r->v[i], node_of_ost, c->osts, node, &iv);
            for (size_t k = 0; rc == 0 && k < iv.n; k++)
                bytes += iv.iv[k][1] - iv.iv[k][0];
            if (rc == 0)
                rc = fdeal_encode(&buf, &len, &cap, &r->v[i], &iv);
            ebt_ivs_free(&iv);
        }
        if (rc == 0 &&
            (rc = ebtd_mesh_call(c->d, node, P_FLUSH_DEAL, buf ? buf : "", len, NULL, 0, NULL)) < 0)
            fcd_fail(c, "(deal table)", "send to a node", rc);
        ebt_info("flush: node %d writes %llu bytes of %zu dealt file(s)", node,
                 (unsigned long long)bytes, r->n);
        free(buf);
    }
    return rc;
}

static void log_assignment(const struct fcd *c, const int *node_of_ost)
{
    char line[1024];
    size_t n = 0;
    for (int o = 0; o < c->osts && n < sizeof(line) - 64; o++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " %d:%d(%llu)", o, node_of_ost[o],
                              (unsigned long long)c->load[o]);
    ebt_info("flush: OST:node(bytes)%s", line);
}

static int deal(struct fcd *c, struct fcd_result *r)
{
    int pi = -1;
    for (int i = 0; i < c->d->cfg->nprefixes && pi < 0; i++)
        if (c->has_layout[i])
            pi = i;
    c->osts = probe_osts(c, pi);
    if (c->osts <= 0) {
        ebt_warn("flush: OST count unknown (%s): OSTs are not dealt", strerror(-c->osts));
        return 0;
    }
    c->load = calloc((size_t)c->osts, sizeof(*c->load));
    c->local = calloc((size_t)c->osts * (size_t)c->nodes, sizeof(*c->local));
    int *node_of_ost = calloc((size_t)c->osts, sizeof(*node_of_ost));
    int rc = c->load && c->local && node_of_ost ? 0 : -ENOMEM;
    if (rc == 0)
        rc = gather_files(c);
    if (rc == 0)
        rc = merge_entries(c, r);
    if (rc == 0)
        rc = create_all(c, r);
    if (rc == 0) {
        fdeal_assign(c->load, c->local, c->osts, c->nodes, node_of_ost);
        for (size_t i = 0; i < r->n; i++)
            r->v[i].one_writer = fdeal_one_writer(&r->v[i], node_of_ost, c->osts);
        log_assignment(c, node_of_ost);
        rc = send_tables(c, r, node_of_ost);
    }
    if (rc == 0) {
        c->st->files += r->n;
        c->st->whole_files += r->n;
    }
    free(node_of_ost);
    return rc;
}

int ebtd_flush_deal(struct ebtd *d, struct ebt_flush_stats *st, struct fcd_result *out, char *err,
                    size_t errcap)
{
    memset(out, 0, sizeof(*out));
    if (!d->cfg->ost_deal)
        return 0;
    struct fcd c = {.d = d, .nodes = ebtd_mesh_nodes(d), .st = st, .err = err, .errcap = errcap};
    int rc = detect(&c) ? deal(&c, out) : 0;
    for (size_t i = 0; i < c.ne; i++)
        free(c.e[i].path);
    free(c.e);
    free(c.load);
    free(c.local);
    if (rc < 0 && !err[0])
        snprintf(err, errcap, "flush failed: OST dealing: %s", strerror(-rc));
    return rc;
}

int ebtd_flush_deal_attrs(struct ebtd *d, const struct fcd_result *r, struct ebt_flush_stats *st,
                          char *err, size_t errcap)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct fdeal_file *f = &r->v[i];
        if (f->holders & (f->holders - 1))
            continue; /* shared: the coordinator sets the owner's mode and times */
        if (f->one_writer && !(f->mode & 010000))
            continue; /* its writer set its times */
        struct timespec ts[2] = {{f->mtime_sec, f->mtime_nsec}, {f->mtime_sec, f->mtime_nsec}};
        char leaf[NAME_MAX + 1];
        int dirfd = ebt_lower_at(d->cfg, f->path, leaf, sizeof(leaf)), rc = dirfd;
        if (dirfd >= 0) {
            st->meta_ops += 1 + !!(f->mode & 010000);
            rc = ((f->mode & 010000) && fchmodat(dirfd, leaf, f->mode & 07777, 0) < 0) ||
                         utimensat(dirfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0
                     ? -errno
                     : 0;
            ebt_sys_close(dirfd);
        }
        if (rc < 0) {
            snprintf(err, errcap, "flush failed: %s: mode and times: %s", f->path, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

void ebtd_flush_deal_free(struct fcd_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        fdeal_file_free(&r->v[i]);
    free(r->v);
    memset(r, 0, sizeof(*r));
}
