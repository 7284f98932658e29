/* flush.h - bulk flush of a run directory's upper layer to the PFS (see docs/flush.md). */
#ifndef EBTD_FLUSH_H
#define EBTD_FLUSH_H

#include "config.h"
#include "merge.h"

#include <stddef.h>
#include <stdint.h>

struct ebt_flush_stats {
    uint64_t files, symlinks, dirs, whiteouts, opaques, skipped;
    uint64_t whole_files, partial_files;
    uint64_t bytes, meta_ops, data_ops; /* PFS operations issued by this run of the flush */
    double seconds;
    struct ebt_merge_stats merge;
    int complete; /* the journal ends with DONE */
};

/* Merge task layers, then flush RUN/up to the PFS in phases (whiteouts, directories, files),
 * journaled in RUN/flush.journal so a rerun resumes. Cached data is never deleted. Threads:
 * cfg->flush_threads. 0 or -errno; on failure err says which file and why. */
int ebt_flush_run(const char *run_dir, const struct ebt_config *cfg, struct ebt_flush_stats *st,
                  char *err, size_t errcap);
/* The flush summary as one JSON object ("status", "error", counters). Returns its length. */
int ebt_flush_json(const struct ebt_flush_stats *st, int status, const char *err, char *out,
                   size_t cap);

#endif
