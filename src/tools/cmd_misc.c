/* cmd_misc.c - ebt start, stop, flush and stat: a run directory that outlives one command. */
#define _GNU_SOURCE
#include "tool.h"
#include "json.h"
#include "layer.h"
#include "mesh.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Print a value as a single-quoted shell word. */
static void shell_quote(const char *s)
{
    putchar('\'');
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*s);
    putchar('\'');
}

static void export_line(const char *name, const char *value)
{
    printf("export %s=", name);
    shell_quote(value);
    putchar('\n');
}

void ebt_help_start(FILE *out)
{
    fprintf(
        out,
        "usage: ebt start --pfs DIR [...] [--input DIR]... [--cache DIR] [--visibility SPEC]\n"
        "                 [--cache-bytes N] [--nodes N --node-id I | --hostfile FILE]\n"
        "                 [--rendezvous DIR] [--job-id ID] [--transport ucx|mpi]\n"
        "Create a run directory in --cache DIR, start ebtd on it and print 'export' lines for\n"
        "eval (EBT_RUN_DIR, EBT_PATHS, ..., EBT_NODES, EBT_NODE_ID, LD_PRELOAD). Run it once\n"
        "per node; on a multi-node job it returns once every node's daemon has joined.\n"
        "  --input DIR        a tree the job reads: its metadata is cached (see ebt help run)\n"
        "  --nodes N          daemons in the job (default: Slurm SLURM_NNODES, else Open MPI\n"
        "                     OMPI_COMM_WORLD_SIZE, else MPICH PMI_SIZE, else 1)\n"
        "  --node-id I        this daemon's id, 0..N-1 (SLURM_NODEID, OMPI_COMM_WORLD_RANK,\n"
        "                     PMI_RANK)\n"
        "  --hostfile FILE    one host per line: N is the line count, I this host's line\n"
        "  --rendezvous DIR   shared directory where the daemons meet (created if missing;\n"
        "                     default <first --pfs>/.ebt~rdv.<job id>)\n"
        "  --job-id ID        job id (default EBT_JOB_ID, else SLURM_JOB_ID)\n"
        "  --transport T      between the daemons: ucx (default, EBT_TRANSPORT) or mpi (the\n"
        "                     'ebt start's are one MPI job: mpirun -np N ebt start ...; the\n"
        "                     node id is the rank)\n"
        "Environment: EBT_LISTEN=IP:PORT (transport address; default 127.0.0.1:0, or this\n"
        "host's address when the nodes come from Slurm, Open MPI or --hostfile),\n"
        "EBT_JOIN_TIMEOUT_MS (default 60000), EBT_PEER_TIMEOUT_MS (per call, default 10000).\n");
}

/* One node: the daemon answers at once. Several: it answers once every node has joined. */
static int start_wait(const struct ebt_tool_opts *o, const char *run)
{
    if (o->nodes <= 1)
        return ebt_daemon_wait_ready("start", run, 0, 10000);
    const char *env = getenv("EBT_JOIN_TIMEOUT_MS");
    long join_ms = env && *env ? strtol(env, NULL, 10) : 0;
    if (join_ms <= 0 || join_ms > 3600000)
        join_ms = EBTD_MESH_JOIN_MS;
    return ebt_daemon_wait_joined("start", run, (int)join_ms + 15000);
}

/* Over MPI this process is the rank mpirun/srun launched (ebtd inherited its identity): if it
 * left, the launcher would end the job and the daemons with it. So it stays until its daemon
 * stops ('ebt stop'), with stdout closed so that a caller reading the exports sees them end. */
static void start_stay_for_mpi(const struct ebt_tool_opts *o, const char *run)
{
    const char *t = getenv("EBT_TRANSPORT");
    if (o->nodes <= 1 || !t || strcmp(t, "mpi") != 0)
        return;
    fflush(stdout);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 1);
        close(null);
    }
    ebt_daemon_wait_gone(run);
}

