/* xfer.c - per-file transfer from the node-local cache to the PFS, on raw system calls. */
#define _GNU_SOURCE
#include "xfer.h"
#include "extlog.h"
#include "rundir.h"
#include "sys.h"
#include "xattrcopy.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct xfer {
    int in, out;
    int mode_exact; /* created fresh with the cache file's mode: no fchmod needed */
    struct stat sst;
    char *buf;
    struct ebt_xfer_stats *st;
    const char **step_p;
    struct ebt_xfer_opts opts;
};

static int xfer_fail(struct xfer *x, const char *step, int err)
{
    if (x->step_p)
        *x->step_p = step;
    return -err;
}

/* Bytes of the next request at off, len left in the range: at most EBT_XFER_CHUNK. When the
 * layout says where stripe chunks end: a request that starts inside a chunk ends at that chunk's
 * end (so the next ones start aligned), and one that starts aligned ends at the last boundary
 * it reaches (or at the end of the range), so every request covers whole chunks and a PFS that
 * splits requests by size splits them at stripe boundaries. A stripe larger than the buffer is
 * cut inside itself. */
static size_t request_len(const struct xfer *x, uint64_t off, uint64_t len)
{
    uint64_t want = len < EBT_XFER_CHUNK ? len : EBT_XFER_CHUNK;
    const struct ebt_xfer_layout *l = x->opts.layout;
    uint64_t end = l && l->chunk_end ? l->chunk_end(l, off) : 0;
    if (end <= off || end >= off + want)
        return (size_t)want; /* unknown, or the request stays inside one chunk */
    if (off > 0 && l->chunk_end(l, off - 1) != off)
        return (size_t)(end - off); /* starts inside a chunk: to its end */
    if (want == len)
        return (size_t)want; /* the rest of the range */
    for (uint64_t next; (next = l->chunk_end(l, end)) > end && next <= off + want;)
        end = next;
    return (size_t)(end - off);
}

