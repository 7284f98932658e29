/* vis_pair - a writer and a reader task (different EBT_TASK_ID) check what each sees, per mode. */
#define _GNU_SOURCE
#include "drv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* new.dat: created by the writer, NEW_LEN bytes of stream NEW_SEED written in two calls.
   old.dat: exists before the job (OLD_LEN bytes of OLD_SEED); the writer overwrites
   [PATCH_OFF, PATCH_OFF+PATCH_LEN) with stream PATCH_SEED. */
enum { NEW_LEN = 5000, NEW_SPLIT = 3000, OLD_LEN = 8192, PATCH_OFF = 100, PATCH_LEN = 500 };
enum { NEW_SEED = 11, OLD_SEED = 22, PATCH_SEED = 33 };

struct ctx {
    const char *mode, *dir;
    char newp[PATH_MAX], oldp[PATH_MAX];
    int rfd, wfd; /* pipe ends: step notifications in, acknowledgements out (or reverse) */
};

static int g_bad;

static void report(int ok, const char *who, const char *step, const char *what)
{
    printf("%s %s %s: %s\n", ok ? "ok" : "FAIL", who, step, what);
    fflush(stdout);
    g_bad += !ok;
}

static void expected_old(unsigned char *buf, int patched)
{
    drv_fill(buf, OLD_LEN, OLD_SEED, 0);
    if (patched)
        drv_fill(buf + PATCH_OFF, PATCH_LEN, PATCH_SEED, PATCH_OFF);
}

/* Read path whole; return its length, -1 with errno if it cannot be opened. */
static ssize_t slurp(const char *path, unsigned char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = drv_read_upto(fd, buf, cap);
    close(fd);
    return n;
}

static int listed(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)))
        found |= strcmp(e->d_name, name) == 0;
    if (d)
        closedir(d);
    return found;
}

/* new.dat: visible (1) means stat, readdir and content all show it; hidden (0) means ENOENT for
 * all; named (2) means the name is there with no data yet (a close-mode create before the
 * writer's close: the name exists from the open on, as natively, its data from the close). */
static void check_new(const struct ctx *c, const char *who, const char *step, int visible)
{
    unsigned char buf[NEW_LEN + 1];
    struct stat st;
    int st_ok = stat(c->newp, &st) == 0;
    int st_errno = errno;
    ssize_t n = slurp(c->newp, buf, sizeof(buf));
    int in_dir = listed(c->dir, "new.dat");
    if (visible == 2) {
        report(st_ok && st.st_size == 0, who, step, "stat(new.dat) gives an empty file");
        report(n == 0, who, step, "new.dat opens and reads empty");
        report(in_dir, who, step, "readdir lists new.dat");
    } else if (visible) {
        report(st_ok && st.st_size == NEW_LEN, who, step, "stat(new.dat) gives the full size");
        report(n == NEW_LEN && drv_verify(buf, NEW_LEN, NEW_SEED, 0) < 0, who, step,
               "new.dat content is what the writer wrote");
        report(in_dir, who, step, "readdir lists new.dat");
    } else {
        report(!st_ok && st_errno == ENOENT, who, step, "stat(new.dat) fails with ENOENT");
        report(n < 0 && errno == ENOENT, who, step, "open(new.dat) fails with ENOENT");
        report(!in_dir, who, step, "readdir does not list new.dat");
    }
}

static void check_old(const struct ctx *c, const char *who, const char *step, int patched)
{
    unsigned char buf[OLD_LEN + 1], want[OLD_LEN];
    expected_old(want, patched);
    ssize_t n = slurp(c->oldp, buf, sizeof(buf));
    report(n == OLD_LEN && memcmp(buf, want, OLD_LEN) == 0, who, step,
           patched ? "old.dat shows the writer's patch" : "old.dat still has the old content");
}

static void check_view(const struct ctx *c, const char *who, const char *step, int visible)
{
    check_new(c, who, step, visible);
    check_old(c, who, step, visible == 1);
}

static void xwrite(int fd, char ch)
{
    if (write(fd, &ch, 1) != 1)
        drv_die(errno, "pipe write");
}

