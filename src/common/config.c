/* config.c - parse EBT's environment variables (table in config_vars below). */
#define _GNU_SOURCE
#include "config.h"
#include "config_int.h"
#include "log.h"
#include "path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct config_var config_vars[] = {
    {"EBT_PATHS", "",
     "colon-separated managed path prefixes (absolute, existing, distinct directories, not '/'; "
     "ebt run/start: the default of --pfs)",
     ebt_check_paths},
    {"EBT_INPUT_PATHS", "",
     "colon-separated input trees the job reads but does not change (absolute, existing, distinct "
     "directories, not overlapping the cache; may be managed too): their metadata is cached for "
     "the job (ebt run/start: the default of --input)",
     ebt_check_inputs},
    {"EBT_VISIBILITY", "close", "write|close|task[,PREFIX=MODE...] when others see written data",
     ebt_check_visibility},
    {"EBT_RUN_DIR", "", "this job's run directory in node-local storage (set by ebt run/start)",
     ebt_check_abs_path},
    {"EBT_CACHE_DIR", "/dev/shm",
     "node-local storage for run directories ($TMPDIR if no /dev/shm); the default of --cache",
     ebt_check_cache_dir},
    {"EBT_INPUT_CACHE_BYTES", "1G",
     "node-local space for copies of input files (the data side of --input): each is read from "
     "the PFS once per job and node, or once per job across nodes; 0 turns it off",
     ebt_check_size},
    {"EBT_INPUT_FILE_MAX", "64M",
     "input files larger than this are read from the PFS, not copied to node-local storage",
     ebt_check_size},
    {"EBT_CACHE_BYTES", "0",
     "cache capacity (e.g. 8G); beyond it files are written through to the PFS; the default of "
     "--cache-bytes",
     ebt_check_size},
    {"EBT_TASK_ID", "", "task identity for visibility=task (default: SLURM_PROCID, MPI rank, or 0)",
     ebt_check_task_id},
    {"EBT_LOG_LEVEL", "1", "0 error, 1 warn, 2 info, 3 debug; the log is RUN_DIR/ebt.log",
     ebt_check_log_level},
    {"EBT_LOG_BYTES", "16M", "cap of RUN_DIR/ebt.log (it lives in the cache); 0: no cap",
     ebt_check_size},
    {"EBT_FLUSH_THREADS", "4", "concurrent file transfers during the flush (1..256)",
     ebt_check_threads},
    {"EBT_STAGE_THREADS", "4",
     "threads of ebt stage-in/stage-out (1..256); the default of --threads", ebt_check_threads},
    {"EBT_STAGE_CHUNK", "8M",
     "ebt stage-in/stage-out: files larger than this are copied in pieces of this size in "
     "parallel (64K..1G); the default of --chunk",
     ebt_check_chunk},
    {"EBT_FUSE", "auto",
     "auto|on|off: ebtd mounts the job's view over each prefix (auto: where FUSE works)",
     ebt_check_fuse},
    {"EBT_NODES", "1",
     "number of nodes (daemons) of the job, 1..4096 (set by ebt start from --nodes; ebt run: 1)",
     ebt_check_nodes},
    {"EBT_NODE_ID", "0",
     "this node's index in the job, 0..EBT_NODES-1 (set by ebt start from --node-id)",
     ebt_check_node_id},
    {"EBT_RENDEZVOUS", "",
     "shared directory where the daemons of a multi-node job meet (set by ebt start from "
     "--rendezvous)",
     ebt_check_abs_path},
    {"EBT_JOB_ID", "", "job identity (default: SLURM_JOB_ID, else the rendezvous name)",
     ebt_check_job_id},
    {"EBT_LIB", "", "the client library ebt run/start preload (default: ../lib/libebt.so)",
     ebt_check_lib},
    {"EBT_DAEMON", "", "the ebtd binary ebt run/start start (default: next to ebt)",
     ebt_check_daemon},
    {"EBT_LISTEN", "", "multi-node: HOST:PORT the daemon's transport listens on (port 0: any)",
     ebt_check_listen},
    {"EBT_JOIN_TIMEOUT_MS", "60000", "multi-node: how long the daemons wait for each other",
     ebt_check_ms},
    {"EBT_PEER_TIMEOUT_MS", "10000", "multi-node: deadline of each call between daemons",
     ebt_check_ms},
    {"EBT_TRANSPORT", "ucx",
     "transport between daemons: ucx, or mpi (ebtd built with MPI; the daemons are one MPI job, "
     "rank = node id)",
     ebt_check_transport},
    {"EBT_LAYOUT", "auto",
     "auto|lustre|lustreapi|posix: how the flush sets PFS file layouts (auto: lustre where the "
     "PFS answers the lustre.lov xattr, else posix: none)",
     ebt_check_layout},
    {"EBT_STRIPE_LARGE", "1G",
     "files of at least this final size get EBT_STRIPE_COUNT_LARGE stripes, smaller ones one "
     "(only where the PFS directory has no default layout)",
     ebt_check_size},
    {"EBT_STRIPE_COUNT_LARGE", "4", "stripes of a large file: 1..2000, or -1 for all OSTs",
     ebt_check_stripe_count},
    {"EBT_STRIPE_SIZE", "1M",
     "stripe size of the layouts the flush sets: a multiple of 64K, at most 4G-64K",
     ebt_check_stripe_size},
    {"EBT_OST_DEAL", "1",
     "multi-node flush where the PFS has layouts: 1 deals OSTs to nodes (each OST written by one "
     "node), 0 lets every node write what it holds",
     ebt_check_ost_deal},
};

