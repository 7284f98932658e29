/* layout.c - the choice of a layout provider per PFS root, and the striping policy. */
#define _GNU_SOURCE
#include "layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

/* Does root answer the lustre.lov xattr? 1 yes (a layout, or none: ENODATA), 0 no (with the
 * reason in why). */
static int answers_lov(const char *root, uint64_t *ops, char *why, size_t cap)
{
    if (ops)
        __atomic_add_fetch(ops, 1, __ATOMIC_RELAXED);
    if (getxattr(root, EBT_LOV_XATTR, NULL, 0) >= 0 || errno == ENODATA || errno == ERANGE)
        return 1;
    snprintf(why, cap, "%s does not answer getxattr %s: %s", root, EBT_LOV_XATTR, strerror(errno));
    return 0;
}

int ebt_layout_detect(const char *root, int mode, struct ebt_layout_provider *out, uint64_t *ops,
                      char *why, size_t cap)
{
    *out = (struct ebt_layout_provider){&ebt_layout_posix_ops, NULL};
    why[0] = '\0';
    if (mode == EBT_LAYOUT_POSIX)
        return 0;
    int lustre = answers_lov(root, ops, why, cap);
    if (mode == EBT_LAYOUT_AUTO) {
        if (lustre)
            out->ops = &ebt_layout_lustre_ops;
        return 0;
    }
    if (!lustre)
        return -EOPNOTSUPP;
    if (mode == EBT_LAYOUT_LUSTREAPI)
        return ebt_layout_lustreapi_load(out, why, cap);
    out->ops = &ebt_layout_lustre_ops;
    return 0;
}

void ebt_layout_policy_from_config(const struct ebt_config *cfg, struct ebt_layout_policy *pol)
{
    pol->large = cfg->stripe_large;
    pol->count_large = cfg->stripe_count_large ? cfg->stripe_count_large : 1;
    pol->stripe_size = cfg->stripe_size;
}

void ebt_layout_choose(const struct ebt_layout_policy *pol, uint64_t size, struct ebt_lov_req *rq)
{
    memset(rq, 0, sizeof(*rq));
    rq->stripe_size = pol->stripe_size;
    rq->stripe_count = size >= pol->large ? pol->count_large : 1;
    rq->stripe_offset = -1;
}
