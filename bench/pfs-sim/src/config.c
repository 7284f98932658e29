/* config.c - parses pfs-sim options from one table (name, type, range, default, help). */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum opt_type { OPT_INT, OPT_U64, OPT_BYTES32, OPT_DIR, OPT_FILE, OPT_FLAG };

struct opt_def {
    const char *name;
    enum opt_type type;
    size_t offset;
    long long min, max;
    const char *help;
};

#define FIELD(f) offsetof(struct pfs_config, f)

static const struct opt_def opt_table[] = {
    {"backing", OPT_DIR, FIELD(backing), 0, 0, "backing directory holding the data (required)"},
    {"mnt", OPT_DIR, FIELD(mnt), 0, 0, "parent of the mount points node0..nodeN-1 (required)"},
    {"nodes", OPT_INT, FIELD(nodes), 1, PFS_MAX_NODES, "virtual client nodes, one mount each [1]"},
    {"osts", OPT_INT, FIELD(osts), 1, PFS_MAX_OSTS, "object storage targets [8]"},
    {"stripe-size", OPT_BYTES32, FIELD(stripe_size), PFS_MIN_STRIPE_SIZE, 0xffff0000LL,
     "default stripe size, multiple of 64K, suffix K/M/G [1M]"},
    {"stripe-count", OPT_INT, FIELD(stripe_count), -1, PFS_MAX_OSTS,
     "default stripe count, -1 = all OSTs [1]"},
    {"mds-threads", OPT_INT, FIELD(mds_threads), 1, 4096, "MDS worker slots [4]"},
    {"oss-threads", OPT_INT, FIELD(oss_threads), 1, 4096, "worker slots per OST [4]"},
    {"fuse-threads", OPT_INT, FIELD(fuse_threads), 1, 100000,
     "max FUSE threads per node mount (libfuse >= 3.12) [64]"},
    {"mds-latency-us", OPT_U64, FIELD(mds_latency_us), 0, 60000000, "sleep per MDS op [0]"},
    {"oss-latency-us", OPT_U64, FIELD(oss_latency_us), 0, 60000000,
     "sleep per OST op (per stripe piece) [0]"},
    {"mds-busy-us", OPT_U64, FIELD(mds_busy_us), 0, 60000000, "CPU burnt per MDS op [0]"},
    {"oss-busy-us", OPT_U64, FIELD(oss_busy_us), 0, 60000000, "CPU burnt per OST op [0]"},
    {"ost-bw-mbs", OPT_U64, FIELD(ost_bw_mbs), 0, 1000000,
     "bandwidth cap per OST, MB/s, 0=none [0]"},
    {"lock-penalty-us", OPT_U64, FIELD(lock_penalty_us), 0, 60000000,
     "extent-lock revocation penalty [0]"},
    {"stats", OPT_FILE, FIELD(stats_file), 0, 0, "JSON stats written on SIGUSR1 and at exit"},
    {"cached", OPT_FLAG, FIELD(cached), 0, 0, "use the page cache (byte counts become inexact)"},
    {"allow-other", OPT_FLAG, FIELD(allow_other), 0, 0, "let other users use the mounts"},
    {"fuse-debug", OPT_FLAG, FIELD(fuse_debug), 0, 0, "libfuse debug output on stderr"},
};

#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

void pfs_config_usage(FILE *out, const char *prog)
{
    fprintf(out, "usage: %s --backing DIR --mnt DIR [options]\n", prog);
    fprintf(out, "Serves DIR/node0..N-1 as FUSE mounts of one simulated Lustre file system.\n");
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(out, "  --%-18s %s\n", opt_table[i].name, opt_table[i].help);
    fprintf(out, "  --%-18s %s\n", "help", "this text");
}

int pfs_parse_bytes(const char *text, uint64_t *out_p)
{
    char *end = NULL;
    if (text[0] == '\0' || text[0] == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift != 0)
        end++;
    if (*end != '\0' || (shift != 0 && v > (~0ULL >> shift)))
        return -1;
    *out_p = (uint64_t)v << shift;
    return 0;
}

static int parse_ll(const char *text, long long *out_p)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        return -1;
    *out_p = v;
    return 0;
}

static int set_dir(char *dst, const char *name, const char *text)
{
    struct stat st;
    if (stat(text, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "pfs-sim: --%s %s: not an existing directory\n", name, text);
        return -1;
    }
    if (realpath(text, dst) == NULL) {
        fprintf(stderr, "pfs-sim: --%s %s: %s\n", name, text, strerror(errno));
        return -1;
    }
    return 0;
}

