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
    /* layouts (src/layout): files given the policy's striping, left to their directory's
     * default layout, whose layout the PFS refused (they kept the default) */
    uint64_t layouts_set, layouts_inherited, layouts_refused;
    /* PFS operations the node's clients made for the job before the flush (RUN/pfsops,
     * pfscount.h); summed over the nodes in a multi-node flush */
    uint64_t job_meta_ops;
    double seconds;
    struct ebt_merge_stats merge;
    int complete; /* the journal ends with DONE */
};

/* Merge task layers, then flush RUN/up to the PFS in phases (whiteouts, directories, files),
 * journaled in RUN/flush.journal so a rerun resumes. Cached data is never deleted. Threads:
 * cfg->flush_threads. 0 or -errno; on failure err says which file and why. */
int ebt_flush_run(const char *run_dir, const struct ebt_config *cfg, struct ebt_flush_stats *st,
                  char *err, size_t errcap);
/* The same flush, step by step (the multi-node flush runs the steps of all nodes in lockstep,
 * docs/multinode.md). begin: journal (lock), task merge, scan; then removals, dirs, files (files
 * may run on another thread); end (always, also after a failure: rc is the status so far) marks
 * DONE if rc == 0, unlocks and frees. Each step returns 0 or -errno (err says why). */
struct flush;
struct ebt_journal;
int ebt_flush_begin(const char *run_dir, const struct ebt_config *cfg, struct ebt_flush_stats *st,
                    char *err, size_t errcap, struct flush **out);
int ebt_flush_rescan(struct flush *f); /* scan RUN/up again (after files moved to RUN/held) */
int ebt_flush_removals(struct flush *f);
int ebt_flush_dirs(struct flush *f);
int ebt_flush_files(struct flush *f);
int ebt_flush_end(struct flush *f, int rc);
struct ebt_journal *ebt_flush_journal(struct flush *f);
struct ebt_plan;
/* The plan of the current step (what the files step will write). */
const struct ebt_plan *ebt_flush_plan(const struct flush *f);
/* Leave out the regular files for which drop(path) is true (another node writes them). */
void ebt_flush_drop_files(struct flush *f, int (*drop)(const char *path));
/* Record a failure of the flush (first one wins in err); returns rc. */
int ebt_flush_failed(struct flush *f, const char *path, const char *step, int rc);

/* The flush summary as one JSON object ("status", "error", counters). Returns its length. */
int ebt_flush_json(const struct ebt_flush_stats *st, int status, const char *err, char *out,
                   size_t cap);

#endif
