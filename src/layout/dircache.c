/* dircache.c - a string-keyed table of small states (dircache.h), grown by doubling. */
#define _GNU_SOURCE
#include "dircache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ebt_dircache_slot {
    char *key;
    int state;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot holding key, or the empty one where it would go. */
static struct ebt_dircache_slot *find(struct ebt_dircache_slot *v, size_t cap, const char *key)
{
    for (size_t i = hash(key) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!v[i].key || !strcmp(v[i].key, key))
            return &v[i];
}

static int grow(struct ebt_dircache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 64;
    struct ebt_dircache_slot *v = calloc(cap, sizeof(*v));
    if (!v)
        return -1;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slot[i].key)
            *find(v, cap, c->slot[i].key) = c->slot[i];
    free(c->slot);
    c->slot = v;
    c->cap = cap;
    return 0;
}

void ebt_dircache_init(struct ebt_dircache *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
}

void ebt_dircache_free(struct ebt_dircache *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->slot[i].key);
    free(c->slot);
    pthread_mutex_destroy(&c->mu);
    memset(c, 0, sizeof(*c));
}

int ebt_dircache_get(struct ebt_dircache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    int state = c->cap ? find(c->slot, c->cap, key)->state : 0;
    pthread_mutex_unlock(&c->mu);
    return state;
}

void ebt_dircache_put(struct ebt_dircache *c, const char *key, int state)
{
    pthread_mutex_lock(&c->mu);
    if ((c->n + 1) * 2 <= c->cap || grow(c) == 0) { /* at most half full */
        struct ebt_dircache_slot *s = find(c->slot, c->cap, key);
        if (!s->key && (s->key = strdup(key)))
            c->n++;
        if (s->key)
            s->state = state;
    }
    pthread_mutex_unlock(&c->mu);
}
