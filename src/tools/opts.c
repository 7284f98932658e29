/* opts.c - option parsing and validation shared by the ebt subcommands. */
#define _GNU_SOURCE
#include "tool.h"
#include "path.h"
#include "runcfg.h"
#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    OPT_PFS = 256,
    OPT_CACHE,
    OPT_VIS,
    OPT_CACHE_BYTES,
    OPT_KEEP,
    OPT_JSON,
    OPT_RUN_DIR,
    OPT_NODES,
    OPT_NODE_ID,
    OPT_RDV,
    OPT_HOSTFILE,
    OPT_JOB_ID,
    OPT_TRANSPORT,
    OPT_PING,
    OPT_INPUT,
};

static const struct option opts_all[] = {
    {"pfs", required_argument, NULL, OPT_PFS},
    {"cache", required_argument, NULL, OPT_CACHE},
    {"visibility", required_argument, NULL, OPT_VIS},
    {"cache-bytes", required_argument, NULL, OPT_CACHE_BYTES},
    {"keep-cache", no_argument, NULL, OPT_KEEP},
    {"json", no_argument, NULL, OPT_JSON},
    {"run-dir", required_argument, NULL, OPT_RUN_DIR},
    {"nodes", required_argument, NULL, OPT_NODES},
    {"node-id", required_argument, NULL, OPT_NODE_ID},
    {"rendezvous", required_argument, NULL, OPT_RDV},
    {"hostfile", required_argument, NULL, OPT_HOSTFILE},
    {"job-id", required_argument, NULL, OPT_JOB_ID},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"ping", no_argument, NULL, OPT_PING},
    {"input", required_argument, NULL, OPT_INPUT},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *opt_name(int c)
{
    static char name[32];
    for (const struct option *o = opts_all; o->name; o++)
        if (o->val == c)
            snprintf(name, sizeof(name), "--%s", o->name);
    return name;
}

/* Which options each subcommand takes. */
static int opt_allowed(const char *cmd, int opt)
{
    int job = !strcmp(cmd, "run") || !strcmp(cmd, "start");
    switch (opt) {
    case OPT_PFS:
    case OPT_CACHE:
    case OPT_VIS:
    case OPT_CACHE_BYTES:
    case OPT_INPUT:
        return job;
    case OPT_KEEP:
        return !strcmp(cmd, "run");
    case OPT_JSON:
        return strcmp(cmd, "start") != 0;
    case OPT_RUN_DIR:
        return !job;
    case OPT_NODES:
    case OPT_NODE_ID:
    case OPT_RDV:
    case OPT_HOSTFILE:
    case OPT_JOB_ID:
    case OPT_TRANSPORT:
        return !strcmp(cmd, "start");
    case OPT_PING:
        return !strcmp(cmd, "stat");
    }
    return 1;
}

