/* remote.c - multi-node client side: the channel to the node daemon, the job's namespace ops
 * (MD_RESOLVE, MD_FETCH, MD_NOTE, MD_UNLINK, MD_LISTDIR) and the remote layer RUN/remote. */
#define _GNU_SOURCE
#include "client.h"
#include "log.h"
#include "path.h"
#include "proto.h"
#include "rundir.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

/* One connection per process to the local daemon, one call at a time. The mutex is a leaf lock:
 * nothing else is locked while it is held, so it can be taken under ebt.lock or an ofd lock. */
static struct {
    pthread_mutex_t lock;
    int fd;
    pid_t pid; /* the process that connected: after fork the child reconnects */
    dev_t dev; /* the socket's identity: the application may close or reuse the number */
    ino_t ino;
} chan = {PTHREAD_MUTEX_INITIALIZER, -1, 0, 0, 0};

int ebt_md_off; /* the daemon does not serve multi-node ops: behave as one node */

#define EBT_MD_TIMEOUT_MS 15000          /* longer than the daemons' peer timeout (10 s) */
#define EBT_MD_FETCH_BYTES_PER_MS 100000 /* a fetch may take longer: 100 MB/s floor */
#define EBT_FETCH_TRIES 20 /* fetches of one open whose copy was rewritten before it was opened */

static int chan_is_ours(void)
{
    struct stat st;
    return chan.fd >= 0 && ebt_sys_fstat(chan.fd, &st) == 0 && st.st_dev == chan.dev &&
           st.st_ino == chan.ino;
}

static void chan_drop(void)
{
    if (chan_is_ours())
        ebt_sys_close(chan.fd);
    chan.fd = -1;
}

static int chan_connect(void)
{
    if (chan.pid == getpid() && chan_is_ours())
        return 0;
    chan.fd = -1; /* never connected, inherited, or the number now names another file */
    int fd = ebt_proto_connect(ebt.cfg.run_dir);
    struct stat st;
    if (fd < 0)
        return fd;
    if (ebt_sys_fstat(fd, &st) < 0) {
        ebt_sys_close(fd);
        return -EIO;
    }
    chan.fd = fd;
    chan.pid = getpid();
    chan.dev = st.st_dev;
    chan.ino = st.st_ino;
    return 0;
}

/* Failures of the channel itself (not an answer of the daemon). */
static int transport_error(int rc)
{
    return rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -EPROTO || rc == -EPROTONOSUPPORT ||
           rc == -EPIPE || rc == -ENOTCONN || rc == -EBADF || rc == -EMSGSIZE;
}

static void tell_unreachable(const char *what, int rc)
{
    char msg[PATH_MAX + 256];
    snprintf(msg, sizeof(msg),
             "ebt: node daemon of %s not reachable (%s: %s): operations that need the job's "
             "namespace fail with EIO\n",
             ebt.cfg.run_dir, what, strerror(-rc));
    ebt_tell_user_once("warned-md-unreachable", msg);
    ebt_error("daemon channel: %s: %s", what, strerror(-rc));
}

static void tell_not_multinode(void)
{
    char msg[PATH_MAX + 256];
    snprintf(msg, sizeof(msg),
             "ebt: EBT_NODES=%d but the daemon of %s runs one node: this node behaves as a "
             "one-node job (check the job's configuration)\n",
             ebt.cfg.nodes, ebt.cfg.run_dir);
    ebt_tell_user_once("warned-md-one-node", msg);
    ebt_warn("daemon answers EOPNOTSUPP to multi-node ops: one-node behaviour");
}

int ebt_daemon_call(uint16_t op, const void *req, uint32_t reqlen, void *reply, uint32_t cap,
                    uint32_t *rlen, int timeout_ms, int *failed)
{
    pthread_mutex_lock(&chan.lock);
    int rc = chan_connect();
    if (rc < 0) {
        pthread_mutex_unlock(&chan.lock);
        *failed = rc;
        return -EIO;
    }
    rc = ebt_proto_call_timeout(chan.fd, op, req, reqlen, reply, cap, rlen, timeout_ms);
    if (transport_error(rc))
        chan_drop(); /* the stream may hold half a message: start again next time */
    pthread_mutex_unlock(&chan.lock);
    if (transport_error(rc)) {
        *failed = rc;
        return -EIO;
    }
    return rc;
}

