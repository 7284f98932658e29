/* fs_spill.c - a full cache under the FUSE view never fails a write: when the cache file system
 * refuses one (ENOSPC, EDQUOT), the file moves to the PFS (beneath the mount), every handle of
 * the view on it is re-pointed there, its cache copy goes, and the write is done on the PFS. This
 * is the path of every writer the preload client does not see (static binaries, glibc's own
 * creates such as mkstemp, processes without the preload). A file some process holds open on
 * the cache copy itself (the preload fast path) is not moved: that writer could not follow, so
 * the caller keeps the error rather than lose its bytes. */
#define _GNU_SOURCE
#include "fs_int.h"
#include "log.h"
#include "rundir.h"
#include "sys.h"
#include "xfer.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fs_files_init(struct ebtd_fs *fs)
{
    pthread_mutex_init(&fs->files_mu, NULL);
    pthread_rwlock_init(&fs->spill_lock, NULL);
}

void fs_file_track(struct ebtd_fs *fs, struct fs_file *f)
{
    struct stat st;
    f->next = f->prev = NULL;
    f->tracked = f->layer == EBT_L_UP && fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode);
    if (!f->tracked)
        return;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    pthread_mutex_lock(&fs->files_mu);
    f->next = fs->files;
    if (fs->files)
        fs->files->prev = f;
    fs->files = f;
    pthread_mutex_unlock(&fs->files_mu);
}

void fs_file_untrack(struct ebtd_fs *fs, struct fs_file *f)
{
    if (!f->tracked)
        return;
    pthread_mutex_lock(&fs->files_mu);
    if (f->prev)
        f->prev->next = f->next;
    else
        fs->files = f->next;
    if (f->next)
        f->next->prev = f->prev;
    pthread_mutex_unlock(&fs->files_mu);
    f->tracked = 0;
}

/* Does a process other than ebtd hold the file at phys open (its fd's link names it)? Read with
 * readlink only: a stat through /proc/PID/fd could come back into this very view. */
static int held_elsewhere(const char *phys)
{
    DIR *proc = opendir("/proc");
    struct dirent *p;
    char dir[300], link[600], target[PATH_MAX];
    int found = 0, self = (int)getpid();
    while (proc && !found && (p = readdir(proc))) {
        if (!isdigit((unsigned char)p->d_name[0]) || atoi(p->d_name) == self)
            continue;
        snprintf(dir, sizeof(dir), "/proc/%s/fd", p->d_name);
        DIR *fds = opendir(dir);
        struct dirent *e;
        while (fds && !found && (e = readdir(fds))) {
            snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
            ssize_t n = readlink(link, target, sizeof(target) - 1);
            if (n > 0) {
                target[n] = '\0';
                found = strcmp(target, phys) == 0;
            }
        }
        if (fds)
            closedir(fds);
    }
    if (proc)
        closedir(proc);
    return found;
}

/* Every tracked handle on (dev, ino) now writes the PFS file at pfs (same fd numbers). */
static int repoint_handles(struct ebtd_fs *fs, dev_t dev, ino_t ino, const char *pfs)
{
    int rc = 0;
    pthread_mutex_lock(&fs->files_mu);
    for (struct fs_file *f = fs->files; f && rc == 0; f = f->next) {
        if (f->dev != dev || f->ino != ino || f->layer != EBT_L_UP)
            continue;
        int pfd = open(pfs, f->flags | O_CLOEXEC);
        if (pfd < 0 || dup3(pfd, f->fd, O_CLOEXEC) < 0)
            rc = -errno;
        if (pfd >= 0)
            close(pfd);
        if (rc == 0)
            f->layer = EBT_L_LOWER;
    }
    pthread_mutex_unlock(&fs->files_mu);
    return rc;
}

/* The cache copy at phys is the file this handle writes (the name was not moved meanwhile). */
static int name_is_handle(const char *phys, const struct fs_file *f, struct stat *st)
{
    return lstat(phys, st) == 0 && st->st_ino == f->ino && st->st_dev == f->dev;
}

static void remember_spilled(struct ebtd_fs *fs, const char *logical)
{
    char *name = strdup(logical);
    pthread_mutex_lock(&fs->files_mu);
    char **v = name ? realloc(fs->spilled, (fs->nspilled + 1) * sizeof(*v)) : NULL;
    if (v) {
        fs->spilled = v;
        fs->spilled[fs->nspilled++] = name;
    } else {
        free(name);
    }
    pthread_mutex_unlock(&fs->files_mu);
}

int fs_was_spilled(struct ebtd_fs *fs, const char *logical)
{
    int found = 0;
    pthread_mutex_lock(&fs->files_mu);
    for (size_t i = 0; i < fs->nspilled && !found; i++)
        found = strcmp(fs->spilled[i], logical) == 0;
    pthread_mutex_unlock(&fs->files_mu);
    return found;
}

void fs_files_fini(struct ebtd_fs *fs)
{
    for (size_t i = 0; i < fs->nspilled; i++)
        free(fs->spilled[i]);
    free(fs->spilled);
    fs->spilled = NULL;
    fs->nspilled = 0;
}

/* Only a plain up-layer file may go: a task layer's file belongs to its task until the flush,
 * and below an opaque directory (or a whiteout) the PFS copy would be hidden, then removed. */
static int may_spill(struct ebtd_fs *fs, const struct fs_file *f, const char *logical, size_t start,
                     char *phys, struct stat *st)
{
    const char *up = fs->layers.up;
    return f->tracked && f->layer == EBT_L_UP &&
           ebt_layers_up_path(&fs->layers, logical, phys) == 0 &&
           strncmp(phys, up, strlen(up)) == 0 && phys[strlen(up)] == '/' &&
           ebt_layer_hides(up, logical, start) == 0 && name_is_handle(phys, f, st) &&
           !held_elsewhere(phys);
}

static int spill_locked(struct ebtd_fs *fs, struct fs_file *f, const char *logical, size_t start)
{
    char phys[PATH_MAX], pfs[PATH_MAX], src[64];
    struct stat st;
    if (!may_spill(fs, f, logical, start, phys, &st))
        return -ENOSPC;
    int rc = ebt_lower_path(logical, pfs, sizeof(pfs));
    if (rc == 0)
        rc = ebt_mkdirs(pfs, 0755, 1);
    struct ebt_xfer_stats xs = {0};
    const char *step = "";
    snprintf(src, sizeof(src), "/proc/self/fd/%d", f->fd);
    if (rc == 0)
        rc = ebt_xfer_file(NULL, src, pfs, &xs, &step); /* whole: the PFS copy becomes the file */
    if (rc == 0)
        rc = repoint_handles(fs, f->dev, f->ino, pfs);
    if (rc < 0) {
        ebt_error("fuse view: spill of %s to the PFS failed at %s: %s", logical, step,
                  strerror(-rc));
        return -ENOSPC;
    }
    unlink(phys);
    ebt_layers_forget_meta(&fs->layers, &st);
    remember_spilled(fs, logical);
    ebt_warn("fuse view: node-local cache full: %s moved to the PFS, written there from now on",
             logical);
    return 0;
}

int fs_spill(struct ebtd_fs *fs, struct fs_file *f, size_t start)
{
    pthread_rwlock_wrlock(&fs->spill_lock); /* no write into the old copy while it moves */
    int rc = spill_locked(fs, f, f->logical, start);
    pthread_rwlock_unlock(&fs->spill_lock);
    return rc;
}
