/* layer.c - removal and markers in layer trees, dropping the extent logs of removed files. */
#define _GNU_SOURCE
#include "layer.h"
#include "dirlist.h"
#include "rundir.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>

void ebt_layer_drop_log(const char *run_dir, unsigned long long ino)
{
    char meta[PATH_MAX];
    if (ebt_meta_path(run_dir, ino, meta, sizeof(meta)) == 0)
        ebt_sys_unlink(meta);
}

static int remove_in_layer(const char *child, void *run_dir)
{
    return ebt_layer_remove(run_dir, child);
}

int ebt_layer_clear_dir(const char *run_dir, const char *dir)
{
    return ebt_dirlist_each_child(dir, remove_in_layer, (void *)run_dir);
}

int ebt_layer_remove(const char *run_dir, const char *path)
{
    struct stat st;
    if (ebt_sys_lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode)) {
        int rc = ebt_layer_clear_dir(run_dir, path);
        if (rc == 0 && ebt_sys_rmdir(path) < 0 && errno != ENOENT)
            rc = -errno;
        return rc;
    }
    if (S_ISREG(st.st_mode))
        ebt_layer_drop_log(run_dir, (unsigned long long)st.st_ino);
    return ebt_sys_unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int ebt_layer_touch(const char *path)
{
    int fd = ebt_sys_open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    ebt_sys_close(fd);
    return 0;
}

int ebt_layer_usage(const char *root, unsigned long long *files, unsigned long long *bytes)
{
    struct ebt_dirlist l;
    char child[PATH_MAX];
    struct stat st;
    int rc = ebt_dirlist_read(root, &l);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        if (ebt_name_reserved(l.e[i].name) ||
            snprintf(child, sizeof(child), "%s/%s", root, l.e[i].name) >= (int)sizeof(child))
            continue;
        if (l.e[i].type == DT_DIR) {
            rc = ebt_layer_usage(child, files, bytes);
        } else if (ebt_sys_lstat(child, &st) == 0 && S_ISREG(st.st_mode)) {
            (*files)++;
            *bytes += (unsigned long long)st.st_size;
        }
    }
    ebt_dirlist_free(&l);
    return rc;
}
