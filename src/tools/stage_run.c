/* stage_run.c - the phases of a stage (list, directories, check, plan, copy, links, verify,
 * directory metadata), its worker threads, messages and the progress line. */
#define _GNU_SOURCE
#include "stage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static int line_open; /* a progress line is on the terminal: end it before a message */

double stage_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A name on stderr: control bytes, non-ASCII bytes and '\\' escaped, so any name is one line. */
static void put_name(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '\\')
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
}

static void message(struct stage_job *j, const char *rel, const char *what, const char *why)
{
    pthread_mutex_lock(&out_mu);
    if (line_open)
        fputc('\n', stderr);
    line_open = 0;
    fprintf(stderr, "ebt %s: ", j->cmd);
    put_name(j->src);
    if (*rel)
        fputc('/', stderr);
    put_name(rel);
    fprintf(stderr, ": %s%s%s\n", what, why ? ": " : "", why ? why : "");
    pthread_mutex_unlock(&out_mu);
}

void stage_err(struct stage_job *j, const char *rel, const char *step, int err)
{
    atomic_fetch_add(&j->c.errors, 1);
    message(j, rel, step, strerror(err));
}

void stage_warn(struct stage_job *j, const char *rel, const char *what)
{
    message(j, rel, what, NULL);
}

struct pool {
    struct stage_job *j;
    long n;
    void (*fn)(struct stage_job *, long, char *);
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    char *buf = aligned_alloc(4096, STAGE_BUF);
    if (!buf)
        return NULL; /* the others (or the caller) take the work */
    for (long i; (i = atomic_fetch_add(&p->j->next, 1)) < p->n;)
        p->fn(p->j, i, buf);
    free(buf);
    return NULL;
}

void stage_parallel(struct stage_job *j, long n, void (*fn)(struct stage_job *, long, char *))
{
    struct pool p = {j, n, fn};
    pthread_t tid[256];
    int started = 0;
    atomic_store(&j->next, 0);
    for (int t = 1; t < j->threads && t < n; t++)
        if (pthread_create(&tid[started], NULL, pool_worker, &p) == 0)
            started++;
    pool_worker(&p);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
}

static void check_one(struct stage_job *j, long i, char *buf)
{
    struct stage_ent *e = &j->ents[i];
    int k = e->kind;
    if (e->state != ST_TODO || (k != SK_REG && k != SK_SYMLINK && k != SK_FIFO))
        return;
    if (stage_check_skip(j, e)) {
        e->state = ST_SKIPPED;
        atomic_fetch_add(&j->c.skipped, 1);
    }
}

/* Large or sparse files go in chunks (sparse-aware); small dense ones whole through xfer.c. */
static int chunks_of(const struct stage_job *j, const struct stage_ent *e)
{
    off_t size = e->st.st_size;
    int sparse = (off_t)e->st.st_blocks * 512 < size;
    if (!sparse && (uint64_t)size <= j->chunk && stage_layout_plain((struct stage_job *)j, e))
        return 0;
    uint64_t n = ((uint64_t)size + j->chunk - 1) / j->chunk;
    return n ? (int)n : 1;
}

/* One task per entry to copy, one per chunk of a chunked file; then the layout's order. */
static int plan(struct stage_job *j)
{
    long n = 0;
    for (long i = 0; i < j->nents; i++) {
        struct stage_ent *e = &j->ents[i];
        if (e->state != ST_TODO || (e->kind != SK_REG && e->kind != SK_SYMLINK &&
                                    e->kind != SK_FIFO && e->kind != SK_HARDLINK))
            continue;
        atomic_fetch_add(&j->c.files_total, 1);
        if (e->kind == SK_HARDLINK)
            continue;
        e->nchunks = e->kind == SK_REG ? chunks_of(j, e) : 0;
        atomic_store(&e->chunks_left, e->nchunks);
        off_t data = (off_t)e->st.st_blocks * 512; /* a sparse file's holes are not copied */
        if (e->kind == SK_REG)
            atomic_fetch_add(&j->c.bytes_total,
                             (unsigned long long)(data < e->st.st_size ? data : e->st.st_size));
        n += e->nchunks ? e->nchunks : 1;
    }
    if (!(j->tasks = malloc((size_t)(n + 1) * sizeof(*j->tasks))))
        return -ENOMEM;
    for (long i = 0; i < j->nents; i++) {
        struct stage_ent *e = &j->ents[i];
        int k = e->kind;
        if (e->state != ST_TODO || (k != SK_REG && k != SK_SYMLINK && k != SK_FIFO))
            continue;
        for (int c = 0; c < (e->nchunks ? e->nchunks : 1); c++)
            j->tasks[j->ntasks++] = (struct stage_task){i, c};
    }
    stage_layout_plan(j);
    return 0;
}

