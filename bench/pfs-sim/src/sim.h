/* sim.h - the simulator's shared state: config, backing store, server pools, stats, nodes. */
#ifndef PFS_SIM_SIM_H
#define PFS_SIM_SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "objects.h"
#include "stats.h"

/* A pool of worker slots admitting waiters in FIFO order (a server's request queue). */
struct pfs_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned slots, busy;
    uint64_t next_ticket, admitted;
};

struct pfs_ost {
    struct pfs_gate gate;
    pthread_mutex_t bw_mu;
    uint64_t bw_free_ns; /* CLOCK_MONOTONIC time at which the OST's link is idle again */
};

struct fuse;
struct pfs_sim;

/* One virtual client node: one FUSE mount served by its own session and loop thread. */
struct pfs_node {
    struct pfs_sim *sim;
    int id;
    char mnt[4096];
    struct fuse *fuse;
    pthread_t thread;
    int mounted;
    int loop_rc;
};

struct pfs_sim {
    struct pfs_config cfg;
    int backing_fd;
    struct pfs_stats stats;
    struct pfs_objects objs;
    struct pfs_gate mds;
    struct pfs_ost *ost;
    _Atomic uint64_t next_start_ost; /* round-robin start OST of new files */
    _Atomic uint64_t layout_epoch;   /* bumped when any layout changes: open files reload */
    pthread_mutex_t append_mu;       /* serialises O_APPEND writes (size read + write) */
    struct pfs_node *node;
};

/* Opens the backing store and sets up pools and counters. 0 or -1 (message printed). */
int pfs_sim_init(struct pfs_sim *sim, const struct pfs_config *cfg);
void pfs_sim_destroy(struct pfs_sim *sim);

/* Zeroes all counters and writer sets so a benchmark can measure one phase. */
void pfs_sim_reset(struct pfs_sim *sim);

/* Renders the stats as JSON (malloc'd, NUL-terminated). NULL if out of memory. */
char *pfs_sim_stats_json(struct pfs_sim *sim, size_t *len_p);

/* Writes the JSON stats to path atomically (temporary file + rename). 0 or -errno. */
int pfs_sim_write_stats(struct pfs_sim *sim, const char *path);

#endif
