/* plan.c - walk the upper layer once and sort what the flush must do into phase lists. */
#define _GNU_SOURCE
#include "plan.h"
#include "dirlist.h"
#include "log.h"
#include "rundir.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int list_push(struct ebt_plan_list *l, const char *path, mode_t mode)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *p = realloc(l->v, cap * sizeof(*l->v));
        if (!p)
            return -ENOMEM;
        l->v = p;
        l->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    l->v[l->n++] = (struct ebt_plan_item){copy, mode, NULL, 0};
    return 0;
}

struct plan_ino {
    dev_t dev;
    ino_t ino;
    char *path;
};

/* A regular file with several names: the first name found goes to files, the others to links. */
static int push_linked(struct ebt_plan *p, const char *logical, const struct stat *st)
{
    for (size_t i = 0; i < p->ninos; i++) { /* hard links are rare: a linear search will do */
        if (p->inos[i].ino == st->st_ino && p->inos[i].dev == st->st_dev) {
            int rc = list_push(&p->links, logical, st->st_mode);
            if (rc == 0 && !(p->links.v[p->links.n - 1].link_to = strdup(p->inos[i].path)))
                rc = -ENOMEM;
            return rc;
        }
    }
    if (p->ninos == p->capinos) {
        size_t cap = p->capinos ? p->capinos * 2 : 16;
        void *v = realloc(p->inos, cap * sizeof(*p->inos));
        if (!v)
            return -ENOMEM;
        p->inos = v;
        p->capinos = cap;
    }
    if (!(p->inos[p->ninos].path = strdup(logical)))
        return -ENOMEM;
    p->inos[p->ninos].dev = st->st_dev;
    p->inos[p->ninos++].ino = st->st_ino;
    return list_push(&p->files, logical, st->st_mode);
}

static void list_free(struct ebt_plan_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].link_to);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

int ebt_plan_depth(const char *path)
{
    int d = 0;
    for (; *path; path++)
        d += *path == '/';
    return d;
}

static int scan_dir(const char *root, const char *rel, struct ebt_plan *p);

/* Changed at or after p->since? (Equal counts as changed: the clock is coarse.) */
static int changed(const struct ebt_plan *p, const struct stat *st)
{
    if (!p->since.tv_sec && !p->since.tv_nsec)
        return 1;
    return st->st_ctim.tv_sec > p->since.tv_sec ||
           (st->st_ctim.tv_sec == p->since.tv_sec && st->st_ctim.tv_nsec >= p->since.tv_nsec);
}

/* A whiteout or opaque marker: changed since? */
static int marker_changed(const struct ebt_plan *p, const char *root, const char *rel,
                          const char *name)
{
    char real[PATH_MAX];
    struct stat st;
    if (!p->since.tv_sec && !p->since.tv_nsec)
        return 1;
    if (snprintf(real, sizeof(real), "%s%s/%s", root, rel, name) >= (int)sizeof(real) ||
        ebt_sys_lstat(real, &st) < 0)
        return 1;
    return changed(p, &st);
}

static int scan_entry(const char *root, const char *rel, const struct ebt_dirent *e,
                      struct ebt_plan *p)
{
    char logical[PATH_MAX], real[PATH_MAX];
    struct stat st;
    if (!strcmp(e->name, EBT_OPAQUE_NAME))
        return marker_changed(p, root, rel, e->name) ? list_push(&p->opaques, *rel ? rel : "/", 0)
                                                     : 0;
    if (!strncmp(e->name, EBT_WHITEOUT_PREFIX, strlen(EBT_WHITEOUT_PREFIX))) {
        if (!marker_changed(p, root, rel, e->name))
            return 0;
        if (snprintf(logical, sizeof(logical), "%s/%s", rel,
                     e->name + strlen(EBT_WHITEOUT_PREFIX)) >= (int)sizeof(logical))
            return -ENAMETOOLONG;
        return list_push(&p->whiteouts, logical, 0);
    }
    if (ebt_name_reserved(e->name))
        return 0;
    if (snprintf(logical, sizeof(logical), "%s/%s", rel, e->name) >= (int)sizeof(logical) ||
        snprintf(real, sizeof(real), "%s%s", root, logical) >= (int)sizeof(real))
        return -ENAMETOOLONG;
    if (ebt_sys_lstat(real, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode)) {
        int rc = changed(p, &st) ? list_push(&p->dirs, logical, st.st_mode) : 0;
        return rc < 0 ? rc : scan_dir(root, logical, p);
    }
    if (!changed(p, &st))
        return 0;
    if (S_ISREG(st.st_mode) && st.st_nlink > 1)
        return push_linked(p, logical, &st);
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
        return list_push(&p->files, logical, st.st_mode);
    int rc = list_push(&p->specials, logical, st.st_mode);
    if (rc == 0)
        p->specials.v[p->specials.n - 1].rdev = st.st_rdev;
    return rc;
}

static int scan_dir(const char *root, const char *rel, struct ebt_plan *p)
{
    char dir[PATH_MAX];
    struct ebt_dirlist l;
    if (snprintf(dir, sizeof(dir), "%s%s", root, rel) >= (int)sizeof(dir))
        return -ENAMETOOLONG;
    int rc = ebt_dirlist_read(dir, &l);
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = scan_entry(root, rel, &l.e[i], p);
    ebt_dirlist_free(&l);
    return rc;
}

static int cmp_deepest_first(const void *a, const void *b)
{
    const struct ebt_plan_item *x = a, *y = b;
    int dx = ebt_plan_depth(x->path), dy = ebt_plan_depth(y->path);
    return dx != dy ? dy - dx : strcmp(x->path, y->path);
}

static int cmp_shallow_first(const void *a, const void *b)
{
    return -cmp_deepest_first(a, b);
}

int ebt_plan_scan(const char *up_root, struct ebt_plan *p)
{
    static const struct timespec all;
    return ebt_plan_scan_since(up_root, &all, p);
}

int ebt_plan_scan_since(const char *up_root, const struct timespec *since, struct ebt_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->since = *since;
    int rc = scan_dir(up_root, "", p);
    if (rc < 0) {
        ebt_plan_free(p);
        return rc == -ENOENT ? 0 : rc;
    }
    if (p->whiteouts.n > 1)
        qsort(p->whiteouts.v, p->whiteouts.n, sizeof(*p->whiteouts.v), cmp_deepest_first);
    if (p->opaques.n > 1)
        qsort(p->opaques.v, p->opaques.n, sizeof(*p->opaques.v), cmp_shallow_first);
    return 0;
}

void ebt_plan_free(struct ebt_plan *p)
{
    list_free(&p->opaques);
    list_free(&p->whiteouts);
    list_free(&p->dirs);
    list_free(&p->files);
    list_free(&p->links);
    list_free(&p->specials);
    for (size_t i = 0; i < p->ninos; i++)
        free(p->inos[i].path);
    free(p->inos);
    p->inos = NULL;
    p->ninos = p->capinos = 0;
}