static void copy_one(struct stage_job *j, long i, char *buf)
{
    stage_copy_task(j, &j->tasks[i], buf);
}

/* "1.5 GiB" */
static void human(double v, char *out, size_t cap)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int k = 0;
    for (; v >= 1024 && k < 4; k++)
        v /= 1024;
    snprintf(out, cap, k ? "%.1f %s" : "%.0f %s", v, u[k]);
}

static void progress_line(struct stage_job *j)
{
    double t = stage_now() - j->t0, b = (double)atomic_load(&j->c.bytes);
    double total = (double)atomic_load(&j->c.bytes_total), rate = t > 0 ? b / t : 0;
    char done[32], all[32], r[32], eta[32] = "-";
    human(b, done, sizeof(done));
    human(total, all, sizeof(all));
    human(rate, r, sizeof(r));
    if (rate > 0 && total >= b) {
        long s = (long)((total - b) / rate);
        snprintf(eta, sizeof(eta), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    }
    pthread_mutex_lock(&out_mu);
    fprintf(stderr, "\r\033[Kebt %s: %llu/%llu files, %s/%s, %s/s, ETA %s", j->cmd,
            (unsigned long long)atomic_load(&j->c.files_done),
            (unsigned long long)atomic_load(&j->c.files_total), done, all, r, eta);
    line_open = 1;
    pthread_mutex_unlock(&out_mu);
}

static atomic_int progress_stop;

static void *progress_main(void *arg)
{
    struct stage_job *j = arg;
    while (!atomic_load(&progress_stop)) {
        progress_line(j);
        for (int k = 0; k < 5 && !atomic_load(&progress_stop); k++)
            usleep(100000);
    }
    progress_line(j);
    fputc('\n', stderr);
    line_open = 0;
    return NULL;
}

/* The copy proper: tasks on the threads, then the hard links, with the progress line. */
static void copy_phase(struct stage_job *j)
{
    pthread_t pt;
    int shown = j->progress && pthread_create(&pt, NULL, progress_main, j) == 0;
    stage_parallel(j, j->ntasks, copy_one);
    stage_hardlinks(j);
    if (shown) {
        atomic_store(&progress_stop, 1);
        pthread_join(pt, NULL);
    }
}

int stage_run(struct stage_job *j)
{
    umask(0); /* modes exactly as in the source (xfer.c then skips its fchmod) */
    j->euid = geteuid();
    j->egid = getegid();
    j->pid = (int)getpid();
    for (int i = 0; i < 64; i++)
        pthread_mutex_init(&j->locks[i], NULL);
    j->t0 = stage_now();
    if (stage_walk(j) < 0)
        return 1;
    j->ents[0].fresh = j->dst_made;
    stage_dst_cache(j);
    stage_make_dirs(j);
    stage_parallel(j, j->nents, check_one);
    if (plan(j) < 0) {
        stage_err(j, "", "plan", ENOMEM);
        stage_dst_uncache(j);
        return 1;
    }
    copy_phase(j);
    stage_sweep_partials(j);
    if (j->verify)
        stage_verify(j);
    stage_dir_meta(j);
    stage_dst_uncache(j);
    return atomic_load(&j->c.errors) || atomic_load(&j->c.mismatches) ? 1 : 0;
}
