/* dir.c - directory streams of managed directories: the merged, sorted union of the layers. */
#define _GNU_SOURCE
#include "client.h"
#include "lower.h"
#include "mdcache.h"
#include "path.h"
#include "real.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct dir_entry {
    char *name;
    unsigned char type;
    unsigned char whiteout;
    unsigned char remote; /* from RUN/remote (multi-node) */
    int rank;             /* 0 = top layer */
    ino_t ino;
};

struct entry_list {
    struct dir_entry *e;
    size_t n, cap;
};

struct ebt_dirstream {
    struct ebt_dirstream *next;
    DIR *real; /* a real stream on the top physical directory: dirfd() and closedir() work */
    char logical[PATH_MAX];
    int input; /* a directory of an input that is not managed: the PFS's entries as they are */
    struct entry_list list;
    size_t pos;
    union {
        struct dirent d;
        char pad[offsetof(struct dirent, d_name) + 256];
    } ent;
    union {
        struct dirent64 d;
        char pad[offsetof(struct dirent64, d_name) + 256];
    } ent64;
};

static struct ebt_dirstream *streams; /* under ebt.lock */

static int list_add(struct entry_list *l, const char *name, unsigned char type, int wh, int rank,
                    ino_t ino, int remote)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *p = realloc(l->e, cap * sizeof(*l->e));
        if (!p)
            return -ENOMEM;
        l->e = p;
        l->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    l->e[l->n++] =
        (struct dir_entry){copy, type, (unsigned char)wh, (unsigned char)remote, rank, ino};
    return 0;
}

static void list_free(struct entry_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->e[i].name);
    free(l->e);
    memset(l, 0, sizeof(*l));
}

static int read_layer(const char *phys, int rank, int is_pfs, int remote, struct entry_list *l)
{
    int fd = ebt_sys_open(phys, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    char buf[16384];
    int rc = 0;
    ssize_t n;
    while (rc == 0 && (n = ebt_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t pos = 0; rc == 0 && pos < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + pos);
            pos += d->d_reclen;
            const char *name = d->d_name;
            int wh = 0;
            if (!is_pfs && ebt_name_reserved(name)) {
                if (strncmp(name, EBT_WHITEOUT_PREFIX, sizeof(EBT_WHITEOUT_PREFIX) - 1) != 0)
                    continue;
                name += sizeof(EBT_WHITEOUT_PREFIX) - 1;
                wh = 1;
            }
            rc = list_add(l, name, d->d_type, wh, rank, d->d_ino, remote);
        }
    }
    ebt_sys_close(fd);
    return rc;
}

struct cached_ctx {
    struct entry_list *l;
    int rank;
};

static int add_cached(void *arg, const char *name, unsigned char type, uint64_t ino)
{
    struct cached_ctx *c = arg;
    return list_add(c->l, name, type, 0, c->rank, (ino_t)ino, 0);
}

/* The PFS's entries of logical (at phys): from the metadata cache under an input. */
static int read_pfs(const char *logical, const char *phys, int rank, struct entry_list *l)
{
    struct cached_ctx c = {l, rank};
    int rc = ebt_mdc_list(logical, phys, add_cached, &c);
    return rc == 1 ? read_layer(phys, rank, 1, 0, l) : rc;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct dir_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->rank - y->rank;
}

/* The entry that decides a name: the top-most one. On a multi-node job a whiteout of this node
 * hides only the PFS: a remote entry (another node made the name again) shows through. */
static size_t group_pick(const struct entry_list *l, size_t group, size_t end)
{
    if (!l->e[group].whiteout || l->e[group].remote || !ebt_multinode())
        return group;
    for (size_t i = group + 1; i < end; i++)
        if (l->e[i].remote)
            return i;
    return group;
}

