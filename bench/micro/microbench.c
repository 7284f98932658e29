/* microbench.c - self-timing single-node I/O microbenchmarks (pread4k, write1m, create4k). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KIB 4096u
#define MIB (1024u * 1024u)

struct result {
    const char *bench;
    uint64_t ops;
    uint64_t bytes;
    double seconds;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "microbench: %s %s: %s\n", what, path ? path : "", strerror(errno));
    return 1;
}

static int parse_count(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v == 0 || s[0] == '-') {
        fprintf(stderr, "microbench: bad count '%s'\n", s);
        return -1;
    }
    *out = v;
    return 0;
}

/* A buffer with non-zero content, so no layer can take a shortcut for zero pages. */
static char *pattern(size_t n)
{
    char *b = malloc(n);
    if (b)
        for (size_t i = 0; i < n; i++)
            b[i] = (char)('a' + i % 26);
    return b;
}

static int write_full(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The directory is created here (untimed), so under EBT it is created through the client. */
static int ensure_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    return fail("mkdir", dir);
}

static void print_result(const struct result *r)
{
    double rate = r->seconds > 0 ? (double)r->ops / r->seconds : 0;
    double mibs = r->seconds > 0 ? (double)r->bytes / MIB / r->seconds : 0;
    double nsop = r->ops ? r->seconds * 1e9 / (double)r->ops : 0;
    printf("{\"bench\":\"%s\",\"ops\":%llu,\"bytes\":%llu,\"seconds\":%.9f,\"rate\":%.3f,"
           "\"mib_per_s\":%.3f,\"ns_per_op\":%.3f}\n",
           r->bench, (unsigned long long)r->ops, (unsigned long long)r->bytes, r->seconds, rate,
           mibs, nsop);
    fflush(stdout);
}

/* pread4k FILE N: N 4 KiB preads cycling through the file (page-cache hits); times the loop. */
static int bench_pread4k(const char *path, uint64_t n, struct result *r)
{
    char buf[KIB];
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return fail("open", path);
    if (fstat(fd, &st) < 0 || st.st_size < (off_t)KIB) {
        close(fd);
        errno = errno ? errno : EINVAL;
        return fail("file smaller than 4 KiB:", path);
    }
    uint64_t blocks = (uint64_t)st.st_size / KIB;
    double t0 = now();
    for (uint64_t i = 0; i < n; i++) {
        if (pread(fd, buf, KIB, (off_t)((i % blocks) * KIB)) != (ssize_t)KIB) {
            close(fd);
            return fail("pread", path);
        }
    }
    double t = now() - t0;
    close(fd);
    *r = (struct result){"pread4k", n, n * KIB, t};
    return 0;
}

/* One file: open(O_CREAT|O_TRUNC), mb writes of 1 MiB, close; all timed. */
static int write_one_file(const char *path, const char *buf, uint64_t mb)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fail("open", path);
    for (uint64_t i = 0; i < mb; i++) {
        if (write_full(fd, buf, MIB) < 0) {
            close(fd);
            return fail("write", path);
        }
    }
    return close(fd) < 0 ? fail("close", path) : 0;
}

/* write1m DIR TOTAL_MB: DIR/write1m.<pid> written in 1 MiB writes, closed (publish included). */
static int bench_write1m(const char *dir, uint64_t mb, struct result *r)
{
    char path[4096];
    char *buf = pattern(MIB);
    if (!buf || ensure_dir(dir))
        return free(buf), 1;
    snprintf(path, sizeof(path), "%s/write1m.%d", dir, (int)getpid());
    double t0 = now();
    int rc = write_one_file(path, buf, mb);
    double t = now() - t0;
    free(buf);
    *r = (struct result){"write1m", mb, mb * MIB, t};
    return rc;
}

static int create_one(const char *path, const char *buf)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fail("open", path);
    if (write_full(fd, buf, KIB) < 0) {
        close(fd);
        return fail("write", path);
    }
    return close(fd) < 0 ? fail("close", path) : 0;
}

/* create4k DIR NFILES: NFILES x (open O_CREAT, write 4 KiB, close) in DIR; all timed. */
static int bench_create4k(const char *dir, uint64_t nfiles, struct result *r)
{
    char path[4096];
    char *buf = pattern(KIB);
    if (!buf || ensure_dir(dir))
        return free(buf), 1;
    int rc = 0;
    double t0 = now();
    for (uint64_t i = 0; i < nfiles && rc == 0; i++) {
        snprintf(path, sizeof(path), "%s/f%08llu", dir, (unsigned long long)i);
        rc = create_one(path, buf);
    }
    double t = now() - t0;
    free(buf);
    *r = (struct result){"create4k", nfiles, nfiles * KIB, t};
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: microbench pread4k FILE N\n"
                    "       microbench write1m DIR TOTAL_MB\n"
                    "       microbench create4k DIR NFILES\n"
                    "Prints one JSON line: bench, ops, bytes, seconds, rate (ops/s), mib_per_s,\n"
                    "ns_per_op. Only the I/O loop is timed (CLOCK_MONOTONIC).\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct result r = {0};
    uint64_t n;
    int rc;
    if (argc != 4 || parse_count(argv[3], &n) < 0)
        return usage();
    if (!strcmp(argv[1], "pread4k"))
        rc = bench_pread4k(argv[2], n, &r);
    else if (!strcmp(argv[1], "write1m"))
        rc = bench_write1m(argv[2], n, &r);
    else if (!strcmp(argv[1], "create4k"))
        rc = bench_create4k(argv[2], n, &r);
    else
        return usage();
    if (rc == 0)
        print_result(&r);
    return rc;
}