#define CONFIG_NVARS (sizeof(config_vars) / sizeof(config_vars[0]))

static const char *env_or_default(const char *name)
{
    for (size_t i = 0; i < CONFIG_NVARS; i++) {
        if (strcmp(config_vars[i].env, name) == 0) {
            const char *v = getenv(name);
            return (v && *v) ? v : config_vars[i].def;
        }
    }
    return "";
}

void ebt_config_help(FILE *out)
{
    for (size_t i = 0; i < CONFIG_NVARS; i++)
        fprintf(out, "  %-18s %s (default: %s)\n", config_vars[i].env, config_vars[i].help,
                *config_vars[i].def ? config_vars[i].def : "none");
}

int ebt_fuse_mode_parse(const char *s)
{
    return !strcmp(s, "off")    ? EBT_FUSE_OFF
           : !strcmp(s, "on")   ? EBT_FUSE_ON
           : !strcmp(s, "auto") ? EBT_FUSE_AUTO
                                : -1;
}

int ebt_layout_mode_parse(const char *s)
{
    static const char *const names[] = {"auto", "lustre", "lustreapi", "posix"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i]))
            return i; /* the order of enum ebt_layout_mode */
    return -1;
}

const char *ebt_layout_mode_name(int mode)
{
    static const char *const names[] = {"auto", "lustre", "lustreapi", "posix"};
    return mode >= 0 && mode < 4 ? names[mode] : "?";
}

const char *ebt_visibility_name(int mode)
{
    return mode == EBT_VIS_WRITE ? "write" : mode == EBT_VIS_TASK ? "task" : "close";
}

int ebt_visibility_parse(const char *s)
{
    if (!strcmp(s, "write"))
        return EBT_VIS_WRITE;
    if (!strcmp(s, "close"))
        return EBT_VIS_CLOSE;
    if (!strcmp(s, "task"))
        return EBT_VIS_TASK;
    return -1;
}

int ebt_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || s[0] == '-')
        return -EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    case 't':
    case 'T':
        shift = 40;
        end++;
        break;
    }
    if (*end == 'i' || *end == 'B')
        end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

static int add_prefix(struct ebt_config *cfg, const char *given, char *err, size_t cap)
{
    char norm[PATH_MAX], real[PATH_MAX];
    if (cfg->nprefixes == EBT_MAX_PREFIXES) { /* the check refused these already */
        snprintf(err, cap, "EBT_PATHS: more than %d prefixes", EBT_MAX_PREFIXES);
        return -EINVAL;
    }
    if (ebt_path_normalize("/", given, norm, sizeof(norm)) < 0) {
        snprintf(err, cap, "EBT_PATHS: bad path '%s'", given);
        return -EINVAL;
    }
    struct ebt_prefix *p = &cfg->prefixes[cfg->nprefixes++];
    p->alias[0] = '\0';
    if (realpath(norm, real) && strcmp(real, norm) != 0) {
        snprintf(p->path, sizeof(p->path), "%s", real);
        snprintf(p->alias, sizeof(p->alias), "%s", norm);
    } else {
        snprintf(p->path, sizeof(p->path), "%s", norm);
    }
    return 0;
}

