/* mesh_calls.c - the mesh API between forked daemons-in-a-test (3 nodes, loopback): calls to self
 * and peers, from_node, nested and mutual calls, 4 MiB replies, -EMSGSIZE, -EOPNOTSUPP, a deadline
 * (-ETIMEDOUT, node stays alive), broadcast, and a node that dies (-ECONNRESET, then -EHOSTDOWN at
 * once). Nodes 1 and 2 serve through the daemon's event loop (loop hook + transport event fd). */
#define _GNU_SOURCE
#include "config.h"
#include "log.h"
#include "mesh.h"
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define NODES 3
#define BIG (4u << 20)
enum { OP_ECHO = 10, OP_BIG, OP_RELAY, OP_STOP, OP_WHO, OP_DIE, OP_SLOW, OP_BIGFAIL };

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int h_echo(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    if (len && !ebtd_reply_alloc(r, len))
        return -ENOMEM;
    if (len)
        memcpy(r->data, req, len);
    return 0;
}

static unsigned char pattern(int node, size_t i)
{
    return (unsigned char)((i * 7 + (size_t)node) % 251);
}

static int h_big(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    uint32_t n;
    if (len != sizeof(n))
        return -EINVAL;
    memcpy(&n, req, sizeof(n));
    unsigned char *p = ebtd_reply_alloc(r, n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = pattern(ebtd_mesh_self(d), i);
    return p ? 0 : -ENOMEM;
}

/* Call node `target` (u32 in req) with ECHO from inside this handler; reply with what came back. */
static int h_relay(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    uint32_t target;
    char buf[64];
    size_t got;
    if (len != sizeof(target))
        return -EINVAL;
    memcpy(&target, req, sizeof(target));
    int n = snprintf(buf, sizeof(buf), "relayed by %d", ebtd_mesh_self(d));
    int rc = ebtd_mesh_call(d, (int)target, OP_ECHO, buf, (size_t)n, buf, sizeof(buf), &got);
    if (rc == 0 && ebtd_reply_alloc(r, got))
        memcpy(r->data, buf, got);
    return rc;
}

static int h_stop(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    ebt_loop_stop(&d->loop);
    return 0;
}

static int h_who(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    int32_t v = from;
    if (!ebtd_reply_alloc(r, sizeof(v)))
        return -ENOMEM;
    memcpy(r->data, &v, sizeof(v));
    return 0;
}

static int h_die(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    _exit(0); /* a node crashing mid-request */
}

static int h_slow(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    usleep(1500 * 1000); /* longer than the caller's deadline (EBT_PEER_TIMEOUT_MS=700) */
    return 0;
}

/* A failing handler that still filled a large reply. */
static int h_bigfail(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    if (ebtd_reply_alloc(r, 1u << 20))
        memset(r->data, 'x', 1u << 20);
    return -EIO;
}

static void register_handlers(void)
{
    ebtd_mesh_handle(OP_BIGFAIL, h_bigfail);
    ebtd_mesh_handle(OP_ECHO, h_echo);
    ebtd_mesh_handle(OP_BIG, h_big);
    ebtd_mesh_handle(OP_RELAY, h_relay);
    ebtd_mesh_handle(OP_STOP, h_stop);
    ebtd_mesh_handle(OP_WHO, h_who);
    ebtd_mesh_handle(OP_DIE, h_die);
    ebtd_mesh_handle(OP_SLOW, h_slow);
}

static void test_basic(struct ebtd *d)
{
    char buf[64];
    size_t got;
    int32_t who = -1;
    CHECK(ebtd_mesh_nodes(d) == NODES && ebtd_mesh_self(d) == 0, "nodes/self");
    int rc = ebtd_mesh_call(d, 0, OP_ECHO, "self", 4, buf, sizeof(buf), &got);
    CHECK(rc == 0 && got == 4 && !memcmp(buf, "self", 4), "self call: %d", rc);
    rc = ebtd_mesh_call(d, 1, OP_ECHO, "abc", 3, buf, sizeof(buf), &got);
    CHECK(rc == 0 && got == 3 && !memcmp(buf, "abc", 3), "echo node 1: %d", rc);
    rc = ebtd_mesh_call(d, 2, OP_WHO, NULL, 0, &who, sizeof(who), &got);
    CHECK(rc == 0 && got == sizeof(who) && who == 0, "from_node at node 2: %d %d", rc, who);
    rc = ebtd_mesh_call(d, 1, EBTD_P_PING, NULL, 0, buf, sizeof(buf) - 1, &got);
    buf[rc == 0 ? got : 0] = '\0';
    CHECK(rc == 0 && !strcmp(buf, "node 1"), "ping node 1: %d '%s'", rc, buf);
    rc = ebtd_mesh_call(d, 2, 25, NULL, 0, NULL, 0, &got);
    CHECK(rc == -EOPNOTSUPP, "unregistered op: %d", rc);
    rc = ebtd_mesh_call(d, 2, 999, NULL, 0, NULL, 0, &got);
    CHECK(rc == -EOPNOTSUPP, "op out of range: %d", rc);
    rc = ebtd_mesh_call(d, NODES, OP_ECHO, NULL, 0, NULL, 0, &got);
    CHECK(rc == -EINVAL, "node out of range: %d", rc);
}

static void test_nested(struct ebtd *d)
{
    char buf[64];
    size_t got;
    for (uint32_t target = 0; target < NODES; target++) {
        int rc = ebtd_mesh_call(d, 1, OP_RELAY, &target, sizeof(target), buf, sizeof(buf), &got);
        CHECK(rc == 0 && got == 12 && !memcmp(buf, "relayed by 1", 12),
              "relay via node 1 to node %u (mutual when 0): %d", target, rc);
    }
}

static int pattern_ok(const unsigned char *p, size_t n, int node)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(node, i))
            return 0;
    return 1;
}

