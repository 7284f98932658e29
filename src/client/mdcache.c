/* mdcache.c - the metadata cache of input trees (EBT_INPUT_PATHS; docs/semantics.md "Inputs"):
 * the PFS's answers to stat, lstat, statx, readlink and directory listings of paths under an
 * input, kept for the job on this node in RUN/mdc (one file per answer, written once and renamed
 * into place, shared by every process of the job on the node; the run directory is the job
 * user's, mode 0700) and in this process's memory. An answer is used only while the job's
 * generation in RUN/state is the one it was asked under: a change under an input raises it. */
#define _GNU_SOURCE
#include "client.h"
#include "mdcache.h"
#include "path.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#define MDC_MAGIC 0x45424d43u     /* "EBMC" */
#define MDC_BUCKETS 4096          /* per process */
#define MDC_MAX_ENTRIES 65536     /* per process; then the table starts again */
#define MDC_MAX_LIST (8u << 20)   /* bytes of one listing; a bigger directory is not listed */
#define MDC_MAX_FILE (16u << 20)  /* a shared answer bigger than this is not read */
#define MDC_LIST_TOO_BIG (-EFBIG) /* a listing record: the directory is too big to list */

struct mdc_ent {
    struct mdc_ent *next;
    uint64_t hash;
    int kind;
    int err;         /* 0, or the -errno the PFS answered */
    size_t len;      /* bytes of data */
    uint32_t *index; /* MDC_LIST: offsets of the records, sorted by name */
    size_t nindex;
    char *key;
    unsigned char data[];
};

/* The shared file's header, then the key (keylen bytes), then the data (len bytes). */
struct mdc_hdr {
    uint32_t magic;
    uint32_t kind;
    uint64_t gen;
    int32_t err;
    uint32_t keylen;
    uint64_t len;
};

static struct mdc_ent *table[MDC_BUCKETS];
static size_t table_n;
static uint64_t table_gen;
static pthread_mutex_t mdc_lock = PTHREAD_MUTEX_INITIALIZER; /* a leaf: no syscall under it */
static int mdc_dir_made;

void ebt_mdc_atfork(int phase)
{
    if (phase == 0)
        pthread_mutex_lock(&mdc_lock);
    else
        pthread_mutex_unlock(&mdc_lock);
}

static uint64_t gen_now(void)
{
    return __atomic_load_n(&ebt.shared->mdc_gen, __ATOMIC_ACQUIRE);
}

int ebt_input_of(const char *logical)
{
    if (!ebt.shared)
        return -1;
    uint64_t off = __atomic_load_n(&ebt.shared->mdc_off, __ATOMIC_ACQUIRE);
    for (int i = 0; i < ebt.cfg.ninputs; i++)
        if (ebt_path_under(logical, ebt.cfg.inputs[i]))
            return (off >> i) & 1 ? -1 : i;
    return -1;
}

static int input_any(const char *logical)
{
    for (int i = 0; i < ebt.cfg.ninputs; i++)
        if (ebt_path_under(logical, ebt.cfg.inputs[i]))
            return i;
    return -1;
}

int ebt_input_resolve(int dirfd, const char *path, char *out)
{
    if (!ebt.cfg.ninputs || !ebt.enabled || !path || !path[0] || ebt_in_client)
        return 0;
    if (path[0] != '/' && dirfd != AT_FDCWD)
        return 0; /* relative to a directory fd: asked of the kernel (not cached) */
    if (strstr(path, ".."))
        return 0; /* ".." after a symlink is the kernel's to resolve, not a lexical step */
    if (ebt_path_normalize(path[0] == '/' ? "/" : ebt.cwd, path, out, PATH_MAX) < 0)
        return 0;
    return ebt_input_of(out) >= 0 && !ebt_is_managed_path(out);
}

