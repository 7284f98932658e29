/* test_lov.c - lustre.lov blobs: v1/v3/composite parsing, OST and chunk lookups, requests, and
 * hostile or truncated blobs (each parsed from an exact-size heap copy, so a read out of bounds
 * is caught by ASan in the sanitizer build). */
#define _GNU_SOURCE
#include "lov.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MiB (1ull << 20)

/* Blob writer: fields at their offsets in host byte order. */
static void put16(unsigned char *b, size_t off, uint16_t v)
{
    memcpy(b + off, &v, sizeof(v));
}
static void put32(unsigned char *b, size_t off, uint32_t v)
{
    memcpy(b + off, &v, sizeof(v));
}
static void put64(unsigned char *b, size_t off, uint64_t v)
{
    memcpy(b + off, &v, sizeof(v));
}

/* A file layout: v1 (or v3 with pool) header then one 24-byte entry per OST. Returns its size. */
static size_t mk_plain(unsigned char *b, uint32_t magic, uint32_t ssize, unsigned n,
                       const unsigned *osts, const char *pool)
{
    size_t hdr = magic == EBT_LOV_MAGIC_V3 ? 48 : 32;
    memset(b, 0, hdr + n * 24);
    put32(b, 0, magic);
    put32(b, 4, EBT_LOV_PATTERN_RAID0);
    put64(b, 8, 0x1234); /* lmm_oi */
    put32(b, 24, ssize);
    put16(b, 28, (uint16_t)n);
    put16(b, 30, 7); /* layout gen */
    if (pool)
        memcpy(b + 32, pool, strlen(pool));
    for (unsigned i = 0; i < n; i++) {
        put64(b + hdr + i * 24, 0, 0x1234);
        put64(b + hdr + i * 24, 8, 0x100000000ull + osts[i]);
        put32(b + hdr + i * 24, 20, osts[i]);
    }
    return hdr + n * 24;
}

struct comp_spec {
    uint64_t start, end;
    uint32_t ssize;
    unsigned n;
    unsigned osts[8];
    uint32_t flags;
};

/* A composite layout of nc components, each followed by its v1 blob. Returns its size. */
static size_t mk_comp(unsigned char *b, const struct comp_spec *c, unsigned nc)
{
    size_t off = 32 + nc * 48;
    memset(b, 0, off);
    put32(b, 0, EBT_LOV_MAGIC_COMP_V1);
    put16(b, 14, (uint16_t)nc);
    for (unsigned i = 0; i < nc; i++) {
        unsigned char *e = b + 32 + i * 48;
        size_t sz = mk_plain(b + off, EBT_LOV_MAGIC_V1, c[i].ssize, c[i].n, c[i].osts, NULL);
        put32(e, 0, i + 1);
        put32(e, 4, c[i].flags);
        put64(e, 8, c[i].start);
        put64(e, 16, c[i].end);
        put32(e, 24, (uint32_t)off);
        put32(e, 28, (uint32_t)sz);
        off += sz;
    }
    put32(b, 4, (uint32_t)off);
    return off;
}

/* Parse an exact-size heap copy of blob[0..len). */
static int parse_copy(const unsigned char *blob, size_t len, struct ebt_lov *lov)
{
    unsigned char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, blob, len);
    int rc = ebt_lov_parse(p, len, lov);
    free(p);
    return rc;
}

