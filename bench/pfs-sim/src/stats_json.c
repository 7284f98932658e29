/* stats_json.c - renders the simulator's counters and configuration as one JSON document. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

#define NS_PER_S 1e9

static double secs(const pfs_counter_t *ns)
{
    return (double)pfs_stats_get(ns) / NS_PER_S;
}

static void put_config(FILE *f, const struct pfs_config *c)
{
    fprintf(
        f,
        "  \"config\": {\"nodes\": %d, \"osts\": %d, \"stripe_size\": %u, "
        "\"stripe_count\": %d, \"mds_threads\": %d, \"oss_threads\": %d, \"fuse_threads\": %d,\n",
        c->nodes, c->osts, c->stripe_size, c->stripe_count, c->mds_threads, c->oss_threads,
        c->fuse_threads);
    fprintf(f,
            "    \"mds_latency_us\": %llu, \"oss_latency_us\": %llu, \"mds_busy_us\": %llu, "
            "\"oss_busy_us\": %llu, \"ost_bw_mbs\": %llu, \"lock_penalty_us\": %llu, "
            "\"cached\": %s},\n",
            (unsigned long long)c->mds_latency_us, (unsigned long long)c->oss_latency_us,
            (unsigned long long)c->mds_busy_us, (unsigned long long)c->oss_busy_us,
            (unsigned long long)c->ost_bw_mbs, (unsigned long long)c->lock_penalty_us,
            c->cached ? "true" : "false");
}

static void put_op_counts(FILE *f, const pfs_counter_t *ops)
{
    fputc('{', f);
    for (int i = 0; i < OP_COUNT; i++)
        fprintf(f, "%s\"%s\": %llu", i ? ", " : "", pfs_op_name((enum pfs_op)i),
                (unsigned long long)pfs_stats_get(&ops[i]));
    fputc('}', f);
}

static void put_pool(FILE *f, const char *name, const struct pfs_pool_stats *p)
{
    fprintf(f,
            "  \"%s\": {\"ops\": %llu, \"cpu_s\": %.9f, \"wait_s\": %.9f, \"busy_s\": %.9f, "
            "\"enoent\": %llu},\n",
            name, (unsigned long long)pfs_stats_get(&p->ops), secs(&p->cpu_ns), secs(&p->wait_ns),
            secs(&p->busy_ns), (unsigned long long)pfs_stats_get(&p->enoent));
}

static void put_nodes(FILE *f, const struct pfs_stats *st)
{
    fprintf(f, "  \"nodes\": [\n");
    for (int i = 0; i < st->nodes; i++) {
        const struct pfs_node_stats *n = &st->node[i];
        fprintf(f,
                "    {\"node\": %d, \"read_bytes\": %llu, \"write_bytes\": %llu, "
                "\"lock_revocations\": %llu,\n     \"ops\": ",
                i, (unsigned long long)pfs_stats_get(&n->read_bytes),
                (unsigned long long)pfs_stats_get(&n->write_bytes),
                (unsigned long long)pfs_stats_get(&n->lock_revocations));
        put_op_counts(f, n->ops);
        fprintf(f, "}%s\n", i + 1 < st->nodes ? "," : "");
    }
    fprintf(f, "  ],\n");
}

static void put_writer_list(FILE *f, uint64_t mask)
{
    fputc('[', f);
    for (int b = 0, first = 1; b < 64; b++) {
        if (mask & (1ull << b)) {
            fprintf(f, "%s%d", first ? "" : ", ", b);
            first = 0;
        }
    }
    fputc(']', f);
}

static void put_one_ost(FILE *f, const struct pfs_ost_stats *o, int i,
                        const struct pfs_objects_summary *sum)
{
    uint64_t mask = pfs_stats_get(&o->writer_nodes);
    fprintf(f,
            "    {\"ost\": %d, \"read_bytes\": %llu, \"write_bytes\": %llu, "
            "\"writer_nodes\": %d, \"writer_node_list\": ",
            i, (unsigned long long)pfs_stats_get(&o->read_bytes),
            (unsigned long long)pfs_stats_get(&o->write_bytes), __builtin_popcountll(mask));
    put_writer_list(f, mask);
    fprintf(f, ", \"objects_written\": %llu, \"objects_multi_writer\": %llu",
            (unsigned long long)sum->ost_objects[i], (unsigned long long)sum->ost_shared[i]);
    fprintf(f, ", \"lock_revocations\": %llu, \"cpu_s\": %.9f, \"wait_s\": %.9f,\n     \"ops\": {",
            (unsigned long long)pfs_stats_get(&o->lock_revocations), secs(&o->cpu_ns),
            secs(&o->wait_ns));
    for (int k = 0; k < OSS_COUNT; k++)
        fprintf(f, "%s\"%s\": %llu", k ? ", " : "", pfs_oss_op_name((enum pfs_oss_op)k),
                (unsigned long long)pfs_stats_get(&o->ops[k]));
    fprintf(f, "}}");
}

static void put_osts(FILE *f, const struct pfs_stats *st, const struct pfs_objects_summary *sum)
{
    fprintf(f, "  \"osts\": [\n");
    for (int i = 0; i < st->osts; i++) {
        put_one_ost(f, &st->ost[i], i, sum);
        fprintf(f, "%s\n", i + 1 < st->osts ? "," : "");
    }
    fprintf(f, "  ],\n");
}

static void put_shared_sample(FILE *f, const struct pfs_objects_summary *sum)
{
    fprintf(f, "\"multi_writer_sample\": [");
    for (unsigned i = 0; i < sum->nsample; i++) {
        fprintf(f, "%s{\"ino\": %llu, \"stripe\": %u, \"ost\": %d, \"writers\": ", i ? ", " : "",
                (unsigned long long)sum->sample[i].ino, sum->sample[i].stripe, sum->sample[i].ost);
        put_writer_list(f, sum->sample[i].writers);
        fputc('}', f);
    }
    fputc(']', f);
}

static void put_objects(FILE *f, const struct pfs_objects_summary *sum)
{
    int max = 0;
    fprintf(f, "  \"objects\": {\"written\": %llu, \"by_writer_count\": {",
            (unsigned long long)sum->objects);
    for (int k = 1, first = 1; k <= 64; k++) {
        if (sum->by_writers[k] == 0)
            continue;
        fprintf(f, "%s\"%d\": %llu", first ? "" : ", ", k, (unsigned long long)sum->by_writers[k]);
        first = 0;
        max = k;
    }
    fprintf(f, "}, \"max_writers\": %d,\n    ", max);
    put_shared_sample(f, sum);
    fprintf(f, "}\n");
}

static void put_totals(FILE *f, const struct pfs_stats *st)
{
    uint64_t rd = 0, wr = 0;
    for (int i = 0; i < st->nodes; i++) {
        rd += pfs_stats_get(&st->node[i].read_bytes);
        wr += pfs_stats_get(&st->node[i].write_bytes);
    }
    fprintf(f, "  \"read_bytes\": %llu, \"write_bytes\": %llu, \"lock_revocations\": %llu,\n",
            (unsigned long long)rd, (unsigned long long)wr,
            (unsigned long long)pfs_stats_get(&st->lock_revocations));
}

char *pfs_sim_stats_json(struct pfs_sim *sim, size_t *len_p)
{
    char *buf = NULL;
    size_t len = 0;
    struct pfs_objects_summary *sum = calloc(1, sizeof(*sum));
    FILE *f = sum != NULL ? open_memstream(&buf, &len) : NULL;
    if (f == NULL) {
        free(sum);
        return NULL;
    }
    pfs_objects_summarize(&sim->objs, sum);
    const struct pfs_stats *st = &sim->stats;
    double elapsed = (double)(pfs_mono_ns() - pfs_stats_get(&st->reset_mono_ns)) / NS_PER_S;
    fprintf(f, "{\n  \"format\": \"pfs-sim-stats-1\",\n  \"elapsed_s\": %.6f,\n", elapsed);
    put_config(f, &sim->cfg);
    fprintf(f, "  \"ops\": ");
    put_op_counts(f, st->ops);
    fprintf(f, ",\n");
    put_pool(f, "mds", &st->mds);
    put_pool(f, "oss", &st->oss);
    put_totals(f, st);
    put_nodes(f, st);
    put_osts(f, st, sum);
    put_objects(f, sum);
    free(sum);
    fprintf(f, "}\n");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len_p = len;
    return buf;
}
