/* stage_walk.c - list the source tree of a stage, parents before children, and group hard links. */
#define _GNU_SOURCE
#include "stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int kind_of(mode_t m)
{
    return S_ISDIR(m)    ? SK_DIR
           : S_ISREG(m)  ? SK_REG
           : S_ISLNK(m)  ? SK_SYMLINK
           : S_ISFIFO(m) ? SK_FIFO
                         : SK_SPECIAL;
}

/* Append an entry named name below parent's rel ("" for the root itself). */
static long ent_add(struct stage_job *j, long parent, const char *name, const struct stat *st)
{
    if (j->nents == j->cap) {
        long cap = j->cap ? j->cap * 2 : 1024;
        struct stage_ent *n = realloc(j->ents, (size_t)cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        j->ents = n;
        j->cap = cap;
    }
    struct stage_ent *e = &j->ents[j->nents];
    const char *prel = parent >= 0 ? j->ents[parent].rel : "";
    memset(e, 0, sizeof(*e));
    e->parent = parent;
    size_t plen = strlen(prel);
    if (asprintf(&e->rel, "%s%s%s", prel, plen ? "/" : "", name) < 0)
        return -ENOMEM;
    e->leaf = *name ? e->rel + plen + (plen ? 1 : 0) : ".";
    e->st = *st;
    e->kind = kind_of(st->st_mode);
    e->link_to = -1;
    e->out_fd = e->map_fd = -1;
    return j->nents++;
}

static void count_kind(struct stage_job *j, int kind)
{
    atomic_ullong *c[] = {
        [SK_DIR] = &j->c.dirs,   [SK_REG] = &j->c.files,          [SK_SYMLINK] = &j->c.symlinks,
        [SK_FIFO] = &j->c.fifos, [SK_HARDLINK] = &j->c.hardlinks, [SK_SPECIAL] = &j->c.specials};
    atomic_fetch_add(c[kind], 1);
}

static int read_target(struct stage_job *j, long i, int dfd, const char *name)
{
    size_t cap = (size_t)j->ents[i].st.st_size + 2;
    char *t = malloc(cap < PATH_MAX ? PATH_MAX : cap);
    if (!t)
        return -ENOMEM;
    ssize_t n = readlinkat(dfd, name, t, (cap < PATH_MAX ? PATH_MAX : cap) - 1);
    if (n < 0) {
        int err = errno;
        free(t);
        return -err;
    }
    t[n] = '\0';
    j->ents[i].target = t;
    return 0;
}

/* One child of directory d (listed as prel). */
static int walk_child(struct stage_job *j, int dfd, long parent, const char *name)
{
    const char *prel = j->ents[parent].rel;
    struct stat st;
    char rel[PATH_MAX];
    snprintf(rel, sizeof(rel), "%s%s%s", prel, *prel ? "/" : "", name);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        stage_err(j, rel, "stat", errno);
        return 0;
    }
    long i = ent_add(j, parent, name, &st);
    if (i < 0)
        return (int)i;
    if (j->ents[i].kind == SK_SYMLINK) {
        int rc = read_target(j, i, dfd, name);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0) {
            stage_err(j, rel, "readlink", -rc);
            j->ents[i].state = ST_FAILED;
        }
    }
    if (j->ents[i].kind == SK_SPECIAL)
        stage_warn(j, rel, "a socket or device: skipped");
    count_kind(j, j->ents[i].kind);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in d, sorted (the copy goes in tree order whatever order readdir gives). */
static char **read_names(DIR *d, size_t *n_p, int *err_p)
{
    size_t n = 0, cap = 64;
    char **v = malloc(cap * sizeof(*v));
    struct dirent *de;
    errno = 0;
    while (v && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char **nv = n == cap ? realloc(v, (cap *= 2) * sizeof(*v)) : v;
        if (!nv || !(nv[n] = strdup(de->d_name))) {
            for (size_t k = 0; k < n; k++)
                free(nv ? nv[k] : v[k]);
            free(nv ? nv : v);
            *err_p = ENOMEM;
            return NULL;
        }
        v = nv;
        n++;
        errno = 0;
    }
    *err_p = v ? errno : ENOMEM;
    if (v)
        qsort(v, n, sizeof(*v), by_name);
    *n_p = n;
    return v;
}

