/* wrap_dir.c - wrappers for directory streams: managed directories list the merged view. */
#define _GNU_SOURCE
#include "client.h"
#include "mdcache.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>

/* A directory of an input that is not managed: its entries from the metadata cache. */
static DIR *opendir_input(const char *l)
{
    struct stat st;
    int rc = ebt_mdc_stat(l, l, 1, &st);
    if (rc == 0 && !S_ISDIR(st.st_mode))
        rc = -ENOTDIR;
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return ebt_dir_open_input(l);
}

DIR *opendir(const char *p)
{
    char l[PATH_MAX];
    if (ebt_resolve(AT_FDCWD, p, l) <= 0)
        return ebt_input_resolve(AT_FDCWD, p, l) ? opendir_input(l) : EBT_REAL(opendir)(p);
    struct ebt_found f;
    int rc = ebt_view_lookup(l, 1, &f);
    if (rc == 0 && !S_ISDIR(f.st.st_mode))
        rc = -ENOTDIR;
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return ebt_dir_open(l, -1);
}

DIR *fdopendir(int fd)
{
    struct ebt_ofd *o = ebt_fd_get(fd);
    if (!o || o->kind != EBT_OFD_DIR)
        return EBT_REAL(fdopendir)(fd);
    return ebt_dir_open(o->logical, fd);
}

struct dirent *readdir(DIR *d)
{
    return ebt_dir_is_ours(d) ? ebt_dir_read(d) : EBT_REAL(readdir)(d);
}

struct dirent64 *readdir64(DIR *d)
{
    return ebt_dir_is_ours(d) ? ebt_dir_read64(d) : EBT_REAL(readdir64)(d);
}

void rewinddir(DIR *d)
{
    if (ebt_dir_is_ours(d))
        ebt_dir_rewind(d);
    else
        EBT_REAL(rewinddir)(d);
}

int closedir(DIR *d)
{
    return ebt_dir_close(d);
}
