/* pfsdir.c - the daemon's input services' shared pieces (pfsdir.h): input paths in messages,
 * and cached fds of PFS directories. */
#define _GNU_SOURCE
#include "pfsdir.h"
#include "path.h"
#include "proto.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A normalised path under one of the job's inputs (out), from a payload; 0 or -errno. */
int ebtd_input_path(const struct ebtd *d, const char *p, size_t len, char *out, size_t cap)
{
    int n = ebt_proto_path_check(p, (uint32_t)len);
    if (n < 0 || (size_t)n + 1 != len)
        return -EINVAL;
    int rc = ebt_path_normalize("/", p, out, cap);
    if (rc < 0)
        return rc;
    for (int i = 0; i < d->cfg->ninputs; i++)
        if (ebt_path_under(out, d->cfg->inputs[i]))
            return 0;
    return -EXDEV;
}

/* PFS directories inputs were read in: O_PATH fds, so that an open or a stat asks the PFS for
 * the last name only, not for every component of the path. Direct-mapped by the path's hash. */
#define IN_DIRS 256
static struct ebtd_pfs_dir in_dirs[IN_DIRS];

/* The directory part of phys in dir (PATH_MAX): 0, or -1 with errno set. */
static int dir_of(const char *phys, char *dir)
{
    const char *slash = strrchr(phys, '/');
    size_t n = slash ? (size_t)(slash - phys) : 0;
    if (!slash || n >= PATH_MAX) {
        errno = EINVAL;
        return -1;
    }
    memcpy(dir, phys, n ? n : 1); /* "/name": the root */
    dir[n ? n : 1] = '\0';
    return 0;
}

void ebtd_pfs_dir_drop(const char *phys)
{
    char dir[PATH_MAX];
    if (dir_of(phys, dir) < 0)
        return;
    struct ebtd_pfs_dir *e = &in_dirs[ebt_path_hash(dir) % IN_DIRS];
    if (e->path && !strcmp(e->path, dir)) {
        free(e->path);
        ebt_sys_close(e->fd);
        *e = (struct ebtd_pfs_dir){NULL, -1, 0};
    }
}

struct ebtd_pfs_dir *ebtd_pfs_dir_of(const char *phys)
{
    char dir[PATH_MAX];
    if (dir_of(phys, dir) < 0)
        return NULL;
    struct ebtd_pfs_dir *e = &in_dirs[ebt_path_hash(dir) % IN_DIRS];
    if (e->path && !strcmp(e->path, dir))
        return e;
    struct stat st;
    int fd = ebt_sys_open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    char *copy = strdup(dir);
    if (!copy || ebt_sys_fstat(fd, &st) < 0) {
        free(copy);
        ebt_sys_close(fd);
        errno = ENOMEM;
        return NULL;
    }
    if (e->path) {
        free(e->path);
        ebt_sys_close(e->fd);
    }
    *e = (struct ebtd_pfs_dir){copy, fd, st.st_dev};
    return e;
}
