/* layout.h - choosing, storing and loading file layouts and directory default layouts. */
#ifndef PFS_SIM_LAYOUT_H
#define PFS_SIM_LAYOUT_H

#include <sys/stat.h>

#include "lov.h"
#include "sim.h"

/* Backing-store xattrs holding layouts; hidden from and protected against FUSE clients. */
#define PFS_XATTR_PREFIX "user.pfs-sim."
#define PFS_XATTR_FILE_LAYOUT "user.pfs-sim.lov"
#define PFS_XATTR_DIR_DEFAULT "user.pfs-sim.dirlov"

/* Resolves a request (0 = default fields, -1 = all/any) into a concrete layout. -EINVAL if the
 * requested stripe offset is not an OST. */
int pfs_layout_from_request(struct pfs_sim *sim, const struct lov_request *rq,
                            struct pfs_layout *lo);

/* Layout of a file never given one (created outside the simulator): derived from its inode. */
void pfs_layout_for_inode(struct pfs_sim *sim, uint64_t ino, struct pfs_layout *lo);

/* Picks the layout of a new file in directory parent_rel (its default, else the global one). */
int pfs_layout_for_new_file(struct pfs_sim *sim, const char *parent_rel, struct pfs_layout *lo);

/* Load/store a file's layout; load falls back to pfs_layout_for_inode. Return 0 or -errno. */
int pfs_layout_load_fd(struct pfs_sim *sim, int fd, struct pfs_layout *lo);
int pfs_layout_load_path(struct pfs_sim *sim, const char *rel, struct pfs_layout *lo);
int pfs_layout_store_fd(int fd, const struct pfs_layout *lo);
int pfs_layout_store_path(struct pfs_sim *sim, const char *rel, const struct pfs_layout *lo);

/* Directory defaults: 0 and *rq filled, -ENODATA if none, other -errno. */
int pfs_dir_default_load(struct pfs_sim *sim, const char *rel, struct lov_request *rq);
int pfs_dir_default_store(struct pfs_sim *sim, const char *rel, const struct lov_request *rq);
int pfs_dir_default_remove(struct pfs_sim *sim, const char *rel);

/* Backing path of a FUSE path ("/a/b" -> "<backing>/a/b"). 0 or -ENAMETOOLONG. */
int pfs_full_path(struct pfs_sim *sim, const char *rel, char *buf, size_t cap);

#endif