static void test_v1_file(void **state)
{
    unsigned char b[256];
    unsigned osts[4] = {2, 3, 0, 1};
    size_t n = mk_plain(b, EBT_LOV_MAGIC_V1, 1 * MiB, 4, osts, NULL);
    struct ebt_lov lov;
    assert_int_equal(n, 32 + 4 * 24);
    assert_int_equal(parse_copy(b, n, &lov), 0);
    assert_int_equal(lov.magic, EBT_LOV_MAGIC_V1);
    assert_int_equal(lov.ncomp, 1);
    assert_int_equal(lov.comp[0].stripe_size, MiB);
    assert_int_equal(lov.comp[0].nost, 4);
    assert_int_equal(ebt_lov_stripes_at(&lov, 0), 4);
    assert_int_equal(ebt_lov_ost_at(&lov, 0), 2);
    assert_int_equal(ebt_lov_ost_at(&lov, MiB - 1), 2);
    assert_int_equal(ebt_lov_ost_at(&lov, MiB), 3);
    assert_int_equal(ebt_lov_ost_at(&lov, 3 * MiB + 5), 1);
    assert_int_equal(ebt_lov_ost_at(&lov, 4 * MiB), 2); /* RAID0 wraps around */
    assert_int_equal(ebt_lov_chunk_end(&lov, 0), MiB);
    assert_int_equal(ebt_lov_chunk_end(&lov, MiB - 1), MiB);
    assert_int_equal(ebt_lov_chunk_end(&lov, MiB), 2 * MiB);
    assert_int_equal(ebt_lov_chunk_end(&lov, UINT64_MAX - 1), UINT64_MAX);
    ebt_lov_free(&lov);
}

static void test_v3_pool(void **state)
{
    unsigned char b[256];
    unsigned osts[2] = {5, 6};
    size_t n = mk_plain(b, EBT_LOV_MAGIC_V3, 4 * MiB, 2, osts, "flash");
    struct ebt_lov lov;
    assert_int_equal(parse_copy(b, n, &lov), 0);
    assert_int_equal(lov.magic, EBT_LOV_MAGIC_V3);
    assert_string_equal(lov.comp[0].pool, "flash");
    assert_int_equal(ebt_lov_ost_at(&lov, 4 * MiB), 6);
    assert_int_equal(ebt_lov_chunk_end(&lov, 5 * MiB), 8 * MiB);
    ebt_lov_free(&lov);
}

/* A directory default: header only, no objects; stripe size 0 means the file system's. */
static void test_template(void **state)
{
    unsigned char b[64];
    struct ebt_lov lov;
    size_t n = mk_plain(b, EBT_LOV_MAGIC_V1, 0, 0, NULL, NULL);
    put16(b, 28, 0xffff); /* all OSTs */
    assert_int_equal(parse_copy(b, n, &lov), 0);
    assert_int_equal(lov.comp[0].nost, 0);
    assert_int_equal(ebt_lov_stripes_at(&lov, 0), -1);
    assert_int_equal(ebt_lov_ost_at(&lov, 0), -ENODATA);
    assert_int_equal(ebt_lov_chunk_end(&lov, 0), 0);
    ebt_lov_free(&lov);
}

/* PFL: [0, 1M) one stripe, [1M, 64M) 2 stripes of 1M, [64M, EOF) 4 stripes of 4M (not
 * instantiated yet). */
static void test_composite(void **state)
{
    unsigned char b[1024];
    struct comp_spec c[3] = {
        {0, MiB, MiB, 1, {7}, EBT_LOV_COMP_FL_INIT},
        {MiB, 64 * MiB, MiB, 2, {1, 2}, EBT_LOV_COMP_FL_INIT},
        {64 * MiB, EBT_LOV_EOF, 4 * MiB, 0, {0}, 0},
    };
    size_t n = mk_comp(b, c, 3);
    put16(b + n - 32 + 28, 0, 4); /* the last component asks for 4 stripes, has no objects */
    struct ebt_lov lov;
    assert_int_equal(parse_copy(b, n, &lov), 0);
    assert_int_equal(lov.magic, EBT_LOV_MAGIC_COMP_V1);
    assert_int_equal(lov.ncomp, 3);
    assert_int_equal(ebt_lov_ost_at(&lov, 100), 7);
    assert_int_equal(ebt_lov_ost_at(&lov, MiB), 2); /* stripe (1M/1M) % 2 = 1 */
    assert_int_equal(ebt_lov_ost_at(&lov, 2 * MiB), 1);
    assert_int_equal(ebt_lov_ost_at(&lov, 64 * MiB), -ENODATA);
    assert_int_equal(ebt_lov_stripes_at(&lov, 70 * MiB), 4);
    assert_int_equal(ebt_lov_stripes_at(&lov, 5 * MiB), 2);
    assert_int_equal(ebt_lov_chunk_end(&lov, 0), MiB);
    assert_int_equal(ebt_lov_chunk_end(&lov, 63 * MiB + 1), 64 * MiB);
    assert_int_equal(ebt_lov_chunk_end(&lov, 64 * MiB), 68 * MiB);
    ebt_lov_free(&lov);
}