/* Keep the deciding entry of each name; drop names decided by a whiteout. */
static void list_merge(struct entry_list *l)
{
    qsort(l->e, l->n, sizeof(*l->e), entry_cmp);
    size_t k = 0;
    for (size_t group = 0, end; group < l->n; group = end) {
        for (end = group + 1; end < l->n && strcmp(l->e[group].name, l->e[end].name) == 0;)
            end++;
        size_t pick = group_pick(l, group, end);
        for (size_t i = group; i < end; i++) {
            if (i == pick && !l->e[i].whiteout)
                l->e[k++] = l->e[i];
            else
                free(l->e[i].name);
        }
    }
    l->n = k;
}

static int add_own_stages(const char *logical, struct entry_list *l)
{
    /* Files this process is writing under visibility close are visible to it. */
    int rc = 0;
    char names[32][256];
    int n = ebt_stage_children(logical, names, 32);
    for (int i = 0; i < n && rc == 0; i++)
        rc = list_add(l, names[i], DT_REG, 0, -1, 1, 0);
    return rc;
}

static int collect(const char *logical, struct entry_list *l)
{
    char phys[4][PATH_MAX];
    if (ebt_multinode()) { /* refresh RUN/remote/<dir> from every node's shard */
        int rc = ebt_md_listdir(logical);
        if (rc < 0)
            return rc;
    }
    int n = ebt_view_dir_sources(logical, phys, 4);
    if (n == 0)
        return -ENOENT;
    char lower[PATH_MAX];
    if (ebt_lower_path(logical, lower, sizeof(lower)) < 0)
        lower[0] = '\0';
    int rc = add_own_stages(logical, l);
    for (int i = 0; i < n && rc == 0; i++) {
        int remote = ebt_multinode() && ebt_path_under(phys[i], ebt.remote_root) > 0;
        if (!strcmp(phys[i], lower))
            rc = read_pfs(logical, phys[i], i, l);
        else
            rc = read_layer(phys[i], i, strcmp(phys[i], logical) == 0, remote, l);
    }
    if (rc == 0)
        list_merge(l);
    return rc;
}

int ebt_view_dir_empty(const char *logical)
{
    struct entry_list l = {0};
    int rc = collect(logical, &l);
    size_t real_entries = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        if (strcmp(l.e[i].name, ".") && strcmp(l.e[i].name, ".."))
            real_entries++;
    list_free(&l);
    return rc < 0 ? rc : real_entries == 0;
}

/* The real stream behind a merged one (dirfd and closedir work on it): its top directory; for
 * a PFS directory of an input, the run directory's stand-in (RUN/mdc), not another PFS open. */
static DIR *open_handle(const char *logical)
{
    char top[1][PATH_MAX], lower[PATH_MAX], standin[PATH_MAX];
    if (ebt_view_dir_sources(logical, top, 1) != 1)
        return NULL;
    if (ebt_input_of(logical) >= 0 && ebt_lower_path(logical, lower, sizeof(lower)) == 0 &&
        !strcmp(top[0], lower) && ebt_mdc_standin(standin) == 0)
        return EBT_REAL(opendir)(standin);
    return EBT_REAL(opendir)(top[0]);
}

static int collect_input(const char *logical, struct entry_list *l)
{
    struct cached_ctx c = {l, 0};
    int rc = ebt_mdc_list(logical, logical, add_cached, &c);
    return rc == 1 ? read_layer(logical, 0, 1, 0, l) : rc;
}

static DIR *dir_open(const char *logical, int fd, int input)
{
    struct ebt_dirstream *s = calloc(1, sizeof(*s));
    char standin[PATH_MAX];
    if (!s)
        return NULL;
    snprintf(s->logical, sizeof(s->logical), "%s", logical);
    s->input = input;
    int rc = input ? collect_input(logical, &s->list) : collect(logical, &s->list);
    if (rc == 0) {
        s->real = fd >= 0 ? EBT_REAL(fdopendir)(fd) : NULL;
        if (fd < 0 && input)
            s->real = ebt_mdc_standin(standin) == 0 ? EBT_REAL(opendir)(standin) : NULL;
        else if (fd < 0)
            s->real = open_handle(logical);
        rc = s->real ? 0 : -errno;
    }
    if (rc < 0) {
        list_free(&s->list);
        free(s);
        errno = -rc;
        return NULL;
    }
    pthread_mutex_lock(&ebt.lock);
    s->next = streams;
    streams = s;
    pthread_mutex_unlock(&ebt.lock);
    return s->real;
}

