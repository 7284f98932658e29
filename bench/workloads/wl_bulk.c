/* wl_bulk.c - LustreBulk's data sets: many 1 MiB single-stripe files; one large 16-stripe file. */
#include "wl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024ull * 1024ull)
#define BULK_DIRS 10

/* ---- bulk-small: file k by rank k mod np, one 1 MiB write each, stripe count 1 ---- */

static int bulk_small_count(wl_ctx_t *c)
{
    return c->o->files > 0 ? (int)c->o->files : WL_SCALE(c, 64, 2000);
}

static void bulk_small_path(wl_ctx_t *c, int k, char *p, size_t n)
{
    snprintf(p, n, "%s/set/d%02d/f%06d", c->root, k % BULK_DIRS, k);
}

static int bulk_small_run(wl_ctx_t *c)
{
    char p[4200];
    int n = bulk_small_count(c), rc = 0, mine = 0;
    wl_phase_begin(c);
    for (int d = 0; c->rank == 0 && d < BULK_DIRS; d++) {
        snprintf(p, sizeof(p), "%s/set/d%02d", c->root, d);
        rc |= wl_mkdirs(p);
    }
    wl_barrier(c);
    for (int k = c->rank; k < n; k += c->o->ranks, mine++) {
        bulk_small_path(c, k, p, sizeof(p));
        rc |= wl_write_file(p, wl_seed("bulk", (uint64_t)k, 0), MIB, MIB, NULL);
    }
    wl_phase_end(c);
    wl_count(c, (uint64_t)mine * MIB, 0, (uint64_t)mine);
    return rc ? -1 : 0;
}

static int bulk_small_verify(wl_ctx_t *c)
{
    char p[4200];
    int n = bulk_small_count(c), rc = 0;
    for (int k = 0; k < n; k++) {
        bulk_small_path(c, k, p, sizeof(p));
        rc |= wl_check(c, p, wl_seed("bulk", (uint64_t)k, 0), MIB);
    }
    return rc ? -1 : 0;
}

const wl_workload_t wl_bulk_small = {"bulk-small", "many 1 MiB single-stripe files (LustreBulk)",
                                     bulk_small_run, NULL, bulk_small_verify};

/* ---- bulk-large: one file, 16 stripes of 1 MiB, each rank writes its contiguous segment ---- */

static uint64_t bulk_large_size(wl_ctx_t *c)
{
    return WL_SCALE(c, 16, 512) * MIB;
}

static int bulk_large_run(wl_ctx_t *c)
{
    char p[4200];
    uint64_t size = bulk_large_size(c), seg = size / (uint64_t)c->o->ranks;
    int rc = 0, fd;
    wl_phase_begin(c);
    snprintf(p, sizeof(p), "%s/large", c->root);
    if (c->rank == 0 && !(rc = wl_mkdirs(p))) {
        snprintf(p, sizeof(p), "%s/large/file.dat", c->root);
        rc = wl_create_striped(p, 16, (unsigned)MIB);
    }
    wl_barrier(c);
    snprintf(p, sizeof(p), "%s/large/file.dat", c->root);
    fd = open(p, O_WRONLY);
    if (fd < 0)
        rc = wl_fail("open %s: %s", p, strerror(errno));
    else {
        uint64_t off = seg * (uint64_t)c->rank;
        uint64_t len = c->rank == c->o->ranks - 1 ? size - off : seg;
        rc |= wl_pwrite_range(fd, wl_seed("bulk-large", 0, 0), off, len, MIB);
        rc |= close(fd);
        wl_count(c, len, 0, c->rank == 0);
    }
    wl_phase_end(c);
    return rc ? -1 : 0;
}

static int bulk_large_verify(wl_ctx_t *c)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/large/file.dat", c->root);
    return wl_check(c, p, wl_seed("bulk-large", 0, 0), bulk_large_size(c));
}

const wl_workload_t wl_bulk_large = {"bulk-large", "one large 16-stripe file, a segment per rank",
                                     bulk_large_run, NULL, bulk_large_verify};
