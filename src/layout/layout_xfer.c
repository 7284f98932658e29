/* layout_xfer.c - create PFS files with the striping the policy picks, and tell the transfer
 * where their stripe chunks end (layout_xfer.h). */
#define _GNU_SOURCE
#include "layout_xfer.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { DIR_UNKNOWN, DIR_NONE, DIR_DEFAULT }; /* DIR_UNKNOWN is 0: dircache's "not known" */

static void forget_file(struct ebt_layout_xfer *lx)
{
    if (lx->have_lov)
        ebt_lov_free(&lx->lov);
    lx->have_lov = 0;
    lx->unit = 0;
}

/* Does the directory the file goes into have a default layout? Asked once per directory. An
 * answer other than "none" (an error too) leaves the layout to the PFS: never override what
 * might be the directory's choice. */
static int dir_has_default(struct ebt_layout_xfer *lx, int dirfd, uint64_t *ops)
{
    if (lx->dir_state == DIR_UNKNOWN && lx->shared)
        lx->dir_state = ebt_dircache_get(lx->shared, lx->dir);
    if (lx->dir_state != DIR_UNKNOWN)
        return lx->dir_state == DIR_DEFAULT;
    struct ebt_lov d;
    int rc = lx->prov->ops->get_dir(lx->prov, dirfd, ".", &d, ops);
    if (rc == 0)
        ebt_lov_free(&d);
    else if (rc != -ENODATA)
        ebt_warn("layout: default layout of %s: %s (left to the PFS)", lx->dir, strerror(-rc));
    lx->dir_state = rc == -ENODATA ? DIR_NONE : DIR_DEFAULT;
    if (lx->shared)
        ebt_dircache_put(lx->shared, lx->dir, lx->dir_state);
    return lx->dir_state == DIR_DEFAULT;
}

static void learn(struct ebt_layout_xfer *lx, int fd, uint64_t *ops)
{
    forget_file(lx);
    if (lx->prov->ops->get_fd(lx->prov, fd, &lx->lov, ops) == 0)
        lx->have_lov = 1;
}

static int lx_create(struct ebt_xfer_layout *l, int dirfd, const char *name, int flags, mode_t mode,
                     uint64_t size, uint64_t *ops)
{
    struct ebt_layout_xfer *lx = (struct ebt_layout_xfer *)l;
    struct ebt_lov_req rq;
    int set = 0;
    forget_file(lx);
    if (lx->prov->ops == &ebt_layout_posix_ops)
        return lx->prov->ops->create(lx->prov, dirfd, name, flags, mode, NULL, &set, ops);
    int inherit = dir_has_default(lx, dirfd, ops);
    ebt_layout_choose(&lx->pol, size, &rq);
    int fd =
        lx->prov->ops->create(lx->prov, dirfd, name, flags, mode, inherit ? NULL : &rq, &set, ops);
    if (fd < 0)
        return fd;
    if (set) {
        lx->st.set++;
        lx->unit = rq.stripe_size;
    } else {
        lx->st.inherited += inherit;
        lx->st.failed += !inherit;
        learn(lx, fd, ops); /* the layout the PFS gave it */
    }
    return fd;
}

static void lx_existing(struct ebt_xfer_layout *l, int fd, uint64_t *ops)
{
    struct ebt_layout_xfer *lx = (struct ebt_layout_xfer *)l;
    forget_file(lx);
    if (lx->prov->ops != &ebt_layout_posix_ops)
        learn(lx, fd, ops);
}

static uint64_t lx_chunk_end(const struct ebt_xfer_layout *l, uint64_t off)
{
    const struct ebt_layout_xfer *lx = (const struct ebt_layout_xfer *)l;
    if (lx->have_lov)
        return ebt_lov_chunk_end(&lx->lov, off);
    if (!lx->unit)
        return 0;
    uint64_t n = off / lx->unit + 1;
    return n > UINT64_MAX / lx->unit ? UINT64_MAX : n * lx->unit;
}

void ebt_layout_xfer_init(struct ebt_layout_xfer *lx, const struct ebt_layout_provider *prov,
                          const struct ebt_layout_policy *pol, struct ebt_dircache *shared)
{
    memset(lx, 0, sizeof(*lx));
    lx->hooks.create = lx_create;
    lx->hooks.existing = lx_existing;
    lx->hooks.chunk_end = lx_chunk_end;
    lx->prov = prov;
    lx->pol = *pol;
    lx->shared = shared;
}

void ebt_layout_xfer_file(struct ebt_layout_xfer *lx, const char *parent)
{
    forget_file(lx);
    if (strcmp(parent, lx->dir) != 0 || lx->dir_state == DIR_UNKNOWN) {
        snprintf(lx->dir, sizeof(lx->dir), "%s", parent);
        lx->dir_state = DIR_UNKNOWN;
    }
}

void ebt_layout_xfer_fini(struct ebt_layout_xfer *lx)
{
    forget_file(lx);
}
