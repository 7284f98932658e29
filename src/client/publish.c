/* publish.c - make a writer's data visible: stage -> layer at close/fsync/exit, extent records. */
#define _GNU_SOURCE
#include "client.h"
#include "log.h"
#include "path.h"
#include "real.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

/* Records describing what this ofd changed; the caller frees. */
static struct ebt_ext_rec *ofd_records(struct ebt_ofd *o, uint32_t last, size_t *n)
{
    struct ebt_ext_rec *r = calloc(o->ext.n + 4, sizeof(*r));
    uint32_t pid = (uint32_t)getpid();
    size_t k = 0;
    if (!r)
        return NULL;
    if (o->untracked_writes)
        r[k++] = (struct ebt_ext_rec){EBT_EXT_FULL, pid, 0, 0};
    if (o->trunc_set)
        r[k++] = (struct ebt_ext_rec){EBT_EXT_TRUNC, pid, o->trunc_min, 0};
    for (size_t i = 0; i < o->ext.n; i++)
        r[k++] = (struct ebt_ext_rec){EBT_EXT_WRITE, pid, o->ext.iv[i][0],
                                      o->ext.iv[i][1] - o->ext.iv[i][0]};
    if (last)
        r[k++] = (struct ebt_ext_rec){last, pid, 0, 0};
    *n = k;
    return r;
}

static void ofd_forget_changes(struct ebt_ofd *o)
{
    o->ext.n = 0;
    o->trunc_set = 0;
    o->untracked_writes = 0;
}

/* A layer file with an extent log: append what this ofd changed (and CLOSE when final). */
static int flush_layer_records(struct ebt_ofd *o, int final)
{
    size_t n;
    struct ebt_ext_rec *r = ofd_records(o, final ? EBT_EXT_CLOSE : 0, &n);
    if (!r)
        return -ENOMEM;
    int rc = n ? ebt_meta_append(o->meta_ino, r, n) : 0;
    free(r);
    ofd_forget_changes(o);
    return rc;
}

static int open_own_data(int fd)
{
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    int in = ebt_sys_open(self, O_RDONLY | O_CLOEXEC, 0);
    return in < 0 ? -errno : in;
}

/* The extent log of a stage about to become the layer file (written before it is visible): a
 * stage that started as a copy of a lower file says what changed since (BASE size); on a
 * multi-node job a new file says exactly what was written (BASE 0), so its holder knows. */
static int install_log(struct ebt_ofd *o, unsigned long long ino)
{
    struct ebt_stage *s = o->stage;
    if (!s->based && !ebt_multinode())
        return 0;
    struct ebt_ext_rec base = {EBT_EXT_BASE, (uint32_t)getpid(), 0, s->based ? s->base_size : 0};
    size_t n;
    struct ebt_ext_rec *r = ofd_records(o, 0, &n); /* room for 4 more than the writes: n+1 fit */
    if (!r)
        return -ENOMEM;
    memmove(r + 1, r, n * sizeof(*r));
    r[0] = base;
    int rc = ebt_meta_append(ino, r, n + 1); /* one write(2): BASE first */
    free(r);
    return rc;
}

/* First publication of a stage whose target does not exist (or, replace, is the placeholder its
 * create left: renamed over at once, so the name never goes missing): install the whole stage. */
