/* wrap_rw.c - wrappers on the data path of managed fds: writes (extent records), truncation,
 * fsync (publish), copy_file_range/sendfile, writable shared mappings, fstatfs.
 * Reads are not wrapped: a managed fd is a real file with the right bytes, so the kernel serves
 * read, pread, readv, preadv and mmap reads at native speed. */
#define _GNU_SOURCE
#include "client.h"
#include "real.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>

static struct ebt_ofd *tracked(int fd)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    return (o && o->track) ? o : NULL;
}

/* Before writing count bytes through a managed fd: over the cache limit, move the file to the
 * PFS first. Returns the fd's record, or NULL when the fd is (now) a plain PFS fd. */
static struct ebt_ofd *cache_gate(int fd, size_t count)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    if (o && (o->kind == EBT_OFD_LAYER || o->kind == EBT_OFD_STAGE) && ebt_cache_over(count) &&
        ebt_spill_fd(fd) == 0)
        return NULL;
    return o;
}

/* After a write into the cache: count it, or on a full cache spill and tell the caller to
 * retry the same call (now on the PFS). */
static int cache_after(int fd, ssize_t n)
{
    if (n >= 0) {
        ebt_cache_account(n);
        return 0;
    }
    return ebt_cache_out_of_space(errno) && ebt_spill_fd(fd) == 0;
}

/* Writes at the file offset: hold the record's lock so the offset we read is the one used. */
static off_t seq_begin(struct ebt_ofd *o, int fd, int append)
{
    pthread_mutex_lock(&o->lock);
    return append ? -1 : ebt_sys_lseek(fd, 0, SEEK_CUR);
}

static void seq_end(struct ebt_ofd *o, int fd, off_t start, ssize_t n)
{
    int saved = errno;
    if (n > 0 && start < 0) /* O_APPEND: the data ends at the new offset */
        start = ebt_sys_lseek(fd, 0, SEEK_CUR) - n;
    if (n > 0 && (start < 0 || ebt_ivs_add(&o->ext, (uint64_t)start, (uint64_t)n) < 0))
        o->untracked_writes = 1;
    pthread_mutex_unlock(&o->lock);
    errno = saved;
}

static ssize_t record_at(int fd, off_t off, ssize_t n)
{
    int saved = errno;
    if (n > 0)
        ebt_record_write(fd, off, n);
    errno = saved;
    return n;
}