/* A component's extent caps its chunks: [0, 3M) of 2M stripes ends a chunk at 3M. */
static void test_chunk_capped_by_component(void **state)
{
    unsigned char b[512];
    struct comp_spec c[2] = {{0, 3 * MiB, 2 * MiB, 1, {0}, EBT_LOV_COMP_FL_INIT},
                             {3 * MiB, EBT_LOV_EOF, MiB, 1, {1}, EBT_LOV_COMP_FL_INIT}};
    struct ebt_lov lov;
    size_t n = mk_comp(b, c, 2);
    assert_int_equal(parse_copy(b, n, &lov), 0);
    assert_int_equal(ebt_lov_chunk_end(&lov, 2 * MiB), 3 * MiB);
    assert_int_equal(ebt_lov_chunk_end(&lov, 3 * MiB), 4 * MiB);
    ebt_lov_free(&lov);
}

static void test_build(void **state)
{
    unsigned char b[64];
    struct ebt_lov lov;
    struct ebt_lov_req rq = {.stripe_size = 2 * MiB, .stripe_count = -1, .stripe_offset = -1};
    long n = ebt_lov_build(&rq, b, sizeof(b));
    assert_int_equal(n, 32);
    assert_int_equal(parse_copy(b, (size_t)n, &lov), 0);
    assert_int_equal(lov.comp[0].stripe_size, 2 * MiB);
    assert_int_equal(lov.comp[0].stripe_count, 0xffff);
    assert_int_equal(lov.comp[0].offset_or_gen, 0xffff);
    ebt_lov_free(&lov);
    snprintf(rq.pool, sizeof(rq.pool), "ssd");
    rq.stripe_count = 4;
    rq.stripe_offset = 3;
    assert_int_equal(ebt_lov_build(&rq, b, sizeof(b)), 48);
    assert_int_equal(parse_copy(b, 48, &lov), 0);
    assert_string_equal(lov.comp[0].pool, "ssd");
    assert_int_equal(lov.comp[0].stripe_count, 4);
    assert_int_equal(lov.comp[0].offset_or_gen, 3);
    ebt_lov_free(&lov);
    assert_int_equal(ebt_lov_build(&rq, b, 47), -ERANGE);
}

static void test_build_refuses(void **state)
{
    unsigned char b[64];
    struct ebt_lov_req rq = {.stripe_size = MiB + 4096, .stripe_count = 1, .stripe_offset = -1};
    assert_int_equal(ebt_lov_build(&rq, b, sizeof(b)), -EINVAL); /* not a multiple of 64K */
    rq.stripe_size = MiB;
    rq.stripe_count = 2001;
    assert_int_equal(ebt_lov_build(&rq, b, sizeof(b)), -EINVAL);
    rq.stripe_count = -2;
    assert_int_equal(ebt_lov_build(&rq, b, sizeof(b)), -EINVAL);
    rq.stripe_count = 1;
    rq.stripe_offset = 0xffff;
    assert_int_equal(ebt_lov_build(&rq, b, sizeof(b)), -EINVAL);
    rq.stripe_offset = -1;
    memset(rq.pool, 'p', sizeof(rq.pool)); /* no NUL: a name too long */
    assert_int_equal(ebt_lov_build(&rq, b, sizeof(b)), -EINVAL);
}

/* Every truncation of a file layout is refused, except exactly its header (a template). */
static void test_truncated_plain(void **state)
{
    unsigned char b[256];
    unsigned osts[3] = {0, 1, 2};
    for (int v3 = 0; v3 < 2; v3++) {
        size_t hdr = v3 ? 48 : 32;
        size_t n = mk_plain(b, v3 ? EBT_LOV_MAGIC_V3 : EBT_LOV_MAGIC_V1, MiB, 3, osts, NULL);
        for (size_t len = 0; len < n; len++) {
            struct ebt_lov lov;
            int rc = parse_copy(b, len, &lov);
            if (len == hdr) {
                assert_int_equal(rc, 0);
                assert_int_equal(lov.comp[0].nost, 0);
                ebt_lov_free(&lov);
            } else {
                assert_int_equal(rc, -EINVAL);
            }
        }
    }
}

