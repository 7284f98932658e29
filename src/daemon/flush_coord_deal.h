/* flush_coord_deal.h - the coordinator's OST dealing of a multi-node flush (flush_coord_deal.c):
 * new files created with their layouts, OSTs dealt to nodes, every node told its stripes. */
#ifndef EBTD_FLUSH_COORD_DEAL_H
#define EBTD_FLUSH_COORD_DEAL_H

#include "flush.h"
#include "flush_deal.h"
#include "flush_mn.h"

#include <stddef.h>

struct ebtd;

/* The dealt files (created on the PFS, empty, with their layouts). */
struct fcd_result {
    struct fdeal_file *v;
    size_t n;
};

/* After the directories exist and before DATA: where the PFS has layouts (src/layout) and
 * EBT_OST_DEAL is not "0", gather every node's files, create the new ones with their layouts,
 * deal OSTs to nodes and send each node its table (P_FLUSH_DEAL). Files that exist on the PFS
 * already, hard links, layouts other than plain RAID0 keep the nodes' own path. 0 or -errno
 * (err says why); out is filled either way (ebtd_flush_deal_free). */
int ebtd_flush_deal(struct ebtd *d, struct ebt_flush_stats *st, struct fcd_result *out, char *err,
                    size_t errcap);
/* After DATA: the mode (where the umask took bits) and times of the dealt files one node held
 * (shared files get the owner's, as before). 0 or -errno. */
int ebtd_flush_deal_attrs(struct ebtd *d, const struct fcd_result *r, struct ebt_flush_stats *st,
                          char *err, size_t errcap);
void ebtd_flush_deal_free(struct fcd_result *r);

#endif
