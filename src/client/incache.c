/* incache.c - the client side of input copies (docs/semantics.md "Inputs"): a reading open of a
 * regular file under an input is served from a read-only copy in node-local storage that the node
 * daemon makes (RUN/icache, daemon incache.c), so the PFS is asked for the file once per node or
 * job, not once per process; fstat of such a descriptor shows the PFS file's attributes. */
#define _GNU_SOURCE
#include "client.h"
#include "incache.h"
#include "log.h"
#include "mdcache.h"
#include "proto.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>

#define EBT_INPUT_TIMEOUT_MS 15000
#define EBT_INPUT_BYTES_PER_MS 50000 /* a copy may take longer: 50 MB/s floor */

/* RUN/icache's device once known (0: not yet; copies live on no other device). */
static dev_t icache_dev;

static int servable(int flags)
{
    return (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC | O_DIRECTORY | O_PATH));
}

/* Ask the daemon for a copy of logical, whose PFS attributes are st: 0 and its identity. */
static int ask_copy(const char *logical, const struct stat *st, struct ebt_proto_fetch *out)
{
    char req[sizeof(struct stat) + PATH_MAX];
    size_t n = strlen(logical) + 1;
    if (n > PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(req, st, sizeof(*st));
    memcpy(req + sizeof(*st), logical, n);
    uint64_t extra = (uint64_t)st->st_size / EBT_INPUT_BYTES_PER_MS;
    uint32_t len = 0;
    int failed = 0;
    int rc = ebt_daemon_call(EBT_OP_INPUT, req, (uint32_t)(sizeof(*st) + n), out, sizeof(*out),
                             &len, EBT_INPUT_TIMEOUT_MS + (int)extra, &failed);
    if (rc == 0 && len != sizeof(*out))
        rc = -EIO;
    return rc;
}

int ebt_incache_open(const char *logical, const char *phys, int flags)
{
    struct stat st, got;
    struct ebt_proto_fetch copy;
    char path[PATH_MAX];
    if (!ebt.cfg.input_cache_bytes || !servable(flags) || ebt_input_of(logical) < 0 ||
        ebt_mdc_stat(logical, phys, !(flags & O_NOFOLLOW), &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > ebt.cfg.input_file_max)
        return -1;
    if (ask_copy(logical, &st, &copy) < 0 ||
        ebt_icache_path(ebt.cfg.run_dir, &st, path, sizeof(path)) < 0)
        return -1;
    int fd = ebt_sys_open(path, (flags & ~O_NOATIME) | O_NOFOLLOW, 0); /* (lstat: a file) */
    if (fd < 0)
        return -1;
    if (ebt_sys_fstat(fd, &got) < 0 || got.st_ino != copy.ino ||
        got.st_ctim.tv_sec != copy.ctime_sec || got.st_ctim.tv_nsec != copy.ctime_nsec) {
        ebt_sys_close(fd); /* not the copy the daemon made (it was replaced): the PFS serves */
        return -1;
    }
    icache_dev = got.st_dev;
    return fd;
}

void ebt_incache_fstat(int fd, struct stat *st)
{
    struct stat pfs;
    if (!icache_dev || st->st_dev != icache_dev || !S_ISREG(st->st_mode) ||
        (st->st_mode & 07777) != 0400)
        return;
    if (syscall(SYS_fgetxattr, fd, EBT_ICACHE_XATTR, &pfs, sizeof(pfs)) == (long)sizeof(pfs) &&
        S_ISREG(pfs.st_mode))
        *st = pfs;
}

void ebt_incache_init(void)
{
    char dir[PATH_MAX];
    struct stat st;
    if (ebt.cfg.input_cache_bytes && ebt.cfg.ninputs &&
        ebt_rundir_file(ebt.cfg.run_dir, EBT_ICACHE_DIR, dir, sizeof(dir)) == 0 &&
        ebt_sys_stat(dir, &st) == 0)
        icache_dev = st.st_dev; /* exec'd with a copy open: its fstat must still be right */
}
