/* test_merge.c - task-layer merge: replace, changed-range copy, order, whiteouts, opaque dirs. */
#define _GNU_SOURCE
#include "merge.h"
#include "testutil.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static char run[128];
static char p1[512], p2[512];

static int setup(void **state)
{
    tu_mkrun(run, sizeof(run), "merge");
    return 0;
}

static int teardown(void **state)
{
    ebt_remove_tree(run);
    return 0;
}

static const char *P(char *buf, const char *rel)
{
    snprintf(buf, 512, "%s/%s", run, rel);
    return buf;
}

static void merge_ok(void)
{
    struct ebt_merge_stats st = {0};
    char err[256];
    assert_int_equal(ebt_merge_tasks(run, &st, err, sizeof(err)), 0);
}

static void test_new_size(void **state)
{
    assert_int_equal(ebt_merge_new_size(10, 4, 10, 1), 4);   /* truncated by the task */
    assert_int_equal(ebt_merge_new_size(10, 4, 10, 0), 4);   /* shrank below its base */
    assert_int_equal(ebt_merge_new_size(10, 6, 6, 0), 10);   /* an earlier task grew it */
    assert_int_equal(ebt_merge_new_size(10, 16, 10, 0), 16); /* grew */
}

/* No extent log: the task file is all new data and replaces the up file (and its log). */
static void test_replace(void **state)
{
    char meta[512];
    tu_write(P(p1, "up/d/f"), "old", 3);
    tu_log(run, p1, EBT_EXT_BASE, 0, 3);
    tu_meta_path(run, p1, meta, sizeof(meta));
    tu_write(P(p2, "task/0/d/f"), "new!", 4);
    merge_ok();
    assert_string_equal(tu_read(P(p1, "up/d/f")), "new!");
    assert_false(tu_exists(meta));
    assert_false(tu_exists(P(p2, "task/0")));
}

/* A logged task file: only its changed ranges reach the up file, and the up log learns them. */
static void test_copy_ranges(void **state)
{
    char meta[512];
    struct ebt_ext_summary s;
    tu_write(P(p1, "up/f"), "AAAAAAAAAA", 10);
    tu_log(run, p1, EBT_EXT_BASE, 0, 10);
    tu_log(run, p1, EBT_EXT_WRITE, 0, 1);
    tu_meta_path(run, p1, meta, sizeof(meta));
    tu_write(P(p2, "task/3/f"), "BBxxBBBBBB", 10);
    tu_log(run, p2, EBT_EXT_BASE, 0, 10);
    tu_log(run, p2, EBT_EXT_WRITE, 2, 2);
    merge_ok();
    assert_string_equal(tu_read(P(p1, "up/f")), "AAxxAAAAAA");
    assert_int_equal(ebt_extlog_load(meta, &s), 0);
    assert_false(s.whole);
    assert_int_equal(s.changed.n, 2);
    assert_int_equal(s.changed.iv[1][0], 2);
    assert_int_equal(s.changed.iv[1][1], 4);
    ebt_extlog_summary_free(&s);
}

/* Tasks merge in numeric order (2 before 10): the higher tid wins where they overlap. */
static void test_numeric_order(void **state)
{
    tu_write(P(p1, "up/f"), "........", 8);
    tu_write(P(p2, "task/10/f"), "1010....", 8);
    tu_log(run, p2, EBT_EXT_BASE, 0, 8);
    tu_log(run, p2, EBT_EXT_WRITE, 0, 4);
    tu_write(P(p2, "task/2/f"), "2222..22", 8);
    tu_log(run, p2, EBT_EXT_BASE, 0, 8);
    tu_log(run, p2, EBT_EXT_WRITE, 0, 4);
    tu_log(run, p2, EBT_EXT_WRITE, 6, 2);
    merge_ok();
    assert_string_equal(tu_read(P(p1, "up/f")), "1010..22");
}

static void test_truncate(void **state)
{
    tu_write(P(p1, "up/f"), "AAAAAAAAAA", 10);
    tu_write(P(p2, "task/0/f"), "AAAA", 4);
    tu_log(run, p2, EBT_EXT_BASE, 0, 10);
    tu_log(run, p2, EBT_EXT_TRUNC, 4, 0);
    merge_ok();
    assert_string_equal(tu_read(P(p1, "up/f")), "AAAA");
}

static void test_whiteout(void **state)
{
    char meta[512];
    tu_write(P(p1, "up/d/gone"), "x", 1);
    tu_log(run, p1, EBT_EXT_FULL, 0, 0);
    tu_meta_path(run, p1, meta, sizeof(meta));
    tu_write(P(p2, "task/0/d/.ebt~wh~gone"), "", 0);
    tu_write(P(p2, "task/0/d/.ebt~wh~pfsonly"), "", 0);
    merge_ok();
    assert_false(tu_exists(P(p1, "up/d/gone")));
    assert_false(tu_exists(meta));
    assert_true(tu_exists(P(p1, "up/d/.ebt~wh~gone")));
    assert_true(tu_exists(P(p1, "up/d/.ebt~wh~pfsonly")));
}

static void test_opaque(void **state)
{
    tu_write(P(p1, "up/o/old"), "x", 1);
    tu_write(P(p1, "up/o/.ebt~wh~older"), "", 0);
    tu_write(P(p2, "task/0/o/.ebt~opaque"), "", 0);
    tu_write(P(p2, "task/0/o/new"), "n", 1);
    merge_ok();
    assert_false(tu_exists(P(p1, "up/o/old")));
    assert_false(tu_exists(P(p1, "up/o/.ebt~wh~older")));
    assert_true(tu_exists(P(p1, "up/o/.ebt~opaque")));
    assert_string_equal(tu_read(P(p1, "up/o/new")), "n");
}

/* Logged task file and no up file: renamed in; its log follows the inode. */
static void test_rename_keeps_log(void **state)
{
    char meta[512];
    tu_write(P(p2, "task/0/a/b"), "PFSxPFS", 7);
    tu_log(run, p2, EBT_EXT_BASE, 0, 7);
    tu_log(run, p2, EBT_EXT_WRITE, 3, 1);
    tu_meta_path(run, p2, meta, sizeof(meta));
    merge_ok();
    assert_string_equal(tu_read(P(p1, "up/a/b")), "PFSxPFS");
    assert_true(tu_exists(meta));
    char meta2[512];
    tu_meta_path(run, p1, meta2, sizeof(meta2));
    assert_string_equal(meta, meta2);
}

/* Named tasks (EBT_TASK_ID=name) are merged too, after the numeric ones: the name wins. */
static void test_named_after_numeric(void **state)
{
    tu_write(P(p2, "task/abc/f"), "y", 1);
    tu_write(P(p1, "task/7/f"), "x", 1);
    merge_ok();
    assert_string_equal(tu_read(P(p1, "up/f")), "y");
    assert_false(tu_exists(P(p2, "task/abc/f")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_size),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numeric_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whiteout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opaque, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_keeps_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_after_numeric, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
