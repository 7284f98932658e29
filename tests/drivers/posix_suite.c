/* posix_suite - one POSIX call per output line (JSON: call, return, errno, ok), for native/EBT
 * diffs. */
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
#include <unistd.h>

#include "posix_suite.h"

static int g_n, g_bad;

const char *ps_errname(int err)
{
    const char *s = strerrorname_np(err);
    return s ? s : "E?";
}

/* One output line. ret_text is the normalised return value (fd numbers and pointers are not
   printed: they may legitimately differ under EBT). */
static void emit(const char *call, const char *ret_text, long ret, int err, int ok,
                 const char *extra)
{
    printf("{\"n\":%d,\"call\":\"%s\",\"ret\":%s,\"errno\":\"%s\"%s%s,\"ok\":%s}\n", ++g_n, call,
           ret_text, ret < 0 ? ps_errname(err) : "-", extra && *extra ? "," : "",
           extra ? extra : "", ok ? "true" : "false");
    fflush(stdout);
    g_bad += !ok;
}

void ps_ret(const char *call, long ret, int err, long want, const char *extra)
{
    char t[32];
    snprintf(t, sizeof(t), "%ld", ret);
    emit(call, t, ret, err, want == PS_ANY ? ret >= 0 : ret == want, extra);
}

void ps_fd(const char *call, long ret, int err)
{
    emit(call, ret >= 0 ? "\"fd\"" : "-1", ret, err, ret >= 0, NULL);
}

void ps_err(const char *call, long ret, int err, int want_err)
{
    char t[32];
    snprintf(t, sizeof(t), "%ld", ret);
    emit(call, ret >= 0 ? "\"success\"" : t, ret, err, ret == -1 && err == want_err, NULL);
}

void ps_check(const char *what, int cond, const char *fmt, ...)
{
    char extra[1024] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(extra, sizeof(extra), fmt, ap);
        va_end(ap);
    }
    emit(what, cond ? "true" : "false", 0, 0, cond, extra);
}

int ps_put(const char *path, const char *s, mode_t mode)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    int r = drv_write_all(fd, s, strlen(s));
    return close(fd) < 0 ? -1 : r;
}

int ps_put_pattern(const char *path, size_t len, uint64_t seed, mode_t mode)
{
    char *buf = malloc(len);
    drv_fill(buf, len, seed, 0);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
    int r = fd < 0 ? -1 : drv_write_all(fd, buf, len);
    if (fd >= 0 && close(fd) < 0)
        r = -1;
    free(buf);
    return r;
}

/* 1 if the file at path holds exactly s. */
int ps_file_is(const char *path, const char *s)
{
    char buf[8192];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = drv_read_upto(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return 0;
    buf[n] = 0;
    return strcmp(buf, s) == 0;
}

/* Pre-existing content, created natively before the job: it plays "already on the PFS". */
static int setup(void)
{
    if (mkdir("pre", 0755) < 0 || mkdir("pre/sub", 0755) < 0)
        drv_die(errno, "setup: mkdir (run setup on an empty directory)");
    if (ps_put("pre/a.txt", "pre-existing a\n", 0644) || ps_put("pre/sub/c.txt", "c\n", 0644) ||
        ps_put_pattern("pre/b.bin", 8192, PS_B_SEED, 0600) ||
        ps_put("pre/exe.sh", "#!/bin/sh\necho hi\n", 0755) ||
        ps_put("pre/victim.txt", "to be replaced\n", 0644) ||
        ps_put("pre/gone.txt", "to be unlinked\n", 0644) || chmod("pre/b.bin", 0600) ||
        chmod("pre/exe.sh", 0755))
        drv_die(errno, "setup: create files");
    return 0;
}

int main(int argc, char **argv)
{
    drv_set_prog(argv[0]);
    if (argc != 3 || (strcmp(argv[1], "setup") && strcmp(argv[1], "run"))) {
        fprintf(stderr, "usage: %s setup|run DIR\n", argv[0]);
        return 2;
    }
    if (chdir(argv[2]) < 0) /* all paths below are relative: they also test cwd handling */
        drv_die(errno, "chdir %s", argv[2]);
    umask(022);
    if (!strcmp(argv[1], "setup"))
        return setup();
    ps_group_open();
    ps_group_size();
    ps_group_names();
    ps_group_vector();
    ps_group_stdio();
    ps_group_map_copy();
    ps_group_at();
    printf("{\"summary\":\"%d calls, %d not as POSIX specifies\"}\n", g_n, g_bad);
    return g_bad ? 1 : 0;
}
