/* flush.c - the bulk flush: whiteouts, directories, then files on a thread pool, journaled. */
#define _GNU_SOURCE
#include "flush.h"
#include "journal.h"
#include "json.h"
#include "layout_xfer.h"
#include "log.h"
#include "path.h"
#include "lower.h"
#include "pfscount.h"
#include "orphans.h"
#include "pfsops.h"
#include "plan.h"
#include "rundir.h"
#include "sys.h"
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct flush {
    const char *run;
    const struct ebt_config *cfg;
    char up[PATH_MAX];
    struct ebt_journal j;
    struct ebt_plan plan;
    struct ebt_flush_stats *st;
    pthread_mutex_t mu; /* guards st and err */
    char *err;
    size_t errcap;
    int failed;
    size_t next; /* next file index (atomic) */
    long delay_us;
    mode_t umask_now;
    int sync_fds[EBT_MAX_PREFIXES];                    /* one fd per managed prefix, for syncfs */
    struct ebt_layout_provider prov[EBT_MAX_PREFIXES]; /* per prefix: lustre, posix ... */
    struct ebt_layout_policy pol;
    struct ebt_dircache dirs; /* PFS directories known to have a default layout or none */
    double t0;
};

/* Files are made durable in batches: one syncfs per prefix instead of an fsync per file; a file
 * is journaled only after the syncfs that covers it. */
#define FLUSH_BATCH 32
struct flush_batch {
    char *paths[FLUSH_BATCH];
    size_t n;
};

/* Record the first failure; later ones only go to the log. */
static int flush_fail(struct flush *f, const char *path, const char *step, int rc)
{
    pthread_mutex_lock(&f->mu);
    if (!f->failed)
        snprintf(f->err, f->errcap, "flush failed: %s: %s: %s", path, step, strerror(-rc));
    f->failed = 1;
    pthread_mutex_unlock(&f->mu);
    ebt_error("flush: %s: %s: %s", path, step, strerror(-rc));
    return rc;
}

/* Phase 1: opaque directories lose their PFS content, whited-out names are removed. */
static int phase_whiteouts(struct flush *f)
{
    if (f->j.wh_done)
        return 0;
    for (size_t i = 0; i < f->plan.opaques.n; i++) {
        const char *p = f->plan.opaques.v[i].path;
        int rc = ebt_pfs_clear(f->cfg, p, &f->st->meta_ops);
        if (rc < 0)
            return flush_fail(f, p, "clear opaque directory", rc);
        f->st->opaques++;
    }
    for (size_t i = 0; i < f->plan.whiteouts.n; i++) {
        const char *p = f->plan.whiteouts.v[i].path;
        int rc = ebt_pfs_remove(f->cfg, p, &f->st->meta_ops);
        if (rc < 0)
            return flush_fail(f, p, "remove", rc);
        f->st->whiteouts++;
    }
    int rc = ebt_journal_mark(&f->j, "W");
    return rc < 0 ? flush_fail(f, EBT_JOURNAL_NAME, "append", rc) : 0;
}

/* A directory above a managed prefix exists already (the prefix does): no PFS call for it. */
static int above_prefix(const struct ebt_config *cfg, const char *dir)
{
    for (int i = 0; i < cfg->nprefixes; i++) {
        const char *p = cfg->prefixes[i].path;
        if (strlen(dir) < strlen(p) && ebt_path_under(p, dir))
            return 1;
    }
    return 0;
}

/* Phase 2: directories, parents first, with the mode the job gave them. */
static int phase_dirs(struct flush *f)
{
    if (f->j.dirs_done)
        return 0;
    mode_t um = umask(0); /* read it; no other thread creates files during this phase */
    umask(um);
    for (size_t i = 0; i < f->plan.dirs.n; i++) {
        const struct ebt_plan_item *d = &f->plan.dirs.v[i];
        if (above_prefix(f->cfg, d->path))
            continue;
        int rc = ebt_pfs_mkdir(f->cfg, d->path, d->mode, um, &f->st->meta_ops);
        if (rc < 0)
            return flush_fail(f, d->path, "mkdir", rc);
        f->st->dirs++;
    }
    int rc = ebt_journal_mark(&f->j, "D");
    return rc < 0 ? flush_fail(f, EBT_JOURNAL_NAME, "append", rc) : 0;
}