/* One request on the channel. Returns the daemon's status (0 or -errno), -EIO when the daemon
 * cannot be reached or the channel fails, -EOPNOTSUPP when it is a one-node daemon (after which
 * ebt_md_off is set). */
static int md_call(uint16_t op, const void *req, uint32_t reqlen, void *reply, uint32_t cap,
                   uint32_t *rlen, int timeout_ms)
{
    int failed_rc = 0;
    int rc = ebt_daemon_call(op, req, reqlen, reply, cap, rlen, timeout_ms, &failed_rc);
    if (failed_rc) {
        tell_unreachable(ebt_proto_op_name(op), failed_rc);
        return -EIO;
    }
    if (rc == -EOPNOTSUPP) {
        ebt_md_off = 1;
        tell_not_multinode();
    }
    return rc;
}

/* Request payload: path NUL [u32]. */
static int path_req(char *buf, size_t cap, const char *logical, int with_u32, uint32_t v)
{
    size_t n = strlen(logical) + 1;
    if (n + sizeof(v) > cap)
        return -ENAMETOOLONG;
    memcpy(buf, logical, n);
    if (with_u32) {
        memcpy(buf + n, &v, sizeof(v));
        n += sizeof(v);
    }
    return (int)n;
}

static int md_path_op(uint16_t op, const char *logical, int with_u32, uint32_t v, void *reply,
                      uint32_t cap, uint32_t *rlen, int timeout_ms)
{
    char req[PATH_MAX + 8];
    int n = path_req(req, sizeof(req), logical, with_u32, v);
    if (n < 0)
        return n;
    int rc = md_call(op, req, (uint32_t)n, reply, cap, rlen, timeout_ms);
    if (rc < 0 && rc != -EOPNOTSUPP && rc != -EIO)
        ebt_debug("%s %s: %s", ebt_proto_op_name(op), logical, strerror(-rc));
    return rc;
}

int ebt_md_resolve(const char *logical, struct ebt_proto_resolve *r)
{
    uint32_t len = 0;
    memset(r, 0, sizeof(*r));
    int rc = md_path_op(EBT_OP_MD_RESOLVE, logical, 0, 0, r, sizeof(*r), &len, EBT_MD_TIMEOUT_MS);
    if (rc == -EOPNOTSUPP) { /* a one-node daemon: the PFS decides, as on one node */
        r->state = EBT_RES_NONE;
        return 0;
    }
    if (rc == 0 && len != sizeof(*r)) {
        ebt_error("MD_RESOLVE %s: reply of %u bytes", logical, len);
        return -EIO;
    }
    return rc;
}

int ebt_md_fetch(const char *logical, uint64_t size_hint, struct ebt_proto_fetch *out)
{
    uint64_t extra = size_hint / EBT_MD_FETCH_BYTES_PER_MS;
    int timeout = EBT_MD_TIMEOUT_MS + (int)(extra > 3600000 ? 3600000 : extra);
    uint32_t len = 0;
    memset(out, 0, sizeof(*out));
    int rc = md_path_op(EBT_OP_MD_FETCH, logical, 0, 0, out, sizeof(*out), &len, timeout);
    if (rc == 0 && len != sizeof(*out)) {
        ebt_error("MD_FETCH %s: reply of %u bytes", logical, len);
        return -EIO;
    }
    return rc == -EOPNOTSUPP ? -EIO : rc;
}

int ebt_md_note(const char *logical, int kind)
{
    uint32_t flags = 0, len = 0;
    int rc = md_path_op(EBT_OP_MD_NOTE, logical, 1, (uint32_t)kind, &flags, sizeof(flags), &len,
                        EBT_MD_TIMEOUT_MS);
    if (rc == 0 && (flags & EBT_NOTE_SHARED))
        ebt_debug("note %s: shared with other nodes", logical);
    return rc == -EOPNOTSUPP ? 0 : rc;
}

int ebt_md_unlink(const char *logical, int is_dir)
{
    int rc = md_path_op(EBT_OP_MD_UNLINK, logical, 1, (uint32_t)is_dir, NULL, 0, NULL,
                        EBT_MD_TIMEOUT_MS);
    return rc == -EOPNOTSUPP ? 0 : rc;
}

