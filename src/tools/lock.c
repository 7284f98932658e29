/* lock.c - one managed prefix belongs to at most one running job per node: each job announces
 * its prefixes in an entry file of a per-node lock directory and holds an flock on it (ebtd
 * inherits it, so it dies with its holders), then looks for live entries that overlap. */
#define _GNU_SOURCE
#include "tool.h"
#include "path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_SHARED_DIR "/run/ebt" /* made by the admin: root, mode 1777 (docs/semantics.md) */
#define LOCK_ENTRY_MAX 65536

static int lock_fd = -1;
static char lock_path[PATH_MAX + 160];
static char lock_body[LOCK_ENTRY_MAX]; /* the entry but its first line, "pid=<holder>" */
static pid_t lock_holder;

/* One job's entry, as read back. */
struct lock_entry {
    char run[PATH_MAX], job[64];
    int nodes, node;
    pid_t pid;
    uid_t uid; /* the entry file's owner */
    char prefixes[EBT_MAX_PREFIXES][PATH_MAX];
    int nprefixes;
};

/* /run/ebt when the admin made it (root's, sticky, world-writable): every user of the node. */
static int shared_dir_ok(void)
{
    struct stat st;
    return lstat(LOCK_SHARED_DIR, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
           (st.st_mode & S_ISVTX) && (st.st_mode & 0777) == 0777;
}

/* A directory only this user may write: made if missing, refused if someone else made it. */
static int private_dir(const char *cmd, const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "ebt %s: lock directory %s: %s\n", cmd, dir, strerror(errno));
        return -1;
    }
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
        (st.st_mode & 077)) {
        fprintf(stderr,
                "ebt %s: lock directory %s is not a directory private to uid %u (owner %u, mode "
                "%o): refusing to use it; remove it\n",
                cmd, dir, (unsigned)getuid(), (unsigned)st.st_uid, st.st_mode & 07777);
        return -1;
    }
    return 0;
}

/* Where this node's jobs announce their prefixes; 0 or -1 (printed). *shared: all users. */
static int lock_dir(const char *cmd, char *out, size_t cap, int *shared)
{
    struct stat st;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    *shared = shared_dir_ok();
    if (*shared) {
        snprintf(out, cap, "%s", LOCK_SHARED_DIR);
        return 0;
    }
    if (xdg && xdg[0] == '/' && lstat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
        st.st_uid == getuid() && !(st.st_mode & 077))
        snprintf(out, cap, "%s/ebt-locks", xdg);
    else
        snprintf(out, cap, "/tmp/ebt-locks.%u", (unsigned)getuid());
    return private_dir(cmd, out);
}

static void entry_text(const struct ebt_tool_opts *o, const char *run)
{
    size_t n =
        (size_t)snprintf(lock_body, sizeof(lock_body), "run=%s\nnodes=%d\nnode=%d\njob=%s\n", run,
                         o->nodes > 1 ? o->nodes : 1, o->nodes > 1 ? o->node_id : 0, o->job_id);
    for (int i = 0; i < o->npfs && n < sizeof(lock_body); i++)
        n += (size_t)snprintf(lock_body + n, sizeof(lock_body) - n, "prefix=%s\n", o->pfs[i]);
}

static int entry_write(void)
{
    char first[32];
    int k = snprintf(first, sizeof(first), "pid=%d\n", (int)lock_holder);
    size_t n = strlen(lock_body);
    if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, first, (size_t)k, 0) != k ||
        pwrite(lock_fd, lock_body, n, k) != (ssize_t)n)
        return -errno;
    return 0;
}

static void entry_parse(char *text, struct lock_entry *e)
{
    memset(e, 0, sizeof(*e));
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(l, "pid=", 4))
            e->pid = (pid_t)atoi(l + 4);
        else if (!strncmp(l, "run=", 4))
            snprintf(e->run, sizeof(e->run), "%s", l + 4);
        else if (!strncmp(l, "nodes=", 6))
            e->nodes = atoi(l + 6);
        else if (!strncmp(l, "node=", 5))
            e->node = atoi(l + 5);
        else if (!strncmp(l, "job=", 4))
            snprintf(e->job, sizeof(e->job), "%s", l + 4);
        else if (!strncmp(l, "prefix=", 7) && e->nprefixes < EBT_MAX_PREFIXES)
            snprintf(e->prefixes[e->nprefixes++], PATH_MAX, "%s", l + 7);
    }
}

/* Is the process pid alive, and (when we can see it) one of uid's? */
static int holder_alive(pid_t pid, uid_t uid)
{
    char proc[64];
    struct stat st;
    if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
        return 0;
    snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
    return stat(proc, &st) < 0 || st.st_uid == uid; /* hidden (hidepid): assume so */
}

/* May uid write directory dir? (mode bits and groups; an entry of another user only counts for
 * a prefix that user could write, so nobody can block a prefix they cannot write) */
static int uid_may_write(uid_t uid, const char *dir)
{
    struct stat st;
    struct passwd *pw = getpwuid(uid);
    gid_t groups[256];
    int n = 256;
    if (uid == 0 || stat(dir, &st) < 0)
        return 1;
    if (st.st_uid == uid)
        return (st.st_mode & S_IWUSR) != 0;
    if ((st.st_mode & S_IWGRP) && pw && getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0)
        for (int i = 0; i < n; i++)
            if (groups[i] == st.st_gid)
                return 1;
    return (st.st_mode & S_IWOTH) != 0;
}

