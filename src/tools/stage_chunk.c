/* stage_chunk.c - a large or sparse file of a stage in chunks that any thread copies (only the
 * data regions: holes stay holes), resumable chunk by chunk after a kill. */
#define _GNU_SOURCE
#include "stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* The partial file's name: stable across runs for the same source file and chunk size. */
static void part_name(const struct stage_job *j, const struct stage_ent *e, char *out, size_t cap,
                      int map)
{
    uint64_t h = 0xcbf29ce484222325ull;
    uint64_t v[] = {(uint64_t)e->st.st_ino, (uint64_t)e->st.st_size, (uint64_t)e->st.st_mtim.tv_sec,
                    (uint64_t)e->st.st_mtim.tv_nsec, j->chunk};
    for (const unsigned char *p = (const unsigned char *)e->leaf; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        for (int b = 0; b < 64; b += 8)
            h = (h ^ ((v[i] >> b) & 0xff)) * 0x100000001b3ull;
    snprintf(out, cap, STAGE_PART_PREFIX "%016llx%s", (unsigned long long)h, map ? ".map" : "");
}

/* Copy [off, end) of in to out, only the data regions: holes stay holes (out is presized). */
static int copy_range(struct stage_job *j, int in, int out, off_t off, off_t end, char *buf)
{
    while (off < end) {
        off_t d = lseek(in, off, SEEK_DATA);
        if (d < 0 && errno == ENXIO)
            return 0; /* a hole up to the end of the file */
        d = d < 0 ? off : d;
        off_t h = d >= end ? end : lseek(in, d, SEEK_HOLE);
        h = h < 0 || h > end ? end : h;
        for (off_t p = d; p < h;) {
            size_t want = (size_t)(h - p) < STAGE_BUF ? (size_t)(h - p) : STAGE_BUF;
            ssize_t n = pread(in, buf, want, p);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return n < 0 ? -errno : 0; /* the source shrank: its size was set already */
            for (ssize_t w = 0, k; w < n; w += k)
                if ((k = pwrite(out, buf + w, (size_t)(n - w), p + w)) < 0)
                    return -errno;
            atomic_fetch_add(&j->c.bytes, (unsigned long long)n);
            p += n;
        }
        off = h;
    }
    return 0;
}

/* A killed run's partial file of e, if it is complete in size and has its map: 0, else -errno. */
static int part_reopen(struct stage_ent *e, int pfd, const char *tmp, const char *map)
{
    struct stat a, b;
    e->out_fd = openat(pfd, tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    e->map_fd = openat(pfd, map, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (e->out_fd >= 0 && e->map_fd >= 0 && fstat(e->out_fd, &a) == 0 &&
        fstat(e->map_fd, &b) == 0 && S_ISREG(a.st_mode) && S_ISREG(b.st_mode) &&
        a.st_size == e->st.st_size && b.st_size == e->nchunks)
        return 0;
    if (e->out_fd >= 0)
        close(e->out_fd);
    if (e->map_fd >= 0)
        close(e->map_fd);
    e->out_fd = e->map_fd = -1;
    unlinkat(pfd, tmp, 0);
    unlinkat(pfd, map, 0);
    return -ENOENT;
}

static int part_create(struct stage_job *j, struct stage_ent *e, int pfd, const char *tmp,
                       const char *map)
{
    int fd = stage_layout_create(j, e, pfd, tmp);
    if (fd < 0)
        return fd;
    e->out_fd = fd;
    e->map_fd = openat(pfd, map, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (e->map_fd < 0 || ftruncate(fd, e->st.st_size) < 0 || ftruncate(e->map_fd, e->nchunks) < 0)
        return -errno;
    return 0;
}

/* The partial file of e, resumed or made, once, by whichever chunk comes first. */
static int chunk_open(struct stage_job *j, struct stage_ent *e, int pfd)
{
    char tmp[64], map[64];
    pthread_mutex_t *mu = &j->locks[(e - j->ents) % 64];
    part_name(j, e, tmp, sizeof(tmp), 0);
    part_name(j, e, map, sizeof(map), 1);
    pthread_mutex_lock(mu);
    if (e->out_fd < 0 && atomic_load(&e->chunk_err) == 0 && part_reopen(e, pfd, tmp, map) < 0) {
        int rc = part_create(j, e, pfd, tmp, map);
        if (rc < 0)
            atomic_store(&e->chunk_err, rc);
    }
    int rc = atomic_load(&e->chunk_err);
    pthread_mutex_unlock(mu);
    return rc;
}

/* Chunk k: skipped if the map says a killed run did it; else copied, synced, then marked. */
static int chunk_copy(struct stage_job *j, struct stage_ent *e, int k, char *buf)
{
    unsigned char done = 0;
    if (pread(e->map_fd, &done, 1, k) == 1 && done == 1) {
        atomic_fetch_add(&j->c.chunks_resumed, 1);
        return 0;
    }
    off_t off = (off_t)k * (off_t)j->chunk, end = off + (off_t)j->chunk;
    int sfd = stage_open_src(j, e);
    if (sfd < 0)
        return sfd;
    int rc = copy_range(j, sfd, e->out_fd, off, end < e->st.st_size ? end : e->st.st_size, buf);
    close(sfd);
    done = 1; /* the mark only after the data is durable: a crashed node resumes correctly too */
    if (rc == 0 && (fdatasync(e->out_fd) < 0 || pwrite(e->map_fd, &done, 1, k) != 1))
        rc = -errno;
    return rc;
}

/* The last chunk done: metadata, times (after every write), rename; or remove the partial. */
static int chunk_finish(struct stage_job *j, struct stage_ent *e, int pfd, const char **step)
{
    char tmp[64], map[64];
    int rc = atomic_load(&e->chunk_err), sfd = -1;
    part_name(j, e, tmp, sizeof(tmp), 0);
    part_name(j, e, map, sizeof(map), 1);
    *step = "copy data";
    if (rc == 0 && (sfd = stage_open_src(j, e)) < 0)
        rc = sfd;
    if (rc == 0)
        rc = stage_meta_apply(j, e, pfd, tmp, sfd, 0, step);
    struct timespec ts[2] = {e->st.st_atim, e->st.st_mtim};
    if (rc == 0 && futimens(e->out_fd, ts) < 0) {
        *step = "set times";
        rc = -errno;
    }
    if (sfd >= 0)
        close(sfd);
    if (e->out_fd >= 0)
        close(e->out_fd);
    if (e->map_fd >= 0)
        close(e->map_fd);
    e->out_fd = e->map_fd = -1;
    if (rc == 0 && (rc = stage_finish_rename(j, e, pfd, tmp)) < 0)
        *step = "rename";
    if (rc < 0)
        unlinkat(pfd, tmp, 0);
    unlinkat(pfd, map, 0);
    return rc;
}

void stage_copy_chunk(struct stage_job *j, const struct stage_task *t, int pfd, char *buf)
{
    struct stage_ent *e = &j->ents[t->ent];
    int rc = chunk_open(j, e, pfd);
    if (rc == 0 && (rc = chunk_copy(j, e, t->chunk, buf)) < 0) {
        int zero = 0;
        atomic_compare_exchange_strong(&e->chunk_err, &zero, rc);
    }
    if (atomic_fetch_sub(&e->chunks_left, 1) != 1)
        return;
    const char *step;
    rc = chunk_finish(j, e, pfd, &step);
    stage_entry_done(j, e, rc, step);
}

static void sweep_dir(struct stage_job *j, const char *rel)
{
    stage_unlink_prefixed(j, rel, STAGE_PART_PREFIX, NULL);
}

void stage_sweep_partials(struct stage_job *j)
{
    for (long i = 0; i < j->nents; i++)
        if (j->ents[i].kind == SK_DIR && !j->ents[i].fresh && j->ents[i].state != ST_FAILED)
            sweep_dir(j, j->ents[i].rel);
}
