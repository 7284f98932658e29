/* flush_dealw.c - a node's part of the OST-dealt flush: the stripe chunks of new files on the
 * OSTs dealt to it. Bytes it does not hold are pulled from their holders on the daemon's thread
 * (the mesh has one thread), in slices run from the coordinator's STATUS polls, into unlinked
 * node-local files; writer threads put them on the PFS, requests cut at stripe boundaries. */
#define _GNU_SOURCE
#include "flush_dealw.h"
#include "flush_deal.h"
#include "log.h"
#include "lower.h"
#include "md.h"
#include "mesh.h"
#include "rundir.h"
#include "server.h"
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

#define FDW_QUEUE 64              /* pulled files waiting for a writer, at most */
#define FDW_PULL_SLICE (8u << 20) /* bytes pulled per call, between budget checks */
#define FDW_MAX_THREADS 64

struct fdw_job {
    const struct fdeal_item *it;
    int src; /* fd of the bytes to write (the node's copy or a pulled file) */
};

static struct {
    struct fdeal_item *items;
    size_t n;
    char **sorted; /* item paths, sorted: ebtd_fdw_has */
    /* the pump (daemon thread): next item to pull, its range and offset */
    size_t next, range;
    uint64_t off;
    int cur_fd;
    /* the queue to the writers */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fdw_job q[FDW_QUEUE];
    size_t qhead, qlen;
    int closed, failed;
    pthread_t tids[FDW_MAX_THREADS];
    int nthreads;
    struct ebtd *d;
    struct flush *job;
    struct ebt_flush_stats st; /* the writers' counts, added to the node's at the end */
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .cur_fd = -1};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ebtd_fdw_set(const void *buf, size_t len)
{
    ebtd_fdw_clear();
    int rc = fdeal_decode(buf, len, &W.items, &W.n);
    if (rc < 0)
        return rc;
    if (!(W.sorted = malloc((W.n ? W.n : 1) * sizeof(*W.sorted))))
        return -ENOMEM;
    for (size_t i = 0; i < W.n; i++)
        W.sorted[i] = W.items[i].path;
    qsort(W.sorted, W.n, sizeof(*W.sorted), cmp_str);
    return 0;
}

int ebtd_fdw_has(const char *path)
{
    return W.n && bsearch(&path, W.sorted, W.n, sizeof(*W.sorted), cmp_str) != NULL;
}

size_t ebtd_fdw_count(void)
{
    return W.n;
}

/* ---- writers ---- */

static int write_range(int src, int out, uint64_t off, uint64_t end, uint32_t unit, char *buf,
                       struct ebt_flush_stats *st)
{
    while (off < end) {
        uint64_t lim = off + EBT_XFER_CHUNK; /* end of a request: the last stripe boundary */
        if (unit && lim / unit * unit > off)
            lim = lim / unit * unit;
        size_t want = (size_t)((lim < end ? lim : end) - off);
        ssize_t got = ebt_sys_pread(src, buf, want, (off_t)off);
        if (got < 0)
            return -errno;
        if ((size_t)got < want) /* the source is shorter: the rest is zeros */
            memset(buf + got, 0, want - (size_t)got);
        if (ebt_pwrite_full(out, buf, want, (off_t)off) < 0)
            return -errno ?: -EIO;
        st->data_ops++;
        st->bytes += want;
        off += want;
    }
    return 0;
}

