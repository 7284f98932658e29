/* dircache.h - which PFS directories have a default layout: asked once per directory for all
 * the flush's threads (a table of directory keys, guarded by a mutex). */
#ifndef EBT_LAYOUT_DIRCACHE_H
#define EBT_LAYOUT_DIRCACHE_H

#include <pthread.h>
#include <stddef.h>

struct ebt_dircache {
    pthread_mutex_t mu;
    struct ebt_dircache_slot *slot; /* open addressing; cap is a power of two */
    size_t n, cap;
};

void ebt_dircache_init(struct ebt_dircache *c);
void ebt_dircache_free(struct ebt_dircache *c);
/* The state stored for key (> 0), or 0 if unknown. */
int ebt_dircache_get(struct ebt_dircache *c, const char *key);
/* Remember state (> 0) for key; out of memory only forgets it (it will be asked again). */
void ebt_dircache_put(struct ebt_dircache *c, const char *key, int state);

#endif
