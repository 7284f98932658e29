/* stage_copy.c - one entry of a stage into place: data (whole through xfer.c; chunked files in
 * stage_chunk.c) to a temporary name, then owner, xattrs, mode, times, rename; hard links. */
#define _GNU_SOURCE
#include "stage.h"
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The source entry for reading, confined to the source tree; O_NOATIME where we may. */
int stage_open_src(struct stage_job *j, const struct stage_ent *e)
{
    int fd = stage_open_beneath(j->src_fd, e->rel, O_RDONLY | O_NOATIME);
    return fd == -EPERM ? stage_open_beneath(j->src_fd, e->rel, O_RDONLY) : fd;
}

static int same_meta(struct stage_job *j, const struct stage_ent *e, const struct stat *d)
{
    const struct stat *s = &e->st;
    if ((s->st_mode & S_IFMT) != (d->st_mode & S_IFMT) || s->st_mtim.tv_sec != d->st_mtim.tv_sec ||
        s->st_mtim.tv_nsec != d->st_mtim.tv_nsec)
        return 0;
    if (S_ISREG(s->st_mode) && s->st_size != d->st_size)
        return 0;
    if (!S_ISLNK(s->st_mode) && (s->st_mode & 07777) != (d->st_mode & 07777))
        return 0;
    return !j->can_chown || (s->st_uid == d->st_uid && s->st_gid == d->st_gid);
}

int stage_check_skip(struct stage_job *j, struct stage_ent *e)
{
    struct stat d;
    char t[PATH_MAX];
    if (e->parent >= 0 && j->ents[e->parent].fresh)
        return 0; /* its directory is new: nothing can be in place */
    int pfd = stage_dst_parent(j, e), same = 0;
    if (pfd < 0)
        return 0;
    if (fstatat(pfd, e->leaf, &d, AT_SYMLINK_NOFOLLOW) == 0 && same_meta(j, e, &d)) {
        same = 1;
        if (e->kind == SK_SYMLINK) {
            ssize_t n = readlinkat(pfd, e->leaf, t, sizeof(t) - 1);
            same = n >= 0 && (t[n] = '\0', !strcmp(t, e->target));
        }
    }
    close(pfd);
    if (same && e->kind == SK_REG && j->verify) {
        char *buf = malloc(STAGE_BUF);
        same = buf && stage_same_content(j, e, buf) == 1;
        free(buf);
    }
    return same;
}

void stage_entry_done(struct stage_job *j, struct stage_ent *e, int rc, const char *step)
{
    if (rc < 0) {
        stage_err(j, e->rel, step, -rc);
        e->state = ST_FAILED;
    } else {
        e->state = ST_COPIED;
        atomic_fetch_add(&j->c.copied, 1);
    }
    atomic_fetch_add(&j->c.files_done, 1);
}

/* Tests only: damage the data of the file whose name is j->corrupt, keeping size and times. */
static void test_corrupt(struct stage_job *j, const struct stage_ent *e, int pfd, const char *tmp)
{
    unsigned char b;
    if (!j->corrupt || strcmp(e->leaf, j->corrupt) != 0)
        return;
    int fd = openat(pfd, tmp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && pread(fd, &b, 1, 0) == 1) {
        b ^= 0xff;
        if (pwrite(fd, &b, 1, 0) == 1)
            stage_meta_times(e, pfd, tmp);
    }
    if (fd >= 0)
        close(fd);
}

int stage_finish_rename(struct stage_job *j, const struct stage_ent *e, int pfd, const char *tmp)
{
    test_corrupt(j, e, pfd, tmp);
    return renameat(pfd, tmp, pfd, e->leaf) < 0 ? -errno : 0;
}

