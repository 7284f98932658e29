/* objects.h - per stripe object (file, stripe index) extent-lock holder and writer set. */
#ifndef PFS_SIM_OBJECTS_H
#define PFS_SIM_OBJECTS_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"

#define PFS_OBJ_BUCKETS 4096
#define PFS_OBJ_LOCKS 64
#define PFS_SHARED_SAMPLE 32 /* objects with several writers listed in the stats */

struct pfs_file_objs; /* one per written file: its stripes' lock holders and writer masks */

struct pfs_objects {
    struct pfs_file_objs *bucket[PFS_OBJ_BUCKETS];
    pthread_mutex_t lock[PFS_OBJ_LOCKS];
};

/* Summary for the stats: objects written since the last reset by how many distinct nodes. */
struct pfs_objects_summary {
    uint64_t objects;                   /* objects with at least one writer */
    uint64_t by_writers[65];            /* [k] = objects written by exactly k nodes */
    uint64_t ost_objects[PFS_MAX_OSTS]; /* objects written, per OST */
    uint64_t ost_shared[PFS_MAX_OSTS];  /* objects written by 2+ nodes, per OST */
    unsigned nsample;
    struct {
        uint64_t ino, writers;
        unsigned stripe;
        int ost;
    } sample[PFS_SHARED_SAMPLE]; /* the first objects found with 2+ writers */
};

int pfs_objects_init(struct pfs_objects *t);
void pfs_objects_free(struct pfs_objects *t);

/* Records a write by node to stripe `stripe` (on OST ost) of file (dev, ino). Returns 1 if another
 * node held the extent lock of that object (a revocation), else 0; -1 if out of memory. */
int pfs_objects_record_write(struct pfs_objects *t, uint64_t dev, uint64_t ino, unsigned stripe,
                             int ost, int node);

/* Forgets a file whose objects were destroyed (last unlink, new layout). */
void pfs_objects_forget(struct pfs_objects *t, uint64_t dev, uint64_t ino);

/* Clears writer sets (not lock holders: clients keep their locks across a stats reset). */
void pfs_objects_reset_writers(struct pfs_objects *t);

void pfs_objects_summarize(struct pfs_objects *t, struct pfs_objects_summary *out);

#endif