static int install_whole(struct ebt_ofd *o, int fd, const char *target, int final, int replace)
{
    struct ebt_stage *s = o->stage;
    char tmp[PATH_MAX];
    const char *from = s->phys;
    int rc = 0;
    if (!final || s->users > 1) { /* others still write the stage: publish a copy */
        if (snprintf(tmp, sizeof(tmp), "%s.pub", s->phys) >= (int)sizeof(tmp))
            return -ENAMETOOLONG;
        char self[64];
        snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
        if ((rc = ebt_copy_to_new(self, tmp, (mode_t)-1, NULL)) < 0)
            return rc;
        from = tmp;
    }
    struct stat st;
    if (from == s->phys) /* the stage itself becomes the layer file: not an orphan any more */
        syscall(SYS_removexattr, from, EBT_STAGE_XATTR);
    if (ebt_sys_lstat(from, &st) < 0 || (rc = install_log(o, st.st_ino)) < 0) {
        rc = rc < 0 ? rc : -errno;
        if (from != s->phys)
            ebt_sys_unlink(from);
        return rc;
    }
    int lock = -1; /* a file held by this node is never installed in up: -EEXIST merges it */
    if ((rc = ebt_up_enter(target, s->logical, &lock)) == 0)
        rc = replace ? (ebt_sys_rename(from, target) < 0 ? -errno : 0)
                     : ebt_rename_noreplace_mkparents(from, target);
    ebt_up_leave(lock);
    if (rc < 0) {
        char meta[PATH_MAX];
        if (ebt_meta_path(ebt.cfg.run_dir, st.st_ino, meta, sizeof(meta)) == 0)
            ebt_sys_unlink(meta);
        if (from != s->phys)
            ebt_sys_unlink(from);
        return rc;
    }
    if (from == s->phys)
        s->phys[0] = '\0'; /* the stage itself became the layer file */
    ebt_view_whiteout_remove(s->layer, s->logical);
    ofd_forget_changes(o);
    return 0;
}

static void remember_target(struct ebt_stage *s, int tfd)
{
    struct stat st;
    s->seen_set = ebt_sys_fstat(tfd, &st) == 0;
    s->seen_ino = st.st_ino;
    s->seen_ctime = st.st_ctim;
}

/* fsync in close mode is a point of coherence (MPI-IO's sync-barrier-sync): once this writer's
 * ranges are in the layer file, the stage takes in what other writers published there since it
 * last looked, so that reads through this process's fds see them, as natively. Not over ranges
 * this process wrote since (another thread's write racing the fsync); nothing if nobody else
 * published (the layer file is as this stage left it: one writer's fsyncs copy nothing). */
static int refresh_from_target(struct ebt_ofd *o, int tfd, const struct stat *before)
{
    struct ebt_stage *s = o->stage;
    struct stat tst;
    if (!s->phys[0] || (s->seen_set && s->seen_ino == before->st_ino &&
                        s->seen_ctime.tv_sec == before->st_ctim.tv_sec &&
                        s->seen_ctime.tv_nsec == before->st_ctim.tv_nsec))
        return 0;
    int in = open_own_data(tfd); /* (tfd is write-only) */
    if (in < 0)
        return in;
    int out = ebt_sys_open(s->phys, O_WRONLY | O_CLOEXEC, 0);
    if (out < 0) {
        int e = -errno;
        ebt_sys_close(in);
        return e;
    }
    struct ebt_ivs keep;
    ebt_ivs_init(&keep);
    int rc = 0; /* (o->lock is held: ofd_sync) */
    for (size_t i = 0; rc == 0 && i < o->ext.n; i++)
        rc = ebt_ivs_add(&keep, o->ext.iv[i][0], o->ext.iv[i][1] - o->ext.iv[i][0]);
    if (rc == 0 && ebt_sys_fstat(in, &tst) < 0)
        rc = -errno;
    uint64_t end = rc == 0 ? (uint64_t)tst.st_size : 0, size = end;
    if (keep.n && keep.iv[keep.n - 1][1] > size)
        size = keep.iv[keep.n - 1][1];
    if (rc == 0)
        rc = ebt_copy_except(in, out, end, &keep);
    if (rc == 0 && ebt_sys_ftruncate(out, (off_t)size) < 0)
        rc = -errno;
    ebt_ivs_free(&keep);
    ebt_sys_close(out);
    ebt_sys_close(in);
    return rc;
}

/* Later publications, or a target created meanwhile: apply this writer's changes to it (and at
 * an fsync take in what others published: refresh_from_target). */
