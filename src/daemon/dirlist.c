/* dirlist.c - whole-directory listing on raw system calls, sorted for merges and lookups. */
#define _GNU_SOURCE
#include "dirlist.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dirlist_push(struct ebt_dirlist *l, const char *name, unsigned char type)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        void *p = realloc(l->e, cap * sizeof(*l->e));
        if (!p)
            return -ENOMEM;
        l->e = p;
        l->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    l->e[l->n++] = (struct ebt_dirent){copy, type};
    return 0;
}

static unsigned char type_of(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return DT_UNKNOWN;
    return S_ISDIR(st.st_mode)   ? DT_DIR
           : S_ISLNK(st.st_mode) ? DT_LNK
           : S_ISREG(st.st_mode) ? DT_REG
                                 : DT_UNKNOWN;
}

static int dirlist_fill(int fd, struct ebt_dirlist *out)
{
    char buf[16384];
    for (;;) {
        ssize_t n = ebt_sys_getdents64(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        for (ssize_t pos = 0; pos < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + pos);
            pos += d->d_reclen;
            if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
                continue;
            unsigned char t = d->d_type != DT_UNKNOWN ? d->d_type : type_of(fd, d->d_name);
            int rc = dirlist_push(out, d->d_name, t);
            if (rc < 0)
                return rc;
        }
    }
}

static int cmp_dirent(const void *a, const void *b)
{
    return strcmp(((const struct ebt_dirent *)a)->name, ((const struct ebt_dirent *)b)->name);
}

int ebt_dirlist_read(const char *path, struct ebt_dirlist *out)
{
    memset(out, 0, sizeof(*out));
    int fd = ebt_sys_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = ebt_dirlist_readfd(fd, out);
    ebt_sys_close(fd);
    return rc;
}

int ebt_dirlist_readfd(int fd, struct ebt_dirlist *out)
{
    memset(out, 0, sizeof(*out));
    int rc = dirlist_fill(fd, out);
    if (rc < 0) {
        ebt_dirlist_free(out);
        return rc;
    }
    if (out->n > 1)
        qsort(out->e, out->n, sizeof(*out->e), cmp_dirent);
    return 0;
}

void ebt_dirlist_free(struct ebt_dirlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->e[i].name);
    free(l->e);
    memset(l, 0, sizeof(*l));
}

const struct ebt_dirent *ebt_dirlist_find(const struct ebt_dirlist *l, const char *name)
{
    struct ebt_dirent key = {.name = (char *)name};
    if (l->n == 0)
        return NULL;
    return bsearch(&key, l->e, l->n, sizeof(*l->e), cmp_dirent);
}

int ebt_dirlist_each_child(const char *dir, int (*fn)(const char *child, void *ctx), void *ctx)
{
    struct ebt_dirlist l;
    char child[PATH_MAX];
    int rc = ebt_dirlist_read(dir, &l);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        if (snprintf(child, sizeof(child), "%s/%s", dir, l.e[i].name) >= (int)sizeof(child))
            rc = -ENAMETOOLONG;
        else
            rc = fn(child, ctx);
    }
    ebt_dirlist_free(&l);
    return rc;
}
