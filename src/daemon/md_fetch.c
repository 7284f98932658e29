/* md_fetch.c - data across nodes: a holder's extents and bytes (peer EXTENTS, READ), and the
 * fetch that merges every holder's data (and the PFS base) into RUN/remote/<path>. */
#define _GNU_SOURCE
#include "log.h"
#include "md_int.h"
#include "mesh.h"
#include "path.h"
#include "rundir.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- holder side ---- */

/* The bytes this node wrote of its copy: the changed ranges of its extent log, or all of it;
 * *approx: "all of it" is an over-approximation (an open writer, FULL, no log): most of those
 * bytes may be stale copies of what other nodes wrote. */
/* The data segments of f (SEEK_DATA/SEEK_HOLE) into out: 0, or -errno (-EINVAL: not known). */
static int data_extents(const char *f, uint64_t size, struct ebt_ivs *out)
{
    int fd = ebt_sys_open(f, O_RDONLY | O_CLOEXEC, 0), rc = fd < 0 ? -errno : 0;
    for (off_t off = 0; rc == 0 && (uint64_t)off < size;) {
        off_t data = lseek(fd, off, SEEK_DATA), hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
        if (data < 0 && errno == ENXIO)
            break; /* only a hole from off on */
        if (data < 0 || hole < 0)
            rc = -errno;
        else if ((rc = ebt_ivs_add(out, (uint64_t)data, (uint64_t)(hole - data))) == 0)
            off = hole;
    }
    if (fd >= 0)
        ebt_sys_close(fd);
    return rc;
}

static int local_extents(struct ebtd *d, const char *path, struct ebt_ivs *out, uint64_t *size,
                         int *approx, int *nolog)
{
    char f[PATH_MAX], meta[PATH_MAX];
    struct stat st;
    struct ebt_ext_summary s;
    int rc = md_local_copy(d, path, f, sizeof(f), &st);
    if (rc == 0 && !S_ISREG(st.st_mode))
        rc = -EINVAL;
    if (rc == 0)
        rc = ebt_meta_path(d->run_dir, (unsigned long long)st.st_ino, meta, sizeof(meta));
    if (rc == 0)
        rc = ebt_extlog_load(meta, &s);
    if (rc < 0)
        return rc;
    *size = (uint64_t)st.st_size;
    ebt_ivs_init(out);
    *approx = s.whole || !s.exists;
    *nolog = !s.exists; /* made here: its holes are bytes it never wrote */
    if (*nolog && data_extents(f, *size, out) < 0) {
        ebt_ivs_free(out);
        ebt_ivs_init(out);
        *nolog = 0; /* holes not known: all of it, as for an open writer */
    }
    if (*approx && !*nolog)
        rc = ebt_ivs_add(out, 0, *size);
    else
        for (size_t i = 0; i < s.changed.n && rc == 0; i++)
            rc = ebt_ivs_add(out, s.changed.iv[i][0], s.changed.iv[i][1] - s.changed.iv[i][0]);
    ebt_ivs_clip(out, *size);
    ebt_extlog_summary_free(&s);
    return rc;
}

static int h_extents(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    char path[PATH_MAX];
    struct ebt_ivs iv;
    uint64_t size;
    int approx = 0, nolog = 0;
    int rc = md_take_path(req, len, path, sizeof(path));
    if (rc >= 0)
        rc = local_extents(d, path, &iv, &size, &approx, &nolog);
    if (rc < 0)
        return rc;
    if (iv.n > MD_EXT_MAX)
        rc = -E2BIG;
    uint64_t *w = rc == 0 ? ebtd_reply_alloc(r, (MD_EXT_HDR + 2 * iv.n) * sizeof(uint64_t)) : NULL;
    if (rc == 0 && !w)
        rc = -ENOMEM;
    if (rc == 0) { /* size, count, flags, then the ranges */
        w[0] = size;
        w[1] = iv.n;
        w[2] = (approx ? MD_EXT_APPROX : 0) | (nolog ? MD_EXT_NOLOG : 0);
        memcpy(w + MD_EXT_HDR, iv.iv, iv.n * 2 * sizeof(uint64_t));
    }
    ebt_ivs_free(&iv);
    return rc;
}