/* EBT_INPUT_PATHS (already checked): each made canonical, as the client matches paths. */
static void parse_inputs(struct ebt_config *cfg, const char *spec)
{
    char buf[4096], norm[PATH_MAX], real[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    cfg->ninputs = 0;
    for (char *tok = strtok_r(buf, ":", &save); tok && cfg->ninputs < EBT_MAX_INPUTS;
         tok = strtok_r(NULL, ":", &save)) {
        if (ebt_path_normalize("/", tok, norm, sizeof(norm)) < 0)
            continue;
        snprintf(cfg->inputs[cfg->ninputs++], PATH_MAX, "%s", realpath(norm, real) ? real : norm);
    }
}

static int parse_paths(struct ebt_config *cfg, const char *spec, char *err, size_t cap)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        int rc = add_prefix(cfg, tok, err, cap);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One PREFIX=MODE override (tok is "PREFIX", already split at '='); cfg NULL: check only. */
static int add_vis_override(struct ebt_config *cfg, const char *tok, int mode, char *err,
                            size_t cap)
{
    char norm[PATH_MAX], real[PATH_MAX];
    if ((cfg && cfg->nvis == EBT_MAX_VIS_OVERRIDES) || tok[0] != '/' ||
        ebt_path_normalize("/", tok, norm, sizeof(norm)) < 0) {
        snprintf(err, cap, "bad override prefix '%s' (PREFIX=MODE, PREFIX absolute, at most %d)",
                 tok, EBT_MAX_VIS_OVERRIDES);
        return -EINVAL;
    }
    if (!cfg)
        return 0;
    snprintf(cfg->vis[cfg->nvis].prefix, PATH_MAX, "%s", realpath(norm, real) ? real : norm);
    cfg->vis[cfg->nvis++].mode = mode;
    return 0;
}

int ebt_config_parse_visibility(struct ebt_config *cfg, const char *spec, char *err, size_t cap)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", spec);
    if (cfg)
        cfg->nvis = 0;
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        char *eq = strchr(tok, '=');
        int mode = ebt_visibility_parse(eq ? eq + 1 : tok);
        if (mode < 0) {
            snprintf(err, cap, "unknown mode '%s' (write, close or task)", eq ? eq + 1 : tok);
            return -EINVAL;
        }
        if (eq) {
            *eq = '\0';
            if (add_vis_override(cfg, tok, mode, err, cap) < 0)
                return -EINVAL;
        } else if (cfg) {
            cfg->visibility = mode;
        }
    }
    return 0;
}

int ebt_config_visibility_for(const struct ebt_config *cfg, const char *path)
{
    size_t best = 0;
    int mode = cfg->visibility;
    for (int i = 0; i < cfg->nvis; i++) {
        size_t n = ebt_path_under(path, cfg->vis[i].prefix);
        if (n > best) {
            best = n;
            mode = cfg->vis[i].mode;
        }
    }
    return mode;
}

static void pick_task_id(struct ebt_config *cfg)
{
    static const char *vars[] = {"EBT_TASK_ID", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK",
                                 "PMIX_RANK"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        /* a task id names a directory: letters, digits, '.', '_' and '-' only */
        size_t ok = v ? strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789._-")
                      : 0;
        if (v && *v && v[0] != '.' && ok == strlen(v) && ok < sizeof(cfg->task_id)) {
            snprintf(cfg->task_id, sizeof(cfg->task_id), "%s", v);
            return;
        }
    }
    snprintf(cfg->task_id, sizeof(cfg->task_id), "0");
}

static void pick_cache_dir(struct ebt_config *cfg)
{
    const char *v = getenv("EBT_CACHE_DIR");
    if (!v || !*v)
        v = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(cfg->cache_dir, sizeof(cfg->cache_dir), "%s", (v && *v) ? v : "/tmp");
}

/* EBT_NODES, EBT_NODE_ID, EBT_RENDEZVOUS, EBT_JOB_ID: checked together. */
static int load_nodes(struct ebt_config *cfg, char *err, size_t cap)
{
    if (ebt_config_parse_int(env_or_default("EBT_NODES"), 1, 4096, &cfg->nodes) < 0) {
        snprintf(err, cap, "EBT_NODES: must be 1..4096, not '%s'", env_or_default("EBT_NODES"));
        return -EINVAL;
    }
    if (ebt_config_parse_int(env_or_default("EBT_NODE_ID"), 0, cfg->nodes - 1, &cfg->node_id) < 0) {
        snprintf(err, cap, "EBT_NODE_ID: must be 0..%d, not '%s'", cfg->nodes - 1,
                 env_or_default("EBT_NODE_ID"));
        return -EINVAL;
    }
    snprintf(cfg->rendezvous, sizeof(cfg->rendezvous), "%s", env_or_default("EBT_RENDEZVOUS"));
    if (cfg->nodes > 1 && cfg->rendezvous[0] != '/') {
        snprintf(err, cap, "EBT_RENDEZVOUS: an absolute directory is needed when EBT_NODES > 1");
        return -EINVAL;
    }
    const char *job = env_or_default("EBT_JOB_ID");
    if (!*job)
        job = getenv("SLURM_JOB_ID") ? getenv("SLURM_JOB_ID") : "";
    snprintf(cfg->job_id, sizeof(cfg->job_id), "%s", job);
    return 0;
}

