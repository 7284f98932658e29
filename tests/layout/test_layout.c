/* test_layout.c - provider choice per PFS root, the striping policy by final size, the layout
 * settings of the config table, and the transfer's layout hooks on a posix root. */
#define _GNU_SOURCE
#include "config.h"
#include "dircache.h"
#include "layout.h"
#include "layout_xfer.h"
#include "rundir.h"
#include "sys.h"
#include "xfer.h"

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

static void test_policy(void **state)
{
    struct ebt_layout_policy pol = {.large = 1u << 30, .count_large = 4, .stripe_size = 1u << 20};
    struct ebt_lov_req rq;
    ebt_layout_choose(&pol, 0, &rq);
    assert_int_equal(rq.stripe_count, 1);
    ebt_layout_choose(&pol, (1u << 30) - 1, &rq);
    assert_int_equal(rq.stripe_count, 1);
    assert_int_equal(rq.stripe_size, 1u << 20);
    assert_int_equal(rq.stripe_offset, -1);
    ebt_layout_choose(&pol, 1u << 30, &rq);
    assert_int_equal(rq.stripe_count, 4);
    pol.count_large = -1;
    ebt_layout_choose(&pol, 5ull << 30, &rq);
    assert_int_equal(rq.stripe_count, -1);
}

/* A directory that does not answer lustre.lov (tmpfs, ext4): auto picks posix and says why;
 * asking for lustre there is refused. */
static void test_detect_posix(void **state)
{
    char dir[] = "/tmp/ebt-layout-XXXXXX", why[512];
    struct ebt_layout_provider p;
    uint64_t ops = 0;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(ebt_layout_detect(dir, EBT_LAYOUT_AUTO, &p, &ops, why, sizeof(why)), 0);
    assert_string_equal(p.ops->name, "posix");
    assert_non_null(strstr(why, "lustre.lov"));
    assert_int_equal(ops, 1);
    assert_int_equal(ebt_layout_detect(dir, EBT_LAYOUT_LUSTRE, &p, &ops, why, sizeof(why)),
                     -EOPNOTSUPP);
    assert_int_equal(ebt_layout_detect(dir, EBT_LAYOUT_LUSTREAPI, &p, &ops, why, sizeof(why)),
                     -EOPNOTSUPP);
    assert_int_equal(ebt_layout_detect(dir, EBT_LAYOUT_POSIX, &p, &ops, why, sizeof(why)), 0);
    assert_string_equal(p.ops->name, "posix");
    rmdir(dir);
}

/* liblustreapi is loaded only by dlopen: where it is missing, the reason names it. */
static void test_lustreapi_load(void **state)
{
    struct ebt_layout_provider p;
    char why[512];
    int rc = ebt_layout_lustreapi_load(&p, why, sizeof(why));
    if (rc == 0) {
        assert_string_equal(p.ops->name, "lustreapi");
    } else {
        assert_int_equal(rc, -ENOENT);
        assert_non_null(strstr(why, "liblustreapi.so.1"));
    }
}

static void expect_refused(const char *var, const char *val, const char *needle)
{
    char err[1024];
    setenv(var, val, 1);
    assert_int_equal(ebt_config_check_env(0, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, var));
    assert_non_null(strstr(err, needle));
    unsetenv(var);
}

