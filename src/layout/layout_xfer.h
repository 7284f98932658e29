/* layout_xfer.h - the transfer's layout hooks (xfer.h struct ebt_xfer_layout) on a provider:
 * a new PFS file gets the striping the policy picks for its final size, unless its directory
 * has a default layout of its own; requests are cut at the file's stripe boundaries. One per
 * thread (it holds the current file's layout and the last directory's answer). */
#ifndef EBT_LAYOUT_XFER_H
#define EBT_LAYOUT_XFER_H

#include "dircache.h"
#include "layout.h"
#include "xfer.h"

#include <limits.h>

/* What the hooks did, summed by the caller. */
struct ebt_layout_xfer_stats {
    uint64_t set;       /* files created with the policy's layout */
    uint64_t inherited; /* files left to their directory's default layout */
    uint64_t failed;    /* layouts the PFS refused (the file kept the default) */
};

struct ebt_layout_xfer {
    struct ebt_xfer_layout hooks; /* first member: xfer.c calls through it */
    const struct ebt_layout_provider *prov;
    struct ebt_layout_policy pol;
    struct ebt_layout_xfer_stats st;
    /* the current file */
    struct ebt_lov lov; /* its layout when read from the PFS (have_lov) */
    int have_lov;
    uint32_t unit; /* else the stripe size EBT set on it; 0: unknown */
    /* the last directory asked for its default layout; files come in path order */
    char dir[PATH_MAX];
    int dir_state;               /* DIR_UNKNOWN, DIR_NONE, DIR_DEFAULT */
    struct ebt_dircache *shared; /* the answers of every thread, or NULL */
};

/* shared (may be NULL) is the table the threads of one flush share, so that a directory's
 * default is asked once, not once per thread. */
void ebt_layout_xfer_init(struct ebt_layout_xfer *lx, const struct ebt_layout_provider *prov,
                          const struct ebt_layout_policy *pol, struct ebt_dircache *shared);
/* Before each file: parent names the PFS directory the file is created in (any stable key,
 * e.g. its logical path), so the directory's default is asked once for its files. */
void ebt_layout_xfer_file(struct ebt_layout_xfer *lx, const char *parent);
void ebt_layout_xfer_fini(struct ebt_layout_xfer *lx);

#endif
