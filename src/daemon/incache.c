/* incache.c - copies of input files in node-local storage (the data side of --input;
 * docs/semantics.md "Inputs", docs/design.md): EBT_OP_INPUT makes RUN/icache/<key> for a client,
 * once per node and job. On a multi-node job the file's home (the owner of its path) is the only
 * node that reads it from the PFS; the others copy it from the home (peer op IN_P_READ). A copy is
 * made under a temporary name and renamed into place, carries the PFS file's attributes (xattr,
 * for fstat), and its key names the version it holds: a file that changed is another key. */
#define _GNU_SOURCE
#include "incache.h"
#include "log.h"
#include "lower.h"
#include "mesh.h"
#include "pfsdir.h"
#include "path.h"
#include "proto.h"
#include "rundir.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define IN_CHUNK (4u << 20) /* bytes per IN_P_READ; also the PFS read size */

enum { IN_P_READ = EBTD_P_INPUT_FIRST }; /* home: in_wire_read, path NUL -> the bytes */
struct in_wire_read {
    uint64_t off, len, size;
    uint64_t ino;
    int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

static uint64_t icache_used; /* bytes of the copies made by this daemon */
static unsigned long icache_seq;

/* The PFS file st is the version want names (the same inode, size and times). */
static int same_version(const struct stat *st, const struct stat *want)
{
    return S_ISREG(st->st_mode) && st->st_ino == want->st_ino && st->st_size == want->st_size &&
           st->st_mtim.tv_sec == want->st_mtim.tv_sec &&
           st->st_mtim.tv_nsec == want->st_mtim.tv_nsec &&
           st->st_ctim.tv_sec == want->st_ctim.tv_sec &&
           st->st_ctim.tv_nsec == want->st_ctim.tv_nsec;
}

/* Open the PFS file of logical for reading: fd or -errno; *dev: the device of its directory. */
static int open_pfs(const char *logical, dev_t *dev)
{
    char phys[PATH_MAX];
    int rc = ebt_lower_path(logical, phys, sizeof(phys));
    if (rc < 0)
        return rc;
    struct ebtd_pfs_dir *e = ebtd_pfs_dir_of(phys);
    if (!e)
        return -errno;
    if (dev)
        *dev = e->dev;
    int fd = ebt_sys_openat(e->fd, strrchr(phys, '/') + 1, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
    return fd < 0 ? -errno : fd;
}

/* Open the PFS file of logical for reading, checked to be the version want: fd or -errno. */
static int open_pfs_version(const char *logical, const struct stat *want, struct stat *st)
{
    int fd = open_pfs(logical, NULL);
    if (fd < 0)
        return fd;
    if (ebt_sys_fstat(fd, st) < 0 || !same_version(st, want)) {
        ebt_sys_close(fd);
        return -ESTALE; /* changed since the client's stat: it reads the PFS itself */
    }
    return fd;
}

/* Copy the PFS file into out; *st: its attributes (what the copy shows to fstat). */
static int copy_from_pfs(struct ebtd *d, const char *logical, const struct stat *want, int out,
                         struct stat *stp)
{
    struct stat after;
    int fd = open_pfs(logical, NULL);
    if (fd < 0)
        return fd;
    char *buf = malloc(IN_CHUNK);
    int rc = buf ? 0 : -ENOMEM;
    /* want's size; a file that changed since the client's stat fails the check after the copy
     * (its ctime moved), so no check is needed before it */
    for (off_t off = 0; rc == 0 && off < want->st_size;) {
        ssize_t k = ebt_sys_pread(fd, buf, IN_CHUNK, off);
        if (k < 0 && errno == EINTR)
            continue;
        rc = k < 0 ? -errno : k == 0 ? -ESTALE : ebt_write_full(out, buf, (size_t)k);
        off += k > 0 ? k : 0;
    }
    if (rc == 0 && (ebt_sys_fstat(fd, &after) < 0 || !same_version(&after, want)))
        rc = -ESTALE; /* changed while it was read */
    free(buf);
    ebt_sys_close(fd);
    if (rc == 0) {
        d->c.input_pfs_files++;
        d->c.input_pfs_bytes += (uint64_t)after.st_size;
        *stp = after;
    }
    return rc;
}

static void wire_of(struct in_wire_read *w, const struct stat *st, uint64_t off, uint64_t len)
{
    memset(w, 0, sizeof(*w));
    w->off = off;
    w->len = len;
    w->size = (uint64_t)st->st_size;
    w->ino = (uint64_t)st->st_ino;
    w->mtime_sec = st->st_mtim.tv_sec;
    w->mtime_nsec = st->st_mtim.tv_nsec;
    w->ctime_sec = st->st_ctim.tv_sec;
    w->ctime_nsec = st->st_ctim.tv_nsec;
}

static int copy_from_home(struct ebtd *d, int home, const char *logical, const struct stat *want,
                          int out)
{
    size_t plen = strlen(logical) + 1;
    char *req = malloc(sizeof(struct in_wire_read) + plen), *buf = malloc(IN_CHUNK);
    int rc = req && buf ? 0 : -ENOMEM;
    for (uint64_t off = 0; rc == 0 && off < (uint64_t)want->st_size;) {
        struct in_wire_read w;
        size_t got = 0;
        wire_of(&w, want, off, IN_CHUNK);
        memcpy(req, &w, sizeof(w));
        memcpy(req + sizeof(w), logical, plen);
        rc = ebtd_mesh_call(d, home, IN_P_READ, req, sizeof(w) + plen, buf, IN_CHUNK, &got);
        if (rc == 0 && (got == 0 || got > IN_CHUNK))
            rc = -EIO; /* the home's copy is shorter than the version it was asked for */
        if (rc == 0)
            rc = ebt_write_full(out, buf, got);
        off += got;
    }
    free(req);
    free(buf);
    return rc;
}

/* Make RUN/icache/<key> of logical's version want (once): 0, or -errno (-ENOSPC: no room left
 * for copies, -ESTALE: the PFS file is not that version). home: the node that reads the PFS. */
static int make_copy(struct ebtd *d, const char *logical, const struct stat *want, int home,
                     const char *dst)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 64];
    uint64_t size = (uint64_t)want->st_size;
    if (icache_used + size > d->cfg->input_cache_bytes)
        return -ENOSPC;
    int rc = ebt_rundir_file(d->run_dir, EBT_ICACHE_DIR, dir, sizeof(dir));
    if (rc == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
        rc = -errno;
    if (rc < 0)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s/.tmp.%lu", dir, ++icache_seq);
    int fd = ebt_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0400);
    if (fd < 0)
        return -errno;
    struct stat shown = *want; /* the client's stat, or the PFS's own where this node read it */
    if (home == ebtd_mesh_self(d) || !ebtd_mesh_alive(d, home))
        rc = copy_from_pfs(d, logical, want, fd, &shown);
    else if ((rc = copy_from_home(d, home, logical, want, fd)) == 0)
        d->c.input_peer_files++;
    else if (rc != -ESTALE) {
        ebt_warn("input %s: node %d cannot serve it (%s): read from the PFS", logical, home,
                 strerror(-rc));
        rc = ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0
                 ? -errno
                 : copy_from_pfs(d, logical, want, fd, &shown);
    }
    if (rc == 0 && fsetxattr(fd, EBT_ICACHE_XATTR, &shown, sizeof(shown), 0) < 0)
        ebt_debug("input %s: no attributes on its copy: %s", logical, strerror(errno));
    if (ebt_sys_close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, dst) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    else
        icache_used += size;
    return rc;
}

