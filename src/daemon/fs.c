/* fs.c - mounting ebtd's FUSE view over the managed prefixes: the lower fd and RUN/lower link of
 * each prefix, one libfuse session thread per mount, unmount at stop (auto_unmount covers a
 * crash). */
#define _GNU_SOURCE
#include "fs.h"
#include "fs_int.h"
#include "log.h"
#include "rundir.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/vfs.h>
#include <unistd.h>

#define FUSE_SUPER_MAGIC_ 0x65735546

static void *loop_thread(void *arg)
{
    struct ebtd_fs_mount *m = arg;
    struct fuse_loop_config *lc = fuse_loop_cfg_create();
    if (!lc)
        return NULL;
    fuse_loop_cfg_set_max_threads(lc, 8);
    fuse_loop_cfg_set_idle_threads(lc, 4);
    int rc = fuse_loop_mt(m->fuse, lc);
    fuse_loop_cfg_destroy(lc);
    if (rc != 0)
        ebt_warn("fuse view of %s: session loop ended with %d", m->prefix, rc);
    return NULL;
}

static int lower_link(const struct ebtd *d, int i, char *target, size_t cap, int fd)
{
    char dir[PATH_MAX], link[PATH_MAX];
    if (ebt_rundir_file(d->run_dir, EBT_LOWER_DIR, dir, sizeof(dir)) < 0 ||
        snprintf(link, sizeof(link), "%s/%d", dir, i) >= (int)sizeof(link))
        return -ENAMETOOLONG;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    snprintf(target, cap, "/proc/%d/fd/%d", (int)getpid(), fd);
    unlink(link);
    return symlink(target, link) < 0 ? -errno : 0;
}

static void lower_unlink(const struct ebtd *d, int i)
{
    char link[PATH_MAX];
    if (snprintf(link, sizeof(link), "%s/" EBT_LOWER_DIR "/%d", d->run_dir, i) < (int)sizeof(link))
        unlink(link);
}

/* Is path already the root of a FUSE mount (a stale view of a daemon that died)? */
static int is_fuse_root(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == FUSE_SUPER_MAGIC_;
}

