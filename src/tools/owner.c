/* owner.c - the tools act on an existing run directory only as its owner: another user is
 * refused; root takes the owner's identity for good before touching anything (so an offline
 * flush as root creates only what the owner could); a daemon is signalled only when the process
 * is verifiably that run directory's ebtd. */
#define _GNU_SOURCE
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *user_name(uid_t uid, char *buf, size_t cap)
{
    struct passwd *pw = getpwuid(uid);
    if (pw)
        snprintf(buf, cap, "%s (uid %u)", pw->pw_name, (unsigned)uid);
    else
        snprintf(buf, cap, "uid %u", (unsigned)uid);
    return buf;
}

/* Become uid for good: its groups, its gid, then its uid (no way back to root). */
static int become(uid_t uid, gid_t dir_gid)
{
    struct passwd *pw = getpwuid(uid);
    gid_t gid = pw ? pw->pw_gid : dir_gid;
    if ((pw ? initgroups(pw->pw_name, gid) : setgroups(0, NULL)) < 0 ||
        setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return -errno;
    if (setuid(0) == 0 || geteuid() != uid)
        return -EPERM; /* still privileged: refuse rather than act as root */
    return 0;
}

int ebt_owner_assume(const char *cmd, const char *run)
{
    struct stat st;
    char who[128], me[128];
    if (lstat(run, &st) < 0) {
        fprintf(stderr, "ebt %s: %s: %s\n", cmd, run, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ebt %s: %s is not a directory\n", cmd, run);
        return -1;
    }
    uid_t euid = geteuid();
    if (st.st_uid == euid)
        return 0;
    user_name(st.st_uid, who, sizeof(who));
    if (euid != 0) {
        fprintf(stderr,
                "ebt %s: %s belongs to %s, not to %s: only its owner (or root, acting as the "
                "owner) can act on it\n",
                cmd, run, who, user_name(euid, me, sizeof(me)));
        return -1;
    }
    int rc = become(st.st_uid, st.st_gid);
    if (rc < 0) {
        fprintf(stderr, "ebt %s: cannot take the identity of %s, the owner of %s: %s\n", cmd, who,
                run, strerror(-rc));
        return -1;
    }
    fprintf(stderr, "ebt %s: %s belongs to %s: acting as that user\n", cmd, run, who);
    return 0;
}

/* /proc/<pid>/cmdline is exactly "ebtd --run-dir RUN" (how ebt_daemon_spawn starts it) and the
 * process runs as us. */
static int is_run_daemon(pid_t pid, const char *run)
{
    char path[64], buf[PATH_MAX + 64], want[PATH_MAX + 64];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    if (stat(path, &st) < 0 || st.st_uid != geteuid())
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    int len = snprintf(want, sizeof(want), "ebtd%c--run-dir%c%s%c", 0, 0, run, 0);
    return n == len && memcmp(buf, want, (size_t)len) == 0;
}

int ebt_owner_daemon_pidfd(const char *run, pid_t pid)
{
    if (pid <= 0)
        return -ESRCH;
    int pfd = pidfd_open(pid, 0);
    if (pfd < 0)
        return -errno;
    /* the pidfd pins the process: if it is still alive after the checks, they were about it */
    if (!is_run_daemon(pid, run) || pidfd_send_signal(pfd, 0, NULL, 0) < 0) {
        close(pfd);
        return -EPERM;
    }
    return pfd;
}

int ebt_owner_wait_exit(int pidfd, int timeout_ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    return n > 0 ? 0 : -ETIMEDOUT;
}