/* A small dense file: the flush's engine copies it whole (it sets mode and times itself). */
static int copy_small(struct stage_job *j, struct stage_ent *e, int pfd, const char *tmp,
                      const char **step)
{
    char path[64];
    struct ebt_xfer_stats xs;
    struct ebt_xfer_opts o = {.no_fsync = 1, .umask_known = 1, .dst_at = 1, .dst_dirfd = pfd};
    int sfd = stage_open_src(j, e);
    if (sfd < 0) {
        *step = "open";
        return sfd;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", sfd); /* the confined fd, reopened */
    int rc = ebt_xfer_file_opts(NULL, path, tmp, &xs, step, &o);
    atomic_fetch_add(&j->c.bytes, xs.bytes);
    if (rc == 0)
        rc = stage_meta_apply(j, e, pfd, tmp, sfd, 1, step); /* xfer.c set the mode */
    close(sfd);
    return rc;
}

/* Make name in dirfd an entry like e that has no data (symlink, FIFO), with its metadata. */
static int make_node(struct stage_job *j, struct stage_ent *e, int pfd, const char *tmp,
                     const char **step)
{
    int rc = e->kind == SK_SYMLINK ? symlinkat(e->target, pfd, tmp)
                                   : mknodat(pfd, tmp, S_IFIFO | (e->st.st_mode & 07777), 0);
    if (rc < 0) {
        *step = e->kind == SK_SYMLINK ? "symlink" : "mkfifo";
        return -errno;
    }
    if ((rc = stage_meta_apply(j, e, pfd, tmp, -1, 1, step)) < 0) /* mknod: exact mode */
        return rc;
    *step = "set times";
    return stage_meta_times(e, pfd, tmp);
}

void stage_copy_task(struct stage_job *j, const struct stage_task *t, char *buf)
{
    struct stage_ent *e = &j->ents[t->ent];
    char tmp[64];
    const char *step = "open destination directory";
    int pfd = stage_dst_parent(j, e), rc = pfd;
    stage_tmp_name(j, e, tmp, sizeof(tmp));
    if (pfd >= 0 && e->kind == SK_REG && e->nchunks > 0) {
        stage_copy_chunk(j, t, pfd, buf);
        close(pfd);
        return;
    }
    if (pfd >= 0)
        rc = e->kind == SK_REG ? copy_small(j, e, pfd, tmp, &step)
                               : make_node(j, e, pfd, tmp, &step);
    if (rc == 0 && (rc = stage_finish_rename(j, e, pfd, tmp)) < 0)
        step = "rename";
    if (rc < 0 && pfd >= 0)
        unlinkat(pfd, tmp, 0);
    if (pfd >= 0)
        close(pfd);
    stage_entry_done(j, e, rc, step);
}

/* A further name of an inode: a hard link to the first name's destination (in place already). */
static int link_one(struct stage_job *j, struct stage_ent *e, const char **step)
{
    struct stage_ent *p = &j->ents[e->link_to];
    struct stat ps, ds;
    char tmp[64];
    *step = "link (its first name failed)";
    if (p->state == ST_FAILED || p->state == ST_TODO)
        return -EIO;
    int ppfd = stage_dst_parent(j, p), pfd = stage_dst_parent(j, e), rc = 0;
    *step = "link";
    if (ppfd < 0 || pfd < 0)
        rc = ppfd < 0 ? ppfd : pfd;
    else if (fstatat(ppfd, p->leaf, &ps, AT_SYMLINK_NOFOLLOW) < 0)
        rc = -errno;
    else if (fstatat(pfd, e->leaf, &ds, AT_SYMLINK_NOFOLLOW) == 0 && ds.st_ino == ps.st_ino &&
             ds.st_dev == ps.st_dev)
        rc = 1; /* already this link */
    stage_tmp_name(j, e, tmp, sizeof(tmp));
    if (rc == 0 && linkat(ppfd, p->leaf, pfd, tmp, 0) < 0)
        rc = -errno;
    else if (rc == 0 && renameat(pfd, tmp, pfd, e->leaf) < 0) {
        rc = -errno;
        unlinkat(pfd, tmp, 0);
        *step = "rename";
    }
    if (ppfd >= 0)
        close(ppfd);
    if (pfd >= 0)
        close(pfd);
    return rc;
}

void stage_hardlinks(struct stage_job *j)
{
    for (long i = 0; i < j->nents; i++) {
        struct stage_ent *e = &j->ents[i];
        if (e->kind != SK_HARDLINK)
            continue;
        const char *step;
        int rc = link_one(j, e, &step);
        if (rc == 1) {
            e->state = ST_SKIPPED;
            atomic_fetch_add(&j->c.skipped, 1);
            continue;
        }
        stage_entry_done(j, e, rc, step);
    }
}
