/* fs_ctl.c - the control directory /.pfs-sim: read "stats" for JSON, write "reset" to it. */
#define _GNU_SOURCE
#include "fs.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int pfs_ctl_getattr(enum pfs_ctl_kind kind, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_ino = 1;
    if (kind == CTL_DIR) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    }
    if (kind == CTL_STATS) {
        st->st_mode = S_IFREG | 0644; /* size 0: served with direct_io, read until EOF */
        st->st_nlink = 1;
        st->st_ino = 2;
        return 0;
    }
    return -ENOENT;
}

int pfs_ctl_open(enum pfs_ctl_kind kind, struct fuse_file_info *fi)
{
    if (kind != CTL_STATS && kind != CTL_DIR)
        return -ENOENT;
    struct pfs_handle *h = pfs_handle_new(kind == CTL_DIR ? H_CTL_DIR : H_CTL_FILE, -1);
    if (h == NULL)
        return -ENOMEM;
    if (kind == CTL_STATS && (fi->flags & O_ACCMODE) != O_WRONLY) {
        h->ctl_data = pfs_sim_stats_json(pfs_current_node()->sim, &h->ctl_len);
        if (h->ctl_data == NULL) {
            pfs_handle_free(h);
            return -ENOMEM;
        }
    }
    fi->fh = (uintptr_t)h;
    fi->direct_io = 1;
    return 0;
}

int pfs_ctl_read(struct pfs_handle *h, char *buf, size_t size, off_t off)
{
    if (h->ctl_data == NULL)
        return -EBADF;
    if (off < 0 || (size_t)off >= h->ctl_len)
        return 0;
    size_t n = h->ctl_len - (size_t)off;
    if (n > size)
        n = size;
    memcpy(buf, h->ctl_data + off, n);
    return (int)n;
}

int pfs_ctl_write(struct pfs_handle *h, const char *buf, size_t size)
{
    static const char reset[] = "reset";
    size_t n = sizeof(reset) - 1;
    if (h->kind != H_CTL_FILE)
        return -EBADF;
    if (size < n || memcmp(buf, reset, n) != 0 || (size > n && buf[n] != '\n' && buf[n] != '\0'))
        return -EINVAL;
    pfs_sim_reset(pfs_current_node()->sim);
    return (int)size;
}

int pfs_ctl_readdir(void *buf, fuse_fill_dir_t filler)
{
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    filler(buf, "stats", NULL, 0, 0);
    return 0;
}
