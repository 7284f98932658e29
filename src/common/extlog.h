/* extlog.h - exact extent records of a cached file, and an interval set to merge them. */
#ifndef EBT_EXTLOG_H
#define EBT_EXTLOG_H

#include <stddef.h>
#include <stdint.h>

/* A cached file with no extent log is entirely the job's own data (created or truncated by the
 * job): the flush writes it whole. A log exists when the cached file started as a copy of a lower
 * file (the PFS, or the upper layer for a task layer); then only the recorded ranges changed. */
enum ebt_ext_kind {
    EBT_EXT_BASE = 1,  /* len = size of the lower copy the cached file started from */
    EBT_EXT_WRITE = 2, /* [off, off+len) written */
    EBT_EXT_TRUNC = 3, /* truncated to off: everything from off on counts as changed */
    EBT_EXT_OPEN = 4,  /* a writer opened it; without a matching CLOSE, assume all changed */
    EBT_EXT_CLOSE = 5, /* that writer recorded all its extents and closed */
    EBT_EXT_FULL = 6,  /* the whole file is the job's own data from now on */
};

struct ebt_ext_rec {
    uint32_t kind;
    uint32_t pid;
    uint64_t off;
    uint64_t len;
};

struct ebt_ivs { /* sorted, disjoint, non-adjacent half-open intervals */
    uint64_t (*iv)[2];
    size_t n, cap;
};

void ebt_ivs_init(struct ebt_ivs *s);
void ebt_ivs_free(struct ebt_ivs *s);
int ebt_ivs_add(struct ebt_ivs *s, uint64_t off, uint64_t len); /* 0 or -ENOMEM */
void ebt_ivs_clip(struct ebt_ivs *s, uint64_t size);            /* drop everything >= size */

/* Append records to the log at path (created 0600 if missing), one write(2) per call. */
int ebt_extlog_append(const char *path, const struct ebt_ext_rec *recs, size_t n);

struct ebt_ext_summary {
    int exists;    /* a log was found */
    int whole;     /* write the whole file: FULL, or an OPEN without CLOSE */
    uint64_t base; /* size of the lower copy */
    struct ebt_ivs changed;
};
/* Read and summarise a log; a missing log gives exists=0, whole=1. 0 or -errno. */
int ebt_extlog_load(const char *path, struct ebt_ext_summary *out);
void ebt_extlog_summary_free(struct ebt_ext_summary *s);

#endif
