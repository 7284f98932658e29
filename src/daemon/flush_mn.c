/* flush_mn.c - the coordinated flush of a multi-node job: every node's flush steps in lockstep,
 * the job's metadata once by the coordinator, shared files written by their holders. */
#define _GNU_SOURCE
#include "flush_mn.h"
#include "lower.h"
#include "dirlist.h"
#include "flush.h"
#include "flush_dealw.h"
#include "journal.h"
#include "log.h"
#include "md.h"
#include "mesh.h"
#include "path.h"
#include "pfsops.h"
#include "plan.h"
#include "rundir.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FMN_LIST_MAX (16u << 20)
#define FMN_POLL_MS 50
#define FMN_PUMP_S 0.2 /* pulling per STATUS poll: well inside a peer call's time limit */

struct held_file { /* a file several nodes wrote: the ranges this node writes to the PFS */
    char *path;
    struct ebt_ivs ranges;
    uint64_t size;
};

/* This node's part of a flush in progress (one daemon per process). */
struct fmn_node {
    struct flush *job;
    struct ebt_flush_stats st;
    char err[1024];
    struct held_file *held;
    size_t nheld, capheld;
    pthread_t thread;
    int thread_started, running, status;
    struct timespec began; /* when this node's scan for the current flush was taken */
    struct timespec clean; /* began of the last complete flush; 0: none yet */
};
static struct fmn_node node_state;

/* ---------------- per-node steps (peer handlers) ---------------- */

static void held_free(struct fmn_node *n)
{
    for (size_t i = 0; i < n->nheld; i++) {
        free(n->held[i].path);
        ebt_ivs_free(&n->held[i].ranges);
    }
    free(n->held);
    n->held = NULL;
    n->nheld = n->capheld = 0;
}

/* Tests make a node note its files late (EBT_TEST_NOTE_DELAY_US), after the others' PREP. */
static void test_note_delay(void)
{
    const char *v = getenv("EBT_TEST_NOTE_DELAY_US");
    long us = v ? strtol(v, NULL, 10) : 0;
    if (us > 0)
        usleep((useconds_t)us);
}

static int on_prep(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    struct fmn_node *n = &node_state;
    if (n->job)
        return -EBUSY;
    n->status = 0;
    n->began = (struct timespec){0, 0}; /* set by SCAN: a flush that fails before it is unclean */
    int rc = ebt_flush_begin(d->run_dir, d->cfg, &n->st, n->err, sizeof(n->err), &n->job);
    test_note_delay();
    if (rc == 0 && (rc = ebtd_md_note_all(d)) < 0)
        ebt_flush_failed(n->job, d->run_dir, "note the node's files to their owners", rc);
    return rc;
}

/* Once every node has noted its files (PREP), no owner moves a file of this node to RUN/held for
 * this flush any more: the stamp of what the flush holds is taken now, on the cache file system's
 * clock, and the layers are scanned again after it (noting moved shared files to RUN/held). A
 * change in the layers at or after the stamp makes the node unclean (ebtd_flush_mn_clean). */
static int on_scan(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    struct fmn_node *n = &node_state;
    if (!n->job)
        return -ESRCH;
    ebt_journal_stamp(ebt_flush_journal(n->job), &n->began);
    return ebt_flush_rescan(n->job);
}

static int need_job(void)
{
    return node_state.job ? 0 : -ESRCH;
}

static int on_remove(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    return need_job() ?: ebt_flush_removals(node_state.job);
}

static int on_dirs(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    return need_job() ?: ebt_flush_dirs(node_state.job);
}

/* LIST: one line per record the coordinator acts on: "D mode path", "G path",
 * "S mode mtime_sec mtime_nsec path" (a file with several holders). */
struct list_buf {
    char *p;
    size_t n, cap;
};

