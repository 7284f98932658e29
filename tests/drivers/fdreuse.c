/* fdreuse - regression cases for fd numbers, dup, fork, fcntl flags and exec on managed files. */
#define _GNU_SOURCE
#include "drv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WHY_LEN 512

static const char *g_dir;          /* managed directory (argument) */
static char g_unmanaged[PATH_MAX]; /* a file outside the managed tree */
static char g_self[PATH_MAX];      /* this program, for re-exec */

static int fail(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(why, WHY_LEN, fmt, ap);
    va_end(ap);
    if (errno && n < WHY_LEN)
        snprintf(why + n, (size_t)(WHY_LEN - n), " (errno %s)", strerrorname_np(errno));
    return 1;
}

static void mpath(char *out, const char *name)
{
    snprintf(out, PATH_MAX, "%s/%s", g_dir, name);
}

static int put_file(const char *path, const char *s)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int r = drv_write_all(fd, s, strlen(s));
    return close(fd) < 0 ? -1 : r;
}

/* 0 if the file at path holds exactly s. */
static int file_is(const char *path, const char *s)
{
    char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = drv_read_upto(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    errno = 0;
    return strcmp(buf, s) == 0 ? 0 : 1;
}

static int fd_is(int fd, const char *s)
{
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n < 0)
        return -1;
    buf[n] = 0;
    errno = 0;
    return strcmp(buf, s) == 0 ? 0 : 1;
}

static int write_str(int fd, const char *s)
{
    return drv_write_all(fd, s, strlen(s));
}

/* (a) open/close/open cycles reuse the same number; the data is right every time. */
static int case_reuse(char *why)
{
    char a[PATH_MAX], b[PATH_MAX], want[64];
    mpath(a, "reuse_a.dat");
    mpath(b, "reuse_b.dat");
    int first = -1;
    for (int i = 0; i < 20; i++) {
        const char *path = (i % 2) ? b : a;
        int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
        if (fd < 0)
            return fail(why, "open cycle %d", i);
        if (first < 0)
            first = fd;
        if (fd != first)
            return fail(why, "cycle %d got fd %d, expected lowest free %d", i, fd, first);
        snprintf(want, sizeof(want), "cycle %d of %s\n", i, (i % 2) ? "b" : "a");
        if (write_str(fd, want) < 0 || close(fd) < 0)
            return fail(why, "write/close cycle %d", i);
        if (file_is(path, want) != 0)
            return fail(why, "cycle %d: content of %s wrong after reopen", i, path);
    }
    return file_is(a, "cycle 18 of a\n") || file_is(b, "cycle 19 of b\n")
               ? fail(why, "final contents wrong")
               : 0;
}

/* (b) a number freed by a managed close and reused by an unmanaged open (or a pipe). */
static int case_reuse_unmanaged(char *why)
{
    char m[PATH_MAX];
    mpath(m, "b_managed.dat");
    int fd = open(m, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0 || write_str(fd, "managed\n") < 0 || close(fd) < 0)
        return fail(why, "create managed file");
    int u = open(g_unmanaged, O_RDWR | O_TRUNC);
    if (u != fd)
        return fail(why, "unmanaged open got fd %d, expected reused %d", u, fd);
    if (write_str(u, "unmanaged\n") < 0 || close(u) < 0)
        return fail(why, "write to unmanaged fd");
    if (file_is(g_unmanaged, "unmanaged\n") != 0)
        return fail(why, "unmanaged file did not receive the write");
    if (file_is(m, "managed\n") != 0)
        return fail(why, "managed file changed by a write to an unmanaged fd with its old number");
    int pfd[2];
    char buf[8] = {0};
    fd = open(m, O_RDONLY);
    if (fd < 0 || close(fd) < 0 || pipe(pfd) < 0)
        return fail(why, "reopen/pipe");
    if (pfd[0] != fd)
        return fail(why, "pipe got %d, expected reused %d", pfd[0], fd);
    if (write(pfd[1], "pipe", 4) != 4 || read(pfd[0], buf, 4) != 4 || strcmp(buf, "pipe"))
        return fail(why, "pipe on a reused managed number does not work");
    close(pfd[0]), close(pfd[1]);
    return 0;
}