void ebt_mdc_written(int dirfd, const char *path)
{
    char l[PATH_MAX];
    if (!ebt.cfg.ninputs || !ebt.enabled || !ebt.shared || !path || ebt_in_client)
        return;
    if (path[0] != '/' && dirfd != AT_FDCWD) {
        char base[PATH_MAX], link[64];
        struct ebt_ofd *o = ebt_fd_get(dirfd);
        snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
        ssize_t n = o ? (ssize_t)snprintf(base, sizeof(base), "%s", o->logical)
                      : ebt_sys_readlink(link, base, sizeof(base) - 1);
        if (n <= 0 || (size_t)n >= sizeof(base))
            return;
        base[n] = '\0';
        if (base[0] != '/' || ebt_path_normalize(base, path, l, sizeof(l)) < 0)
            return;
    } else if (ebt_path_normalize(path[0] == '/' ? "/" : ebt.cwd, path, l, sizeof(l)) < 0) {
        return;
    }
    int i = input_any(l);
    if (i < 0)
        return;
    if (!ebt_is_managed_path(l)) /* the PFS itself changes: no more caching of this input */
        __atomic_or_fetch(&ebt.shared->mdc_off, 1ull << i, __ATOMIC_ACQ_REL);
    __atomic_add_fetch(&ebt.shared->mdc_gen, 1, __ATOMIC_ACQ_REL);
}

/* ---- the process's table (under mdc_lock) ---- */

static uint64_t key_hash(int kind, const char *key)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)kind;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static void table_clear(void)
{
    for (size_t b = 0; b < MDC_BUCKETS; b++) {
        for (struct mdc_ent *e = table[b], *next; e; e = next) {
            next = e->next;
            free(e->index);
            free(e);
        }
        table[b] = NULL;
    }
    table_n = 0;
}

static struct mdc_ent *table_find(int kind, const char *key, uint64_t h, uint64_t gen)
{
    if (table_gen != gen) {
        table_clear();
        table_gen = gen;
    }
    for (struct mdc_ent *e = table[h % MDC_BUCKETS]; e; e = e->next)
        if (e->hash == h && e->kind == kind && !strcmp(e->key, key))
            return e;
    return NULL;
}

/* A listing record: u64 ino, u8 type, u8 0, u16 name length, the name and its '\0'. */
#define REC_HDR 12
static const char *rec_name(const unsigned char *rec)
{
    return (const char *)rec + REC_HDR;
}

static size_t rec_size(const unsigned char *rec)
{
    uint16_t n;
    memcpy(&n, rec + 10, 2);
    return REC_HDR + n + 1u;
}

static const unsigned char *index_base;
static int index_cmp(const void *a, const void *b)
{
    return strcmp(rec_name(index_base + *(const uint32_t *)a),
                  rec_name(index_base + *(const uint32_t *)b));
}

/* Sort the names of a listing for lookups (under mdc_lock: index_base is shared). */
static void index_build(struct mdc_ent *e)
{
    size_t n = 0, cap = 64;
    uint32_t *idx = malloc(cap * sizeof(*idx));
    for (size_t off = 0; idx && off + REC_HDR < e->len; off += rec_size(e->data + off)) {
        if (n == cap && !(idx = realloc(idx, (cap *= 2) * sizeof(*idx))))
            break;
        idx[n++] = (uint32_t)off;
    }
    if (!idx) {
        e->err = MDC_LIST_TOO_BIG; /* no index: the listing answers nothing */
        return;
    }
    index_base = e->data;
    qsort(idx, n, sizeof(*idx), index_cmp);
    e->index = idx;
    e->nindex = n;
}

static void table_add(struct mdc_ent *e, uint64_t gen)
{
    if (table_gen != gen) {
        free(e->index);
        free(e);
        return;
    }
    if (table_n >= MDC_MAX_ENTRIES)
        table_clear();
    struct mdc_ent **b = &table[e->hash % MDC_BUCKETS];
    e->next = *b;
    *b = e;
    table_n++;
}

static struct mdc_ent *ent_new(int kind, const char *key, uint64_t h, int err, size_t len)
{
    size_t klen = strlen(key);
    struct mdc_ent *e = malloc(sizeof(*e) + len + klen + 1);
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->hash = h;
    e->kind = kind;
    e->err = err;
    e->len = len;
    e->key = (char *)e->data + len;
    memcpy(e->key, key, klen + 1);
    return e;
}

/* ---- the node's answers: RUN/mdc/<kind><hash> ---- */

static int shared_path(int kind, uint64_t h, char *out)
{
    char name[32];
    snprintf(name, sizeof(name), "mdc/%c%016llx", kind, (unsigned long long)h);
    return ebt_rundir_file(ebt.cfg.run_dir, name, out, PATH_MAX);
}

