/* orphans.c - close-mode stages whose process died without publishing them (SIGKILL, a raw
 * exit_group, a crash) are published by the flush: natively their writes were in the file.
 * A stage carries its logical path (EBT_STAGE_XATTR); its name starts with its process's pid. */
#define _GNU_SOURCE
#include "orphans.h"
#include "dirlist.h"
#include "extlog.h"
#include "log.h"
#include "rundir.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/xattr.h>

/* "<pid>.<seq>" (file.c stage_name): the pid, or 0 for other names of the stage directory. */
static pid_t stage_pid(const char *name)
{
    char *end;
    long pid = strtol(name, &end, 10);
    if (end == name || *end != '.' || pid <= 0 || !end[1])
        return 0;
    for (const char *p = end + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return (pid_t)pid;
}

static int alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

/* The target exists: this stage's whole content replaces it (the writer's last state wins, as
 * its close would have made it); its extent log, if any, learns that all of it changed. */
static int overwrite_target(const char *run, const char *stage, const char *target)
{
    struct stat sst, tst;
    int in = ebt_sys_open(stage, O_RDONLY | O_CLOEXEC, 0);
    int out = ebt_sys_open(target, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    int rc = in < 0 || out < 0 ? -errno : 0;
    if (rc == 0 && (flock(out, LOCK_EX) < 0 || ebt_sys_fstat(in, &sst) < 0 ||
                    ebt_sys_fstat(out, &tst) < 0 || ebt_sys_ftruncate(out, sst.st_size) < 0))
        rc = -errno;
    if (rc == 0)
        rc = ebt_copy_range(in, out, 0, sst.st_size);
    if (rc == 0 && ebt_sys_fchmod(out, sst.st_mode & 07777) < 0)
        rc = -errno;
    char meta[PATH_MAX];
    if (rc == 0 && ebt_meta_path(run, tst.st_ino, meta, sizeof(meta)) == 0 &&
        ebt_sys_access(meta, F_OK) == 0) {
        struct ebt_ext_rec full = {EBT_EXT_FULL, 0, 0, 0};
        rc = ebt_extlog_append(meta, &full, 1);
    }
    if (in >= 0)
        ebt_sys_close(in);
    if (out >= 0)
        ebt_sys_close(out);
    return rc < 0 ? rc : ebt_sys_unlink(stage) < 0 ? -errno : 0;
}

static int newer(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

/* 1 if published, 0 if something the job did after the writer's last write supersedes it: the
 * name was removed (a whiteout at or after it, or no file where a published stage was) or the file
 * changed again (natively those later changes would stand), or -errno. */
static int publish_orphan(const char *run, const char *up, const char *stage, const char *logical)
{
    char target[PATH_MAX], wh[PATH_MAX];
    struct stat st, sst, wst;
    if (ebt_layer_path(up, logical, target, sizeof(target)) < 0 ||
        ebt_whiteout_path(up, logical, wh, sizeof(wh)) < 0)
        return -ENAMETOOLONG;
    if (ebt_sys_lstat(stage, &sst) < 0)
        return -errno;
    if (ebt_sys_lstat(wh, &wst) == 0 && newer(&wst.st_ctim, &sst.st_mtim))
        return 0;
    if (ebt_sys_lstat(target, &st) == 0) {
        int placeholder = S_ISREG(st.st_mode) && st.st_size == 0 &&
                          lgetxattr(target, EBT_PLACEHOLDER_XATTR, NULL, 0) >= 0;
        if (!S_ISREG(st.st_mode) || (!placeholder && newer(&st.st_mtim, &sst.st_mtim)))
            return 0;
        int rc = overwrite_target(run, stage, target);
        return rc < 0 ? rc : 1;
    }
    char one[2];
    if (getxattr(stage, EBT_STAGE_PUBLISHED_XATTR, one, sizeof(one)) > 0)
        return 0; /* published, then its name was removed or renamed: nothing to bring back */
    removexattr(stage, EBT_STAGE_XATTR);
    int rc = ebt_rename_noreplace_mkparents(stage, target);
    if (rc == 0)
        ebt_sys_unlink(wh); /* (older than the stage: the name was made again) */
    return rc < 0 ? rc : 1;
}

/* One entry of RUN/stage: 1 if published, 0 if not an orphan, or -errno. */
static int orphan_entry(const char *run, const char *up, const char *dir, const char *name)
{
    char stage[PATH_MAX], logical[PATH_MAX];
    pid_t pid = stage_pid(name);
    if (!pid || alive(pid) || snprintf(stage, sizeof(stage), "%s/%s", dir, name) >= PATH_MAX)
        return 0;
    ssize_t n = getxattr(stage, EBT_STAGE_XATTR, logical, sizeof(logical) - 1);
    if (n <= 0 || logical[0] != '/')
        return 0; /* unlinked by the job, or not a stage */
    logical[n] = '\0';
    int rc = publish_orphan(run, up, stage, logical);
    if (rc < 0)
        ebt_error("flush: cannot publish %s (left by process %d) as %s: %s", stage, (int)pid,
                  logical, strerror(-rc));
    else if (rc > 0)
        ebt_warn("flush: published %s, left unpublished by process %d that died", logical,
                 (int)pid);
    else
        ebt_info("flush: %s left by process %d is superseded by later changes", logical, (int)pid);
    return rc;
}

int ebtd_publish_orphans(const char *run, int *published)
{
    char dir[PATH_MAX], up[PATH_MAX];
    struct ebt_dirlist l;
    *published = 0;
    if (ebt_rundir_file(run, "stage", dir, sizeof(dir)) < 0 ||
        ebt_layer_root(run, NULL, up, sizeof(up)) < 0)
        return -ENAMETOOLONG;
    int rc = ebt_dirlist_read(dir, &l);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    for (size_t i = 0; i < l.n; i++) {
        int one = l.e[i].type == DT_REG ? orphan_entry(run, up, dir, l.e[i].name) : 0;
        if (one > 0)
            (*published)++;
        else if (one < 0 && rc == 0)
            rc = one;
    }
    ebt_dirlist_free(&l);
    return rc;
}
