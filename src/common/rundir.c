/* rundir.c - path construction for the run directory's layers, whiteouts and metadata. */
#define _GNU_SOURCE
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/file.h>

static int fit(int n, size_t cap)
{
    return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

int ebt_rundir_file(const char *run, const char *name, char *out, size_t cap)
{
    return fit(snprintf(out, cap, "%s/%s", run, name), cap);
}

int ebt_layer_root(const char *run, const char *task_id, char *out, size_t cap)
{
    if (task_id)
        return fit(snprintf(out, cap, "%s/task/%s", run, task_id), cap);
    return fit(snprintf(out, cap, "%s/up", run), cap);
}

int ebt_layer_path(const char *layer_root, const char *logical, char *out, size_t cap)
{
    if (logical[0] == '/' && logical[1] == '\0')
        return fit(snprintf(out, cap, "%s", layer_root), cap);
    return fit(snprintf(out, cap, "%s%s", layer_root, logical), cap);
}

int ebt_whiteout_path(const char *layer_root, const char *logical, char *out, size_t cap)
{
    const char *slash = strrchr(logical, '/');
    if (!slash || slash[1] == '\0')
        return -EINVAL;
    int dirlen = (int)(slash - logical);
    return fit(snprintf(out, cap, "%s%.*s/%s%s", layer_root, dirlen, logical, EBT_WHITEOUT_PREFIX,
                        slash + 1),
               cap);
}

int ebt_meta_path(const char *run, unsigned long long ino, char *out, size_t cap)
{
    return fit(snprintf(out, cap, "%s/meta/%llu", run, ino), cap);
}

int ebt_icache_path(const char *run, const struct stat *st, char *out, size_t cap)
{
    return fit(snprintf(out, cap, "%s/" EBT_ICACHE_DIR "/%llx-%llx-%llx-%lld.%ld-%lld.%ld", run,
                        (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
                        (unsigned long long)st->st_size, (long long)st->st_mtim.tv_sec,
                        (long)st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
                        (long)st->st_ctim.tv_nsec),
               cap);
}

int ebt_name_reserved(const char *name)
{
    return strncmp(name, EBT_RESERVED_PREFIX, sizeof(EBT_RESERVED_PREFIX) - 1) == 0;
}

int ebt_leaf_reserved(const char *path)
{
    const char *slash = strrchr(path, '/');
    return ebt_name_reserved(slash ? slash + 1 : path);
}

int ebt_share_lock(const char *run)
{
    char path[4096];
    if (ebt_rundir_file(run, "share.lock", path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    int fd = ebt_sys_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    while (syscall(SYS_flock, fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            ebt_sys_close(fd);
            return -e;
        }
    }
    return fd;
}
