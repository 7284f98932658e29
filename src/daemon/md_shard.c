/* md_shard.c - the records of the paths this node owns: a string hash map, holders in note order,
 * gone records, and an index by parent directory for listings. */
#define _GNU_SOURCE
#include "md_int.h"
#include "path.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- string map ---- */

void md_map_init(struct md_map *m)
{
    memset(m, 0, sizeof(*m));
}

void md_map_free(struct md_map *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->nb; i++) {
        struct md_ent *e = m->b[i];
        while (e) {
            struct md_ent *next = e->next;
            if (free_val)
                free_val(e->val);
            free(e);
            e = next;
        }
    }
    free(m->b);
    md_map_init(m);
}

static struct md_ent **slot(const struct md_map *m, const char *key, uint64_t h)
{
    struct md_ent **p = &m->b[h % m->nb];
    while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
        p = &(*p)->next;
    return p;
}

void *md_map_get(const struct md_map *m, const char *key)
{
    if (m->nb == 0)
        return NULL;
    struct md_ent **p = slot(m, key, ebt_path_hash(key));
    return *p ? (*p)->val : NULL;
}

static int grow(struct md_map *m)
{
    size_t nb = m->nb ? m->nb * 2 : 64;
    struct md_ent **b = calloc(nb, sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < m->nb; i++) {
        struct md_ent *e = m->b[i];
        while (e) {
            struct md_ent *next = e->next;
            e->next = b[e->hash % nb];
            b[e->hash % nb] = e;
            e = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
    return 0;
}

int md_map_put(struct md_map *m, const char *key, void *val, void **old)
{
    if (old)
        *old = NULL;
    if (m->n >= m->nb && grow(m) < 0)
        return -ENOMEM;
    uint64_t h = ebt_path_hash(key);
    struct md_ent **p = slot(m, key, h);
    if (*p) {
        if (old)
            *old = (*p)->val;
        (*p)->val = val;
        return 0;
    }
    size_t klen = strlen(key) + 1;
    struct md_ent *e = malloc(sizeof(*e) + klen);
    if (!e)
        return -ENOMEM;
    memcpy(e->key, key, klen);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    *p = e;
    m->n++;
    return 0;
}

void *md_map_del(struct md_map *m, const char *key)
{
    if (m->nb == 0)
        return NULL;
    struct md_ent **p = slot(m, key, ebt_path_hash(key));
    struct md_ent *e = *p;
    if (!e)
        return NULL;
    void *val = e->val;
    *p = e->next;
    free(e);
    m->n--;
    return val;
}

int md_map_each(const struct md_map *m, int (*fn)(const char *key, void *val, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nb; i++)
        for (struct md_ent *e = m->b[i]; e; e = e->next) {
            int rc = fn(e->key, e->val, arg);
            if (rc)
                return rc;
        }
    return 0;
}

/* ---- the parent index: dir -> array of child records ---- */

struct md_kids {
    struct md_rec **r;
    size_t n, cap;
};

static void kids_free(void *p)
{
    struct md_kids *k = p;
    free(k->r);
    free(k);
}

static int parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n == 0)
        n = 1; /* "/a" -> "/" */
    if (n >= cap)
        return -ENAMETOOLONG;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

static int index_add(struct md_shard *s, struct md_rec *r)
{
    char dir[PATH_MAX];
    if (parent_of(r->path, dir, sizeof(dir)) < 0)
        return -ENAMETOOLONG;
    struct md_kids *k = md_map_get(&s->dirs, dir);
    if (!k) {
        k = calloc(1, sizeof(*k));
        if (!k || md_map_put(&s->dirs, dir, k, NULL) < 0) {
            free(k);
            return -ENOMEM;
        }
    }
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        void *p = realloc(k->r, cap * sizeof(*k->r));
        if (!p)
            return -ENOMEM;
        k->r = p;
        k->cap = cap;
    }
    k->r[k->n++] = r;
    return 0;
}

static void index_del(struct md_shard *s, struct md_rec *r)
{
    char dir[PATH_MAX];
    if (parent_of(r->path, dir, sizeof(dir)) < 0)
        return;
    struct md_kids *k = md_map_get(&s->dirs, dir);
    for (size_t i = 0; k && i < k->n; i++)
        if (k->r[i] == r) {
            k->r[i] = k->r[--k->n];
            break;
        }
    if (k && k->n == 0)
        kids_free(md_map_del(&s->dirs, dir));
}

/* ---- records ---- */

static void rec_free(void *p)
{
    struct md_rec *r = p;
    if (!r)
        return;
    free(r->path);
    free(r->holders);
    free(r->seqs);
    free(r->hsizes);
    free(r);
}

void md_shard_init(struct md_shard *s)
{
    memset(s, 0, sizeof(*s));
    md_map_init(&s->recs);
    md_map_init(&s->dirs);
}

void md_shard_free(struct md_shard *s)
{
    md_map_free(&s->dirs, kids_free);
    md_map_free(&s->recs, rec_free);
    s->seq = 0;
}

struct md_rec *md_shard_get(const struct md_shard *s, const char *path)
{
    return md_map_get(&s->recs, path);
}

