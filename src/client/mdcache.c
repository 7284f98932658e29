/* mdcache.c - the metadata cache of input trees (EBT_INPUT_PATHS; docs/semantics.md "Inputs"):
 * the PFS's answers to stat, lstat, statx, readlink and directory listings of paths under an
 * input, kept for the job on this node in RUN/mdc (one file per answer, written once and renamed
 * into place, shared by every process of the job on the node; the run directory is the job
 * user's, mode 0700) and in this process's memory. An answer is used only while the job's
 * generation in RUN/state is the one it was asked under: a change under an input raises it. */
#define _GNU_SOURCE
#include "client.h"
#include "mdanswer.h"
#include "mdcache.h"
#include "proto.h"
#include "path.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#define MDC_MAGIC 0x45424d43u    /* "EBMC" */
#define MDC_BUCKETS 4096         /* per process */
#define MDC_MAX_ENTRIES 65536    /* per process; then the table starts again */
#define MDC_MAX_FILE (16u << 20) /* a shared answer bigger than this is not read */
#define MDC_LIST_TOO_BIG EBT_MDA_LIST_TOO_BIG
#define MDC_DAEMON_TIMEOUT_MS 5000 /* then this process asks the PFS itself (busy daemon) */

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

#define REC_HDR EBT_MDA_REC_HDR
#define rec_name ebt_mda_rec_name
#define rec_size ebt_mda_rec_size

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

/* ---- asking the node daemon, else the PFS (outside every lock) ---- */

/* The daemon's answer (asked of the PFS once per job, at the path's home node): the entry, or
 * NULL if the daemon could not answer (then this process asks the PFS). */
static struct mdc_ent *ask_daemon(int kind, const char *logical, const char *key, uint64_t h)
{
    size_t n = strlen(logical) + 1;
    char req[sizeof(struct ebt_proto_mdc_req) + PATH_MAX];
    if (n > PATH_MAX || !ebt.cfg.run_dir[0])
        return NULL;
    struct ebt_proto_mdc_req q = {(uint32_t)kind, 0, gen_now()};
    memcpy(req, &q, sizeof(q));
    memcpy(req + sizeof(q), logical, n);
    /* a listing may take a whole message; the other answers are small (no 1 MiB per stat) */
    size_t cap =
        sizeof(struct ebt_proto_mdc_reply) +
        ebt_mda_answer_max(kind, EBT_PROTO_MAX_PAYLOAD - sizeof(struct ebt_proto_mdc_reply));
    unsigned char *rep = malloc(cap);
    if (!rep)
        return NULL;
    uint32_t len = 0;
    int failed = 0;
    int rc = ebt_daemon_call(EBT_OP_MDC, req, (uint32_t)(sizeof(q) + n), rep, (uint32_t)cap, &len,
                             MDC_DAEMON_TIMEOUT_MS, &failed);
    struct mdc_ent *e = NULL;
    struct ebt_proto_mdc_reply a;
    if (rc == 0 && len >= sizeof(a)) {
        memcpy(&a, rep, sizeof(a));
        if (a.err <= 0 && (a.err == 0 || len == sizeof(a)) &&
            (e = ent_new(kind, key, h, a.err, len - sizeof(a))) != NULL)
            memcpy(e->data, rep + sizeof(a), len - sizeof(a));
    }
    free(rep);
    return e;
}

struct ask {
    int kind;
    struct ebt_mda *out;
};

static int ask_op(int dirfd, const char *name, void *ctx)
{
    struct ask *a = ctx;
    return ebt_mda_ask(a->kind, dirfd, name, a->out);
}

/* The PFS is asked relative to a cached fd of the directory (mdfd.c): one lookup, not one per
 * component of the path. */
static struct mdc_ent *ask_pfs(int kind, const char *key, uint64_t h)
{
    struct ebt_mda m;
    struct ask a = {kind, &m};
    if (ebt_mdfd_call(key, ask_op, &a) < 0)
        return NULL;
    struct mdc_ent *e = ent_new(kind, key, h, m.err, m.len);
    if (e && m.len)
        memcpy(e->data, m.data, m.len);
    free(m.data);
    return e;
}

static struct mdc_ent *fetch(int kind, const char *logical, const char *key, uint64_t h)
{
    struct mdc_ent *e = ask_daemon(kind, logical, key, h);
    return e ? e : ask_pfs(kind, key, h);
}

static void ent_free(struct mdc_ent *e)
{
    free(e->index);
    free(e);
}

/* Call use(entry, ctx) under mdc_lock with the answer for (kind, key): from this process's
 * table, else the node's, else the PFS (then kept in both). Returns use()'s value, or -ENOMEM. */
static int mdc_with(int kind, const char *logical, const char *key,
                    int (*use)(const struct mdc_ent *, void *), void *ctx)
{
    uint64_t h = key_hash(kind, key), gen = gen_now();
    pthread_mutex_lock(&mdc_lock);
    struct mdc_ent *e = table_find(kind, key, h, gen);
    int rc = e ? use(e, ctx) : 0;
    pthread_mutex_unlock(&mdc_lock);
    if (e)
        return rc;
    e = shared_read(kind, key, h, gen);
    if (!e && (e = fetch(kind, logical, key, h)) != NULL && gen_now() == gen)
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
    rc = mdc_with(MDC_LIST, ldir, dir, name_in, (void *)(slash + 1));
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
    rc = mdc_with(follow ? MDC_STAT : MDC_LSTAT, logical, phys, copy_out, &c);
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
    rc = mdc_with(follow ? MDC_STATX : MDC_LSTATX, logical, phys, copy_out, &c);
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
    rc = mdc_with(MDC_LINK, logical, phys, copy_out, &c);
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
    rc = mdc_with(MDC_STAT, logical, phys, copy_out, &c);
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
    int rc = mdc_with(MDC_LIST, logical, phys, list_each, &c);
    return rc == MDC_LIST_TOO_BIG ? 1 : rc;
}