static int mount_one(struct ebtd *d, struct ebtd_fs_mount *m, char *why, size_t cap)
{
    struct stat st;
    if (lstat(m->prefix, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, cap, "%s is not a directory yet", m->prefix);
        return -ENOTDIR;
    }
    if (is_fuse_root(m->prefix)) {
        snprintf(why, cap,
                 "%s is already a FUSE mount (another job, or a stale view: "
                 "fusermount3 -u -z %s)",
                 m->prefix, m->prefix);
        return -EBUSY;
    }
    m->lower_fd = open(m->prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (m->lower_fd < 0) {
        snprintf(why, cap, "open %s: %s", m->prefix, strerror(errno));
        return -errno;
    }
    char opts[PATH_MAX + 128];
    snprintf(opts, sizeof(opts), "fsname=ebt:%s,subtype=ebt,default_permissions,auto_unmount",
             d->run_dir);
    char *argv[] = {"ebtd", "-o", opts, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, argv);
    m->fuse = fuse_new(&args, &ebtd_fs_ops, sizeof(ebtd_fs_ops), m);
    fuse_opt_free_args(&args);
    if (!m->fuse) {
        snprintf(why, cap, "libfuse could not set up a session");
        return -EIO;
    }
    if (fuse_mount(m->fuse, m->prefix) != 0) {
        snprintf(why, cap, "mounting over %s failed (no /dev/fuse, or not permitted)", m->prefix);
        fuse_destroy(m->fuse);
        m->fuse = NULL;
        return -EPERM;
    }
    char target[64];
    int rc = lower_link(d, m->index, target, sizeof(target), m->lower_fd);
    if (rc == 0)
        rc = -pthread_create(&m->thread, NULL, loop_thread, m);
    if (rc < 0) {
        snprintf(why, cap, "cannot serve the view of %s: %s", m->prefix, strerror(-rc));
        fuse_unmount(m->fuse);
        fuse_destroy(m->fuse);
        m->fuse = NULL;
        lower_unlink(d, m->index);
        return rc;
    }
    m->running = 1;
    ebt_lower_set(d->cfg, m->index, target);
    return 0;
}

static void unmount_one(struct ebtd *d, struct ebtd_fs_mount *m)
{
    if (m->fuse) {
        lower_unlink(d, m->index);
        fuse_exit(m->fuse);
        fuse_unmount(m->fuse);
        if (m->running)
            pthread_join(m->thread, NULL);
        fuse_destroy(m->fuse);
        m->fuse = NULL;
        m->running = 0;
        ebt_info("fuse view of %s unmounted", m->prefix);
    }
    if (m->lower_fd >= 0)
        close(m->lower_fd);
    m->lower_fd = -1;
}

int ebtd_fs_start(struct ebtd *d)
{
    const struct ebt_config *cfg = d->cfg;
    if (cfg->fuse == EBT_FUSE_OFF)
        return 0;
    if (cfg->nodes > 1) {
        ebt_info("fuse view: not used on a multi-node job (preload only)");
        return cfg->fuse == EBT_FUSE_ON ? -EOPNOTSUPP : 0;
    }
    struct ebtd_fs *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    int rc = ebt_layers_init(&fs->layers, d->run_dir, cfg);
    if (rc < 0) {
        free(fs);
        return rc;
    }
    fs_files_init(fs);
    d->fs = fs;
    for (int i = 0; i < cfg->nprefixes; i++) {
        struct ebtd_fs_mount *m = &fs->m[fs->n++];
        m->fs = fs;
        m->index = i;
        m->lower_fd = -1;
        snprintf(m->prefix, sizeof(m->prefix), "%s", cfg->prefixes[i].path);
        char why[PATH_MAX + 160];
        rc = mount_one(d, m, why, sizeof(why));
        if (rc == 0) {
            ebt_info("fuse view mounted over %s", m->prefix);
            continue;
        }
        ebt_warn("fuse view: %s; preload only for %s", why, m->prefix);
        fprintf(stderr,
                "ebt: no FUSE view of %s (%s): programs that are not preloaded "
                "(static binaries, the job's shell) do not see the job's files there\n",
                m->prefix, why);
        if (cfg->fuse == EBT_FUSE_ON)
            return rc;
    }
    return 0;
}

void ebtd_fs_stop(struct ebtd *d)
{
    struct ebtd_fs *fs = d->fs;
    if (!fs)
        return;
    ebt_lower_reset();
    for (int i = 0; i < fs->n; i++)
        unmount_one(d, &fs->m[i]);
    char dir[PATH_MAX];
    if (ebt_rundir_file(d->run_dir, EBT_LOWER_DIR, dir, sizeof(dir)) == 0)
        rmdir(dir);
    ebt_layers_fini(&fs->layers);
    fs_files_fini(fs);
    free(fs);
    d->fs = NULL;
}

/* Is there a mount at mnt whose source is "ebt:<run>" (a view of that run's daemon)? */
static int mounted_by(const char *mnt, const char *run)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[3 * PATH_MAX], src[PATH_MAX + 8];
    int found = 0;
    snprintf(src, sizeof(src), "ebt:%s", run);
    while (f && !found && fgets(line, sizeof(line), f)) {
        char *save = NULL, *tok = strtok_r(line, " ", &save), *point = NULL;
        for (int i = 0; tok && i < 4; i++) /* id, parent, dev, root, then the mount point */
            tok = strtok_r(NULL, " ", &save);
        point = tok;
        char *sep = strstr(save ? save : "", " - "); /* then fstype and source */
        if (!point || !sep || strcmp(point, mnt) != 0)
            continue;
        char *fstype = strtok_r(sep + 3, " ", &save), *source = strtok_r(NULL, " ", &save);
        found = fstype && source && !strncmp(fstype, "fuse", 4) && !strcmp(source, src);
    }
    if (f)
        fclose(f);
    return found;
}

static int lazy_unmount(const char *mnt)
{
    if (umount2(mnt, MNT_DETACH) == 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        execlp("fusermount3", "fusermount3", "-u", "-z", mnt, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

int ebtd_fs_clear_stale(const char *run, const struct ebt_config *cfg)
{
    int n = 0;
    char dir[PATH_MAX], link[PATH_MAX + 16];
    for (int i = 0; i < cfg->nprefixes; i++) {
        const char *mnt = cfg->prefixes[i].path;
        if (mounted_by(mnt, run)) {
            int rc = lazy_unmount(mnt);
            if (rc < 0)
                ebt_warn("cannot unmount the stale view of %s: %s", mnt, strerror(-rc));
            else
                n++;
        }
        snprintf(link, sizeof(link), "%s/" EBT_LOWER_DIR "/%d", run, i);
        unlink(link);
    }
    if (ebt_rundir_file(run, EBT_LOWER_DIR, dir, sizeof(dir)) == 0)
        rmdir(dir);
    ebt_lower_reset();
    return n;
}