int ebt_md_listdir(const char *logical)
{
    uint32_t n = 0, len = 0;
    int rc = md_path_op(EBT_OP_MD_LISTDIR, logical, 0, 0, &n, sizeof(n), &len, EBT_MD_TIMEOUT_MS);
    return rc == -EOPNOTSUPP ? 0 : rc;
}

/* Notes are sent in write and close modes; task mode is noted by the flush. */
int ebt_md_note_if_visible(const char *logical, int kind)
{
    if (!ebt_multinode() || ebt_vis_for(logical) == EBT_VIS_TASK)
        return 0;
    return ebt_md_note(logical, kind);
}

int ebt_md_unlink_if_visible(const char *logical, int is_dir)
{
    if (!ebt_multinode() || ebt_vis_for(logical) == EBT_VIS_TASK)
        return 0;
    return ebt_md_unlink(logical, is_dir);
}

int ebt_md_claim_if_visible(const char *logical)
{
    if (!ebt_multinode() || ebt_vis_for(logical) == EBT_VIS_TASK)
        return 0;
    int rc = ebt_md_note(logical, EBT_NOTE_CLAIM);
    return rc < 0 ? rc : 1;
}

void ebt_md_unclaim(const char *logical)
{
    int rc = ebt_md_note(logical, EBT_NOTE_UNCLAIM);
    if (rc < 0)
        ebt_warn("release of the name %s at its owner: %s", logical, strerror(-rc));
}

/* ---- the remote layer ---- */

/* After a miss in this node's layers: ask the path's owner. 0 with f filled (kind REMOTE),
 * 1 if the job's namespace does not know the path (the PFS decides), -ENOENT, -EIO. */
int ebt_remote_lookup(const char *logical, struct ebt_found *f)
{
    struct ebt_proto_resolve r;
    int rc = ebt_md_resolve(logical, &r);
    if (rc < 0)
        return rc;
    if (r.state == EBT_RES_NONE)
        return 1;
    if (r.state != EBT_RES_FILE && r.state != EBT_RES_DIR)
        return -ENOENT; /* GONE: removed by the job */
    if (ebt_layer_path(ebt.remote_root, logical, f->phys, sizeof(f->phys)) < 0)
        return -ENAMETOOLONG;
    if (ebt_sys_lstat(f->phys, &f->st) < 0) {
        ebt_warn("MD_RESOLVE %s: %s but %s is missing", logical,
                 r.state == EBT_RES_FILE ? "file" : "dir", f->phys);
        return -ENOENT;
    }
    f->where = EBT_W_REMOTE;
    return 0;
}

const char *ebt_fd_path(int fd, char *buf, size_t cap)
{
    snprintf(buf, cap, "/proc/self/fd/%d", fd);
    return buf;
}

/* Tests widen the window between a fetch and the open of its copy (EBT_TEST_FETCH_OPEN_DELAY_US),
 * where another process's RESOLVE may rewrite the copy. */
static void test_fetch_open_delay(void)
{
    static long us = -1;
    if (us < 0) {
        const char *v = getenv("EBT_TEST_FETCH_OPEN_DELAY_US");
        us = v ? atol(v) : 0;
    }
    if (us > 0)
        usleep((useconds_t)us);
}

static int is_fetched_copy(const struct stat *st, const struct ebt_proto_fetch *id)
{
    return (uint64_t)st->st_ino == id->ino && st->st_ctim.tv_sec == id->ctime_sec &&
           st->st_ctim.tv_nsec == id->ctime_nsec;
}

/* Fetch, then open the copy that fetch wrote: RUN/remote/<path> is rewritten (in place by a
 * RESOLVE's new placeholder, truncated to holes; or renamed over by another fetch) whenever a
 * note changed the file's record, and a copy opened after such a rewrite would give zeros or
 * other bytes. Once open, the daemon rewrites it only by renaming a new copy over it (it writes
 * in place only a copy nobody has open). fd or -errno. */
