/* flush_deal.h - OST-aware dealing of a multi-node flush (docs/multinode.md "OSTs dealt to
 * nodes"): where each new file's stripes go, which node writes each OST, the stripe chunks one
 * node writes, and the per-node table the coordinator sends. Pure: no PFS or mesh calls. */
#ifndef EBTD_FLUSH_DEAL_H
#define EBTD_FLUSH_DEAL_H

#include "extlog.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FDEAL_MAX_STRIPES 2000

/* One new file of the job with a plain RAID0 layout: chunk k of `unit` bytes lives on
 * osts[k % count]. holders: bit i = node i has data of it (nodes >= 64: all bits). */
struct fdeal_file {
    char *path;
    uint64_t size;
    mode_t mode;
    int64_t mtime_sec, mtime_nsec;
    uint64_t holders;
    uint32_t unit;
    int count;
    uint16_t *osts; /* count entries (malloc'd) */
    int one_writer; /* one node writes every chunk (and sets the times) */
};
void fdeal_file_free(struct fdeal_file *f);

/* The first OST of a file of `count` stripes (count <= osts): the start whose stripes carry
 * the least load so far (OSTs start, start+1, ... mod osts, as Lustre and the simulator place
 * a requested stripe offset); ties: the lowest start. */
int fdeal_pick_start(const uint64_t *ost_load, int osts, int count);
/* The same for a one-stripe file held by node `pref` alone: the least loaded OST among those the
 * pre-deal (OST o to node o % nodes) gives that node, if its load is within `slack` bytes of the
 * least loaded OST's; else fdeal_pick_start. Pulls over the mesh are saved, the balance kept. */
int fdeal_pick_near(const uint64_t *ost_load, int osts, int count, int pref, int nodes,
                    uint64_t slack);
/* The bytes of each chunk of f added to ost_load[ost] and, when one node holds f alone, to
 * local[ost * nodes + node] (the bytes that node writes without pulling them). */
void fdeal_add_load(const struct fdeal_file *f, uint64_t *ost_load, uint64_t *local, int osts,
                    int nodes);
/* Deal OSTs to nodes: OSTs in decreasing load, each to the node with the least bytes so far;
 * ties: the node holding most of that OST's bytes, then the lowest id. node_of_ost[osts]. */
void fdeal_assign(const uint64_t *ost_load, const uint64_t *local, int osts, int nodes,
                  int *node_of_ost);
/* The stripe chunks of f below its size on OSTs dealt to node (adjacent chunks merged). */
int fdeal_ranges(const struct fdeal_file *f, const int *node_of_ost, int osts, int node,
                 struct ebt_ivs *out);

/* Does one node write every chunk of f (it then sets f's times itself)? */
int fdeal_one_writer(const struct fdeal_file *f, const int *node_of_ost, int osts);
/* The table of one node: per file "X size unit holders sec nsec nranges path\n" then nranges
 * lines "off end\n" (sec nsec: the mtime). Appended to *buf (realloc'd); 0 or -ENOMEM. */
int fdeal_encode(char **buf, size_t *len, size_t *cap, const struct fdeal_file *f,
                 const struct ebt_ivs *r);
/* One node's received work item. */
struct fdeal_item {
    char *path;
    uint64_t size, holders;
    uint32_t unit;
    int64_t mtime_sec, mtime_nsec;
    struct ebt_ivs ranges;
};
/* Parse a table; every line is checked (paths absolute, ranges sorted, inside size). 0 and
 * *items / *n (fdeal_items_free), or -EPROTO. */
int fdeal_decode(const char *buf, size_t len, struct fdeal_item **items, size_t *n);
void fdeal_items_free(struct fdeal_item *items, size_t n);

#endif
