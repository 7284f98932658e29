/* test_common.c - unit tests of src/common: path normalisation, interval sets, extent-log
 * summaries, size and visibility parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "extlog.h"
#include "path.h"
#include "rundir.h"

static void expect_norm(const char *base, const char *rel, const char *want)
{
    char out[PATH_MAX];
    assert_int_equal(ebt_path_normalize(base, rel, out, sizeof(out)), 0);
    assert_string_equal(out, want);
}

static void test_normalize(void **state)
{
    expect_norm("/", "/a//b/./c/", "/a/b/c");
    expect_norm("/work/dir", "x/../y", "/work/dir/y");
    expect_norm("/work", "../../..", "/");
    expect_norm("/", "/..", "/");
    expect_norm("/a/b", ".", "/a/b");
    expect_norm("/a", "b/c/../../d", "/a/d");
    char small[4];
    assert_int_equal(ebt_path_normalize("/", "/abcdef", small, sizeof(small)), -ENAMETOOLONG);
    char out[PATH_MAX];
    assert_int_equal(ebt_path_normalize("relative", "x", out, sizeof(out)), -EINVAL);
}

static void test_under(void **state)
{
    assert_int_equal(ebt_path_under("/pfs/out/a", "/pfs/out"), 8);
    assert_int_equal(ebt_path_under("/pfs/out", "/pfs/out"), 8);
    assert_int_equal(ebt_path_under("/pfs/outside", "/pfs/out"), 0);
    assert_int_equal(ebt_path_under("/anything", "/"), 1);
}

static void test_ivs_merge(void **state)
{
    struct ebt_ivs s;
    ebt_ivs_init(&s);
    ebt_ivs_add(&s, 10, 5);  /* [10,15) */
    ebt_ivs_add(&s, 30, 10); /* [30,40) */
    ebt_ivs_add(&s, 0, 2);   /* [0,2) */
    assert_int_equal(s.n, 3);
    ebt_ivs_add(&s, 15, 15); /* touches both neighbours: [10,40) */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.iv[1][0], 10);
    assert_int_equal(s.iv[1][1], 40);
    ebt_ivs_add(&s, 1, 100); /* swallows everything */
    assert_int_equal(s.n, 1);
    assert_int_equal(s.iv[0][0], 0);
    assert_int_equal(s.iv[0][1], 101);
    ebt_ivs_clip(&s, 50);
    assert_int_equal(s.iv[0][1], 50);
    ebt_ivs_clip(&s, 0);
    assert_int_equal(s.n, 0);
    ebt_ivs_free(&s);
}

static char logpath[64];

static void write_log(const struct ebt_ext_rec *r, size_t n)
{
    unlink(logpath);
    assert_int_equal(ebt_extlog_append(logpath, r, n), 0);
}

static void test_extlog_summary(void **state)
{
    struct ebt_ext_summary s;
    snprintf(logpath, sizeof(logpath), "/tmp/ebt-unit-extlog.%d", (int)getpid());
    unlink(logpath);
    assert_int_equal(ebt_extlog_load(logpath, &s), 0); /* no log: the whole file */
    assert_int_equal(s.exists, 0);
    assert_int_equal(s.whole, 1);

    struct ebt_ext_rec r[] = {{EBT_EXT_BASE, 1, 0, 100},
                              {EBT_EXT_OPEN, 1, 0, 0},
                              {EBT_EXT_WRITE, 1, 10, 5},
                              {EBT_EXT_TRUNC, 1, 60, 0},
                              {EBT_EXT_CLOSE, 1, 0, 0}};
    write_log(r, 5);
    assert_int_equal(ebt_extlog_load(logpath, &s), 0);
    assert_int_equal(s.whole, 0);
    assert_int_equal(s.base, 100);
    assert_int_equal(s.changed.n, 2); /* [10,15) and [60, inf) */
    assert_int_equal(s.changed.iv[1][0], 60);
    ebt_extlog_summary_free(&s);

    write_log(r, 4); /* an OPEN without its CLOSE: a crashed writer, write everything */
    assert_int_equal(ebt_extlog_load(logpath, &s), 0);
    assert_int_equal(s.whole, 1);
    ebt_extlog_summary_free(&s);
    unlink(logpath);
}

static void test_sizes_and_visibility(void **state)
{
    uint64_t v;
    assert_int_equal(ebt_parse_size("4K", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(ebt_parse_size("2GiB", &v), 0);
    assert_int_equal(v, 2ull << 30);
    assert_int_equal(ebt_parse_size("-1", &v), -EINVAL);
    assert_int_equal(ebt_parse_size("12Q", &v), -EINVAL);
    struct ebt_config *cfg = calloc(1, sizeof(*cfg));
    char err[256];
    assert_int_equal(ebt_config_parse_visibility(cfg, "task,/pfs/logs=write", err, sizeof(err)), 0);
    assert_int_equal(ebt_config_visibility_for(cfg, "/pfs/logs/x"), EBT_VIS_WRITE);
    assert_int_equal(ebt_config_visibility_for(cfg, "/pfs/data/x"), EBT_VIS_TASK);
    assert_int_equal(ebt_config_parse_visibility(cfg, "sometimes", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "sometimes"));
    free(cfg);
}

static void test_whiteout_names(void **state)
{
    char out[PATH_MAX];
    assert_int_equal(ebt_whiteout_path("/run/up", "/pfs/a/b", out, sizeof(out)), 0);
    assert_string_equal(out, "/run/up/pfs/a/.ebt~wh~b");
    assert_true(ebt_name_reserved(".ebt~wh~b"));
    assert_false(ebt_name_reserved(".ebt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_under),
        cmocka_unit_test(test_ivs_merge),
        cmocka_unit_test(test_extlog_summary),
        cmocka_unit_test(test_sizes_and_visibility),
        cmocka_unit_test(test_whiteout_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
