/* test_xfer.c - per-file transfer: whole vs changed ranges, size changes, safety fallbacks. */
#define _GNU_SOURCE
#include "testutil.h"
#include "xfer.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static char run[128], src[512], dst[512];

static int setup(void **state)
{
    tu_mkrun(run, sizeof(run), "xfer");
    snprintf(src, sizeof(src), "%s/up/f", run);
    snprintf(dst, sizeof(dst), "%s/pfs/f", run);
    return 0;
}

static int teardown(void **state)
{
    ebt_remove_tree(run);
    return 0;
}

static struct ebt_xfer_stats xfer_ok(void)
{
    struct ebt_xfer_stats st;
    const char *step = NULL;
    assert_int_equal(ebt_xfer_file(run, src, dst, &st, &step), 0);
    return st;
}

static void test_whole_with_attrs(void **state)
{
    tu_write(src, "hello", 5);
    ebt_mkdirs(dst, 0755, 1);
    chmod(src, 0640);
    struct timespec ts[2] = {{1000000, 5}, {2000000, 7}};
    utimensat(AT_FDCWD, src, ts, 0);
    struct ebt_xfer_stats st = xfer_ok();
    struct stat d;
    assert_int_equal(stat(dst, &d), 0); /* before reading it: a read may update atime */
    assert_string_equal(tu_read(dst), "hello");
    assert_int_equal(d.st_mode & 07777, 0640);
    assert_int_equal(d.st_mtim.tv_sec, 2000000);
    assert_int_equal(d.st_mtim.tv_nsec, 7);
    assert_int_equal(d.st_atim.tv_sec, 1000000);
    assert_true(st.whole);
    assert_int_equal(st.bytes, 5);
    assert_int_equal(st.data_ops, 1);
    assert_int_equal(st.meta_ops, 4); /* open, fsync, fchmod, futimens */
}

/* Unchanged PFS bytes differ from the cache copy: they must survive. */
static void test_partial(void **state)
{
    tu_write(dst, "PPPPPPPPPP", 10);
    tu_write(src, "CCxxCCCCCC", 10);
    tu_log(run, src, EBT_EXT_BASE, 0, 10);
    tu_log(run, src, EBT_EXT_OPEN, 0, 0);
    tu_log(run, src, EBT_EXT_WRITE, 2, 2);
    tu_log(run, src, EBT_EXT_CLOSE, 0, 0);
    struct ebt_xfer_stats st = xfer_ok();
    assert_string_equal(tu_read(dst), "PPxxPPPPPP");
    assert_false(st.whole);
    assert_int_equal(st.bytes, 2);
    assert_int_equal(st.data_ops, 1);
}

static void test_partial_shrink(void **state)
{
    tu_write(dst, "PPPPPPPPPP", 10);
    tu_write(src, "CCxxCC", 6);
    tu_log(run, src, EBT_EXT_BASE, 0, 10);
    tu_log(run, src, EBT_EXT_WRITE, 2, 2);
    tu_log(run, src, EBT_EXT_TRUNC, 6, 0);
    struct ebt_xfer_stats st = xfer_ok();
    assert_string_equal(tu_read(dst), "PPxxPP");
    assert_int_equal(st.bytes, 2);
}

/* Bytes past the base size are new even if no record says so. */
static void test_partial_grow_unrecorded(void **state)
{
    tu_write(dst, "PPPPPPPPPP", 10);
    tu_write(src, "CCxxCCCCCCyyyy", 14);
    tu_log(run, src, EBT_EXT_BASE, 0, 10);
    tu_log(run, src, EBT_EXT_WRITE, 2, 2);
    struct ebt_xfer_stats st = xfer_ok();
    assert_string_equal(tu_read(dst), "PPxxPPPPPPyyyy");
    assert_int_equal(st.bytes, 6);
    assert_int_equal(st.data_ops, 2);
}

/* The PFS file is not what the cache started from (size differs): write it whole. */
static void test_base_mismatch(void **state)
{
    tu_write(dst, "PPPPPPPP", 8);
    tu_write(src, "CCxxCCCCCC", 10);
    tu_log(run, src, EBT_EXT_BASE, 0, 10);
    tu_log(run, src, EBT_EXT_WRITE, 2, 2);
    struct ebt_xfer_stats st = xfer_ok();
    assert_string_equal(tu_read(dst), "CCxxCCCCCC");
    assert_true(st.whole);
}

static void test_crashed_writer(void **state)
{
    tu_write(dst, "PPPPPPPPPP", 10);
    tu_write(src, "CCxxCCCCCC", 10);
    tu_log(run, src, EBT_EXT_BASE, 0, 10);
    tu_log(run, src, EBT_EXT_OPEN, 0, 0);
    tu_log(run, src, EBT_EXT_WRITE, 2, 2);
    struct ebt_xfer_stats st = xfer_ok();
    assert_string_equal(tu_read(dst), "CCxxCCCCCC");
    assert_true(st.whole);
}

static void test_partial_missing_target(void **state)
{
    ebt_mkdirs(dst, 0755, 1);
    tu_write(src, "CCxxCCCCCC", 10);
    tu_log(run, src, EBT_EXT_BASE, 0, 10);
    tu_log(run, src, EBT_EXT_WRITE, 2, 2);
    xfer_ok();
    assert_string_equal(tu_read(dst), "CCxxCCCCCC");
}