/* The copy of logical's version want, made if needed: 0 and its attributes, or -errno. */
static int ensure_copy(struct ebtd *d, const char *logical, const struct stat *want, int home,
                       struct stat *copy)
{
    char dst[PATH_MAX];
    int rc = ebt_icache_path(d->run_dir, want, dst, sizeof(dst));
    if (rc < 0)
        return rc;
    if (ebt_sys_lstat(dst, copy) == 0 && S_ISREG(copy->st_mode))
        return 0;
    rc = make_copy(d, logical, want, home, dst);
    if (rc == 0 && ebt_sys_lstat(dst, copy) < 0)
        rc = -errno;
    if (rc < 0 && rc != -ENOSPC && rc != -ESTALE)
        ebt_warn("input %s: no node-local copy: %s", logical, strerror(-rc));
    return rc;
}

int ebtd_input_op(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                  uint32_t *replylen)
{
    struct stat want, copy;
    char path[PATH_MAX];
    *replylen = 0;
    if (len < sizeof(want) + 2 || cap < sizeof(struct ebt_proto_fetch))
        return -EINVAL;
    memcpy(&want, payload, sizeof(want));
    int rc = ebtd_input_path(d, payload + sizeof(want), len - sizeof(want), path, sizeof(path));
    if (rc == 0 && (!S_ISREG(want.st_mode) || want.st_size < 0))
        rc = -EINVAL;
    if (rc == 0 && (!d->cfg->input_cache_bytes || (uint64_t)want.st_size > d->cfg->input_file_max))
        rc = -EFBIG;
    if (rc == 0)
        rc = ensure_copy(d, path, &want, ebt_path_owner(path, ebtd_mesh_nodes(d)), &copy);
    if (rc < 0) {
        ebt_debug("input %s: not copied: %s", path, strerror(-rc));
        return rc;
    }
    struct ebt_proto_fetch *f = (struct ebt_proto_fetch *)reply;
    memset(f, 0, sizeof(*f));
    f->ino = copy.st_ino;
    f->ctime_sec = copy.st_ctim.tv_sec;
    f->ctime_nsec = copy.st_ctim.tv_nsec;
    *replylen = sizeof(*f);
    d->c.input_opens++;
    return 0;
}

