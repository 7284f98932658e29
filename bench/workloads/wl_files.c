/* wl_files.c - many-small-file shapes: ResNet (read-only data set, 2 shuffled epochs), Python
 * import storm, Montage (66 files written then read), mdtest (create/stat/read/remove storm). */
#include "wl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

/* ---- ResNet: small read-only files, 2 epochs in a random order sharded over ranks ---- */

typedef struct {
    int files, classes;
} resnet_size_t;

static resnet_size_t resnet_size(wl_ctx_t *c)
{
    return (resnet_size_t){WL_SCALE(c, 200, 2000), WL_SCALE(c, 4, 20)};
}

/* ~110 KB on average like ImageNet JPEGs: 64 KiB + up to 96 KiB. */
static uint64_t resnet_file(wl_ctx_t *c, int i, int classes, char *p, size_t n)
{
    snprintf(p, n, "%s/train/n%04d/img_%06d.JPEG", c->root, i % classes, i);
    return 64 * KIB + wl_seed("resnet-size", (uint64_t)i, 0) % (96 * KIB);
}

static int resnet_setup(wl_ctx_t *c)
{
    char p[4200];
    resnet_size_t s = resnet_size(c);
    int rc = 0;
    for (int k = 0; k < s.classes && !rc; k++) {
        snprintf(p, sizeof(p), "%s/train/n%04d", c->root, k);
        rc = wl_mkdirs(p);
    }
    for (int i = 0; i < s.files && !rc; i++) {
        uint64_t size = resnet_file(c, i, s.classes, p, sizeof(p));
        rc = wl_write_file(p, wl_seed("resnet", (uint64_t)i, 0), size, 0, NULL);
    }
    return rc;
}

