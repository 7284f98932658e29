/* xattrcopy.h - copying a file's user extended attributes to another open file (xattrcopy.c):
 * the flush (src/common/xfer.c) and ebt stage-in/out (src/tools/stage_meta.c). */
#ifndef EBT_XATTRCOPY_H
#define EBT_XATTRCOPY_H

#include "rundir.h" /* EBT_XATTR_RESERVED */

/* 1 if src_fd has a user.* attribute that is not EBT's, 0 if not (or none are kept), -errno. */
int ebt_xattr_any(int src_fd);
/* Copy src_fd's user.* attributes but EBT's to dst_fd: the number set, or -errno. A file
 * system that keeps none (ENOTSUP) on either side copies nothing. A destination the caller
 * may not write (EACCES: a read-only mode) gets u+w first and *mode_changed = 1: the caller
 * sets its final mode after. */
int ebt_xattr_copy(int src_fd, int dst_fd, int *mode_changed);

#endif
