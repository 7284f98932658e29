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
#include <sys/stat.h>
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

/* The PFS file the job's name still is (nothing above it removed it, so the flush applies the
 * job's changes to that very file): 1 with its attributes in st, else 0. */
static int pfs_file_of(const char *logical, int follow, struct stat *st, char *pfs)
{
    if (ebt_view_layer_hides(ebt_layer_for_write(logical), logical) != 0 ||
        ebt_lower_path(logical, pfs, PATH_MAX) < 0)
        return 0;
    return (follow ? ebt_sys_stat(pfs, st) : ebt_sys_lstat(pfs, st)) == 0;
}

static int in_groups(gid_t g)
{
    gid_t list[256];
    int n = getgroups(256, list);
    if (g == getegid())
        return 1;
    for (int i = 0; i < n; i++)
        if (list[i] == g)
            return 1;
    return 0;
}

int ebt_perm_attr(const char *logical, int follow, int kind, uid_t u, gid_t g)
{
    struct stat st;
    char pfs[PATH_MAX];
    uid_t me = geteuid();
    if (me == 0 || !pfs_file_of(logical, follow, &st, pfs))
        return 0; /* root (its capabilities), or a file of the job's own */
    int owner = st.st_uid == me;
    switch (kind) {
    case EBT_ATTR_MODE:
    case EBT_ATTR_TIMES_SET:
        return owner ? 0 : -EPERM;
    case EBT_ATTR_TIMES_NOW:
        return owner || syscall(SYS_faccessat2, AT_FDCWD, pfs, W_OK, AT_EACCESS) == 0 ? 0 : -EACCES;
    case EBT_ATTR_OWNER:
        if (!owner || (u != (uid_t)-1 && u != st.st_uid))
            return -EPERM;
        return g == (gid_t)-1 || g == st.st_gid || in_groups(g) ? 0 : -EPERM;
    }
    return 0;
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