DIR *ebt_dir_open(const char *logical, int fd)
{
    return dir_open(logical, fd, 0);
}

DIR *ebt_dir_open_input(const char *path)
{
    return dir_open(path, -1, 1);
}

static struct ebt_dirstream *find_stream(DIR *d, int unlink_it)
{
    if (!streams)
        return NULL;
    pthread_mutex_lock(&ebt.lock);
    struct ebt_dirstream **p = &streams;
    while (*p && (*p)->real != d)
        p = &(*p)->next;
    struct ebt_dirstream *s = *p;
    if (s && unlink_it)
        *p = s->next;
    pthread_mutex_unlock(&ebt.lock);
    return s;
}

int ebt_dir_is_ours(DIR *d)
{
    return find_stream(d, 0) != NULL;
}

static struct dir_entry *next_entry(DIR *d)
{
    struct ebt_dirstream *s = find_stream(d, 0);
    if (!s || s->pos >= s->list.n)
        return NULL;
    return &s->list.e[s->pos++];
}

struct dirent *ebt_dir_read(DIR *d)
{
    struct ebt_dirstream *s = find_stream(d, 0);
    struct dir_entry *e = next_entry(d);
    if (!e)
        return NULL;
    struct dirent *out = &s->ent.d;
    out->d_ino = e->ino;
    out->d_off = (off_t)s->pos;
    out->d_type = e->type;
    snprintf(out->d_name, 256, "%s", e->name);
    out->d_reclen = (unsigned short)(offsetof(struct dirent, d_name) + strlen(out->d_name) + 1);
    return out;
}

struct dirent64 *ebt_dir_read64(DIR *d)
{
    struct ebt_dirstream *s = find_stream(d, 0);
    struct dir_entry *e = next_entry(d);
    if (!e)
        return NULL;
    struct dirent64 *out = &s->ent64.d;
    out->d_ino = e->ino;
    out->d_off = (off64_t)s->pos;
    out->d_type = e->type;
    snprintf(out->d_name, 256, "%s", e->name);
    out->d_reclen = (unsigned short)(offsetof(struct dirent64, d_name) + strlen(out->d_name) + 1);
    return out;
}

void ebt_dir_rewind(DIR *d)
{
    struct ebt_dirstream *s = find_stream(d, 0);
    if (!s)
        return;
    list_free(&s->list);
    if (s->input)
        collect_input(s->logical, &s->list);
    else
        collect(s->logical, &s->list);
    s->pos = 0;
}

int ebt_dir_close(DIR *d)
{
    struct ebt_dirstream *s = find_stream(d, 1);
    if (!s)
        return EBT_REAL(closedir)(d);
    struct ebt_ofd *o = ebt_fd_take(dirfd(d));
    if (o)
        ebt_ofd_release(o);
    int rc = EBT_REAL(closedir)(d);
    list_free(&s->list);
    free(s);
    return rc;
}

/* Names in the merged view of a directory, without "." and "..". The caller frees with
 * ebt_view_list_free. 0 or -errno. */
int ebt_view_list(const char *logical, char ***names, size_t *n)
{
    struct entry_list l = {0};
    int rc = collect(logical, &l);
    *names = NULL;
    *n = 0;
    if (rc == 0 && !(*names = calloc(l.n + 1, sizeof(char *))))
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        if (strcmp(l.e[i].name, ".") && strcmp(l.e[i].name, "..")) {
            (*names)[(*n)++] = l.e[i].name;
            l.e[i].name = NULL;
        }
    }
    list_free(&l);
    return rc;
}

void ebt_view_list_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
