/* ns.c - namespace operations on managed paths: mkdir, rmdir, unlink, rename, truncate. */
#define _GNU_SOURCE
#include "client.h"
#include "log.h"
#include "lower.h"
#include "path.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static int layer_phys(const char *layer, const char *logical, char *phys)
{
    return ebt_layer_path(layer, logical, phys, PATH_MAX) < 0 ? -ENAMETOOLONG : 0;
}

static int parent_in_layer(const char *layer, const char *logical)
{
    char buf[PATH_MAX];
    const char *dir, *name;
    if (ebt_path_split(logical, buf, sizeof(buf), &dir, &name) < 0)
        return -ENAMETOOLONG;
    return ebt_view_layer_dir(layer, dir);
}

static void mark_opaque(const char *layer, const char *logical)
{
    char phys[PATH_MAX];
    if (snprintf(phys, sizeof(phys), "%s%s/" EBT_OPAQUE_NAME, layer, logical) >= PATH_MAX)
        return;
    int fd = ebt_sys_open(phys, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        ebt_sys_close(fd);
    if (ebt.shared)
        __atomic_add_fetch(&ebt.shared->whiteouts, 1, __ATOMIC_ACQ_REL);
}

static int whiteout_present(const char *layer, const char *logical)
{
    char phys[PATH_MAX];
    struct stat st;
    return ebt_whiteout_path(layer, logical, phys, sizeof(phys)) == 0 &&
           ebt_sys_lstat(phys, &st) == 0;
}

int ebt_ns_mkdir(const char *logical, mode_t mode)
{
    struct ebt_found f;
    if (ebt_view_lookup(logical, 0, &f) == 0)
        return -EEXIST;
    int rc = ebt_view_parent_dir(logical);
    const char *layer = ebt_layer_for_write(logical);
    char phys[PATH_MAX];
    if (rc == 0)
        rc = layer_phys(layer, logical, phys);
    if (rc == 0)
        rc = parent_in_layer(layer, logical);
    if (rc < 0)
        return rc;
    /* Across nodes the name's owner decides first, and records the directory at once: a loser
     * makes nothing (a local copy removed afterwards could already hold another process's
     * files), and its mkdir -p then finds the winner's directory. */
    if ((rc = ebt_md_note_if_visible(logical, EBT_NOTE_DIR_EXCL)) < 0)
        return rc;
    int hid_lower = whiteout_present(layer, logical);
    if (ebt_sys_mkdir(phys, mode) < 0) {
        rc = -errno;
        if (rc != -EEXIST) /* (EEXIST: another process of this node made it) */
            ebt_md_unlink_if_visible(logical, 1);
        return rc;
    }
    if (hid_lower) { /* it existed below and was removed: the new one starts empty */
        ebt_view_whiteout_remove(layer, logical);
        mark_opaque(layer, logical);
    }
    return ebt_md_note_if_visible(logical, EBT_NOTE_DIR); /* its real mode and time */
}

int ebt_ns_rmdir(const char *logical)
{
    struct ebt_found f;
    int rc = ebt_view_lookup(logical, 0, &f);
    if (rc < 0)
        return rc;
    if (!S_ISDIR(f.st.st_mode))
        return -ENOTDIR;
    rc = ebt_view_dir_empty(logical);
    if (rc <= 0)
        return rc < 0 ? rc : -ENOTEMPTY;
    if ((rc = ebt_perm_parent(logical)) < 0)
        return rc;
    if ((rc = ebt_md_unlink_if_visible(logical, 1)) < 0)
        return rc;
    const char *layer = ebt_layer_for_write(logical);
    char phys[PATH_MAX];
    if ((rc = layer_phys(layer, logical, phys)) < 0)
        return rc;
    if ((rc = ebt_remove_tree(phys)) < 0) /* holds only whiteouts and markers */
        return rc;
    if (ebt_view_exists_below(layer, logical))
        return ebt_view_whiteout_add(layer, logical);
    return 0;
}

static void unlink_layer_file(const char *phys)
{
    struct stat st;
    char meta[PATH_MAX];
    if (ebt_sys_lstat(phys, &st) < 0)
        return;
    if (ebt_sys_unlink(phys) == 0 &&
        ebt_meta_path(ebt.cfg.run_dir, st.st_ino, meta, sizeof(meta)) == 0)
        ebt_sys_unlink(meta);
}

static void unlink_placeholder(const char *layer, const char *logical)
{
    char phys[PATH_MAX];
    if (layer_phys(layer, logical, phys) == 0)
        unlink_layer_file(phys);
}

int ebt_ns_unlink(const char *logical)
{
    struct ebt_found f;
    int rc = ebt_view_lookup(logical, 0, &f);
    if (rc < 0)
        return rc;
    if (S_ISDIR(f.st.st_mode))
        return -EISDIR;
    if ((rc = ebt_perm_parent(logical)) < 0)
        return rc;
    if ((rc = ebt_md_unlink_if_visible(logical, 0)) < 0)
        return rc;
    ebt_stage_mark_unlinked(logical);
    const char *layer = ebt_layer_for_write(logical);
    char phys[PATH_MAX];
    if ((rc = layer_phys(layer, logical, phys)) < 0)
        return rc;
    unlink_layer_file(phys);
    if (ebt_view_exists_below(layer, logical))
        return ebt_view_whiteout_add(layer, logical);
    return 0;
}

/* Copy a lower file (PFS, or another node's) whole into the layer under a new name. */
static int copy_whole_to(const char *logical, const struct ebt_found *f, const char *phys)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s/mv%d.%p", ebt.stage_dir, (int)getpid(), (void *)f) >=
        PATH_MAX)
        return -ENAMETOOLONG;
    char src[32];
    int fetched = f->where == EBT_W_REMOTE ? ebt_remote_fetch_open(logical, f, NULL) : -1;
    int rc = f->where == EBT_W_REMOTE && fetched < 0 ? fetched : 0;
    if (rc == 0 &&
        (rc = ebt_copy_to_new(fetched >= 0 ? ebt_fd_path(fetched, src, sizeof(src)) : f->phys, tmp,
                              f->st.st_mode & 07777, NULL)) < 0)
        ebt_sys_unlink(tmp); /* (a full cache may have taken part of it) */
    if (fetched >= 0)
        ebt_sys_close(fetched);
    if (rc == 0)
        ebt_meta_mark_whole(tmp);
    if (rc == 0 && ebt_sys_rename(tmp, phys) < 0) {
        rc = -errno;
        ebt_sys_unlink(tmp);
    }
    return rc;
}