static void test_error_names_step(void **state)
{
    struct ebt_xfer_stats st;
    const char *step = NULL;
    tu_write(src, "x", 1);
    assert_int_equal(ebt_xfer_file(run, src, "/nonexistent-dir/f", &st, &step), -ENOENT);
    assert_string_equal(step, "open");
}

static void test_large_chunks(void **state)
{
    size_t n = 20u << 20;
    char *buf = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(i * 7);
    tu_write(src, buf, n);
    ebt_mkdirs(dst, 0755, 1);
    struct ebt_xfer_stats st = xfer_ok();
    assert_int_equal(st.data_ops, 3); /* 8 + 8 + 4 MiB */
    assert_int_equal(st.bytes, n);
    int fd = open(dst, O_RDONLY);
    char *back = malloc(n);
    assert_int_equal(read(fd, back, n), (ssize_t)n);
    close(fd);
    assert_memory_equal(buf, back, n);
    free(buf);
    free(back);
}

/* A fake layout of stripe chunks of `unit` bytes that records what the transfer asked. */
struct fake_layout {
    struct ebt_xfer_layout h;
    uint64_t unit, size_seen;
    int creates, existing, flags_seen;
};

static uint64_t fake_chunk_end(const struct ebt_xfer_layout *l, uint64_t off)
{
    const struct fake_layout *f = (const struct fake_layout *)l;
    return (off / f->unit + 1) * f->unit;
}

static int fake_create(struct ebt_xfer_layout *l, int dirfd, const char *name, int flags,
                       mode_t mode, uint64_t size, uint64_t *ops)
{
    struct fake_layout *f = (struct fake_layout *)l;
    f->creates++;
    f->size_seen = size;
    f->flags_seen = flags;
    (*ops)++;
    int fd = openat(dirfd, name, flags, mode);
    return fd < 0 ? -errno : fd;
}

static void fake_existing(struct ebt_xfer_layout *l, int fd, uint64_t *ops)
{
    ((struct fake_layout *)l)->existing++;
}

static struct ebt_xfer_stats xfer_layout(struct fake_layout *f)
{
    struct ebt_xfer_stats st;
    const char *step = NULL;
    f->h = (struct ebt_xfer_layout){fake_create, fake_existing, fake_chunk_end};
    struct ebt_xfer_opts o = {.layout = &f->h};
    assert_int_equal(ebt_xfer_file_opts(run, src, dst, &st, &step, &o), 0);
    return st;
}

static char *pattern(size_t n)
{
    char *buf = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(i * 7 + i / 4096);
    return buf;
}

static void assert_dst_is(const char *want, size_t n)
{
    char *back = malloc(n + 1);
    int fd = open(dst, O_RDONLY);
    assert_int_equal(read(fd, back, n + 1), (ssize_t)n);
    close(fd);
    assert_memory_equal(want, back, n);
    free(back);
}

/* 3 MiB stripes: requests end at stripe boundaries (6 + 6 + 6 + 4 MiB), not every 8 MiB
 * (8 + 8 + 6 without a layout). */
static void test_stripe_cut_whole(void **state)
{
    size_t n = 22u << 20;
    char *buf = pattern(n);
    tu_write(src, buf, n);
    ebt_mkdirs(dst, 0755, 1);
    struct fake_layout f = {.unit = 3u << 20};
    struct ebt_xfer_stats st = xfer_layout(&f);
    assert_int_equal(st.data_ops, 4);
    assert_int_equal(st.bytes, n);
    assert_int_equal(f.creates, 1);
    assert_int_equal(f.size_seen, n); /* the final size picks the striping */
    assert_true(f.flags_seen & O_EXCL);
    assert_int_equal(f.existing, 0);
    assert_dst_is(buf, n);
    free(buf);
}

/* A changed range that starts inside a stripe: the first request ends at that stripe's end, the
 * next ones start aligned: [1M+5, 2M), [2M, 8M+5). An existing file's layout is asked. */
static void test_stripe_cut_partial(void **state)
{
    size_t n = 10u << 20, off = (1u << 20) + 5, len = 7u << 20;
    char *pfs = pattern(n), *cache = pattern(n);
    memset(pfs, 'P', n);
    memcpy(cache, pfs, n);
    memset(cache + off, 'x', len);
    tu_write(dst, pfs, n);
    tu_write(src, cache, n);
    tu_log(run, src, EBT_EXT_BASE, 0, n);
    tu_log(run, src, EBT_EXT_WRITE, off, len);
    struct fake_layout f = {.unit = 1u << 20};
    struct ebt_xfer_stats st = xfer_layout(&f);
    assert_false(st.whole);
    assert_int_equal(st.bytes, len);
    assert_int_equal(st.data_ops, 2);
    assert_int_equal(f.existing, 1);
    assert_int_equal(f.creates, 0);
    assert_dst_is(cache, n);
    free(pfs);
    free(cache);
}

/* A stripe larger than the buffer (16 MiB): requests of 8 MiB, never crossing a boundary. */
static void test_stripe_larger_than_buffer(void **state)
{
    size_t n = 20u << 20;
    char *buf = pattern(n);
    tu_write(src, buf, n);
    ebt_mkdirs(dst, 0755, 1);
    struct fake_layout f = {.unit = 16u << 20};
    struct ebt_xfer_stats st = xfer_layout(&f);
    assert_int_equal(st.data_ops, 3); /* [0,8M) [8M,16M) [16M,20M) */
    assert_dst_is(buf, n);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_with_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_shrink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_grow_unrecorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crashed_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_missing_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_names_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stripe_cut_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stripe_cut_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stripe_larger_than_buffer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
