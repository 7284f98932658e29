/* service.h - charges an op to the MDS or to one OST: slot gate, latency, bandwidth, CPU time. */
#ifndef PFS_SIM_SERVICE_H
#define PFS_SIM_SERVICE_H

#include <stdint.h>
#include <time.h>

#include "sim.h"

/* An op in service: begin acquires a worker slot and charges the cost model; the real backing
 * operation runs between begin and end, where its thread CPU time is measured. */
struct pfs_service {
    struct pfs_gate *gate;
    struct pfs_pool_stats *pool;
    pfs_counter_t *ost_cpu_ns; /* NULL for the MDS */
    uint64_t slot_ns;          /* CLOCK_MONOTONIC when the slot was granted */
    uint64_t cpu0_ns;          /* thread CPU time at the start of the measured work */
};

int pfs_gate_init(struct pfs_gate *g, unsigned slots);
void pfs_gate_destroy(struct pfs_gate *g);

/* Counts a FUSE request of node and, for MDS kinds, enters the MDS. */
void pfs_mds_begin(struct pfs_sim *sim, int node, enum pfs_op op, struct pfs_service *sv);

/* Enters OST `ost` for one stripe piece of `bytes` bytes (0 for non-data work). */
void pfs_oss_begin(struct pfs_sim *sim, int ost, enum pfs_oss_op op, uint64_t bytes,
                   struct pfs_service *sv);

void pfs_service_end(struct pfs_sim *sim, struct pfs_service *sv);

/* Sleeps for us microseconds (used for lock-revocation penalties, outside any slot). */
void pfs_sleep_us(uint64_t us);

#endif