static int flush_symlink(struct flush *f, const char *src, const char *dst, uint64_t *ops)
{
    char target[PATH_MAX];
    ssize_t n = ebt_sys_readlink(src, target, sizeof(target) - 1);
    if (n < 0)
        return flush_fail(f, dst, "read cached symlink", -errno);
    target[n] = '\0';
    int rc = ebt_pfs_symlink(f->cfg, target, dst, ops);
    return rc < 0 ? flush_fail(f, dst, "symlink", rc) : 0;
}

/* PFS operations count even when the file failed; files only when they made it. */
static void add_stats(struct flush *f, const struct ebt_xfer_stats *xs, int link, int ok)
{
    pthread_mutex_lock(&f->mu);
    f->st->meta_ops += xs->meta_ops;
    f->st->data_ops += xs->data_ops;
    f->st->bytes += xs->bytes;
    if (ok && link)
        f->st->symlinks++;
    if (ok && !link) {
        f->st->files++;
        if (xs->whole)
            f->st->whole_files++;
        else
            f->st->partial_files++;
    }
    pthread_mutex_unlock(&f->mu);
}

static void add_layout_stats(struct flush *f, const struct ebt_layout_xfer *lx)
{
    pthread_mutex_lock(&f->mu);
    f->st->layouts_set += lx->st.set;
    f->st->layouts_inherited += lx->st.inherited;
    f->st->layouts_refused += lx->st.failed;
    pthread_mutex_unlock(&f->mu);
}

/* The index of the prefix holding path (the plan holds only managed paths). */
static int prefix_of(const struct ebt_config *cfg, const char *path)
{
    for (int i = 0; i < cfg->nprefixes; i++)
        if (ebt_path_under(path, cfg->prefixes[i].path))
            return i;
    return 0;
}

