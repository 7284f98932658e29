/* wl_hpc.c - simulation-code shapes: WRF (logs + history + restart), NAMD (rank 0 trajectory and
 * restarts), VPIC (N-N per dump), SPECFEM (N-1 interleaved disjoint ranges, then N-N). */
#include "wl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define LOG_LINE 100

/* ---- WRF: 1 log per rank, history files and a restart by rank 0, input read at start ---- */

typedef struct {
    int steps, lines;
    uint64_t hist, rst, input;
} wrf_size_t;

static wrf_size_t wrf_size(wl_ctx_t *c)
{
    return (wrf_size_t){WL_SCALE(c, 2, 8), WL_SCALE(c, 50, 200), WL_SCALE(c, 2, 32) * MIB,
                        WL_SCALE(c, 8, 160) * MIB, WL_SCALE(c, 4, 64) * MIB};
}

/* Append n log lines of the log's content at *off. */
static int log_lines(int fd, uint64_t seed, uint64_t *off, int n)
{
    char line[LOG_LINE];
    for (int i = 0; i < n; i++, *off += LOG_LINE) {
        wl_fill(line, LOG_LINE, seed, *off);
        if (wl_write_all(fd, line, LOG_LINE))
            return -1;
    }
    return 0;
}

static int wrf_setup(wl_ctx_t *c)
{
    char p[4200];
    wrf_size_t s = wrf_size(c);
    if (wl_mkdirs(c->root))
        return -1;
    snprintf(p, sizeof(p), "%s/namelist.input", c->root);
    if (wl_write_file(p, wl_seed("wrf-nl", 0, 0), 4 * KIB, 0, NULL))
        return -1;
    snprintf(p, sizeof(p), "%s/wrfinput_d01", c->root);
    return wl_write_file(p, wl_seed("wrf-in", 0, 0), s.input, 0, NULL);
}

static int wrf_read_inputs(wl_ctx_t *c, const wrf_size_t *s)
{
    char p[4200];
    int rc;
    snprintf(p, sizeof(p), "%s/namelist.input", c->root);
    rc = wl_check(c, p, wl_seed("wrf-nl", 0, 0), 4 * KIB);
    snprintf(p, sizeof(p), "%s/wrfinput_d01", c->root);
    if (c->rank == 0)
        rc |= wl_check(c, p, wl_seed("wrf-in", 0, 0), s->input);
    return rc;
}

static int wrf_run(wl_ctx_t *c)
{
    char p[4200];
    wrf_size_t s = wrf_size(c);
    uint64_t off = 0, seed = wl_seed("wrf-log", (uint64_t)c->rank, 0);
    int rc, fd;
    wl_phase_begin(c);
    rc = wrf_read_inputs(c, &s);
    snprintf(p, sizeof(p), "%s/rsl.out.%04d", c->root, c->rank);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        rc = wl_fail("create %s: %s", p, strerror(errno));
    wl_phase_end(c);
    for (int t = 0; t < s.steps; t++) {
        wl_phase_begin(c);
        rc |= fd >= 0 ? log_lines(fd, seed, &off, s.lines) : -1;
        snprintf(p, sizeof(p), "%s/wrfout_d01_%02d", c->root, t);
        if (c->rank == 0)
            rc |= wl_write_file(p, wl_seed("wrf-hist", (uint64_t)t, 0), s.hist, 256 * KIB, NULL);
        wl_phase_end(c);
    }
    wl_phase_begin(c);
    snprintf(p, sizeof(p), "%s/wrfrst_d01", c->root);
    if (c->rank == 0)
        rc |= wl_write_file(p, wl_seed("wrf-rst", 0, 0), s.rst, MIB, NULL);
    if (fd >= 0 && close(fd))
        rc = -1;
    wl_phase_end(c);
    wl_count(c, off + (c->rank ? 0 : s.steps * s.hist + s.rst), 0, 1 + (c->rank ? 0 : s.steps + 1));
    return rc ? -1 : 0;
}