int ebt_cmd_start(int argc, char **argv)
{
    struct ebt_tool_opts o;
    char run[PATH_MAX], lib[PATH_MAX];
    int first = ebt_opts_parse("start", argc, argv, &o);
    if (first < 0)
        return EBT_EXIT_USAGE;
    if (first < argc || o.npfs == 0) {
        fprintf(stderr, "ebt start: %s\n",
                first < argc ? "unexpected argument" : "no --pfs DIR given (or set EBT_PATHS)");
        return EBT_EXIT_USAGE;
    }
    if (ebt_nodes_resolve("start", &o) < 0 || ebt_session_lib("start", lib, sizeof(lib)) < 0 ||
        ebt_session_create("start", &o, run, sizeof(run)) < 0)
        return EBT_EXIT_USAGE;
    if (ebt_lock_prefixes("start", &o, run) < 0) {
        ebt_remove_tree(run);
        return EBT_EXIT_USAGE;
    }
    ebt_lock_inherit(1);
    int spawned = ebt_daemon_spawn("start", run, 1);
    ebt_lock_inherit(0);
    if (spawned < 0 || start_wait(&o, run) < 0) {
        ebt_remove_tree(run);
        ebt_lock_release();
        return EBT_EXIT_USAGE;
    }
    ebt_lock_set_holder(run);
    ebt_session_env(&o, run, lib);
    static const char *const vars[] = {"EBT_RUN_DIR",     "EBT_PATHS", "EBT_VISIBILITY",
                                       "EBT_CACHE_BYTES", "EBT_NODES", "EBT_NODE_ID",
                                       "LD_PRELOAD"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        export_line(vars[i], getenv(vars[i]));
    if (o.ninputs)
        export_line("EBT_INPUT_PATHS", getenv("EBT_INPUT_PATHS"));
    if (o.nodes > 1) {
        export_line("EBT_RENDEZVOUS", o.rendezvous);
        export_line("EBT_JOB_ID", o.job_id);
    }
    start_stay_for_mpi(&o, run);
    return 0;
}

/* Flush via the daemon if it answers, else in this process. Prints the summary. */
static int flush_any(const char *cmd, const char *run, int as_json, int *complete)
{
    static char json[65536];
    int stop = !strcmp(cmd, "stop");
    int rc = stop ? ebt_daemon_flush_if_needed(run, json, sizeof(json))
                  : ebt_daemon_flush(run, json, sizeof(json));
    int offline = rc == -ENOTCONN;
    if (offline) {
        fprintf(stderr, "ebt %s: ebtd is not running; flushing %s in this process\n", cmd, run);
        rc = ebt_offline_flush(run, json, sizeof(json));
    }
    ebt_report_flush(json, -1, as_json, offline ? "\"offline\":true" : "\"offline\":false");
    *complete = strstr(json, "\"complete\":true") != NULL;
    if (rc < 0) {
        char err[1024] = "";
        ebt_json_get_str(json, "error", err, sizeof(err));
        fprintf(stderr,
                "ebt %s: %s\nebt %s: the cache is kept; retry with: ebt flush --run-dir %s\n", cmd,
                err[0] ? err : strerror(-rc), cmd, run);
        return EBT_EXIT_FLUSH_FAILED;
    }
    return 0;
}

static int misc_run_dir(const char *cmd, int argc, char **argv, struct ebt_tool_opts *o)
{
    int first = ebt_opts_parse(cmd, argc, argv, o);
    if (first < 0)
        return -1;
    if (first < argc) {
        fprintf(stderr, "ebt %s: unexpected argument '%s'\n", cmd, argv[first]);
        return -1;
    }
    return ebt_opts_run_dir(cmd, o);
}

/* A complete flush of what a failed 'ebt run' left (RUN/retry, no daemon): nothing else will
 * ever use the run directory, so remove it as ebt run would have. Otherwise say why it stays. */
static void flush_cleanup(const char *run, int complete)
{
    char mark[PATH_MAX + 16];
    if (ebt_rundir_file(run, EBT_RUNDIR_RETRY, mark, sizeof(mark)) < 0 || access(mark, F_OK) < 0)
        return; /* an ebt start job's run directory: ebt stop removes it */
    if (!complete || ebt_daemon_alive(run)) {
        fprintf(stderr, "ebt flush: %s kept: %s\n", run,
                complete ? "a daemon serves it" : "the flush is not complete");
        return;
    }
    if (ebt_remove_tree(run) < 0)
        fprintf(stderr, "ebt flush: warning: could not remove %s\n", run);
    else
        fprintf(stderr, "ebt flush: flush complete; removed %s (left by the failed ebt run)\n",
                run);
}

int ebt_cmd_flush(int argc, char **argv)
{
    struct ebt_tool_opts o;
    int complete = 0;
    if (misc_run_dir("flush", argc, argv, &o) < 0)
        return EBT_EXIT_USAGE;
    int rc = flush_any("flush", o.run_dir, o.json, &complete);
    if (rc == 0)
        flush_cleanup(o.run_dir, complete);
    return rc;
}

int ebt_cmd_stop(int argc, char **argv)
{
    struct ebt_tool_opts o;
    int complete = 0;
    if (misc_run_dir("stop", argc, argv, &o) < 0)
        return EBT_EXIT_USAGE;
    int rc = flush_any("stop", o.run_dir, o.json, &complete);
    ebt_daemon_shutdown(o.run_dir, 0);
    if (rc == 0 && complete && ebt_remove_tree(o.run_dir) < 0)
        fprintf(stderr, "ebt stop: warning: could not remove %s\n", o.run_dir);
    return rc;
}

/* Add "mesh":{...} (EBT_OP_PEERS, with a PING of every node if asked) to the counters JSON. */
static void stat_mesh(const char *run, int ping, char *json, size_t cap)
{
    static char mesh[1 << 20];
    size_t len = strlen(json);
    if (len < 2 || json[len - 1] != '}' ||
        ebt_daemon_peers(run, ping ? "ping" : NULL, mesh, sizeof(mesh)) < 0)
        return;
    snprintf(json + len - 1, cap - (len - 1), ",\"mesh\":%s}", mesh);
}

int ebt_cmd_stat(int argc, char **argv)
{
    struct ebt_tool_opts o;
    static char json[(1 << 20) + 4096];
    char up[PATH_MAX + 8];
    if (misc_run_dir("stat", argc, argv, &o) < 0)
        return EBT_EXIT_USAGE;
    if (ebt_daemon_counters(o.run_dir, json, 4096) == 0) {
        stat_mesh(o.run_dir, o.ping, json, sizeof(json));
    } else {
        unsigned long long files = 0, bytes = 0;
        snprintf(up, sizeof(up), "%s/up", o.run_dir);
        ebt_layer_usage(up, &files, &bytes);
        snprintf(up, sizeof(up), "%s/task", o.run_dir);
        ebt_layer_usage(up, &files, &bytes);
        snprintf(json, 4096, "{\"daemon\":false,\"cache_files\":%llu,\"cache_bytes\":%llu}", files,
                 bytes);
    }
    return ebt_report_stat(o.run_dir, json, o.json);
}
