/* test_flush_deal.c - OST dealing (src/daemon/flush_deal.c): stripe placement by load, OSTs
 * dealt to nodes by bytes, a node's stripe chunks, the table and its refusal of bad input. */
#include "flush_deal.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void t_pick_start(void **s)
{
    uint64_t load[4] = {5, 1, 0, 7};
    assert_int_equal(fdeal_pick_start(load, 4, 1), 2);
    assert_int_equal(fdeal_pick_start(load, 4, 2), 1); /* 1+0 */
    assert_int_equal(fdeal_pick_start(load, 4, 9), 0); /* all OSTs: any start, the lowest */
}

static void t_pick_near(void **s)
{
    uint64_t load[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    /* node 1 of 4 holds it: OSTs 1 and 5 are its under the pre-deal */
    assert_int_equal(fdeal_pick_near(load, 8, 1, 1, 4, 100), 1);
    load[1] = 100;
    assert_int_equal(fdeal_pick_near(load, 8, 1, 1, 4, 100), 5);
    load[1] = 150; /* both of node 1's OSTs more than one file above the least loaded */
    load[5] = 250;
    assert_int_equal(fdeal_pick_near(load, 8, 1, 1, 4, 100), 0);
    assert_int_equal(fdeal_pick_near(load, 8, 2, 1, 4, 100), 2);  /* 2 stripes: by load only */
    assert_int_equal(fdeal_pick_near(load, 8, 1, -1, 4, 100), 0); /* several holders */
}

static void t_assign_balances_bytes(void **s)
{
    uint64_t load[6] = {100, 90, 50, 40, 30, 10}; /* 320 bytes over 2 nodes */
    int node[6];
    fdeal_assign(load, NULL, 6, 2, node);
    uint64_t per[2] = {0, 0};
    for (int o = 0; o < 6; o++)
        per[node[o]] += load[o];
    /* greedy, largest first: 100 40 30 and 90 50 10 (the optimum is 160/160; greedy is within
     * one OST's load of it) */
    assert_true(per[0] == 170 && per[1] == 150);
}

static void t_assign_prefers_holder(void **s)
{
    uint64_t load[2] = {10, 10}, local[2 * 2] = {0, 10, 10, 0}; /* OST0 held by node1 */
    int node[2];
    fdeal_assign(load, local, 2, 2, node);
    assert_int_equal(node[0], 1);
    assert_int_equal(node[1], 0);
}

static void t_ranges(void **s)
{
    uint16_t osts[3] = {4, 5, 6};
    struct fdeal_file f = {
        .path = "/p/f", .size = 10 * 100 + 7, .unit = 100, .count = 3, .osts = osts, .holders = 1};
    int node_of_ost[8] = {0, 0, 0, 0, 1, 0, 1, 0}; /* OSTs 4, 6 on node 1 */
    struct ebt_ivs r;
    assert_int_equal(fdeal_ranges(&f, node_of_ost, 8, 1, &r), 0);
    /* chunks 0,2,3,5,6,8,9 (OSTs 4, 6) of 0..10; chunk 10 (7 bytes) is on OST 5 */
    assert_int_equal(r.n, 4);
    assert_true(r.iv[0][0] == 0 && r.iv[0][1] == 100);
    assert_true(r.iv[1][0] == 200 && r.iv[1][1] == 400);
    assert_true(r.iv[2][0] == 500 && r.iv[2][1] == 700);
    assert_true(r.iv[3][0] == 800 && r.iv[3][1] == 1000);
    ebt_ivs_free(&r);
    uint64_t load[8] = {0}, local[8 * 2] = {0};
    fdeal_add_load(&f, load, local, 8, 2);
    assert_true(load[4] == 400 && load[5] == 307 && load[6] == 300);
    assert_true(local[4 * 2 + 0] == 400 && local[4 * 2 + 1] == 0); /* node 0 holds it alone */
}

static void t_table_roundtrip(void **s)
{
    struct fdeal_file f = {.path = "/p/a b",
                           .size = 1000,
                           .unit = 100,
                           .holders = 0x5,
                           .mtime_sec = 1700000000,
                           .mtime_nsec = 123456789};
    struct ebt_ivs r;
    ebt_ivs_init(&r);
    ebt_ivs_add(&r, 0, 100);
    ebt_ivs_add(&r, 300, 200);
    char *buf = NULL;
    size_t len = 0, cap = 0, n = 0;
    assert_int_equal(fdeal_encode(&buf, &len, &cap, &f, &r), 0);
    f.path = "/p/c";
    struct ebt_ivs none;
    ebt_ivs_init(&none);
    assert_int_equal(fdeal_encode(&buf, &len, &cap, &f, &none), 0);
    struct fdeal_item *it;
    assert_int_equal(fdeal_decode(buf, len, &it, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(it[0].path, "/p/a b");
    assert_true(it[0].size == 1000 && it[0].unit == 100 && it[0].holders == 5);
    assert_true(it[0].mtime_sec == 1700000000 && it[0].mtime_nsec == 123456789);
    assert_int_equal(it[0].ranges.n, 2);
    assert_true(it[0].ranges.iv[1][0] == 300 && it[0].ranges.iv[1][1] == 500);
    assert_int_equal(it[1].ranges.n, 0);
    fdeal_items_free(it, n);
    /* every truncation of the table is refused, never read past its end */
    for (size_t cut = 1; cut < len; cut++) {
        char *t = malloc(cut);
        memcpy(t, buf, cut);
        int rc = fdeal_decode(t, cut, &it, &n);
        if (rc == 0)
            fdeal_items_free(it, n);
        assert_true(rc == -EPROTO || buf[cut - 1] == '\n');
        free(t);
    }
    free(buf);
    ebt_ivs_free(&r);
}

static void t_one_writer(void **s)
{
    uint16_t osts[2] = {0, 1};
    int node_of_ost[2] = {0, 1};
    struct fdeal_file f = {.path = "/a", .size = 150, .unit = 100, .count = 2, .osts = osts};
    assert_false(fdeal_one_writer(&f, node_of_ost, 2)); /* chunks on nodes 0 and 1 */
    f.size = 100;
    assert_true(fdeal_one_writer(&f, node_of_ost, 2)); /* only the first chunk exists */
    node_of_ost[1] = 0, f.size = 150;
    assert_true(fdeal_one_writer(&f, node_of_ost, 2));
    f.size = 0;
    assert_false(fdeal_one_writer(&f, node_of_ost, 2)); /* nobody writes: the coordinator */
}

static void t_table_bad(void **s)
{
    static const char *const bad[] = {
        "X 100 10 1 1 relative\n0 10\n",  /* not absolute */
        "X 100 0 1 0 /a\n",               /* no stripe unit */
        "X 100 10 1 1 /a\n0 200\n",       /* past the size */
        "X 100 10 1 2 /a\n50 60\n0 10\n", /* not sorted */
        "X 100 10 1 1 /a\n10 10\n",       /* empty range */
        "Y 100 10 1 0 /a\n",              /* unknown line */
        "X 100 10 1 3 /a\n0 10\n",        /* fewer ranges than said */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fdeal_item *it;
        size_t n;
        assert_int_equal(fdeal_decode(bad[i], strlen(bad[i]), &it, &n), -EPROTO);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_pick_start),
        cmocka_unit_test(t_pick_near),
        cmocka_unit_test(t_assign_balances_bytes),
        cmocka_unit_test(t_assign_prefers_holder),
        cmocka_unit_test(t_ranges),
        cmocka_unit_test(t_table_roundtrip),
        cmocka_unit_test(t_table_bad),
        cmocka_unit_test(t_one_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