/* (c1) dup2 an unmanaged fd over a managed one and the other way round. */
static int case_dup2_cross(char *why)
{
    char m[PATH_MAX];
    mpath(m, "c_managed.dat");
    if (put_file(m, "MMMMMMMM\n") < 0 || put_file(g_unmanaged, "UUUUUUUU\n") < 0)
        return fail(why, "setup");
    int mf = open(m, O_RDWR), uf = open(g_unmanaged, O_RDWR);
    if (mf < 0 || uf < 0 || dup2(uf, mf) != mf)
        return fail(why, "open/dup2(unmanaged, managed)");
    if (write_str(mf, "via-m") < 0 || close(mf) < 0 || close(uf) < 0)
        return fail(why, "write through dup2'd fd");
    if (file_is(g_unmanaged, "via-mUUU\n") != 0)
        return fail(why,
                    "write via managed number after dup2(unmanaged) missed the unmanaged file");
    if (file_is(m, "MMMMMMMM\n") != 0)
        return fail(why, "managed file changed after its fd was replaced by dup2");
    mf = open(m, O_RDWR), uf = open(g_unmanaged, O_RDWR);
    if (mf < 0 || uf < 0 || dup2(mf, uf) != uf)
        return fail(why, "open/dup2(managed, unmanaged)");
    if (write_str(uf, "via-u") < 0 || close(mf) < 0 || close(uf) < 0)
        return fail(why, "write through dup2'd fd");
    if (file_is(m, "via-uMMM\n") != 0)
        return fail(why, "write via unmanaged number after dup2(managed) missed the managed file");
    if (file_is(g_unmanaged, "via-mUUU\n") != 0)
        return fail(why, "unmanaged file changed after its fd was replaced by dup2");
    return 0;
}

static int check_pos(int fd, off_t want, const char *name, char *why)
{
    off_t pos = lseek(fd, 0, SEEK_CUR);
    return pos == want
               ? 0
               : fail(why, "%s offset %lld, expected %lld", name, (long long)pos, (long long)want);
}

static int check_cloexec(int fd, int want, const char *name, char *why)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || !!(fl & FD_CLOEXEC) != want)
        return fail(why, "%s: F_GETFD %d, FD_CLOEXEC expected %s", name, fl,
                    want ? "set" : "clear");
    return 0;
}

/* (c2) dup, dup3 and F_DUPFD_CLOEXEC share the offset; CLOEXEC only on the new numbers. */
static int case_dup_offset(char *why)
{
    char m[PATH_MAX];
    mpath(m, "c_dup.dat");
    int fd = open(m, O_CREAT | O_RDWR | O_TRUNC, 0644);
    int d1 = dup(fd), d2 = dup3(fd, 100, O_CLOEXEC), d3 = fcntl(fd, F_DUPFD_CLOEXEC, 50);
    if (fd < 0 || d1 < 0 || d2 != 100 || d3 < 50)
        return fail(why, "open/dup/dup3/F_DUPFD_CLOEXEC: %d %d %d %d", fd, d1, d2, d3);
    if (check_cloexec(d1, 0, "dup", why) || check_cloexec(d2, 1, "dup3", why) ||
        check_cloexec(d3, 1, "F_DUPFD_CLOEXEC", why) || check_cloexec(fd, 0, "original", why))
        return 1;
    if (write_str(fd, "12345") < 0 || check_pos(d1, 5, "dup", why))
        return 1;
    if (write_str(d1, "678") < 0 || check_pos(d2, 8, "dup3", why))
        return 1;
    if (write_str(d2, "9") < 0 || write_str(d3, "0") < 0 || check_pos(fd, 10, "original", why))
        return 1;
    if (close(fd) < 0 || write_str(d1, "!") < 0 || fd_is(d3, "1234567890!") != 0)
        return fail(why, "dup'd fd after closing the original");
    close(d1), close(d2), close(d3);
    return file_is(m, "1234567890!") ? fail(why, "final content wrong") : 0;
}

static pid_t fork_flushed(void)
{
    fflush(NULL);
    return fork();
}

/* Child of case_fork_read: continue reading the shared fd. */
static int child_read(int fd, const char *want)
{
    char buf[11] = {0};
    if (read(fd, buf, 10) != 10 || strcmp(buf, want) != 0) {
        drv_err(0, "child read '%s', expected '%s' (offset not shared)", buf, want);
        return 1;
    }
    return 0;
}