static int write_job(struct fdw_job *j, char *buf, struct ebt_flush_stats *st)
{
    char leaf[NAME_MAX + 1];
    int dirfd = ebt_lower_at(W.d->cfg, j->it->path, leaf, sizeof(leaf)), rc = dirfd, out = -1;
    if (dirfd >= 0) {
        st->meta_ops++;
        out = ebt_sys_openat(dirfd, leaf, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
        rc = out < 0 ? -errno : 0;
        ebt_sys_close(dirfd);
    }
    const struct ebt_ivs *r = &j->it->ranges;
    for (size_t i = 0; rc == 0 && i < r->n; i++)
        rc = write_range(j->src, out, r->iv[i][0], r->iv[i][1], j->it->unit, buf, st);
    if (rc == 0 && r->n == 1 && r->iv[0][0] == 0 && r->iv[0][1] == j->it->size) {
        /* this node writes all of it: its times now (the coordinator leaves them) */
        struct timespec ts[2] = {{j->it->mtime_sec, j->it->mtime_nsec},
                                 {j->it->mtime_sec, j->it->mtime_nsec}};
        st->meta_ops++;
        if (futimens(out, ts) < 0)
            rc = -errno;
    }
    if (out >= 0)
        ebt_sys_close(out);
    return rc;
}

static void fail(const char *path, const char *step, int rc)
{
    pthread_mutex_lock(&W.mu);
    W.failed = 1;
    pthread_cond_broadcast(&W.cv);
    pthread_mutex_unlock(&W.mu);
    ebt_flush_failed(W.job, path, step, rc);
}

static void *writer(void *arg)
{
    char *buf = NULL;
    struct ebt_flush_stats st = {0};
    if (posix_memalign((void **)&buf, 4096, EBT_XFER_CHUNK) != 0) {
        fail(W.d->run_dir, "allocate a write buffer", -ENOMEM);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&W.mu);
        while (!W.qlen && !W.closed && !W.failed)
            pthread_cond_wait(&W.cv, &W.mu);
        if (!W.qlen || W.failed) {
            pthread_mutex_unlock(&W.mu);
            break;
        }
        struct fdw_job j = W.q[W.qhead];
        W.qhead = (W.qhead + 1) % FDW_QUEUE;
        W.qlen--;
        pthread_cond_broadcast(&W.cv);
        pthread_mutex_unlock(&W.mu);
        int rc = write_job(&j, buf, &st);
        ebt_sys_close(j.src);
        if (rc < 0) {
            fail(j.it->path, "write the node's stripes", rc);
            break;
        }
    }
    free(buf);
    pthread_mutex_lock(&W.mu);
    W.st.bytes += st.bytes;
    W.st.data_ops += st.data_ops;
    W.st.meta_ops += st.meta_ops;
    pthread_mutex_unlock(&W.mu);
    return NULL;
}

int ebtd_fdw_start(struct ebtd *d, struct flush *job, int threads)
{
    W.d = d;
    W.job = job;
    W.next = W.range = 0;
    W.off = 0;
    W.cur_fd = -1;
    W.qhead = W.qlen = 0;
    W.closed = W.failed = 0;
    memset(&W.st, 0, sizeof(W.st));
    W.nthreads = 0;
    if (!W.n) {
        W.closed = 1;
        return 0;
    }
    if (threads < 1)
        threads = 1;
    for (int i = 0; i < threads && i < FDW_MAX_THREADS; i++)
        if (pthread_create(&W.tids[W.nthreads], NULL, writer, NULL) == 0)
            W.nthreads++;
    return W.nthreads ? 0 : -EAGAIN;
}

/* ---- the pump (daemon thread) ---- */

/* Hand src to the writers; 0, or 1 if the queue is full (try again later). */
static int enqueue(const struct fdeal_item *it, int src)
{
    pthread_mutex_lock(&W.mu);
    int full = W.qlen == FDW_QUEUE;
    if (!full) {
        W.q[(W.qhead + W.qlen) % FDW_QUEUE] = (struct fdw_job){it, src};
        W.qlen++;
        pthread_cond_signal(&W.cv);
    }
    pthread_mutex_unlock(&W.mu);
    return full;
}

