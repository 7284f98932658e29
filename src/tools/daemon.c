/* daemon.c - start ebtd, wait until it answers, ask it to flush or stop; offline flush. */
#define _GNU_SOURCE
#include "tool.h"
#include "fs.h"
#include "layer.h"
#include "flush.h"
#include "log.h"
#include "proto.h"
#include "runcfg.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/pidfd.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

static int daemon_path(const char *cmd, char *out, size_t cap)
{
    char exe[PATH_MAX];
    const char *env = getenv("EBT_DAEMON");
    ssize_t n;
    if (env && *env) {
        snprintf(out, cap, "%s", env);
    } else if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
        exe[n] = '\0';
        snprintf(out, cap, "%s/ebtd", dirname(exe));
    }
    if (access(out, X_OK) < 0) {
        fprintf(stderr, "ebt %s: daemon %s not executable (%s); set EBT_DAEMON\n", cmd, out,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* A detached daemon keeps no fd of its caller but the prefix lock: a launcher's pipes and its
 * PMI socket (MPICH's hydra: PMI_FD) held open by ebtd make `mpirun -np N ebt start` wait for
 * the daemons' end. Over MPI ebtd needs its launcher's fds (it inherited its rank): kept. */
static void close_caller_fds(void)
{
    const char *t = getenv("EBT_TRANSPORT");
    int keep = ebt_lock_fd();
    if (t && !strcmp(t, "mpi"))
        return;
    if (keep < 3) {
        close_range(3, ~0U, 0);
        return;
    }
    if (keep > 3)
        close_range(3, (unsigned)keep - 1, 0);
    close_range((unsigned)keep + 1, ~0U, 0);
}

/* In the child: own session (a Ctrl-C for the job must not kill it), output to the log. */
static void daemon_exec(const char *path, const char *run, int detach)
{
    char log[PATH_MAX + 16];
    snprintf(log, sizeof(log), "%s/ebt.log", run);
    setsid();
    if (!detach) /* ebt run killed: ebtd exits cleanly, the cache stays for 'ebt flush' */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
    int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (in >= 0)
        dup2(in, 0);
    if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
    }
    if (detach)
        close_caller_fds();
    execl(path, "ebtd", "--run-dir", run, (char *)NULL);
    _exit(127);
}

pid_t ebt_daemon_spawn(const char *cmd, const char *run, int detach)
{
    char path[PATH_MAX] = "";
    if (daemon_path(cmd, path, sizeof(path)) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "ebt %s: fork: %s\n", cmd, strerror(errno));
        return -1;
    }
    if (pid == 0 && !detach)
        daemon_exec(path, run, 0);
    if (pid == 0) { /* detach: the grandchild is the daemon, reparented to init */
        if (fork() == 0)
            daemon_exec(path, run, 1);
        _exit(0);
    }
    if (detach) {
        waitpid(pid, NULL, 0);
        return 0;
    }
    return pid;
}

static int daemon_hello(const char *run)
{
    char req[64], reply[128];
    uint32_t len;
    int fd = ebt_proto_connect(run);
    if (fd < 0)
        return fd;
    snprintf(req, sizeof(req), "pid=%d\ntask=ebt\n", (int)getpid());
    int rc =
        ebt_proto_call(fd, EBT_OP_HELLO, req, (uint32_t)strlen(req), reply, sizeof(reply), &len);
    close(fd);
    return rc;
}

int ebt_daemon_wait_ready(const char *cmd, const char *run, pid_t child, int timeout_ms)
{
    int status, rc = -ETIMEDOUT;
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        if ((rc = daemon_hello(run)) == 0)
            return 0;
        if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
            fprintf(stderr, "ebt %s: ebtd exited during start-up (status %d); see %s/ebt.log\n",
                    cmd, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), run);
            return -1;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "ebt %s: ebtd did not answer within %d s (%s); see %s/ebt.log\n", cmd,
            timeout_ms / 1000, strerror(-rc), run);
    return -1;
}

static pid_t pid_from_file(const char *run);
static int proc_gone(pid_t pid);