/* (d) after fork both processes share the offset of a managed fd, for reads and writes. */
static int case_fork_offsets(char *why)
{
    char m[PATH_MAX], buf[11] = {0};
    mpath(m, "d_fork.dat");
    if (put_file(m, "0123456789abcdefghijABCDEFGHIJ") < 0)
        return fail(why, "setup");
    int fd = open(m, O_RDONLY);
    if (fd < 0 || read(fd, buf, 10) != 10)
        return fail(why, "open/read");
    pid_t pid = fork_flushed();
    if (pid == 0)
        _exit(child_read(fd, "abcdefghij"));
    if (pid < 0 || drv_wait_ok(pid, "reader child"))
        return fail(why, "child did not continue at offset 10");
    if (read(fd, buf, 10) != 10 || strcmp(buf, "ABCDEFGHIJ") != 0)
        return fail(why, "parent read '%s' after the child, expected ABCDEFGHIJ", buf);
    close(fd);
    fd = open(m, O_WRONLY | O_TRUNC);
    if (fd < 0 || write_str(fd, "parent1\n") < 0)
        return fail(why, "open for write");
    pid = fork_flushed();
    if (pid == 0)
        _exit(write_str(fd, "child\n") < 0);
    if (pid < 0 || drv_wait_ok(pid, "writer child") || write_str(fd, "parent2\n") < 0)
        return fail(why, "shared write");
    close(fd);
    return file_is(m, "parent1\nchild\nparent2\n") ? fail(why, "interleaved writes wrong") : 0;
}

static int set_append(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, on ? fl | O_APPEND : fl & ~O_APPEND);
}

/* (e) F_GETFL reports and F_SETFL toggles O_APPEND on a managed fd. */
static int case_append_toggle(char *why)
{
    char m[PATH_MAX];
    mpath(m, "e_append.dat");
    int fd = open(m, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0 || write_str(fd, "abc") < 0)
        return fail(why, "open/write");
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || (fl & O_APPEND))
        return fail(why, "F_GETFL 0x%x after open(O_RDWR)", fl);
    if (set_append(fd, 1) < 0 || !(fcntl(fd, F_GETFL) & O_APPEND))
        return fail(why, "F_SETFL O_APPEND not reported by F_GETFL");
    if (lseek(fd, 0, SEEK_SET) != 0 || write_str(fd, "def") < 0 || fd_is(fd, "abcdef"))
        return fail(why, "write with O_APPEND set did not go to the end");
    if (set_append(fd, 0) < 0 || (fcntl(fd, F_GETFL) & O_APPEND))
        return fail(why, "clearing O_APPEND not reported by F_GETFL");
    if (lseek(fd, 0, SEEK_SET) != 0 || write_str(fd, "X") < 0 || fd_is(fd, "Xbcdef"))
        return fail(why, "write after clearing O_APPEND did not go to offset 0");
    close(fd);
    fd = open(m, O_WRONLY | O_APPEND);
    fl = fd < 0 ? -1 : fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) != O_WRONLY || !(fl & O_APPEND))
        return fail(why, "F_GETFL 0x%x after open(O_WRONLY|O_APPEND)", fl);
    close(fd);
    return file_is(m, "Xbcdef") ? fail(why, "final content wrong") : 0;
}

/* Re-exec'd side of (f): argv = closed fds..., "--", open fd and its expected remaining data. */
static int exec_check(int argc, char **argv)
{
    int bad = 0;
    int i = 2;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        int fd = atoi(argv[i]);
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            bad = 1, drv_err(0, "fd %d with close-on-exec is still open after exec", fd);
    }
    if (i + 2 >= argc)
        drv_die(0, "usage: --exec-check CLOSED... -- FD REST");
    int fd = atoi(argv[i + 1]);
    char buf[256] = {0};
    if (fcntl(fd, F_GETFD) != 0)
        bad = 1, drv_err(errno, "inherited fd %d: F_GETFD not 0 after exec", fd);
    else if (drv_read_upto(fd, buf, sizeof(buf) - 1) < 0 || strcmp(buf, argv[i + 2]) != 0)
        bad = 1, drv_err(errno, "inherited fd %d read '%s', expected '%s'", fd, buf, argv[i + 2]);
    return bad;
}

static int spawn_self_check(int c1, int c2, int keep)
{
    char a[3][16];
    snprintf(a[0], 16, "%d", c1), snprintf(a[1], 16, "%d", c2), snprintf(a[2], 16, "%d", keep);
    pid_t pid = fork_flushed();
    if (pid == 0) {
        execl(g_self, g_self, "--exec-check", a[0], a[1], "--", a[2], "inherit-data", (char *)0);
        drv_err(errno, "exec %s", g_self);
        _exit(127);
    }
    return pid < 0 ? 1 : drv_wait_ok(pid, "exec-check child");
}