static size_t iov_bytes(const struct iovec *iov, int cnt)
{
    size_t n = 0;
    for (int i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return n;
}

/* A cache file system with less room than a write needs writes part of it: the rest goes on
 * through write() (which spills the file to the PFS at ENOSPC), so the application sees the
 * whole write, as natively on a PFS with room. An error on the rest leaves the short count. */
static ssize_t complete_short(int fd, const char *buf, size_t count, ssize_t n)
{
    while (n > 0 && (size_t)n < count) {
        ssize_t more = write(fd, buf + n, count - (size_t)n);
        if (more <= 0)
            break;
        n += more;
    }
    return n;
}

ssize_t write(int fd, const void *buf, size_t count)
{
    struct ebt_ofd *o = cache_gate(fd, count);
    if (!o)
        return EBT_REAL(write)(fd, buf, count);
    off_t start = o->track ? seq_begin(o, fd, o->flags & O_APPEND) : 0;
    ssize_t n = EBT_REAL(write)(fd, buf, count);
    if (o->track)
        seq_end(o, fd, start, n);
    n = cache_after(fd, n) ? EBT_REAL(write)(fd, buf, count) : n;
    return complete_short(fd, buf, count, n);
}

/* The part of iov from byte `skip` on, written with write() calls. */
static ssize_t writev_rest(int fd, const struct iovec *iov, int iovcnt, size_t skip, ssize_t n)
{
    for (int i = 0; i < iovcnt && n >= 0; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t len = iov[i].iov_len - skip;
        ssize_t w = complete_short(fd, (const char *)iov[i].iov_base + skip, len,
                                   write(fd, (const char *)iov[i].iov_base + skip, len));
        skip = 0;
        if (w <= 0)
            break;
        n += w;
        if ((size_t)w < len)
            break;
    }
    return n;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    size_t count = iov_bytes(iov, iovcnt);
    struct ebt_ofd *o = cache_gate(fd, count);
    if (!o)
        return EBT_REAL(writev)(fd, iov, iovcnt);
    off_t start = o->track ? seq_begin(o, fd, o->flags & O_APPEND) : 0;
    ssize_t n = EBT_REAL(writev)(fd, iov, iovcnt);
    if (o->track)
        seq_end(o, fd, start, n);
    n = cache_after(fd, n) ? EBT_REAL(writev)(fd, iov, iovcnt) : n;
    return n > 0 && (size_t)n < count ? writev_rest(fd, iov, iovcnt, (size_t)n, n) : n;
}

/* A positional write described as data, so one function can gate, retry and record it. */
struct positional {
    enum { PW_BUF, PW_BUF64, PW_IOV, PW_IOV64 } call;
    const void *buf;
    const struct iovec *iov;
    int iovcnt;
    size_t count;
    off_t off;
};

static ssize_t positional_call(int fd, const struct positional *p)
{
    switch (p->call) {
    case PW_BUF:
        return EBT_REAL(pwrite)(fd, p->buf, p->count, p->off);
    case PW_BUF64:
        return EBT_REAL(pwrite64)(fd, p->buf, p->count, p->off);
    case PW_IOV:
        return EBT_REAL(pwritev)(fd, p->iov, p->iovcnt, p->off);
    default:
        return EBT_REAL(pwritev64)(fd, p->iov, p->iovcnt, p->off);
    }
}

static ssize_t positional_write(int fd, const struct positional *p);

/* The rest of a short positional write of a buffer (see complete_short). */
static ssize_t positional_rest(int fd, const struct positional *p, ssize_t n)
{
    while (n > 0 && (size_t)n < p->count && (p->call == PW_BUF || p->call == PW_BUF64)) {
        struct positional rest = *p;
        rest.buf = (const char *)p->buf + n;
        rest.count = p->count - (size_t)n;
        rest.off = p->off + n;
        ssize_t more = positional_write(fd, &rest);
        if (more <= 0)
            break;
        n += more;
    }
    return n;
}

static ssize_t positional_write(int fd, const struct positional *p)
{
    struct ebt_ofd *o = cache_gate(fd, p->count);
    ssize_t n = positional_call(fd, p);
    if (!o)
        return n;
    if (cache_after(fd, n))
        return positional_call(fd, p);
    n = o->track ? record_at(fd, p->off, n) : n;
    return positional_rest(fd, p, n);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
    struct positional p = {PW_BUF, buf, NULL, 0, count, off};
    return ebt_fd_get(fd) ? positional_write(fd, &p) : EBT_REAL(pwrite)(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off)
{
    struct positional p = {PW_BUF64, buf, NULL, 0, count, off};
    return ebt_fd_get(fd) ? positional_write(fd, &p) : EBT_REAL(pwrite64)(fd, buf, count, off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    struct positional p = {PW_IOV, NULL, iov, iovcnt, iov_bytes(iov, iovcnt), off};
    return ebt_fd_get(fd) ? positional_write(fd, &p) : EBT_REAL(pwritev)(fd, iov, iovcnt, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t off)
{
    struct positional p = {PW_IOV64, NULL, iov, iovcnt, iov_bytes(iov, iovcnt), off};
    return ebt_fd_get(fd) ? positional_write(fd, &p) : EBT_REAL(pwritev64)(fd, iov, iovcnt, off);
}

/* pwritev2 with offset -1 or RWF_APPEND writes at the file offset. */
static ssize_t pwritev2_common(int fd, const struct iovec *iov, int cnt, off_t off, int flags,
                               int is64)
{
    struct ebt_ofd *o = tracked(fd);
    if (o && (off == -1 || (flags & RWF_APPEND))) {
        off_t start = seq_begin(o, fd, (o->flags & O_APPEND) || (flags & RWF_APPEND));
        ssize_t n = is64 ? EBT_REAL(pwritev64v2)(fd, iov, cnt, off, flags)
                         : EBT_REAL(pwritev2)(fd, iov, cnt, off, flags);
        seq_end(o, fd, start, n);
        return n;
    }
    ssize_t n = is64 ? EBT_REAL(pwritev64v2)(fd, iov, cnt, off, flags)
                     : EBT_REAL(pwritev2)(fd, iov, cnt, off, flags);
    return o ? record_at(fd, off, n) : n;
}

ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
{
    return pwritev2_common(fd, iov, iovcnt, off, flags, 0);
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int iovcnt, off64_t off, int flags)
{
    return pwritev2_common(fd, iov, iovcnt, off, flags, 1);
}

ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off, size_t len,
                        unsigned flags)
{
    struct ebt_ofd *o = cache_gate(out, len);
    off64_t in_at = in_off ? *in_off : 0, out_at = out_off ? *out_off : 0;
    if (!o)
        return EBT_REAL(copy_file_range)(in, in_off, out, out_off, len, flags);
    off_t start = (o->track && !out_off) ? seq_begin(o, out, o->flags & O_APPEND) : 0;
    ssize_t n = EBT_REAL(copy_file_range)(in, in_off, out, out_off, len, flags);
    if (o->track && !out_off)
        seq_end(o, out, start, n);
    else if (o->track)
        record_at(out, (off_t)out_at, n);
    if (!cache_after(out, n))
        return n;
    if (in_off) /* retry on the PFS from where the failed call started */
        *in_off = in_at;
    if (out_off)
        *out_off = out_at;
    return EBT_REAL(copy_file_range)(in, in_off, out, out_off, len, flags);
}

ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
    struct ebt_ofd *o = cache_gate(out, count);
    if (!o)
        return EBT_REAL(sendfile)(out, in, offset, count);
    off_t at = offset ? *offset : 0;
    off_t start = o->track ? seq_begin(o, out, o->flags & O_APPEND) : 0;
    ssize_t n = EBT_REAL(sendfile)(out, in, offset, count);
    if (o->track)
        seq_end(o, out, start, n);
    if (!cache_after(out, n))
        return n;
    if (offset)
        *offset = at;
    return EBT_REAL(sendfile)(out, in, offset, count);
}

ssize_t sendfile64(int out, int in, off64_t *offset, size_t count)
{
    return sendfile(out, in, (off_t *)offset, count);
}

static int truncated(int fd, off_t len, int rc)
{
    if (rc == 0 && tracked(fd))
        ebt_record_trunc(fd, (uint64_t)len);
    return rc;
}

int ftruncate(int fd, off_t len)
{
    return truncated(fd, len, EBT_REAL(ftruncate)(fd, len));
}

int ftruncate64(int fd, off64_t len)
{
    return truncated(fd, len, EBT_REAL(ftruncate64)(fd, len));
}

/* What fallocate changed counts as written: punched and zeroed ranges, the bytes a grown size
 * adds; a collapse or an insert moves everything after off (the file counts as cut there and
 * written again to its new end). Before, a close-mode publication or the flush of a PFS file's
 * copy left those bytes as they were. */
static void allocated(int fd, int mode, off_t off, off_t len, off_t size_before)
{
    struct stat st;
    if (ebt_sys_fstat(fd, &st) < 0)
        return;
    if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
        ebt_record_trunc(fd, (uint64_t)off);
        ebt_record_write(fd, off, st.st_size - off);
        return;
    }
    if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
        off_t end = off + len < st.st_size ? off + len : st.st_size;
        ebt_record_write(fd, off, end - off);
    }
    if (st.st_size > size_before)
        ebt_record_write(fd, size_before, st.st_size - size_before);
}

