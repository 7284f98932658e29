/* layers.c - the one-node layered namespace (up over the PFS) for ebtd's FUSE view (layers.h). */
#define _GNU_SOURCE
#include "layers.h"
#include "lower.h"
#include "path.h"
#include "rundir.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int ebt_layers_init(struct ebt_layers *L, const char *run, const struct ebt_config *cfg)
{
    memset(L, 0, sizeof(*L));
    L->cfg = cfg;
    snprintf(L->run, sizeof(L->run), "%s", run);
    if (ebt_layer_root(run, NULL, L->up, sizeof(L->up)) < 0 ||
        ebt_layer_root(run, cfg->task_id, L->task, sizeof(L->task)) < 0)
        return -ENAMETOOLONG;
    char path[PATH_MAX];
    if (ebt_rundir_file(run, "state", path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    int fd = ebt_sys_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (ebt_sys_fstat(fd, &st) == 0 && st.st_size < EBT_STATE_SIZE)
        ebt_sys_ftruncate(fd, EBT_STATE_SIZE);
    void *p = mmap(NULL, EBT_STATE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ebt_sys_close(fd);
    if (p == MAP_FAILED)
        return -errno;
    L->whiteouts = &((struct ebt_shared_state *)p)->whiteouts;
    L->cache_bytes = &((struct ebt_shared_state *)p)->cache_bytes;
    return 0;
}

void ebt_layers_fini(struct ebt_layers *L)
{
    if (L->whiteouts)
        munmap((char *)L->whiteouts - offsetof(struct ebt_shared_state, whiteouts), EBT_STATE_SIZE);
    L->whiteouts = NULL;
    L->cache_bytes = NULL;
}

/* The layer that takes changes of logical: the task layer under visibility task, else up. */
static const char *top(const struct ebt_layers *L, const char *logical)
{
    return ebt_config_visibility_for(L->cfg, logical) == EBT_VIS_TASK ? L->task : L->up;
}

int ebt_layers_up_path(const struct ebt_layers *L, const char *logical, char *out)
{
    return ebt_layer_path(top(L, logical), logical, out, PATH_MAX);
}

static size_t prefix_len(const struct ebt_layers *L, const char *logical)
{
    for (int i = 0; i < L->cfg->nprefixes; i++) {
        size_t n = ebt_path_under(logical, L->cfg->prefixes[i].path);
        if (n)
            return n;
    }
    return 0;
}

static int exists(const char *path)
{
    struct stat st;
    return ebt_sys_lstat(path, &st) == 0;
}

int ebt_layer_hides(const char *layer, const char *logical, size_t start)
{
    char part[PATH_MAX], probe[PATH_MAX];
    size_t len = strlen(logical);
    int opaque = 0;
    for (size_t i = start + 1; i <= len; i++) {
        if (logical[i] != '/' && logical[i] != '\0')
            continue;
        memcpy(part, logical, i);
        part[i] = '\0';
        if (ebt_whiteout_path(layer, part, probe, sizeof(probe)) == 0 && exists(probe))
            return -ENOENT;
        if (i < len &&
            snprintf(probe, sizeof(probe), "%s%s/" EBT_OPAQUE_NAME, layer, part) <
                (int)sizeof(probe) &&
            exists(probe))
            opaque = 1;
    }
    return opaque;
}

static int hidden_in(const struct ebt_layers *L, const char *layer, const char *logical)
{
    if (L->whiteouts && __atomic_load_n(L->whiteouts, __ATOMIC_ACQUIRE) == 0)
        return 0;
    return ebt_layer_hides(layer, logical, prefix_len(L, logical));
}

/* The node-local layers of logical, top first: (task,) up. */
static int stack(const struct ebt_layers *L, const char *logical, const char **v)
{
    int n = 0;
    if (top(L, logical) == L->task)
        v[n++] = L->task;
    v[n++] = L->up;
    return n;
}

static int lower_lookup(const char *logical, struct ebt_hit *h)
{
    if (ebt_lower_path(logical, h->phys, sizeof(h->phys)) < 0)
        return -ENAMETOOLONG;
    if (ebt_sys_lstat(h->phys, &h->st) < 0)
        return -errno;
    h->layer = EBT_L_LOWER;
    return 0;
}

int ebt_layers_lookup(const struct ebt_layers *L, const char *logical, struct ebt_hit *h)
{
    if (ebt_leaf_reserved(logical))
        return -ENOENT; /* a marker of a layer, never a name of the job */
    const char *v[2];
    int n = stack(L, logical, v);
    for (int i = 0; i < n; i++) { /* a layer's markers hide what lies below it */
        int hide = hidden_in(L, v[i], logical);
        if (hide < 0)
            return hide;
        if (ebt_layer_path(v[i], logical, h->phys, sizeof(h->phys)) < 0)
            return -ENAMETOOLONG;
        if (ebt_sys_lstat(h->phys, &h->st) == 0) {
            h->layer = EBT_L_UP;
            return 0;
        }
        if (errno != ENOENT)
            return -errno;
        if (hide)
            return -ENOENT;
    }
    return lower_lookup(logical, h);
}

/* What lies below the top layer for logical (what a copy-up copies). */
static int below_top(const struct ebt_layers *L, const char *logical, struct ebt_hit *h)
{
    const char *v[2];
    if (stack(L, logical, v) == 2 && hidden_in(L, v[0], logical) == 0) {
        int hide = hidden_in(L, L->up, logical);
        if (hide < 0)
            return hide;
        if (ebt_layer_path(L->up, logical, h->phys, sizeof(h->phys)) < 0)
            return -ENAMETOOLONG;
        if (ebt_sys_lstat(h->phys, &h->st) == 0) {
            h->layer = EBT_L_UP;
            return 0;
        }
        if (hide)
            return -ENOENT;
    }
    return lower_lookup(logical, h);
}

int ebt_layers_in_lower(const struct ebt_layers *L, const char *logical)
{
    struct ebt_hit h;
    return hidden_in(L, top(L, logical), logical) == 0 && below_top(L, logical, &h) == 0;
}

/* Create up/<logical> as a directory like the view's one (mode, times), parents first. */
int ebt_layers_up_dir(const struct ebt_layers *L, const char *logical)
{
    char up[PATH_MAX];
    struct ebt_hit h;
    if (ebt_layers_up_path(L, logical, up) < 0)
        return -ENAMETOOLONG;
    if (exists(up))
        return 0;
    size_t start = prefix_len(L, logical);
    if (strlen(logical) > start) { /* below the prefix: the parent first */
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", logical);
        *strrchr(parent, '/') = '\0';
        int rc = ebt_layers_up_dir(L, parent);
        if (rc < 0)
            return rc;
    } else {
        int rc = ebt_mkdirs(up, 0755, 1);
        if (rc < 0)
            return rc;
    }
    int rc = below_top(L, logical, &h);
    mode_t mode = rc == 0 && S_ISDIR(h.st.st_mode) ? h.st.st_mode & 07777 : 0755;
    if (ebt_sys_mkdir(up, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (syscall(SYS_fchmodat, AT_FDCWD, up, mode) < 0)
        return -errno;
    if (rc == 0) {
        struct timespec ts[2] = {h.st.st_atim, h.st.st_mtim};
        utimensat(AT_FDCWD, up, ts, AT_SYMLINK_NOFOLLOW);
    }
    return 0;
}

static int parent_up_dir(const struct ebt_layers *L, const char *logical)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", logical);
    char *slash = strrchr(parent, '/');
    if (!slash || (size_t)(slash - parent) < prefix_len(L, logical))
        return 0; /* the prefix itself */
    *slash = '\0';
    return ebt_layers_up_dir(L, parent);
}

int ebt_layers_copy_up(const struct ebt_layers *L, const char *logical, int truncate)
{
    struct ebt_hit h;
    char up[PATH_MAX], tmp[PATH_MAX + 32];
    int rc = below_top(L, logical, &h);
    if (rc < 0)
        return rc;
    if (!S_ISREG(h.st.st_mode))
        return -EINVAL;
    if ((rc = parent_up_dir(L, logical)) < 0 || (rc = ebt_layers_up_path(L, logical, up)) < 0)
        return rc;
    static unsigned long seq;
    snprintf(tmp, sizeof(tmp), "%s/stage/copyup.%d.%lu", L->run, (int)getpid(),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    if (truncate) {
        int fd = ebt_sys_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        rc = fd < 0 ? -errno : 0;
        if (fd >= 0 && ebt_sys_fchmod(fd, h.st.st_mode & 07777) < 0)
            rc = -errno;
        if (fd >= 0)
            ebt_sys_close(fd);
    } else {
        rc = ebt_copy_to_new(h.phys, tmp, h.st.st_mode & 07777, NULL);
        struct timespec ts[2] = {h.st.st_atim, h.st.st_mtim};
        if (rc == 0)
            utimensat(AT_FDCWD, tmp, ts, 0);
    }
    if (rc == 0 && syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, up, RENAME_NOREPLACE) < 0)
        rc = errno == EEXIST ? 0 : -errno; /* another copy-up won: use it */
    ebt_sys_unlink(tmp);
    return rc;
}

int ebt_layers_whiteout(const struct ebt_layers *L, const char *logical)
{
    char wh[PATH_MAX];
    int rc = ebt_whiteout_path(top(L, logical), logical, wh, sizeof(wh));
    if (rc < 0 || (rc = parent_up_dir(L, logical)) < 0)
        return rc;
    if (L->whiteouts) /* before the marker exists: a reader that sees it also checks */
        __atomic_add_fetch(L->whiteouts, 1, __ATOMIC_ACQ_REL);
    int fd = ebt_sys_open(wh, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    ebt_sys_close(fd);
    return 0;
}

void ebt_layers_unwhiteout(const struct ebt_layers *L, const char *logical)
{
    char wh[PATH_MAX];
    if (ebt_whiteout_path(top(L, logical), logical, wh, sizeof(wh)) == 0)
        ebt_sys_unlink(wh);
}

int ebt_layers_has_whiteout(const struct ebt_layers *L, const char *logical)
{
    char wh[PATH_MAX];
    return ebt_whiteout_path(top(L, logical), logical, wh, sizeof(wh)) == 0 && exists(wh);
}

int ebt_layers_make_opaque(const struct ebt_layers *L, const char *logical)
{
    char up[PATH_MAX], marker[PATH_MAX];
    if (ebt_layers_up_path(L, logical, up) < 0 ||
        snprintf(marker, sizeof(marker), "%s/" EBT_OPAQUE_NAME, up) >= (int)sizeof(marker))
        return -ENAMETOOLONG;
    if (L->whiteouts)
        __atomic_add_fetch(L->whiteouts, 1, __ATOMIC_ACQ_REL);
    int fd = ebt_sys_open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    ebt_sys_close(fd);
    return 0;
}

/* ---- listing ---- */

struct names {
    char **v;
    size_t n, cap;
};

static int names_add(struct names *ns, const char *name)
{
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 64;
        char **v = realloc(ns->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ns->v = v;
        ns->cap = cap;
    }
    return (ns->v[ns->n++] = strdup(name)) ? 0 : -ENOMEM;
}

static void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_has(const struct names *ns, const char *name)
{
    return ns->n && bsearch(&name, ns->v, ns->n, sizeof(char *), cmp_name) != NULL;
}

/* Read the directory phys; reserved names go to `marks` (without their prefix for whiteouts). */
static int read_dir(const char *phys, struct names *out, struct names *whiteouts, int *opaque)
{
    DIR *d = opendir(phys);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        if (whiteouts && !strncmp(n, EBT_WHITEOUT_PREFIX, sizeof(EBT_WHITEOUT_PREFIX) - 1))
            rc = names_add(whiteouts, n + sizeof(EBT_WHITEOUT_PREFIX) - 1);
        else if (whiteouts && !strcmp(n, EBT_OPAQUE_NAME))
            *opaque = 1;
        else
            rc = names_add(out, n);
    }
    closedir(d);
    return rc;
}

static int pack(struct names *ns, char **names, size_t *bytes)
{
    size_t total = 1;
    for (size_t i = 0; i < ns->n; i++)
        total += strlen(ns->v[i]) + 1;
    char *buf = malloc(total), *p = buf;
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < ns->n; i++) {
        if (i && !strcmp(ns->v[i], ns->v[i - 1]))
            continue;
        size_t len = strlen(ns->v[i]) + 1;
        memcpy(p, ns->v[i], len);
        p += len;
    }
    *names = buf;
    *bytes = (size_t)(p - buf);
    return 0;
}

/* Add the names of the directory phys that no layer above hides (their whiteouts in wh). */
static int add_layer(struct names *all, const struct names *wh, const char *phys,
                     struct names *wh_here, int *opaque)
{
    struct names here = {0};
    int rc = read_dir(phys, &here, wh_here, opaque);
    for (size_t i = 0; rc == 0 && i < here.n; i++)
        if (!names_has(wh, here.v[i]))
            rc = names_add(all, here.v[i]);
    names_free(&here);
    return rc;
}

int ebt_layers_list(const struct ebt_layers *L, const char *logical, char **names, size_t *bytes)
{
    struct names all = {0}, wh = {0};
    char phys[PATH_MAX];
    const char *v[2];
    int n = stack(L, logical, v), opaque = 0, rc = 0, hide = 0;
    for (int i = 0; rc == 0 && i < n && !opaque && !hide; i++) {
        if ((hide = hidden_in(L, v[i], logical)) < 0)
            break;
        rc = ebt_layer_path(v[i], logical, phys, sizeof(phys)) < 0
                 ? -ENAMETOOLONG
                 : add_layer(&all, &wh, phys, &wh, &opaque);
        if (wh.n > 1)
            qsort(wh.v, wh.n, sizeof(char *), cmp_name);
    }
    if (rc == 0 && hide < 0 && all.n == 0)
        rc = hide;
    if (rc == 0 && !opaque && !hide && ebt_lower_path(logical, phys, sizeof(phys)) == 0)
        rc = add_layer(&all, &wh, phys, NULL, NULL);
    if (all.n > 1)
        qsort(all.v, all.n, sizeof(char *), cmp_name);
    int count = (int)all.n;
    if (rc == 0)
        rc = pack(&all, names, bytes);
    names_free(&all);
    names_free(&wh);
    return rc < 0 ? rc : count;
}

int ebt_layers_remove_up_dir(const struct ebt_layers *L, const char *logical)
{
    char up[PATH_MAX];
    if (ebt_layers_up_path(L, logical, up) < 0)
        return -ENAMETOOLONG;
    return ebt_remove_tree(up); /* only markers are left in it */
}

void ebt_layers_forget_meta(const struct ebt_layers *L, const struct stat *st)
{
    char meta[PATH_MAX];
    if (S_ISREG(st->st_mode) && st->st_nlink <= 1 &&
        ebt_meta_path(L->run, (unsigned long long)st->st_ino, meta, sizeof(meta)) == 0)
        ebt_sys_unlink(meta);
}
