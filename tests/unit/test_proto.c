/* test_proto.c - the server parser (conn.c) and client calls (proto.c) against bad input. */
#define _GNU_SOURCE
#include "conn.h"
#include "proto.h"
#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static char reply_buf[EBT_PROTO_MAX_PAYLOAD];
static int handled;

/* Echo handler: replies with the payload; counts calls. */
static int echo(void *ctx, const struct ebt_proto_hdr *h, const char *payload, char *reply,
                uint32_t cap, uint32_t *replylen)
{
    handled++;
    memcpy(reply, payload, h->length);
    *replylen = h->length;
    return h->op == EBT_OP_STAT ? -ENOENT : 0;
}

struct pair {
    int cli, srv;
    struct ebt_conn c;
};

static int pair_setup(void **state)
{
    struct pair *p = calloc(1, sizeof(*p));
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    p->cli = sv[0];
    p->srv = sv[1];
    ebt_conn_init(&p->c, p->srv, reply_buf, sizeof(reply_buf));
    handled = 0;
    *state = p;
    return 0;
}

static int pair_teardown(void **state)
{
    struct pair *p = *state;
    ebt_conn_free(&p->c);
    close(p->cli);
    close(p->srv);
    free(p);
    return 0;
}

static struct ebt_proto_hdr hdr(uint16_t op, uint32_t len, uint32_t id)
{
    return (struct ebt_proto_hdr){EBT_PROTO_MAGIC, EBT_PROTO_VERSION, op, len, id, 0};
}

static void send_raw(int fd, const void *a, size_t n)
{
    if (n == 0)
        return;
    assert_int_equal(write(fd, a, n), (ssize_t)n);
}

/* Read one reply from the client end (the server replied synchronously). */
static int read_reply(int fd, struct ebt_proto_hdr *h, char *payload, size_t cap)
{
    ssize_t n = recv(fd, h, sizeof(*h), MSG_DONTWAIT);
    if (n != (ssize_t)sizeof(*h))
        return -1;
    assert_true(h->length <= cap);
    if (h->length)
        assert_int_equal(recv(fd, payload, h->length, MSG_DONTWAIT), (ssize_t)h->length);
    return 0;
}

static void test_valid_request(void **state)
{
    struct pair *p = *state;
    struct ebt_proto_hdr h = hdr(EBT_OP_HELLO, 5, 42), r;
    char buf[64];
    send_raw(p->cli, &h, sizeof(h));
    send_raw(p->cli, "hello", 5);
    assert_int_equal(ebt_conn_readable(&p->c, echo, NULL), 0);
    assert_int_equal(handled, 1);
    assert_int_equal(read_reply(p->cli, &r, buf, sizeof(buf)), 0);
    assert_int_equal(r.magic, EBT_PROTO_MAGIC);
    assert_int_equal(r.reqid, 42);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.length, 5);
    assert_memory_equal(buf, "hello", 5);
}

static void expect_reject(struct pair *p, const void *msg, size_t n, int status)
{
    struct ebt_proto_hdr r;
    char buf[64];
    send_raw(p->cli, msg, n);
    assert_int_equal(ebt_conn_readable(&p->c, echo, NULL), status);
    assert_int_equal(handled, 0);
    assert_int_equal(read_reply(p->cli, &r, buf, sizeof(buf)), 0);
    assert_int_equal(r.status, status);
    assert_int_equal(r.length, 0);
}

static void test_bad_magic(void **state)
{
    struct ebt_proto_hdr h = hdr(EBT_OP_HELLO, 0, 1);
    h.magic = 0xdeadbeef;
    expect_reject(*state, &h, sizeof(h), -EPROTO);
}

static void test_bad_version(void **state)
{
    struct ebt_proto_hdr h = hdr(EBT_OP_HELLO, 0, 1);
    h.version = 77;
    expect_reject(*state, &h, sizeof(h), -EPROTONOSUPPORT);
}

static void test_oversized(void **state)
{
    struct ebt_proto_hdr h = hdr(EBT_OP_HELLO, EBT_PROTO_MAX_PAYLOAD + 1, 1);
    expect_reject(*state, &h, sizeof(h), -EMSGSIZE);
}

