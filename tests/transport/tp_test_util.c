/* tp_test_util.c - the test server's handler, helpers for forking it and passing addresses. */
#define _GNU_SOURCE
#include "tp_test_util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define TPT_GET_MAX (128u << 20)

int tpt_mpi(void)
{
    const char *t = getenv("EBT_TRANSPORT");
    return t && strcmp(t, "mpi") == 0;
}

int tpt_rank(ebt_tp_ctx_t *ctx)
{
    char a[EBT_TP_ADDR_MAX];
    TPT_CHECK(ebt_tp_ctx_address(ctx, a, sizeof(a)) == 0 && strncmp(a, "mpi:", 4) == 0,
              "not an MPI address: %s", a);
    return atoi(a + 4);
}

double tpt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t tpt_sum(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

void tpt_fill(void *buf, size_t len, uint64_t seed)
{
    unsigned char *p = buf;
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, len - i < 8 ? len - i : 8);
    }
}

static void tpt_free_sent(int status, void *arg)
{
    free(arg);
}

static void tpt_get(ebt_tp_msg_t *msg, const void *data, size_t len)
{
    static void *buf;
    static size_t have;
    uint64_t req[2];
    if (len != sizeof(req)) {
        ebt_tp_msg_reply(msg, -EINVAL, NULL, 0, NULL, NULL);
        return;
    }
    memcpy(req, data, sizeof(req));
    if (req[0] > TPT_GET_MAX) {
        ebt_tp_msg_reply(msg, -EFBIG, NULL, 0, NULL, NULL);
        return;
    }
    if (have < req[0]) {
        free(buf);
        buf = malloc(req[0]);
        have = buf ? req[0] : 0;
    }
    tpt_fill(buf, req[0], req[1]); /* a static buffer, sent zero-copy: no sent callback needed */
    ebt_tp_msg_reply(msg, 0, buf, req[0], NULL, NULL);
}

struct tpt_relay {
    ebt_tp_msg_t *msg;
    size_t len;
    char buf[];
};

static void tpt_relay_done(int status, size_t reply_len, void *arg)
{
    struct tpt_relay *r = arg;
    if (ebt_tp_msg_reply(r->msg, status, r->buf, status == 0 ? reply_len : 0, tpt_free_sent, r) < 0)
        free(r);
}

static void tpt_relay(ebt_tp_msg_t *msg, const void *data, size_t len)
{
    struct tpt_relay *r = malloc(sizeof(*r) + len);
    r->msg = msg;
    r->len = len;
    int rc = ebt_tp_call_start(ebt_tp_msg_peer(msg), TPT_ECHO, data, len, r->buf, len, 0,
                               tpt_relay_done, r);
    if (rc < 0) {
        free(r);
        ebt_tp_msg_reply(msg, rc, NULL, 0, NULL, NULL);
    }
}

static void tpt_relay_sync(struct tpt_node *n, ebt_tp_msg_t *msg, const void *data, size_t len)
{
    char *buf = malloc(len + 1);
    size_t got = 0;
    int rc = n->other ? ebt_tp_call(n->other, TPT_ECHO, data, len, buf, len, &got, 0) : -ENOTCONN;
    if (ebt_tp_msg_reply(msg, rc, buf, rc == 0 ? got : 0, tpt_free_sent, buf) < 0)
        free(buf);
}

