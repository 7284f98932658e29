/* xfer.h - copy one cached layer file to its PFS location (whole, or only its changed ranges). */
#ifndef EBT_XFER_H
#define EBT_XFER_H

#include <stdint.h>
#include <sys/types.h>

#define EBT_XFER_CHUNK (8u << 20) /* bytes per PFS write request */

/* What one transfer did on the PFS; the caller sums them. */
struct ebt_xfer_stats {
    uint64_t meta_ops; /* open/create, fstat, ftruncate, fsync, fchmod, futimens */
    uint64_t data_ops; /* pwrite calls */
    uint64_t bytes;    /* bytes written */
    int whole;         /* 1 if the whole file was written */
};

/* Copy the layer file src to dst. run_dir locates src's extent log (RUN/meta/<ino>); NULL or a
 * missing/whole log writes the whole file (O_TRUNC), else only the changed ranges clipped to the
 * final size, then sets the size. A partial copy needs dst to still be the file the cache copy
 * started from (its size equals the log's BASE); otherwise the whole file is written. Then fsync,
 * fchmod to src's mode, futimens to src's atime/mtime (last). Returns 0 or -errno; on failure
 * *step_p (if not NULL) names the operation that failed ("open", "pwrite", "fsync", ...). */
int ebt_xfer_file(const char *run_dir, const char *src, const char *dst, struct ebt_xfer_stats *st,
                  const char **step_p);

/* How a bulk flush calls it, to spend fewer PFS metadata operations per file. */
struct ebt_xfer_opts {
    int no_fsync;     /* the caller syncs the file system for a batch of files (syncfs) */
    int umask_known;  /* umask_now is this process's umask: a fresh create with a mode the umask */
    mode_t umask_now; /* leaves whole needs no fchmod */
    int dst_at;       /* dst is a name in the directory dst_dirfd, opened without following */
    int dst_dirfd;    /* a symlink (the flush stays inside the managed tree: lower.h) */
};
int ebt_xfer_file_opts(const char *run_dir, const char *src, const char *dst,
                       struct ebt_xfer_stats *st, const char **step_p,
                       const struct ebt_xfer_opts *opts);

#endif