/* Copy [off, off+len) of in to out in requests of request_len(); a short source ends the copy. */
static int xfer_range(struct xfer *x, uint64_t off, uint64_t len)
{
    while (len > 0) {
        size_t want = request_len(x, off, len);
        ssize_t r = ebt_sys_pread(x->in, x->buf, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return xfer_fail(x, "read cache", errno);
        if (r == 0)
            return 0;
        for (ssize_t done = 0; done < r;) {
            ssize_t w = ebt_sys_pwrite(x->out, x->buf + done, (size_t)(r - done), (off_t)off);
            if (w < 0 && errno == EINTR)
                continue;
            x->st->data_ops++;
            if (w <= 0)
                return xfer_fail(x, "pwrite", w < 0 ? errno : EIO);
            x->st->bytes += (uint64_t)w;
            done += w;
            off += (uint64_t)w;
        }
        len -= (uint64_t)r;
    }
    return 0;
}

/* The PFS file by path, or by name in opts.dst_dirfd never through a symlink. */
static int open_dst(struct xfer *x, const char *dst, int flags, mode_t mode)
{
    if (x->opts.dst_at)
        return ebt_sys_openat(x->opts.dst_dirfd, dst, flags | O_NOFOLLOW, mode);
    return ebt_sys_open(dst, flags, mode);
}

/* An existing PFS file keeps its layout: learn it, to cut the requests at its stripes. */
static void learn_layout(struct xfer *x)
{
    struct ebt_xfer_layout *l = x->opts.layout;
    if (l && l->existing)
        l->existing(l, x->out, &x->st->meta_ops);
}

static int xfer_open(struct xfer *x, const char *dst, int flags)
{
    x->st->meta_ops++;
    x->out = open_dst(x, dst, flags | O_WRONLY | O_CLOEXEC, x->sst.st_mode & 07777);
    if (x->out < 0)
        return xfer_fail(x, "open", errno);
    learn_layout(x);
    return 0;
}

/* The exclusive create, through the layout when there is one (it counts its own calls). */
static int create_dst(struct xfer *x, const char *dst, int flags, mode_t mode)
{
    struct ebt_xfer_layout *l = x->opts.layout;
    if (!l || !l->create) {
        x->st->meta_ops++;
        return open_dst(x, dst, flags, mode);
    }
    int dirfd = x->opts.dst_at ? x->opts.dst_dirfd : AT_FDCWD;
    int fd = l->create(l, dirfd, dst, flags | (x->opts.dst_at ? O_NOFOLLOW : 0), mode,
                       (uint64_t)x->sst.st_size, &x->st->meta_ops);
    if (fd < 0)
        errno = -fd;
    return fd < 0 ? -1 : fd;
}

/* A new PFS file is created exclusively (one create, mode set by it when the umask allows);
 * an existing one is truncated and gets its mode later. */
static int xfer_create(struct xfer *x, const char *dst)
{
    mode_t mode = x->sst.st_mode & 07777;
    x->out = create_dst(x, dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (x->out >= 0) {
        /* setuid/setgid bits set at create are cleared by an unprivileged process's writes */
        x->mode_exact = x->opts.umask_known && (mode & ~x->opts.umask_now) == mode &&
                        !(mode & (S_ISUID | S_ISGID));
        return 0;
    }
    if (errno != EEXIST)
        return xfer_fail(x, "open", errno);
    return xfer_open(x, dst, O_TRUNC);
}

static int xfer_whole(struct xfer *x, const char *dst)
{
    x->st->whole = 1;
    if (x->out < 0) {
        int rc = xfer_create(x, dst);
        if (rc < 0)
            return rc;
    } else {
        x->st->meta_ops++;
        if (ebt_sys_ftruncate(x->out, 0) < 0)
            return xfer_fail(x, "ftruncate", errno);
    }
    return xfer_range(x, 0, (uint64_t)x->sst.st_size);
}

/* Only the changed ranges; falls back to whole if dst is not the file the cache started from. */
static int xfer_partial(struct xfer *x, const char *dst, struct ebt_ext_summary *sum)
{
    x->st->meta_ops++;
    x->out = open_dst(x, dst, O_WRONLY | O_CLOEXEC, 0);
    if (x->out < 0)
        return errno == ENOENT ? xfer_whole(x, dst) : xfer_fail(x, "open", errno);
    struct stat dst_st;
    x->st->meta_ops++;
    if (ebt_sys_fstat(x->out, &dst_st) < 0)
        return xfer_fail(x, "fstat", errno);
    learn_layout(x); /* the file keeps its layout, whether its ranges or all of it is written */
    if (!S_ISREG(dst_st.st_mode) || (uint64_t)dst_st.st_size != sum->base)
        return xfer_whole(x, dst);
    uint64_t size = (uint64_t)x->sst.st_size;
    if (size > sum->base && ebt_ivs_add(&sum->changed, sum->base, size - sum->base) < 0)
        return xfer_whole(x, dst);
    ebt_ivs_clip(&sum->changed, size);
    for (size_t i = 0; i < sum->changed.n; i++) {
        int rc =
            xfer_range(x, sum->changed.iv[i][0], sum->changed.iv[i][1] - sum->changed.iv[i][0]);
        if (rc < 0)
            return rc;
    }
    x->st->meta_ops++;
    if (ebt_sys_ftruncate(x->out, (off_t)size) < 0)
        return xfer_fail(x, "ftruncate", errno);
    return 0;
}

/* A PFS file of another owner, which the job could write but not chmod or stamp (those calls
 * were refused in the job, as natively): its mode and times are the PFS's to keep, and the
 * kernel's refusal of fchmod/futimens here is no failure of the flush. */
static int foreign_refusal(int fd, int err)
{
    struct stat st;
    return (err == EPERM || err == EACCES) && ebt_sys_fstat(fd, &st) == 0 && st.st_uid != geteuid();
}

/* fsync, the job's user xattrs, mode, then times: times last or the writes would overwrite
 * them. (Attributes the job removed from a file the PFS had are not removed there.) */
static int xfer_finish(struct xfer *x)
{
    struct timespec ts[2] = {x->sst.st_atim, x->sst.st_mtim};
    if (!x->opts.no_fsync) {
        x->st->meta_ops++;
        if (ebt_sys_fsync(x->out) < 0)
            return xfer_fail(x, "fsync", errno);
    }
    int made_writable = 0, set = ebt_xattr_copy(x->in, x->out, &made_writable);
    if (set < 0 && !foreign_refusal(x->out, -set))
        return xfer_fail(x, "copy xattrs", -set);
    x->st->meta_ops += set > 0 ? (uint64_t)set : 0;
    if (made_writable)
        x->mode_exact = 0;
    if (!x->mode_exact) {
        x->st->meta_ops++;
        if (ebt_sys_fchmod(x->out, x->sst.st_mode & 07777) < 0 && !foreign_refusal(x->out, errno))
            return xfer_fail(x, "fchmod", errno);
    }
    x->st->meta_ops++;
    if (syscall(SYS_utimensat, x->out, NULL, ts, 0) < 0 && !foreign_refusal(x->out, errno))
        return xfer_fail(x, "futimens", errno);
    int fd = x->out;
    x->out = -1;
    if (ebt_sys_close(fd) < 0 && errno != EINTR)
        return xfer_fail(x, "close", errno);
    return 0;
}

static int xfer_body(struct xfer *x, const char *run_dir, const char *dst)
{
    struct ebt_ext_summary sum;
    char meta[PATH_MAX];
    int rc = 0;
    memset(&sum, 0, sizeof(sum));
    sum.whole = 1;
    if (run_dir &&
        ebt_meta_path(run_dir, (unsigned long long)x->sst.st_ino, meta, sizeof(meta)) == 0)
        rc = ebt_extlog_load(meta, &sum);
    if (rc < 0)
        return xfer_fail(x, "read extent log", -rc);
    rc = sum.whole ? xfer_whole(x, dst) : xfer_partial(x, dst, &sum);
    ebt_extlog_summary_free(&sum);
    return rc < 0 ? rc : xfer_finish(x);
}

/* Page-aligned: a direct-I/O PFS (Lustre O_DIRECT, a FUSE mount with direct_io) splits a request
 * by the pages it spans, and an unaligned buffer makes every piece straddle a stripe boundary. */
static int alloc_buffer(struct xfer *x)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p = NULL;
    int rc = posix_memalign(&p, page > 0 ? (size_t)page : 4096, EBT_XFER_CHUNK);
    if (rc != 0)
        return -rc;
    x->buf = p;
    return 0;
}

int ebt_xfer_file(const char *run_dir, const char *src, const char *dst, struct ebt_xfer_stats *st,
                  const char **step_p)
{
    return ebt_xfer_file_opts(run_dir, src, dst, st, step_p, NULL);
}

int ebt_xfer_file_opts(const char *run_dir, const char *src, const char *dst,
                       struct ebt_xfer_stats *st, const char **step_p,
                       const struct ebt_xfer_opts *opts)
{
    struct xfer x = {.in = -1, .out = -1, .st = st, .step_p = step_p};
    if (opts)
        x.opts = *opts;
    memset(st, 0, sizeof(*st));
    x.in = ebt_sys_open(src, O_RDONLY | O_CLOEXEC, 0);
    if (x.in < 0)
        return xfer_fail(&x, "open cache file", errno);
    int rc = ebt_sys_fstat(x.in, &x.sst) < 0 ? xfer_fail(&x, "stat cache file", errno) : 0;
    if (rc == 0 && (rc = alloc_buffer(&x)) < 0)
        rc = xfer_fail(&x, "allocate buffer", -rc);
    if (rc == 0)
        rc = xfer_body(&x, run_dir, dst);
    if (x.out >= 0)
        ebt_sys_close(x.out);
    ebt_sys_close(x.in);
    free(x.buf);
    return rc;
}