static int list_rec(const struct ebtd_md_rec_view *v, void *arg)
{
    struct list_buf *b = arg;
    size_t room = b->cap - b->n;
    int k = 0;
    if (v->kind == EBTD_MD_DIR)
        k = snprintf(b->p + b->n, room, "D %o %s\n", (unsigned)(v->mode & 07777), v->path);
    else if (v->kind == EBTD_MD_GONE)
        k = snprintf(b->p + b->n, room, "G %s\n", v->path);
    else if (v->kind == EBTD_MD_FILE && v->nholders > 1)
        k = snprintf(b->p + b->n, room, "S %o %lld %lld %s\n", (unsigned)(v->mode & 07777),
                     (long long)v->mtime_sec, (long long)v->mtime_nsec, v->path);
    if (k < 0 || (size_t)k >= room)
        return -EMSGSIZE;
    b->n += (size_t)k;
    return 0;
}

/* Reply with what b gathered (status rc of the gathering), then free it. */
static int reply_list(struct ebtd_reply *r, struct list_buf *b, int rc)
{
    if (rc == 0) {
        void *out = ebtd_reply_alloc(r, b->n);
        if (out)
            memcpy(out, b->p, b->n);
        else if (b->n)
            rc = -ENOMEM;
    }
    free(b->p);
    return rc;
}

static int on_list(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    struct list_buf b = {.cap = FMN_LIST_MAX};
    if (!(b.p = malloc(b.cap)))
        return -ENOMEM;
    return reply_list(r, &b, ebtd_md_visit(d, list_rec, &b));
}

/* ---- OST dealing (flush_deal.c): the node's files for the coordinator, its table ---- */