/* The times the program set on the stage, if no write came after (the stage's mtime is still
 * theirs), go to the file after the merge's writes (touch opens the file, futimens, closes). */
static void publish_times(struct ebt_stage *s, int in, int tfd)
{
    struct stat st;
    if (!s->times_set)
        return;
    s->times_set = 0;
    if (ebt_sys_fstat(in, &st) == 0 && st.st_mtim.tv_sec == s->times[1].tv_sec &&
        st.st_mtim.tv_nsec == s->times[1].tv_nsec)
        syscall(SYS_utimensat, tfd, NULL, s->times, 0);
}

void ebt_stage_times_set(int fd, const char *logical)
{
    struct ebt_ofd *o = fd >= 0 ? ebt_fd_get(fd) : NULL;
    struct ebt_stage *s = o ? o->stage : logical ? ebt_stage_find(logical) : NULL;
    struct stat st;
    if (!s || (o ? ebt_sys_fstat(fd, &st) : ebt_sys_stat(s->phys, &st)) < 0)
        return;
    s->times[0] = st.st_atim;
    s->times[1] = st.st_mtim;
    s->times_set = 1;
}

static int merge_into(struct ebt_ofd *o, int fd, int tfd, int final)
{
    struct stat sst, tst;
    int in = open_own_data(fd);
    if (in < 0)
        return in;
    int rc = (ebt_sys_fstat(in, &sst) < 0 || ebt_sys_fstat(tfd, &tst) < 0) ? -errno : 0;
    struct stat tst0 = tst; /* the layer file before this publication */
    if (rc == 0 && sst.st_ino == tst.st_ino && sst.st_dev == tst.st_dev) {
        ebt_sys_close(in); /* the stage already is the layer file */
        ofd_forget_changes(o);
        return 0;
    }
    if (rc == 0 && o->untracked_writes) {
        o->trunc_set = 1;
        o->trunc_min = 0;
        o->ext.n = 0;
        ebt_ivs_add(&o->ext, 0, (uint64_t)sst.st_size);
    }
    if (rc == 0 && o->trunc_set && ebt_sys_ftruncate(tfd, (off_t)o->trunc_min) < 0)
        rc = -errno;
    for (size_t i = 0; rc == 0 && i < o->ext.n; i++) {
        uint64_t a = o->ext.iv[i][0], b = o->ext.iv[i][1];
        if (b > (uint64_t)sst.st_size)
            b = (uint64_t)sst.st_size;
        if (a < b)
            rc = ebt_copy_range(in, tfd, (off_t)a, (off_t)(b - a));
    }
    /* the size: this writer's own if it truncated; else the target's, grown to the end of what
     * this writer wrote (not to its copy's size: bytes it only read, since cut by another writer,
     * as ROMIO's set_size by rank 0 while the others still have the longer file open) */
    off_t tsize = o->trunc_set ? (off_t)o->trunc_min : tst.st_size;
    off_t wend = o->ext.n ? (off_t)o->ext.iv[o->ext.n - 1][1] : 0;
    if (wend > sst.st_size)
        wend = sst.st_size;
    off_t want = o->trunc_set ? sst.st_size : (wend > tsize ? wend : tsize);
    if (rc == 0 && ebt_sys_fstat(tfd, &tst) == 0 && tst.st_size != want &&
        ebt_sys_ftruncate(tfd, want) < 0)
        rc = -errno;
    if (rc == 0 && (tst.st_mode & 07777) != (sst.st_mode & 07777))
        ebt_sys_fchmod(tfd, sst.st_mode & 07777);
    if (rc == 0 && ebt_meta_exists(tst.st_ino)) {
        size_t n;
        struct ebt_ext_rec *r = ofd_records(o, 0, &n);
        rc = r ? ebt_meta_append(tst.st_ino, r, n) : -ENOMEM;
        free(r);
    }
    if (rc == 0)
        publish_times(o->stage, in, tfd);
    ebt_sys_close(in);
    if (rc == 0)
        ofd_forget_changes(o);
    if (rc == 0 && tst0.st_size == 0) /* published into a placeholder: a file now */
        syscall(SYS_fremovexattr, tfd, EBT_PLACEHOLDER_XATTR);
    if (rc == 0 && !final) { /* an fsync: later fsyncs compare with the file as left now */
        rc = refresh_from_target(o, tfd, &tst0);
        if (rc == 0)
            remember_target(o->stage, tfd);
    }
    return rc;
}

