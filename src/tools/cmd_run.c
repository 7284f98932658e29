/* cmd_run.c - ebt run: cache a command's PFS writes, then flush them in bulk. */
#define _GNU_SOURCE
#include "tool.h"
#include "json.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t run_child = -1;

static void forward_signal(int sig)
{
    if (run_child > 0)
        kill(run_child, sig);
}

/* Start the command with the EBT environment; wait for it forwarding SIGINT/SIGTERM. Returns
 * its exit status (128+signal if killed), 127 if it could not be started. */
static int run_command(char **cmd)
{
    struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "ebt run: fork: %s\n", strerror(errno));
        return 127;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execvp(cmd[0], cmd);
        fprintf(stderr, "ebt run: cannot run %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    run_child = pid;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    run_child = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Has the daemon exited with status 0 (told to end, e.g. SIGTERM at a batch system's time
 * limit, after flushing)? Waits up to wait_ms for it; *reaped if it was reaped here. */
static int daemon_ended_cleanly(pid_t daemon, int wait_ms, int *reaped)
{
    int status;
    for (int waited = 0; daemon > 0 && !*reaped; waited += 20) {
        if (waitpid(daemon, &status, WNOHANG) == daemon) {
            *reaped = 1;
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        if (waited >= wait_ms)
            break;
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
    return 0;
}

/* Flush through the daemon; if it is gone, say so and flush in this process. A daemon that ended
 * on SIGTERM flushed first: this process finishes what changed since (nothing, usually). */
static int run_flush(const char *run, pid_t daemon, char *json, size_t cap, int *died, int *reaped)
{
    *died = *reaped = 0;
    int clean = daemon_ended_cleanly(daemon, 0, reaped);
    int rc = *reaped ? -ENOTCONN : ebt_daemon_flush(run, json, cap);
    if (rc == -ENOTCONN && !*reaped)
        clean = daemon_ended_cleanly(daemon, 2000, reaped);
    if (rc == -ENOTCONN && clean) {
        fprintf(stderr, "ebt run: ebtd ended on SIGTERM after flushing; finishing here\n");
        return ebt_offline_flush(run, json, cap);
    }
    if (rc == -ENOTCONN) {
        *died = 1;
        fprintf(stderr, "ebt run: ebtd died during the job; flushing %s without it\n", run);
        rc = ebt_offline_flush(run, json, cap);
    }
    return rc;
}

/* The flush failed: mark the run directory as this finished job's, so the 'ebt flush' that
 * completes it removes it (--keep-cache: kept). */
static void mark_retry(const struct ebt_tool_opts *o, const char *run)
{
    char path[PATH_MAX + 16];
    if (o->keep_cache || ebt_rundir_file(run, EBT_RUNDIR_RETRY, path, sizeof(path)) < 0)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
}

static int run_finish(const struct ebt_tool_opts *o, const char *run, int rc, const char *json)
{
    if (rc < 0) {
        char err[1024] = "";
        ebt_json_get_str(json, "error", err, sizeof(err));
        fprintf(stderr,
                "ebt run: %s\nebt run: the cache is kept; retry with: ebt flush --run-dir %s\n",
                err[0] ? err : strerror(-rc), run);
        mark_retry(o, run);
        return -1;
    }
    if (o->keep_cache) {
        fprintf(stderr, "ebt run: cache kept in %s\n", run);
        return 0;
    }
    if (ebt_remove_tree(run) < 0)
        fprintf(stderr, "ebt run: warning: could not remove %s\n", run);
    return 0;
}

static int run_job(const struct ebt_tool_opts *o, const char *lib, char **cmd)
{
    char run[PATH_MAX], extra[PATH_MAX + 128];
    static char json[65536];
    if (ebt_session_create("run", o, run, sizeof(run)) < 0)
        return EBT_EXIT_USAGE;
    if (ebt_lock_prefixes("run", o, run) < 0) {
        ebt_remove_tree(run);
        return EBT_EXIT_USAGE;
    }
    ebt_lock_inherit(1);
    pid_t daemon = ebt_daemon_spawn("run", run, 0);
    ebt_lock_inherit(0);
    if (daemon < 0 || ebt_daemon_wait_ready("run", run, daemon, 10000) < 0) {
        if (daemon > 0)
            ebt_daemon_shutdown(run, daemon);
        ebt_remove_tree(run);
        ebt_lock_release();
        return EBT_EXIT_USAGE;
    }
    if (o->verbose)
        fprintf(stderr, "ebt run: run dir %s, ebtd pid %d\n", run, (int)daemon);
    ebt_session_env(o, run, lib);
    double t0 = ebt_now_s();
    int status = run_command(cmd);
    double job_s = ebt_now_s() - t0;
    int died, reaped, rc = run_flush(run, daemon, json, sizeof(json), &died, &reaped);
    if (!died && !reaped)
        ebt_daemon_shutdown(run, daemon);
    snprintf(extra, sizeof(extra), "\"exit_status\":%d,\"daemon_died\":%s,\"run_dir\":\"%s\"",
             status, died ? "true" : "false", run);
    ebt_report_flush(json, job_s, o->json, extra);
    ebt_lock_release();
    if (run_finish(o, run, rc, json) < 0)
        return EBT_EXIT_FLUSH_FAILED;
    return died ? EBT_EXIT_DAEMON_DIED : status;
}

int ebt_cmd_run(int argc, char **argv)
{
    struct ebt_tool_opts o;
    char lib[PATH_MAX];
    int first = ebt_opts_parse("run", argc, argv, &o);
    if (first < 0)
        return EBT_EXIT_USAGE;
    if (o.npfs == 0) {
        fprintf(
            stderr,
            "ebt run: no --pfs DIR given (the PFS directories to accelerate; or set EBT_PATHS)\n");
        return EBT_EXIT_USAGE;
    }
    if (first >= argc) {
        fprintf(stderr, "ebt run: no command given (ebt run --pfs DIR -- cmd args...)\n");
        return EBT_EXIT_USAGE;
    }
    if (ebt_session_lib("run", lib, sizeof(lib)) < 0)
        return EBT_EXIT_USAGE;
    return run_job(&o, lib, argv + first);
}

void ebt_help_run(FILE *out)
{
    fprintf(
        out,
        "usage: ebt run [--pfs DIR]... [--input DIR]... [--cache DIR] [--visibility "
        "MODE[,PREFIX=MODE]]\n"
        "               [--cache-bytes N] [--keep-cache] [--json] [-v] -- cmd args...\n"
        "Run cmd with writes under each --pfs DIR cached in node-local storage (libebt.so\n"
        "preloaded, ebtd serving a run directory in --cache DIR), then flush them to the PFS\n"
        "in bulk and print a summary on stderr.\n"
        "  --pfs DIR          PFS directory to accelerate (repeatable, at least one)\n"
        "  --input DIR        a tree the job reads (Python env, data set): its metadata (stat,\n"
        "                     readlink, listings, missing names) is cached for the job; it\n"
        "                     may change between jobs (repeatable; EBT_INPUT_PATHS)\n"
        "  --cache DIR        node-local directory for the run directory (default /dev/shm)\n"
        "  --visibility SPEC  write|close|task, with PREFIX=MODE overrides (default close)\n"
        "  --cache-bytes N    cache capacity, e.g. 8G (default: no limit)\n"
        "  --keep-cache       keep the run directory after a successful flush\n"
        "  --json             print the summary as JSON\n"
        "  -v                 verbose\n"
        "Exit status: the command's (128+signal if killed); 2 bad input; 3 ebtd died during\n"
        "the job (data flushed offline); 4 the flush failed (cache kept: ebt flush --run-dir).\n"
        "Environment (all checked before anything starts; an option wins over its variable):\n");
    ebt_config_help(out);
}
