/* perm.c - permission checks at the call for names that live on the PFS. The cache's copies and
 * directories belong to the job's user, so the kernel cannot refuse what the PFS would: a write
 * to a root-owned PFS file, a create or an unlink in a PFS directory the user may not write. The
 * PFS itself answers (faccessat with the effective ids, beneath the FUSE view), as natively,
 * root included; the flush then never fails on what the job was allowed to do. */
#define _GNU_SOURCE
#include "client.h"
#include "lower.h"
#include "path.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

/* May the caller access the PFS copy of logical with amode? A name the PFS lacks (made in the
 * job) is the job's: 0. */
static int pfs_access(const char *logical, int amode)
{
    char lower[PATH_MAX];
    if (ebt_lower_path(logical, lower, sizeof(lower)) < 0)
        return -ENAMETOOLONG;
    long rc = syscall(SYS_faccessat2, AT_FDCWD, lower, amode, AT_EACCESS);
    if (rc < 0 && (errno == ENOSYS || errno == EPERM) && getuid() == geteuid() &&
        getgid() == getegid()) /* a kernel before 5.8, or a seccomp filter: the same answer */
        rc = syscall(SYS_faccessat, AT_FDCWD, lower, amode);
    if (rc == 0)
        return 0;
    return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

int ebt_perm_pfs_file(const char *logical, const struct ebt_found *f, int amode)
{
    return f->where == EBT_W_PFS ? pfs_access(logical, amode) : 0;
}

int ebt_perm_parent(const char *logical)
{
    char buf[PATH_MAX];
    const char *dir, *name;
    if (ebt_path_split(logical, buf, sizeof(buf), &dir, &name) < 0 ||
        !ebt_is_managed_path((char *)dir))
        return 0; /* the prefix's own parent: the PFS answers for the prefix itself */
    struct ebt_found f;
    if (ebt_view_lookup(dir, 1, &f) < 0 || f.where != EBT_W_PFS)
        return 0; /* a directory of the job */
    return pfs_access(dir, W_OK | X_OK);
}