/* This node's own copy of path (RUN/held, else RUN/up), opened read-only. */
static int open_own_copy(const char *path)
{
    static const char *const layers[] = {"held", "up"};
    for (size_t i = 0; i < 2; i++) {
        char f[PATH_MAX];
        if (ebt_rundir_file(W.d->run_dir, layers[i], f, sizeof(f)) < 0 ||
            strlen(f) + strlen(path) >= sizeof(f))
            return -ENAMETOOLONG;
        strcat(f, path);
        int fd = ebt_sys_open(f, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
        if (fd >= 0 || errno != ENOENT)
            return fd >= 0 ? fd : -errno;
    }
    return -ENOENT;
}

/* An unlinked scratch file in the node's run directory for pulled bytes. */
static int scratch(void)
{
    int fd = ebt_sys_open(W.d->run_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    return fd >= 0 ? fd : -errno;
}

/* Pull the next slice of the current item; 1 when the item is complete. */
static int pull_slice(const struct fdeal_item *it)
{
    const struct ebt_ivs *r = &it->ranges;
    if (W.range >= r->n)
        return 1;
    uint64_t a = W.off > r->iv[W.range][0] ? W.off : r->iv[W.range][0], e = r->iv[W.range][1];
    if (e - a > FDW_PULL_SLICE)
        e = a + FDW_PULL_SLICE;
    struct ebt_ivs want;
    ebt_ivs_init(&want);
    int rc = ebt_ivs_add(&want, a, e - a);
    if (rc == 0)
        rc = ebtd_md_pull_ranges(W.d, it->path, &want, W.cur_fd);
    ebt_ivs_free(&want);
    if (rc < 0)
        return rc;
    W.off = e;
    if (e == r->iv[W.range][1])
        W.range++, W.off = 0;
    return W.range >= r->n;
}

/* One step on the current item: 1 done with it, 0 not yet, 2 queue full, or -errno. */
static int pump_item(struct fdeal_item *it, int self)
{
    if (W.cur_fd < 0) {
        int own = it->holders == (1ull << self) && self < 64;
        W.cur_fd = own ? open_own_copy(it->path) : scratch();
        if (W.cur_fd < 0)
            return W.cur_fd;
        W.range = 0;
        W.off = 0;
        if (own)
            W.range = it->ranges.n; /* nothing to pull */
    }
    int rc = pull_slice(it);
    if (rc <= 0)
        return rc;
    if (enqueue(it, W.cur_fd))
        return 2;
    W.cur_fd = -1;
    return 1;
}

int ebtd_fdw_pump(struct ebtd *d, double budget_s)
{
    double t0 = ebt_now_s();
    int self = ebtd_mesh_self(d);
    while (W.next < W.n && !W.closed) {
        if (__atomic_load_n(&W.failed, __ATOMIC_RELAXED))
            return -EIO;
        struct fdeal_item *it = &W.items[W.next];
        int rc = it->ranges.n ? pump_item(it, self) : 1;
        if (rc < 0) {
            fail(it->path, "pull the bytes of the node's stripes from their holders", rc);
            return rc;
        }
        if (rc == 2)
            return 0; /* writers are behind: next poll */
        if (rc == 1)
            W.next++;
        if (ebt_now_s() - t0 > budget_s)
            return 0;
    }
    if (!W.closed) {
        pthread_mutex_lock(&W.mu);
        W.closed = 1;
        pthread_cond_broadcast(&W.cv);
        pthread_mutex_unlock(&W.mu);
    }
    return 0;
}

int ebtd_fdw_pumped(void)
{
    return W.closed || __atomic_load_n(&W.failed, __ATOMIC_RELAXED);
}

/* The written stripes made durable: one syncfs per managed prefix. */
static int sync_prefixes(struct ebtd *d, struct ebt_flush_stats *st)
{
    for (int i = 0; i < d->cfg->nprefixes; i++) {
        char dir[PATH_MAX];
        if (ebt_lower_path(d->cfg->prefixes[i].path, dir, sizeof(dir)) < 0)
            return -ENAMETOOLONG;
        int fd = ebt_sys_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        st->meta_ops += 2;
        if (fd < 0 || syncfs(fd) < 0) {
            int e = -errno;
            if (fd >= 0)
                ebt_sys_close(fd);
            return e;
        }
        ebt_sys_close(fd);
    }
    return 0;
}

int ebtd_fdw_wait(struct ebtd *d, struct ebt_flush_stats *st)
{
    int had = W.nthreads > 0;
    for (int i = 0; i < W.nthreads; i++)
        pthread_join(W.tids[i], NULL);
    W.nthreads = 0;
    pthread_mutex_lock(&W.mu);
    while (W.qlen) { /* left by a failure */
        ebt_sys_close(W.q[W.qhead].src);
        W.qhead = (W.qhead + 1) % FDW_QUEUE;
        W.qlen--;
    }
    pthread_mutex_unlock(&W.mu);
    if (W.cur_fd >= 0)
        ebt_sys_close(W.cur_fd), W.cur_fd = -1;
    st->bytes += W.st.bytes;
    st->data_ops += W.st.data_ops;
    st->meta_ops += W.st.meta_ops;
    if (W.failed)
        return -EIO;
    int rc = had ? sync_prefixes(d, st) : 0;
    if (rc < 0)
        ebt_flush_failed(W.job, d->run_dir, "syncfs after the node's stripes", rc);
    return rc;
}

void ebtd_fdw_clear(void)
{
    fdeal_items_free(W.items, W.n);
    free(W.sorted);
    W.items = NULL;
    W.sorted = NULL;
    W.n = 0;
}