static int wrf_verify(wl_ctx_t *c)
{
    char p[4200];
    wrf_size_t s = wrf_size(c);
    int rc = 0;
    for (int r = 0; r < c->o->ranks; r++) {
        snprintf(p, sizeof(p), "%s/rsl.out.%04d", c->root, r);
        rc |= wl_check(c, p, wl_seed("wrf-log", (uint64_t)r, 0),
                       (uint64_t)s.steps * (uint64_t)s.lines * LOG_LINE);
    }
    for (int t = 0; t < s.steps; t++) {
        snprintf(p, sizeof(p), "%s/wrfout_d01_%02d", c->root, t);
        rc |= wl_check(c, p, wl_seed("wrf-hist", (uint64_t)t, 0), s.hist);
    }
    snprintf(p, sizeof(p), "%s/wrfrst_d01", c->root);
    rc |= wl_check(c, p, wl_seed("wrf-rst", 0, 0), s.rst);
    return rc ? -1 : 0;
}

const wl_workload_t wl_wrf = {"wrf", "per-rank logs, history files and a restart by rank 0",
                              wrf_run, wrf_setup, wrf_verify};

/* ---- NAMD: rank 0 appends trajectory frames in small records, rewrites restart files ---- */

typedef struct {
    int frames, every;
    uint64_t rec, rst;
} namd_size_t;

static namd_size_t namd_size(wl_ctx_t *c)
{
    return (namd_size_t){WL_SCALE(c, 200, 2000), 20, 12 * KIB, WL_SCALE(c, 128 * KIB, MIB)};
}

static int namd_setup(wl_ctx_t *c)
{
    char p[4200];
    if (wl_mkdirs(c->root))
        return -1;
    snprintf(p, sizeof(p), "%s/sim.conf", c->root);
    return wl_write_file(p, wl_seed("namd-conf", 0, 0), 2 * KIB, 0, NULL);
}

/* One DCD-like frame: record marker, coordinates, record marker (three write calls). */
static int namd_frame(int fd, uint64_t *off, uint64_t rec)
{
    uint64_t seed = wl_seed("namd-traj", 0, 0);
    char buf[12 * KIB];
    uint64_t parts[3] = {4, rec, 4};
    for (int i = 0; i < 3; i++) {
        wl_fill(buf, parts[i], seed, *off);
        if (wl_write_all(fd, buf, parts[i]))
            return -1;
        *off += parts[i];
    }
    return 0;
}

/* NAMD keeps the previous restart as .old: rename, then write the new one. */
static int namd_restart(wl_ctx_t *c, int version, uint64_t size)
{
    char p[4200], old[4300];
    snprintf(p, sizeof(p), "%s/out.restart.coor", c->root);
    snprintf(old, sizeof(old), "%s.old", p);
    if (version > 0 && rename(p, old))
        return wl_fail("rename %s: %s", p, strerror(errno));
    return wl_write_file(p, wl_seed("namd-rst", (uint64_t)version, 0), size, 0, NULL);
}

static int namd_rank0(wl_ctx_t *c, const namd_size_t *s)
{
    char p[4200];
    uint64_t off = 0;
    int rc, fd, v = 0;
    double t = wl_now();
    snprintf(p, sizeof(p), "%s/sim.conf", c->root);
    rc = wl_check(c, p, wl_seed("namd-conf", 0, 0), 2 * KIB);
    snprintf(p, sizeof(p), "%s/out.dcd", c->root);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return wl_fail("create %s: %s", p, strerror(errno));
    wl_io_add(c, wl_now() - t);
    for (int f = 0; f < s->frames && !rc; f++) {
        t = wl_now();
        rc = namd_frame(fd, &off, s->rec);
        if (!rc && (f + 1) % s->every == 0)
            rc = namd_restart(c, v++, s->rst);
        wl_io_add(c, wl_now() - t);
    }
    t = wl_now();
    rc |= close(fd);
    wl_io_add(c, wl_now() - t);
    wl_count(c, off + (uint64_t)v * s->rst, 0, 3);
    return rc;
}