/* Every truncation of a composite layout is refused (lcm_size then exceeds the blob). */
static void test_truncated_comp(void **state)
{
    unsigned char b[1024];
    struct comp_spec c[2] = {{0, MiB, MiB, 1, {3}, EBT_LOV_COMP_FL_INIT},
                             {MiB, EBT_LOV_EOF, MiB, 2, {0, 1}, EBT_LOV_COMP_FL_INIT}};
    size_t n = mk_comp(b, c, 2);
    for (size_t len = 0; len < n; len++) {
        struct ebt_lov lov;
        assert_int_equal(parse_copy(b, len, &lov), -EINVAL);
    }
}

static int parse_plain_edit(size_t off, uint32_t v, int width)
{
    unsigned char b[256];
    unsigned osts[2] = {0, 1};
    size_t n = mk_plain(b, EBT_LOV_MAGIC_V1, MiB, 2, osts, NULL);
    if (width == 16)
        put16(b, off, (uint16_t)v);
    else
        put32(b, off, v);
    struct ebt_lov lov;
    int rc = parse_copy(b, n, &lov);
    if (rc == 0)
        ebt_lov_free(&lov);
    return rc;
}

static void test_hostile_plain(void **state)
{
    assert_int_equal(parse_plain_edit(0, 0xdeadbeef, 32), -EINVAL);      /* magic */
    assert_int_equal(parse_plain_edit(0, 0x0BD70BD0u, 32), -EOPNOTSUPP); /* foreign */
    assert_int_equal(parse_plain_edit(0, 0x0BD50BD0u, 32), -EOPNOTSUPP); /* specific */
    assert_int_equal(parse_plain_edit(4, 0x002, 32), -EOPNOTSUPP);       /* RAID1 */
    assert_int_equal(parse_plain_edit(24, MiB + 1, 32), -EINVAL);        /* stripe size */
    assert_int_equal(parse_plain_edit(24, 0, 32), -EINVAL);              /* 0 with objects */
    assert_int_equal(parse_plain_edit(28, 3, 16), -EINVAL);              /* count > entries */
    assert_int_equal(parse_plain_edit(28, 1, 16), -EINVAL);              /* count < entries */
    assert_int_equal(parse_plain_edit(28, 0, 16), -EINVAL);              /* 0 with entries */
    assert_int_equal(parse_plain_edit(28, 0xffff, 16), -E2BIG);          /* > 2000 */
    assert_int_equal(parse_plain_edit(32 + 20, 0x10000, 32), -EINVAL);   /* OST index */
    assert_int_equal(parse_plain_edit(32 + 24 + 20, 0xffffffffu, 32), -EINVAL); /* OST index */
    assert_int_equal(parse_plain_edit(24, 2 * MiB, 32), 0); /* the helper itself parses */
    struct ebt_lov lov;
    assert_int_equal(ebt_lov_parse(NULL, 32, &lov), -EINVAL);
    unsigned char big[1];
    assert_int_equal(ebt_lov_parse(big, EBT_LOV_MAX_BLOB + 1, &lov), -E2BIG);
}

/* Composite blobs whose header or entries lie: sizes, counts, offsets, extents, nesting. */
static int parse_comp_edit(size_t off, uint64_t v, int width)
{
    unsigned char b[1024];
    struct comp_spec c[2] = {{0, MiB, MiB, 1, {3}, EBT_LOV_COMP_FL_INIT},
                             {MiB, EBT_LOV_EOF, MiB, 2, {0, 1}, EBT_LOV_COMP_FL_INIT}};
    size_t n = mk_comp(b, c, 2);
    if (width == 16)
        put16(b, off, (uint16_t)v);
    else if (width == 32)
        put32(b, off, (uint32_t)v);
    else
        put64(b, off, v);
    struct ebt_lov lov;
    int rc = parse_copy(b, n, &lov);
    if (rc == 0)
        ebt_lov_free(&lov);
    return rc;
}