static int set_file(char *dst, const char *name, const char *text)
{
    char cwd[PATH_MAX];
    if (text[0] == '\0') {
        fprintf(stderr, "pfs-sim: --%s: empty path\n", name);
        return -1;
    }
    if (text[0] == '/') {
        snprintf(dst, PATH_MAX, "%s", text);
        return 0;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL ||
        (size_t)snprintf(dst, PATH_MAX, "%s/%s", cwd, text) >= PATH_MAX) {
        fprintf(stderr, "pfs-sim: --%s %s: path too long\n", name, text);
        return -1;
    }
    return 0;
}

static int set_number(const struct opt_def *d, void *field, const char *text)
{
    long long v = 0;
    uint64_t u = 0;
    if (d->type == OPT_BYTES32) {
        if (pfs_parse_bytes(text, &u) != 0 || u < (uint64_t)d->min || u > (uint64_t)d->max ||
            u % PFS_MIN_STRIPE_SIZE != 0)
            goto bad;
        *(uint32_t *)field = (uint32_t)u;
        return 0;
    }
    if (parse_ll(text, &v) != 0 || v < d->min || v > d->max)
        goto bad;
    if (d->type == OPT_INT)
        *(int *)field = (int)v;
    else
        *(uint64_t *)field = (uint64_t)v;
    return 0;
bad:
    fprintf(stderr, "pfs-sim: --%s %s: expected %s in [%lld, %lld]\n", d->name, text,
            d->type == OPT_BYTES32 ? "a multiple of 64K" : "an integer", d->min, d->max);
    return -1;
}

static int apply_option(struct pfs_config *cfg, const struct opt_def *d, const char *value)
{
    void *field = (char *)cfg + d->offset;
    switch (d->type) {
    case OPT_FLAG:
        *(int *)field = 1;
        return 0;
    case OPT_DIR:
        return set_dir(field, d->name, value);
    case OPT_FILE:
        return set_file(field, d->name, value);
    default:
        return set_number(d, field, value);
    }
}

static const struct opt_def *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(opt_table[i].name) == len && strncmp(opt_table[i].name, name, len) == 0)
            return &opt_table[i];
    return NULL;
}

static void set_defaults(struct pfs_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->nodes = 1;
    cfg->osts = 8;
    cfg->stripe_size = 1u << 20;
    cfg->stripe_count = 1;
    cfg->mds_threads = 4;
    cfg->oss_threads = 4;
    cfg->fuse_threads = 64;
}

/* Parses argv[*i] (and maybe argv[*i + 1]). Returns 0, 1 (help) or -1. */
static int parse_one(struct pfs_config *cfg, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
        return 1;
    if (strncmp(arg, "--", 2) != 0) {
        fprintf(stderr, "pfs-sim: unexpected argument '%s'\n", arg);
        return -1;
    }
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct opt_def *d = find_option(name, len);
    if (d == NULL) {
        fprintf(stderr, "pfs-sim: unknown option '%s' (see --help)\n", arg);
        return -1;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (d->type != OPT_FLAG && value == NULL) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "pfs-sim: option --%s needs a value\n", d->name);
            return -1;
        }
        value = argv[++*i];
    } else if (d->type == OPT_FLAG && value != NULL) {
        fprintf(stderr, "pfs-sim: option --%s takes no value\n", d->name);
        return -1;
    }
    return apply_option(cfg, d, value);
}

int pfs_config_parse(struct pfs_config *cfg, int argc, char **argv)
{
    set_defaults(cfg);
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(cfg, argc, argv, &i);
        if (rc == 1)
            pfs_config_usage(stdout, argv[0]);
        if (rc != 0)
            return rc;
    }
    if (cfg->backing[0] == '\0' || cfg->mnt[0] == '\0') {
        fprintf(stderr, "pfs-sim: --backing and --mnt are required (see --help)\n");
        return -1;
    }
    if (cfg->stripe_count > cfg->osts) {
        fprintf(stderr, "pfs-sim: --stripe-count %d exceeds --osts %d\n", cfg->stripe_count,
                cfg->osts);
        return -1;
    }
    if (cfg->stripe_count == 0)
        cfg->stripe_count = 1;
    return 0;
}
