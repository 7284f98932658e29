/* prov_lustreapi.c - the lustreapi provider: files created through liblustreapi's
 * llapi_file_open, loaded with dlopen where the library is installed (never linked, so EBT
 * builds and runs without Lustre). UNTESTED: no Lustre client or library on the build machine;
 * layouts are read through the lustre.lov xattr like the lustre provider. The file is named by
 * its /proc/self/fd/<dirfd>/<name> path (the flush acts beneath directory fds); a library
 * version that checks the file system by the mount of that path's target could refuse it under
 * EBT's FUSE view: the file is then created with the default layout and a warning. */
#define _GNU_SOURCE
#include "layout.h"
#include "log.h"
#include "sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LUSTREAPI_SONAME "liblustreapi.so.1"

/* lustreapi.h: fd, or -errno; creates with O_LOV_DELAY_CREATE then sets the striping. */
typedef int (*llapi_file_open_fn)(const char *name, int flags, int mode,
                                  unsigned long long stripe_size, int stripe_offset,
                                  int stripe_count, int stripe_pattern);

struct lustreapi {
    void *handle;
    llapi_file_open_fn file_open;
    char why[256];
    int rc;
};

static struct lustreapi lapi;
static pthread_once_t lapi_once = PTHREAD_ONCE_INIT;

/* Loaded once per process and kept: the library has no state EBT would need to reset. */
static void lapi_load_once(void)
{
    lapi.handle = dlopen(LUSTREAPI_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lapi.handle) {
        snprintf(lapi.why, sizeof(lapi.why), "dlopen %s: %s", LUSTREAPI_SONAME, dlerror());
        lapi.rc = -ENOENT;
        return;
    }
    lapi.file_open = (llapi_file_open_fn)dlsym(lapi.handle, "llapi_file_open");
    if (!lapi.file_open) {
        snprintf(lapi.why, sizeof(lapi.why), "%s has no llapi_file_open", LUSTREAPI_SONAME);
        lapi.rc = -ENOENT;
    }
}

int ebt_layout_lustreapi_load(struct ebt_layout_provider *p, char *why, size_t cap)
{
    pthread_once(&lapi_once, lapi_load_once);
    if (lapi.rc < 0) {
        snprintf(why, cap, "%s", lapi.why);
        return lapi.rc;
    }
    p->ops = &ebt_layout_lustreapi_ops;
    p->api = &lapi;
    return 0;
}

/* llapi_file_open takes a path: the name beneath dirfd through its /proc/self/fd link. */
static int lapi_create(const struct ebt_layout_provider *p, int dirfd, const char *name, int flags,
                       mode_t mode, const struct ebt_lov_req *rq, int *set_p, uint64_t *ops)
{
    const struct lustreapi *api = p->api;
    char path[PATH_MAX];
    *set_p = 0;
    if (!rq)
        return ebt_layout_posix_ops.create(p, dirfd, name, flags, mode, NULL, set_p, ops);
    int n = snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
    if (n < 0 || n >= (int)sizeof(path))
        return -ENAMETOOLONG;
    __atomic_add_fetch(ops, 2, __ATOMIC_RELAXED); /* the open and the setstripe ioctl */
    int fd = api->file_open(path, flags, (int)mode, rq->stripe_size, rq->stripe_offset,
                            rq->stripe_count, 0);
    if (fd >= 0) {
        *set_p = 1;
        return fd;
    }
    if (fd == -EEXIST)
        return fd; /* an existing file: the transfer opens it O_TRUNC, its layout stays */
    /* the library closes the file when the striping fails but leaves it created: the open
     * below then finds it (EEXIST), and the transfer opens it without O_EXCL */
    ebt_warn("layout: %s: llapi_file_open: %s (the file keeps the default layout)", name,
             strerror(-fd));
    return ebt_layout_posix_ops.create(p, dirfd, name, flags, mode, NULL, set_p, ops);
}

static int lapi_get_fd(const struct ebt_layout_provider *p, int fd, struct ebt_lov *out,
                       uint64_t *ops)
{
    return ebt_layout_lustre_ops.get_fd(p, fd, out, ops);
}

static int lapi_get_dir(const struct ebt_layout_provider *p, int dirfd, const char *name,
                        struct ebt_lov *out, uint64_t *ops)
{
    return ebt_layout_lustre_ops.get_dir(p, dirfd, name, out, ops);
}

const struct ebt_layout_ops ebt_layout_lustreapi_ops = {
    .name = "lustreapi",
    .create = lapi_create,
    .get_fd = lapi_get_fd,
    .get_dir = lapi_get_dir,
};