/* A PFS directory must exist, be a directory and accept a new file. what: "--pfs", "EBT_PATHS" */
static int check_pfs(const char *cmd, const char *what, const char *given, char *out)
{
    struct stat st;
    if (!realpath(given, out) || stat(out, &st) < 0) {
        fprintf(stderr, "ebt %s: %s %s: %s\n", cmd, what, given, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ebt %s: %s %s: not a directory\n", cmd, what, given);
        return -1;
    }
    if (strchr(out, ':')) { /* EBT_PATHS separates prefixes with ':' */
        fprintf(stderr, "ebt %s: %s %s: a managed path cannot contain ':'\n", cmd, what, out);
        return -1;
    }
    /* asked, not tried: no file made on the PFS (two MDS operations per job), none in another
     * job's view of it (where EBT's reserved names are refused); EROFS is said too */
    if (faccessat(AT_FDCWD, out, W_OK | X_OK, AT_EACCESS) < 0) {
        fprintf(stderr, "ebt %s: %s %s: not writable: %s\n", cmd, what, given, strerror(errno));
        return -1;
    }
    return 0;
}

/* An input tree: an existing directory (read-only is fine). what: "--input", "EBT_INPUT_PATHS" */
static int check_input(const char *cmd, const char *what, const char *given, char *out)
{
    struct stat st;
    if (given[0] != '/' && !strcmp(what, "EBT_INPUT_PATHS")) {
        fprintf(stderr, "ebt %s: %s %s: not an absolute path\n", cmd, what, given);
        return -1;
    }
    if (!realpath(given, out) || stat(out, &st) < 0) {
        fprintf(stderr, "ebt %s: %s %s: %s (an existing directory is needed)\n", cmd, what, given,
                strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ebt %s: %s %s: not a directory\n", cmd, what, given);
        return -1;
    }
    if (strchr(out, ':')) { /* EBT_INPUT_PATHS separates inputs with ':' */
        fprintf(stderr, "ebt %s: %s %s: an input path cannot contain ':'\n", cmd, what, out);
        return -1;
    }
    return 0;
}

static int check_cache(const char *cmd, const char *given, char *out)
{
    struct stat st;
    if (!realpath(given, out) || stat(out, &st) < 0) {
        fprintf(stderr, "ebt %s: --cache %s: %s\n", cmd, given, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ebt %s: --cache %s: not a directory\n", cmd, given);
        return -1;
    }
    return 0;
}

static int check_visibility(const char *cmd, const char *spec)
{
    static struct ebt_config tmp;
    char err[256];
    if (ebt_config_parse_visibility(&tmp, spec, err, sizeof(err)) < 0) {
        fprintf(stderr, "ebt %s: --visibility %s: %s\n", cmd, spec, err);
        return -1;
    }
    return 0;
}

static int opt_int(const char *cmd, int c, int max, int *out)
{
    char *end;
    long v = strtol(optarg, &end, 10);
    if (!*optarg || *end || v < (c == OPT_NODES) || v > max) {
        fprintf(stderr, "ebt %s: %s %s: must be a number %d..%d\n", cmd, opt_name(c), optarg,
                c == OPT_NODES, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* The multi-node options (checked together later, by ebt_nodes_resolve). */
static int opt_node(const char *cmd, int c, struct ebt_tool_opts *o)
{
    switch (c) {
    case OPT_NODES:
        return opt_int(cmd, c, 4096, &o->nodes);
    case OPT_NODE_ID:
        return opt_int(cmd, c, 4095, &o->node_id);
    case OPT_RDV:
        snprintf(o->rendezvous, sizeof(o->rendezvous), "%s", optarg);
        return 0;
    case OPT_HOSTFILE:
        snprintf(o->hostfile, sizeof(o->hostfile), "%s", optarg);
        return 0;
    case OPT_JOB_ID:
        if (strlen(optarg) < sizeof(o->job_id) && !strpbrk(optarg, "/\n") && *optarg) {
            snprintf(o->job_id, sizeof(o->job_id), "%s", optarg);
            return 0;
        }
        fprintf(stderr, "ebt %s: --job-id '%s': 1..63 characters, no '/'\n", cmd, optarg);
        return -1;
    case OPT_TRANSPORT: /* ebtd inherits it; checked with the other EBT_* variables */
        if (strcmp(optarg, "ucx") != 0 && strcmp(optarg, "mpi") != 0) {
            fprintf(stderr, "ebt %s: --transport %s: ucx or mpi\n", cmd, optarg);
            return -1;
        }
        setenv("EBT_TRANSPORT", optarg, 1);
        return 0;
    }
    return -1;
}

static int opt_one(const char *cmd, int c, struct ebt_tool_opts *o)
{
    if (c >= OPT_NODES && c <= OPT_TRANSPORT)
        return opt_node(cmd, c, o);
    switch (c) {
    case OPT_PFS:
        if (o->npfs == EBT_MAX_PREFIXES) {
            fprintf(stderr, "ebt %s: at most %d --pfs directories\n", cmd, EBT_MAX_PREFIXES);
            return -1;
        }
        return check_pfs(cmd, "--pfs", optarg, o->pfs[o->npfs++]);
    case OPT_CACHE:
        return check_cache(cmd, optarg, o->cache);
    case OPT_INPUT:
        if (o->ninputs == EBT_MAX_INPUTS) {
            fprintf(stderr, "ebt %s: at most %d --input directories\n", cmd, EBT_MAX_INPUTS);
            return -1;
        }
        return check_input(cmd, "--input", optarg, o->inputs[o->ninputs++]);
    case OPT_VIS:
        snprintf(o->vis, sizeof(o->vis), "%s", optarg);
        return check_visibility(cmd, optarg);
    case OPT_CACHE_BYTES:
        if (ebt_parse_size(optarg, &o->cache_bytes) == 0)
            return 0;
        fprintf(stderr, "ebt %s: --cache-bytes %s: not a size (e.g. 4096, 64M, 8G)\n", cmd, optarg);
        return -1;
    case OPT_KEEP:
        o->keep_cache = 1;
        return 0;
    case OPT_JSON:
        o->json = 1;
        return 0;
    case OPT_PING:
        o->ping = 1;
        return 0;
    case 'v':
        o->verbose = 1;
        return 0;
    case OPT_RUN_DIR:
        snprintf(o->run_dir, sizeof(o->run_dir), "%s", optarg);
        return 0;
    }
    return -1;
}

static void opts_defaults(struct ebt_tool_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->nodes = o->node_id = -1;
    const char *v = getenv("EBT_VISIBILITY");
    snprintf(o->vis, sizeof(o->vis), "%s", v && *v ? v : "close");
    const char *c = getenv("EBT_CACHE_DIR");
    if (!c || !*c)
        c = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(o->cache, sizeof(o->cache), "%s", c && *c ? c : "/tmp");
    const char *bytes = getenv("EBT_CACHE_BYTES"); /* checked by ebt_config_check_env */
    if (bytes && *bytes)
        ebt_parse_size(bytes, &o->cache_bytes);
}

/* Every variable of the config table, before anything starts: run/start also check the file
 * system (the daemon would fail later, with the reason only in a log the user never sees). */
static int check_env(const char *cmd)
{
    char err[1024];
    int job = !strcmp(cmd, "run") || !strcmp(cmd, "start");
    if (ebt_config_check_env(job ? EBT_CHECK_FS : 0, err, sizeof(err)) == 0)
        return 0;
    fprintf(stderr, "ebt %s: %s\n", cmd, err);
    return -1;
}

/* No --pfs: the prefixes of EBT_PATHS (already checked for form), each checked like --pfs. */
static int pfs_from_env(const char *cmd, struct ebt_tool_opts *o)
{
    char buf[4096];
    const char *v = getenv("EBT_PATHS");
    snprintf(buf, sizeof(buf), "%s", v ? v : "");
    char *save = NULL;
    for (char *t = strtok_r(buf, ":", &save); t && o->npfs < EBT_MAX_PREFIXES;
         t = strtok_r(NULL, ":", &save))
        if (check_pfs(cmd, "EBT_PATHS", t, o->pfs[o->npfs++]) < 0)
            return -1;
    return 0;
}

/* No --input: the inputs of EBT_INPUT_PATHS (already checked for form), each checked. */
static int inputs_from_env(const char *cmd, struct ebt_tool_opts *o)
{
    char buf[4096];
    const char *v = getenv("EBT_INPUT_PATHS");
    snprintf(buf, sizeof(buf), "%s", v ? v : "");
    char *save = NULL;
    for (char *t = strtok_r(buf, ":", &save); t && o->ninputs < EBT_MAX_INPUTS;
         t = strtok_r(NULL, ":", &save))
        if (check_input(cmd, "EBT_INPUT_PATHS", t, o->inputs[o->ninputs++]) < 0)
            return -1;
    return 0;
}

/* A managed directory in a run directory's place: CACHE/ebt.<uid>.* (this job's or another). */
static int in_run_dir_place(const char *pfs, const char *cache)
{
    char name[32];
    size_t n = ebt_path_under(pfs, cache);
    int len = snprintf(name, sizeof(name), "ebt.%u.", (unsigned)getuid());
    return n && !strncmp(pfs + n + (n > 1), name, (size_t)len);
}

/* The cache (where the run directory is made) must not lie inside a managed directory, and no
 * managed directory may be a run directory or inside one: the job would cache into its own view,
 * or delete its (or another job's) run directory. Other directories under the cache are fine. */
static int check_cache_vs_pfs(const char *cmd, const char *cache, const struct ebt_tool_opts *o)
{
    for (int i = 0; i < o->npfs; i++) {
        int inside = ebt_path_under(cache, o->pfs[i]) != 0;
        if (!inside && !in_run_dir_place(o->pfs[i], cache))
            continue;
        if (inside)
            fprintf(stderr,
                    "ebt %s: cache dir %s lies inside managed directory %s: the run directory "
                    "must be outside the PFS directories (give --cache elsewhere, e.g. "
                    "/dev/shm)\n",
                    cmd, cache, o->pfs[i]);
        else
            fprintf(stderr,
                    "ebt %s: managed directory %s lies in the place of run directories "
                    "(%s/ebt.<uid>.*): manage a directory of the PFS\n",
                    cmd, o->pfs[i], cache);
        return -1;
    }
    return 0;
}

/* The job's prefixes (distinct, not nested) and its cache together. */
static int check_job_dirs(const char *cmd, struct ebt_tool_opts *o)
{
    char err[1024], cache[PATH_MAX];
    if (o->npfs == 0 && pfs_from_env(cmd, o) < 0)
        return -1;
    if (ebt_config_check_prefixes((const char(*)[PATH_MAX])o->pfs, o->npfs, err, sizeof(err)) < 0) {
        fprintf(stderr, "ebt %s: --pfs: %s\n", cmd, err);
        return -1;
    }
    if (!realpath(o->cache, cache)) {
        fprintf(stderr, "ebt %s: cache dir %s: %s\n", cmd, o->cache, strerror(errno));
        return -1;
    }
    if (check_cache_vs_pfs(cmd, cache, o) < 0)
        return -1;
    const char *what = o->ninputs ? "--input" : "EBT_INPUT_PATHS";
    if (o->ninputs == 0 && inputs_from_env(cmd, o) < 0)
        return -1;
    if (ebt_config_check_inputs((const char(*)[PATH_MAX])o->inputs, o->ninputs, cache, err,
                                sizeof(err)) < 0) {
        fprintf(stderr, "ebt %s: %s: %s\n", cmd, what, err);
        return -1;
    }
    snprintf(o->cache, sizeof(o->cache), "%s", cache);
    return 0;
}

int ebt_opts_parse(const char *cmd, int argc, char **argv, struct ebt_tool_opts *o)
{
    int c;
    opts_defaults(o);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+vh", opts_all, NULL)) != -1) {
        if (c == 'h') {
            if (!strcmp(cmd, "run"))
                ebt_help_run(stdout);
            else if (!strcmp(cmd, "start"))
                ebt_help_start(stdout);
            else
                printf("see 'ebt --help'\n");
            exit(0);
        }
        if (c == '?' || !opt_allowed(cmd, c)) {
            const char *what = c != '?'            ? "option not valid here"
                               : optopt >= OPT_PFS ? "option needs a value"
                                                   : "unknown option";
            fprintf(stderr, "ebt %s: %s: '%s' (see 'ebt --help')\n", cmd, what,
                    c != '?' ? opt_name(c) : argv[optind - 1]);
            return -1;
        }
        if (opt_one(cmd, c, o) < 0)
            return -1;
    }
    if (check_env(cmd) < 0)
        return -1;
    if ((!strcmp(cmd, "run") || !strcmp(cmd, "start")) && check_job_dirs(cmd, o) < 0)
        return -1;
    return optind;
}

int ebt_opts_run_dir(const char *cmd, struct ebt_tool_opts *o)
{
    char real[PATH_MAX], cfg[PATH_MAX + 16];
    const char *given = o->run_dir[0] ? o->run_dir : getenv("EBT_RUN_DIR");
    if (!given || !*given) {
        fprintf(stderr, "ebt %s: no run directory: give --run-dir DIR or set EBT_RUN_DIR\n", cmd);
        return -1;
    }
    if (!realpath(given, real)) {
        fprintf(stderr, "ebt %s: %s is not an EBT run directory (%s)\n", cmd, given,
                strerror(errno));
        return -1;
    }
    if (ebt_owner_assume(cmd, real) < 0)
        return -1;
    snprintf(cfg, sizeof(cfg), "%s/%s", real, EBT_RUNCFG_NAME);
    if (access(cfg, R_OK) < 0) {
        fprintf(stderr, "ebt %s: %s is not an EBT run directory (%s)\n", cmd, given,
                strerror(errno));
        return -1;
    }
    snprintf(o->run_dir, sizeof(o->run_dir), "%s", real);
    return 0;
}