/* An unknown op is answered and the connection stays usable. */
static void test_bad_op_then_valid(void **state)
{
    struct pair *p = *state;
    struct ebt_proto_hdr bad = hdr(99, 3, 7), good = hdr(EBT_OP_HELLO, 2, 8), r;
    char buf[64];
    send_raw(p->cli, &bad, sizeof(bad));
    send_raw(p->cli, "abc", 3);
    send_raw(p->cli, &good, sizeof(good));
    send_raw(p->cli, "ok", 2);
    assert_int_equal(ebt_conn_readable(&p->c, echo, NULL), 0);
    assert_int_equal(read_reply(p->cli, &r, buf, sizeof(buf)), 0);
    assert_int_equal(r.reqid, 7);
    assert_int_equal(r.status, -EOPNOTSUPP);
    assert_int_equal(read_reply(p->cli, &r, buf, sizeof(buf)), 0);
    assert_int_equal(r.reqid, 8);
    assert_int_equal(r.status, 0);
    assert_int_equal(handled, 1);
}

static void test_truncated_payload(void **state)
{
    struct pair *p = *state;
    struct ebt_proto_hdr h = hdr(EBT_OP_HELLO, 100, 3);
    send_raw(p->cli, &h, sizeof(h));
    send_raw(p->cli, "0123456789", 10);
    shutdown(p->cli, SHUT_WR);
    expect_reject(p, "", 0, -EPROTO);
}

/* Half a header then EOF: nothing can be answered, the connection is closed. */
static void test_truncated_header(void **state)
{
    struct pair *p = *state;
    struct ebt_proto_hdr h = hdr(EBT_OP_HELLO, 0, 3), r;
    send_raw(p->cli, &h, 7);
    shutdown(p->cli, SHUT_WR);
    assert_int_equal(ebt_conn_readable(&p->c, echo, NULL), -ECONNRESET);
    assert_int_equal(handled, 0);
    assert_int_equal(recv(p->cli, &r, sizeof(r), MSG_DONTWAIT), -1);
}

/* Partial delivery: nothing happens until the message is complete. */
static void test_incremental(void **state)
{
    struct pair *p = *state;
    struct ebt_proto_hdr h = hdr(EBT_OP_HELLO, 4, 9), r;
    char buf[16];
    send_raw(p->cli, &h, 10);
    assert_int_equal(ebt_conn_readable(&p->c, echo, NULL), 0);
    send_raw(p->cli, (char *)&h + 10, sizeof(h) - 10);
    send_raw(p->cli, "ab", 2);
    assert_int_equal(ebt_conn_readable(&p->c, echo, NULL), 0);
    assert_int_equal(handled, 0);
    send_raw(p->cli, "cd", 2);
    assert_int_equal(ebt_conn_readable(&p->c, echo, NULL), 0);
    assert_int_equal(handled, 1);
    assert_int_equal(read_reply(p->cli, &r, buf, sizeof(buf)), 0);
    assert_memory_equal(buf, "abcd", 4);
}

/* Random garbage: always an error reply or a close, never a crash or a handler call. */
static void test_garbage(void **state)
{
    struct pair *p = *state;
    unsigned seed = 12345;
    for (int i = 0; i < 500; i++) {
        int sv[2];
        unsigned char junk[64];
        for (size_t k = 0; k < sizeof(junk); k++)
            junk[k] = (unsigned char)rand_r(&seed);
        if (i % 2)
            memcpy(junk, &(uint32_t){EBT_PROTO_MAGIC}, 4); /* get past the magic sometimes */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        struct ebt_conn c;
        ebt_conn_init(&c, sv[1], reply_buf, sizeof(reply_buf));
        send_raw(sv[0], junk, 1 + (size_t)(rand_r(&seed) % sizeof(junk)));
        shutdown(sv[0], SHUT_WR);
        int rc = ebt_conn_readable(&c, echo, NULL);
        assert_true(rc < 0);
        ebt_conn_free(&c);
        close(sv[0]);
        close(sv[1]);
    }
    assert_int_equal(handled, 0);
    (void)p;
}