static int namd_run(wl_ctx_t *c)
{
    namd_size_t s = namd_size(c);
    int rc = c->rank == 0 ? namd_rank0(c, &s) : 0;
    wl_barrier(c);
    return rc ? -1 : 0;
}

static int namd_verify(wl_ctx_t *c)
{
    char p[4200];
    namd_size_t s = namd_size(c);
    int v = s.frames / s.every, rc;
    snprintf(p, sizeof(p), "%s/out.dcd", c->root);
    rc = wl_check(c, p, wl_seed("namd-traj", 0, 0), (uint64_t)s.frames * (s.rec + 8));
    snprintf(p, sizeof(p), "%s/out.restart.coor", c->root);
    rc |= wl_check(c, p, wl_seed("namd-rst", (uint64_t)(v - 1), 0), s.rst);
    snprintf(p, sizeof(p), "%s/out.restart.coor.old", c->root);
    rc |= wl_check(c, p, wl_seed("namd-rst", (uint64_t)(v - 2), 0), s.rst);
    return rc ? -1 : 0;
}

const wl_workload_t wl_namd = {"namd", "rank 0 appends small trajectory records, rewrites restarts",
                               namd_run, namd_setup, namd_verify};

/* ---- VPIC: every rank writes its own file per dump step (N-N) ---- */

typedef struct {
    int steps;
    uint64_t size;
} vpic_size_t;

static vpic_size_t vpic_size(wl_ctx_t *c)
{
    return (vpic_size_t){WL_SCALE(c, 2, 8), WL_SCALE(c, 256 * KIB, MIB)};
}

static int vpic_run(wl_ctx_t *c)
{
    char p[4200];
    vpic_size_t s = vpic_size(c);
    int rc = 0;
    for (int t = 0; t < s.steps; t++) {
        wl_phase_begin(c);
        snprintf(p, sizeof(p), "%s/T.%d", c->root, t);
        if (c->rank == 0)
            rc |= wl_mkdirs(p);
        wl_barrier(c);
        snprintf(p, sizeof(p), "%s/T.%d/particles.%04d", c->root, t, c->rank);
        rc |= wl_write_file(p, wl_seed("vpic", (uint64_t)t, (uint64_t)c->rank), s.size, 256 * KIB,
                            NULL);
        wl_phase_end(c);
    }
    wl_count(c, (uint64_t)s.steps * s.size, 0, (uint64_t)s.steps);
    return rc ? -1 : 0;
}

static int vpic_verify(wl_ctx_t *c)
{
    char p[4200];
    vpic_size_t s = vpic_size(c);
    int rc = 0;
    for (int t = 0; t < s.steps; t++)
        for (int r = 0; r < c->o->ranks; r++) {
            snprintf(p, sizeof(p), "%s/T.%d/particles.%04d", c->root, t, r);
            rc |= wl_check(c, p, wl_seed("vpic", (uint64_t)t, (uint64_t)r), s.size);
        }
    return rc ? -1 : 0;
}

const wl_workload_t wl_vpic = {"vpic", "N-N: one file per rank per dump", vpic_run, NULL,
                               vpic_verify};

/* ---- SPECFEM: mesher writes shared files in interleaved disjoint 64 KiB records (N-1),
 *      solver reads its records back and writes one file per rank ---- */

#define SPEC_REC (64 * KIB)

typedef struct {
    int files;
    uint64_t per_rank, seis;
} spec_size_t;

static spec_size_t spec_size(wl_ctx_t *c)
{
    return (spec_size_t){WL_SCALE(c, 2, 4), WL_SCALE(c, 512 * KIB, 8 * MIB),
                         WL_SCALE(c, 128 * KIB, 2 * MIB)};
}