static int read_all(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = ebt_sys_read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static struct mdc_ent *shared_read(int kind, const char *key, uint64_t h, uint64_t gen)
{
    char path[PATH_MAX];
    struct mdc_hdr hd;
    struct stat st;
    size_t klen = strlen(key);
    if (shared_path(kind, h, path) < 0)
        return NULL;
    int fd = ebt_sys_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct mdc_ent *e = NULL;
    if (ebt_sys_fstat(fd, &st) == 0 && st.st_size <= MDC_MAX_FILE &&
        ebt_sys_read(fd, &hd, sizeof(hd)) == (ssize_t)sizeof(hd) && hd.magic == MDC_MAGIC &&
        hd.kind == (uint32_t)kind && hd.gen == gen && hd.keylen == klen &&
        (uint64_t)st.st_size == sizeof(hd) + klen + hd.len &&
        (e = ent_new(kind, key, h, hd.err, hd.len)) != NULL) {
        char *k = malloc(klen + 1);
        int ok = k && read_all(fd, k, klen) == 0 && !memcmp(k, key, klen) &&
                 read_all(fd, e->data, hd.len) == 0;
        free(k);
        if (!ok) {
            free(e);
            e = NULL;
        }
    }
    ebt_sys_close(fd);
    return e;
}

int ebt_mdc_standin(char *out)
{
    if (ebt_rundir_file(ebt.cfg.run_dir, "mdc", out, PATH_MAX) < 0)
        return -ENAMETOOLONG;
    if (!__atomic_load_n(&mdc_dir_made, __ATOMIC_ACQUIRE)) {
        if (ebt_sys_mkdir(out, 0700) < 0 && errno != EEXIST)
            return -errno;
        __atomic_store_n(&mdc_dir_made, 1, __ATOMIC_RELEASE);
    }
    return 0;
}

static void shared_write(const struct mdc_ent *e, uint64_t gen)
{
    char path[PATH_MAX], tmp[PATH_MAX + 64];
    static unsigned seq;
    if (shared_path(e->kind, e->hash, path) < 0 || ebt_mdc_standin(tmp) < 0)
        return;
    snprintf(tmp, sizeof(tmp), "%s.%d.%ld.%u", path, (int)getpid(), (long)syscall(SYS_gettid),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    int fd = ebt_sys_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    struct mdc_hdr hd = {MDC_MAGIC, (uint32_t)e->kind,        gen,
                         e->err,    (uint32_t)strlen(e->key), e->len};
    int ok = ebt_write_full(fd, &hd, sizeof(hd)) == 0 &&
             ebt_write_full(fd, e->key, hd.keylen) == 0 && ebt_write_full(fd, e->data, e->len) == 0;
    ebt_sys_close(fd);
    if (!ok || ebt_sys_rename(tmp, path) < 0)
        ebt_sys_unlink(tmp);
}

/* ---- asking the PFS (outside every lock) ---- */

/* The PFS is asked relative to a cached fd of the directory (mdfd.c): one lookup, not one per
 * component of the path. */
struct ask {
    int kind;
    void *out;
};

static int ask_op(int dirfd, const char *name, void *ctx)
{
    struct ask *a = ctx;
    long rc;
    switch (a->kind) {
    case MDC_STAT:
    case MDC_LSTAT:
        rc = ebt_sys_fstatat(dirfd, name, a->out, a->kind == MDC_LSTAT ? AT_SYMLINK_NOFOLLOW : 0);
        break;
    case MDC_STATX:
    case MDC_LSTATX:
        rc = syscall(SYS_statx, dirfd, name, a->kind == MDC_LSTATX ? AT_SYMLINK_NOFOLLOW : 0,
                     STATX_BASIC_STATS | STATX_BTIME, a->out);
        break;
    case MDC_LINK:
        rc = syscall(SYS_readlinkat, dirfd, name, a->out, PATH_MAX);
        break;
    default:
        rc = ebt_sys_openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        break;
    }
    return rc < 0 ? -errno : (int)rc;
}

static int ask_pfs(int kind, const char *key, void *out)
{
    struct ask a = {kind, out};
    return ebt_mdfd_call(key, ask_op, &a);
}

static struct mdc_ent *fetch_stat(int kind, const char *key, uint64_t h)
{
    struct stat st;
    int rc = ask_pfs(kind, key, &st);
    struct mdc_ent *e = ent_new(kind, key, h, rc < 0 ? rc : 0, rc < 0 ? 0 : sizeof(st));
    if (e && rc == 0)
        memcpy(e->data, &st, sizeof(st));
    return e;
}

static struct mdc_ent *fetch_statx(int kind, const char *key, uint64_t h)
{
    struct statx stx;
    int rc = ask_pfs(kind, key, &stx);
    struct mdc_ent *e = ent_new(kind, key, h, rc < 0 ? rc : 0, rc < 0 ? 0 : sizeof(stx));
    if (e && rc == 0)
        memcpy(e->data, &stx, sizeof(stx));
    return e;
}

static struct mdc_ent *fetch_link(const char *key, uint64_t h)
{
    char buf[PATH_MAX];
    int n = ask_pfs(MDC_LINK, key, buf);
    struct mdc_ent *e = ent_new(MDC_LINK, key, h, n < 0 ? n : 0, n < 0 ? 0 : (size_t)n);
    if (e && n > 0)
        memcpy(e->data, buf, (size_t)n);
    return e;
}

/* Append the getdents64 records of buf to the listing in out (grown as needed). */
static int list_append(unsigned char **out, size_t *len, size_t *cap, const char *buf, ssize_t n)
{
    for (ssize_t pos = 0; pos < n;) {
        const struct dirent64 *d = (const struct dirent64 *)(buf + pos);
        pos += d->d_reclen;
        uint16_t nl = (uint16_t)strlen(d->d_name);
        size_t need = REC_HDR + nl + 1u;
        if (*len + need > MDC_MAX_LIST)
            return MDC_LIST_TOO_BIG;
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
        memcpy(r + REC_HDR, d->d_name, nl + 1u);
        *len += need;
    }
    return 0;
}

static struct mdc_ent *fetch_list(const char *key, uint64_t h)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    char dents[32768];
    int fd = ask_pfs(MDC_LIST, key, NULL), rc = fd < 0 ? fd : 0;
    for (ssize_t n; rc == 0 && (n = ebt_sys_getdents64(fd, dents, sizeof(dents))) != 0;)
        rc = n < 0 ? -errno : list_append(&buf, &len, &cap, dents, n);
    if (fd >= 0)
        ebt_sys_close(fd);
    struct mdc_ent *e = ent_new(MDC_LIST, key, h, rc, rc ? 0 : len);
    if (e && !rc && len)
        memcpy(e->data, buf, len);
    free(buf);
    return e;
}

static struct mdc_ent *fetch(int kind, const char *key, uint64_t h)
{
    switch (kind) {
    case MDC_STAT:
    case MDC_LSTAT:
        return fetch_stat(kind, key, h);
    case MDC_STATX:
    case MDC_LSTATX:
        return fetch_statx(kind, key, h);
    case MDC_LINK:
        return fetch_link(key, h);
    }
    return fetch_list(key, h);
}

static void ent_free(struct mdc_ent *e)
{
    free(e->index);
    free(e);
}

/* Call use(entry, ctx) under mdc_lock with the answer for (kind, key): from this process's
 * table, else the node's, else the PFS (then kept in both). Returns use()'s value, or -ENOMEM. */
static int mdc_with(int kind, const char *key, int (*use)(const struct mdc_ent *, void *),
                    void *ctx)
{
    uint64_t h = key_hash(kind, key), gen = gen_now();
    pthread_mutex_lock(&mdc_lock);
    struct mdc_ent *e = table_find(kind, key, h, gen);
    int rc = e ? use(e, ctx) : 0;
    pthread_mutex_unlock(&mdc_lock);
    if (e)
        return rc;
    e = shared_read(kind, key, h, gen);
    if (!e && (e = fetch(kind, key, h)) != NULL && gen_now() == gen)
        shared_write(e, gen);
    if (!e)
        return -ENOMEM;
    pthread_mutex_lock(&mdc_lock);
    if (e->kind == MDC_LIST && e->err == 0)
        index_build(e);
    rc = use(e, ctx);
    if (gen_now() == gen)
        table_add(e, gen); /* frees e if the table moved on meanwhile */
    else
        ent_free(e);
    pthread_mutex_unlock(&mdc_lock);
    return rc;
}

/* ---- answers ---- */

struct copy_ctx {
    void *buf;
    size_t cap, len;
};

static int copy_out(const struct mdc_ent *e, void *ctx)
{
    struct copy_ctx *c = ctx;
    c->len = e->len;
    memcpy(c->buf, e->data, e->len < c->cap ? e->len : c->cap);
    return e->err;
}

static int name_in(const struct mdc_ent *e, void *ctx)
{
    if (e->err == -ENOENT || e->err == -ENOTDIR)
        return e->err; /* the directory is not there: nor is anything in it */
    if (e->err)
        return 1; /* unknown (not readable, too big): the PFS decides */
    size_t lo = 0, hi = e->nindex;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(rec_name(e->data + e->index[mid]), ctx);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -ENOENT;
}

/* The parent's listing says the name is not there: -ENOENT (or -ENOTDIR), else 0. */
static int absent_by_listing(const char *logical, const char *phys)
{
    const char *slash = strrchr(phys, '/'), *lslash = strrchr(logical, '/');
    if (!slash || !lslash || slash == phys || !slash[1])
        return 0;
    char dir[PATH_MAX], ldir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - phys), phys);
    snprintf(ldir, sizeof(ldir), "%.*s", (int)(lslash - logical), logical);
    if (ebt_input_of(ldir) < 0)
        return 0;                          /* the input's root itself: its parent is not cached */
    int rc = absent_by_listing(ldir, dir); /* a missing directory is not listed */
    if (rc < 0)
        return rc;
    rc = mdc_with(MDC_LIST, dir, name_in, (void *)(slash + 1));
    return rc < 0 && rc != -ENOMEM ? rc : 0;
}

