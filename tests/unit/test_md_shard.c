/* test_md_shard.c - the md shard (records, holders in note order, gone, parent index) and the
 * overlap rule of files several nodes wrote (winning ranges, holes, PFS base, sizes). */
#define _GNU_SOURCE
#include "md_int.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct md_rec *note(struct md_shard *s, const char *path, int kind, uint64_t size, int node,
                           int *was)
{
    struct md_note n = {kind, kind == EBTD_MD_DIR ? 040755 : 0100644, size, 100, 5};
    return md_shard_note(s, path, &n, node, was);
}

static void test_holders_in_note_order(void **state)
{
    struct md_shard s;
    md_shard_init(&s);
    int was = -1;
    struct md_rec *r = note(&s, "/p/a", EBTD_MD_FILE, 10, 2, &was);
    assert_non_null(r);
    assert_int_equal(was, 0);
    note(&s, "/p/a", EBTD_MD_FILE, 30, 0, &was);
    note(&s, "/p/a", EBTD_MD_FILE, 20, 3, &was);
    assert_int_equal(r->nholders, 3);
    assert_int_equal(r->holders[0], 2);
    assert_int_equal(r->holders[1], 0);
    assert_int_equal(r->holders[2], 3);
    assert_true(r->seqs[0] < r->seqs[1] && r->seqs[1] < r->seqs[2]);
    assert_int_equal(r->size, 30); /* the largest noted size */
    uint64_t v = md_rec_version(r);
    /* a re-note moves the holder last with a new sequence number */
    note(&s, "/p/a", EBTD_MD_FILE, 5, 2, &was);
    assert_int_equal(was, 1);
    assert_int_equal(r->nholders, 3);
    assert_int_equal(r->holders[2], 2);
    assert_int_equal(r->holders[0], 0);
    assert_true(r->seqs[2] > r->seqs[1]);
    assert_int_equal(r->size, 30);
    assert_true(md_rec_version(r) != v);
    md_shard_unhold(&s, "/p/a", 0);
    assert_int_equal(r->nholders, 2);
    assert_int_equal(r->holders[0], 3);
    assert_int_equal(r->size, 20);
    assert_ptr_equal(md_shard_get(&s, "/p/a"), r);
    assert_null(md_shard_get(&s, "/p/b"));
    md_shard_free(&s);
}

static void test_gone_and_kinds(void **state)
{
    struct md_shard s;
    md_shard_init(&s);
    struct md_rec *r = note(&s, "/p/a", EBTD_MD_FILE, 10, 1, NULL);
    note(&s, "/p/a", EBTD_MD_FILE, 10, 2, NULL);
    assert_ptr_equal(md_shard_gone(&s, "/p/a"), r);
    assert_int_equal(r->kind, EBTD_MD_GONE);
    assert_int_equal(r->nholders, 0);
    /* a note replaces the gone record: a fresh holder list */
    int was = -1;
    note(&s, "/p/a", EBTD_MD_FILE, 7, 2, &was);
    assert_int_equal(was, 0);
    assert_int_equal(r->kind, EBTD_MD_FILE);
    assert_int_equal(r->nholders, 1);
    assert_int_equal(r->holders[0], 2);
    assert_int_equal(r->size, 7);
    /* a directory noted over a file: the other kind, no holders */
    note(&s, "/p/a", EBTD_MD_DIR, 0, 3, NULL);
    assert_int_equal(r->kind, EBTD_MD_DIR);
    assert_int_equal(r->nholders, 0);
    /* gone for a name never noted (a PFS name removed) */
    struct md_rec *g = md_shard_gone(&s, "/p/pfsonly");
    assert_non_null(g);
    assert_int_equal(g->kind, EBTD_MD_GONE);
    md_shard_drop(&s, "/p/a");
    assert_null(md_shard_get(&s, "/p/a"));
    md_shard_free(&s);
}

static int collect(const struct md_rec *r, void *arg)
{
    char *out = arg;
    strcat(out, strrchr(r->path, '/') + 1);
    strcat(out, ",");
    return 0;
}

static int has(const char *list, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "%s,", name);
    for (const char *p = list; (p = strstr(p, key)); p++)
        if (p == list || p[-1] == ',')
            return 1;
    return 0;
}

