/* objects.c - hash table of written files with per-stripe last writer and writer bit masks. */
#include "objects.h"

#include <stdlib.h>
#include <string.h>

#define NO_WRITER (-1)

struct pfs_stripe_obj {
    int last_writer;
    int ost;
    uint64_t writers;
};

struct pfs_file_objs {
    struct pfs_file_objs *next;
    uint64_t dev, ino;
    unsigned nstripes;
    struct pfs_stripe_obj *stripe;
};

static unsigned bucket_of(uint64_t dev, uint64_t ino)
{
    uint64_t h = (ino ^ (dev << 32) ^ dev) * 0x9e3779b97f4a7c15ull;
    return (unsigned)(h >> 52) % PFS_OBJ_BUCKETS;
}

static pthread_mutex_t *lock_of(struct pfs_objects *t, unsigned bucket)
{
    return &t->lock[bucket % PFS_OBJ_LOCKS];
}

int pfs_objects_init(struct pfs_objects *t)
{
    memset(t->bucket, 0, sizeof(t->bucket));
    for (int i = 0; i < PFS_OBJ_LOCKS; i++)
        pthread_mutex_init(&t->lock[i], NULL);
    return 0;
}

static void free_file(struct pfs_file_objs *f)
{
    free(f->stripe);
    free(f);
}

void pfs_objects_free(struct pfs_objects *t)
{
    for (unsigned b = 0; b < PFS_OBJ_BUCKETS; b++) {
        struct pfs_file_objs *f = t->bucket[b];
        while (f != NULL) {
            struct pfs_file_objs *next = f->next;
            free_file(f);
            f = next;
        }
        t->bucket[b] = NULL;
    }
    for (int i = 0; i < PFS_OBJ_LOCKS; i++)
        pthread_mutex_destroy(&t->lock[i]);
}

/* Grows f to hold stripe index `stripe`. Caller holds the bucket lock. */
static int ensure_stripes(struct pfs_file_objs *f, unsigned stripe)
{
    if (stripe < f->nstripes)
        return 0;
    unsigned n = stripe + 1;
    struct pfs_stripe_obj *s = realloc(f->stripe, n * sizeof(*s));
    if (s == NULL)
        return -1;
    for (unsigned i = f->nstripes; i < n; i++) {
        s[i].last_writer = NO_WRITER;
        s[i].ost = 0;
        s[i].writers = 0;
    }
    f->stripe = s;
    f->nstripes = n;
    return 0;
}

/* Finds or adds the entry of (dev, ino) in bucket b. Caller holds the bucket lock. */
static struct pfs_file_objs *lookup_or_add(struct pfs_objects *t, unsigned b, uint64_t dev,
                                           uint64_t ino)
{
    for (struct pfs_file_objs *f = t->bucket[b]; f != NULL; f = f->next)
        if (f->ino == ino && f->dev == dev)
            return f;
    struct pfs_file_objs *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->dev = dev;
    f->ino = ino;
    f->next = t->bucket[b];
    t->bucket[b] = f;
    return f;
}

int pfs_objects_record_write(struct pfs_objects *t, uint64_t dev, uint64_t ino, unsigned stripe,
                             int ost, int node)
{
    unsigned b = bucket_of(dev, ino);
    int revoked = -1;
    pthread_mutex_lock(lock_of(t, b));
    struct pfs_file_objs *f = lookup_or_add(t, b, dev, ino);
    if (f != NULL && ensure_stripes(f, stripe) == 0) {
        struct pfs_stripe_obj *s = &f->stripe[stripe];
        revoked = s->last_writer != NO_WRITER && s->last_writer != node;
        s->last_writer = node;
        s->ost = ost;
        s->writers |= 1ull << node;
    }
    pthread_mutex_unlock(lock_of(t, b));
    return revoked;
}

void pfs_objects_forget(struct pfs_objects *t, uint64_t dev, uint64_t ino)
{
    unsigned b = bucket_of(dev, ino);
    pthread_mutex_lock(lock_of(t, b));
    struct pfs_file_objs **pp = &t->bucket[b];
    while (*pp != NULL) {
        struct pfs_file_objs *f = *pp;
        if (f->ino == ino && f->dev == dev) {
            *pp = f->next;
            free_file(f);
            break;
        }
        pp = &f->next;
    }
    pthread_mutex_unlock(lock_of(t, b));
}

void pfs_objects_reset_writers(struct pfs_objects *t)
{
    for (unsigned b = 0; b < PFS_OBJ_BUCKETS; b++) {
        pthread_mutex_lock(lock_of(t, b));
        for (struct pfs_file_objs *f = t->bucket[b]; f != NULL; f = f->next)
            for (unsigned i = 0; i < f->nstripes; i++)
                f->stripe[i].writers = 0;
        pthread_mutex_unlock(lock_of(t, b));
    }
}

static void summarize_one(const struct pfs_file_objs *f, unsigned i,
                          struct pfs_objects_summary *out)
{
    const struct pfs_stripe_obj *s = &f->stripe[i];
    int k = __builtin_popcountll(s->writers);
    out->by_writers[k]++;
    if (k == 0)
        return;
    out->objects++;
    out->ost_objects[s->ost]++;
    if (k < 2)
        return;
    out->ost_shared[s->ost]++;
    if (out->nsample < PFS_SHARED_SAMPLE) {
        out->sample[out->nsample].ino = f->ino;
        out->sample[out->nsample].writers = s->writers;
        out->sample[out->nsample].stripe = i;
        out->sample[out->nsample].ost = s->ost;
        out->nsample++;
    }
}

void pfs_objects_summarize(struct pfs_objects *t, struct pfs_objects_summary *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned b = 0; b < PFS_OBJ_BUCKETS; b++) {
        pthread_mutex_lock(lock_of(t, b));
        for (struct pfs_file_objs *f = t->bucket[b]; f != NULL; f = f->next) {
            for (unsigned i = 0; i < f->nstripes; i++)
                summarize_one(f, i, out);
        }
        pthread_mutex_unlock(lock_of(t, b));
    }
}
