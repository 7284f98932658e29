/* ebt.c - the ebt command line: dispatch to run, start, stop, flush, stat, stage-in/out, help. */
#define _GNU_SOURCE
#include "tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ebt COMMAND [options]\n"
        "  run   [--pfs DIR]... [options] -- cmd args...   run a job with EBT, flush at the end\n"
        "  start --pfs DIR [...]     create a run dir, start ebtd, print 'export' lines for eval\n"
        "        [--nodes N --node-id I | --hostfile FILE] [--rendezvous DIR] [--job-id ID]\n"
        "        [--transport ucx|mpi]\n"
        "                            one daemon of a multi-node job ('ebt help start')\n"
        "  stop  [--run-dir DIR]     flush, stop ebtd, remove the run dir (default $EBT_RUN_DIR)\n"
        "  flush [--run-dir DIR]     flush now (through ebtd, or in-process if it is gone)\n"
        "  stat  [--run-dir DIR] [--json] [--ping]   cache and flush counters, the mesh\n"
        "  stage-in  [options] SRC DEST   copy a tree in parallel: types, links, modes, owners,\n"
        "  stage-out [options] SRC DEST   times, xattrs kept; resumable ('ebt help stage-in')\n"
        "  help [COMMAND], --help, --version\n");
}

/* Our own I/O must not go through the client: drop libebt.so from LD_PRELOAD and re-exec. */
static void drop_preload(char **argv)
{
    const char *pre = getenv("LD_PRELOAD");
    if (!pre || !strstr(pre, "libebt.") || getenv("EBT_TOOL_REEXEC"))
        return;
    char keep[8192] = "", buf[8192];
    snprintf(buf, sizeof(buf), "%s", pre);
    char *save = NULL;
    for (char *t = strtok_r(buf, ": ", &save); t; t = strtok_r(NULL, ": ", &save)) {
        const char *base = strrchr(t, '/') ? strrchr(t, '/') + 1 : t;
        if (strncmp(base, "libebt.", 7) != 0)
            snprintf(keep + strlen(keep), sizeof(keep) - strlen(keep), "%s%s", *keep ? ":" : "", t);
    }
    if (*keep)
        setenv("LD_PRELOAD", keep, 1);
    else
        unsetenv("LD_PRELOAD");
    setenv("EBT_TOOL_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
}

static int help(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "run")) {
        ebt_help_run(stdout);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "start")) {
        ebt_help_start(stdout);
        return 0;
    }
    if (argc > 1 && (!strcmp(argv[1], "stage-in") || !strcmp(argv[1], "stage-out"))) {
        ebt_help_stage(stdout, argv[1]);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "start") && strcmp(argv[1], "stop") &&
        strcmp(argv[1], "flush") && strcmp(argv[1], "stat")) {
        fprintf(stderr, "ebt help: unknown command '%s'\n", argv[1]);
        return 2;
    }
    usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    drop_preload(argv);
    unsetenv("EBT_TOOL_REEXEC");
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "help"))
        return help(argc - 1, argv + 1);
    if (!strcmp(cmd, "--version")) {
        printf("ebt %s\n", EBT_TOOL_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"run", ebt_cmd_run},
                {"start", ebt_cmd_start},
                {"stop", ebt_cmd_stop},
                {"flush", ebt_cmd_flush},
                {"stat", ebt_cmd_stat},
                {"stage-in", ebt_cmd_stage_in},
                {"stage-out", ebt_cmd_stage_out}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ebt: unknown command '%s' (see 'ebt --help')\n", cmd);
    return 2;
}