/* Records k with k % ranks == rank belong to this rank; write (or verify) them. */
static int spec_records(wl_ctx_t *c, const char *path, uint64_t seed, uint64_t size, int wr)
{
    int fd = open(path, wr ? O_WRONLY : O_RDONLY), rc = 0;
    uint64_t nrec = size / SPEC_REC;
    if (fd < 0)
        return wl_fail("open %s: %s", path, strerror(errno));
    for (uint64_t k = (uint64_t)c->rank; k < nrec && !rc; k += (uint64_t)c->o->ranks)
        rc = wr ? wl_pwrite_range(fd, seed, k * SPEC_REC, SPEC_REC, SPEC_REC)
                : wl_check_range(fd, path, seed, k * SPEC_REC, SPEC_REC);
    if (close(fd) && !rc)
        rc = wl_fail("close %s: %s", path, strerror(errno));
    return rc;
}

static int spec_mesher(wl_ctx_t *c, const spec_size_t *s, int wr)
{
    char p[4200];
    uint64_t size = s->per_rank * (uint64_t)c->o->ranks;
    int rc = 0;
    for (int f = 0; f < s->files; f++) {
        snprintf(p, sizeof(p), "%s/DATABASES_MPI/proc_shared_%d.bin", c->root, f);
        rc |= spec_records(c, p, wl_seed("specfem", (uint64_t)f, 0), size, wr);
    }
    wl_count(c, wr ? (uint64_t)s->files * s->per_rank : 0,
             wr ? 0 : (uint64_t)s->files * s->per_rank, 0);
    return rc;
}

static int spec_run(wl_ctx_t *c)
{
    char p[4200];
    spec_size_t s = spec_size(c);
    int rc = 0;
    wl_phase_begin(c);
    for (int f = 0; c->rank == 0 && f < s.files; f++) {
        snprintf(p, sizeof(p), "%s/DATABASES_MPI", c->root);
        rc |= wl_mkdirs(p);
        snprintf(p, sizeof(p), "%s/DATABASES_MPI/proc_shared_%d.bin", c->root, f);
        rc |= wl_create_striped(p, 4, (unsigned)MIB);
    }
    snprintf(p, sizeof(p), "%s/OUTPUT_FILES", c->root);
    if (c->rank == 0)
        rc |= wl_mkdirs(p);
    wl_barrier(c);
    rc |= spec_mesher(c, &s, 1);
    wl_phase_end(c);
    wl_phase_begin(c);
    rc |= spec_mesher(c, &s, 0);
    snprintf(p, sizeof(p), "%s/OUTPUT_FILES/seismograms.%04d", c->root, c->rank);
    rc |= wl_write_file(p, wl_seed("specfem-seis", (uint64_t)c->rank, 0), s.seis, SPEC_REC, NULL);
    wl_count(c, s.seis, 0, 1);
    wl_phase_end(c);
    return rc ? -1 : 0;
}

static int spec_verify(wl_ctx_t *c)
{
    char p[4200];
    spec_size_t s = spec_size(c);
    int rc = 0;
    for (int f = 0; f < s.files; f++) {
        snprintf(p, sizeof(p), "%s/DATABASES_MPI/proc_shared_%d.bin", c->root, f);
        rc |=
            wl_check(c, p, wl_seed("specfem", (uint64_t)f, 0), s.per_rank * (uint64_t)c->o->ranks);
    }
    for (int r = 0; r < c->o->ranks; r++) {
        snprintf(p, sizeof(p), "%s/OUTPUT_FILES/seismograms.%04d", c->root, r);
        rc |= wl_check(c, p, wl_seed("specfem-seis", (uint64_t)r, 0), s.seis);
    }
    return rc ? -1 : 0;
}

const wl_workload_t wl_specfem = {"specfem", "N-1 interleaved disjoint records, then N-N", spec_run,
                                  NULL, spec_verify};