static void test_parent_index(void **state)
{
    struct md_shard s;
    md_shard_init(&s);
    note(&s, "/p/d", EBTD_MD_DIR, 0, 0, NULL);
    note(&s, "/p/d/x", EBTD_MD_FILE, 1, 0, NULL);
    note(&s, "/p/d/y", EBTD_MD_FILE, 1, 1, NULL);
    note(&s, "/p/d/sub", EBTD_MD_DIR, 0, 1, NULL);
    note(&s, "/p/d/sub/z", EBTD_MD_FILE, 1, 1, NULL);
    md_shard_gone(&s, "/p/d/old");
    note(&s, "/top", EBTD_MD_FILE, 1, 1, NULL);
    char list[256] = "";
    md_shard_children(&s, "/p/d", collect, list);
    assert_int_equal(strlen(list), strlen("x,y,sub,old,"));
    assert_true(has(list, "x") && has(list, "y") && has(list, "sub") && has(list, "old"));
    list[0] = '\0';
    md_shard_children(&s, "/", collect, list);
    assert_string_equal(list, "top,");
    list[0] = '\0';
    md_shard_children(&s, "/p", collect, list);
    assert_string_equal(list, "d,");
    md_shard_drop(&s, "/p/d/x");
    md_shard_drop(&s, "/p/d/old");
    list[0] = '\0';
    md_shard_children(&s, "/p/d", collect, list);
    assert_int_equal(strlen(list), strlen("y,sub,"));
    assert_false(has(list, "x") || has(list, "old"));
    md_shard_drop(&s, "/p/d/y");
    md_shard_drop(&s, "/p/d/sub");
    list[0] = '\0';
    md_shard_children(&s, "/p/d", collect, list);
    assert_string_equal(list, "");
    list[0] = '\0';
    md_shard_children(&s, "/nothere", collect, list);
    assert_string_equal(list, "");
    md_shard_free(&s);
}

static void test_map_many(void **state)
{
    struct md_map m;
    md_map_init(&m);
    char k[32];
    for (long i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "/k/%ld", i);
        assert_int_equal(md_map_put(&m, k, (void *)(i + 1), NULL), 0);
    }
    assert_int_equal(m.n, 5000);
    for (long i = 0; i < 5000; i += 2) {
        snprintf(k, sizeof(k), "/k/%ld", i);
        assert_ptr_equal(md_map_del(&m, k), (void *)(i + 1));
    }
    for (long i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "/k/%ld", i);
        assert_ptr_equal(md_map_get(&m, k), i % 2 ? (void *)(i + 1) : NULL);
    }
    void *old = NULL;
    md_map_put(&m, "/k/1", (void *)7, &old);
    assert_ptr_equal(old, (void *)2);
    assert_int_equal(m.n, 2500);
    md_map_free(&m, NULL);
}

/* ---- the overlap rule ---- */

static void ivs_set(struct ebt_ivs *s, const uint64_t *pairs, int n)
{
    ebt_ivs_init(s);
    for (int i = 0; i < n; i++)
        assert_int_equal(ebt_ivs_add(s, pairs[2 * i], pairs[2 * i + 1] - pairs[2 * i]), 0);
}

static void assert_ivs(const struct ebt_ivs *s, const uint64_t *pairs, size_t n)
{
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s->iv[i][0], pairs[2 * i]);
        assert_int_equal(s->iv[i][1], pairs[2 * i + 1]);
    }
}

static void test_subtract(void **state)
{
    struct ebt_ivs a, b, out;
    ivs_set(&a, (uint64_t[]){0, 10, 20, 30, 40, 50}, 3);
    ivs_set(&b, (uint64_t[]){5, 25, 45, 60}, 2);
    ebt_ivs_init(&out);
    assert_int_equal(md_ivs_subtract(&a, &b, &out), 0);
    assert_ivs(&out, (uint64_t[]){0, 5, 25, 30, 40, 45}, 3);
    ebt_ivs_free(&out);
    ebt_ivs_free(&b);
    ebt_ivs_init(&b); /* minus nothing */
    assert_int_equal(md_ivs_subtract(&a, &b, &out), 0);
    assert_ivs(&out, (uint64_t[]){0, 10, 20, 30, 40, 50}, 3);
    ebt_ivs_free(&out);
    ivs_set(&b, (uint64_t[]){0, 100}, 1); /* minus everything */
    assert_int_equal(md_ivs_subtract(&a, &b, &out), 0);
    assert_int_equal(out.n, 0);
    ebt_ivs_free(&out);
    ebt_ivs_free(&b);
    ivs_set(&b, (uint64_t[]){2, 3, 4, 5, 21, 22, 29, 41}, 4); /* several holes in one interval */
    assert_int_equal(md_ivs_subtract(&a, &b, &out), 0);
    assert_ivs(&out, (uint64_t[]){0, 2, 3, 4, 5, 10, 20, 21, 22, 29, 41, 50}, 6);
    ebt_ivs_free(&out);
    ebt_ivs_free(&b);
    ebt_ivs_free(&a);
}

static void holder(struct md_hold_ext *h, int node, uint64_t size, const uint64_t *pairs, int n)
{
    memset(h, 0, sizeof(*h));
    h->node = node;
    h->size = size;
    ivs_set(&h->ext, pairs, n);
}