/* ebtd's own handler: path payloads must be NUL-terminated absolute paths. */
static void test_path_payloads(void **state)
{
    static struct ebt_config cfg;
    static struct ebtd d;
    char reply[256];
    uint32_t len;
    snprintf(d.run_dir, sizeof(d.run_dir), "/nonexistent-run");
    d.cfg = &cfg;
    struct ebt_proto_hdr h = hdr(EBT_OP_STAT, 3, 1);
    assert_int_equal(ebtd_handle(&d, &h, "abc", reply, sizeof(reply), &len), -EINVAL);
    h.length = 4;
    assert_int_equal(ebtd_handle(&d, &h, "abc", reply, sizeof(reply), &len), -EINVAL);
    h.length = 8;
    assert_int_equal(ebtd_handle(&d, &h, "/x\0junk", reply, sizeof(reply), &len), -EINVAL);
    h.length = 0;
    assert_int_equal(ebtd_handle(&d, &h, "", reply, sizeof(reply), &len), -EINVAL);
    h.op = EBT_OP_READDIR;
    h.length = 2;
    assert_int_equal(ebtd_handle(&d, &h, "/x", reply, sizeof(reply), &len), -EINVAL);
    h.op = EBT_OP_FLUSH;
    h.length = 1;
    assert_int_equal(ebtd_handle(&d, &h, "x", reply, sizeof(reply), &len), -EINVAL);
    cfg.nprefixes = 1;
    snprintf(cfg.prefixes[0].path, sizeof(cfg.prefixes[0].path), "/managed");
    h.op = EBT_OP_STAT;
    h.length = 5;
    assert_int_equal(ebtd_handle(&d, &h, "/etc", reply, sizeof(reply), &len), -EXDEV);
    (void)state;
}

/* --- client side against a scripted server thread --- */
struct script {
    int fd;
    int mode; /* 0 wrong reqid, 1 close, 2 silence, 3 big reply */
};

static void *script_server(void *arg)
{
    struct script *s = arg;
    struct ebt_proto_hdr h;
    static char big[4096];
    if (recv(s->fd, &h, sizeof(h), MSG_WAITALL) != (ssize_t)sizeof(h))
        return NULL;
    struct ebt_proto_hdr r = hdr(h.op, 0, h.reqid);
    if (s->mode == 0)
        r.reqid++;
    if (s->mode == 1)
        shutdown(s->fd, SHUT_RDWR);
    if (s->mode == 3)
        r.length = sizeof(big);
    if (s->mode == 0 || s->mode == 3)
        ebt_proto_send(s->fd, &r, big, 1000);
    return NULL;
}

static int client_call(int mode, int timeout_ms, uint32_t *len)
{
    int sv[2];
    char reply[16];
    pthread_t t;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct script s = {sv[1], mode};
    pthread_create(&t, NULL, script_server, &s);
    int rc =
        ebt_proto_call_timeout(sv[0], EBT_OP_HELLO, "x", 1, reply, sizeof(reply), len, timeout_ms);
    shutdown(sv[1], SHUT_RDWR);
    pthread_join(t, NULL);
    close(sv[0]);
    close(sv[1]);
    return rc;
}

static void test_client_errors(void **state)
{
    uint32_t len;
    assert_int_equal(client_call(0, 2000, &len), -EPROTO);
    assert_int_equal(client_call(1, 2000, &len), -ECONNRESET);
    assert_int_equal(client_call(2, 100, &len), -ETIMEDOUT);
    assert_int_equal(client_call(3, 2000, &len), -EMSGSIZE);
    assert_int_equal(len, 16);
    assert_int_equal(ebt_proto_connect("/nonexistent-dir"), -ENOENT);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_request, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_bad_magic, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_bad_version, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_oversized, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_bad_op_then_valid, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_payload, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_header, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_incremental, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_garbage, pair_setup, pair_teardown),
        cmocka_unit_test(test_path_payloads),
        cmocka_unit_test(test_client_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
