/* stage_meta.c - owners, modes, user xattrs and times of staged entries; directories last. */
#define _GNU_SOURCE
#include "stage.h"
#include "xattrcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The user xattrs of src_fd onto the destination (opened only if there are some); a read-only
 * destination gets u+w first: its final mode is set after the xattrs. */
int stage_xattr_copy(int src_fd, int dirfd, const char *name)
{
    int any = ebt_xattr_any(src_fd), changed = 0;
    if (any <= 0)
        return any;
    int dfd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    int rc = ebt_xattr_copy(src_fd, dfd, &changed);
    close(dfd);
    return rc < 0 ? rc : 0;
}

/* 1 if the owner was changed (which clears setuid/setgid), 0 if not, or -errno. */
static int meta_owner(struct stage_job *j, const struct stage_ent *e, int dirfd, const char *name)
{
    if (e->st.st_uid == j->euid && e->st.st_gid == j->egid)
        return 0; /* created with these already */
    if (fchownat(dirfd, name, e->st.st_uid, e->st.st_gid, AT_SYMLINK_NOFOLLOW) == 0)
        return 1;
    /* not allowed (not root, or root without CAP_CHOWN): keep what the kernel allows (a group
     * we are in), else our own; owners no longer count for the skip check */
    if (errno == EPERM) {
        if (atomic_exchange(&j->can_chown, 0))
            stage_warn(j, "", "owners are not kept: changing them is not permitted");
        if (e->st.st_gid != j->egid)
            fchownat(dirfd, name, (uid_t)-1, e->st.st_gid, AT_SYMLINK_NOFOLLOW);
        return 1;
    }
    return -errno;
}

int stage_meta_apply(struct stage_job *j, const struct stage_ent *e, int dirfd, const char *name,
                     int src_fd, int mode_set, const char **step)
{
    int chowned = meta_owner(j, e, dirfd, name), rc = 0;
    if (chowned < 0) {
        *step = "chown";
        return chowned;
    }
    if (src_fd >= 0 && (rc = stage_xattr_copy(src_fd, dirfd, name)) < 0) {
        *step = "xattrs";
        return rc;
    }
    /* after the owner: chown clears setuid/setgid */
    if (mode_set && !(chowned && (e->st.st_mode & (S_ISUID | S_ISGID))))
        return 0;
    if (!S_ISLNK(e->st.st_mode) && fchmodat(dirfd, name, e->st.st_mode & 07777, 0) < 0) {
        *step = "chmod";
        return -errno;
    }
    return 0;
}

int stage_meta_times(const struct stage_ent *e, int dirfd, const char *name)
{
    struct timespec ts[2] = {e->st.st_atim, e->st.st_mtim};
    return utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* One directory: its parent and name in the destination (the root: itself and "."). */
static void dir_meta_one(struct stage_job *j, struct stage_ent *e)
{
    const char *step = "open";
    int pfd = e->rel[0] ? stage_dst_parent(j, e) : fcntl(j->dst_fd, F_DUPFD_CLOEXEC, 0);
    int sfd = stage_open_beneath(j->src_fd, e->rel, O_RDONLY | O_DIRECTORY | O_NOATIME);
    if (sfd == -EPERM)
        sfd = stage_open_beneath(j->src_fd, e->rel, O_RDONLY | O_DIRECTORY);
    int rc = pfd < 0 ? pfd : stage_meta_apply(j, e, pfd, e->leaf, sfd, 0, &step);
    if (rc == 0 && (rc = stage_meta_times(e, pfd, e->leaf)) < 0)
        step = "set times";
    if (rc < 0) {
        stage_err(j, e->rel, step, -rc);
        e->state = ST_FAILED;
    }
    if (sfd >= 0)
        close(sfd);
    if (pfd >= 0)
        close(pfd);
}

void stage_dir_meta(struct stage_job *j)
{
    for (long i = j->nents - 1; i >= 0; i--)
        if (j->ents[i].kind == SK_DIR && j->ents[i].state != ST_FAILED)
            dir_meta_one(j, &j->ents[i]);
}