/* List directory entry i; its children are appended (listed later: breadth first). */
static int walk_dir(struct stage_job *j, long i)
{
    char *prel = j->ents[i].rel; /* stable: the string is not moved by realloc */
    int fd = stage_open_beneath(j->src_fd, prel, O_RDONLY | O_DIRECTORY | O_NOATIME);
    if (fd == -EPERM)
        fd = stage_open_beneath(j->src_fd, prel, O_RDONLY | O_DIRECTORY);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        stage_err(j, prel, "open directory", fd < 0 ? -fd : errno);
        if (fd >= 0)
            close(fd);
        j->ents[i].state = ST_FAILED;
        return i == 0 ? -1 : 0;
    }
    size_t n = 0;
    int rc = 0, err = 0;
    char **names = read_names(d, &n, &err);
    if (err == ENOMEM)
        rc = -ENOMEM;
    else if (err) {
        stage_err(j, prel, "read directory", err);
        j->ents[i].state = ST_FAILED;
    }
    for (size_t k = 0; k < n; k++) {
        if (rc == 0)
            rc = walk_child(j, dirfd(d), i, names[k]);
        free(names[k]);
    }
    free(names);
    closedir(d);
    return rc;
}

static const struct stage_job *sort_job;

static int by_inode(const void *a, const void *b)
{
    const struct stat *x = &sort_job->ents[*(const long *)a].st;
    const struct stat *y = &sort_job->ents[*(const long *)b].st;
    if (x->st_dev != y->st_dev)
        return x->st_dev < y->st_dev ? -1 : 1;
    if (x->st_ino != y->st_ino)
        return x->st_ino < y->st_ino ? -1 : 1;
    return *(const long *)a < *(const long *)b ? -1 : 1;
}

/* Names of one inode after the first become SK_HARDLINK entries pointing at the first. */
static int group_links(struct stage_job *j)
{
    long n = 0, *idx = malloc((size_t)(j->nents + 1) * sizeof(long));
    if (!idx)
        return -ENOMEM;
    for (long i = 0; i < j->nents; i++)
        if (j->ents[i].kind != SK_DIR && j->ents[i].kind != SK_SPECIAL &&
            j->ents[i].st.st_nlink > 1 && j->ents[i].state != ST_FAILED)
            idx[n++] = i;
    sort_job = j;
    qsort(idx, (size_t)n, sizeof(long), by_inode);
    for (long k = 1; k < n; k++) {
        struct stage_ent *p = &j->ents[idx[k - 1]], *e = &j->ents[idx[k]];
        if (p->st.st_dev != e->st.st_dev || p->st.st_ino != e->st.st_ino)
            continue;
        atomic_fetch_sub(e->kind == SK_REG    ? &j->c.files
                         : e->kind == SK_FIFO ? &j->c.fifos
                                              : &j->c.symlinks,
                         1);
        e->link_to = p->kind == SK_HARDLINK ? p->link_to : idx[k - 1];
        e->kind = SK_HARDLINK;
        atomic_fetch_add(&j->c.hardlinks, 1);
    }
    free(idx);
    return 0;
}

int stage_walk(struct stage_job *j)
{
    struct stat st;
    if (fstat(j->src_fd, &st) < 0 || ent_add(j, -1, "", &st) < 0) {
        stage_err(j, "", "stat", errno);
        return -1;
    }
    count_kind(j, SK_DIR);
    for (long i = 0; i < j->nents; i++) {
        if (j->ents[i].kind != SK_DIR)
            continue;
        int rc = walk_dir(j, i);
        if (rc == -ENOMEM)
            stage_err(j, j->ents[i].rel, "list", ENOMEM);
        if (rc < 0)
            return -1;
    }
    if (group_links(j) < 0) {
        stage_err(j, "", "group hard links", ENOMEM);
        return -1;
    }
    return 0;
}

void stage_free(struct stage_job *j)
{
    for (long i = 0; i < j->nents; i++) {
        free(j->ents[i].rel);
        free(j->ents[i].target);
    }
    free(j->ents);
    free(j->tasks);
    j->ents = NULL;
    j->tasks = NULL;
}