static void test_big(struct ebtd *d)
{
    uint32_t n = BIG;
    size_t got;
    unsigned char *buf = malloc(BIG);
    int rc = ebtd_mesh_call(d, 2, OP_BIG, &n, sizeof(n), buf, BIG, &got);
    CHECK(rc == 0 && got == BIG && pattern_ok(buf, BIG, 2), "4 MiB reply: %d", rc);
    rc = ebtd_mesh_call(d, 2, OP_BIG, &n, sizeof(n), buf, 1024, &got);
    CHECK(rc == -EMSGSIZE && got == BIG, "too small a reply buffer: %d %zu", rc, got);
    rc = ebtd_mesh_call(d, 0, OP_BIG, &n, sizeof(n), buf, 1024, &got);
    CHECK(rc == -EMSGSIZE && got == BIG, "too small a reply buffer, self: %d %zu", rc, got);
    char *small = malloc(16); /* a sanitizer build catches a copy past it */
    rc = ebtd_mesh_call(d, 0, OP_BIGFAIL, NULL, 0, small, 16, &got);
    CHECK(rc == -EIO, "self call, failing handler with a large reply: %d", rc);
    rc = ebtd_mesh_call(d, 1, OP_BIGFAIL, NULL, 0, small, 16, &got);
    free(small);
    CHECK(rc == -EMSGSIZE || rc == -EIO, "failing handler with a large reply: %d", rc);
    rc = ebtd_mesh_call(d, 1, OP_ECHO, "still", 5, buf, BIG, &got);
    CHECK(rc == 0 && got == 5, "link usable after -EMSGSIZE: %d", rc);
    free(buf);
}

static void test_broadcast(struct ebtd *d)
{
    struct ebtd_mesh_result res[NODES];
    uint32_t n = 1u << 20;
    int rc = ebtd_mesh_broadcast(d, OP_BIG, &n, sizeof(n), n, res);
    CHECK(rc == 0, "broadcast: %d", rc);
    for (int i = 0; i < NODES; i++)
        CHECK(res[i].status == 0 && res[i].len == n && res[i].data && pattern_ok(res[i].data, n, i),
              "broadcast node %d: %d %zu", i, res[i].status, res[i].len);
    ebtd_mesh_results_free(res, NODES);
    rc = ebtd_mesh_broadcast(d, OP_WHO, NULL, 0, 2, res); /* replies of 4 bytes: too big */
    CHECK(rc == -EMSGSIZE, "broadcast, small buffers: %d", rc);
    for (int i = 0; i < NODES; i++)
        CHECK(res[i].status == -EMSGSIZE && res[i].len == 4 && !res[i].data,
              "broadcast -EMSGSIZE node %d: %d %zu", i, res[i].status, res[i].len);
    ebtd_mesh_results_free(res, NODES);
}

static void test_timeout(struct ebtd *d)
{
    size_t got;
    double t0 = now_s();
    int rc = ebtd_mesh_call(d, 1, OP_SLOW, NULL, 0, NULL, 0, &got);
    double dt = now_s() - t0;
    CHECK(rc == -ETIMEDOUT && dt >= 0.6 && dt < 1.4, "slow node: %d after %.3f s", rc, dt);
    CHECK(ebtd_mesh_alive(d, 1), "a slow node is not dead");
    usleep(1000 * 1000); /* node 1 finishes its slow handler; the late reply is dropped */
    rc = ebtd_mesh_call(d, 1, OP_ECHO, "ok", 2, NULL, 0, &got);
    CHECK(rc == -EMSGSIZE && got == 2, "node 1 answers again: %d", rc);
}

