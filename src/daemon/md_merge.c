/* md_merge.c - the overlap rule of files several nodes wrote: per byte the holder with the later
 * note wins, holders whose copy has no log last; bytes no holder wrote come from the PFS; the
 * size is the largest holder size. */
#define _GNU_SOURCE
#include "md_int.h"

#include <errno.h>

int md_ivs_subtract(const struct ebt_ivs *a, const struct ebt_ivs *b, struct ebt_ivs *out)
{
    size_t j = 0;
    for (size_t i = 0; i < a->n; i++) {
        uint64_t off = a->iv[i][0], end = a->iv[i][1];
        while (j < b->n && b->iv[j][1] <= off)
            j++;
        for (size_t k = j; k < b->n && b->iv[k][0] < end && off < end; k++) {
            if (b->iv[k][0] > off && ebt_ivs_add(out, off, b->iv[k][0] - off) < 0)
                return -ENOMEM;
            if (b->iv[k][1] > off)
                off = b->iv[k][1];
        }
        if (off < end && ebt_ivs_add(out, off, end - off) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int ivs_union(struct ebt_ivs *into, const struct ebt_ivs *add)
{
    for (size_t i = 0; i < add->n; i++)
        if (ebt_ivs_add(into, add->iv[i][0], add->iv[i][1] - add->iv[i][0]) < 0)
            return -ENOMEM;
    return 0;
}

int md_merge_ranges(struct md_hold_ext *h, int n, struct ebt_ivs *base, uint64_t *size)
{
    struct ebt_ivs covered, all;
    ebt_ivs_init(&covered);
    ebt_ivs_init(&all);
    int rc = 0;
    *size = 0;
    for (int i = 0; i < n; i++) {
        ebt_ivs_clip(&h[i].ext, h[i].size);
        if (h[i].size > *size)
            *size = h[i].size;
    }
    for (int pass = 0; pass < 2; pass++)              /* holders with a log, then without */
        for (int i = n - 1; i >= 0 && rc == 0; i--) { /* latest note first */
            if (h[i].nolog != pass)
                continue;
            ebt_ivs_free(&h[i].wins);
            rc = md_ivs_subtract(&h[i].ext, &covered, &h[i].wins);
            if (rc == 0)
                rc = ivs_union(&covered, &h[i].ext);
        }
    if (rc == 0 && *size > 0)
        rc = ebt_ivs_add(&all, 0, *size);
    ebt_ivs_free(base);
    if (rc == 0)
        rc = md_ivs_subtract(&all, &covered, base);
    ebt_ivs_free(&covered);
    ebt_ivs_free(&all);
    return rc;
}

void md_hold_ext_free(struct md_hold_ext *h, int n)
{
    for (int i = 0; i < n; i++) {
        ebt_ivs_free(&h[i].ext);
        ebt_ivs_free(&h[i].wins);
    }
}