static char xread(int fd)
{
    char ch;
    ssize_t n = read(fd, &ch, 1);
    if (n != 1)
        drv_die(n < 0 ? errno : 0, "peer vanished (pipe read returned %zd)", n);
    return ch;
}

/* What the reader must see at each step ('W' after write, 'C' after close/fsync, 'X' after the
   writer exited) for each mode: 1 visible, 0 hidden, 2 named but empty (check_new), -1 the
   contract does not say. */
static int expect_visible(const char *mode, char step)
{
    if (!strcmp(mode, "native") || !strcmp(mode, "write"))
        return 1;
    if (!strcmp(mode, "task-same")) /* reader and writer are one task */
        return step == 'W' ? -1 : 1;
    if (!strcmp(mode, "close"))
        return step != 'W' ? 1 : 2;
    if (!strcmp(mode, "task"))
        return 0; /* until the end of the job or `ebt flush`: checked by the script */
    drv_die(0, "unknown mode '%s' (native, write, close, task, task-same)", mode);
}

static int writer_data(int *fd_new, int *fd_old, const struct ctx *c)
{
    unsigned char buf[NEW_LEN];
    drv_fill(buf, NEW_LEN, NEW_SEED, 0);
    *fd_new = open(c->newp, O_CREAT | O_RDWR | O_TRUNC, 0644);
    *fd_old = open(c->oldp, O_RDWR);
    if (*fd_new < 0 || *fd_old < 0)
        return drv_err(errno, "writer: open"), 1;
    if (drv_write_all(*fd_new, buf, NEW_SPLIT) ||
        drv_write_all(*fd_new, buf + NEW_SPLIT, NEW_LEN - NEW_SPLIT))
        return drv_err(errno, "writer: write new.dat"), 1;
    drv_fill(buf, PATCH_LEN, PATCH_SEED, PATCH_OFF);
    if (drv_pwrite_all(*fd_old, buf, PATCH_LEN, PATCH_OFF))
        return drv_err(errno, "writer: pwrite old.dat"), 1;
    return 0;
}

/* The writer sees its own writes through its fd and through a fresh open. */
static void writer_self_check(const struct ctx *c, int fd_new)
{
    unsigned char buf[NEW_LEN];
    struct stat st;
    report(fstat(fd_new, &st) == 0 && st.st_size == NEW_LEN, "writer", "after-write",
           "fstat on its own fd gives the full size");
    report(drv_pread_all(fd_new, buf, NEW_LEN, 0) == 0 && drv_verify(buf, NEW_LEN, NEW_SEED, 0) < 0,
           "writer", "after-write", "pread on its own fd returns its data");
    check_view(c, "writer", "after-write(reopen)", 1);
}

static int writer_main(struct ctx *c)
{
    int fd_new, fd_old;
    if (writer_data(&fd_new, &fd_old, c))
        return 1;
    writer_self_check(c, fd_new);
    xwrite(c->wfd, 'W');
    xread(c->rfd);
    if (close(fd_new) < 0 || fsync(fd_old) < 0)
        return drv_err(errno, "writer: close new.dat / fsync old.dat"), 1;
    xwrite(c->wfd, 'C');
    xread(c->rfd);
    if (close(fd_old) < 0)
        return drv_err(errno, "writer: close old.dat"), 1;
    return g_bad ? 1 : 0;
}

static int reader_main(struct ctx *c)
{
    static const char *names[] = {"after-write", "after-close/fsync", "after-writer-exit"};
    static const char steps[] = "WCX";
    for (int i = 0; i < 3; i++) {
        char got = xread(c->rfd);
        if (got != steps[i])
            drv_die(0, "reader: got step '%c', expected '%c'", got, steps[i]);
        int want = expect_visible(c->mode, got);
        if (want < 0)
            printf("note reader %s: not checked in mode %s\n", names[i], c->mode);
        else
            check_view(c, "reader", names[i], want);
        if (i < 2)
            xwrite(c->wfd, 'a');
    }
    return g_bad ? 1 : 0;
}

