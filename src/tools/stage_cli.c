/* stage_cli.c - ebt stage-in / stage-out: options, checks of SRC and DEST, the summary. */
#define _GNU_SOURCE
#include "stage.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ebt_help_stage(FILE *out, const char *cmd)
{
    fprintf(out,
            "usage: ebt %s [--threads N] [--chunk SIZE] [--verify] [--json] [--progress] SRC DEST\n"
            "Copy the tree SRC so that DEST becomes the same tree (DEST is made if missing; its\n"
            "parent must exist), on one node with N threads: %s.\n"
            "Kept: regular files (sparse files stay sparse; files above SIZE go in SIZE pieces\n"
            "in parallel), directories, symlinks as symlinks, hard links within SRC as hard\n"
            "links, FIFOs; modes, owners (as root; else where the kernel allows), atimes and\n"
            "mtimes (directories' after their contents), user.* xattrs. Sockets and devices are\n"
            "reported and skipped. No symlink is followed in SRC or DEST: one in DEST where SRC\n"
            "has a directory or file is replaced, never written through.\n"
            "Each file is written to a temporary name (" STAGE_TMP_PREFIX
            "*) in its directory and renamed\n"
            "into place when its data and metadata are complete, so a run killed at any point\n"
            "is resumed by running it again: entries whose destination already matches (type,\n"
            "size, mtime, mode, owner as root; with --verify also the checksum) are skipped,\n"
            "and a large file resumes from the chunks it had done.\n"
            "  --threads N   copy threads, 1..256 (default EBT_STAGE_THREADS)\n"
            "  --chunk SIZE  piece size of large files, 64K..1G (default EBT_STAGE_CHUNK)\n"
            "  --verify      checksum (64-bit FNV-1a) every copied file on both sides after the\n"
            "                copy; list mismatches and fail\n"
            "  --json        print the summary as one JSON object on stdout (files, dirs,\n"
            "                symlinks, links, fifos, special_skipped, copied, skipped, bytes,\n"
            "                seconds, errors, verified, mismatches, chunks_resumed)\n"
            "  --progress    a progress line on stderr (default: only when stderr is a terminal)\n"
            "Exit status: 0 all copied; 1 some entries failed or mismatched (each named on\n"
            "stderr; the rest is copied); 2 bad input (nothing copied).\n"
            "Environment: EBT_STAGE_THREADS, EBT_STAGE_CHUNK (see 'ebt help run').\n",
            cmd,
            !strcmp(cmd, "stage-in") ? "stage input from the PFS to node-local storage"
                                     : "stage output from node-local storage to the PFS");
}

