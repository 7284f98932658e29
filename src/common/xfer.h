/* xfer.h - copy one cached layer file to its PFS location (whole, or only its changed ranges). */
#ifndef EBT_XFER_H
#define EBT_XFER_H

#include <stdint.h>
#include <sys/types.h>

#define EBT_XFER_CHUNK                                                                             \
    (8u << 20) /* bytes per PFS write request at most; the buffer is                               \
                * page-aligned (a direct-I/O PFS splits requests by pages) */

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

/* Where the PFS file's bytes live (src/layout implements it; xfer.c only calls it). With it a
 * new file is created with the layout chosen for its final size, and every write request ends
 * at a stripe boundary (or the end of the range), so each covers whole stripe chunks. */
struct ebt_xfer_layout {
    /* Create name in dirfd (AT_FDCWD: a path) with flags (O_CREAT|O_EXCL among them) and mode,
     * laid out for a file of size bytes: the fd, or -errno (-EEXIST: the file is then opened
     * O_TRUNC and `existing` asked). PFS calls it makes count in *meta_ops. */
    int (*create)(struct ebt_xfer_layout *l, int dirfd, const char *name, int flags, mode_t mode,
                  uint64_t size, uint64_t *meta_ops);
    /* An existing PFS file is about to be written through fd: learn its layout (failure only
     * means requests are not cut at its stripes). */
    void (*existing)(struct ebt_xfer_layout *l, int fd, uint64_t *meta_ops);
    /* The end of the stripe chunk holding byte off of the current file (> off), 0: unknown. */
    uint64_t (*chunk_end)(const struct ebt_xfer_layout *l, uint64_t off);
};

/* How a bulk flush calls it, to spend fewer PFS metadata operations per file. */
struct ebt_xfer_opts {
    int no_fsync;     /* the caller syncs the file system for a batch of files (syncfs) */
    int umask_known;  /* umask_now is this process's umask: a fresh create with a mode the umask */
    mode_t umask_now; /* leaves whole needs no fchmod */
    int dst_at;       /* dst is a name in the directory dst_dirfd, opened without following */
    int dst_dirfd;    /* a symlink (the flush stays inside the managed tree: lower.h) */
    struct ebt_xfer_layout *layout; /* NULL: plain create, requests of EBT_XFER_CHUNK */
};
int ebt_xfer_file_opts(const char *run_dir, const char *src, const char *dst,
                       struct ebt_xfer_stats *st, const char **step_p,
                       const struct ebt_xfer_opts *opts);

#endif
