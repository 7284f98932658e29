/* mdanswer.c - asking the PFS a metadata question relative to a directory fd and encoding the
 * answer (mdanswer.h): shared by the client's input cache and the daemon's job-wide answers. */
#define _GNU_SOURCE
#include "mdanswer.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int ebt_mda_kind_valid(int kind)
{
    switch (kind) {
    case EBT_MDA_STAT:
    case EBT_MDA_LSTAT:
    case EBT_MDA_STATX:
    case EBT_MDA_LSTATX:
    case EBT_MDA_LINK:
    case EBT_MDA_LIST:
        return 1;
    }
    return 0;
}

size_t ebt_mda_answer_max(int kind, size_t cap)
{
    size_t n = kind == EBT_MDA_STAT || kind == EBT_MDA_LSTAT     ? sizeof(struct stat)
               : kind == EBT_MDA_STATX || kind == EBT_MDA_LSTATX ? sizeof(struct statx)
               : kind == EBT_MDA_LINK                            ? PATH_MAX
                                                                 : cap;
    return n < cap ? n : cap;
}

const char *ebt_mda_rec_name(const unsigned char *rec)
{
    return (const char *)rec + EBT_MDA_REC_HDR;
}

size_t ebt_mda_rec_size(const unsigned char *rec)
{
    uint16_t n;
    memcpy(&n, rec + 10, 2);
    return EBT_MDA_REC_HDR + n + 1u;
}

/* out takes a copy of the n bytes at p as its answer: 0 or -ENOMEM. */
static int take(struct ebt_mda *out, int err, const void *p, size_t n)
{
    out->err = err;
    out->len = err ? 0 : n;
    out->data = NULL;
    if (out->len && !(out->data = malloc(out->len)))
        return -ENOMEM;
    if (out->len)
        memcpy(out->data, p, out->len);
    return 0;
}

/* Append the getdents64 records of buf to the listing (grown as needed): 0 or -errno. */
static int list_append(unsigned char **out, size_t *len, size_t *cap, const char *buf, ssize_t n)
{
    for (ssize_t pos = 0; pos < n;) {
        const struct dirent64 *d = (const struct dirent64 *)(buf + pos);
        pos += d->d_reclen;
        uint16_t nl = (uint16_t)strlen(d->d_name);
        size_t need = EBT_MDA_REC_HDR + nl + 1u;
        if (*len + need > EBT_MDA_MAX_LIST)
            return EBT_MDA_LIST_TOO_BIG;
        if (*len + need > *cap) {
            size_t c = *cap ? *cap * 2 : 16384;
            unsigned char *p = realloc(*out, c);
            if (!p)
                return -ENOMEM;
            *out = p;
            *cap = c;
        }
        unsigned char *r = *out + *len;
        uint64_t ino = d->d_ino;
        memcpy(r, &ino, 8);
        r[8] = d->d_type;
        r[9] = 0;
        memcpy(r + 10, &nl, 2);
        memcpy(r + EBT_MDA_REC_HDR, d->d_name, nl + 1u);
        *len += need;
    }
    return 0;
}

static int ask_list(int dirfd, const char *name, struct ebt_mda *out)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    char dents[32768];
    int fd = ebt_sys_openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    int rc = fd < 0 ? -errno : 0;
    for (ssize_t n; rc == 0 && (n = ebt_sys_getdents64(fd, dents, sizeof(dents))) != 0;)
        rc = n < 0 ? -errno : list_append(&buf, &len, &cap, dents, n);
    if (fd >= 0)
        ebt_sys_close(fd);
    if (rc == -ENOMEM) {
        free(buf);
        return -ENOMEM;
    }
    out->err = rc;
    out->len = rc ? 0 : len;
    out->data = rc ? NULL : buf;
    if (rc || !len) {
        free(buf);
        out->data = NULL;
    }
    return 0;
}

int ebt_mda_ask(int kind, int dirfd, const char *name, struct ebt_mda *out)
{
    struct stat st;
    struct statx stx;
    char link[PATH_MAX];
    long rc;
    switch (kind) {
    case EBT_MDA_STAT:
    case EBT_MDA_LSTAT:
        rc = ebt_sys_fstatat(dirfd, name, &st, kind == EBT_MDA_LSTAT ? AT_SYMLINK_NOFOLLOW : 0);
        return take(out, rc < 0 ? -errno : 0, &st, sizeof(st));
    case EBT_MDA_STATX:
    case EBT_MDA_LSTATX:
        rc = syscall(SYS_statx, dirfd, name, kind == EBT_MDA_LSTATX ? AT_SYMLINK_NOFOLLOW : 0,
                     STATX_BASIC_STATS | STATX_BTIME, &stx);
        return take(out, rc < 0 ? -errno : 0, &stx, sizeof(stx));
    case EBT_MDA_LINK:
        rc = syscall(SYS_readlinkat, dirfd, name, link, sizeof(link));
        return take(out, rc < 0 ? -errno : 0, link, rc < 0 ? 0 : (size_t)rc);
    case EBT_MDA_LIST:
        return ask_list(dirfd, name, out);
    }
    return take(out, -EINVAL, NULL, 0);
}