static int bad(const char *cmd, const char *fmt, const char *arg, const char *why)
{
    fprintf(stderr, "ebt %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "%s%s\n", why ? ": " : "", why ? why : "");
    return -1;
}

static int parse_opts(struct stage_job *j, int argc, char **argv)
{
    static const struct option lo[] = {{"threads", required_argument, NULL, 't'},
                                       {"chunk", required_argument, NULL, 'c'},
                                       {"verify", no_argument, NULL, 'V'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"progress", no_argument, NULL, 'p'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 't':
            j->threads = (int)strtol(optarg, &end, 10);
            if (!*optarg || *end || j->threads < 1 || j->threads > 256)
                return bad(j->cmd, "--threads %s: must be a number 1..256", optarg, NULL);
            break;
        case 'c':
            if (ebt_parse_size(optarg, &j->chunk) < 0 || j->chunk < EBT_STAGE_CHUNK_MIN ||
                j->chunk > EBT_STAGE_CHUNK_MAX)
                return bad(j->cmd, "--chunk %s: a size from 64K to 1G (e.g. 8M)", optarg, NULL);
            break;
        case 'V':
            j->verify = 1;
            break;
        case 'j':
            j->json = 1;
            break;
        case 'p':
            j->progress = 1;
            break;
        case 'h':
            ebt_help_stage(stdout, j->cmd);
            exit(0);
        default:
            return bad(j->cmd, "%s (see 'ebt help stage-in')", argv[optind - 1],
                       optopt ? "option needs a value" : "unknown option");
        }
    }
    if (argc - optind != 2)
        return bad(j->cmd, "%s", "needs SRC and DEST (see 'ebt help stage-in')", NULL);
    return optind;
}

/* DEST's canonical path, whether or not it exists yet (its parent must). */
static int dest_path(const char *cmd, const char *given, char *out)
{
    char tmp[PATH_MAX], par[PATH_MAX];
    struct stat st;
    if (realpath(given, out))
        return stat(out, &st) == 0 && S_ISDIR(st.st_mode)
                   ? 0
                   : bad(cmd, "DEST %s", given, "exists and is not a directory");
    if (errno != ENOENT)
        return bad(cmd, "DEST %s", given, strerror(errno));
    snprintf(tmp, sizeof(tmp), "%s", given);
    char *base = basename(tmp);
    snprintf(par, sizeof(par), "%s", given);
    if (!realpath(dirname(par), out))
        return bad(cmd, "DEST %s: its parent directory", given, strerror(errno));
    if (!strcmp(base, "..") || !strcmp(base, ".") || strlen(out) + strlen(base) + 2 > PATH_MAX)
        return bad(cmd, "DEST %s", given, "not a usable name");
    strcat(strcmp(out, "/") ? strcat(out, "/") : out, base);
    return 0;
}

/* SRC an existing directory; DEST neither SRC nor inside it; both roots opened. */
static int open_roots(struct stage_job *j, const char *src, const char *dst)
{
    struct stat st;
    if (!realpath(src, j->src) || stat(j->src, &st) < 0)
        return bad(j->cmd, "SRC %s", src, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return bad(j->cmd, "SRC %s", src, "not a directory (stage a directory tree)");
    if (dest_path(j->cmd, dst, j->dst) < 0)
        return -1;
    size_t n = strlen(j->src);
    if (!strcmp(j->src, j->dst) || (!strncmp(j->dst, j->src, n) && j->dst[n] == '/') ||
        !strcmp(j->src, "/"))
        return bad(j->cmd, "DEST %s", dst, "is SRC or lies inside SRC");
    j->dst_made = mkdir(j->dst, 0700) == 0;
    if (!j->dst_made && errno != EEXIST)
        return bad(j->cmd, "DEST %s", dst, strerror(errno));
    j->src_fd = open(j->src, O_PATH | O_DIRECTORY | O_CLOEXEC);
    j->dst_fd = open(j->dst, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (j->src_fd < 0 || j->dst_fd < 0)
        return bad(j->cmd, "%s", j->src_fd < 0 ? src : dst, strerror(errno));
    return 0;
}

static unsigned long long cnt(atomic_ullong *c)
{
    return (unsigned long long)atomic_load(c);
}

static void summary(struct stage_job *j, double secs)
{
    struct stage_counters *c = &j->c;
    if (j->json) {
        printf("{\"command\":\"%s\",\"files\":%llu,\"dirs\":%llu,\"symlinks\":%llu,\"links\":%llu,"
               "\"fifos\":%llu,\"special_skipped\":%llu,\"copied\":%llu,\"skipped\":%llu,"
               "\"bytes\":%llu,\"seconds\":%.6f,\"errors\":%llu,\"verified\":%llu,"
               "\"mismatches\":%llu,\"chunks_resumed\":%llu}\n",
               j->cmd, cnt(&c->files), cnt(&c->dirs), cnt(&c->symlinks), cnt(&c->hardlinks),
               cnt(&c->fifos), cnt(&c->specials), cnt(&c->copied), cnt(&c->skipped), cnt(&c->bytes),
               secs, cnt(&c->errors), cnt(&c->verified), cnt(&c->mismatches),
               cnt(&c->chunks_resumed));
        return;
    }
    fprintf(stderr,
            "ebt %s: %llu files, %llu dirs, %llu symlinks, %llu hard links, %llu fifos: "
            "%llu copied, %llu already in place (skipped); %llu bytes in %.3f s (%.1f MiB/s); "
            "%llu errors\n",
            j->cmd, cnt(&c->files), cnt(&c->dirs), cnt(&c->symlinks), cnt(&c->hardlinks),
            cnt(&c->fifos), cnt(&c->copied), cnt(&c->skipped), cnt(&c->bytes), secs,
            secs > 0 ? (double)cnt(&c->bytes) / secs / 1048576.0 : 0.0, cnt(&c->errors));
    if (cnt(&c->chunks_resumed))
        fprintf(stderr, "ebt %s: %llu chunks of large files done by an interrupted run: kept\n",
                j->cmd, cnt(&c->chunks_resumed));
    if (cnt(&c->specials))
        fprintf(stderr, "ebt %s: %llu sockets/devices skipped\n", j->cmd, cnt(&c->specials));
    if (j->verify)
        fprintf(stderr, "ebt %s: verified %llu files: %llu mismatches\n", j->cmd, cnt(&c->verified),
                cnt(&c->mismatches));
}

static int stage_main(const char *cmd, int argc, char **argv)
{
    static struct stage_job j; /* large (paths, locks): not on the stack */
    static struct ebt_config cfg;
    char err[1024];
    memset(&j, 0, sizeof(j));
    j.cmd = cmd;
    j.src_fd = j.dst_fd = -1;
    if (ebt_config_load(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "ebt %s: %s\n", cmd, err);
        return EBT_EXIT_USAGE;
    }
    j.threads = cfg.stage_threads;
    j.chunk = cfg.stage_chunk;
    j.progress = isatty(2);
    j.can_chown = geteuid() == 0;
    j.corrupt = getenv("EBT_STAGE_TEST_CORRUPT");
    int first = parse_opts(&j, argc, argv);
    if (first < 0 || open_roots(&j, argv[first], argv[first + 1]) < 0)
        return EBT_EXIT_USAGE;
    int rc = stage_run(&j);
    summary(&j, stage_now() - j.t0);
    stage_free(&j);
    close(j.src_fd);
    close(j.dst_fd);
    return rc;
}

int ebt_cmd_stage_in(int argc, char **argv)
{
    return stage_main("stage-in", argc, argv);
}

int ebt_cmd_stage_out(int argc, char **argv)
{
    return stage_main("stage-out", argc, argv);
}