/* Child side of spawn_role: set the task id, then exec this program in the given role. */
static void exec_role(const char *self, const char *role, const char *task, const struct ctx *c,
                      int rfd, int wfd)
{
    char r[16], w[16];
    snprintf(r, sizeof(r), "%d", rfd), snprintf(w, sizeof(w), "%d", wfd);
    if (setenv("EBT_TASK_ID", task, 1) < 0)
        drv_die(errno, "setenv");
    execl(self, self, role, c->mode, c->dir, r, w, (char *)0);
    drv_die(errno, "exec %s", self);
}

static pid_t spawn_role(const char *role, const char *task, const struct ctx *c, int rfd, int wfd,
                        const int *close_fds)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0)
        drv_die(errno, "readlink /proc/self/exe");
    self[n] = 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        drv_die(errno, "fork");
    if (pid == 0) {
        for (int i = 0; close_fds[i] >= 0; i++)
            close(close_fds[i]);
        exec_role(self, role, task, c, rfd, wfd);
    }
    return pid;
}

/* step: writer -> reader (and the coordinator sends 'X'); ack: reader -> writer. */
static int coordinate(struct ctx *c)
{
    int step[2], ack[2];
    if (pipe(step) < 0 || pipe(ack) < 0)
        drv_die(errno, "pipe");
    int w_close[] = {step[0], ack[1], -1}, r_close[] = {step[1], ack[0], -1};
    pid_t w = spawn_role("--writer", "vis-writer", c, ack[0], step[1], w_close);
    const char *rtask = strcmp(c->mode, "task-same") ? "vis-reader" : "vis-writer";
    pid_t r = spawn_role("--reader", rtask, c, step[0], ack[1], r_close);
    close(step[0]), close(ack[0]), close(ack[1]);
    int bad = drv_wait_ok(w, "writer");
    xwrite(step[1], 'X');
    close(step[1]);
    bad += drv_wait_ok(r, "reader");
    printf("%s vis_pair %s\n", bad ? "FAIL" : "ok", c->mode);
    return bad ? 1 : 0;
}

static int setup_old(const struct ctx *c)
{
    unsigned char buf[OLD_LEN];
    expected_old(buf, 0);
    int fd = open(c->oldp, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || drv_write_all(fd, buf, OLD_LEN) < 0 || close(fd) < 0)
        drv_die(errno, "setup %s", c->oldp);
    unlink(c->newp);
    return 0;
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s setup DIR          create DIR/old.dat (before the job, natively)\n"
            "       %s MODE DIR           MODE: native|write|close|task|task-same\n"
            "       %s check-final DIR    both files hold the writer's data\n"
            "       %s check-hidden DIR   another task sees none of the writer's data\n",
            prog, prog, prog, prog);
    return 2;
}

int main(int argc, char **argv)
{
    drv_set_prog(argv[0]);
    int role = argc == 6 && (!strcmp(argv[1], "--writer") || !strcmp(argv[1], "--reader"));
    if (argc != 3 && !role)
        return usage(argv[0]);
    struct ctx c = {.mode = argv[role ? 2 : 1], .dir = argv[role ? 3 : 2]};
    snprintf(c.newp, sizeof(c.newp), "%s/new.dat", c.dir);
    snprintf(c.oldp, sizeof(c.oldp), "%s/old.dat", c.dir);
    alarm(60); /* never hang a test run, whatever the peer does */
    if (role) {
        c.rfd = atoi(argv[4]), c.wfd = atoi(argv[5]);
        return argv[1][2] == 'w' ? writer_main(&c) : reader_main(&c);
    }
    if (!strcmp(c.mode, "setup"))
        return setup_old(&c);
    if (!strcmp(c.mode, "check-final") || !strcmp(c.mode, "check-hidden")) {
        check_view(&c, "checker", c.mode, c.mode[6] == 'f');
        return g_bad ? 1 : 0;
    }
    expect_visible(c.mode, 'W'); /* validates MODE before starting anything */
    return coordinate(&c);
}