/* EBT_LAYOUT and the striping policy (already checked by ebt_config_check_env). */
static void load_layout(struct ebt_config *cfg)
{
    uint64_t ss = 0;
    cfg->layout = ebt_layout_mode_parse(env_or_default("EBT_LAYOUT"));
    ebt_parse_size(env_or_default("EBT_STRIPE_LARGE"), &cfg->stripe_large);
    ebt_config_parse_int(env_or_default("EBT_STRIPE_COUNT_LARGE"), -1, 2000,
                         &cfg->stripe_count_large);
    ebt_parse_size(env_or_default("EBT_STRIPE_SIZE"), &ss);
    cfg->stripe_size = (uint32_t)ss;
    ebt_config_parse_int(env_or_default("EBT_OST_DEAL"), 0, 1, &cfg->ost_deal);
}

int ebt_config_check_env(int flags, char *err, size_t cap)
{
    char why[512];
    err[0] = '\0';
    for (size_t i = 0; i < CONFIG_NVARS; i++) {
        const char *v = getenv(config_vars[i].env);
        if (!v || !*v || config_vars[i].check(v, flags, why, sizeof(why)) == 0)
            continue;
        snprintf(err, cap, "%s='%.300s': %s", config_vars[i].env, v, why);
        return -EINVAL;
    }
    int nodes, id;
    if (ebt_config_parse_int(env_or_default("EBT_NODES"), 1, 4096, &nodes) == 0 &&
        ebt_config_parse_int(env_or_default("EBT_NODE_ID"), 0, 4095, &id) == 0 && id >= nodes) {
        snprintf(err, cap, "EBT_NODE_ID='%d': must be 0..EBT_NODES-1 (EBT_NODES=%d)", id, nodes);
        return -EINVAL;
    }
    return 0;
}

int ebt_config_load(struct ebt_config *cfg, char *err, size_t cap)
{
    memset(cfg, 0, sizeof(*cfg));
    int rc = ebt_config_check_env(0, err, cap);
    if (rc < 0)
        return rc;
    rc = parse_paths(cfg, env_or_default("EBT_PATHS"), err, cap);
    parse_inputs(cfg, env_or_default("EBT_INPUT_PATHS"));
    if (rc == 0)
        rc = ebt_config_parse_visibility(cfg, env_or_default("EBT_VISIBILITY"), err, cap);
    if (rc == 0 && ebt_parse_size(env_or_default("EBT_CACHE_BYTES"), &cfg->cache_bytes) < 0) {
        snprintf(err, cap, "EBT_CACHE_BYTES: not a size: '%s'", env_or_default("EBT_CACHE_BYTES"));
        rc = -EINVAL;
    }
    if (rc < 0)
        return rc;
    snprintf(cfg->run_dir, sizeof(cfg->run_dir), "%s", env_or_default("EBT_RUN_DIR"));
    pick_cache_dir(cfg);
    pick_task_id(cfg);
    cfg->log_level = atoi(env_or_default("EBT_LOG_LEVEL"));
    ebt_parse_size(env_or_default("EBT_LOG_BYTES"), &cfg->log_bytes);
    ebt_parse_size(env_or_default("EBT_INPUT_CACHE_BYTES"), &cfg->input_cache_bytes);
    ebt_parse_size(env_or_default("EBT_INPUT_FILE_MAX"), &cfg->input_file_max);
    const char *fuse = env_or_default("EBT_FUSE");
    if ((cfg->fuse = ebt_fuse_mode_parse(fuse)) < 0) {
        snprintf(err, cap, "EBT_FUSE='%s': must be auto, on or off", fuse);
        return -EINVAL;
    }
    cfg->flush_threads = atoi(env_or_default("EBT_FLUSH_THREADS"));
    if (cfg->flush_threads < 1 || cfg->flush_threads > 256) {
        snprintf(err, cap, "EBT_FLUSH_THREADS: must be 1..256");
        return -EINVAL;
    }
    cfg->stage_threads = atoi(env_or_default("EBT_STAGE_THREADS"));
    ebt_parse_size(env_or_default("EBT_STAGE_CHUNK"), &cfg->stage_chunk);
    rc = load_nodes(cfg, err, cap);
    if (rc == 0)
        load_layout(cfg);
    return rc;
}
