/* runcfg.h - the run directory's config file (RUN/config, KEY=VALUE lines) and its loading. */
#ifndef EBTD_RUNCFG_H
#define EBTD_RUNCFG_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

#define EBT_RUNCFG_NAME "config"

/* Put the known keys of RUN/config into the environment (the file wins over the environment for
 * the keys it holds), set EBT_RUN_DIR=run_dir, then ebt_config_load(). 0 or -errno with a
 * one-line reason in err. */
int ebt_runcfg_load(const char *run_dir, struct ebt_config *cfg, char *err, size_t errcap);
/* Write RUN/config with the job's settings (mode 0600), for a one-node job. 0 or -errno. */
int ebt_runcfg_write(const char *run_dir, const char *paths, const char *visibility,
                     uint64_t cache_bytes);
/* The node settings of a job (docs/multinode.md). */
struct ebt_runcfg_job {
    int nodes, node_id;
    const char *rendezvous; /* "" on one node */
    const char *job_id;     /* may be "" */
    const char *inputs;     /* EBT_INPUT_PATHS (colon list); NULL or "": none */
};
/* The same with EBT_NODES, EBT_NODE_ID, EBT_RENDEZVOUS, EBT_JOB_ID, EBT_INPUT_PATHS, and the
 * input copy sizes of the environment (EBT_INPUT_CACHE_BYTES, EBT_INPUT_FILE_MAX) where set.
 * 0 or -errno. */
int ebt_runcfg_write_job(const char *run_dir, const char *paths, const char *visibility,
                         uint64_t cache_bytes, const struct ebt_runcfg_job *job);

#endif
