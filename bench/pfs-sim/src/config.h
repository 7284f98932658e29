/* config.h - pfs-sim command-line settings: one table drives parsing, defaults and --help. */
#ifndef PFS_SIM_CONFIG_H
#define PFS_SIM_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define PFS_MAX_NODES 64 /* writer sets are 64-bit masks */
#define PFS_MAX_OSTS 256
#define PFS_MIN_STRIPE_SIZE 65536u /* Lustre's LOV_MIN_STRIPE_SIZE: sizes are multiples of it */

struct pfs_config {
    char backing[PATH_MAX];    /* backing directory (absolute) */
    char mnt[PATH_MAX];        /* parent of the node mount points node0, node1, ... */
    char stats_file[PATH_MAX]; /* "" = no file */
    int nodes;
    int osts;
    uint32_t stripe_size;
    int stripe_count;         /* -1 = all OSTs */
    int mds_threads;          /* MDS worker slots */
    int oss_threads;          /* worker slots per OST */
    int fuse_threads;         /* max FUSE worker threads per node (libfuse >= 3.12) */
    uint64_t mds_latency_us;  /* slept while holding an MDS slot */
    uint64_t oss_latency_us;  /* slept while holding an OST slot */
    uint64_t mds_busy_us;     /* CPU burnt while holding an MDS slot */
    uint64_t oss_busy_us;     /* CPU burnt while holding an OST slot */
    uint64_t ost_bw_mbs;      /* per-OST bandwidth cap in MB/s (10^6 B/s), 0 = none */
    uint64_t lock_penalty_us; /* extent-lock revocation cost */
    int cached;               /* 1: use the kernel page cache (no direct_io) */
    int allow_other;
    int fuse_debug;
};

/* Fills cfg from argv. Returns 0 on success, 1 if help was printed, -1 on bad input (a message
 * naming the option has been printed to stderr). */
int pfs_config_parse(struct pfs_config *cfg, int argc, char **argv);
void pfs_config_usage(FILE *out, const char *prog);

/* Parses a byte count with an optional K/M/G suffix (binary units). Returns 0 or -1. */
int pfs_parse_bytes(const char *text, uint64_t *out_p);

#endif