/* Point the worker's layout hooks at the provider of path's prefix and at its directory. */
static void layout_for(struct flush *f, struct ebt_layout_xfer *lx, int *cur, const char *path)
{
    char parent[PATH_MAX];
    int i = prefix_of(f->cfg, path);
    if (i != *cur) {
        if (*cur >= 0)
            add_layout_stats(f, lx);
        ebt_layout_xfer_fini(lx);
        ebt_layout_xfer_init(lx, &f->prov[i], &f->pol, &f->dirs);
        *cur = i;
    }
    snprintf(parent, sizeof(parent), "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    ebt_layout_xfer_file(lx, parent);
}

static int batch_sync(struct flush *f)
{
    for (int i = 0; i < f->cfg->nprefixes; i++) {
        if (f->sync_fds[i] < 0)
            continue;
        pthread_mutex_lock(&f->mu);
        f->st->meta_ops++;
        pthread_mutex_unlock(&f->mu);
        if (syncfs(f->sync_fds[i]) < 0)
            return flush_fail(f, f->cfg->prefixes[i].path, "syncfs", -errno);
    }
    return 0;
}

static int batch_commit(struct flush *f, struct flush_batch *b)
{
    int rc = b->n ? batch_sync(f) : 0;
    for (size_t i = 0; i < b->n; i++) {
        if (rc == 0 && (rc = ebt_journal_file_done(&f->j, b->paths[i])) < 0)
            flush_fail(f, EBT_JOURNAL_NAME, "append", rc);
        free(b->paths[i]);
    }
    b->n = 0;
    return rc;
}

static int batch_add(struct flush *f, struct flush_batch *b, const char *path)
{
    if (!(b->paths[b->n] = strdup(path)))
        return flush_fail(f, path, "journal batch", -ENOMEM);
    return ++b->n == FLUSH_BATCH ? batch_commit(f, b) : 0;
}

/* One worker's state across its files. */
struct flush_worker_state {
    struct flush_batch b;
    struct ebt_layout_xfer lx;
    int lx_prefix; /* the prefix lx is set up for; -1 none yet */
};

static int flush_item(struct flush *f, const struct ebt_plan_item *it,
                      struct flush_worker_state *ws)
{
    struct flush_batch *b = &ws->b;
    char src[PATH_MAX];
    struct ebt_xfer_stats xs = {0};
    const char *step = "?";
    if (ebt_journal_has(&f->j, it->path)) {
        __atomic_add_fetch(&f->st->skipped, 1, __ATOMIC_RELAXED);
        return 0;
    }
    if (f->delay_us > 0)
        nanosleep(&(struct timespec){f->delay_us / 1000000, (f->delay_us % 1000000) * 1000}, NULL);
    if (snprintf(src, sizeof(src), "%s%s", f->up, it->path) >= (int)sizeof(src))
        return flush_fail(f, it->path, "path", -ENAMETOOLONG);
    int link = S_ISLNK(it->mode), rc;
    if (link) {
        rc = flush_symlink(f, src, it->path, &xs.meta_ops);
    } else {
        struct ebt_xfer_opts opts = {.no_fsync = 1, .umask_known = 1, .umask_now = f->umask_now};
        layout_for(f, &ws->lx, &ws->lx_prefix, it->path);
        opts.layout = &ws->lx.hooks;
        char leaf[NAME_MAX + 1];
        step = "open parent directory";
        rc = opts.dst_dirfd = ebt_lower_at(f->cfg, it->path, leaf, sizeof(leaf));
        if (rc >= 0) {
            opts.dst_at = 1;
            rc = ebt_xfer_file_opts(f->run, src, leaf, &xs, &step, &opts);
            ebt_sys_close(opts.dst_dirfd);
        }
        if (rc < 0)
            flush_fail(f, it->path, step, rc);
    }
    add_stats(f, &xs, link, rc == 0);
    return rc == 0 ? batch_add(f, b, it->path) : rc;
}

static void *flush_worker(void *arg)
{
    struct flush *f = arg;
    struct flush_worker_state *ws = calloc(1, sizeof(*ws)); /* ~8 KiB: off the thread stack */
    if (!ws) {
        flush_fail(f, f->run, "allocate worker", -ENOMEM);
        return NULL;
    }
    ws->lx_prefix = -1;
    for (;;) {
        size_t i = __atomic_fetch_add(&f->next, 1, __ATOMIC_RELAXED);
        if (i >= f->plan.files.n || __atomic_load_n(&f->failed, __ATOMIC_RELAXED))
            break;
        if (flush_item(f, &f->plan.files.v[i], ws) < 0)
            break;
    }
    batch_commit(f, &ws->b); /* what was written is made durable and journaled, even after a
                              * failure */
    if (ws->lx_prefix >= 0)
        add_layout_stats(f, &ws->lx);
    ebt_layout_xfer_fini(&ws->lx);
    free(ws);
    return NULL;
}

/* The layout provider of every prefix (EBT_LAYOUT; auto: asked of the prefix's PFS root). */
static int detect_layouts(struct flush *f)
{
    ebt_layout_policy_from_config(f->cfg, &f->pol);
    for (int i = 0; i < f->cfg->nprefixes; i++) {
        char root[PATH_MAX], why[512] = "";
        const char *p = f->cfg->prefixes[i].path;
        int rc = ebt_lower_path(p, root, sizeof(root));
        if (rc == 0)
            rc = ebt_layout_detect(root, f->cfg->layout, &f->prov[i], &f->st->meta_ops, why,
                                   sizeof(why));
        if (rc < 0) {
            pthread_mutex_lock(&f->mu);
            snprintf(f->err, f->errcap, "flush failed: %s: EBT_LAYOUT=%s: %s", p,
                     ebt_layout_mode_name(f->cfg->layout), why[0] ? why : strerror(-rc));
            f->failed = 1;
            pthread_mutex_unlock(&f->mu);
            ebt_error("%s", f->err);
            return rc;
        }
        ebt_info("flush: %s: layouts: %s%s%s%s", p, f->prov[i].ops->name, why[0] ? " (" : "", why,
                 why[0] ? ")" : "");
    }
    return 0;
}

static void open_sync_fds(struct flush *f)
{
    for (int i = 0; i < f->cfg->nprefixes; i++) {
        char dir[PATH_MAX];
        f->sync_fds[i] = ebt_lower_path(f->cfg->prefixes[i].path, dir, sizeof(dir)) < 0
                             ? -1
                             : ebt_sys_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    }
}

static void close_sync_fds(struct flush *f)
{
    for (int i = 0; i < f->cfg->nprefixes; i++)
        if (f->sync_fds[i] >= 0)
            ebt_sys_close(f->sync_fds[i]);
}

/* A further name of a flushed file, or a FIFO, socket or device node: made on the PFS in place
 * of whatever has the name there (never opened: a FIFO cannot block the flush). */
static int make_name(struct flush *f, const struct ebt_plan_item *it)
{
    char dst[NAME_MAX + 1], src[NAME_MAX + 1];
    int rc = ebt_pfs_remove(f->cfg, it->path, &f->st->meta_ops);
    int dfd = rc < 0 ? rc : ebt_lower_at(f->cfg, it->path, dst, sizeof(dst));
    int sfd = dfd < 0 || !it->link_to ? -1 : ebt_lower_at(f->cfg, it->link_to, src, sizeof(src));
    f->st->meta_ops++;
    if (dfd < 0)
        rc = dfd;
    else if (it->link_to)
        rc = sfd < 0 ? sfd : linkat(sfd, src, dfd, dst, 0) < 0 ? -errno : 0;
    else if (mknodat(dfd, dst, it->mode, it->rdev) < 0 ||
             fchmodat(dfd, dst, it->mode & 07777, 0) < 0)
        rc = -errno;
    if (sfd >= 0)
        ebt_sys_close(sfd);
    if (dfd >= 0)
        ebt_sys_close(dfd);
    return rc;
}

static int flush_name(struct flush *f, const struct ebt_plan_item *it)
{
    if (ebt_journal_has(&f->j, it->path))
        return 0;
    int rc = make_name(f, it);
    if (rc < 0)
        return flush_fail(f, it->path, it->link_to ? "link" : "mknod", rc);
    f->st->files++;
    rc = ebt_journal_file_done(&f->j, it->path);
    return rc < 0 ? flush_fail(f, EBT_JOURNAL_NAME, "append", rc) : 0;
}

/* Directory times last, children before parents: what the job's directories show (the times a
 * program set, or of its last change inside) survives the files written into them. */
static void phase_dir_times(struct flush *f)
{
    for (size_t i = f->plan.dirs.n; i-- > 0;) {
        const char *p = f->plan.dirs.v[i].path;
        char up[PATH_MAX], leaf[NAME_MAX + 1];
        struct stat st;
        if (above_prefix(f->cfg, p) || snprintf(up, sizeof(up), "%s%s", f->up, p) >= PATH_MAX ||
            ebt_sys_lstat(up, &st) < 0)
            continue;
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        int dfd = ebt_lower_at(f->cfg, p, leaf, sizeof(leaf));
        f->st->meta_ops++;
        if (dfd < 0 || utimensat(dfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
            ebt_warn("flush: times of directory %s: %s", p, strerror(dfd < 0 ? -dfd : errno));
        if (dfd >= 0)
            ebt_sys_close(dfd);
    }
}

static void phase_names(struct flush *f)
{
    for (size_t i = 0; i < f->plan.links.n && !f->failed; i++)
        flush_name(f, &f->plan.links.v[i]);
    for (size_t i = 0; i < f->plan.specials.n && !f->failed; i++)
        flush_name(f, &f->plan.specials.v[i]);
    if (!f->failed)
        phase_dir_times(f);
}

/* Phase 3: files and symlinks, EBT_FLUSH_THREADS at a time; each journaled after its fsync. */
static int phase_files(struct flush *f)
{
    int n = f->cfg->flush_threads > 0 ? f->cfg->flush_threads : 4;
    if ((size_t)n > f->plan.files.n)
        n = f->plan.files.n ? (int)f->plan.files.n : 1;
    pthread_t tids[256];
    int started = 0;
    if (detect_layouts(f) < 0)
        return -EIO;
    ebt_dircache_init(&f->dirs);
    open_sync_fds(f);
    for (int i = 0; i < n && i < 256; i++)
        if (pthread_create(&tids[started], NULL, flush_worker, f) == 0)
            started++;
    if (started == 0)
        flush_worker(f);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    close_sync_fds(f);
    ebt_dircache_free(&f->dirs);
    if (!f->failed)
        phase_names(f);
    return f->failed ? -EIO : 0;
}

static int flush_prepare(struct flush *f)
{
    int rc = ebt_journal_open(f->run, &f->j); /* locks out a concurrent flush, merge included */
    if (rc < 0)
        return flush_fail(f, f->run, rc == -EBUSY ? "another flush is running" : "open journal",
                          rc);
    int orphans = 0;
    if (f->cfg->nodes <= 1 && ebtd_publish_orphans(f->run, &orphans) < 0)
        ebt_warn("flush: some stages of dead processes could not be published (see above)");
    if (orphans)
        ebt_info("flush: published %d stage(s) left by processes that died", orphans);
    rc = ebt_merge_tasks(f->run, &f->st->merge, f->err, f->errcap);
    if (rc < 0)
        f->failed = 1;
    else if ((rc = ebt_plan_scan_since(f->up, &f->j.since, &f->plan)) < 0)
        flush_fail(f, f->up, "scan cache", rc);
    if (rc < 0)
        ebt_journal_close(&f->j);
    return rc;
}

int ebt_flush_begin(const char *run_dir, const struct ebt_config *cfg, struct ebt_flush_stats *st,
                    char *err, size_t errcap, struct flush **out)
{
    struct flush *f = calloc(1, sizeof(*f));
    *out = NULL;
    if (!f)
        return -ENOMEM;
    const char *delay = getenv("EBT_TEST_FLUSH_DELAY_US");
    *f = (struct flush){.run = run_dir, .cfg = cfg, .st = st, .err = err, .errcap = errcap};
    memset(st, 0, sizeof(*st));
    err[0] = '\0';
    f->t0 = ebt_now_s();
    f->delay_us = delay ? atol(delay) : 0;
    f->umask_now = umask(0); /* read it; nothing else in this process creates files now */
    umask(f->umask_now);
    pthread_mutex_init(&f->mu, NULL);
    ebt_layer_root(run_dir, NULL, f->up, sizeof(f->up));
    int rc = flush_prepare(f);
    if (rc < 0) {
        pthread_mutex_destroy(&f->mu);
        free(f);
        return rc;
    }
    ebt_info("flush: %zu files, %zu dirs, %zu whiteouts to do", f->plan.files.n, f->plan.dirs.n,
             f->plan.whiteouts.n);
    *out = f;
    return 0;
}

int ebt_flush_rescan(struct flush *f)
{
    ebt_plan_free(&f->plan);
    memset(&f->plan, 0, sizeof(f->plan));
    int rc = ebt_plan_scan_since(f->up, &f->j.since, &f->plan);
    return rc < 0 ? flush_fail(f, f->up, "scan cache", rc) : 0;
}

int ebt_flush_removals(struct flush *f)
{
    return phase_whiteouts(f);
}

int ebt_flush_dirs(struct flush *f)
{
    return phase_dirs(f);
}

int ebt_flush_files(struct flush *f)
{
    return phase_files(f);
}

const struct ebt_plan *ebt_flush_plan(const struct flush *f)
{
    return &f->plan;
}

void ebt_flush_drop_files(struct flush *f, int (*drop)(const char *path))
{
    size_t k = 0;
    for (size_t i = 0; i < f->plan.files.n; i++) {
        struct ebt_plan_item *it = &f->plan.files.v[i];
        if (S_ISREG(it->mode) && drop(it->path)) {
            free(it->path);
            free(it->link_to);
            continue;
        }
        f->plan.files.v[k++] = *it;
    }
    f->plan.files.n = k;
}

struct ebt_journal *ebt_flush_journal(struct flush *f)
{
    return &f->j;
}

int ebt_flush_failed(struct flush *f, const char *path, const char *step, int rc)
{
    return flush_fail(f, path, step, rc);
}

int ebt_flush_end(struct flush *f, int rc)
{
    if (!f)
        return rc;
    if (rc == 0 && (rc = ebt_journal_mark(&f->j, "DONE")) < 0)
        flush_fail(f, EBT_JOURNAL_NAME, "append", rc);
    if (rc == 0)
        f->st->complete = 1;
    f->st->job_meta_ops = ebt_pfscount_read(f->run);
    ebt_plan_free(&f->plan);
    ebt_journal_close(&f->j);
    pthread_mutex_destroy(&f->mu);
    f->st->seconds = ebt_now_s() - f->t0;
    if (rc == 0)
        ebt_info("flush: done: %llu files, %llu bytes in %.3f s", (unsigned long long)f->st->files,
                 (unsigned long long)f->st->bytes, f->st->seconds);
    free(f);
    return rc;
}

int ebt_flush_run(const char *run_dir, const struct ebt_config *cfg, struct ebt_flush_stats *st,
                  char *err, size_t errcap)
{
    struct flush *f;
    int rc = ebt_flush_begin(run_dir, cfg, st, err, errcap, &f);
    if (rc < 0)
        return rc;
    rc = ebt_flush_removals(f);
    if (rc == 0)
        rc = ebt_flush_dirs(f);
    if (rc == 0)
        rc = ebt_flush_files(f);
    return ebt_flush_end(f, rc);
}

int ebt_flush_json(const struct ebt_flush_stats *st, int status, const char *err, char *out,
                   size_t cap)
{
    char e[1024];
    ebt_json_escape(err ? err : "", e, sizeof(e));
    int n = snprintf(out, cap,
                     "{\"status\":%d,\"error\":\"%s\",\"complete\":%s,\"files\":%llu,"
                     "\"bytes\":%llu,\"meta_ops\":%llu,\"data_ops\":%llu,\"seconds\":%.6f,"
                     "\"symlinks\":%llu,\"dirs\":%llu,\"whiteouts\":%llu,\"opaques\":%llu,"
                     "\"skipped\":%llu,\"whole_files\":%llu,\"partial_files\":%llu,"
                     "\"tasks_merged\":%llu,\"layouts_set\":%llu,\"layouts_inherited\":%llu,"
                     "\"layouts_refused\":%llu,\"job_meta_ops\":%llu}",
                     status, e, st->complete ? "true" : "false", (unsigned long long)st->files,
                     (unsigned long long)st->bytes, (unsigned long long)st->meta_ops,
                     (unsigned long long)st->data_ops, st->seconds,
                     (unsigned long long)st->symlinks, (unsigned long long)st->dirs,
                     (unsigned long long)st->whiteouts, (unsigned long long)st->opaques,
                     (unsigned long long)st->skipped, (unsigned long long)st->whole_files,
                     (unsigned long long)st->partial_files, (unsigned long long)st->merge.tasks,
                     (unsigned long long)st->layouts_set, (unsigned long long)st->layouts_inherited,
                     (unsigned long long)st->layouts_refused, (unsigned long long)st->job_meta_ops);
    return n < 0 ? 0 : (n >= (int)cap ? (int)cap - 1 : n);
}