static void tpt_handler(ebt_tp_msg_t *msg, void *arg)
{
    struct tpt_node *n = arg;
    size_t len;
    const void *data = ebt_tp_msg_data(msg, &len);
    switch (ebt_tp_msg_op(msg)) {
    case TPT_ECHO:
        ebt_tp_msg_reply(msg, 0, data, len, NULL, NULL);
        break; /* data lives in msg */
    case TPT_NOREPLY:
        n->held++;
        break; /* dropped by ebt_tp_ctx_destroy */
    case TPT_GET:
        tpt_get(msg, data, len);
        break;
    case TPT_PUT: {
        uint64_t *s = malloc(sizeof(*s));
        *s = tpt_sum(data, len);
        ebt_tp_msg_reply(msg, 0, s, sizeof(*s), tpt_free_sent, s);
        break;
    }
    case TPT_RELAY:
        tpt_relay(msg, data, len);
        break;
    case TPT_RELAY_SYNC:
        tpt_relay_sync(n, msg, data, len);
        break;
    case TPT_DONE:
        n->peer_done = 1;
        ebt_tp_msg_reply(msg, 0, NULL, 0, NULL, NULL);
        break;
    case TPT_EXIT:
        n->stop = 1;
        ebt_tp_msg_reply(msg, 0, NULL, 0, NULL, NULL);
        break;
    case TPT_PID: {
        int32_t *pid = malloc(sizeof(*pid));
        *pid = (int32_t)getpid();
        ebt_tp_msg_reply(msg, 0, pid, sizeof(*pid), tpt_free_sent, pid);
        break;
    }
    default:
        ebt_tp_msg_reply(msg, -EOPNOTSUPP, NULL, 0, NULL, NULL);
    }
}

void tpt_node_init(struct tpt_node *n, const char *listen, int timeout_ms)
{
    memset(n, 0, sizeof(*n));
    struct ebt_tp_params p = {
        .listen = listen, .timeout_ms = timeout_ms, .on_request = tpt_handler, .request_arg = n};
    int rc = ebt_tp_ctx_create(NULL, &p, &n->ctx);
    TPT_CHECK(rc == 0, "ctx_create(%s): %s", listen ? listen : "-", strerror(-rc));
}

int tpt_serve(struct tpt_node *n, const volatile int *own_done, double limit_s)
{
    double end = tpt_now() + limit_s;
    while (!n->stop && !(own_done && *own_done && n->peer_done)) {
        if (tpt_now() > end)
            return -ETIMEDOUT;
        if (ebt_tp_progress(n->ctx) > 0 || ebt_tp_arm(n->ctx) == -EAGAIN)
            continue;
        int ms = ebt_tp_timeout_ms(n->ctx);
        struct pollfd p = {.fd = ebt_tp_event_fd(n->ctx), .events = POLLIN};
        poll(&p, 1, ms < 0 || ms > 100 ? 100 : ms);
    }
    /* let the last replies leave */
    double drain = tpt_now() + 0.2;
    while (tpt_now() < drain)
        ebt_tp_progress(n->ctx);
    return 0;
}

void tpt_send_line(int fd, const char *s)
{
    char line[256];
    int len = snprintf(line, sizeof(line), "%s\n", s);
    if (write(fd, line, (size_t)len) != len)
        TPT_FAIL("pipe write: %s", strerror(errno));
}

void tpt_recv_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        TPT_CHECK(poll(&p, 1, timeout_ms) == 1, "no address from the other process");
        ssize_t k = read(fd, buf + n, 1);
        TPT_CHECK(k == 1, "the other process went away before sending its address");
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
}

pid_t tpt_fork_server(char *addr, size_t cap)
{
    int pfd[2];
    TPT_CHECK(pipe(pfd) == 0, "pipe");
    pid_t pid = fork();
    TPT_CHECK(pid >= 0, "fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        close(pfd[0]);
        struct tpt_node n;
        tpt_node_init(&n, "127.0.0.1:0", 0);
        char a[EBT_TP_ADDR_MAX];
        TPT_CHECK(ebt_tp_ctx_address(n.ctx, a, sizeof(a)) == 0, "address");
        tpt_send_line(pfd[1], a);
        int rc = tpt_serve(&n, NULL, 120);
        ebt_tp_ctx_destroy(n.ctx);
        _exit(rc == 0 ? 0 : 3);
    }
    close(pfd[1]);
    tpt_recv_line(pfd[0], addr, cap, 20000);
    close(pfd[0]);
    return pid;
}