static int h_read(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    uint64_t hdr[2];
    char path[PATH_MAX], f[PATH_MAX];
    struct stat st;
    if (len < sizeof(hdr) + 2)
        return -EINVAL;
    memcpy(hdr, req, sizeof(hdr));
    int rc = md_take_path((const char *)req + sizeof(hdr), len - sizeof(hdr), path, sizeof(path));
    if (rc >= 0 && (hdr[1] > MD_READ_MAX || hdr[0] > INT64_MAX))
        rc = -EINVAL;
    if (rc >= 0)
        rc = md_local_copy(d, path, f, sizeof(f), &st);
    if (rc < 0)
        return rc;
    uint64_t n = hdr[0] >= (uint64_t)st.st_size ? 0 : (uint64_t)st.st_size - hdr[0];
    n = n < hdr[1] ? n : hdr[1];
    char *buf = n ? ebtd_reply_alloc(r, n) : NULL;
    if (n && !buf)
        return -ENOMEM;
    int fd = n ? ebt_sys_open(f, O_RDONLY | O_CLOEXEC, 0) : -2;
    if (fd == -1)
        return -errno;
    size_t got = 0;
    while (got < n) {
        ssize_t k = ebt_sys_pread(fd, buf + got, n - got, (off_t)(hdr[0] + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (fd >= 0)
        ebt_sys_close(fd);
    r->len = got; /* short if the copy shrank meanwhile */
    return 0;
}

void md_fetch_register(void)
{
    ebtd_mesh_handle(MD_P_EXTENTS, h_extents);
    ebtd_mesh_handle(MD_P_READ, h_read);
}

/* ---- fetching side ---- */

static int ask_extents(struct ebtd *d, const char *path, int node, struct md_hold_ext *h)
{
    size_t cap = (MD_EXT_HDR + 2 * (size_t)MD_EXT_MAX) * sizeof(uint64_t), got;
    uint64_t *w = malloc(cap);
    if (!w)
        return -ENOMEM;
    int rc = md_call(d, node, MD_P_EXTENTS, path, strlen(path) + 1, w, cap, &got);
    if (rc == 0 && (got < MD_EXT_HDR * sizeof(uint64_t) || w[1] > MD_EXT_MAX ||
                    got != (MD_EXT_HDR + 2 * w[1]) * sizeof(uint64_t)))
        rc = -EIO;
    h->node = node;
    const uint64_t *iv = w + MD_EXT_HDR;
    for (uint64_t i = 0; rc == 0 && i < w[1]; i++)
        if (iv[2 * i + 1] < iv[2 * i] ||
            ebt_ivs_add(&h->ext, iv[2 * i], iv[2 * i + 1] - iv[2 * i]) < 0)
            rc = -EIO;
    if (rc == 0) {
        h->size = w[0];
        h->approx = (w[2] & MD_EXT_APPROX) != 0;
        h->nolog = (w[2] & MD_EXT_NOLOG) != 0;
    }
    free(w);
    if (rc < 0 && rc != -EIO)
        ebt_warn("md: extents of %s on node %d: %s", path, node, strerror(-rc));
    return rc == -ENOENT ? -ENOENT : (rc < 0 ? -EIO : 0);
}

int md_holder_extents(struct ebtd *d, const char *path, const struct md_recinfo *ri,
                      struct md_hold_ext *h, struct ebt_ivs *base, uint64_t *size)
{
    int n = (int)ri->r.nholders, rc = 0;
    memset(h, 0, (size_t)n * sizeof(*h));
    for (int i = 0; i < n && rc == 0; i++) {
        rc = ask_extents(d, path, ri->h[i].node, &h[i]);
        if (rc == -ENOENT)
            rc = 0; /* its copy is gone (being dropped): it provides nothing */
    }
    if (rc == 0)
        rc = md_merge_ranges(h, n, base, size);
    return rc;
}

/* A pull of [off, end) of path from a remote holder: MD_P_READ requests of MD_READ_MAX bytes,
 * MD_PULL_WINDOW of them in flight (one at a time leaves the link idle between replies). */
#define MD_PULL_WINDOW 4
struct pull {
    const char *path;
    size_t plen;
    uint64_t off, end;
    int fd;
};

static uint64_t pull_chunk_off(const struct pull *p, uint64_t seq)
{
    return p->off + seq * MD_READ_MAX;
}

static int pull_next(uint64_t seq, void *req, size_t *len, void *arg)
{
    const struct pull *p = arg;
    uint64_t off = pull_chunk_off(p, seq);
    if (off >= p->end)
        return 0;
    uint64_t hdr[2] = {off, p->end - off < MD_READ_MAX ? p->end - off : MD_READ_MAX};
    memcpy(req, hdr, sizeof(hdr));
    memcpy((char *)req + sizeof(hdr), p->path, p->plen);
    *len = sizeof(hdr) + p->plen;
    return 1;
}

/* A short reply: the holder's copy is shorter now, the rest stays zero. */
static int pull_done(uint64_t seq, int status, const void *reply, size_t len, void *arg)
{
    const struct pull *p = arg;
    if (status < 0)
        return status;
    return len ? ebt_pwrite_full(p->fd, reply, len, (off_t)pull_chunk_off(p, seq)) : 0;
}

static int pull_range(struct ebtd *d, const char *path, int node, int fd, uint64_t off,
                      uint64_t end)
{
    struct pull p = {path, strlen(path) + 1, off, end, fd};
    int rc = ebtd_mesh_call_stream(d, node, MD_P_READ, MD_PULL_WINDOW, 16 + p.plen, MD_READ_MAX,
                                   pull_next, pull_done, &p);
    return rc < 0 && rc != -EIO && rc != -ENOSPC && rc != -EDQUOT ? -EIO : rc;
}

static int pull_local(struct ebtd *d, const char *path, int fd, const struct ebt_ivs *wins)
{
    char f[PATH_MAX];
    struct stat st;
    int rc = md_local_copy(d, path, f, sizeof(f), &st);
    int in = rc == 0 ? ebt_sys_open(f, O_RDONLY | O_CLOEXEC, 0) : -1;
    if (rc == 0 && in < 0)
        rc = -errno;
    for (size_t i = 0; rc == 0 && i < wins->n; i++)
        rc =
            ebt_copy_range(in, fd, (off_t)wins->iv[i][0], (off_t)(wins->iv[i][1] - wins->iv[i][0]));
    if (in >= 0)
        ebt_sys_close(in);
    return rc;
}

/* Bytes no holder wrote: the PFS file as it is (zero past its end, or if it is missing). */
static int pull_base(const char *path, int fd, const struct ebt_ivs *base)
{
    if (base->n == 0)
        return 0;
    int in = ebt_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (in < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < base->n; i++)
        rc =
            ebt_copy_range(in, fd, (off_t)base->iv[i][0], (off_t)(base->iv[i][1] - base->iv[i][0]));
    ebt_sys_close(in);
    return rc;
}

static int fill(struct ebtd *d, const char *path, int fd, struct md_hold_ext *h, int n,
                const struct ebt_ivs *base)
{
    int rc = pull_base(path, fd, base);
    for (int i = 0; i < n && rc == 0; i++) {
        if (h[i].wins.n == 0)
            continue;
        if (h[i].node == d->md->self) {
            rc = pull_local(d, path, fd, &h[i].wins);
            continue;
        }
        for (size_t k = 0; rc == 0 && k < h[i].wins.n; k++)
            rc = pull_range(d, path, h[i].node, fd, h[i].wins.iv[k][0], h[i].wins.iv[k][1]);
    }
    return rc;
}

/* A new temporary file next to RUN/remote/<path>; fd or -errno, its name in tmp. */
static int remote_temp(struct ebtd *d, const char *path, char *tmp, size_t cap, char *dst,
                       size_t dcap)
{
    char dir[PATH_MAX];
    if (md_layer_file(d, "remote", path, dst, dcap) < 0)
        return -ENAMETOOLONG;
    snprintf(dir, sizeof(dir), "%s", dst);
    *strrchr(dir, '/') = '\0';
    int n = snprintf(tmp, cap, "%s/%stmp.%d.%lu", dir, EBT_RESERVED_PREFIX, (int)getpid(),
                     ++d->md->tmpseq);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    int fd = ebt_open_mkparents(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return fd;
}

/* The merged content and the record's attributes into fd (empty or new). */
static int write_content(struct ebtd *d, const char *path, const struct md_recinfo *ri,
                         struct md_hold_ext *h, const struct ebt_ivs *base, uint64_t size, int fd)
{
    int rc = ebt_sys_ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
    if (rc == 0)
        rc = fill(d, path, fd, h, (int)ri->r.nholders, base);
    if (rc == 0 && ebt_sys_fchmod(fd, ri->r.mode & 07777) < 0)
        rc = -errno;
    if (rc == 0)
        rc = md_futimens(fd, ri->r.mtime_sec, ri->r.mtime_nsec);
    return rc;
}

/* Nobody has RUN/remote/<path> open: rewrite it in place, so its inode stays the one a stat
 * just saw (cp compares them). 1 if done, 0 if the copy is open (or absent), or -errno. */
static int write_in_place(struct ebtd *d, const char *path, const char *dst,
                          const struct md_recinfo *ri, struct md_hold_ext *h,
                          const struct ebt_ivs *base, uint64_t size)
{
    int fd = md_open_unshared(dst);
    if (fd < 0)
        return 0;
    int rc = ebt_sys_ftruncate(fd, 0) < 0 ? -errno : 0;
    if (rc == 0)
        rc = write_content(d, path, ri, h, base, size, fd);
    md_unshared_close(fd);
    if (rc < 0)
        md_remote_remove(d, path); /* half written: the next RESOLVE makes a placeholder */
    return rc < 0 ? rc : 1;
}

/* A new file renamed over RUN/remote/<path>: readers that have the old copy open keep it. */
static int write_merged(struct ebtd *d, const char *path, const struct md_recinfo *ri,
                        struct md_hold_ext *h, const struct ebt_ivs *base, uint64_t size)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    int rc = md_layer_file(d, "remote", path, dst, sizeof(dst));
    if (rc == 0)
        rc = write_in_place(d, path, dst, ri, h, base, size);
    int fd = rc == 0 ? remote_temp(d, path, tmp, sizeof(tmp), dst, sizeof(dst)) : -1;
    if (rc == 0 && fd < 0)
        return fd;
    if (rc == 0) {
        rc = write_content(d, path, ri, h, base, size, fd);
        ebt_sys_close(fd);
        if (rc == 0 && ebt_sys_rename(tmp, dst) < 0) {
            rc = -errno;
            if (rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST) { /* a stale directory */
                ebt_remove_tree(dst);
                rc = ebt_sys_rename(tmp, dst) < 0 ? -errno : 0;
            }
        }
        if (rc < 0)
            ebt_sys_unlink(tmp);
    }
    if (rc >= 0)
        md_stamp_set(d, path, md_recinfo_version(ri), size, ri->r.mtime_sec, ri->r.mtime_nsec);
    return rc < 0 ? rc : 0;
}

/* A file's record and every holder's extents and winning ranges, as a merge needs them. */
struct md_merge_in {
    struct md_recinfo ri;
    struct md_hold_ext *h;
    int n;
    struct ebt_ivs base;
    uint64_t size;
};

/* 0, or -errno (-ENOENT: no such file in the job; a directory: dir_err); free it either way. */
static int merge_in_load(struct ebtd *d, const char *path, struct md_merge_in *m, int dir_err)
{
    memset(m, 0, sizeof(*m));
    ebt_ivs_init(&m->base);
    int rc = md_get_record(d, path, &m->ri);
    if (rc == 0 && m->ri.r.kind != EBTD_MD_FILE)
        rc = m->ri.r.kind == EBTD_MD_DIR ? dir_err : -ENOENT;
    if (rc < 0)
        return rc;
    m->n = (int)m->ri.r.nholders;
    m->h = calloc(m->n ? (size_t)m->n : 1, sizeof(*m->h));
    return m->h ? md_holder_extents(d, path, &m->ri, m->h, &m->base, &m->size) : -ENOMEM;
}

static void merge_in_free(struct md_merge_in *m)
{
    if (m->h)
        md_hold_ext_free(m->h, m->n);
    free(m->h);
    ebt_ivs_free(&m->base);
    md_recinfo_free(&m->ri);
}

/* Did a holder other than this node provide bytes it only over-approximates as its own? */
static int merged_inexact(const struct ebtd *d, const struct md_hold_ext *h, int n)
{
    for (int i = 0; i < n; i++)
        if (h[i].approx && h[i].node != d->md->self && h[i].wins.n > 0)
            return 1;
    return 0;
}

/* The merged copy the fetch just wrote, as the client will check it (struct ebt_proto_fetch). */
static int fetched_id(struct ebtd *d, const char *path, struct ebt_proto_fetch *out)
{
    char f[PATH_MAX];
    struct stat st;
    if (md_layer_file(d, "remote", path, f, sizeof(f)) < 0)
        return -ENAMETOOLONG;
    if (ebt_sys_lstat(f, &st) < 0)
        return -errno;
    out->ino = (uint64_t)st.st_ino;
    out->ctime_sec = st.st_ctim.tv_sec;
    out->ctime_nsec = st.st_ctim.tv_nsec;
    return 0;
}

int md_op_fetch(struct ebtd *d, const char *path, struct ebt_proto_fetch *out)
{
    memset(out, 0, sizeof(*out));
    struct md_merge_in m;
    int rc = merge_in_load(d, path, &m, -EISDIR);
    if (rc == 0)
        rc = write_merged(d, path, &m.ri, m.h, &m.base, m.size);
    if (rc == 0 && merged_inexact(d, m.h, m.n))
        out->flags |= EBT_FETCH_INEXACT;
    if (rc == 0)
        rc = fetched_id(d, path, out);
    merge_in_free(&m);
    return rc;
}

int ebtd_md_winning_ranges(struct ebtd *d, const char *path, int node, struct ebt_ivs *out,
                           uint64_t *size)
{
    if (!d->md)
        return -EOPNOTSUPP;
    struct md_merge_in m;
    int rc = merge_in_load(d, path, &m, -ENOENT);
    ebt_ivs_init(out);
    *size = m.size;
    for (int i = 0; rc == 0 && i < m.n; i++)
        if (m.h[i].node == node) {
            *out = m.h[i].wins;
            ebt_ivs_init(&m.h[i].wins);
        }
    merge_in_free(&m);
    return rc;
}

/* Intersect every holder's winning ranges with want (the bytes a node is to write). */
static int wins_within(struct md_hold_ext *h, int n, const struct ebt_ivs *want)
{
    struct ebt_ivs not_wanted, all;
    ebt_ivs_init(&not_wanted);
    ebt_ivs_init(&all);
    int rc = ebt_ivs_add(&all, 0, UINT64_MAX - 1);
    if (rc == 0)
        rc = md_ivs_subtract(&all, want, &not_wanted);
    for (int i = 0; rc == 0 && i < n; i++) {
        struct ebt_ivs keep;
        ebt_ivs_init(&keep);
        rc = md_ivs_subtract(&h[i].wins, &not_wanted, &keep);
        ebt_ivs_free(&h[i].wins);
        h[i].wins = keep;
    }
    ebt_ivs_free(&not_wanted);
    ebt_ivs_free(&all);
    return rc;
}

int ebtd_md_pull_ranges(struct ebtd *d, const char *path, const struct ebt_ivs *want, int fd)
{
    if (!d->md)
        return -EOPNOTSUPP;
    struct md_merge_in m;
    struct ebt_ivs none;
    ebt_ivs_init(&none);
    int rc = merge_in_load(d, path, &m, -ENOENT);
    if (rc == 0)
        rc = wins_within(m.h, m.n, want);
    if (rc == 0) /* a new file: bytes no holder wrote are zeros (holes of fd) */
        rc = fill(d, path, fd, m.h, m.n, &none);
    merge_in_free(&m);
    return rc;
}
