/* fs.h - FUSE operations of pfs-sim and the helpers they share (handles, paths, node). */
#ifndef PFS_SIM_FS_H
#define PFS_SIM_FS_H

/* CMake passes 312 when libfuse >= 3.12 (configurable thread limit), else the 3.5 API. */
#ifndef PFS_FUSE_USE_VERSION
#define PFS_FUSE_USE_VERSION 35
#endif
#define FUSE_USE_VERSION PFS_FUSE_USE_VERSION
#include <dirent.h>
#include <fuse.h>
#include <stdint.h>

#include "layout.h"
#include "service.h"
#include "sim.h"

enum pfs_handle_kind { H_FILE, H_DIR, H_CTL_FILE, H_CTL_DIR };

/* What fi->fh points to for every open file or directory. */
struct pfs_handle {
    enum pfs_handle_kind kind;
    int fd;
    int append;  /* opened O_APPEND: writes go to the current end of file */
    int is_root; /* directory handle of the mount root */
    DIR *dir;
    uint64_t dev, ino;  /* backing inode, for the stripe-object table */
    pthread_mutex_t mu; /* guards the layout cache below */
    uint64_t layout_epoch;
    int have_layout;
    struct pfs_layout layout; /* cached; reloaded when sim->layout_epoch changes */
    char *ctl_data;           /* control file snapshot */
    size_t ctl_len;
};

/* Control paths: "/.pfs-sim" (directory) and "/.pfs-sim/stats". */
#define PFS_CTL_DIR_NAME ".pfs-sim"
enum pfs_ctl_kind { CTL_NONE, CTL_DIR, CTL_STATS, CTL_OTHER };
enum pfs_ctl_kind pfs_ctl_kind(const char *path);

/* The node (and so the simulator) serving the current FUSE request. */
struct pfs_node *pfs_current_node(void);

/* Backing-store path relative to the backing dir: "/" -> ".", "/a/b" -> "a/b". */
const char *pfs_rel(const char *path);

/* Parent of a FUSE path, relative to the backing dir, into buf. */
void pfs_parent_rel(const char *path, char *buf, size_t cap);

/* Gives a new backing entry to the requesting user when the daemon runs as root. */
void pfs_set_owner(struct pfs_sim *sim, const char *rel);

static inline struct pfs_handle *pfs_handle_of(const struct fuse_file_info *fi)
{
    return fi != NULL ? (struct pfs_handle *)(uintptr_t)fi->fh : NULL;
}

struct pfs_handle *pfs_handle_new(enum pfs_handle_kind kind, int fd);
void pfs_handle_free(struct pfs_handle *h);

/* Fills ops with every operation below. */
void pfs_fs_operations(struct fuse_operations *ops);

/* fs_meta.c: namespace and attribute ops (all MDS). */
void pfs_meta_operations(struct fuse_operations *ops);
/* fs_data.c: open/create/read/write/fsync/truncate/fallocate/release. */
void pfs_data_operations(struct fuse_operations *ops);
/* fs_xattr.c: xattrs including lustre.lov. */
void pfs_xattr_operations(struct fuse_operations *ops);

/* fs_ctl.c: the control directory. Each returns -errno or what the FUSE op returns. */
int pfs_ctl_getattr(enum pfs_ctl_kind kind, struct stat *st);
int pfs_ctl_open(enum pfs_ctl_kind kind, struct fuse_file_info *fi);
int pfs_ctl_read(struct pfs_handle *h, char *buf, size_t size, off_t off);
int pfs_ctl_write(struct pfs_handle *h, const char *buf, size_t size);
int pfs_ctl_readdir(void *buf, fuse_fill_dir_t filler);

#endif