/* A layer file whose extent log described another name's lower file: now all the job's. */
static void drop_meta(const char *phys, const struct stat *st)
{
    char meta[PATH_MAX];
    if (!S_ISDIR(st->st_mode) &&
        ebt_meta_path(ebt.cfg.run_dir, st->st_ino, meta, sizeof(meta)) == 0) {
        ebt_sys_unlink(meta);
        ebt_meta_mark_whole(phys);
    }
}

/* Before a PFS directory is renamed, its whole merged content moves into the layer, as whole
 * files: an extent log would describe the PFS file under the old name. Costs a copy of the PFS
 * data below it (docs/semantics.md). */
static int copy_up_tree(const char *layer, const char *logical)
{
    char **names, child[PATH_MAX], phys[PATH_MAX];
    size_t n;
    int rc = ebt_view_layer_dir(layer, logical);
    if (rc == 0)
        rc = ebt_view_list(logical, &names, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct ebt_found f;
        if (snprintf(child, sizeof(child), "%s/%s", logical, names[i]) >= (int)sizeof(child) ||
            layer_phys(layer, child, phys) < 0)
            rc = -ENAMETOOLONG;
        else if ((rc = ebt_view_lookup(child, 0, &f)) < 0)
            break;
        else if (S_ISDIR(f.st.st_mode))
            rc = copy_up_tree(layer, child);
        else if (!S_ISREG(f.st.st_mode))
            rc = -EXDEV; /* symlinks and devices are not kept in layers */
        else if (strcmp(f.phys, phys) != 0)
            rc = copy_whole_to(child, &f, phys);
        else
            drop_meta(phys, &f.st); /* now the whole file is the job's */
    }
    ebt_view_list_free(names, n);
    return rc;
}

static int rename_check(const char *from, const char *to, const struct ebt_found *fs,
                        const struct ebt_found *ft, int to_exists, unsigned flags)
{
    if (flags & ~RENAME_NOREPLACE) {
        ebt_warn_once("renameat2 flags other than RENAME_NOREPLACE are not supported", from);
        return -ENOTSUP;
    }
    if (to_exists && (flags & RENAME_NOREPLACE))
        return -EEXIST;
    if (S_ISDIR(fs->st.st_mode)) {
        size_t n = strlen(from);
        if (strncmp(to, from, n) == 0 && to[n] == '/')
            return -EINVAL;
        if (to_exists && !S_ISDIR(ft->st.st_mode))
            return -ENOTDIR;
        if (to_exists && ebt_view_dir_empty(to) != 1)
            return -ENOTEMPTY;
    } else if (to_exists && S_ISDIR(ft->st.st_mode)) {
        return -EISDIR;
    }
    return ebt_view_parent_dir(to);
}

