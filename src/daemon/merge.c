/* merge.c - task-layer merge: whiteouts, opaque dirs, renames and changed-range copies. */
#define _GNU_SOURCE
#include "merge.h"
#include "dirlist.h"
#include "extlog.h"
#include "layer.h"
#include "log.h"
#include "rundir.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct merge {
    const char *run;
    struct ebt_merge_stats *st;
    char *err;
    size_t errcap;
};

static int merge_fail(struct merge *m, const char *what, const char *path, int rc)
{
    snprintf(m->err, m->errcap, "task merge: %s %s: %s", what, path, strerror(-rc));
    ebt_error("%s", m->err);
    return rc;
}

uint64_t ebt_merge_new_size(uint64_t up_size, uint64_t task_size, uint64_t task_base,
                            int task_truncated)
{
    if (task_truncated || task_size < task_base)
        return task_size;
    return up_size > task_size ? up_size : task_size;
}

static int append_writes(const char *meta, const struct ebt_ivs *iv)
{
    for (size_t i = 0; i < iv->n; i++) {
        struct ebt_ext_rec r = {.kind = EBT_EXT_WRITE,
                                .pid = 0,
                                .off = iv->iv[i][0],
                                .len = iv->iv[i][1] - iv->iv[i][0]};
        int rc = ebt_extlog_append(meta, &r, 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Copy the changed ranges of task file t (summary sum) into the existing up file u. */
static int merge_copy(struct merge *m, const char *t, const char *u, const struct stat *tst,
                      struct ebt_ext_summary *sum)
{
    int in = ebt_sys_open(t, O_RDONLY | O_CLOEXEC, 0);
    int out = ebt_sys_open(u, O_WRONLY | O_CLOEXEC, 0);
    struct stat ust;
    int rc = (in < 0 || out < 0 || ebt_sys_fstat(out, &ust) < 0) ? -errno : 0;
    int truncated = sum->changed.n && sum->changed.iv[sum->changed.n - 1][1] == UINT64_MAX;
    uint64_t size = ebt_merge_new_size((uint64_t)(rc ? 0 : ust.st_size), (uint64_t)tst->st_size,
                                       sum->base, truncated);
    ebt_ivs_clip(&sum->changed, (uint64_t)tst->st_size);
    if (rc == 0 && (uint64_t)ust.st_size != size && ebt_sys_ftruncate(out, (off_t)size) < 0)
        rc = -errno;
    for (size_t i = 0; rc == 0 && i < sum->changed.n; i++)
        rc = ebt_copy_range(in, out, (off_t)sum->changed.iv[i][0],
                            (off_t)(sum->changed.iv[i][1] - sum->changed.iv[i][0]));
    struct timespec ts[2] = {tst->st_atim, tst->st_mtim};
    if (rc == 0 && (ebt_sys_fchmod(out, tst->st_mode & 07777) < 0 ||
                    syscall(SYS_utimensat, out, NULL, ts, 0) < 0))
        rc = -errno;
    char meta[PATH_MAX];
    if (rc == 0 && ebt_meta_path(m->run, (unsigned long long)ust.st_ino, meta, sizeof(meta)) == 0 &&
        ebt_sys_access(meta, F_OK) == 0)
        rc = append_writes(meta, &sum->changed);
    if (in >= 0)
        ebt_sys_close(in);
    if (out >= 0)
        ebt_sys_close(out);
    return rc < 0 ? merge_fail(m, "copy into", u, rc) : 0;
}

static int merge_rename(struct merge *m, const char *t, const char *u)
{
    int rc = ebt_layer_remove(m->run, u);
    if (rc == 0 && ebt_sys_rename(t, u) < 0)
        rc = -errno;
    m->st->renamed++;
    return rc < 0 ? merge_fail(m, "rename to", u, rc) : 0;
}

static int merge_file(struct merge *m, const char *t, const char *u)
{
    struct stat tst, ust = {0};
    char meta[PATH_MAX];
    struct ebt_ext_summary sum;
    if (ebt_sys_lstat(t, &tst) < 0)
        return merge_fail(m, "stat", t, -errno);
    if (!S_ISREG(tst.st_mode) || ebt_meta_path(m->run, tst.st_ino, meta, sizeof(meta)) < 0)
        return merge_rename(m, t, u);
    int rc = ebt_extlog_load(meta, &sum);
    if (rc < 0)
        return merge_fail(m, "read extent log of", t, rc);
    int up_reg = ebt_sys_lstat(u, &ust) == 0 && S_ISREG(ust.st_mode);
    if (!sum.exists || sum.whole || !up_reg) {
        ebt_extlog_summary_free(&sum);
        return merge_rename(m, t, u); /* the log, if any, follows the inode */
    }
    rc = merge_copy(m, t, u, &tst, &sum);
    ebt_extlog_summary_free(&sum);
    if (rc == 0) {
        ebt_sys_unlink(t);
        ebt_sys_unlink(meta);
        m->st->copied++;
    }
    return rc;
}

static int merge_dir(struct merge *m, const char *troot, const char *uroot, const char *rel);

static int join(char *out, size_t cap, const char *a, const char *b, const char *c)
{
    return snprintf(out, cap, "%s%s/%s", a, b, c) >= (int)cap ? -ENAMETOOLONG : 0;
}

/* A task directory: make sure up has a directory there, merge into it, drop the task copy. */
static int merge_subdir(struct merge *m, const char *troot, const char *uroot, const char *rel,
                        const char *name)
{
    char t[PATH_MAX], u[PATH_MAX], sub[PATH_MAX];
    struct stat tst, ust;
    if (join(t, sizeof(t), troot, rel, name) || join(u, sizeof(u), uroot, rel, name) ||
        snprintf(sub, sizeof(sub), "%s/%s", rel, name) >= (int)sizeof(sub))
        return merge_fail(m, "path", name, -ENAMETOOLONG);
    if (ebt_sys_lstat(t, &tst) < 0)
        return merge_fail(m, "stat", t, -errno);
    if (ebt_sys_lstat(u, &ust) == 0 && !S_ISDIR(ust.st_mode))
        ebt_layer_remove(m->run, u);
    if (ebt_sys_mkdir(u, tst.st_mode & 07777) < 0 && errno != EEXIST)
        return merge_fail(m, "mkdir", u, -errno);
    m->st->dirs++;
    int rc = merge_dir(m, troot, uroot, sub);
    struct timespec ts[2] = {tst.st_atim, tst.st_mtim}; /* the task's directory times win */
    if (rc == 0 && syscall(SYS_utimensat, AT_FDCWD, u, ts, AT_SYMLINK_NOFOLLOW) < 0)
        rc = merge_fail(m, "times", u, -errno);
    if (rc == 0 && ebt_sys_rmdir(t) < 0)
        rc = ebt_layer_remove(m->run, t);
    return rc;
}

static int merge_opaque(struct merge *m, const char *u, const char *t)
{
    char target[PATH_MAX];
    int rc = join(target, sizeof(target), u, "", EBT_OPAQUE_NAME);
    if (rc == 0)
        rc = ebt_layer_clear_dir(m->run, u);
    if (rc == 0)
        rc = ebt_layer_touch(target);
    m->st->opaques++;
    if (rc < 0)
        return merge_fail(m, "make opaque", u, rc);
    ebt_sys_unlink(t); /* applied: consume it so a resumed merge does not clear again */
    return 0;
}

static int merge_special(struct merge *m, const char *u, const char *t, const char *name)
{
    char target[PATH_MAX], wh[PATH_MAX];
    if (!strcmp(name, EBT_OPAQUE_NAME))
        return merge_opaque(m, u, t);
    if (strncmp(name, EBT_WHITEOUT_PREFIX, strlen(EBT_WHITEOUT_PREFIX)) != 0)
        return 0; /* unknown reserved name: ignored */
    int rc = join(target, sizeof(target), u, "", name + strlen(EBT_WHITEOUT_PREFIX));
    if (rc == 0)
        rc = join(wh, sizeof(wh), u, "", name);
    if (rc == 0)
        rc = ebt_layer_remove(m->run, target);
    if (rc == 0)
        rc = ebt_layer_touch(wh);
    m->st->whiteouts++;
    if (rc < 0)
        return merge_fail(m, "whiteout", target, rc);
    ebt_sys_unlink(t);
    return 0;
}

static int entry_pass(const char *name)
{
    if (!strcmp(name, EBT_OPAQUE_NAME))
        return 0;
    return ebt_name_reserved(name) ? 1 : 2;
}

static int merge_entry(struct merge *m, const char *troot, const char *uroot, const char *rel,
                       const struct ebt_dirent *e)
{
    char t[PATH_MAX], u[PATH_MAX];
    if (join(t, sizeof(t), troot, rel, e->name) < 0 || join(u, sizeof(u), uroot, rel, e->name) < 0)
        return merge_fail(m, "path", e->name, -ENAMETOOLONG);
    if (ebt_name_reserved(e->name)) {
        snprintf(u, sizeof(u), "%s%s", uroot, rel);
        return merge_special(m, u, t, e->name);
    }
    if (e->type == DT_DIR)
        return merge_subdir(m, troot, uroot, rel, e->name);
    return merge_file(m, t, u);
}

/* Entries of one directory: opaque marker first, then whiteouts, then the rest (sorted). */
static int merge_entries(struct merge *m, const char *troot, const char *uroot, const char *rel,
                         struct ebt_dirlist *l)
{
    int rc = 0;
    for (int pass = 0; pass < 3 && rc == 0; pass++)
        for (size_t i = 0; i < l->n && rc == 0; i++)
            if (entry_pass(l->e[i].name) == pass)
                rc = merge_entry(m, troot, uroot, rel, &l->e[i]);
    return rc;
}

static int merge_dir(struct merge *m, const char *troot, const char *uroot, const char *rel)
{
    char t[PATH_MAX];
    struct ebt_dirlist l;
    snprintf(t, sizeof(t), "%s%s", troot, rel);
    int rc = ebt_dirlist_read(t, &l);
    if (rc < 0)
        return merge_fail(m, "list", t, rc);
    rc = merge_entries(m, troot, uroot, rel, &l);
    ebt_dirlist_free(&l);
    return rc;
}

static int cmp_tid(const void *a, const void *b)
{
    /* Numeric ids (MPI ranks) in numeric order first, then named tasks in name order. */
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int xn = x[strspn(x, "0123456789")] == '\0', yn = y[strspn(y, "0123456789")] == '\0';
    if (xn != yn)
        return xn ? -1 : 1;
    if (xn) {
        unsigned long long u = strtoull(x, NULL, 10), v = strtoull(y, NULL, 10);
        return (u > v) - (u < v);
    }
    return strcmp(x, y);
}

static int merge_task(struct merge *m, const char *tid)
{
    char troot[PATH_MAX], uroot[PATH_MAX];
    ebt_layer_root(m->run, tid, troot, sizeof(troot));
    ebt_layer_root(m->run, NULL, uroot, sizeof(uroot));
    ebt_info("merging task layer %s", tid);
    int rc = merge_dir(m, troot, uroot, "");
    if (rc == 0)
        rc = ebt_layer_remove(m->run, troot);
    m->st->tasks++;
    return rc < 0 ? merge_fail(m, "remove", troot, rc) : 0;
}

int ebt_merge_tasks(const char *run_dir, struct ebt_merge_stats *st, char *err, size_t errcap)
{
    struct merge m = {.run = run_dir, .st = st, .err = err, .errcap = errcap};
    char tdir[PATH_MAX];
    struct ebt_dirlist l;
    ebt_rundir_file(run_dir, "task", tdir, sizeof(tdir));
    int rc = ebt_dirlist_read(tdir, &l);
    if (rc < 0)
        return rc == -ENOENT ? 0 : merge_fail(&m, "list", tdir, rc);
    char **tids = calloc(l.n + 1, sizeof(*tids));
    size_t n = 0;
    for (size_t i = 0; tids && i < l.n; i++)
        if (l.e[i].type == DT_DIR && l.e[i].name[0] != '.')
            tids[n++] = l.e[i].name;
        else
            ebt_warn("task merge: ignoring %s/%s (not a numeric task id)", tdir, l.e[i].name);
    if (tids)
        qsort(tids, n, sizeof(*tids), cmp_tid);
    for (size_t i = 0; tids && i < n && rc == 0; i++)
        rc = merge_task(&m, tids[i]);
    if (!tids)
        rc = -ENOMEM;
    free(tids);
    ebt_dirlist_free(&l);
    return rc;
}
