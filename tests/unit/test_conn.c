/* test_conn.c - ebtd's connection framing at its limits (conn.c): the exact size boundary
 * (4095/4096 bytes, the protocol maximum and one byte more), pipelined requests answered in
 * order, and the non-blocking reply queue with its bound. */
#define _GNU_SOURCE
#include "conn.h"
#include "proto.h"

#include <errno.h>
#include <poll.h>
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

/* Echo handler: HELLO replies with its payload, STAT with nothing; counts calls. */
static int echo(void *ctx, const struct ebt_proto_hdr *h, const char *payload, char *reply,
                uint32_t cap, uint32_t *replylen)
{
    handled++;
    *replylen = 0;
    if (h->op == EBT_OP_HELLO) {
        memcpy(reply, payload, h->length);
        *replylen = h->length;
    }
    assert_int_equal(payload[h->length], '\0'); /* the NUL pad */
    (void)ctx;
    (void)cap;
    return 0;
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

/* A HELLO message of `total` bytes on the wire (header included), payload bytes i % 251. */
static char *hello_msg(size_t total, uint32_t id)
{
    char *m = malloc(total);
    struct ebt_proto_hdr h = hdr(EBT_OP_HELLO, (uint32_t)(total - sizeof(h)), id);
    memcpy(m, &h, sizeof(h));
    for (size_t i = sizeof(h); i < total; i++)
        m[i] = (char)((i - sizeof(h)) % 251);
    return m;
}

/* One exchange, single-threaded: push msg into the socket while the server reads, serves and
 * sends, and collect `want` reply bytes. Returns the last ebt_conn_readable result. */
struct pump {
    const char *msg;
    size_t n, sent;
    char *got;
    size_t want, have;
};

static int pump_step(struct pair *p, struct pump *u)
{
    if (u->sent < u->n) {
        ssize_t w = send(p->cli, u->msg + u->sent, u->n - u->sent, MSG_DONTWAIT);
        if (w > 0)
            u->sent += (size_t)w;
    }
    int rc = ebt_conn_readable(&p->c, echo, NULL);
    if (rc == 0 && ebt_conn_queued(&p->c))
        rc = ebt_conn_writable(&p->c);
    if (u->have < u->want) {
        ssize_t r = recv(p->cli, u->got + u->have, u->want - u->have, MSG_DONTWAIT);
        if (r > 0)
            u->have += (size_t)r;
    }
    return rc;
}

static int pump(struct pair *p, struct pump *u)
{
    int rc = 0;
    for (int i = 0; i < 100000 && rc == 0 && (u->sent < u->n || u->have < u->want); i++)
        rc = pump_step(p, u);
    return rc;
}

/* A HELLO of `total` bytes is served whole, echoed, and the connection stays usable. */
static void expect_served(struct pair *p, size_t total)
{
    char *m = hello_msg(total, 7);
    char *got = malloc(total);
    struct pump u = {m, total, 0, got, total, 0};
    handled = 0;
    assert_int_equal(pump(p, &u), 0);
    assert_int_equal(u.have, total);
    assert_int_equal(handled, 1);
    struct ebt_proto_hdr r;
    memcpy(&r, got, sizeof(r));
    assert_int_equal(r.status, 0);
    assert_int_equal(r.reqid, 7);
    assert_int_equal(r.length, total - sizeof(r));
    assert_memory_equal(got + sizeof(r), m + sizeof(r), total - sizeof(r));
    free(m);
    free(got);
    /* still usable: a small request right after */
    char *small = hello_msg(sizeof(r) + 3, 8), back[sizeof(r) + 3];
    struct pump v = {small, sizeof(back), 0, back, sizeof(back), 0};
    assert_int_equal(pump(p, &v), 0);
    assert_int_equal(v.have, sizeof(back));
    memcpy(&r, back, sizeof(r));
    assert_int_equal(r.reqid, 8);
    free(small);
}

static void test_4095_bytes(void **state)
{
    expect_served(*state, 4095);
}

static void test_4096_bytes(void **state)
{
    expect_served(*state, 4096);
    expect_served(*state, 4097);
}

static void test_max_payload(void **state)
{
    expect_served(*state, sizeof(struct ebt_proto_hdr) + EBT_PROTO_MAX_PAYLOAD - 1);
    expect_served(*state, EBT_CONN_MAX_MSG);
}

/* One byte over the maximum: refused at the header with -EMSGSIZE, connection to be closed. */
static void test_max_plus_one(void **state)
{
    struct pair *p = *state;
    struct ebt_proto_hdr h = hdr(EBT_OP_HELLO, EBT_PROTO_MAX_PAYLOAD + 1, 9), r;
    char junk[4096] = {0};
    assert_int_equal(send(p->cli, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    assert_int_equal(send(p->cli, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
    assert_int_equal(ebt_conn_readable(&p->c, echo, NULL), -EMSGSIZE);
    assert_int_equal(handled, 0);
    assert_int_equal(p->c.bad, 1);
    assert_int_equal(recv(p->cli, &r, sizeof(r), MSG_DONTWAIT), (ssize_t)sizeof(r));
    assert_int_equal(r.status, -EMSGSIZE);
    assert_int_equal(r.reqid, 9);
    assert_int_equal(r.length, 0);
}

/* 1000 requests in one burst (far more than 4 KiB): every one answered, in order. */
static void test_pipelined_burst(void **state)
{
    struct pair *p = *state;
    enum { N = 1000 };
    size_t one = sizeof(struct ebt_proto_hdr) + 8;
    char *burst = malloc(N * one);
    for (uint32_t i = 0; i < N; i++) {
        struct ebt_proto_hdr h = hdr(i % 3 ? EBT_OP_STAT : 99, 8, 1000 + i);
        memcpy(burst + i * one, &h, sizeof(h));
        memcpy(burst + i * one + sizeof(h), "/a/b/c\0", 8);
    }
    struct ebt_proto_hdr *got = calloc(N, sizeof(*got));
    struct pump u = {burst, N * one, 0, (char *)got, N * sizeof(*got), 0};
    assert_int_equal(pump(p, &u), 0);
    assert_int_equal(u.have, N * sizeof(*got));
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(got[i].reqid, 1000 + i);
        assert_int_equal(got[i].status, i % 3 ? 0 : -EOPNOTSUPP);
    }
    assert_int_equal(handled, N - (N + 2) / 3);
    free(burst);
    free(got);
}

/* Send all of msg (the server side reads it as it goes; nothing is read back). */
static int push_unread(struct pair *p, const char *msg, size_t n)
{
    size_t sent = 0;
    int rc = 0;
    while (sent < n && rc == 0) {
        ssize_t w = send(p->cli, msg + sent, n - sent, MSG_DONTWAIT);
        if (w > 0)
            sent += (size_t)w;
        rc = ebt_conn_readable(&p->c, echo, NULL);
    }
    return rc;
}

/* Replies larger than the socket buffer are queued (never a blocking send) and all delivered,
 * in order, once the client reads. */
static void test_queue_delivers_in_order(void **state)
{
    struct pair *p = *state;
    enum { N = 24, LEN = 64 << 10 };
    size_t one = sizeof(struct ebt_proto_hdr) + LEN;
    char *msgs = malloc(N * one);
    for (uint32_t i = 0; i < N; i++) {
        char *m = hello_msg(one, 500 + i);
        memset(m + sizeof(struct ebt_proto_hdr), 'a' + (int)i, LEN);
        memcpy(msgs + i * one, m, one);
        free(m);
    }
    assert_int_equal(push_unread(p, msgs, N * one), 0);
    assert_int_equal(handled, N);
    assert_true(ebt_conn_queued(&p->c) > 0); /* more than the socket holds */
    assert_true(ebt_conn_queued(&p->c) <= EBT_CONN_QUEUE_MAX);
    char *got = malloc(N * one);
    struct pump u = {NULL, 0, 0, got, N * one, 0};
    assert_int_equal(pump(p, &u), 0);
    assert_int_equal(u.have, N * one);
    for (uint32_t i = 0; i < N; i++) {
        struct ebt_proto_hdr r;
        memcpy(&r, got + i * one, sizeof(r));
        assert_int_equal(r.reqid, 500 + i);
        assert_int_equal(got[i * one + sizeof(r) + LEN - 1], 'a' + (int)i);
    }
    assert_int_equal(ebt_conn_queued(&p->c), 0);
    free(msgs);
    free(got);
}

/* A client that never reads: its queue passes the bound and the connection is to be dropped
 * (-ENOBUFS), after a bounded number of replies, without ever blocking. */
static void test_queue_bound_drops_nonreader(void **state)
{
    struct pair *p = *state;
    enum { LEN = 256 << 10, N = 64 };
    size_t one = sizeof(struct ebt_proto_hdr) + LEN;
    char *m = hello_msg(one, 1);
    int rc = 0, i;
    for (i = 0; i < N && rc == 0; i++)
        rc = push_unread(p, m, one);
    assert_int_equal(rc, -ENOBUFS);
    assert_true(ebt_conn_queued(&p->c) > EBT_CONN_QUEUE_MAX);
    assert_true(ebt_conn_queued(&p->c) <= EBT_CONN_QUEUE_MAX + one);
    assert_true(i < N);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_4095_bytes, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_4096_bytes, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_max_payload, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_max_plus_one, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_burst, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_queue_delivers_in_order, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound_drops_nonreader, pair_setup,
                                        pair_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