int ebt_remote_fetch_open(const char *logical, const struct ebt_found *f, uint32_t *flags)
{
    for (int tries = 1;; tries++) {
        struct ebt_proto_fetch id;
        struct stat st;
        int rc = ebt_md_fetch(logical, (uint64_t)f->st.st_size, &id);
        if (rc < 0)
            return rc;
        test_fetch_open_delay();
        int fd = ebt_sys_open(f->phys, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0 && errno != ENOENT)
            return -errno;
        if (fd >= 0 && ebt_sys_fstat(fd, &st) == 0 && is_fetched_copy(&st, &id)) {
            if (flags)
                *flags = id.flags;
            return fd;
        }
        if (fd >= 0)
            ebt_sys_close(fd);
        if (tries == EBT_FETCH_TRIES) {
            ebt_error("MD_FETCH %s: the merged copy was rewritten before it could be opened, "
                      "%d times",
                      logical, tries);
            return -EIO;
        }
    }
}

int ebt_remote_materialize(const char *logical, struct ebt_found *f, uint32_t *flags, int *fd)
{
    if (flags)
        *flags = 0;
    *fd = -1;
    if (f->where != EBT_W_REMOTE || !S_ISREG(f->st.st_mode))
        return 0;
    int cfd = ebt_remote_fetch_open(logical, f, flags);
    if (cfd < 0)
        return cfd;
    if (ebt_sys_fstat(cfd, &f->st) < 0) {
        int rc = -errno;
        ebt_sys_close(cfd);
        return rc;
    }
    *fd = cfd;
    return 0;
}

/* RUN/held/<logical> if this node holds part of a shared file (phys filled), else 0. */
int ebt_held_path(const char *logical, char *phys)
{
    struct stat st;
    if (ebt_layer_path(ebt.held_root, logical, phys, PATH_MAX) < 0)
        return 0;
    return ebt_sys_lstat(phys, &st) == 0 && S_ISREG(st.st_mode);
}

/* Multi-node: a file enters RUN/up/<path> (created, copied up, a stage renamed in) only under the
 * node's share lock, which the daemon takes to move RUN/up/<path> to RUN/held/<path>, and not at
 * all once this node holds part of the file in RUN/held (-EEXIST: write into that part instead),
 * so a node never has two diverging copies. *lock: the fd to pass to ebt_up_leave once the file
 * is in place (-1: no lock needed, phys is not under RUN/up or the job has one node). */
int ebt_up_enter(const char *phys, const char *logical, int *lock)
{
    char held[PATH_MAX];
    *lock = -1;
    if (!ebt_multinode() || !ebt_path_under(phys, ebt.up_root))
        return 0;
    int fd = ebt_share_lock(ebt.cfg.run_dir);
    if (fd < 0)
        return fd;
    if (ebt_held_path(logical, held)) {
        ebt_sys_close(fd);
        return -EEXIST;
    }
    *lock = fd;
    return 0;
}

void ebt_up_leave(int lock)
{
    if (lock >= 0)
        ebt_sys_close(lock);
}

/* A layer file that holds whole job data (no usable extent log): say so in a log, because on a
 * multi-node job every layer file carries exact extents. */
void ebt_meta_mark_whole(const char *phys)
{
    struct stat st;
    if (!ebt_multinode() || ebt_sys_lstat(phys, &st) < 0 || !S_ISREG(st.st_mode))
        return;
    struct ebt_ext_rec r[2] = {{EBT_EXT_BASE, (uint32_t)getpid(), 0, 0},
                               {EBT_EXT_FULL, (uint32_t)getpid(), 0, 0}};
    ebt_meta_append(st.st_ino, r, 2);
}

/* One entry below a directory that moved in this node's layer: under its new name it is noted,
 * under its old name it leaves the job's namespace (directories after their content). */
static int tree_entry(const char *logical, int is_dir, int unlink)
{
    if (unlink)
        return ebt_md_unlink(logical, is_dir);
    return ebt_md_note(logical, is_dir ? EBT_NOTE_DIR : EBT_NOTE_FILE);
}