static struct md_rec *get_or_make(struct md_shard *s, const char *path)
{
    struct md_rec *r = md_map_get(&s->recs, path);
    if (r)
        return r;
    r = calloc(1, sizeof(*r));
    if (r)
        r->path = strdup(path);
    if (!r || !r->path || md_map_put(&s->recs, path, r, NULL) < 0) {
        rec_free(r);
        return NULL;
    }
    if (index_add(s, r) < 0) {
        md_map_del(&s->recs, path);
        rec_free(r);
        return NULL;
    }
    return r;
}

static int holder_index(const struct md_rec *r, int node)
{
    for (int i = 0; i < r->nholders; i++)
        if (r->holders[i] == node)
            return i;
    return -1;
}

static void holder_remove(struct md_rec *r, int i)
{
    int tail = r->nholders - i - 1;
    memmove(r->holders + i, r->holders + i + 1, (size_t)tail * sizeof(*r->holders));
    memmove(r->seqs + i, r->seqs + i + 1, (size_t)tail * sizeof(*r->seqs));
    memmove(r->hsizes + i, r->hsizes + i + 1, (size_t)tail * sizeof(*r->hsizes));
    r->nholders--;
}

static int holder_reserve(struct md_rec *r)
{
    if (r->nholders < r->cap)
        return 0;
    int cap = r->cap ? r->cap * 2 : 4;
    int *h = realloc(r->holders, (size_t)cap * sizeof(*h));
    if (h)
        r->holders = h;
    uint64_t *q = h ? realloc(r->seqs, (size_t)cap * sizeof(*q)) : NULL;
    if (q)
        r->seqs = q;
    uint64_t *z = q ? realloc(r->hsizes, (size_t)cap * sizeof(*z)) : NULL;
    if (!z)
        return -ENOMEM;
    r->hsizes = z;
    r->cap = cap;
    return 0;
}

static void refresh_size(struct md_rec *r)
{
    r->size = 0;
    for (int i = 0; i < r->nholders; i++)
        if (r->hsizes[i] > r->size)
            r->size = r->hsizes[i];
}

struct md_rec *md_shard_note(struct md_shard *s, const char *path, const struct md_note *n,
                             int node, int *was_holder)
{
    struct md_rec *r = get_or_make(s, path);
    if (!r)
        return NULL;
    if (r->kind != n->kind)
        r->nholders = 0; /* gone, new, or the other kind: a fresh record */
    r->kind = n->kind;
    r->mode = n->mode;
    r->mtime_sec = n->mtime_sec;
    r->mtime_nsec = n->mtime_nsec;
    int i = holder_index(r, node);
    if (was_holder)
        *was_holder = i >= 0;
    if (n->kind != EBTD_MD_FILE) {
        r->size = n->size;
        return r;
    }
    if (i >= 0)
        holder_remove(r, i);
    if (holder_reserve(r) < 0)
        return NULL;
    r->holders[r->nholders] = node;
    r->seqs[r->nholders] = ++s->seq;
    r->hsizes[r->nholders] = n->size;
    r->nholders++;
    refresh_size(r);
    return r;
}

struct md_rec *md_shard_gone(struct md_shard *s, const char *path)
{
    struct md_rec *r = get_or_make(s, path);
    if (!r)
        return NULL;
    r->kind = EBTD_MD_GONE;
    r->nholders = 0;
    r->size = 0;
    return r;
}

void md_shard_drop(struct md_shard *s, const char *path)
{
    struct md_rec *r = md_map_get(&s->recs, path);
    if (!r)
        return;
    index_del(s, r);
    md_map_del(&s->recs, path);
    rec_free(r);
}

void md_shard_unhold(struct md_shard *s, const char *path, int node)
{
    struct md_rec *r = md_map_get(&s->recs, path);
    int i = r ? holder_index(r, node) : -1;
    if (i >= 0) {
        holder_remove(r, i);
        refresh_size(r);
    }
}

int md_shard_children(const struct md_shard *s, const char *dir,
                      int (*fn)(const struct md_rec *r, void *arg), void *arg)
{
    struct md_kids *k = md_map_get(&s->dirs, dir);
    for (size_t i = 0; k && i < k->n; i++) {
        int rc = fn(k->r[i], arg);
        if (rc)
            return rc;
    }
    return 0;
}

struct each_ctx {
    int (*fn)(const struct md_rec *r, void *arg);
    void *arg;
};

static int each_rec(const char *key, void *val, void *arg)
{
    struct each_ctx *c = arg;
    return c->fn(val, c->arg);
}

int md_shard_each(const struct md_shard *s, int (*fn)(const struct md_rec *r, void *arg), void *arg)
{
    struct each_ctx c = {fn, arg};
    return md_map_each(&s->recs, each_rec, &c);
}

uint64_t md_rec_version(const struct md_rec *r)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < r->nholders; i++) {
        h = (h ^ (uint64_t)r->holders[i]) * 1099511628211ull;
        h = (h ^ r->seqs[i]) * 1099511628211ull;
    }
    return h;
}
