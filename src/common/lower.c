/* lower.c - the PFS below a FUSE-covered managed prefix: RUN/lower/<i> links (lower.h). */
#define _GNU_SOURCE
#include "lower.h"
#include "path.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct ebt_config *lower_cfg;
static char lower_of[EBT_MAX_PREFIXES][64]; /* "/proc/<pid>/fd/<n>", "" = not mounted */
static int lower_any;

void ebt_lower_reset(void)
{
    memset(lower_of, 0, sizeof(lower_of));
    lower_any = 0;
}

void ebt_lower_set(const struct ebt_config *cfg, int i, const char *lower)
{
    lower_cfg = cfg;
    if (i < 0 || i >= EBT_MAX_PREFIXES)
        return;
    snprintf(lower_of[i], sizeof(lower_of[i]), "%s", lower);
    if (lower[0])
        lower_any = 1;
}

int ebt_lower_load(const struct ebt_config *cfg, const char *run)
{
    ebt_lower_reset();
    lower_cfg = cfg;
    for (int i = 0; i < cfg->nprefixes; i++) {
        char link[PATH_MAX], target[64];
        if (snprintf(link, sizeof(link), "%s/" EBT_LOWER_DIR "/%d", run, i) >= (int)sizeof(link))
            continue;
        ssize_t n = ebt_sys_readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        ebt_lower_set(cfg, i, target);
    }
    return lower_any;
}

int ebt_lower_covers(const char *logical)
{
    for (int i = 0; lower_any && lower_cfg && i < lower_cfg->nprefixes; i++)
        if (lower_of[i][0] && ebt_path_under(logical, lower_cfg->prefixes[i].path))
            return 1;
    return 0;
}

int ebt_lower_path(const char *logical, char *out, size_t cap)
{
    int n = -1;
    if (lower_any && lower_cfg) {
        for (int i = 0; i < lower_cfg->nprefixes; i++) {
            size_t len = ebt_path_under(logical, lower_cfg->prefixes[i].path);
            if (len && lower_of[i][0]) {
                /* the prefix itself: "/." so that lstat sees the directory, not the link */
                n = snprintf(out, cap, "%s%s", lower_of[i], logical[len] ? logical + len : "/.");
                break;
            }
        }
    }
    if (n < 0)
        n = snprintf(out, cap, "%s", logical);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