/* A stage filled from another node's merged copy is published into this node's part of the
 * shared file: first that part takes the merged values (remote.c). */
static int held_refresh_from(const struct ebt_stage *s, int fd, int tfd)
{
    int in = open_own_data(fd);
    if (in < 0)
        return in;
    int rc = ebt_held_refresh_since(in, tfd, s->held_ino, s->held_log_off);
    ebt_sys_close(in);
    return rc;
}

/* Where a stage is published: its layer file; on a multi-node job, if this node holds part of
 * a shared file (RUN/held), into that part: the daemons read a shared file's part from there. */
static int publish_target(const struct ebt_stage *s, char *target)
{
    if (ebt_layer_path(s->layer, s->logical, target, PATH_MAX) < 0)
        return -ENAMETOOLONG;
    char held[PATH_MAX];
    if (ebt_multinode() && ebt_held_path(s->logical, held))
        snprintf(target, PATH_MAX, "%s", held);
    return 0;
}

/* After the lock on the target: has the name been given another file meanwhile (a placeholder
 * replaced by its stage, see below)? Then the caller starts over on the new one. */
static int target_replaced(int tfd, const char *target)
{
    struct stat a, b;
    return ebt_sys_fstat(tfd, &a) == 0 &&
           (ebt_sys_lstat(target, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev);
}

/* The empty file an O_EXCL create left to hold the name, still empty and this node's alone: the
 * stage replaces it whole (its data, mode and the times the program set), as a new file's first
 * publication. Called with tfd locked; 1 if it was replaced (the lock is then released by the
 * caller's close), 0 if it is not the placeholder any more. */
static int replace_placeholder(struct ebt_ofd *o, int fd, int tfd, const char *target, int final)
{
    struct ebt_stage *s = o->stage;
    struct stat st;
    if (!s->placeholder || ebt_path_under(target, ebt.held_root) || ebt_sys_fstat(tfd, &st) < 0 ||
        st.st_ino != s->placeholder_ino || st.st_size != 0 ||
        syscall(SYS_fgetxattr, tfd, EBT_PLACEHOLDER_XATTR, NULL, 0) < 0) /* held: file.c */
        return 0;
    char meta[PATH_MAX];
    int rc = install_whole(o, fd, target, final, 1);
    if (rc < 0)
        return rc;
    if (ebt_meta_path(ebt.cfg.run_dir, st.st_ino, meta, sizeof(meta)) == 0)
        ebt_sys_unlink(meta);
    s->placeholder = 0;
    return 1;
}

/* Into an existing target (tfd): writers of one file publish one at a time, so that a merge
 * reads the size and sets it. -EAGAIN: the name has another file now, start over. */
static int publish_into(struct ebt_ofd *o, int fd, int tfd, const char *target, int final)
{
    struct ebt_stage *s = o->stage;
    int rc = flock(tfd, LOCK_EX) < 0 ? -errno : 0;
    if (rc == 0 && target_replaced(tfd, target))
        return -EAGAIN;
    if (rc == 0 && (rc = replace_placeholder(o, fd, tfd, target, final)) != 0)
        return rc < 0 ? rc : 0;
    if (rc == 0 && s->held_ino && ebt_path_under(target, ebt.held_root))
        rc = held_refresh_from(s, fd, tfd);
    return rc == 0 ? merge_into(o, fd, tfd, final) : rc;
}

/* The stage behind fd has no name any more although this process never removed it: another
 * process sharing the open file (a shell that redirected for a child) moved it to the PFS when
 * the cache was full, and its writes went on there. Publishing this copy would put the old bytes
 * back over them. */
static int spilled_elsewhere(const struct ebt_stage *s, int fd)
{
    struct stat st;
    if (s->published || ebt_sys_fstat(fd, &st) < 0 || st.st_nlink > 0)
        return 0;
    ebt_warn_once("close-mode stage moved to the PFS by another process: not published again",
                  s->logical);
    return 1;
}

/* The stage's layer file is not there at its first publication: another process removed or
 * renamed the name since the open. Removed (the file it was opened on has no name left): 1, the
 * writes went to an unlinked file, as natively. Renamed: 2, target and the stage's name are the
 * new ones, so the writes land in the renamed file. 0: not known (publish as a new file). */
static int origin_moved(struct ebt_stage *s, char *target)
{
    struct stat st;
    int ofd = ebt_stage_origin(s, &st);
    if (ofd < 0)
        return 0;
    if (st.st_nlink == 0)
        return 1;
    char link[64], now[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", ofd);
    ssize_t n = ebt_sys_readlink(link, now, sizeof(now) - 1);
    if (n <= 0)
        return 0;
    now[n] = '\0';
    size_t root = ebt_path_under(now, s->layer);
    if (!root || !now[root])
        return 0; /* moved out of the layer (the flush, another node's part): not known */
    snprintf(target, PATH_MAX, "%s", now);
    snprintf(s->logical, sizeof(s->logical), "%s", now + root);
    if (s->phys[0]) /* (the flush's name for it, if this process dies: EBT_STAGE_XATTR) */
        syscall(SYS_setxattr, s->phys, EBT_STAGE_XATTR, s->logical, strlen(s->logical), 0);
    return 2;
}

static int publish_stage(struct ebt_ofd *o, int fd, int final)
{
    struct ebt_stage *s = o->stage;
    char target[PATH_MAX];
    if (s->unlinked || spilled_elsewhere(s, fd))
        return 0;
    if (publish_target(s, target) < 0)
        return -ENAMETOOLONG;
    int tfd = ebt_sys_open(target, O_WRONLY | O_CLOEXEC, 0);
    if (tfd < 0 && errno == ENOENT && s->published)
        return 0; /* published, then removed by the job: like writing to an unlinked file */
    int moved = tfd < 0 && errno == ENOENT ? origin_moved(s, target) : 0;
    if (moved == 1)
        return 0;
    if (moved == 2)
        tfd = ebt_sys_open(target, O_WRONLY | O_CLOEXEC, 0);
    int rc;
    if (tfd < 0 && errno == ENOENT) {
        rc = install_whole(o, fd, target, final, 0);
        if (rc == -EEXIST) /* created meanwhile by another writer */
            return publish_stage(o, fd, final);
    } else if (tfd < 0) {
        rc = -errno;
    } else {
        rc = publish_into(o, fd, tfd, target, final);
        ebt_sys_close(tfd);
        if (rc == -EAGAIN)
            return publish_stage(o, fd, final);
    }
    int note = 0;
    if (ebt_cache_out_of_space(-rc)) /* no room for the layer copy: the PFS takes it */
        rc = ebt_spill_ofd(o, fd);
    else if (rc == 0) /* the job's namespace learns that this node holds it */
        note = ebt_md_note_if_visible(s->logical, EBT_NOTE_FILE);
    if (rc == 0 && !s->published && s->phys[0]) /* (see EBT_STAGE_PUBLISHED_XATTR) */
        syscall(SYS_setxattr, s->phys, EBT_STAGE_PUBLISHED_XATTR, "1", 1, 0);
    if (rc == 0)
        s->published = 1;
    else
        ebt_error("publish of %s failed: %s", s->logical, strerror(-rc));
    return rc < 0 ? rc : note;
}

/* A promoted file keeps the identity (st_dev, st_ino) it had at open for this process: programs
 * such as sqlite compare it with a later stat of the name and would take the file as moved. */
#define EBT_MAX_ALIASES 64
static struct {
    dev_t dev;
    ino_t real, shown;
} aliases[EBT_MAX_ALIASES];
static int naliases;
static pthread_mutex_t alias_mu = PTHREAD_MUTEX_INITIALIZER;

/* Kept while the record lives (ofd_destroy forgets it): after that the numbers may be reused. */
static void alias_add(struct ebt_ofd *o, int old_fd, int new_fd)
{
    struct stat was, now;
    if (ebt_sys_fstat(old_fd, &was) < 0 || ebt_sys_fstat(new_fd, &now) < 0)
        return;
    pthread_mutex_lock(&alias_mu);
    if (naliases < EBT_MAX_ALIASES) {
        aliases[naliases] = (__typeof__(aliases[0])){now.st_dev, now.st_ino, was.st_ino};
        __atomic_store_n(&naliases, naliases + 1, __ATOMIC_RELEASE);
        o->alias_dev = now.st_dev;
        o->alias_real = now.st_ino;
    }
    pthread_mutex_unlock(&alias_mu);
}

static void alias_forget(struct ebt_ofd *o)
{
    if (!o->alias_real)
        return;
    pthread_mutex_lock(&alias_mu);
    for (int i = 0; i < naliases; i++) {
        if (aliases[i].real == o->alias_real && aliases[i].dev == o->alias_dev) {
            aliases[i] = aliases[naliases - 1];
            __atomic_store_n(&naliases, naliases - 1, __ATOMIC_RELEASE);
            break;
        }
    }
    pthread_mutex_unlock(&alias_mu);
}

void ebt_alias_fix(dev_t dev, ino_t *ino)
{
    if (!__atomic_load_n(&naliases, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&alias_mu);
    for (int i = 0; i < naliases; i++)
        if (aliases[i].real == *ino && aliases[i].dev == dev) {
            *ino = aliases[i].shown;
            break;
        }
    pthread_mutex_unlock(&alias_mu);
}

/* The record now writes the shared layer file: the stage it leaves is this record's no more. */
static void become_layer(struct ebt_ofd *o, int lfd)
{
    struct ebt_stage *s = o->stage;
    struct stat st;
    o->kind = EBT_OFD_LAYER;
    o->stage = NULL;
    o->track = 0;
    ofd_forget_changes(o);
    if (ebt_sys_fstat(lfd, &st) == 0 && ebt_meta_exists(st.st_ino)) {
        o->track = 1; /* a copied-up file: its extent log goes on recording */
        o->meta_ino = st.st_ino;
    }
    ebt_stage_release(s);
}

static int promote_locked(struct ebt_ofd *o, int fd)
{
    struct ebt_stage *s = o->stage;
    char target[PATH_MAX];
    if (s->unlinked)
        return 0; /* removed by the job: nothing shared to reach */
    int rc = publish_stage(o, fd, 0);
    if (rc < 0 || o->kind != EBT_OFD_STAGE) /* (a spill made it a PFS fd) */
        return rc < 0 ? rc : 0;
    if (publish_target(s, target) < 0)
        return -ENAMETOOLONG;
    off_t off = ebt_sys_lseek(fd, 0, SEEK_CUR);
    int lfd = ebt_sys_open(target, (o->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC, 0);
    if (lfd < 0)
        return -errno;
    alias_add(o, fd, lfd);
    rc = off > 0 && ebt_sys_lseek(lfd, off, SEEK_SET) < 0 ? -errno : ebt_fd_repoint(o, lfd);
    if (rc == 0)
        become_layer(o, lfd);
    ebt_sys_close(lfd);
    return rc;
}

int ebt_stage_promote(struct ebt_ofd *o, int fd)
{
    /* a stage shared with another process by fork is one file for both already; re-pointing
     * only this process's fds would leave the other one publishing a stale whole copy */
    if (__atomic_load_n(&o->kind, __ATOMIC_ACQUIRE) != EBT_OFD_STAGE || ebt_multinode() ||
        o->forked)
        return 0;
    pthread_mutex_lock(&o->lock);
    int rc = o->kind == EBT_OFD_STAGE ? promote_locked(o, fd) : 0;
    pthread_mutex_unlock(&o->lock);
    if (rc < 0)
        ebt_error("sharing %s for a lock or a shared mapping failed: %s", o->logical,
                  strerror(-rc));
    return rc;
}

/* Publish or record what an ofd changed; final = the last fd of it in this process goes away. */
static int ofd_sync(struct ebt_ofd *o, int fd, int final)
{
    int rc = 0;
    pthread_mutex_lock(&o->lock);
    if (o->kind == EBT_OFD_STAGE)
        rc = publish_stage(o, fd, final && o->stage->users == 1);
    else if (o->kind == EBT_OFD_LAYER && o->track)
        rc = flush_layer_records(o, final);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static void ofd_destroy(struct ebt_ofd *o)
{
    struct ebt_stage *s = o->stage;
    if (s)
        ebt_stage_release(s);
    alias_forget(o);
    if (o->lock_fd >= 0) /* after the publication: a waiter sees the data */
        ebt_sys_close(o->lock_fd);
    ebt_ivs_free(&o->ext);
    pthread_mutex_destroy(&o->lock);
    free(o);
}

int ebt_release_fd(int fd, int (*closer)(void *ctx), void *ctx)
{
    struct ebt_ofd *o = ebt_fd_take(fd);
    int rc = 0;
    if (o && __atomic_load_n(&o->refs, __ATOMIC_ACQUIRE) == 1)
        rc = ofd_sync(o, fd, 1);
    int crc = closer(ctx);
    ebt_ofd_release(o);
    if (crc < 0)
        return crc;
    if (rc < 0) { /* the data is safe in the stage's layer copy attempt; report like EIO */
        errno = -rc;
        return -1;
    }
    return crc;
}

static int close_raw(void *ctx)
{
    return ebt_sys_close(*(int *)ctx);
}

int ebt_close_managed(int fd)
{
    int rc = ebt_release_fd(fd, close_raw, &fd);
    return rc < 0 ? -errno : rc;
}

void ebt_ofd_release(struct ebt_ofd *o)
{
    if (o && __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0)
        ofd_destroy(o);
}

int ebt_sync_managed(int fd)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    return o ? ofd_sync(o, fd, 0) : 0;
}

/* At process exit (and before exec) publish what is still open, as a close would. */
void ebt_publish_all_at_exit(void)
{
    int n = ebt_fd_table_size();
    for (int fd = 0; fd < n; fd++) {
        struct ebt_ofd *o = ebt_fd_get(fd);
        if (o && (o->kind == EBT_OFD_STAGE || (o->kind == EBT_OFD_LAYER && o->track)))
            ofd_sync(o, fd, 0);
    }
}

void ebt_publish_before_exit(void)
{
    if (ebt.enabled && ebt.pid == getpid())
        ebt_publish_all_at_exit();
}

void ebt_stage_mark_unlinked(const char *logical)
{
    struct ebt_stage *s;
    while ((s = ebt_stage_find(logical)) != NULL) {
        s->unlinked = 1;
        if (s->phys[0]) /* nothing to publish for the flush either */
            syscall(SYS_removexattr, s->phys, EBT_STAGE_XATTR);
    }
}

void ebt_stage_rename(const char *from, const char *to)
{
    struct ebt_stage *s = ebt_stage_find(from);
    if (!s)
        return;
    snprintf(s->logical, sizeof(s->logical), "%s", to);
    if (s->phys[0])
        syscall(SYS_setxattr, s->phys, EBT_STAGE_XATTR, to, strlen(to), 0);
}