int ebt_mdc_stat(const char *logical, const char *phys, int follow, struct stat *st)
{
    if (ebt_input_of(logical) < 0) {
        int rc = follow ? ebt_sys_stat(phys, st) : ebt_sys_lstat(phys, st);
        return rc < 0 ? -errno : 0;
    }
    int rc = absent_by_listing(logical, phys);
    if (rc < 0)
        return rc;
    struct copy_ctx c = {st, sizeof(*st), 0};
    rc = mdc_with(follow ? MDC_STAT : MDC_LSTAT, phys, copy_out, &c);
    return rc == 0 && c.len != sizeof(*st) ? -EIO : rc;
}

int ebt_mdc_statx(const char *logical, const char *phys, int flags, unsigned mask,
                  struct statx *stx)
{
    int follow = !(flags & AT_SYMLINK_NOFOLLOW);
    if (ebt_input_of(logical) < 0 || (mask & ~(STATX_BASIC_STATS | STATX_BTIME))) {
        long rc = syscall(SYS_statx, AT_FDCWD, phys, flags, mask, stx);
        return rc < 0 ? -errno : 0;
    }
    int rc = absent_by_listing(logical, phys);
    if (rc < 0)
        return rc;
    struct copy_ctx c = {stx, sizeof(*stx), 0};
    rc = mdc_with(follow ? MDC_STATX : MDC_LSTATX, phys, copy_out, &c);
    return rc == 0 && c.len != sizeof(*stx) ? -EIO : rc;
}