/* (f) O_CLOEXEC and FD_CLOEXEC close managed fds at exec; others survive with their offset. */
static int case_cloexec(char *why)
{
    char m[PATH_MAX], buf[8];
    mpath(m, "f_exec.dat");
    if (put_file(m, "exec-inherit-data") < 0)
        return fail(why, "setup");
    int c1 = open(m, O_RDONLY | O_CLOEXEC), c2 = open(m, O_RDONLY), keep = open(m, O_RDONLY);
    if (c1 < 0 || c2 < 0 || keep < 0 || fcntl(c2, F_SETFD, FD_CLOEXEC) < 0)
        return fail(why, "open/F_SETFD");
    if (check_cloexec(c1, 1, "O_CLOEXEC", why) || check_cloexec(c2, 1, "F_SETFD", why) ||
        check_cloexec(keep, 0, "plain", why))
        return 1;
    if (read(keep, buf, 5) != 5)
        return fail(why, "read");
    int bad = spawn_self_check(c1, c2, keep);
    close(c1), close(c2), close(keep);
    return bad ? fail(why, "exec'd child saw wrong fds (see its message above)") : 0;
}

/* Shell-like: open path with flags, dup2 it to target, exec argv. Returns the exit status. */
static int spawn_redirected(const char *path, int flags, int target, char *const argv[])
{
    pid_t pid = fork_flushed();
    if (pid == 0) {
        int fd = open(path, flags, 0644);
        if (fd < 0 || dup2(fd, target) != target)
            drv_die(errno, "open/dup2 %s", path);
        if (fd != target)
            close(fd);
        execv(argv[0], argv);
        drv_die(errno, "exec %s", argv[0]);
    }
    return pid < 0 ? 1 : drv_wait_ok(pid, argv[0]);
}

/* (g) `echo > file`, `echo >> file` and `exec 3>file` styles: an inherited fd across exec. */
static int case_exec_inherit(char *why)
{
    char out[PATH_MAX], fd3[PATH_MAX];
    mpath(out, "g_echo.txt");
    mpath(fd3, "g_fd3.txt");
    char *echo1[] = {"/bin/echo", "hello from echo", NULL};
    char *echo2[] = {"/bin/echo", "second line", NULL};
    char *sh[] = {"/bin/sh", "-c", "echo via fd 3 >&3; echo more >&3", NULL};
    if (spawn_redirected(out, O_WRONLY | O_CREAT | O_TRUNC, 1, echo1) ||
        spawn_redirected(out, O_WRONLY | O_CREAT | O_APPEND, 1, echo2) ||
        spawn_redirected(fd3, O_WRONLY | O_CREAT | O_TRUNC, 3, sh))
        return fail(why, "a redirected child failed");
    if (file_is(out, "hello from echo\nsecond line\n") != 0)
        return fail(why, "%s does not hold the echo output", out);
    if (file_is(fd3, "via fd 3\nmore\n") != 0)
        return fail(why, "%s does not hold the fd 3 output", fd3);
    return 0;
}

struct fd_case {
    const char *name;
    int (*fn)(char *why);
};

static const struct fd_case cases[] = {
    {"reuse_cycles", case_reuse},
    {"reuse_by_unmanaged", case_reuse_unmanaged},
    {"dup2_cross", case_dup2_cross},
    {"dup_shared_offset", case_dup_offset},
    {"fork_shared_offset", case_fork_offsets},
    {"append_toggle", case_append_toggle},
    {"cloexec_exec", case_cloexec},
    {"exec_inherit", case_exec_inherit},
};

static void setup_paths(const char *dir)
{
    const char *udir = getenv("EBT_TEST_UNMANAGED_DIR");
    g_dir = dir;
    snprintf(g_unmanaged, sizeof(g_unmanaged), "%s/fdreuse-unmanaged.XXXXXX", udir ? udir : "/tmp");
    int fd = mkstemp(g_unmanaged);
    if (fd < 0 || close(fd) < 0)
        drv_die(errno, "mkstemp %s", g_unmanaged);
    ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
    if (n < 0)
        drv_die(errno, "readlink /proc/self/exe");
    g_self[n] = 0;
}

int main(int argc, char **argv)
{
    drv_set_prog(argv[0]);
    if (argc > 1 && strcmp(argv[1], "--exec-check") == 0)
        return exec_check(argc, argv);
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR   (unmanaged scratch: $EBT_TEST_UNMANAGED_DIR or /tmp)\n",
                argv[0]);
        return 2;
    }
    setup_paths(argv[1]);
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[WHY_LEN] = "";
        errno = 0;
        if (cases[i].fn(why))
            bad++, printf("FAIL %s: %s\n", cases[i].name, why);
        else
            printf("ok %s\n", cases[i].name);
        fflush(stdout);
    }
    unlink(g_unmanaged);
    return bad ? 1 : 0;
}
