/* pfsdir.h - what the daemon's input services share (pfsdir.c): the check of an input path in a
 * message, and cached fds of the PFS directories inputs are read in. */
#ifndef EBTD_PFSDIR_H
#define EBTD_PFSDIR_H

#include <stddef.h>
#include <sys/types.h>

struct ebtd;

/* A PFS directory: an O_PATH fd and its device. */
struct ebtd_pfs_dir {
    char *path;
    int fd;
    dev_t dev;
};

/* A normalised path under one of the job's inputs (out), from a payload of len bytes (the path
 * and its NUL): 0, -EINVAL, -ENAMETOOLONG or -EXDEV (not under an input). */
int ebtd_input_path(const struct ebtd *d, const char *p, size_t len, char *out, size_t cap);
/* The cached directory of phys (a PFS path; its last '/' splits it), opened if needed: the
 * entry (valid until the next call), or NULL with errno set. Inputs do not change during a job:
 * an entry is replaced by another directory, never revalidated. */
struct ebtd_pfs_dir *ebtd_pfs_dir_of(const char *phys);
/* Forget the cached directory of phys (the job changed the input: it may be another one now). */
void ebtd_pfs_dir_drop(const char *phys);

#endif
