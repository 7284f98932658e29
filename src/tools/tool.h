/* tool.h - shared pieces of the ebt CLI: options, run-directory sessions, daemon control. */
#ifndef EBT_TOOL_H
#define EBT_TOOL_H

#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#define EBT_TOOL_VERSION "0.1.0"
#define EBT_EXIT_USAGE 2        /* bad input */
#define EBT_EXIT_DAEMON_DIED 3  /* ebtd died during the job; the flush ran offline */
#define EBT_EXIT_FLUSH_FAILED 4 /* the flush failed; the cache is kept for 'ebt flush' */

struct ebt_tool_opts {
    char pfs[EBT_MAX_PREFIXES][PATH_MAX]; /* canonical */
    int npfs;
    char inputs[EBT_MAX_INPUTS][PATH_MAX]; /* --input, else EBT_INPUT_PATHS; canonical */
    int ninputs;
    char cache[PATH_MAX];
    char vis[1024];
    uint64_t cache_bytes;
    int keep_cache, json, verbose, ping;
    char run_dir[PATH_MAX];
    /* multi-node (ebt start; docs/multinode.md): given, or worked out by ebt_nodes_resolve */
    int nodes, node_id; /* -1: not given */
    int from_hosts;     /* the nodes are separate hosts (launcher or hostfile), not --nodes */
    char rendezvous[PATH_MAX], hostfile[PATH_MAX], job_id[64];
};

/* ebt.c / cmd_*.c: subcommands, each returns the process exit status. */
int ebt_cmd_run(int argc, char **argv);
int ebt_cmd_start(int argc, char **argv);
int ebt_cmd_stop(int argc, char **argv);
int ebt_cmd_flush(int argc, char **argv);
int ebt_cmd_stat(int argc, char **argv);
int ebt_cmd_stage_in(int argc, char **argv);  /* stage_cli.c */
int ebt_cmd_stage_out(int argc, char **argv); /* stage_cli.c */
void ebt_help_run(FILE *out);
void ebt_help_stage(FILE *out, const char *cmd);
void ebt_help_start(FILE *out);

/* opts.c: parse options for cmd ("run", "start", "stop", "flush", "stat"); validates them and
 * prints a one-line error. Returns the index of the first non-option argument or -1. */
int ebt_opts_parse(const char *cmd, int argc, char **argv, struct ebt_tool_opts *o);
/* The run directory for stop/flush/stat: --run-dir or $EBT_RUN_DIR, checked. 0 or -1 (printed). */
int ebt_opts_run_dir(const char *cmd, struct ebt_tool_opts *o);

/* owner.c: act on run only as its owner: 0 if we are, or were root and now are the owner for
 * good (said on stderr); -1 (printed) for anyone else. */
int ebt_owner_assume(const char *cmd, const char *run);
/* A pidfd for pid if it is verifiably run's daemon (its cmdline, our uid), else -EPERM/-errno. */
int ebt_owner_daemon_pidfd(const char *run, pid_t pid);
/* Wait until the pidfd's process exits: 0, or -ETIMEDOUT. */
int ebt_owner_wait_exit(int pidfd, int timeout_ms);

/* nodes.c: node count, id, rendezvous and job id of 'ebt start': the options, else Slurm, else
 * Open MPI, else one node. Checks them (prints a one-line error). 0 or -1. */
int ebt_nodes_resolve(const char *cmd, struct ebt_tool_opts *o);

/* session.c */
int ebt_session_create(const char *cmd, const struct ebt_tool_opts *o, char *run, size_t cap);
int ebt_session_lib(const char *cmd, char *out, size_t cap); /* libebt.so path; -1 printed */
void ebt_session_env(const struct ebt_tool_opts *o, const char *run, const char *lib);
char *ebt_session_paths(const struct ebt_tool_opts *o, char *out, size_t cap);

/* daemon.c: start, probe, flush and stop ebtd. */
pid_t ebt_daemon_spawn(const char *cmd, const char *run, int detach); /* -1 printed */
int ebt_daemon_wait_ready(const char *cmd, const char *run, pid_t child, int timeout_ms);
/* Multi-node: wait until the (detached) daemon answers EBT_OP_PEERS, i.e. joined the mesh; if it
 * exits first, print its error. 0 or -1 (printed; a daemon still starting is stopped). */
int ebt_daemon_wait_joined(const char *cmd, const char *run, int timeout_ms);
/* EBT_OP_PEERS: the mesh JSON (payload "ping" or NULL). 0 or -errno. */
int ebt_daemon_peers(const char *run, const char *payload, char *json, size_t cap);
int ebt_daemon_alive(const char *run);
/* FLUSH via the daemon: the flush status, or -ENOTCONN if the daemon could not be reached. */
int ebt_daemon_flush(const char *run, char *json, size_t cap);
/* The same for ebt stop: a multi-node daemon skips the job-wide flush when its data is already
 * on the PFS (docs/multinode.md); a one-node daemon flushes as usual. */
int ebt_daemon_flush_if_needed(const char *run, char *json, size_t cap);
int ebt_daemon_counters(const char *run, char *json, size_t cap);
void ebt_daemon_shutdown(const char *run, pid_t child);
/* Wait (no limit) until run's daemon has exited. */
void ebt_daemon_wait_gone(const char *run);
/* The same flush code in this process (daemon gone), resuming from the journal. */
int ebt_offline_flush(const char *run, char *json, size_t cap);

/* lock.c: one managed prefix per running job and node (docs/semantics.md). Announce the job's
 * prefixes and refuse (printed, naming the other job's run directory) if a live job of this node
 * manages one of them, or a directory inside or around one. 0 or -1. */
int ebt_lock_prefixes(const char *cmd, const struct ebt_tool_opts *o, const char *run);
/* Around ebt_daemon_spawn: ebtd inherits the lock (yes=1), the job's command does not (0). */
void ebt_lock_inherit(int yes);
int ebt_lock_fd(void); /* the job's prefix lock fd, -1 if none */
/* ebt start: the daemon (RUN/ebtd.pid) is the holder from now on. */
void ebt_lock_set_holder(const char *run);
void ebt_lock_release(void); /* remove the announcement (the job is over, or failed to start) */

/* report.c */
void ebt_report_flush(const char *json, double job_s, int as_json, const char *extra_json);
int ebt_report_stat(const char *run, const char *json, int as_json);
/* The "mesh" object of a stat JSON (EBT_OP_PEERS): node, nodes, dead peers, ping results. */
void ebt_report_mesh(const char *json);

#endif