/* Read the entry name in dfd if it is live: someone holds its flock and its holder process lives.
 * A stale entry of ours is removed. 1 live (e filled), 0 not. */
static int entry_live(int dfd, const char *name, struct lock_entry *e)
{
    struct stat st;
    char text[LOCK_ENTRY_MAX];
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    int held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    ssize_t n = held ? pread(fd, text, sizeof(text) - 1, 0) : 0;
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    entry_parse(text, e);
    e->uid = st.st_uid;
    if (held && holder_alive(e->pid, st.st_uid))
        return 1;
    if (st.st_uid == getuid())
        unlinkat(dfd, name, 0);
    return 0;
}

/* Virtual nodes of one multi-node job on one host share the prefixes. */
static int same_job_other_node(const struct ebt_tool_opts *o, const struct lock_entry *e)
{
    return o->nodes > 1 && e->nodes > 1 && o->job_id[0] && !strcmp(o->job_id, e->job) &&
           o->node_id != e->node;
}

static int entry_conflict(const char *cmd, const struct ebt_tool_opts *o,
                          const struct lock_entry *e)
{
    if (same_job_other_node(o, e))
        return 0;
    for (int i = 0; i < o->npfs; i++)
        for (int j = 0; j < e->nprefixes; j++) {
            const char *p = o->pfs[i], *q = e->prefixes[j];
            if ((!ebt_path_under(p, q) && !ebt_path_under(q, p)) ||
                (e->uid != getuid() && !uid_may_write(e->uid, q)))
                continue;
            fprintf(stderr,
                    "ebt %s: --pfs %s: %s is managed by another running job on this node (run "
                    "directory %s, pid %d); a managed directory belongs to one job per node: "
                    "wait for it to end (ebt stop --run-dir %s) or use another directory\n",
                    cmd, p, q, e->run, (int)e->pid, e->run);
            return 1;
        }
    return 0;
}

/* Any live entry but ours overlapping our prefixes? 1 (printed), 0, -1 (printed). */
static int scan_conflicts(const char *cmd, const char *dir, const char *own,
                          const struct ebt_tool_opts *o)
{
    static struct lock_entry e;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ebt %s: lock directory %s: %s\n", cmd, dir, strerror(errno));
        return -1;
    }
    int found = 0;
    for (struct dirent *de; !found && (de = readdir(d));)
        if (!strncmp(de->d_name, "job.", 4) && strcmp(de->d_name, own) &&
            entry_live(dirfd(d), de->d_name, &e))
            found = entry_conflict(cmd, o, &e);
    closedir(d);
    return found;
}

static int entry_create(const char *cmd, const char *dir, int shared, char *name, size_t cap)
{
    for (int tries = 0; tries < 100; tries++) {
        snprintf(name, cap, "job.%u.%d.%ld", (unsigned)getuid(), (int)getpid(), random());
        snprintf(lock_path, sizeof(lock_path), "%s/%s", dir, name);
        lock_fd = open(lock_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       shared ? 0644 : 0600);
        if (lock_fd >= 0 || errno != EEXIST)
            break;
    }
    if (lock_fd < 0 || fchmod(lock_fd, shared ? 0644 : 0600) < 0 || flock(lock_fd, LOCK_EX) < 0 ||
        entry_write() < 0) {
        fprintf(stderr, "ebt %s: lock entry %s: %s\n", cmd, lock_path, strerror(errno));
        ebt_lock_release();
        return -1;
    }
    return 0;
}

int ebt_lock_prefixes(const char *cmd, const struct ebt_tool_opts *o, const char *run)
{
    char dir[PATH_MAX], name[128];
    int shared;
    if (lock_dir(cmd, dir, sizeof(dir), &shared) < 0)
        return -1;
    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    entry_text(o, run);
    lock_holder = getpid();
    /* announce first, then look: of two jobs starting at once, at least one sees the other */
    if (entry_create(cmd, dir, shared, name, sizeof(name)) < 0)
        return -1;
    if (scan_conflicts(cmd, dir, name, o) != 0) {
        ebt_lock_release();
        return -1;
    }
    return 0;
}

void ebt_lock_inherit(int yes)
{
    if (lock_fd >= 0)
        fcntl(lock_fd, F_SETFD, yes ? 0 : FD_CLOEXEC);
}

int ebt_lock_fd(void)
{
    return lock_fd;
}

void ebt_lock_set_holder(const char *run)
{
    char path[PATH_MAX + 16], text[32] = "";
    snprintf(path, sizeof(path), "%s/ebtd.pid", run);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
    if (fd >= 0)
        close(fd);
    text[n > 0 ? n : 0] = '\0';
    pid_t pid = (pid_t)atoi(text);
    if (lock_fd < 0 || pid <= 0)
        return;
    lock_holder = pid;
    entry_write();
}

void ebt_lock_release(void)
{
    if (lock_fd < 0)
        return;
    unlink(lock_path);
    close(lock_fd);
    lock_fd = -1;
}