/* Same permutation on every rank (seeded by the epoch), like a distributed sampler. */
static void shuffle(int *perm, int n, int epoch)
{
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(wl_seed("perm", (uint64_t)epoch, (uint64_t)i) % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static int resnet_run(wl_ctx_t *c)
{
    char p[4200];
    resnet_size_t s = resnet_size(c);
    int *perm = malloc(sizeof(int) * (size_t)s.files), rc = perm ? 0 : -1;
    for (int e = 0; e < 2 && perm; e++) {
        shuffle(perm, s.files, e);
        wl_phase_begin(c);
        for (int j = c->rank; j < s.files; j += c->o->ranks) {
            uint64_t size = resnet_file(c, perm[j], s.classes, p, sizeof(p));
            rc |= wl_check(c, p, wl_seed("resnet", (uint64_t)perm[j], 0), size);
        }
        wl_phase_end(c);
    }
    free(perm);
    return rc ? -1 : 0;
}

const wl_workload_t wl_resnet = {"resnet", "small read-only files, 2 epochs in random order",
                                 resnet_run, resnet_setup, NULL};

/* ---- Python import storm: every process imports every module of a site-packages tree ---- */

typedef struct {
    int pkgs, mods;
} py_size_t;

static py_size_t py_size(wl_ctx_t *c)
{
    return (py_size_t){WL_SCALE(c, 20, 100), 29}; /* + __init__.py: 30 files per package */
}

static uint64_t py_file(wl_ctx_t *c, int pkg, int mod, char *p, size_t n)
{
    if (mod < 0)
        snprintf(p, n, "%s/lib/python3.11/site-packages/pkg%03d/__init__.py", c->root, pkg);
    else
        snprintf(p, n, "%s/lib/python3.11/site-packages/pkg%03d/mod%02d.py", c->root, pkg, mod);
    return KIB + wl_seed("py-size", (uint64_t)pkg, (uint64_t)(mod + 1)) % (15 * KIB);
}

static uint64_t py_seed(int pkg, int mod)
{
    return wl_seed("py", (uint64_t)pkg, (uint64_t)(mod + 1));
}

static int py_setup(wl_ctx_t *c)
{
    char p[4200];
    py_size_t s = py_size(c);
    int rc = 0;
    snprintf(p, sizeof(p), "%s/app", c->root);
    rc |= wl_mkdirs(p);
    snprintf(p, sizeof(p), "%s/lib/python3.11/lib-dynload", c->root);
    rc |= wl_mkdirs(p);
    for (int k = 0; k < s.pkgs && !rc; k++) {
        snprintf(p, sizeof(p), "%s/lib/python3.11/site-packages/pkg%03d", c->root, k);
        rc = wl_mkdirs(p);
        for (int m = -1; m < s.mods && !rc; m++) {
            uint64_t size = py_file(c, k, m, p, sizeof(p));
            rc = wl_write_file(p, py_seed(k, m), size, 0, NULL);
        }
    }
    return rc;
}

/* The search-path misses of one import: extension-module names and a missing .pyc. */
static void py_misses(wl_ctx_t *c, int pkg, const char *mod)
{
    static const char *entries[] = {"app", "lib/python311.zip", "lib/python3.11",
                                    "lib/python3.11/lib-dynload"};
    static const char *suffixes[] = {".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so"};
    char p[4200];
    struct stat st;
    for (size_t e = 0; e < sizeof(entries) / sizeof(entries[0]); e++) {
        snprintf(p, sizeof(p), "%s/%s/pkg%03d", c->root, entries[e], pkg);
        (void)stat(p, &st);
    }
    for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
        snprintf(p, sizeof(p), "%s/lib/python3.11/site-packages/pkg%03d/%s%s", c->root, pkg, mod,
                 suffixes[k]);
        (void)stat(p, &st);
    }
    snprintf(p, sizeof(p), "%s/lib/python3.11/site-packages/pkg%03d/__pycache__/%s.cpython-311.pyc",
             c->root, pkg, mod);
    (void)stat(p, &st);
}

/* A package: list its directory once (path finder cache), then import every module. */
static int py_import_pkg(wl_ctx_t *c, int k, int mods)
{
    char p[4200], name[16];
    struct stat st;
    int rc = 0;
    snprintf(p, sizeof(p), "%s/lib/python3.11/site-packages/pkg%03d", c->root, k);
    DIR *d = opendir(p);
    if (!d)
        return wl_fail("opendir %s: %s", p, strerror(errno));
    while (readdir(d))
        ;
    closedir(d);
    for (int m = -1; m < mods; m++) {
        snprintf(name, sizeof(name), m < 0 ? "__init__" : "mod%02d", m);
        py_misses(c, k, name);
        uint64_t size = py_file(c, k, m, p, sizeof(p));
        if (stat(p, &st))
            rc = wl_fail("stat %s: %s", p, strerror(errno));
        rc |= wl_check(c, p, py_seed(k, m), size);
    }
    return rc;
}

static int py_run(wl_ctx_t *c)
{
    py_size_t s = py_size(c);
    int rc = 0;
    wl_phase_begin(c);
    for (int k = 0; k < s.pkgs; k++)
        rc |= py_import_pkg(c, k, s.mods);
    wl_phase_end(c);
    return rc ? -1 : 0;
}

const wl_workload_t wl_pyimport = {"pyimport", "every process stats/opens/reads ~3,000 modules",
                                   py_run, py_setup, NULL};

/* ---- Montage: step 1 writes 66 images, step 2 reads another rank's images, writes a mosaic ----
 */

#define MONTAGE_FILES 66

static uint64_t montage_size(wl_ctx_t *c)
{
    return WL_SCALE(c, 64 * KIB, 2 * MIB);
}

static int montage_run(wl_ctx_t *c)
{
    char p[4200];
    uint64_t size = montage_size(c);
    int rc = 0;
    wl_phase_begin(c);
    snprintf(p, sizeof(p), "%s/projected", c->root);
    if (c->rank == 0)
        rc |= wl_mkdirs(p);
    wl_barrier(c);
    for (int i = c->rank; i < MONTAGE_FILES; i += c->o->ranks) {
        snprintf(p, sizeof(p), "%s/projected/p%03d.fits", c->root, i);
        rc |= wl_write_file(p, wl_seed("montage", (uint64_t)i, 0), size, 64 * KIB, NULL);
        wl_count(c, size, 0, 1);
    }
    wl_phase_end(c);
    wl_phase_begin(c); /* step 2: the files written by the next rank */
    for (int i = (c->rank + 1) % c->o->ranks; i < MONTAGE_FILES; i += c->o->ranks) {
        snprintf(p, sizeof(p), "%s/projected/p%03d.fits", c->root, i);
        rc |= wl_check(c, p, wl_seed("montage", (uint64_t)i, 0), size);
    }
    snprintf(p, sizeof(p), "%s/mosaic.fits", c->root);
    if (c->rank == 0)
        rc |=
            wl_write_file(p, wl_seed("montage-mosaic", 0, 0), size * MONTAGE_FILES / 4, MIB, NULL);
    wl_phase_end(c);
    return rc ? -1 : 0;
}

static int montage_verify(wl_ctx_t *c)
{
    char p[4200];
    uint64_t size = montage_size(c);
    int rc = 0;
    for (int i = 0; i < MONTAGE_FILES; i++) {
        snprintf(p, sizeof(p), "%s/projected/p%03d.fits", c->root, i);
        rc |= wl_check(c, p, wl_seed("montage", (uint64_t)i, 0), size);
    }
    snprintf(p, sizeof(p), "%s/mosaic.fits", c->root);
    rc |= wl_check(c, p, wl_seed("montage-mosaic", 0, 0), size * MONTAGE_FILES / 4);
    return rc ? -1 : 0;
}

const wl_workload_t wl_montage = {"montage", "step 1 writes 66 files, step 2 reads them",
                                  montage_run, NULL, montage_verify};

/* ---- mdtest: per-rank directories; create, stat, read (neighbour's files), remove ---- */

#define MDTEST_BYTES 3901ull

static void md_path(wl_ctx_t *c, int r, int i, char *p, size_t n)
{
    snprintf(p, n, "%s/mdtest/rank.%d/file.mdtest.%d.%d", c->root, r, r, i);
}

static int md_phase_stat_read(wl_ctx_t *c, int nfiles, int do_read)
{
    char p[4200];
    struct stat st;
    int r = (c->rank + 1) % c->o->ranks, rc = 0;
    for (int i = 0; i < nfiles; i++) {
        md_path(c, r, i, p, sizeof(p));
        if (do_read)
            rc |= wl_check(c, p, wl_seed("mdtest", (uint64_t)r, (uint64_t)i), MDTEST_BYTES);
        else if (stat(p, &st) || (uint64_t)st.st_size != MDTEST_BYTES)
            rc = wl_fail("stat %s: %s", p, strerror(errno));
    }
    return rc;
}

static int md_run(wl_ctx_t *c)
{
    char p[4200];
    int n = WL_SCALE(c, 100, 1000), rc;
    wl_phase_begin(c);
    snprintf(p, sizeof(p), "%s/mdtest/rank.%d", c->root, c->rank);
    rc = wl_mkdirs(p);
    for (int i = 0; i < n && !rc; i++) {
        md_path(c, c->rank, i, p, sizeof(p));
        rc = wl_write_file(p, wl_seed("mdtest", (uint64_t)c->rank, (uint64_t)i), MDTEST_BYTES, 0,
                           NULL);
    }
    wl_count(c, (uint64_t)n * MDTEST_BYTES, 0, (uint64_t)n);
    wl_phase_end(c);
    wl_phase_begin(c);
    rc |= md_phase_stat_read(c, n, 0);
    wl_phase_end(c);
    wl_phase_begin(c);
    rc |= md_phase_stat_read(c, n, 1);
    wl_phase_end(c);
    wl_phase_begin(c);
    for (int i = 0; i < n; i++) {
        md_path(c, c->rank, i, p, sizeof(p));
        if (unlink(p))
            rc = wl_fail("unlink %s: %s", p, strerror(errno));
    }
    snprintf(p, sizeof(p), "%s/mdtest/rank.%d", c->root, c->rank);
    if (rmdir(p))
        rc = wl_fail("rmdir %s: %s", p, strerror(errno));
    wl_phase_end(c);
    return rc ? -1 : 0;
}

/* After the storm the tree must be empty: nothing created may be left over. */
static int md_verify(wl_ctx_t *c)
{
    char p[4200];
    struct dirent *e;
    int left = 0;
    snprintf(p, sizeof(p), "%s/mdtest", c->root);
    DIR *d = opendir(p);
    if (!d)
        return wl_fail("opendir %s: %s", p, strerror(errno));
    while ((e = readdir(d)))
        left += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return left ? wl_fail("%s: %d entries left after remove", p, left) : 0;
}

const wl_workload_t wl_mdtest = {"mdtest", "create/stat/read/remove storm, per-rank directories",
                                 md_run, NULL, md_verify};
