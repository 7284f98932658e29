/* stats.h - thread-safe counters of the simulator: ops per kind, per node, per OST, CPU time. */
#ifndef PFS_SIM_STATS_H
#define PFS_SIM_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* FUSE request kinds, as counted per node and in total. */
enum pfs_op {
    OP_GETATTR,
    OP_READLINK,
    OP_MKNOD,
    OP_MKDIR,
    OP_UNLINK,
    OP_RMDIR,
    OP_SYMLINK,
    OP_RENAME,
    OP_LINK,
    OP_CHMOD,
    OP_CHOWN,
    OP_TRUNCATE,
    OP_OPEN,
    OP_READ,
    OP_WRITE,
    OP_STATFS,
    OP_FLUSH,
    OP_RELEASE,
    OP_FSYNC,
    OP_SETXATTR,
    OP_GETXATTR,
    OP_LISTXATTR,
    OP_REMOVEXATTR,
    OP_OPENDIR,
    OP_READDIR,
    OP_RELEASEDIR,
    OP_FSYNCDIR,
    OP_ACCESS,
    OP_CREATE,
    OP_UTIMENS,
    OP_FALLOCATE,
    OP_COUNT
};

/* Work items an OSS does on one OST object (one per stripe piece of a request). */
enum pfs_oss_op { OSS_READ, OSS_WRITE, OSS_SYNC, OSS_PUNCH, OSS_ALLOC, OSS_COUNT };

enum pfs_pool { POOL_MDS, POOL_OSS, POOL_LOCAL };

typedef _Atomic uint64_t pfs_counter_t;

struct pfs_node_stats {
    pfs_counter_t ops[OP_COUNT];
    pfs_counter_t read_bytes, write_bytes;
    pfs_counter_t lock_revocations; /* revocations this node's writes caused */
};

struct pfs_ost_stats {
    pfs_counter_t ops[OSS_COUNT];
    pfs_counter_t read_bytes, write_bytes;
    pfs_counter_t writer_nodes; /* bit mask of nodes that wrote to this OST */
    pfs_counter_t lock_revocations;
    pfs_counter_t cpu_ns, wait_ns;
};

struct pfs_pool_stats {
    pfs_counter_t ops;     /* service requests served */
    pfs_counter_t cpu_ns;  /* thread CPU time of the real work plus simulated busy time */
    pfs_counter_t wait_ns; /* time spent queued for a worker slot */
    pfs_counter_t busy_ns; /* wall time holding a slot (latency, bandwidth wait, work) */
    pfs_counter_t enoent;  /* MDS: getattr answered ENOENT (a lookup of a missing name) */
};

struct pfs_stats {
    int nodes, osts;
    pfs_counter_t ops[OP_COUNT];
    struct pfs_pool_stats mds, oss;
    pfs_counter_t lock_revocations;
    pfs_counter_t reset_mono_ns; /* CLOCK_MONOTONIC of the last reset */
    struct pfs_node_stats *node;
    struct pfs_ost_stats *ost;
};

const char *pfs_op_name(enum pfs_op op);
const char *pfs_oss_op_name(enum pfs_oss_op op);
enum pfs_pool pfs_op_pool(enum pfs_op op);

int pfs_stats_init(struct pfs_stats *st, int nodes, int osts);
void pfs_stats_free(struct pfs_stats *st);
void pfs_stats_reset(struct pfs_stats *st);
void pfs_stats_count_request(struct pfs_stats *st, int node, enum pfs_op op);
void pfs_stats_add(pfs_counter_t *c, uint64_t v);
uint64_t pfs_stats_get(const pfs_counter_t *c);
uint64_t pfs_mono_ns(void);

#endif