static void test_hostile_comp(void **state)
{
    const size_t e0 = 32, e1 = 32 + 48;
    assert_int_equal(parse_comp_edit(12, 0, 16), 0); /* lcm_flags: the helper itself parses */
    assert_int_equal(parse_comp_edit(4, 4096, 32), -EINVAL);              /* lcm_size > blob */
    assert_int_equal(parse_comp_edit(4, 16, 32), -EINVAL);                /* lcm_size < header */
    assert_int_equal(parse_comp_edit(14, 0, 16), -EINVAL);                /* no entries */
    assert_int_equal(parse_comp_edit(14, 3, 16), -EINVAL);                /* table overlaps blobs */
    assert_int_equal(parse_comp_edit(14, 65535, 16), -E2BIG);             /* too many */
    assert_int_equal(parse_comp_edit(e0 + 24, 0xfffffff0u, 32), -EINVAL); /* offset outside */
    assert_int_equal(parse_comp_edit(e0 + 28, 0xfffffff0u, 32), -EINVAL); /* size outside */
    assert_int_equal(parse_comp_edit(e0 + 24, 8, 32), -EINVAL);           /* inside the header */
    assert_int_equal(parse_comp_edit(e1 + 28, 40, 32), -EINVAL);          /* blob size not v1 + n */
    assert_int_equal(parse_comp_edit(e0 + 16, 0, 64), -EINVAL);           /* end <= start */
    assert_int_equal(parse_comp_edit(e1 + 8, EBT_LOV_EOF, 64), -EINVAL);  /* start = EOF */
    assert_int_equal(parse_comp_edit(e0 + 24, 0, 32), -EINVAL);           /* points at the header */
    /* the first entry's blob (right after the table) is itself a composite: nesting */
    assert_int_equal(parse_comp_edit(32 + 2 * 48, EBT_LOV_MAGIC_COMP_V1, 32), -EINVAL);
}

/* Random corruption of valid blobs: never a crash or a read outside the copy (ASan), and a
 * parsed layout is self-consistent. */
static void test_fuzz(void **state)
{
    unsigned char base[1024], b[1024];
    unsigned osts[3] = {0, 1, 2};
    struct comp_spec c[2] = {{0, MiB, MiB, 1, {3}, EBT_LOV_COMP_FL_INIT},
                             {MiB, EBT_LOV_EOF, MiB, 2, {0, 1}, EBT_LOV_COMP_FL_INIT}};
    srand(12345);
    for (int round = 0; round < 20000; round++) {
        size_t n =
            round % 2 ? mk_comp(base, c, 2) : mk_plain(base, EBT_LOV_MAGIC_V3, MiB, 3, osts, "p");
        memcpy(b, base, n);
        for (int k = 0, flips = 1 + rand() % 4; k < flips; k++)
            b[rand() % n] = (unsigned char)rand();
        size_t len = rand() % 4 ? n : (size_t)rand() % (n + 1);
        struct ebt_lov lov;
        if (parse_copy(b, len, &lov) != 0)
            continue;
        for (unsigned i = 0; i < lov.ncomp; i++)
            assert_true(lov.comp[i].ost_base + lov.comp[i].nost <= lov.nosts);
        for (uint64_t off = 0; off < 8 * MiB; off += MiB / 2) {
            int ost = ebt_lov_ost_at(&lov, off);
            assert_true(ost >= 0 || ost == -ENOENT || ost == -ENODATA);
            uint64_t end = ebt_lov_chunk_end(&lov, off);
            assert_true(end == 0 || end > off);
        }
        ebt_lov_free(&lov);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_file),
        cmocka_unit_test(test_v3_pool),
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_composite),
        cmocka_unit_test(test_chunk_capped_by_component),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_build_refuses),
        cmocka_unit_test(test_truncated_plain),
        cmocka_unit_test(test_truncated_comp),
        cmocka_unit_test(test_hostile_plain),
        cmocka_unit_test(test_hostile_comp),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