/* Size of fd before an allocation if its writes are tracked, else -1. */
static off_t tracked_size(int fd)
{
    struct stat st;
    return tracked(fd) && ebt_sys_fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* rc of an allocation on fd whose size was before (-1: not tracked). */
static int allocate_done(int fd, int mode, off_t off, off_t len, off_t before, int rc)
{
    if (rc == 0 && before >= 0)
        allocated(fd, mode, off, len, before);
    return rc;
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    off_t before = tracked_size(fd);
    return allocate_done(fd, mode, off, len, before, EBT_REAL(fallocate)(fd, mode, off, len));
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
    off_t before = tracked_size(fd);
    return allocate_done(fd, mode, off, len, before, EBT_REAL(fallocate64)(fd, mode, off, len));
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    off_t before = tracked_size(fd);
    return allocate_done(fd, 0, off, len, before, EBT_REAL(posix_fallocate)(fd, off, len));
}

int posix_fallocate64(int fd, off64_t off, off64_t len)
{
    off_t before = tracked_size(fd);
    return allocate_done(fd, 0, off, len, before, EBT_REAL(posix_fallocate64)(fd, off, len));
}

static int synced(int fd, int rc)
{
    if (rc == 0 && ebt_fd_get(fd)) {
        int prc = ebt_sync_managed(fd);
        if (prc < 0) {
            errno = -prc;
            return -1;
        }
    }
    return rc;
}

int fsync(int fd)
{
    return synced(fd, EBT_REAL(fsync)(fd));
}

int fdatasync(int fd)
{
    return synced(fd, EBT_REAL(fdatasync)(fd));
}

/* Stores through a writable shared mapping bypass write(): the file is published whole. A
 * close-mode file mapped shared is shared memory between its programs: one copy (promote). */
static void note_mapping(int fd, int prot, int flags)
{
    struct ebt_ofd *shared = (flags & MAP_SHARED) ? ebt_fd_get(fd) : NULL;
    if (shared)
        ebt_stage_promote(shared, fd);
    struct ebt_ofd *o = (prot & PROT_WRITE) && (flags & MAP_SHARED) ? tracked(fd) : NULL;
    if (o)
        o->untracked_writes = 1;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    note_mapping(fd, prot, flags);
    return EBT_REAL(mmap)(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    note_mapping(fd, prot, flags);
    return EBT_REAL(mmap64)(addr, len, prot, flags, fd, off);
}

/* A managed fd lives in node-local storage, but the space that matters is the PFS's. */
int ebt_statfs_logical(const char *logical, struct statfs *buf);

int fstatfs(int fd, struct statfs *buf)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    if (!o)
        return EBT_REAL(fstatfs)(fd, buf);
    return ebt_statfs_logical(o->logical, buf);
}

int fstatfs64(int fd, struct statfs64 *buf)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    if (!o)
        return EBT_REAL(fstatfs64)(fd, buf);
    return ebt_statfs_logical(o->logical, (struct statfs *)buf);
}
