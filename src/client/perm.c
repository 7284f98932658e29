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

/* May the caller access the PFS file or directory f (found on the PFS) with amode? */
int ebt_perm_pfs(const struct ebt_found *f, int amode)
{
    if (f->where != EBT_W_PFS)
        return 0; /* the job's own: the cache decides */
    long rc = syscall(SYS_faccessat2, AT_FDCWD, f->phys, amode, AT_EACCESS);
    if (rc < 0 && (errno == ENOSYS || errno == EPERM) && getuid() == geteuid() &&
        getgid() == getegid()) /* a kernel before 5.8, or a seccomp filter: the same answer */
        rc = syscall(SYS_faccessat, AT_FDCWD, f->phys, amode);
    return rc == 0 || errno == ENOENT ? 0 : -errno;
}

int ebt_perm_parent(const char *logical)
{
    char buf[PATH_MAX];
    const char *dir, *name;
    if (ebt_path_split(logical, buf, sizeof(buf), &dir, &name) < 0 ||
        !ebt_is_managed_path((char *)dir))
        return 0; /* the prefix's own parent: the PFS answers for the prefix itself */
    return ebt_view_parent_dir(logical);
}