static int md_tree(const char *layer, const char *logical, const char *names_under, int unlink)
{
    char phys[PATH_MAX], child[PATH_MAX], named[PATH_MAX], buf[8192];
    if (ebt_layer_path(layer, logical, phys, sizeof(phys)) < 0)
        return -ENAMETOOLONG;
    int rc = 0, fd = ebt_sys_open(phys, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    ssize_t n;
    while (fd >= 0 && rc == 0 && (n = ebt_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t pos = 0; rc == 0 && pos < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + pos);
            pos += d->d_reclen;
            if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..") ||
                ebt_name_reserved(d->d_name) || (d->d_type != DT_DIR && d->d_type != DT_REG))
                continue;
            if (snprintf(child, sizeof(child), "%s/%s", logical, d->d_name) >= PATH_MAX ||
                snprintf(named, sizeof(named), "%s/%s", names_under, d->d_name) >= PATH_MAX)
                rc = -ENAMETOOLONG;
            else if (d->d_type == DT_DIR && !unlink)
                rc = tree_entry(named, 1, 0);
            if (rc == 0 && d->d_type == DT_DIR)
                rc = md_tree(layer, child, named, unlink);
            if (rc == 0 && (d->d_type == DT_REG || unlink))
                rc = tree_entry(named, d->d_type == DT_DIR, unlink);
        }
    }
    if (fd >= 0)
        ebt_sys_close(fd);
    return rc;
}

/* A directory `from` of this node's layer (write/close modes) is renamed to `to`, which it now
 * is in the layer: the old names below it leave the job's namespace, the new ones are noted.
 * (`from` itself left before the move, so its owner could refuse with EXDEV.) */
int ebt_md_rename_tree(const char *layer, const char *from, const char *to)
{
    if (!ebt_multinode() || ebt_vis_for(to) == EBT_VIS_TASK)
        return 0;
    int rc = md_tree(layer, to, from, 1);
    if (rc == 0)
        rc = ebt_md_note(to, EBT_NOTE_DIR);
    return rc == 0 ? md_tree(layer, to, to, 0) : rc;
}

/* The child of a fork starts with a fresh channel (the parent's lock may be held by a thread
 * that does not exist in the child; its socket stays the parent's). */
static void atfork_child(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    chan.lock = fresh;
    chan_drop(); /* closes the child's copy only */
}

void ebt_remote_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

/* ---- this node's part of a shared file (RUN/held) ---- */

/* Before this node announces its part of a shared file again (which makes all its recorded
 * bytes win over other nodes' earlier notes), its copy takes the merged content it started from
 * (src: the fetched copy), so that no stale local byte, recorded now or later (a FULL after
 * stdio writes), undoes what other nodes wrote meanwhile. Not while another writer of this node
 * has the part open (or wrote it whole), and never over what this node's writers recorded since
 * the snapshot taken before the fetch (ino, log_off): the fetch may predate those bytes. */
static int held_refresh(int src, int held, unsigned long long ino, uint64_t log_off)
{
    struct stat hst;
    char meta[PATH_MAX];
    struct ebt_ext_summary sum;
    if (ebt_sys_fstat(held, &hst) < 0)
        return -errno;
    if (ebt_meta_path(ebt.cfg.run_dir, hst.st_ino, meta, sizeof(meta)) < 0)
        return -ENAMETOOLONG;
    int rc = ebt_extlog_load(meta, &sum);
    if (rc < 0)
        return rc;
    int busy = sum.whole;
    ebt_extlog_summary_free(&sum);
    return busy ? 0 : ebt_held_refresh_since(src, held, ino, log_off);
}

/* Write mode: refresh the held part from the fetched copy before it is opened and noted; not
 * from an inexact merge (another node's open writer won bytes it may hold only stale copies of:
 * taking them would overwrite bytes this node wrote, and its log says it wrote them). *lock: the
 * part, flock'ed, to close once the caller's open is recorded in its log (-1: none). */
int ebt_held_refresh_path(const char *logical, struct ebt_found *remote, const char *held,
                          int *lock)
{
    unsigned long long ino;
    uint64_t log_off;
    uint32_t flags;
    *lock = -1;
    ebt_held_snapshot(logical, &ino, &log_off); /* before the fetch reads this node's part */
    int src = -1, rc = ebt_remote_materialize(logical, remote, &flags, &src);
    if (rc < 0 || src < 0 || (flags & EBT_FETCH_INEXACT)) {
        if (src >= 0)
            ebt_sys_close(src);
        return rc;
    }
    int dst = ebt_sys_open(held, O_WRONLY | O_CLOEXEC, 0);
    if (dst < 0)
        rc = -errno;
    if (rc == 0)
        rc = flock(dst, LOCK_EX) < 0 ? -errno : held_refresh(src, dst, ino, log_off);
    if (rc == 0)
        *lock = dst;
    else if (dst >= 0)
        ebt_sys_close(dst);
    ebt_sys_close(src);
    return rc;
}