static void test_later_note_wins(void **state)
{
    struct md_hold_ext h[3];
    struct ebt_ivs base;
    uint64_t size;
    ebt_ivs_init(&base);
    holder(&h[0], 4, 100, (uint64_t[]){0, 60}, 1);            /* noted first */
    holder(&h[1], 1, 80, (uint64_t[]){10, 20, 50, 70}, 2);    /* overlaps both ends */
    holder(&h[2], 2, 120, (uint64_t[]){15, 55, 110, 200}, 2); /* latest; clipped to 120 */
    assert_int_equal(md_merge_ranges(h, 3, &base, &size), 0);
    assert_int_equal(size, 120);
    assert_ivs(&h[2].wins, (uint64_t[]){15, 55, 110, 120}, 2);
    assert_ivs(&h[1].wins, (uint64_t[]){10, 15, 55, 70}, 2);
    assert_ivs(&h[0].wins, (uint64_t[]){0, 10}, 1);
    assert_ivs(&base, (uint64_t[]){70, 110}, 1); /* nobody wrote: the PFS (or zeros) */
    md_hold_ext_free(h, 3);
    ebt_ivs_free(&base);
}

static void test_sizes_and_holes(void **state)
{
    struct md_hold_ext h[2];
    struct ebt_ivs base;
    uint64_t size;
    ebt_ivs_init(&base);
    /* the later holder truncated its copy: its size is smaller, the largest size counts */
    holder(&h[0], 0, 50, (uint64_t[]){0, 50}, 1);
    holder(&h[1], 1, 20, (uint64_t[]){5, 1000}, 1); /* a TRUNC-like tail, clipped to 20 */
    assert_int_equal(md_merge_ranges(h, 2, &base, &size), 0);
    assert_int_equal(size, 50);
    assert_ivs(&h[1].wins, (uint64_t[]){5, 20}, 1);
    assert_ivs(&h[0].wins, (uint64_t[]){0, 5, 20, 50}, 2);
    assert_int_equal(base.n, 0);
    md_hold_ext_free(h, 2);
    /* holes everywhere: base is all of [0,size) minus what was written */
    holder(&h[0], 3, 30, (uint64_t[]){10, 12}, 1);
    holder(&h[1], 0, 40, (uint64_t[]){20, 25}, 1);
    assert_int_equal(md_merge_ranges(h, 2, &base, &size), 0);
    assert_int_equal(size, 40);
    assert_ivs(&base, (uint64_t[]){0, 10, 12, 20, 25, 40}, 3);
    assert_ivs(&h[0].wins, (uint64_t[]){10, 12}, 1);
    assert_ivs(&h[1].wins, (uint64_t[]){20, 25}, 1);
    md_hold_ext_free(h, 2);
    /* one holder, empty file */
    holder(&h[0], 0, 0, NULL, 0);
    assert_int_equal(md_merge_ranges(h, 1, &base, &size), 0);
    assert_int_equal(size, 0);
    assert_int_equal(base.n, 0);
    assert_int_equal(h[0].wins.n, 0);
    md_hold_ext_free(h, 1);
    ebt_ivs_free(&base);
}

/* A node that created the file first has no log: its data pages, with the zeros of a page it
 * wrote part of, come after every holder with a log, whatever the note order (mn_n1 read zeros
 * where node 0 wrote, about 1 run in 2, when the creator's note was the latest). */
static void test_no_log_last(void **state)
{
    struct md_hold_ext h[3];
    struct ebt_ivs base;
    uint64_t size;
    ebt_ivs_init(&base);
    holder(&h[0], 0, 100, (uint64_t[]){0, 10, 40, 50}, 2);
    holder(&h[1], 1, 100, (uint64_t[]){10, 20}, 1);
    holder(&h[2], 2, 100, (uint64_t[]){0, 40}, 1); /* latest, no log */
    h[2].nolog = 1;
    assert_int_equal(md_merge_ranges(h, 3, &base, &size), 0);
    assert_ivs(&h[0].wins, (uint64_t[]){0, 10, 40, 50}, 2);
    assert_ivs(&h[1].wins, (uint64_t[]){10, 20}, 1);
    assert_ivs(&h[2].wins, (uint64_t[]){20, 40}, 1);
    assert_ivs(&base, (uint64_t[]){50, 100}, 1);
    md_hold_ext_free(h, 3);
    ebt_ivs_free(&base);
}

static void test_same_ranges_last_takes_all(void **state)
{
    struct md_hold_ext h[3];
    struct ebt_ivs base;
    uint64_t size;
    ebt_ivs_init(&base);
    for (int i = 0; i < 3; i++)
        holder(&h[i], i, 64, (uint64_t[]){0, 64}, 1);
    assert_int_equal(md_merge_ranges(h, 3, &base, &size), 0);
    assert_ivs(&h[2].wins, (uint64_t[]){0, 64}, 1);
    assert_int_equal(h[1].wins.n, 0);
    assert_int_equal(h[0].wins.n, 0);
    assert_int_equal(base.n, 0);
    md_hold_ext_free(h, 3);
    ebt_ivs_free(&base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holders_in_note_order),
        cmocka_unit_test(test_gone_and_kinds),
        cmocka_unit_test(test_parent_index),
        cmocka_unit_test(test_map_many),
        cmocka_unit_test(test_subtract),
        cmocka_unit_test(test_later_note_wins),
        cmocka_unit_test(test_sizes_and_holes),
        cmocka_unit_test(test_same_ranges_last_takes_all),
        cmocka_unit_test(test_no_log_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
