/* wl.h - shared API of ebt-workload: fork-based ranks, barriers, I/O phase timing, data, checks. */
#ifndef EBT_WL_H
#define EBT_WL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum wl_mode { WL_RUN, WL_SETUP, WL_VERIFY };

/* Options of one invocation; `dir` may contain "%n", replaced by the rank's virtual node. */
typedef struct {
    const char *name; /* workload name */
    const char *dir;  /* root of the workload's files (template) */
    int ranks;        /* processes */
    int nodes;        /* virtual nodes the ranks are spread over (blocks of ranks) */
    int full;         /* 0 quick scale, 1 full scale */
    enum wl_mode mode;
    /* ranks of one job split over several invocations (one per EBT node, each in that node's
     * environment): shm names a file holding the shared state (barrier, counters) made once by
     * --shm-init; node_only >= 0 runs only the ranks of that node */
    const char *shm;
    int shm_init, node_only;
    long files; /* bulk-small: number of files (0: the scale's default) */
} wl_opts_t;

struct wl_shared;

/* What a rank sees: its number, the options, and the state shared with the other ranks. */
typedef struct {
    const wl_opts_t *o;
    int rank;
    char root[4096]; /* dir with %n expanded for this rank */
    struct wl_shared *sh;
} wl_ctx_t;

typedef int (*wl_rank_fn)(wl_ctx_t *c);

/* One workload: run by every rank; setup and verify by one process (may be NULL). */
typedef struct {
    const char *name;
    const char *help;
    wl_rank_fn run;
    int (*setup)(wl_ctx_t *c);
    int (*verify)(wl_ctx_t *c);
} wl_workload_t;

/* wl_common.c: ranks, barriers, phases, results */
int wl_launch(const wl_opts_t *o, const wl_workload_t *w);
/* --shm-init: make o->shm the shared state of o->ranks ranks. 0 or -1. */
int wl_shm_init(const wl_opts_t *o);
void wl_barrier(wl_ctx_t *c);
void wl_phase_begin(wl_ctx_t *c);
void wl_phase_end(wl_ctx_t *c);
void wl_io_add(wl_ctx_t *c, double seconds);
void wl_count(wl_ctx_t *c, uint64_t wbytes, uint64_t rbytes, uint64_t files);
void wl_digest_add(wl_ctx_t *c, uint64_t sum);
int wl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double wl_now(void);
void wl_root_for(const wl_opts_t *o, int node, char *out, size_t n);

/* wl_data.c: deterministic content, files, checks */
uint64_t wl_seed(const char *tag, uint64_t a, uint64_t b);
void wl_fill(void *buf, size_t len, uint64_t seed, uint64_t off);
uint64_t wl_sum(uint64_t h, const void *buf, size_t len);
uint64_t wl_expected_sum(uint64_t seed, uint64_t size);
int wl_mkdirs(const char *path);
int wl_write_file(const char *path, uint64_t seed, uint64_t size, size_t bs, uint64_t *sum_p);
int wl_pwrite_range(int fd, uint64_t seed, uint64_t off, uint64_t len, size_t bs);
int wl_check_file(const char *path, uint64_t seed, uint64_t size, uint64_t *sum_p);
int wl_check_range(int fd, const char *path, uint64_t seed, uint64_t off, uint64_t len);
int wl_write_all(int fd, const void *buf, size_t len);
int wl_read_all(int fd, void *buf, size_t len, off_t off);
int wl_create_striped(const char *path, unsigned count, unsigned size);
int wl_check(wl_ctx_t *c, const char *path, uint64_t seed, uint64_t size);

/* workloads (wl_hpc.c, wl_files.c, wl_bulk.c) */
extern const wl_workload_t wl_wrf, wl_namd, wl_vpic, wl_specfem;
extern const wl_workload_t wl_resnet, wl_pyimport, wl_montage, wl_mdtest;
extern const wl_workload_t wl_bulk_small, wl_bulk_large;

/* scale helper: quick value or full value */
#define WL_SCALE(c, q, f) ((c)->o->full ? (f) : (q))

#endif
