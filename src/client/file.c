/* file.c - managed files: open into a layer or a private stage, record extents, publish. */
#define _GNU_SOURCE
#include "client.h"
#include "mdcache.h"
#include "lower.h"
#include "log.h"
#include "path.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

static struct ebt_stage *stages; /* this process's open stages, under ebt.lock */
static unsigned stage_seq;

static int stage_name(char *out, const char *kind)
{
    unsigned seq = __atomic_add_fetch(&stage_seq, 1, __ATOMIC_RELAXED);
    int n = snprintf(out, PATH_MAX, "%s/%s%d.%u", ebt.stage_dir, kind, (int)getpid(), seq);
    return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

struct ebt_stage *ebt_stage_find(const char *logical)
{
    if (!stages)
        return NULL;
    pthread_mutex_lock(&ebt.lock);
    struct ebt_stage *s = stages;
    while (s && (s->unlinked || strcmp(s->logical, logical) != 0))
        s = s->next;
    pthread_mutex_unlock(&ebt.lock);
    return s;
}

/* Origins held by this process: at most EBT_ORIGINS_MAX numbers are taken from the program's
 * fd table (a program with hundreds of files open would hit its limit sooner otherwise). */
#define EBT_ORIGINS_MAX 64
static int origins_held;

void ebt_stage_hold_origin(struct ebt_stage *s, const char *phys)
{
    struct stat st;
    if (__atomic_add_fetch(&origins_held, 1, __ATOMIC_ACQ_REL) > EBT_ORIGINS_MAX) {
        __atomic_sub_fetch(&origins_held, 1, __ATOMIC_ACQ_REL);
        return; /* published under its old name, as without an origin */
    }
    int fd = ebt_sys_open(phys, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
    /* out of the program's way: it may count on the lowest free numbers */
    int hi = fd < 0 ? -1 : (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 512);
    if (fd >= 0)
        ebt_sys_close(fd);
    if (hi >= 0 && ebt_sys_fstat(hi, &st) == 0) {
        s->origin_fd = hi;
        s->origin_dev = st.st_dev;
        s->origin_ino = st.st_ino;
        s->origin_ok = 1;
        return;
    }
    if (hi >= 0)
        ebt_sys_close(hi);
    __atomic_sub_fetch(&origins_held, 1, __ATOMIC_ACQ_REL);
}

int ebt_stage_origin(const struct ebt_stage *s, struct stat *st)
{
    if (!s->origin_ok || ebt_sys_fstat(s->origin_fd, st) < 0 || st->st_dev != s->origin_dev ||
        st->st_ino != s->origin_ino)
        return -1; /* (the program closed the number, or reused it) */
    return s->origin_fd;
}

void ebt_stage_drop_origin(struct ebt_stage *s)
{
    struct stat st;
    if (!s->origin_ok)
        return;
    if (ebt_stage_origin(s, &st) >= 0)
        ebt_sys_close(s->origin_fd);
    s->origin_ok = 0;
    __atomic_sub_fetch(&origins_held, 1, __ATOMIC_ACQ_REL);
}

void ebt_stage_forget(struct ebt_stage *s)
{
    ebt_stage_drop_origin(s);
    pthread_mutex_lock(&ebt.lock);
    for (struct ebt_stage **p = &stages; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&ebt.lock);
    free(s);
}

/* Did this process make the stage (its name is "<pid>.<seq>", see stage_name)? */
static int stage_made_here(const struct ebt_stage *s)
{
    const char *base = strrchr(s->phys, '/');
    char *end;
    long pid = base ? strtol(base + 1, &end, 10) : 0;
    return pid > 0 && *end == '.' && pid == (long)getpid();
}

/* The last of this process's records of a stage lets it go. Only the process that made the stage
 * removes its name: one that got it by fork, or across exec (a shell's `{ cmd1; cmd2; } >f` runs
 * each command with the shell's fd), shares it with its maker, who goes on writing and publishes
 * it later; with the name gone the maker's copy would count as spilled, its writes lost. */
void ebt_stage_release(struct ebt_stage *s)
{
    if (__atomic_sub_fetch(&s->users, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (s->phys[0] && stage_made_here(s))
        ebt_sys_unlink(s->phys);
    ebt_stage_forget(s);
}

/* ---- extent logs of layer files ---- */

int ebt_meta_append(unsigned long long ino, const struct ebt_ext_rec *r, size_t n)
{
    char path[PATH_MAX];
    if (ebt_meta_path(ebt.cfg.run_dir, ino, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    return ebt_extlog_append(path, r, n);
}

int ebt_meta_exists(unsigned long long ino)
{
    char path[PATH_MAX];
    struct stat st;
    return ebt_meta_path(ebt.cfg.run_dir, ino, path, sizeof(path)) == 0 &&
           ebt_sys_lstat(path, &st) == 0;
}

/* ---- copy-up: make a layer copy of a lower file, atomically ---- */

int ebt_copy_up_file(const char *layer, const char *logical, const struct ebt_found *f)
{
    char tmp[PATH_MAX], phys[PATH_MAX], meta[PATH_MAX];
    struct stat st;
    if (stage_name(tmp, "cu") < 0 || ebt_layer_path(layer, logical, phys, sizeof(phys)) < 0)
        return -ENAMETOOLONG;
    int fetched = -1; /* another node's file: its merged content, as a PFS copy */
    char src[32];
    if (f->where == EBT_W_REMOTE && (fetched = ebt_remote_fetch_open(logical, f, NULL)) < 0)
        return fetched;
    int rc = ebt_copy_to_new(fetched >= 0 ? ebt_fd_path(fetched, src, sizeof(src)) : f->phys, tmp,
                             f->st.st_mode & 07777, &st);
    if (fetched >= 0)
        ebt_sys_close(fetched);
    if (rc < 0)
        return rc;
    struct ebt_ext_rec base = {EBT_EXT_BASE, (uint32_t)getpid(), 0, (uint64_t)st.st_size};
    int lock = -1;
    rc = ebt_meta_append(st.st_ino, &base, 1);
    if (rc == 0 && (rc = ebt_up_enter(phys, logical, &lock)) == -EEXIST)
        rc = -ENOENT; /* this node holds part of it (RUN/held): look it up again */
    if (rc == 0 && (rc = ebt_rename_noreplace_mkparents(tmp, phys)) == -EEXIST)
        rc = 1; /* someone copied it up first: use theirs */
    ebt_up_leave(lock);
    if (rc != 0) {
        ebt_sys_unlink(tmp);
        if (ebt_meta_path(ebt.cfg.run_dir, st.st_ino, meta, sizeof(meta)) == 0)
            ebt_sys_unlink(meta);
    }
    if (rc >= 0)
        ebt_view_whiteout_remove(layer, logical);
    return rc < 0 ? rc : 0;
}

/* ---- open ---- */

static int register_fd(int fd, int kind, int flags, const char *logical, struct ebt_ofd **out)
{
    struct ebt_ofd *o = ebt_ofd_new(kind, flags, logical);
    if (!o) {
        ebt_sys_close(fd);
        return -ENOMEM;
    }
    ebt_fd_set(fd, o);
    if (out)
        *out = o;
    return fd;
}

/* An open of the empty layer file a close-mode create left to hold a new name (xattr
 * EBT_PLACEHOLDER_XATTR): this process now holds that inode, so the creator's first publication
 * must write into it rather than rename its stage over it (this fd would go on reading the old,
 * empty inode). The creator checks the mark under an exclusive flock of the file; a shared one
 * here orders the two: if the name has another file once it is held, that is the published file,
 * and it is opened instead. Returns fd, or the fd of the file the name has now. */
static int hold_placeholder(int fd, const char *phys, int oflags)
{
    struct stat st, now;
    if (ebt_sys_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != 0 ||
        syscall(SYS_fgetxattr, fd, EBT_PLACEHOLDER_XATTR, NULL, 0) < 0 || flock(fd, LOCK_SH) < 0)
        return fd;
    int same = ebt_sys_lstat(phys, &now) == 0 && now.st_ino == st.st_ino;
    if (same)
        syscall(SYS_fremovexattr, fd, EBT_PLACEHOLDER_XATTR);
    flock(fd, LOCK_UN);
    int nfd = same ? -1 : ebt_sys_open(phys, oflags & ~(O_CREAT | O_EXCL | O_TRUNC), 0);
    if (nfd < 0)
        return fd;
    ebt_sys_close(fd);
    return nfd;
}

static int open_for_read(const char *logical, int flags, struct ebt_found *f)
{
    int fetched, rc = ebt_remote_materialize(logical, f, NULL, &fetched); /* another node's */
    if (rc < 0)
        return rc;
    /* a PFS directory under the FUSE view is opened there: whatever is later done relative to
     * the fd (fchdir, glibc's own openat) must see the view, not the PFS beneath it */
    char fpath[32];
    const char *path = S_ISDIR(f->st.st_mode) && f->where == EBT_W_PFS && ebt_lower_covers(logical)
                           ? logical
                           : f->phys;
    int fd, oflags = flags & ~(O_CREAT | O_EXCL | O_TRUNC);
    if (fetched >= 0) { /* the fetched copy itself, with the caller's flags */
        path = ebt_fd_path(fetched, fpath, sizeof(fpath));
        oflags &= ~O_NOFOLLOW;
    }
    if (f->where == EBT_W_PFS && !S_ISDIR(f->st.st_mode))
        fd = ebt_mdfd_open(logical, path, oflags, 0); /* under an input: one lookup */
    else if ((fd = ebt_sys_open(path, oflags, 0)) < 0)
        fd = -errno;
    if (fetched >= 0)
        ebt_sys_close(fetched);
    if (fd < 0)
        return fd;
    if (f->where == EBT_W_UP || f->where == EBT_W_TASK)
        fd = hold_placeholder(fd, f->phys, oflags);
    if (S_ISDIR(f->st.st_mode))
        return register_fd(fd, EBT_OFD_DIR, flags, logical, NULL);
    if (f->where == EBT_W_PFS)
        return fd; /* a plain PFS file opened for reading: nothing to manage */
    return register_fd(fd, EBT_OFD_READ, flags, logical, NULL);
}

/* Track the writes of a layer file that has an extent log: one that was in the layer or copied
 * up may have one; on a multi-node job a file created here gets one (BASE 0), so this node can
 * always say exactly which bytes it wrote. There, an existing layer file without a log was just
 * created by another process that has not written its BASE 0 yet (copies and installed stages get
 * theirs before they are visible): this writer writes it, or its bytes would be nobody's. */
static void layer_start_log(struct ebt_ofd *o, int fd, int flags, int existed)
{
    struct stat st;
    if ((!existed && !ebt_multinode()) || ebt_sys_fstat(fd, &st) < 0)
        return;
    uint32_t pid = (uint32_t)getpid();
    int logged = existed && ebt_meta_exists(st.st_ino);
    if (!logged && ebt_multinode()) {
        struct ebt_ext_rec base = {EBT_EXT_BASE, pid, 0, 0};
        logged = ebt_meta_append(st.st_ino, &base, 1) == 0;
    }
    if (!logged)
        return;
    o->track = 1;
    o->meta_ino = st.st_ino;
    struct ebt_ext_rec r[2] = {{EBT_EXT_OPEN, pid, 0, 0}, {EBT_EXT_TRUNC, pid, 0, 0}};
    ebt_meta_append(st.st_ino, r, (flags & O_TRUNC) ? 2 : 1);
}

/* Open a layer file; one that may be created goes through the share lock (ebt_up_enter):
 * -ENOENT if this node now holds the file in RUN/held (the caller looks it up again). */
static int open_creating(const char *phys, const char *logical, int oflags, mode_t mode)
{
    int lock = -1, rc = (oflags & O_CREAT) ? ebt_up_enter(phys, logical, &lock) : 0;
    if (rc < 0)
        return rc == -EEXIST ? -ENOENT : rc;
    int fd = ebt_open_mkparents(phys, oflags, mode);
    ebt_up_leave(lock);
    return fd;
}

static int open_in_layer(const char *layer, const char *logical, int flags, mode_t mode,
                         const struct ebt_found *f)
{
    char phys[PATH_MAX];
    if (ebt_layer_path(layer, logical, phys, sizeof(phys)) < 0)
        return -ENAMETOOLONG;
    int in_layer = f && strcmp(f->phys, phys) == 0;
    int copied = f && !in_layer && !(flags & O_TRUNC);
    int rc = 0;
    if (copied)
        rc = ebt_copy_up_file(layer, logical, f);
    else if (!in_layer) {
        ebt_view_whiteout_remove(layer, logical);
        if (f) /* O_TRUNC over a lower file: a new file that keeps the old mode */
            mode = f->st.st_mode & 07777;
    }
    if (rc < 0)
        return rc;
    int oflags = copied ? flags & ~(O_CREAT | O_EXCL) : flags;
    if (f && !in_layer && (flags & O_TRUNC))
        oflags = (flags | O_CREAT) & ~O_EXCL;
    int fd = open_creating(phys, logical, oflags, mode);
    if (fd < 0)
        return fd;
    if (in_layer)
        fd = hold_placeholder(fd, phys, oflags);
    struct ebt_ofd *o;
    rc = register_fd(fd, EBT_OFD_LAYER, flags, logical, &o);
    if (rc >= 0)
        layer_start_log(o, fd, flags, in_layer || copied);
    /* The job's namespace learns of a file this node now holds before open returns. */
    if (rc >= 0 && ebt_multinode() && (!in_layer || layer == ebt.held_root)) {
        int nrc = ebt_md_note_if_visible(logical, EBT_NOTE_FILE);
        if (nrc < 0) {
            ebt_close_managed(fd);
            return nrc;
        }
    }
    return rc;
}

static void stage_list_add(struct ebt_stage *s)
{
    pthread_mutex_lock(&ebt.lock);
    s->next = stages;
    stages = s;
    pthread_mutex_unlock(&ebt.lock);
}

/* Fill a new stage with the visible content (unless O_TRUNC) and the visible mode. */
static int stage_fill(struct ebt_stage *s, int fd, int flags, const struct ebt_found *f)
{
    if (ebt_sys_fchmod(fd, f->st.st_mode & 07777) < 0)
        return -errno;
    if (flags & O_TRUNC)
        return 0;
    int src = ebt_sys_open(f->phys, O_RDONLY | O_CLOEXEC, 0);
    int rc = src < 0 ? -errno : ebt_copy_range(src, fd, 0, f->st.st_size);
    if (src >= 0)
        ebt_sys_close(src);
    s->based = f->where == EBT_W_PFS || f->where == EBT_W_REMOTE;
    s->base_size = (uint64_t)f->st.st_size;
    return rc;
}

/* A new stage; returns the caller's fd on it in *fd_out. A fresh stage (new file or O_TRUNC) is
 * opened once with the caller's flags; one that copies content is filled, then reopened. */
static struct ebt_stage *stage_create(const char *logical, mode_t mode, int flags,
                                      const struct ebt_found *f, int *fd_out)
{
    struct ebt_stage *s = calloc(1, sizeof(*s));
    int fd = -1, rc = s ? 0 : -ENOMEM;
    int fresh = !f || (flags & O_TRUNC);
    if (rc == 0) {
        snprintf(s->logical, sizeof(s->logical), "%s", logical);
        snprintf(s->layer, sizeof(s->layer), "%s", ebt.up_root);
    }
    /* A name taken: the stage of another image of this pid (an exec keeps the pid, and the
     * stages it inherited, but starts counting again). */
    for (int tries = 0; rc == 0 && tries < 1000; tries++) {
        int oflags = fresh ? (flags & ~O_TRUNC) | O_CREAT | O_EXCL : O_RDWR | O_CREAT | O_EXCL;
        rc = stage_name(s->phys, "");
        fd = rc < 0 ? -1 : ebt_sys_open(s->phys, oflags | (fresh ? 0 : O_CLOEXEC), f ? 0600 : mode);
        rc = rc < 0 ? rc : fd < 0 ? -errno : 0;
        if (rc != -EEXIST)
            break;
        rc = 0;
        s->phys[0] = '\0';
    }
    if (rc == 0 && fd < 0)
        rc = -EEXIST;
    if (rc == 0 && f)
        rc = stage_fill(s, fd, flags, f);
    if (rc == 0 && f && f->where == EBT_W_UP)
        ebt_stage_hold_origin(s, f->phys);
    if (rc == 0 && !fresh) { /* reopen with the caller's flags */
        ebt_sys_close(fd);
        fd = ebt_sys_open(s->phys, flags & ~(O_CREAT | O_EXCL | O_TRUNC), 0);
        rc = fd < 0 ? -errno : 0;
    }
    if (rc < 0) {
        if (fd >= 0)
            ebt_sys_close(fd);
        if (s && s->phys[0])
            ebt_sys_unlink(s->phys);
        free(s);
        errno = -rc;
        return NULL;
    }
    /* the flush publishes it if this process dies without doing so (best effort: a file system
     * without user xattrs has no such backstop) */
    syscall(SYS_fsetxattr, fd, EBT_STAGE_XATTR, logical, strlen(logical), 0);
    stage_list_add(s);
    *fd_out = fd;
    return s;
}

static int open_staged(const char *logical, int flags, mode_t mode, const struct ebt_found *f)
{
    struct ebt_stage *s = f && f->where == EBT_W_STAGE ? ebt_stage_find(logical) : NULL;
    int fd = -1;
    if (s)
        fd = ebt_sys_open(s->phys, flags & ~(O_CREAT | O_EXCL), 0);
    else if ((s = stage_create(logical, mode, flags, f, &fd)) == NULL)
        return -errno;
    if (fd < 0)
        return -errno;
    __atomic_add_fetch(&s->users, 1, __ATOMIC_ACQ_REL);
    struct ebt_ofd *o;
    int rc = register_fd(fd, EBT_OFD_STAGE, flags, logical, &o);
    if (rc >= 0) {
        o->stage = s;
        o->track = 1;
        o->trunc_set = (flags & O_TRUNC) != 0;
    }
    return rc;
}

/* A create in close mode: the stage is private to this process, so the name is taken first by
 * an empty file in the layer (exclusive in this node's kernel; other processes see it empty until
 * the close publishes, as they see a new file natively, and may open it: MPI-IO's rank 0 creates
 * a shared file that the other ranks then open without O_CREAT). -EEXIST if another process made
 * the name meanwhile (without O_EXCL the caller looks it up again and opens that file). */
static int open_staged_new(const char *logical, int flags, mode_t mode)
{
    const char *layer = ebt_layer_for_write(logical);
    char phys[PATH_MAX];
    if (ebt_layer_path(layer, logical, phys, sizeof(phys)) < 0)
        return -ENAMETOOLONG;
    ebt_view_whiteout_remove(layer, logical); /* (a rename or unlink puts it back) */
    /* not noted to other nodes: there the claim holds the name, and the file stays invisible */
    int fd = open_creating(phys, logical, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    struct stat st;
    int rc = fd < 0 ? fd : ebt_sys_fstat(fd, &st) < 0 ? -errno : 0;
    if (rc == 0) /* (where the cache has no user xattrs, the flush goes by the times) */
        syscall(SYS_fsetxattr, fd, EBT_PLACEHOLDER_XATTR, "", 0, 0);
    if (fd >= 0)
        ebt_sys_close(fd);
    if (rc == 0)
        rc = fd = open_staged(logical, flags, mode, NULL);
    struct ebt_ofd *o = rc >= 0 ? ebt_fd_get(fd) : NULL;
    if (o && o->stage) {
        o->stage->placeholder = 1;
        o->stage->placeholder_ino = st.st_ino;
        ebt_stage_hold_origin(o->stage, phys);
    }
    return rc;
}

/* A file of the job that other nodes hold. If this node holds part of it (RUN/held), write
 * and append modes write into that part (its extent log says which bytes are this node's);
 * otherwise, and for close-mode stages, its merged content is fetched and copied like a PFS file
 * (an extent log BASE size), then noted: the daemons may then move the copy to RUN/held. */
static int open_remote_for_write(const char *logical, int flags, mode_t mode, struct ebt_found *f)
{
    int vis = ebt_vis_for(logical);
    int staged = vis == EBT_VIS_CLOSE && !(flags & O_APPEND);
    struct ebt_found held = *f;
    if (!staged && vis != EBT_VIS_TASK && ebt_held_path(logical, held.phys)) {
        int lock = -1; /* the refreshed part stays locked until this open is in its log */
        int rc = (flags & O_TRUNC) ? 0 : ebt_held_refresh_path(logical, f, held.phys, &lock);
        held.where = EBT_W_UP;
        if (rc == 0)
            rc = open_in_layer(ebt.held_root, logical, flags, mode, &held);
        if (lock >= 0)
            ebt_sys_close(lock);
        return rc;
    }
    if (!staged) /* the copy-up fetches it (unless O_TRUNC: nothing to copy) */
        return open_in_layer(ebt_layer_for_write(logical), logical, flags, mode, f);
    unsigned long long ino;
    uint64_t log_off;
    uint32_t fetched = 0;
    ebt_held_snapshot(logical, &ino, &log_off); /* before the fetch reads this node's part */
    int copy = -1, rc = (flags & O_TRUNC) ? 0 : ebt_remote_materialize(logical, f, &fetched, &copy);
    struct ebt_found from = *f; /* the stage is filled from the fetched copy itself */
    if (copy >= 0)
        ebt_fd_path(copy, from.phys, sizeof(from.phys));
    int fd = rc < 0 ? rc : open_staged(logical, flags, mode, &from);
    if (copy >= 0)
        ebt_sys_close(copy);
    struct ebt_ofd *o = fd >= 0 ? ebt_fd_get(fd) : NULL;
    /* an inexact merge never refreshes this node's part (see ebt_held_refresh_path) */
    if (o && o->stage && !(flags & O_TRUNC) && !(fetched & EBT_FETCH_INEXACT)) {
        o->stage->held_ino = ino;
        o->stage->held_log_off = log_off;
    }
    return fd;
}

/* Is the parent of logical a symlink, with the FUSE view covering it (so that the kernel, not
 * the layers' physical paths, follows it)? */
static int parent_is_symlink_in_view(const char *logical)
{
    char buf[PATH_MAX];
    const char *dir, *name;
    struct ebt_found pf;
    return ebt_lower_covers(logical) &&
           ebt_path_split(logical, buf, sizeof(buf), &dir, &name) == 0 &&
           ebt_view_lookup(dir, 0, &pf) == 0 && S_ISLNK(pf.st.st_mode);
}

static int open_checked_for_write(const char *logical, int flags, mode_t mode, struct ebt_found *f,
                                  int exists);

/* O_CREAT|O_EXCL of a name no layer has: on several nodes, the name's owner decides first. */
static int create_exclusive(const char *logical, int flags, mode_t mode, struct ebt_found *f)
{
    int claimed = ebt_md_claim_if_visible(logical);
    if (claimed < 0)
        return claimed;
    int fd = open_checked_for_write(logical, flags, mode, f, 0);
    struct ebt_ofd *o = fd >= 0 && claimed ? ebt_fd_get(fd) : NULL;
    if (o && o->stage)
        o->stage->claimed = 1;
    if (fd < 0 && fd != -EEXIST && claimed)
        ebt_md_unclaim(logical);
    return fd;
}

static int open_for_write(const char *logical, int flags, mode_t mode, struct ebt_found *f,
                          int exists)
{
    if (!exists && (flags & O_CREAT) && (flags & O_EXCL))
        return create_exclusive(logical, flags, mode, f);
    return open_checked_for_write(logical, flags, mode, f, exists);
}

static int open_checked_for_write(const char *logical, int flags, mode_t mode, struct ebt_found *f,
                                  int exists)
{
    if (exists && (flags & O_CREAT) && (flags & O_EXCL))
        return -EEXIST;
    if (!exists && !(flags & O_CREAT))
        return -ENOENT;
    if (exists && S_ISDIR(f->st.st_mode))
        return -EISDIR;
    if (!exists && parent_is_symlink_in_view(logical)) { /* the kernel resolves it there */
        int fd = ebt_sys_open(logical, flags, mode);
        return fd < 0 ? -errno : fd;
    }
    if (!exists) {
        int rc = ebt_view_parent_dir(logical); /* (the PFS parent's permissions too) */
        if (rc < 0)
            return rc;
    }
    if (exists) {
        int rc = ebt_perm_pfs(f, W_OK | ((flags & O_ACCMODE) == O_RDWR ? R_OK : 0));
        if (rc < 0)
            return rc;
    }
    if (exists && !S_ISREG(f->st.st_mode)) { /* a FIFO, socket or device: never staged */
        int fd = ebt_sys_open(f->phys, flags & ~(O_CREAT | O_EXCL), 0);
        return fd < 0 ? -errno : fd;
    }
    if (exists && f->where == EBT_W_REMOTE)
        return open_remote_for_write(logical, flags, mode, f);
    int in_cache = exists && f->where != EBT_W_PFS;
    if (!in_cache && ebt_cache_over(exists && !(flags & O_TRUNC) ? (uint64_t)f->st.st_size : 0))
        return ebt_open_write_through(logical, flags, mode);
    if (ebt_vis_for(logical) == EBT_VIS_CLOSE && !(flags & O_APPEND))
        return exists ? open_staged(logical, flags, mode, f)
                      : open_staged_new(logical, flags, mode);
    return open_in_layer(ebt_layer_for_write(logical), logical, flags, mode, exists ? f : NULL);
}

static int open_managed_once(const char *logical, int flags, mode_t mode, int *found)
{
    struct ebt_found f;
    int rc = ebt_view_lookup(logical, !(flags & O_NOFOLLOW), &f);
    *found = rc == 0;
    if (rc < 0 && rc != -ENOENT)
        return rc;
    int write_intent = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (rc == 0 && !write_intent)
        return open_for_read(logical, flags, &f);
    if (rc == -ENOENT && !(flags & O_CREAT))
        return -ENOENT;
    if (flags & O_DIRECTORY)
        return rc == 0 ? -ENOTDIR : -ENOENT;
    return open_for_write(logical, flags, mode, &f, rc == 0);
}

int ebt_open_managed(const char *logical, int flags, mode_t mode)
{
    for (int tries = 0;; tries++) {
        int found, rc = open_managed_once(logical, flags, mode, &found);
        /* several nodes: the daemon may move the file between the lookup and the open (RUN/up
         * to RUN/held when it becomes shared; a new fetched copy): look it up again */
        /* a create that lost to another process's (close mode): open the file it made */
        if (rc == -EEXIST && !found && !(flags & O_EXCL) && tries < 2)
            continue;
        if (rc != -ENOENT || !ebt_multinode() || tries == 2 || (!found && !(flags & O_CREAT)))
            return rc;
    }
}

/* ---- recording ---- */

void ebt_record_write(int fd, int64_t off, int64_t len)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    if (!o || !o->track || len <= 0 || off < 0)
        return;
    pthread_mutex_lock(&o->lock);
    if (ebt_ivs_add(&o->ext, (uint64_t)off, (uint64_t)len) < 0)
        o->untracked_writes = 1;
    pthread_mutex_unlock(&o->lock);
}

void ebt_record_trunc(int fd, uint64_t size)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    if (!o || !o->track)
        return;
    pthread_mutex_lock(&o->lock);
    if (!o->trunc_set || size < o->trunc_min)
        o->trunc_min = size;
    o->trunc_set = 1;
    pthread_mutex_unlock(&o->lock);
}

/* Names of this process's unpublished stages directly inside dir (for its own readdir). */
int ebt_stage_children(const char *dir, char names[][256], int max)
{
    int n = 0;
    size_t len = strlen(dir);
    if (!stages)
        return 0;
    pthread_mutex_lock(&ebt.lock);
    for (struct ebt_stage *s = stages; s && n < max; s = s->next) {
        const char *rest = s->logical + len;
        if (s->unlinked || s->published || strncmp(s->logical, dir, len) != 0 || rest[0] != '/' ||
            strchr(rest + 1, '/'))
            continue;
        snprintf(names[n++], 256, "%s", rest + 1);
    }
    pthread_mutex_unlock(&ebt.lock);
    return n;
}

/* Re-create a stage record for an fd inherited across exec. */
struct ebt_stage *ebt_stage_adopt(const char *logical, const char *phys, const char *layer)
{
    pthread_mutex_lock(&ebt.lock);
    struct ebt_stage *s = stages;
    while (s && strcmp(s->phys, phys) != 0)
        s = s->next;
    if (!s && (s = calloc(1, sizeof(*s))) != NULL) {
        snprintf(s->logical, sizeof(s->logical), "%s", logical);
        snprintf(s->phys, sizeof(s->phys), "%s", phys);
        snprintf(s->layer, sizeof(s->layer), "%s", layer);
        s->next = stages;
        stages = s;
    }
    pthread_mutex_unlock(&ebt.lock);
    return s;
}
