/* layout.h - layout providers: how EBT learns and sets where the bytes of a PFS file live
 * (Lustre through the lustre.lov xattr or liblustreapi, or plain POSIX: no layout), the choice
 * of provider per PFS root, and the striping policy by final file size. */
#ifndef EBT_LAYOUT_H
#define EBT_LAYOUT_H

#include "config.h"
#include "lov.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EBT_LOV_XATTR "lustre.lov"
/* Lustre's O_LOV_DELAY_CREATE: open a new file without instantiating its objects, so a layout
 * can still be set before the first write (O_NOCTTY and FASYNC mean nothing for a new regular
 * file; lustre_user.h, LU-4209). */
#define EBT_O_LOV_DELAY_CREATE (O_NOCTTY | FASYNC)

struct ebt_layout_provider;

/* A provider's operations. Each PFS call made counts 1 in *meta_ops. A new provider (BeeGFS:
 * its storage targets through its ioctls) is one more table and one more line in detect. */
struct ebt_layout_ops {
    const char *name; /* "lustre", "lustreapi", "posix" */
    /* Create name in dirfd (flags hold O_CREAT|O_EXCL) with the layout rq before any byte is
     * written; rq NULL: the file gets the directory's or the file system's default. Returns
     * the fd or -errno. A layout the PFS refuses is not an error: the file is created with the
     * default, a warning is logged and *set_p is 0 (1 when rq was applied). */
    int (*create)(const struct ebt_layout_provider *p, int dirfd, const char *name, int flags,
                  mode_t mode, const struct ebt_lov_req *rq, int *set_p, uint64_t *meta_ops);
    /* The layout of an open file: 0 and *out filled (ebt_lov_free), -ENODATA (none), -errno. */
    int (*get_fd)(const struct ebt_layout_provider *p, int fd, struct ebt_lov *out,
                  uint64_t *meta_ops);
    /* The default layout of directory name in dirfd ("." = dirfd itself; dirfd may be O_PATH):
     * 0 and *out, -ENODATA if the directory has none, -errno. */
    int (*get_dir)(const struct ebt_layout_provider *p, int dirfd, const char *name,
                   struct ebt_lov *out, uint64_t *meta_ops);
};

struct ebt_layout_provider {
    const struct ebt_layout_ops *ops;
    const void *api; /* lustreapi: the functions resolved from the library */
};

extern const struct ebt_layout_ops ebt_layout_lustre_ops;
extern const struct ebt_layout_ops ebt_layout_posix_ops;
extern const struct ebt_layout_ops ebt_layout_lustreapi_ops;

/* The provider for the PFS directory root, by mode (enum ebt_layout_mode, config.h): auto takes
 * lustre when root answers getxattr("lustre.lov") (with a layout or ENODATA), else posix
 * (with the reason in why); lustre and lustreapi are refused (-EOPNOTSUPP / -ENOENT, reason in
 * why) when root does not answer or the library cannot be loaded. 0 or -errno. */
int ebt_layout_detect(const char *root, int mode, struct ebt_layout_provider *out,
                      uint64_t *meta_ops, char *why, size_t cap);
/* liblustreapi.so.1 through dlopen: 0 and p filled, or -ENOENT with dlerror's text in why. */
int ebt_layout_lustreapi_load(struct ebt_layout_provider *p, char *why, size_t cap);

/* Striping by final size: files of at least `large` bytes get count_large stripes (-1: all
 * OSTs), others one stripe; stripe_size for both. */
struct ebt_layout_policy {
    uint64_t large;
    int count_large;
    uint32_t stripe_size;
};
void ebt_layout_policy_from_config(const struct ebt_config *cfg, struct ebt_layout_policy *pol);
void ebt_layout_choose(const struct ebt_layout_policy *pol, uint64_t size, struct ebt_lov_req *rq);

/* Read the lustre.lov xattr of an fd, or of a path (follow: the last component is followed). */
int ebt_lov_read_fd(int fd, struct ebt_lov *out);
int ebt_lov_read_path(const char *path, int follow, struct ebt_lov *out);

#endif