/* Move the source's layer entry (or a whole copy of a lower file) to the target name. */
/* A full cache cannot take the copy a rename of a PFS file needs (a file the cache spilled, such
 * as sed -i's temporary): the PFS renames it itself, as the job would see it natively. The
 * target's layer entry is gone already; whiteouts are the caller's. One node only. */
static int rename_on_pfs(const char *from, const char *to)
{
    char lf[PATH_MAX], lt[PATH_MAX];
    int rc = ebt_lower_path(from, lf, sizeof(lf)) < 0 || ebt_lower_path(to, lt, sizeof(lt)) < 0
                 ? -ENAMETOOLONG
                 : ebt_mkdirs(lt, 0755, 1);
    if (rc == 0 && ebt_sys_rename(lf, lt) < 0)
        rc = -errno;
    if (rc == 0)
        ebt_warn_once("node-local cache full: renamed on the PFS", to);
    return rc;
}

static int rename_move(const char *layer, const char *from, const char *to,
                       const struct ebt_found *fs)
{
    char pf[PATH_MAX], pt[PATH_MAX];
    int rc = layer_phys(layer, from, pf);
    if (rc == 0)
        rc = layer_phys(layer, to, pt);
    if (rc == 0)
        rc = parent_in_layer(layer, to);
    if (rc < 0)
        return rc;
    struct stat st;
    if (ebt_sys_lstat(pt, &st) == 0) { /* replaced entry: drop its layer copy */
        if (S_ISDIR(st.st_mode))
            ebt_remove_tree(pt);
        else
            unlink_layer_file(pt);
    }
    if (ebt_sys_lstat(pf, &st) == 0) {
        if (ebt_sys_rename(pf, pt) < 0)
            return -errno;
        drop_meta(pt, &st); /* its extent log described the old name's PFS file */
        return 0;
    }
    if (S_ISDIR(fs->st.st_mode))
        return -EXDEV;
    int on_pfs = fs->where == EBT_W_PFS && !ebt_multinode();
    if (on_pfs && ebt_cache_over((uint64_t)fs->st.st_size))
        return rename_on_pfs(from, to);
    rc = copy_whole_to(from, fs, pt);
    if (on_pfs && ebt_cache_out_of_space(-rc))
        rc = rename_on_pfs(from, to);
    return rc;
}

/* Multi-node: can this node rename the directory alone? Only if nothing in it (or it) is held
 * by another node: 0, -EXDEV, or -errno. Walks the merged view (asks every node per directory). */
static int tree_local(const char *logical, const struct ebt_found *f)
{
    if (f->where == EBT_W_REMOTE)
        return -EXDEV;
    if (!S_ISDIR(f->st.st_mode))
        return 0;
    char **names, child[PATH_MAX];
    size_t n;
    int rc = ebt_view_list(logical, &names, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct ebt_found cf;
        if (snprintf(child, sizeof(child), "%s/%s", logical, names[i]) >= (int)sizeof(child))
            rc = -ENAMETOOLONG;
        else if ((rc = ebt_view_lookup(child, 0, &cf)) == 0)
            rc = tree_local(child, &cf);
    }
    ebt_view_list_free(names, n);
    return rc;
}

/* Multi-node: the job's namespace follows a rename that moved data in this node's layer. */
static int rename_note(const char *layer, const char *from, const char *to,
                       const struct ebt_found *fs, const struct ebt_found *ft)
{
    if (!ebt_multinode() || ebt_vis_for(to) == EBT_VIS_TASK)
        return 0;
    if (S_ISDIR(fs->st.st_mode)) /* the source itself left the namespace already */
        return ebt_md_rename_tree(layer, from, to);
    int rc = 0;
    if (ft) /* the replaced file's holders keep nothing of the new one */
        rc = ebt_md_unlink(to, 0);
    if (rc == 0)
        rc = ebt_md_note(to, EBT_NOTE_FILE);
    if (rc == 0)
        rc = ebt_md_unlink(from, 0);
    return rc;
}