ssize_t ebt_mdc_readlink(const char *logical, const char *phys, char *buf, size_t n)
{
    if (ebt_input_of(logical) < 0) {
        ssize_t r = ebt_sys_readlink(phys, buf, n);
        return r < 0 ? -errno : r;
    }
    int rc = absent_by_listing(logical, phys);
    if (rc < 0)
        return rc;
    struct copy_ctx c = {buf, n, 0};
    rc = mdc_with(MDC_LINK, phys, copy_out, &c);
    return rc < 0 ? rc : (ssize_t)(c.len < n ? c.len : n);
}

int ebt_mdc_absent(const char *logical, const char *phys)
{
    if (ebt_input_of(logical) < 0)
        return 0;
    int rc = absent_by_listing(logical, phys);
    if (rc < 0)
        return rc;
    struct stat st;
    struct copy_ctx c = {&st, sizeof(st), 0};
    rc = mdc_with(MDC_STAT, phys, copy_out, &c);
    return rc < 0 && rc != -ENOMEM ? rc : 0;
}

struct list_ctx {
    int (*add)(void *, const char *, unsigned char, uint64_t);
    void *arg;
};

static int list_each(const struct mdc_ent *e, void *ctx)
{
    struct list_ctx *c = ctx;
    if (e->err)
        return e->err;
    for (size_t off = 0; off + REC_HDR < e->len; off += rec_size(e->data + off)) {
        uint64_t ino;
        memcpy(&ino, e->data + off, 8);
        int rc = c->add(c->arg, rec_name(e->data + off), e->data[off + 8], ino);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int ebt_mdc_list(const char *logical, const char *phys,
                 int (*add)(void *, const char *, unsigned char, uint64_t), void *arg)
{
    if (ebt_input_of(logical) < 0)
        return 1;
    struct list_ctx c = {add, arg};
    int rc = mdc_with(MDC_LIST, phys, list_each, &c);
    return rc == MDC_LIST_TOO_BIG ? 1 : rc;
}
