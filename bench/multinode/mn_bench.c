/* mn_bench - self-timing clients of the multi-node benchmark (bench/multinode/run.sh).
 *
 *   write FILE MIB           create FILE with MIB MiB of non-zero data (1 MiB writes), untimed use
 *   read FILE                timed: open + read to EOF in 1 MiB reads + close (for EBT on another
 *                            node: the MD_FETCH pull and the read)
 *   create DIR PREFIX N      timed: N x (open(O_CREAT|O_WRONLY) + close) of DIR/PREFIX<i>
 *   stat DIR PREFIX N        timed: N x stat of DIR/PREFIX<i>
 * One JSON line per run: bench, ops, bytes, seconds, and t0/t1 (CLOCK_REALTIME, so the script
 * can aggregate clients running at once: ops / (max t1 - min t0)). Exit 1 if an operation failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void report(const char *bench, long ops, long long bytes, double r0, double m0)
{
    double secs = now(CLOCK_MONOTONIC) - m0;
    printf(
        "{\"bench\":\"%s\",\"ops\":%ld,\"bytes\":%lld,\"seconds\":%.6f,\"t0\":%.6f,\"t1\":%.6f}\n",
        bench, ops, bytes, secs, r0, r0 + secs);
}

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "mn_bench: %s %s: %s\n", what, path, strerror(errno));
    return 1;
}

static int do_write(const char *file, long mib)
{
    char *buf = malloc(MIB);
    for (long i = 0; i < MIB; i++)
        buf[i] = (char)(i * 131 + 7);
    int fd = open(file, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        return fail("open", file);
    for (long i = 0; i < mib; i++) {
        buf[0] = (char)i;
        if (write(fd, buf, MIB) != MIB)
            return fail("write", file);
    }
    if (close(fd) < 0)
        return fail("close", file);
    free(buf);
    return 0;
}

static int do_read(const char *file)
{
    char *buf = malloc(MIB);
    long long total = 0;
    double r0 = now(CLOCK_REALTIME), m0 = now(CLOCK_MONOTONIC);
    int fd = open(file, O_RDONLY);
    if (fd < 0)
        return fail("open", file);
    for (;;) {
        ssize_t n = read(fd, buf, MIB);
        if (n < 0)
            return fail("read", file);
        if (n == 0)
            break;
        total += n;
    }
    close(fd);
    report("read", 1, total, r0, m0);
    free(buf);
    return 0;
}

static int do_meta(int create, const char *dir, const char *prefix, long n)
{
    char p[4096];
    struct stat st;
    double r0 = now(CLOCK_REALTIME), m0 = now(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++) {
        snprintf(p, sizeof(p), "%s/%s%ld", dir, prefix, i);
        if (create) {
            int fd = open(p, O_CREAT | O_WRONLY, 0644);
            if (fd < 0 || close(fd) < 0)
                return fail("create", p);
        } else if (stat(p, &st) < 0) {
            return fail("stat", p);
        }
    }
    report(create ? "create" : "stat", n, 0, r0, m0);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "write") == 0 && argc == 4)
        return do_write(argv[2], atol(argv[3]));
    if (strcmp(cmd, "read") == 0 && argc == 3)
        return do_read(argv[2]);
    if ((strcmp(cmd, "create") == 0 || strcmp(cmd, "stat") == 0) && argc == 5)
        return do_meta(cmd[0] == 'c', argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: mn_bench write FILE MIB | read FILE | create|stat DIR PREFIX N\n");
    return 2;
}
