/* stage_dest.c - confined access to the trees of a stage (no symlink followed, never above the
 * root), temporary names, and the destination's directories. */
#define _GNU_SOURCE
#include "stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Without openat2 (kernel before 5.6, a seccomp filter): one component at a time, O_NOFOLLOW. */
static int open_by_components(int root, const char *rel, int flags)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", rel);
    int fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
    char *save = NULL, *c = strtok_r(buf, "/", &save);
    while (c && fd >= 0) {
        char *next = strtok_r(NULL, "/", &save);
        int f = next ? O_PATH | O_DIRECTORY : flags;
        int nfd =
            !strcmp(c, "..") ? (errno = EXDEV, -1) : openat(fd, c, f | O_NOFOLLOW | O_CLOEXEC, 0);
        int err = errno;
        close(fd);
        fd = nfd;
        errno = err;
        c = next;
    }
    return fd >= 0 ? fd : -errno;
}

int stage_open_beneath(int root, const char *rel, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int)syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
    if (fd < 0 && (errno == ENOSYS || errno == EPERM) && !(flags & O_NOATIME))
        return *rel ? open_by_components(root, rel, flags) : openat(root, ".", flags | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

static int open_parent(struct stage_job *j, const struct stage_ent *e)
{
    char dir[PATH_MAX];
    size_t n = (size_t)(e->leaf - e->rel);
    if (n >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(dir, e->rel, n ? n - 1 : 0); /* without the '/' before the leaf */
    dir[n ? n - 1 : 0] = '\0';
    return stage_open_beneath(j->dst_fd, dir, O_PATH | O_DIRECTORY);
}

/* Each destination directory is resolved once (on a PFS every path walk costs lookups): its
 * O_PATH fd is kept in j->dirfd and handed out as a duplicate. */
int stage_dst_parent(struct stage_job *j, const struct stage_ent *e)
{
    if (!j->dirfd || e->parent < 0)
        return open_parent(j, e);
    atomic_int *slot = &j->dirfd[e->parent];
    int fd = atomic_load(slot);
    if (fd < 0) {
        int mine = open_parent(j, e), none = -1;
        if (mine < 0)
            return mine;
        if (atomic_compare_exchange_strong(slot, &none, mine))
            fd = mine;
        else {
            close(mine);
            fd = none;
        }
    }
    fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

void stage_dst_cache(struct stage_job *j)
{
    struct rlimit rl;
    long ndirs = (long)atomic_load(&j->c.dirs);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 ||
        (rlim_t)ndirs + 64 + 8 * (rlim_t)j->threads > rl.rlim_cur)
        return; /* too many directories to keep open: resolve each time */
    if (!(j->dirfd = malloc((size_t)j->nents * sizeof(*j->dirfd))))
        return;
    for (long i = 0; i < j->nents; i++)
        atomic_init(&j->dirfd[i], -1);
}

void stage_dst_uncache(struct stage_job *j)
{
    for (long i = 0; j->dirfd && i < j->nents; i++)
        if (atomic_load(&j->dirfd[i]) >= 0)
            close(atomic_load(&j->dirfd[i]));
    free(j->dirfd);
    j->dirfd = NULL;
}

void stage_tmp_name(const struct stage_job *j, const struct stage_ent *e, char *out, size_t cap)
{
    snprintf(out, cap, STAGE_TMP_PREFIX "%lx.%d", (long)(e - j->ents), j->pid);
}

void stage_unlink_prefixed(struct stage_job *j, const char *rel, const char *prefix,
                           const char *except)
{
    int fd = stage_open_beneath(j->dst_fd, rel, O_RDONLY | O_DIRECTORY);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, prefix, strlen(prefix)) &&
            (!except || strncmp(de->d_name, except, strlen(except)) != 0))
            unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
}

/* Remove what a killed run left in an existing destination directory (not its partial files of
 * chunked copies, which this run may resume: stage_chunk.c). */
static void remove_leftovers(struct stage_job *j, const char *rel)
{
    stage_unlink_prefixed(j, rel, STAGE_TMP_PREFIX, STAGE_PART_PREFIX);
}

/* A directory in place of entry e (mode with u+rwx while the copy runs). 0 or -errno. */
static int make_dir(struct stage_job *j, struct stage_ent *e, int pfd)
{
    mode_t mode = (e->st.st_mode & 07777) | S_IRWXU;
    if (mkdirat(pfd, e->leaf, mode) == 0) {
        e->fresh = 1;
        return 0;
    }
    struct stat st;
    if (errno != EEXIST || fstatat(pfd, e->leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode)) {
        if ((st.st_mode & S_IRWXU) != S_IRWXU && fchmodat(pfd, e->leaf, st.st_mode | S_IRWXU, 0))
            return -errno;
        remove_leftovers(j, e->rel);
        return 0;
    }
    /* a file or a symlink where the source has a directory: replaced, never followed */
    if (unlinkat(pfd, e->leaf, 0) < 0 || mkdirat(pfd, e->leaf, mode) < 0)
        return -errno;
    e->fresh = 1;
    return 0;
}

void stage_make_dirs(struct stage_job *j)
{
    remove_leftovers(j, "");
    for (long i = 1; i < j->nents; i++) {
        struct stage_ent *e = &j->ents[i];
        if (e->kind != SK_DIR)
            continue;
        int pfd = stage_dst_parent(j, e);
        int rc = pfd < 0 ? pfd : make_dir(j, e, pfd);
        if (pfd >= 0)
            close(pfd);
        if (rc < 0) {
            stage_err(j, e->rel, "mkdir", -rc);
            e->state = ST_FAILED;
        }
    }
}