/* The home's side: bytes [off, off + len) of the version the caller names, from this node's copy
 * (made from the PFS if needed), or straight from the PFS when it cannot keep one. */
static int h_read(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    struct in_wire_read w;
    struct stat want, copy;
    char path[PATH_MAX], src[PATH_MAX];
    (void)from;
    if (len < sizeof(w) + 2)
        return -EINVAL;
    memcpy(&w, req, sizeof(w));
    int rc = ebtd_input_path(d, (const char *)req + sizeof(w), len - sizeof(w), path, sizeof(path));
    if (rc < 0)
        return rc;
    if (w.len > IN_CHUNK || w.off > w.size || w.size > INT64_MAX)
        return -EINVAL;
    struct stat dst;
    memset(&want, 0, sizeof(want));
    want.st_mode = S_IFREG;
    want.st_ino = (ino_t)w.ino;
    want.st_size = (off_t)w.size;
    want.st_mtim = (struct timespec){w.mtime_sec, w.mtime_nsec};
    want.st_ctim = (struct timespec){w.ctime_sec, w.ctime_nsec};
    char phys[PATH_MAX];
    struct ebtd_pfs_dir *e = NULL; /* this node's device of the PFS: part of the copy's key */
    rc = ebt_lower_path(path, phys, sizeof(phys));
    if (rc == 0 && (e = ebtd_pfs_dir_of(phys)) == NULL)
        rc = -errno;
    if (e)
        want.st_dev = e->dev;
    int fd = -1;
    if (rc == 0 && ensure_copy(d, path, &want, ebtd_mesh_self(d), &copy) == 0 &&
        ebt_icache_path(d->run_dir, &want, src, sizeof(src)) == 0)
        fd = ebt_sys_open(src, O_RDONLY | O_CLOEXEC, 0);
    if (rc == 0 && fd < 0)
        fd = open_pfs_version(path, &want, &dst); /* no room here: the PFS, still read once */
    if (rc < 0 || fd < 0)
        return rc < 0 ? rc : fd;
    uint64_t n = w.size - w.off < w.len ? w.size - w.off : w.len;
    char *buf = n ? ebtd_reply_alloc(r, n) : NULL;
    size_t got = 0;
    while (buf && got < n) {
        ssize_t k = ebt_sys_pread(fd, buf + got, n - got, (off_t)(w.off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    ebt_sys_close(fd);
    if (n && !buf)
        return -ENOMEM;
    r->len = got;
    return 0;
}

void ebtd_incache_register(void)
{
    ebtd_mesh_handle(IN_P_READ, h_read);
}