/* FILES line of one regular file: "size mode mtime_sec mtime_nsec path". */
static int files_line(struct list_buf *b, const char *phys, const char *logical)
{
    struct stat st;
    if (ebt_sys_lstat(phys, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISREG(st.st_mode) || st.st_nlink > 1)
        return 0; /* hard links keep today's path */
    size_t room = b->cap - b->n;
    int k = snprintf(b->p + b->n, room, "%llu %o %lld %ld %s\n", (unsigned long long)st.st_size,
                     (unsigned)(st.st_mode & 07777), (long long)st.st_mtim.tv_sec,
                     (long)st.st_mtim.tv_nsec, logical);
    if (k < 0 || (size_t)k >= room)
        return -EMSGSIZE;
    b->n += (size_t)k;
    return 0;
}

struct files_walk {
    struct list_buf *b;
    size_t root_len;
};

static int files_held_entry(const char *phys, void *arg)
{
    struct files_walk *w = arg;
    struct stat st;
    if (ebt_sys_lstat(phys, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode))
        return ebt_dirlist_each_child(phys, files_held_entry, w);
    return files_line(w->b, phys, phys + w->root_len);
}

static int files_list(struct ebtd *d, struct list_buf *b)
{
    const struct ebt_plan *p = ebt_flush_plan(node_state.job);
    char root[PATH_MAX], phys[PATH_MAX];
    struct stat st;
    int rc = ebt_rundir_file(d->run_dir, "up", root, sizeof(root));
    for (size_t i = 0; rc == 0 && i < p->files.n; i++) {
        if (!S_ISREG(p->files.v[i].mode) ||
            ebt_journal_has(ebt_flush_journal(node_state.job), p->files.v[i].path))
            continue;
        if (snprintf(phys, sizeof(phys), "%s%s", root, p->files.v[i].path) >= (int)sizeof(phys))
            return -ENAMETOOLONG;
        rc = files_line(b, phys, p->files.v[i].path);
    }
    if (rc == 0 && ebt_rundir_file(d->run_dir, "held", root, sizeof(root)) == 0 &&
        ebt_sys_lstat(root, &st) == 0) {
        struct files_walk w = {b, strlen(root)};
        rc = ebt_dirlist_each_child(root, files_held_entry, &w);
    }
    return rc;
}

static int on_files(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    struct list_buf b = {.cap = FMN_LIST_MAX};
    int rc = need_job(); /* (the layers as SCAN took them, after every node's notes) */
    if (rc < 0)
        return rc;
    if (!(b.p = malloc(b.cap)))
        return -ENOMEM;
    return reply_list(r, &b, files_list(d, &b));
}

static int on_deal(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    int rc = need_job() ?: ebtd_fdw_set(req, len);
    if (rc == 0)
        ebt_info("flush: %zu dealt file(s) have stripes on this node's OSTs", ebtd_fdw_count());
    return rc;
}

/* ---- held files: this node's ranges of shared files ---- */

static int held_add(struct ebtd *d, const char *logical)
{
    struct fmn_node *n = &node_state;
    if (n->nheld == n->capheld) {
        size_t cap = n->capheld ? n->capheld * 2 : 16;
        struct held_file *v = realloc(n->held, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        n->held = v;
        n->capheld = cap;
    }
    struct held_file *h = &n->held[n->nheld];
    memset(h, 0, sizeof(*h));
    ebt_ivs_init(&h->ranges);
    int rc = ebtd_md_winning_ranges(d, logical, ebtd_mesh_self(d), &h->ranges, &h->size);
    if (rc == 0 && !(h->path = strdup(logical)))
        rc = -ENOMEM;
    if (rc < 0) {
        ebt_ivs_free(&h->ranges);
        return rc;
    }
    n->nheld++;
    return 0;
}

struct held_walk {
    struct ebtd *d;
    size_t root_len;
};

/* A shared file this node holds must have no second copy in RUN/up: the flush would write only
 * one of them and lose the other's bytes. Refuse it (EEXIST) rather than flush zeros. */
static int held_single_copy(struct ebtd *d, const char *logical)
{
    char up[PATH_MAX];
    struct stat st;
    if (snprintf(up, sizeof(up), "%s/up%s", d->run_dir, logical) >= (int)sizeof(up))
        return -ENAMETOOLONG;
    if (ebt_sys_lstat(up, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    return ebt_flush_failed(node_state.job, logical,
                            "this node has two copies of a shared file (RUN/up, RUN/held)",
                            -EEXIST);
}

static int held_walk_entry(const char *phys, void *arg)
{
    struct held_walk *w = arg;
    struct stat st;
    if (ebt_sys_lstat(phys, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode))
        return ebt_dirlist_each_child(phys, held_walk_entry, w);
    if (!S_ISREG(st.st_mode) || ebtd_fdw_has(phys + w->root_len))
        return 0; /* a dealt file: the nodes of its OSTs write it */
    int rc = held_single_copy(w->d, phys + w->root_len);
    if (rc == 0)
        rc = held_add(w->d, phys + w->root_len);
    if (rc < 0)
        ebt_error("flush: %s: ranges of a shared file: %s", phys + w->root_len, strerror(-rc));
    return rc;
}

static int held_scan(struct ebtd *d)
{
    char root[PATH_MAX];
    struct stat st;
    if (ebt_rundir_file(d->run_dir, "held", root, sizeof(root)) < 0)
        return -ENAMETOOLONG;
    if (ebt_sys_lstat(root, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    struct held_walk w = {d, strlen(root)};
    return ebt_dirlist_each_child(root, held_walk_entry, &w);
}

static int held_write_ranges(int in, int out, const struct held_file *h, struct ebt_flush_stats *st)
{
    static __thread char buf[1 << 20];
    for (size_t i = 0; i < h->ranges.n; i++) {
        for (uint64_t off = h->ranges.iv[i][0]; off < h->ranges.iv[i][1];) {
            uint64_t left = h->ranges.iv[i][1] - off;
            size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
            ssize_t got = ebt_sys_pread(in, buf, want, (off_t)off);
            if (got <= 0) /* the holder's copy is shorter: the rest reads as zeros */
                memset(buf, 0, want), got = (ssize_t)want;
            if (ebt_sys_pwrite(out, buf, (size_t)got, (off_t)off) != got)
                return -errno ?: -EIO;
            st->data_ops++;
            st->bytes += (uint64_t)got;
            off += (uint64_t)got;
        }
    }
    return 0;
}

/* Write this node's winning ranges of one shared file, then the common final size. */
static int held_write(struct ebtd *d, const struct held_file *h, struct ebt_flush_stats *st)
{
    char src[PATH_MAX];
    struct stat sst;
    if (ebt_rundir_file(d->run_dir, "held", src, sizeof(src)) < 0 ||
        strlen(src) + strlen(h->path) >= sizeof(src))
        return -ENAMETOOLONG;
    strcat(src, h->path);
    int in = ebt_sys_open(src, O_RDONLY | O_CLOEXEC, 0);
    if (in < 0 || ebt_sys_fstat(in, &sst) < 0) {
        int e = -errno;
        if (in >= 0)
            ebt_sys_close(in);
        return e;
    }
    st->meta_ops++;
    char leaf[NAME_MAX + 1];
    int dirfd = ebt_lower_at(d->cfg, h->path, leaf, sizeof(leaf)), out = -1, rc = dirfd;
    if (dirfd >= 0) {
        out = ebt_sys_openat(dirfd, leaf, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                             sst.st_mode & 07777);
        rc = out < 0 ? -errno : 0;
        ebt_sys_close(dirfd);
    }
    if (rc == 0)
        rc = held_write_ranges(in, out, h, st);
    if (rc == 0) {
        st->meta_ops += 2;
        if (ebt_sys_ftruncate(out, (off_t)h->size) < 0 || ebt_sys_fsync(out) < 0)
            rc = -errno;
    }
    if (out >= 0)
        ebt_sys_close(out);
    ebt_sys_close(in);
    return rc;
}

static void *data_thread(void *arg)
{
    struct ebtd *d = arg;
    struct fmn_node *n = &node_state;
    struct ebt_journal *j = ebt_flush_journal(n->job);
    int rc = ebt_flush_files(n->job);
    for (size_t i = 0; rc == 0 && i < n->nheld; i++) {
        const struct held_file *h = &n->held[i];
        if (ebt_journal_has(j, h->path))
            continue;
        rc = held_write(d, h, &n->st);
        if (rc < 0)
            ebt_flush_failed(n->job, h->path, "write the node's ranges of a shared file", rc);
        else if ((rc = ebt_journal_file_done(j, h->path)) == 0)
            n->st.files++, n->st.partial_files++;
    }
    int wrc = ebtd_fdw_wait(d, &n->st); /* the stripes of dealt files (after the pump) */
    if (rc == 0)
        rc = wrc;
    __atomic_store_n(&n->status, rc, __ATOMIC_RELEASE);
    __atomic_store_n(&n->running, 0, __ATOMIC_RELEASE);
    return NULL;
}

static int on_data(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    struct fmn_node *n = &node_state;
    int rc = need_job();
    if (rc == 0 && n->thread_started)
        rc = -EBUSY;
    /* (files other nodes' notes moved to RUN/held are out of the node's own list since SCAN) */
    if (rc == 0)
        ebt_flush_drop_files(n->job, ebtd_fdw_has);
    if (rc == 0 && (rc = held_scan(d)) < 0)
        ebt_flush_failed(n->job, d->run_dir, "plan shared files", rc);
    if (rc == 0 && (rc = ebtd_fdw_start(d, n->job, d->cfg->flush_threads ?: 4)) < 0)
        ebt_flush_failed(n->job, d->run_dir, "start the writers of dealt stripes", rc);
    if (rc < 0)
        return rc;
    n->running = 1;
    if (pthread_create(&n->thread, NULL, data_thread, d) != 0) {
        n->running = 0;
        return -EAGAIN;
    }
    n->thread_started = 1;
    return 0;
}

static int on_status(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    struct fmn_node *n = &node_state;
    struct fmn_status *s = ebtd_reply_alloc(r, sizeof(*s));
    if (!s)
        return -ENOMEM;
    memset(s, 0, sizeof(*s));
    if (n->thread_started && !ebtd_fdw_pumped())
        ebtd_fdw_pump(d, FMN_PUMP_S); /* pulls run on this thread, between polls */
    s->running = __atomic_load_n(&n->running, __ATOMIC_ACQUIRE);
    s->status = s->running ? 0 : __atomic_load_n(&n->status, __ATOMIC_ACQUIRE);
    if (!s->running)
        snprintf(s->err, sizeof(s->err), "%.500s", n->err);
    return 0;
}

static int on_end(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    struct fmn_node *n = &node_state;
    int32_t status = -EIO;
    if (len == sizeof(status))
        memcpy(&status, req, sizeof(status));
    if (!n->job)
        return -ESRCH;
    if (n->thread_started) {
        pthread_join(n->thread, NULL);
        n->thread_started = 0;
        if (status == 0)
            status = n->status;
    }
    int rc = ebt_flush_end(n->job, status);
    n->job = NULL;
    held_free(n);
    ebtd_fdw_clear();
    n->clean = rc == 0 ? n->began : (struct timespec){0, 0};
    struct ebt_flush_stats *out = ebtd_reply_alloc(r, sizeof(*out));
    if (out)
        *out = n->st;
    return rc;
}

/* Did anything in the node's layers change at or after `since` (file or directory ctime)? */
struct change_scan {
    struct timespec since;
    int changed;
};

static int changed_at_or_after(const struct stat *st, const struct timespec *t)
{
    return st->st_ctim.tv_sec > t->tv_sec ||
           (st->st_ctim.tv_sec == t->tv_sec && st->st_ctim.tv_nsec >= t->tv_nsec);
}

static int change_scan_entry(const char *phys, void *arg)
{
    struct change_scan *c = arg;
    struct stat st;
    if (ebt_sys_lstat(phys, &st) < 0)
        return 0;
    if (changed_at_or_after(&st, &c->since)) {
        ebt_info("flush needed: %s changed at %lld.%09ld, the last complete flush began at "
                 "%lld.%09ld",
                 phys, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, (long long)c->since.tv_sec,
                 c->since.tv_nsec);
        c->changed = 1;
        return 1; /* stop the walk */
    }
    return S_ISDIR(st.st_mode) ? ebt_dirlist_each_child(phys, change_scan_entry, c) : 0;
}

int ebtd_flush_mn_clean(const struct ebtd *d)
{
    static const char *const layers[] = {"up", "task", "held"};
    struct change_scan c = {.since = node_state.clean}; /* never flushed: any entry is new */
    char root[PATH_MAX];
    if (node_state.job)
        return 0;
    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]) && !c.changed; i++)
        if (ebt_rundir_file(d->run_dir, layers[i], root, sizeof(root)) == 0)
            ebt_dirlist_each_child(root, change_scan_entry, &c); /* the roots do not count */
    return !c.changed;
}

void ebtd_flush_mn_register(void)
{
    ebtd_mesh_handle(P_FLUSH_PREP, on_prep);
    ebtd_mesh_handle(P_FLUSH_LIST, on_list);
    ebtd_mesh_handle(P_FLUSH_REMOVE, on_remove);
    ebtd_mesh_handle(P_FLUSH_DIRS, on_dirs);
    ebtd_mesh_handle(P_FLUSH_DATA, on_data);
    ebtd_mesh_handle(P_FLUSH_STATUS, on_status);
    ebtd_mesh_handle(P_FLUSH_END, on_end);
    ebtd_mesh_handle(P_FLUSH_FILES, on_files);
    ebtd_mesh_handle(P_FLUSH_DEAL, on_deal);
    ebtd_mesh_handle(P_FLUSH_SCAN, on_scan);
}
