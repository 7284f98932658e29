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
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>

static struct ebt_ofd *tracked(int fd)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    return (o && o->track) ? o : NULL;
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

ssize_t write(int fd, const void *buf, size_t count)
{
    struct ebt_ofd *o = tracked(fd);
    if (!o)
        return EBT_REAL(write)(fd, buf, count);
    off_t start = seq_begin(o, fd, o->flags & O_APPEND);
    ssize_t n = EBT_REAL(write)(fd, buf, count);
    seq_end(o, fd, start, n);
    return n;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    struct ebt_ofd *o = tracked(fd);
    if (!o)
        return EBT_REAL(writev)(fd, iov, iovcnt);
    off_t start = seq_begin(o, fd, o->flags & O_APPEND);
    ssize_t n = EBT_REAL(writev)(fd, iov, iovcnt);
    seq_end(o, fd, start, n);
    return n;
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
    ssize_t n = EBT_REAL(pwrite)(fd, buf, count, off);
    return tracked(fd) ? record_at(fd, off, n) : n;
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off)
{
    ssize_t n = EBT_REAL(pwrite64)(fd, buf, count, off);
    return tracked(fd) ? record_at(fd, off, n) : n;
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    ssize_t n = EBT_REAL(pwritev)(fd, iov, iovcnt, off);
    return tracked(fd) ? record_at(fd, off, n) : n;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t off)
{
    ssize_t n = EBT_REAL(pwritev64)(fd, iov, iovcnt, off);
    return tracked(fd) ? record_at(fd, off, n) : n;
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
    struct ebt_ofd *o = tracked(out);
    if (!o)
        return EBT_REAL(copy_file_range)(in, in_off, out, out_off, len, flags);
    if (out_off) {
        off_t at = (off_t)*out_off;
        return record_at(out, at, EBT_REAL(copy_file_range)(in, in_off, out, out_off, len, flags));
    }
    off_t start = seq_begin(o, out, o->flags & O_APPEND);
    ssize_t n = EBT_REAL(copy_file_range)(in, in_off, out, out_off, len, flags);
    seq_end(o, out, start, n);
    return n;
}

ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
    struct ebt_ofd *o = tracked(out);
    if (!o)
        return EBT_REAL(sendfile)(out, in, offset, count);
    off_t start = seq_begin(o, out, o->flags & O_APPEND);
    ssize_t n = EBT_REAL(sendfile)(out, in, offset, count);
    seq_end(o, out, start, n);
    return n;
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

/* Stores through a writable shared mapping bypass write(): the file is published whole. */
static void note_mapping(int fd, int prot, int flags)
{
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