/* The daemon's own error lines (its stderr goes to the log, each starting with "ebtd: "). */
static int daemon_errors(const char *run, FILE *out, const char *cmd)
{
    char path[PATH_MAX + 16], line[2048];
    int n = 0;
    snprintf(path, sizeof(path), "%s/ebt.log", run);
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "ebtd: ", 6) && ++n && out)
            fprintf(out, "ebt %s: %s", cmd, line);
    if (f)
        fclose(f);
    return n;
}

int ebt_daemon_peers(const char *run, const char *payload, char *json, size_t cap)
{
    uint32_t len = 0;
    int fd = ebt_proto_connect(run);
    if (fd < 0)
        return fd;
    int rc = ebt_proto_call_timeout(fd, EBT_OP_PEERS, payload, payload ? strlen(payload) : 0, json,
                                    (uint32_t)cap - 1, &len, EBT_PROTO_TIMEOUT_MS);
    close(fd);
    json[rc == 0 ? len : 0] = '\0';
    return rc;
}

/* One PEERS call waiting at most wait_ms: the daemon serves its socket only once it has joined
 * the mesh, and then answers at once. Few, long calls: each one that times out stays in the
 * socket's backlog until the daemon serves it. */
static int daemon_joined(const char *run, int wait_ms)
{
    char json[256];
    uint32_t len;
    int fd = ebt_proto_connect(run);
    if (fd < 0)
        return fd;
    int rc = ebt_proto_call_timeout(fd, EBT_OP_PEERS, NULL, 0, json, sizeof(json), &len, wait_ms);
    close(fd);
    return rc == -EMSGSIZE ? 0 : rc;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The daemon is gone or said why it failed: print that (its last log lines if it said nothing). */
static int daemon_failed(const char *cmd, const char *run, pid_t *pid)
{
    if (*pid <= 0)
        *pid = pid_from_file(run);
    if (!(*pid > 0 && proc_gone(*pid)) && daemon_errors(run, NULL, cmd) == 0)
        return 0;
    if (daemon_errors(run, stderr, cmd) == 0)
        fprintf(stderr, "ebt %s: ebtd exited during start-up without a reason on stderr\n", cmd);
    return 1;
}

int ebt_daemon_wait_joined(const char *cmd, const char *run, int timeout_ms)
{
    pid_t pid = -1;
    double end = mono_ms() + timeout_ms;
    while (mono_ms() < end) {
        double t0 = mono_ms();
        if (daemon_joined(run, 1000) == 0)
            return 0;
        if (daemon_failed(cmd, run, &pid)) {
            ebt_daemon_shutdown(run, 0); /* one that reported an error but lingers */
            return -1;
        }
        if (mono_ms() - t0 < 100) /* no socket yet, or refused: do not spin */
            sleep_ms(100);
    }
    fprintf(stderr, "ebt %s: ebtd did not join the mesh within %d s\n", cmd, timeout_ms / 1000);
    ebt_daemon_shutdown(run, 0);
    return -1;
}

int ebt_daemon_alive(const char *run)
{
    return daemon_hello(run) == 0;
}

static int daemon_call(const char *run, uint16_t op, const char *req, char *out, size_t cap,
                       int timeout_ms)
{
    uint32_t len = 0;
    int fd = ebt_proto_connect(run);
    if (fd < 0)
        return -ENOTCONN;
    int rc = ebt_proto_call_timeout(fd, op, req, req ? (uint32_t)strlen(req) : 0, out,
                                    (uint32_t)cap - 1, &len, timeout_ms);
    close(fd);
    out[len] = '\0';
    /* a local transport error means the daemon is gone (or went mid-request) */
    if (rc == -ECONNRESET || rc == -EPIPE || rc == -ETIMEDOUT || (rc == -EPROTO && len == 0))
        return -ENOTCONN;
    return rc;
}

int ebt_daemon_flush(const char *run, char *json, size_t cap)
{
    return daemon_call(run, EBT_OP_FLUSH, NULL, json, cap, -1);
}

int ebt_daemon_flush_if_needed(const char *run, char *json, size_t cap)
{
    return daemon_call(run, EBT_OP_FLUSH, "if-needed", json, cap, -1);
}

int ebt_daemon_counters(const char *run, char *json, size_t cap)
{
    return daemon_call(run, EBT_OP_COUNTERS, NULL, json, cap, EBT_PROTO_TIMEOUT_MS);
}

static pid_t pid_from_file(const char *run)
{
    char path[PATH_MAX + 16], text[32] = "";
    snprintf(path, sizeof(path), "%s/ebtd.pid", run);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    return (pid_t)atoi(text);
}

/* Has pid exited? A zombie counts as gone (its parent, maybe init, reaps it when it likes). */
static int proc_gone(pid_t pid)
{
    char path[64], text[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    const char *paren = strrchr(text, ')');
    return !paren || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X';
}

void ebt_daemon_wait_gone(const char *run)
{
    pid_t pid = pid_from_file(run);
    while (pid > 0 && !proc_gone(pid))
        sleep_ms(100);
}

/* Ask the daemon to exit and wait for it (5 s; then SIGKILL). A daemon that is not our child is
 * signalled only through a pidfd of a process verified to be this run directory's ebtd. */
void ebt_daemon_shutdown(const char *run, pid_t child)
{
    char reply[64];
    pid_t pid = child > 0 ? child : pid_from_file(run);
    int pfd = child > 0 || pid <= 0 ? -1 : ebt_owner_daemon_pidfd(run, pid);
    if (child <= 0 && pid > 0 && pfd < 0 && !proc_gone(pid))
        fprintf(stderr,
                "ebt: %s/ebtd.pid names process %d, which is not this run directory's "
                "daemon: not signalled\n",
                run, (int)pid);
    daemon_call(run, EBT_OP_SHUTDOWN, NULL, reply, sizeof(reply), EBT_PROTO_TIMEOUT_MS);
    if (child > 0) {
        for (int i = 0; i < 250; i++, sleep_ms(20))
            if (waitpid(child, NULL, WNOHANG) == child)
                return;
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        return;
    }
    if (pfd < 0)
        return;
    if (ebt_owner_wait_exit(pfd, 5000) < 0) {
        pidfd_send_signal(pfd, SIGKILL, NULL, 0);
        ebt_owner_wait_exit(pfd, 5000);
    }
    close(pfd);
}

/* A node of a multi-node job flushed alone writes only its own files: its parts of files several
 * nodes wrote (RUN/held) need the job-wide flush. Say so, keep them, and do not call it complete.
 */
static int offline_check_held(const char *run, struct ebt_flush_stats *st, char *err, size_t cap)
{
    char held[PATH_MAX + 8];
    unsigned long long files = 0, bytes = 0;
    snprintf(held, sizeof(held), "%s/held", run);
    ebt_layer_usage(held, &files, &bytes);
    if (files == 0)
        return 0;
    st->complete = 0;
    snprintf(err, cap,
             "this node holds parts of %llu file(s) that several nodes wrote (%.200s, %llu bytes): "
             "they reach the PFS only through the job-wide flush, with every daemon of the job "
             "running; they are kept",
             files, held, bytes);
    return -EAGAIN;
}

int ebt_offline_flush(const char *run, char *json, size_t cap)
{
    static struct ebt_config cfg;
    struct ebt_flush_stats st;
    char err[1024], log[PATH_MAX + 16];
    snprintf(log, sizeof(log), "%s/ebt.log", run);
    ebt_log_open(log, "ebt");
    int rc = ebt_runcfg_load(run, &cfg, err, sizeof(err));
    if (rc < 0) {
        memset(&st, 0, sizeof(st));
        ebt_flush_json(&st, rc, err, json, cap);
        return rc;
    }
    ebt_log_level_now = cfg.log_level;
    ebt_log_set_cap(cfg.log_bytes);
    if (ebtd_fs_clear_stale(run, &cfg) > 0) /* the dead daemon's view must not hide the PFS */
        ebt_info("offline flush: unmounted the dead daemon's view");
    rc = ebt_flush_run(run, &cfg, &st, err, sizeof(err));
    if (rc == 0)
        rc = offline_check_held(run, &st, err, sizeof(err));
    ebt_flush_json(&st, rc, err, json, cap);
    return rc;
}
