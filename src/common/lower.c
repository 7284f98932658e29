/* lower.c - the PFS below a FUSE-covered managed prefix: RUN/lower/<i> links (lower.h). */
#define _GNU_SOURCE
#include "lower.h"
#include "path.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const struct ebt_config *lower_cfg;
static char lower_of[EBT_MAX_PREFIXES][64]; /* "/proc/<pid>/fd/<n>", "" = not mounted */
static int lower_any;

void ebt_lower_reset(void)
{
    memset(lower_of, 0, sizeof(lower_of));
    lower_any = 0;
}

void ebt_lower_set(const struct ebt_config *cfg, int i, const char *lower)
{
    lower_cfg = cfg;
    if (i < 0 || i >= EBT_MAX_PREFIXES)
        return;
    snprintf(lower_of[i], sizeof(lower_of[i]), "%s", lower);
    if (lower[0])
        lower_any = 1;
}

int ebt_lower_load(const struct ebt_config *cfg, const char *run)
{
    ebt_lower_reset();
    lower_cfg = cfg;
    for (int i = 0; i < cfg->nprefixes; i++) {
        char link[PATH_MAX], target[64];
        if (snprintf(link, sizeof(link), "%s/" EBT_LOWER_DIR "/%d", run, i) >= (int)sizeof(link))
            continue;
        ssize_t n = ebt_sys_readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        struct stat st; /* a dead daemon's link leads nowhere: its view is gone too */
        if (ebt_sys_stat(target, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        ebt_lower_set(cfg, i, target);
    }
    return lower_any;
}

int ebt_lower_covers(const char *logical)
{
    for (int i = 0; lower_any && lower_cfg && i < lower_cfg->nprefixes; i++)
        if (lower_of[i][0] && ebt_path_under(logical, lower_cfg->prefixes[i].path))
            return 1;
    return 0;
}

int ebt_lower_path(const char *logical, char *out, size_t cap)
{
    int n = -1;
    if (lower_any && lower_cfg) {
        for (int i = 0; i < lower_cfg->nprefixes; i++) {
            size_t len = ebt_path_under(logical, lower_cfg->prefixes[i].path);
            if (len && lower_of[i][0]) {
                /* the prefix itself: "/." so that lstat sees the directory, not the link */
                n = snprintf(out, cap, "%s%s", lower_of[i], logical[len] ? logical + len : "/.");
                break;
            }
        }
    }
    if (n < 0)
        n = snprintf(out, cap, "%s", logical);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* One O_PATH fd per prefix root, kept for the process's life; reopened when the path that
 * reaches it changes (the daemon mounted or unmounted the view). */
static struct {
    int fd; /* valid when path[0] */
    char path[PATH_MAX];
} root_of[EBT_MAX_PREFIXES];
static pthread_mutex_t root_mu = PTHREAD_MUTEX_INITIALIZER;

/* A duplicate of prefix i's root fd (root is the path reaching it): >= 0 or -errno. */
static int root_fd_dup(int i, const char *root)
{
    int fd = -1;
    pthread_mutex_lock(&root_mu);
    if (root_of[i].path[0] && strcmp(root_of[i].path, root) != 0) {
        ebt_sys_close(root_of[i].fd);
        root_of[i].path[0] = '\0';
    }
    if (!root_of[i].path[0]) {
        root_of[i].fd = ebt_sys_open(root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (root_of[i].fd >= 0)
            snprintf(root_of[i].path, sizeof(root_of[i].path), "%s", root);
    }
    if (root_of[i].path[0])
        fd = fcntl(root_of[i].fd, F_DUPFD_CLOEXEC, 0);
    int err = errno;
    pthread_mutex_unlock(&root_mu);
    return fd >= 0 ? fd : -err;
}

/* The prefix of cfg holding logical: its index, *rel the rest ("" for the prefix itself). */
static int prefix_of(const struct ebt_config *cfg, const char *logical, const char **rel)
{
    for (int i = 0; i < cfg->nprefixes; i++) {
        size_t len = ebt_path_under(logical, cfg->prefixes[i].path);
        if (len) {
            *rel = logical + len + (logical[len] == '/');
            return i;
        }
    }
    return -1;
}

/* Without openat2 (a kernel before 5.6, a seccomp filter): one component at a time, each opened
 * O_NOFOLLOW relative to the last; logical paths are canonical (no "." or ".."). */
static int open_by_components(int root, const char *dir)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", dir);
    int fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
    char *save = NULL;
    for (char *c = strtok_r(buf, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
        int next = strcmp(c, "..") == 0
                       ? (errno = EXDEV, -1)
                       : ebt_sys_openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        int err = errno;
        ebt_sys_close(fd);
        fd = next;
        errno = err;
    }
    return fd >= 0 ? fd : -errno;
}

static int open_beneath(int root, const char *dir)
{
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int)syscall(SYS_openat2, root, dir, &how, sizeof(how));
    if (fd < 0 && (errno == ENOSYS || errno == EPERM))
        return open_by_components(root, dir);
    return fd >= 0 ? fd : -errno;
}

int ebt_lower_at(const struct ebt_config *cfg, const char *logical, char *leaf, size_t cap)
{
    const char *rel;
    char root[PATH_MAX], dir[PATH_MAX];
    int i = prefix_of(cfg, logical, &rel);
    if (i < 0)
        return -EXDEV;
    if (ebt_lower_path(cfg->prefixes[i].path, root, sizeof(root)) < 0)
        return -ENAMETOOLONG;
    const char *slash = strrchr(rel, '/');
    const char *name = !rel[0] ? "." : slash ? slash + 1 : rel;
    size_t dlen = slash ? (size_t)(slash - rel) : 0;
    if (strlen(name) >= cap || dlen >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(dir, rel, dlen);
    dir[dlen] = '\0';
    snprintf(leaf, cap, "%s", name);
    if (!strcmp(name, "..") || !strcmp(name, ".") != !rel[0])
        return -EINVAL; /* logical paths are canonical: never a dot name */
    int rfd = root_fd_dup(i, root);
    if (rfd < 0 || !dir[0])
        return rfd;
    int fd = open_beneath(rfd, dir);
    ebt_sys_close(rfd);
    return fd;
}