static void test_death(struct ebtd *d)
{
    struct ebtd_mesh_result res[NODES];
    size_t got;
    int rc = ebtd_mesh_call(d, 2, OP_DIE, NULL, 0, NULL, 0, &got);
    CHECK(rc == -ECONNRESET, "node dying mid-call: %d", rc);
    CHECK(!ebtd_mesh_alive(d, 2), "node 2 marked dead");
    double t0 = now_s();
    rc = ebtd_mesh_call(d, 2, OP_ECHO, "x", 1, NULL, 0, &got);
    CHECK(rc == -EHOSTDOWN && now_s() - t0 < 0.05, "call to a dead node: %d", rc);
    rc = ebtd_mesh_broadcast(d, EBTD_P_PING, NULL, 0, 64, res);
    CHECK(rc == -EHOSTDOWN && res[0].status == 0 && res[1].status == 0 &&
              res[2].status == -EHOSTDOWN,
          "broadcast with a dead node: %d [%d %d %d]", rc, res[0].status, res[1].status,
          res[2].status);
    ebtd_mesh_results_free(res, NODES);
    char json[1024];
    CHECK(ebtd_mesh_json(d, json, sizeof(json)) > 0 &&
              strstr(json, "{\"node\":2,\"state\":\"dead\"") && strstr(json, "\"dead\":1"),
          "json: %s", json);
}

/* One node: join, then node 0 drives the tests while the others serve from the event loop. */
static int node_main(int id, const char *rdv)
{
    static struct ebt_config cfg;
    static struct ebtd d;
    char log[4200];
    snprintf(log, sizeof(log), "%s/log.%d", rdv, id);
    ebt_log_open(log, "mesh_calls");
    ebt_log_level_now = EBT_LOG_INFO;
    cfg.nodes = NODES;
    cfg.node_id = id;
    snprintf(cfg.rendezvous, sizeof(cfg.rendezvous), "%s", rdv);
    snprintf(cfg.job_id, sizeof(cfg.job_id), "test");
    d.cfg = &cfg;
    d.sigfd = -1;
    ebt_loop_init(&d.loop);
    register_handlers();
    int rc = ebtd_mesh_start(&d);
    if (rc < 0) {
        fprintf(stderr, "node %d: %s\n", id, ebtd_mesh_error());
        return strstr(ebtd_mesh_error(), "cannot open the transport") ? 77 : 1;
    }
    if (id != 0) {
        rc = ebt_loop_run(&d.loop);
        ebtd_mesh_stop(&d);
        return rc < 0 ? 1 : 0;
    }
    test_basic(&d);
    test_nested(&d);
    test_big(&d);
    test_broadcast(&d);
    test_timeout(&d);
    test_death(&d);
    size_t got;
    rc = ebtd_mesh_call(&d, 1, OP_STOP, NULL, 0, NULL, 0, &got);
    CHECK(rc == 0, "stop node 1: %d", rc);
    ebtd_mesh_stop(&d);
    return failures ? 1 : 0;
}

static void on_alarm(int sig) {}

int main(void)
{
    char rdv[] = "/tmp/ebt-mesh-calls.XXXXXX";
    pid_t pid[NODES];
    int worst = 0;
    if (!mkdtemp(rdv))
        return 1;
    sigaction(SIGALRM, &(struct sigaction){.sa_handler = on_alarm}, NULL); /* no SA_RESTART */
    setenv("EBT_PEER_TIMEOUT_MS", "700", 1);
    setenv("EBT_JOIN_TIMEOUT_MS", "20000", 1);
    for (int i = 0; i < NODES; i++) {
        pid[i] = fork();
        if (pid[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            exit(node_main(i, rdv)); /* exit: leak checks run in sanitizer builds */
        }
    }
    for (int i = 0; i < NODES; i++) {
        int st = 0;
        if (i >= 1)
            alarm(5); /* node 0 is done (maybe crashed): each server gets 5 s to finish */
        if (waitpid(pid[i], &st, 0) < 0) {
            kill(pid[i], SIGKILL);
            waitpid(pid[i], &st, 0);
        }
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code)
            fprintf(stderr, "node %d exited with %d (logs in %s)\n", i, code, rdv);
        if (code == 77 || (code && worst != 77))
            worst = code == 77 ? 77 : (worst ? worst : code);
    }
    alarm(0);
    if (worst == 0) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", rdv);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", rdv);
        printf("PASS\n");
    }
    return worst;
}
