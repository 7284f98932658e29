/* flush_dealw.h - a node's part of the OST-dealt flush (flush_dealw.c): the table the
 * coordinator sent, the pump that pulls bytes the node does not hold (daemon thread only), and
 * the writer threads that put the node's stripe chunks on the PFS. */
#ifndef EBTD_FLUSH_DEALW_H
#define EBTD_FLUSH_DEALW_H

#include "flush.h"

#include <stddef.h>

struct ebtd;

/* Take the node's table (fdeal_encode lines); replaces an earlier one. 0 or -EPROTO/-ENOMEM. */
int ebtd_fdw_set(const void *buf, size_t len);
/* Is path in the table (a dealt file: the node's own flush leaves it alone)? */
int ebtd_fdw_has(const char *path);
size_t ebtd_fdw_count(void);
/* Start `threads` writers for the table's items; failures go to job's error. 0 or -errno. */
int ebtd_fdw_start(struct ebtd *d, struct flush *job, int threads);
/* Daemon thread: pull for about budget_s seconds (STATUS polls call it). 0 or -errno. */
int ebtd_fdw_pump(struct ebtd *d, double budget_s);
/* Every item has been handed to the writers (or the part failed). */
int ebtd_fdw_pumped(void);
/* Join the writers (after the pump is done), syncfs every prefix, add their counts to st.
 * 0 or -EIO if any item failed. */
int ebtd_fdw_wait(struct ebtd *d, struct ebt_flush_stats *st);
void ebtd_fdw_clear(void);

#endif
