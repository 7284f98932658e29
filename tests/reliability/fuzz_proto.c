/* fuzz_proto.c - protocol fuzzer for a live ebtd: from a fixed seed, >= 20,000 messages of
 * every kind (valid, mutated headers, cut, oversized, exactly-max frames, pipelined bursts,
 * abandoned connections, clients that never read, a connection burst past the fd limit); the
 * daemon must answer each as docs/protocol.md says and stay healthy.
 * usage: fuzz_proto RUN_DIR PREFIX DAEMON_PID FD_LIMIT [SEED]
 * FUZZ_ONLY=name,name... runs only those cases (to check one defect; the test runs all). */
#define _GNU_SOURCE
#include "fuzz.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_MESSAGES 20000

static void check_alive(struct fz *f, const char *after)
{
    struct fz_reply r;
    if (kill(f->pid, 0) < 0)
        fz_die("daemon %d died after %s", f->pid, after);
    int fd = fz_connect(f->run);
    int rc = fz_call(fd, EBT_OP_HELLO, "pid=0\ntask=fuzz\n", 16, &r, 5000);
    if (rc < 0 || r.h.status != 0 || strncmp(r.payload, "ebtd ", 5) != 0)
        fz_die("daemon does not answer HELLO after %s: %s", after, strerror(-rc));
    close(fd);
    if (fz_call(f->ctl, EBT_OP_HELLO, "ctl", 3, &r, 5000) < 0)
        fz_die("the control connection was lost after %s", after);
    printf("ok: %-12s %8llu messages so far\n", after, f->msgs);
    fflush(stdout);
}

static int parse_args(int argc, char **argv, struct fz *f, uint64_t *seed)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: fuzz_proto RUN_DIR PREFIX DAEMON_PID FD_LIMIT [SEED]\n");
        return -1;
    }
    f->run = argv[1];
    f->prefix = argv[2];
    f->pid = atoi(argv[3]);
    f->fd_limit = atoi(argv[4]);
    *seed = argc == 6 ? strtoull(argv[5], NULL, 0) : 20240917;
    return f->pid > 0 && f->fd_limit > 0 ? 0 : -1;
}

static void run_exact(struct fz *f)
{
    fz_case_exact_sizes(f);
}
static void run_valid(struct fz *f)
{
    fz_case_valid(f, 2000);
}
static void run_headers(struct fz *f)
{
    fz_case_random_headers(f, 4000);
}
static void run_truncated(struct fz *f)
{
    fz_case_truncated(f, 800);
}
static void run_oversized(struct fz *f)
{
    fz_case_oversized(f, 400);
}
static void run_pipelined(struct fz *f)
{
    fz_case_pipelined(f, 20, 1000);
}
static void run_abandoned(struct fz *f)
{
    fz_case_abandoned(f, 300);
}

static const struct {
    const char *name;
    void (*run)(struct fz *f);
} cases[] = {
    {"exact", run_exact},         {"valid", run_valid},          {"headers", run_headers},
    {"truncated", run_truncated}, {"oversized", run_oversized},  {"pipelined", run_pipelined},
    {"abandoned", run_abandoned}, {"slow", fz_case_slow_reader}, {"fdlimit", fz_case_fd_burst},
};

static int selected(const char *only, const char *name)
{
    if (!only)
        return 1;
    size_t n = strlen(name);
    for (const char *p = only; (p = strstr(p, name)); p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    struct fz f = {.next_id = 1};
    uint64_t seed;
    if (parse_args(argc, argv, &f, &seed) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    fz_seed(seed);
    printf("fuzz: seed %llu, daemon %d, fd limit %d\n", (unsigned long long)seed, f.pid,
           f.fd_limit);
    const char *only = getenv("FUZZ_ONLY");
    f.ctl = fz_connect(f.run);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!selected(only, cases[i].name))
            continue;
        cases[i].run(&f);
        check_alive(&f, cases[i].name);
    }
    printf("fuzz: %llu messages on %llu connections\n", f.msgs, f.conns);
    if (!only && f.msgs < MIN_MESSAGES)
        fz_die("only %llu messages sent (want >= %d)", f.msgs, MIN_MESSAGES);
    close(f.ctl);
    return 0;
}