static void test_config(void **state)
{
    struct ebt_config cfg;
    char err[1024];
    unsetenv("EBT_LAYOUT");
    unsetenv("EBT_STRIPE_SIZE");
    unsetenv("EBT_STRIPE_LARGE");
    unsetenv("EBT_STRIPE_COUNT_LARGE");
    assert_int_equal(ebt_config_load(&cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.layout, EBT_LAYOUT_AUTO);
    assert_int_equal(cfg.stripe_size, 1u << 20);
    assert_int_equal(cfg.stripe_large, 1ull << 30);
    assert_int_equal(cfg.stripe_count_large, 4);
    setenv("EBT_LAYOUT", "posix", 1);
    setenv("EBT_STRIPE_SIZE", "4M", 1);
    setenv("EBT_STRIPE_LARGE", "64M", 1);
    setenv("EBT_STRIPE_COUNT_LARGE", "-1", 1);
    assert_int_equal(ebt_config_load(&cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.layout, EBT_LAYOUT_POSIX);
    assert_int_equal(cfg.stripe_size, 4u << 20);
    assert_int_equal(cfg.stripe_large, 64ull << 20);
    assert_int_equal(cfg.stripe_count_large, -1);
    unsetenv("EBT_LAYOUT");
    unsetenv("EBT_STRIPE_SIZE");
    unsetenv("EBT_STRIPE_LARGE");
    unsetenv("EBT_STRIPE_COUNT_LARGE");
    expect_refused("EBT_LAYOUT", "gpfs", "auto, lustre, lustreapi or posix");
    expect_refused("EBT_STRIPE_SIZE", "100K", "multiple of 64K");
    expect_refused("EBT_STRIPE_SIZE", "0", "multiple of 64K");
    expect_refused("EBT_STRIPE_SIZE", "4G", "multiple of 64K");
    expect_refused("EBT_STRIPE_COUNT_LARGE", "0", "-1 for all");
    expect_refused("EBT_STRIPE_COUNT_LARGE", "2001", "-1 for all");
    expect_refused("EBT_STRIPE_COUNT_LARGE", "four", "-1 for all");
    expect_refused("EBT_STRIPE_LARGE", "1Q", "not a size");
}

/* The hooks on a posix root: plain create, no stripe knowledge, nothing set or inherited. */
static void test_hooks_posix(void **state)
{
    char dir[] = "/tmp/ebt-layout-XXXXXX", src[256], why[512];
    struct ebt_layout_provider p;
    struct ebt_layout_policy pol = {.large = 1, .count_large = 4, .stripe_size = 1u << 20};
    struct ebt_layout_xfer lx;
    struct ebt_xfer_stats st;
    const char *step = NULL;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(ebt_layout_detect(dir, EBT_LAYOUT_AUTO, &p, NULL, why, sizeof(why)), 0);
    snprintf(src, sizeof(src), "%s/src", dir);
    int fd = open(src, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(write(fd, "data", 4), 4);
    close(fd);
    ebt_layout_xfer_init(&lx, &p, &pol, NULL);
    ebt_layout_xfer_file(&lx, dir);
    int dfd = open(dir, O_PATH | O_DIRECTORY);
    struct ebt_xfer_opts o = {.dst_at = 1, .dst_dirfd = dfd, .layout = &lx.hooks};
    assert_int_equal(ebt_xfer_file_opts(NULL, src, "dst", &st, &step, &o), 0);
    assert_int_equal(st.bytes, 4);
    assert_int_equal(lx.hooks.chunk_end(&lx.hooks, 0), 0);
    assert_int_equal(lx.st.set + lx.st.inherited + lx.st.failed, 0);
    ebt_layout_xfer_fini(&lx);
    close(dfd);
    ebt_remove_tree(dir);
}

/* The directory table the flush's threads share: unknown is 0, answers survive growth. */
static void test_dircache(void **state)
{
    struct ebt_dircache c;
    char key[64];
    ebt_dircache_init(&c);
    assert_int_equal(ebt_dircache_get(&c, "/a"), 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "/pfs/dir%d", i);
        ebt_dircache_put(&c, key, 1 + i % 2);
    }
    ebt_dircache_put(&c, "/pfs/dir7", 1); /* a second answer replaces the first */
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "/pfs/dir%d", i);
        assert_int_equal(ebt_dircache_get(&c, key), i == 7 ? 1 : 1 + i % 2);
    }
    assert_int_equal(ebt_dircache_get(&c, "/pfs/dir1000"), 0);
    assert_int_equal(c.n, 1000);
    ebt_dircache_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy),         cmocka_unit_test(test_detect_posix),
        cmocka_unit_test(test_lustreapi_load), cmocka_unit_test(test_config),
        cmocka_unit_test(test_hooks_posix),    cmocka_unit_test(test_dircache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
