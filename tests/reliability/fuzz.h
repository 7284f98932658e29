/* fuzz.h - the protocol fuzzer's shared state and its cases (fuzz_frames.c: malformed and
 * boundary frames; fuzz_load.c: pipelining, abandoned connections, slow readers, fd limit). */
#ifndef EBT_FUZZ_H
#define EBT_FUZZ_H

#include "fuzz_lib.h"

#include <limits.h>
#include <stdint.h>

struct fz {
    const char *run;    /* the daemon's run directory */
    const char *prefix; /* the managed prefix (realpath); PREFIX/fz/f0..f9 exist, PREFIX/big
                           holds a large listing */
    int pid;            /* the daemon */
    int fd_limit;       /* its RLIMIT_NOFILE */
    int ctl;            /* control connection, open for the whole run */
    unsigned long long msgs, conns;
    uint32_t next_id;
};

/* A valid-header request with a known outcome into out (at most cap bytes): its length; the
 * status the daemon must answer in *expect (FZ_ANY: not fixed). hello: may pick HELLO. */
size_t fz_gen_request(struct fz *f, char *out, size_t cap, uint32_t reqid, int32_t *expect,
                      int hello);

/* fuzz_frames.c */
void fz_case_valid(struct fz *f, int n);
void fz_case_random_headers(struct fz *f, int n);
void fz_case_truncated(struct fz *f, int n);
void fz_case_oversized(struct fz *f, int n);
void fz_case_exact_sizes(struct fz *f);
/* fuzz_load.c */
void fz_case_pipelined(struct fz *f, int bursts, int per_burst);
void fz_case_abandoned(struct fz *f, int n);
void fz_case_slow_reader(struct fz *f);
void fz_case_fd_burst(struct fz *f);

#endif
