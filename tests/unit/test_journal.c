/* test_journal.c - flush journal: persistence, escaping, DONE restarts, torn lines, locking. */
#define _GNU_SOURCE
#include "journal.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char run[64];

static int run_setup(void **state)
{
    snprintf(run, sizeof(run), "/tmp/ebt-ujournal.XXXXXX");
    assert_non_null(mkdtemp(run));
    return 0;
}

static int run_teardown(void **state)
{
    ebt_remove_tree(run);
    return 0;
}

static void journal_text(char *buf, size_t cap)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", run, EBT_JOURNAL_NAME);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
}

static void append_raw(const char *text)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", run, EBT_JOURNAL_NAME);
    int fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0600);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_persist(void **state)
{
    struct ebt_journal j;
    assert_int_equal(ebt_journal_open(run, &j), 0);
    assert_false(ebt_journal_has(&j, "/a"));
    assert_int_equal(ebt_journal_mark(&j, "W"), 0);
    assert_int_equal(ebt_journal_file_done(&j, "/a"), 0);
    assert_int_equal(ebt_journal_file_done(&j, "/dir/new\nline\\x"), 0);
    assert_true(ebt_journal_has(&j, "/a"));
    ebt_journal_close(&j);

    assert_int_equal(ebt_journal_open(run, &j), 0);
    assert_true(j.wh_done);
    assert_false(j.dirs_done);
    assert_true(ebt_journal_has(&j, "/a"));
    assert_true(ebt_journal_has(&j, "/dir/new\nline\\x"));
    assert_false(ebt_journal_has(&j, "/dir/new"));
    assert_false(ebt_journal_has(&j, "/b"));
    ebt_journal_close(&j);
    char text[512];
    journal_text(text, sizeof(text));
    assert_true(!strncmp(text, "S ", 2) && strchr(text, '\n')); /* when the flush started */
    assert_string_equal(strchr(text, '\n') + 1, "W\nF /a\nF /dir/new\\nline\\\\x\n");
}

/* Many entries: the hash set grows and still finds all of them. */
static void test_many(void **state)
{
    struct ebt_journal j;
    char p[64];
    assert_int_equal(ebt_journal_open(run, &j), 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(p, sizeof(p), "/f%d", i);
        assert_int_equal(ebt_journal_file_done(&j, p), 0);
    }
    ebt_journal_close(&j);
    assert_int_equal(ebt_journal_open(run, &j), 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(p, sizeof(p), "/f%d", i);
        assert_true(ebt_journal_has(&j, p));
    }
    assert_false(ebt_journal_has(&j, "/f5000"));
    ebt_journal_close(&j);
}

/* A finished flush's journal is history: the next open starts empty. */
static void test_done_restarts(void **state)
{
    struct ebt_journal j;
    append_raw("W\nD\nF /a\nDONE\n");
    assert_int_equal(ebt_journal_open(run, &j), 0);
    assert_false(j.complete);
    assert_false(j.wh_done);
    assert_false(ebt_journal_has(&j, "/a"));
    assert_int_equal(j.since.tv_sec, 0); /* the finished flush did not say when it started */
    ebt_journal_close(&j);
    char text[64];
    journal_text(text, sizeof(text));
    assert_true(!strncmp(text, "S ", 2) && !strchr(text, 'P')); /* a new journal, nothing else */
}

/* The next flush after a complete one knows when that one started (P): only what changed since
 * needs writing; the restarted journal keeps that for a resume. */
static void test_done_since(void **state)
{
    struct ebt_journal j;
    append_raw("S 1700000000 5\nW\nD\nF /a\nDONE\n");
    assert_int_equal(ebt_journal_open(run, &j), 0);
    assert_int_equal(j.since.tv_sec, 1700000000);
    assert_int_equal(j.since.tv_nsec, 5);
    assert_true(j.start.tv_sec > 1700000000);
    ebt_journal_close(&j);
    assert_int_equal(ebt_journal_open(run, &j), 0); /* resumed: the same since */
    assert_int_equal(j.since.tv_sec, 1700000000);
    ebt_journal_close(&j);
    char text[128];
    journal_text(text, sizeof(text));
    assert_non_null(strstr(text, "\nP 1700000000 5\n"));
}

/* A line cut by a crash does not count as finished. */
static void test_torn_line(void **state)
{
    struct ebt_journal j;
    append_raw("W\nD\nF /a\nF /b");
    assert_int_equal(ebt_journal_open(run, &j), 0);
    assert_true(j.dirs_done);
    assert_true(ebt_journal_has(&j, "/a"));
    assert_false(ebt_journal_has(&j, "/b"));
    ebt_journal_close(&j);
}

static void test_lock(void **state)
{
    struct ebt_journal a, b;
    assert_int_equal(ebt_journal_open(run, &a), 0);
    assert_int_equal(ebt_journal_open(run, &b), -EBUSY);
    ebt_journal_close(&a);
    assert_int_equal(ebt_journal_open(run, &b), 0);
    ebt_journal_close(&b);
}

static void test_escape_roundtrip(void **state)
{
    const char *in = "/x\\n\n\\\n";
    char esc[64], back[64];
    assert_int_equal(ebt_journal_escape(in, esc, sizeof(esc)), 0);
    assert_null(strchr(esc, '\n'));
    assert_int_equal(ebt_journal_unescape(esc, strlen(esc), back, sizeof(back)), 0);
    assert_string_equal(back, in);
    assert_int_equal(ebt_journal_escape("/abcdef", esc, 4), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_persist, run_setup, run_teardown),
        cmocka_unit_test_setup_teardown(test_many, run_setup, run_teardown),
        cmocka_unit_test_setup_teardown(test_done_since, run_setup, run_teardown),
        cmocka_unit_test_setup_teardown(test_done_restarts, run_setup, run_teardown),
        cmocka_unit_test_setup_teardown(test_torn_line, run_setup, run_teardown),
        cmocka_unit_test_setup_teardown(test_lock, run_setup, run_teardown),
        cmocka_unit_test(test_escape_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
