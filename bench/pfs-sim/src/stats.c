/* stats.c - op-kind names and routing, counter allocation, reset and atomic updates. */
#include "stats.h"

#include <stdlib.h>
#include <time.h>

struct op_info {
    const char *name;
    enum pfs_pool pool;
};

/* Which server pool serves each FUSE request kind (data ops are charged per stripe piece). */
static const struct op_info op_table[OP_COUNT] = {
    [OP_GETATTR] = {"getattr", POOL_MDS},
    [OP_READLINK] = {"readlink", POOL_MDS},
    [OP_MKNOD] = {"mknod", POOL_MDS},
    [OP_MKDIR] = {"mkdir", POOL_MDS},
    [OP_UNLINK] = {"unlink", POOL_MDS},
    [OP_RMDIR] = {"rmdir", POOL_MDS},
    [OP_SYMLINK] = {"symlink", POOL_MDS},
    [OP_RENAME] = {"rename", POOL_MDS},
    [OP_LINK] = {"link", POOL_MDS},
    [OP_CHMOD] = {"chmod", POOL_MDS},
    [OP_CHOWN] = {"chown", POOL_MDS},
    [OP_TRUNCATE] = {"truncate", POOL_MDS},
    [OP_OPEN] = {"open", POOL_MDS},
    [OP_READ] = {"read", POOL_OSS},
    [OP_WRITE] = {"write", POOL_OSS},
    [OP_STATFS] = {"statfs", POOL_MDS},
    [OP_FLUSH] = {"flush", POOL_LOCAL},
    [OP_RELEASE] = {"release", POOL_MDS},
    [OP_FSYNC] = {"fsync", POOL_OSS},
    [OP_SETXATTR] = {"setxattr", POOL_MDS},
    [OP_GETXATTR] = {"getxattr", POOL_MDS},
    [OP_LISTXATTR] = {"listxattr", POOL_MDS},
    [OP_REMOVEXATTR] = {"removexattr", POOL_MDS},
    [OP_OPENDIR] = {"opendir", POOL_MDS},
    [OP_READDIR] = {"readdir", POOL_MDS},
    [OP_RELEASEDIR] = {"releasedir", POOL_MDS},
    [OP_FSYNCDIR] = {"fsyncdir", POOL_MDS},
    [OP_ACCESS] = {"access", POOL_MDS},
    [OP_CREATE] = {"create", POOL_MDS},
    [OP_UTIMENS] = {"utimens", POOL_MDS},
    [OP_FALLOCATE] = {"fallocate", POOL_OSS},
};

static const char *const oss_op_names[OSS_COUNT] = {
    [OSS_READ] = "read",   [OSS_WRITE] = "write",     [OSS_SYNC] = "sync",
    [OSS_PUNCH] = "punch", [OSS_ALLOC] = "fallocate",
};

const char *pfs_op_name(enum pfs_op op)
{
    return op_table[op].name;
}

const char *pfs_oss_op_name(enum pfs_oss_op op)
{
    return oss_op_names[op];
}

enum pfs_pool pfs_op_pool(enum pfs_op op)
{
    return op_table[op].pool;
}

uint64_t pfs_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pfs_stats_init(struct pfs_stats *st, int nodes, int osts)
{
    st->nodes = nodes;
    st->osts = osts;
    st->node = calloc((size_t)nodes, sizeof(*st->node));
    st->ost = calloc((size_t)osts, sizeof(*st->ost));
    if (st->node == NULL || st->ost == NULL) {
        pfs_stats_free(st);
        return -1;
    }
    pfs_stats_reset(st);
    return 0;
}

void pfs_stats_free(struct pfs_stats *st)
{
    free(st->node);
    free(st->ost);
    st->node = NULL;
    st->ost = NULL;
}

static void zero(pfs_counter_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&c[i], 0, memory_order_relaxed);
}

#define ZERO_STRUCT(p) zero((pfs_counter_t *)(p), sizeof(*(p)) / sizeof(pfs_counter_t))

/* Counters updated concurrently with a reset may keep a few increments; that is acceptable for
 * phase measurements, and each counter is still exact after the reset returns. */
void pfs_stats_reset(struct pfs_stats *st)
{
    zero(st->ops, OP_COUNT);
    ZERO_STRUCT(&st->mds);
    ZERO_STRUCT(&st->oss);
    atomic_store(&st->lock_revocations, 0);
    for (int i = 0; i < st->nodes; i++)
        ZERO_STRUCT(&st->node[i]);
    for (int i = 0; i < st->osts; i++)
        ZERO_STRUCT(&st->ost[i]);
    atomic_store(&st->reset_mono_ns, pfs_mono_ns());
}

void pfs_stats_add(pfs_counter_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

uint64_t pfs_stats_get(const pfs_counter_t *c)
{
    return atomic_load_explicit((pfs_counter_t *)c, memory_order_relaxed);
}

void pfs_stats_count_request(struct pfs_stats *st, int node, enum pfs_op op)
{
    pfs_stats_add(&st->ops[op], 1);
    pfs_stats_add(&st->node[node].ops[op], 1);
}
