/* spill.c - a full cache never fails the application: over EBT_CACHE_BYTES, or on ENOSPC/EDQUOT
 * from node-local storage, a file moves to the PFS and its fds write through from then on. */
#define _GNU_SOURCE
#include "client.h"
#include "lower.h"
#include "log.h"
#include "rundir.h"
#include "sys.h"
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

int ebt_cache_over(uint64_t more)
{
    uint64_t limit = ebt.cfg.cache_bytes;
    if (!limit || !ebt.shared)
        return 0;
    return __atomic_load_n(&ebt.shared->cache_bytes, __ATOMIC_RELAXED) + more > limit;
}

/* Bytes written into the cache (an upper bound of its use: overwrites count again). */
void ebt_cache_account(int64_t n)
{
    if (n > 0 && ebt.shared)
        __atomic_add_fetch(&ebt.shared->cache_bytes, (uint64_t)n, __ATOMIC_RELAXED);
}

/* The user must learn that the job bypassed the cache: once per job on stderr, and in the log. */
static void announce_write_through(const char *what, const char *logical)
{
    ebt_warn_once(what, logical);
    ebt_tell_user_once("warned-cache-full", "ebt: node-local cache full: files are written "
                                            "through to the PFS from now on (see ebt.log)\n");
}

int ebt_cache_out_of_space(int err)
{
    return err == ENOSPC || err == EDQUOT;
}

/* Point every fd of this process that shares o at the PFS file, keeping numbers and offset. */
static int repoint_fds(struct ebt_ofd *o, int fd, const char *pfs_path)
{
    off_t off = ebt_sys_lseek(fd, 0, SEEK_CUR);
    int pfd = ebt_sys_open(pfs_path, (o->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC, 0);
    if (pfd < 0)
        return -errno;
    if (off > 0 && ebt_sys_lseek(pfd, off, SEEK_SET) < 0) {
        ebt_sys_close(pfd);
        return -errno;
    }
    int rc = ebt_fd_repoint(o, pfd);
    ebt_sys_close(pfd);
    for (int i = 0; rc == 0 && i < ebt_fd_table_size(); i++) {
        if (ebt_fd_get(i) == o) { /* now a plain PFS fd */
            ebt_fd_take(i);
            ebt_ofd_release(o);
        }
    }
    return rc;
}

/* Remove the cache copies the PFS file now supersedes. */
static void drop_cache_copy(struct ebt_ofd *o)
{
    struct stat st;
    char meta[PATH_MAX];
    if (o->kind == EBT_OFD_STAGE) {
        o->stage->unlinked = 1; /* never published: the PFS has it */
        if (o->stage->phys[0])
            ebt_sys_unlink(o->stage->phys);
    }
    char layer[PATH_MAX];
    if (ebt_layer_path(ebt_layer_for_write(o->logical), o->logical, layer, sizeof(layer)) == 0 &&
        ebt_sys_lstat(layer, &st) == 0 && S_ISREG(st.st_mode)) {
        ebt_sys_unlink(layer);
        if (ebt_meta_path(ebt.cfg.run_dir, st.st_ino, meta, sizeof(meta)) == 0)
            ebt_sys_unlink(meta);
    }
}

int ebt_spill_fd(int fd)
{
    return ebt_spill_ofd(ebt_fd_get(fd), fd);
}

/* Move the file behind o (readable through fd) to the PFS; fds of this process still in the
 * table are re-pointed at the PFS file. */
int ebt_spill_ofd(struct ebt_ofd *o, int fd)
{
    if (!o || (o->kind != EBT_OFD_LAYER && o->kind != EBT_OFD_STAGE))
        return -ENOSPC;
    char src[64];
    const char *step = "";
    struct ebt_xfer_stats st = {0};
    snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
    announce_write_through("node-local cache full: files are written through to the PFS",
                           o->logical);
    char pfs[PATH_MAX]; /* beneath the FUSE view, if it covers the path */
    int rc = ebt_lower_path(o->logical, pfs, sizeof(pfs));
    if (rc == 0)
        rc = ebt_mkdirs(pfs, 0755, 1);
    ebt_ofd_ref(o); /* keep it alive while its fds are re-pointed */
    if (rc == 0)
        rc = ebt_xfer_file(ebt.cfg.run_dir, src, pfs, &st, &step);
    if (rc == 0)
        rc = repoint_fds(o, fd, pfs);
    if (rc == 0)
        drop_cache_copy(o);
    if (rc < 0)
        ebt_error("spill of %s to the PFS failed at %s: %s", o->logical, step, strerror(-rc));
    ebt_ofd_release(o);
    return rc;
}

/* Open for writing straight on the PFS (the cache is full): the job's view is the PFS file. */
int ebt_open_write_through(const char *logical, int flags, mode_t mode)
{
    announce_write_through("node-local cache full: new files are written through to the PFS",
                           logical);
    char pfs[PATH_MAX];
    int rc = ebt_lower_path(logical, pfs, sizeof(pfs));
    if (rc == 0)
        rc = ebt_mkdirs(pfs, 0755, 1);
    if (rc < 0)
        return rc;
    int fd = ebt_sys_open(pfs, flags, mode);
    return fd < 0 ? -errno : fd;
}