int ebt_ns_rename(const char *from, const char *to, unsigned flags)
{
    struct ebt_found fs, ft;
    int rc = ebt_view_lookup(from, 0, &fs);
    if (rc < 0)
        return rc;
    int to_exists = ebt_view_lookup(to, 0, &ft) == 0;
    if (strcmp(from, to) == 0)
        return 0;
    if ((rc = rename_check(from, to, &fs, &ft, to_exists, flags)) < 0)
        return rc;
    if ((rc = ebt_perm_parent(from)) < 0 || (rc = ebt_perm_parent(to)) < 0)
        return rc;
    const char *layer = ebt_layer_for_write(from);
    if (layer != ebt_layer_for_write(to))
        return -EXDEV; /* different visibility rules on each side */
    if (S_ISDIR(fs.st.st_mode) && ebt_multinode() && (rc = tree_local(from, &fs)) < 0)
        return rc; /* EXDEV: other nodes hold part of it; mv copies it */
    if (S_ISDIR(fs.st.st_mode) && ebt_view_exists_below(layer, from) &&
        (rc = copy_up_tree(layer, from)) < 0)
        return rc;
    /* A directory leaves the job's namespace before it moves: its owner refuses (EXDEV) when
     * other nodes hold content below it. */
    if (S_ISDIR(fs.st.st_mode) && (rc = ebt_md_unlink_if_visible(from, 1)) < 0)
        return rc;
    struct ebt_stage *s = ebt_stage_find(from);
    if (s && !s->published) { /* still private to this process: just retarget it */
        if (s->placeholder) { /* the empty file that held the O_EXCL name goes with it */
            unlink_placeholder(layer, from);
            ebt_md_unlink_if_visible(from, 0); /* (its claim too) */
        } else if (s->claimed) {
            ebt_md_unclaim(from);
        }
        s->claimed = s->placeholder = 0;
        ebt_stage_drop_origin(s); /* (its placeholder is gone: not a removal by another) */
        ebt_stage_rename(from, to);
        s->based = 0;
        rc = 0;
        if (to_exists)
            rc = ebt_ns_unlink(to);
    } else {
        rc = rename_move(layer, from, to, &fs);
        if (s)
            ebt_stage_rename(from, to);
    }
    if (rc == 0 && !(s && !s->published))
        rc = rename_note(layer, from, to, &fs, to_exists ? &ft : NULL);
    if (rc < 0)
        return rc;
    int to_hid_lower = whiteout_present(layer, to);
    ebt_view_whiteout_remove(layer, to);
    if (S_ISDIR(fs.st.st_mode) && (to_hid_lower || ebt_view_exists_below(layer, to)))
        mark_opaque(layer, to);
    if (ebt_view_exists_below(layer, from))
        return ebt_view_whiteout_add(layer, from);
    return 0;
}

int ebt_ns_truncate(const char *logical, off_t len)
{
    if (len < 0)
        return -EINVAL;
    int fd = ebt_open_managed(logical, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    int rc = ebt_sys_ftruncate(fd, len) < 0 ? -errno : 0;
    if (rc == 0)
        ebt_record_trunc(fd, (uint64_t)len);
    int crc = ebt_close_managed(fd);
    return rc < 0 ? rc : crc;
}

/* The physical path an attribute change (chmod, utimes, chown) must be applied to. */
int ebt_ns_attr_target(const char *logical, int follow, char *phys)
{
    struct ebt_found f;
    int rc = ebt_view_lookup(logical, follow, &f);
    if (rc < 0)
        return rc;
    const char *layer = ebt_layer_for_write(logical);
    if (f.where == EBT_W_STAGE || (f.where != EBT_W_PFS && layer_phys(layer, logical, phys) == 0 &&
                                   strcmp(phys, f.phys) == 0)) {
        snprintf(phys, PATH_MAX, "%s", f.phys);
        return 0;
    }
    if ((rc = layer_phys(layer, logical, phys)) < 0)
        return rc;
    if (S_ISDIR(f.st.st_mode))
        return ebt_view_layer_dir(layer, logical);
    if (!S_ISREG(f.st.st_mode))
        return -ENOTSUP;
    if (f.where == EBT_W_REMOTE && layer == ebt.up_root && ebt_held_path(logical, phys))
        return 0; /* this node's part of a shared file */
    rc = ebt_copy_up_file(layer, logical, &f);
    return rc < 0 ? rc : ebt_md_note_if_visible(logical, EBT_NOTE_FILE);
}