/* Close mode: where this node's part of a shared file stood when a stage was filled from the
 * merged copy (its inode and the length of its extent log; ino 0: no part). */
void ebt_held_snapshot(const char *logical, unsigned long long *ino, uint64_t *log_off)
{
    char held[PATH_MAX], meta[PATH_MAX];
    struct stat st, mst;
    *ino = 0;
    *log_off = 0;
    if (!ebt_held_path(logical, held) || ebt_sys_lstat(held, &st) < 0 ||
        ebt_meta_path(ebt.cfg.run_dir, st.st_ino, meta, sizeof(meta)) < 0)
        return;
    *ino = st.st_ino;
    *log_off = ebt_sys_lstat(meta, &mst) == 0 ? (uint64_t)mst.st_size : 0;
}

/* Ranges this node's writers recorded in the part after the snapshot (newer than the stage's
 * merged content): they are kept. 1 if the part must not be refreshed at all (an open writer,
 * FULL, or an unreadable log), else 0 with the ranges in keep. */
static int recorded_since(const char *meta, uint64_t off, struct ebt_ivs *keep)
{
    struct ebt_ext_rec r[256];
    int fd = ebt_sys_open(meta, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 1;
    ssize_t n;
    int stop = 0;
    while (!stop && (n = ebt_sys_pread(fd, r, sizeof(r), (off_t)off)) > 0) {
        off += (uint64_t)n;
        for (size_t i = 0; !stop && i < (size_t)n / sizeof(r[0]); i++) {
            if (r[i].kind == EBT_EXT_WRITE)
                stop = ebt_ivs_add(keep, r[i].off, r[i].len) < 0;
            else if (r[i].kind == EBT_EXT_TRUNC)
                stop = ebt_ivs_add(keep, r[i].off, UINT64_MAX / 2 - r[i].off) < 0;
            else if (r[i].kind == EBT_EXT_OPEN || r[i].kind == EBT_EXT_FULL)
                stop = 1;
        }
    }
    ebt_sys_close(fd);
    return stop || n < 0;
}

/* Close mode, publishing a stage filled from the merged copy into this node's part: the part's
 * bytes take the stage's values (merged content + this writer's changes), except what other
 * writers of this node recorded since the snapshot. Then re-announcing the part cannot let a
 * stale local byte undo another node's newer one. 0 or -errno. */
int ebt_copy_except(int in, int out, uint64_t end, const struct ebt_ivs *keep)
{
    int rc = 0;
    uint64_t at = 0;
    for (size_t i = 0; rc == 0 && at < end && i <= keep->n; i++) {
        uint64_t stop = i < keep->n && keep->iv[i][0] < end ? keep->iv[i][0] : end;
        if (stop > at)
            rc = ebt_copy_range(in, out, (off_t)at, (off_t)(stop - at));
        at = i < keep->n ? keep->iv[i][1] : end;
    }
    return rc;
}

int ebt_held_refresh_since(int src, int held, unsigned long long ino, uint64_t log_off)
{
    struct stat sst, hst;
    char meta[PATH_MAX];
    if (ebt_sys_fstat(src, &sst) < 0 || ebt_sys_fstat(held, &hst) < 0)
        return -errno;
    if (!ino || hst.st_ino != ino ||
        ebt_meta_path(ebt.cfg.run_dir, hst.st_ino, meta, sizeof(meta)) < 0)
        return 0;
    struct ebt_ivs keep;
    ebt_ivs_init(&keep);
    int rc = 0;
    if (!recorded_since(meta, log_off, &keep)) {
        uint64_t end = (uint64_t)(sst.st_size < hst.st_size ? sst.st_size : hst.st_size);
        rc = ebt_copy_except(src, held, end, &keep);
    }
    ebt_ivs_free(&keep);
    return rc;
}
