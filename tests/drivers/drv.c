/* drv.c - helpers shared by the test drivers (see drv.h). */
#define _GNU_SOURCE
#include "drv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *prog = "driver";

void drv_set_prog(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    prog = slash ? slash + 1 : argv0;
}

static void vmsg(int err, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s[%d]: ", prog, (int)getpid());
    n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (err && n < (int)sizeof(line))
        snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(err));
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

void drv_err(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(err, fmt, ap);
    va_end(ap);
}

void drv_die(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(err, fmt, ap);
    va_end(ap);
    exit(2);
}

long drv_atol(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno || *end || end == s || v < 0)
        drv_die(0, "bad %s '%s' (want a non-negative integer)", what, s);
    return v;
}

int drv_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w == 0 ? (errno = EIO, -1) : -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int drv_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w == 0 ? (errno = EIO, -1) : -1;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

int drv_pread_all(int fd, void *buf, size_t n, off_t off)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? (errno = EIO, -1) : -1;
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

ssize_t drv_read_upto(int fd, void *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, (char *)buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

uint64_t drv_mix64(uint64_t x)
{
    /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static unsigned char pattern_byte(uint64_t seed, uint64_t off)
{
    uint64_t word = drv_mix64(seed * 0x100000001b3ULL ^ (off >> 3));
    return (unsigned char)(word >> ((off & 7) * 8));
}

void drv_fill(void *buf, size_t n, uint64_t seed, uint64_t off)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = pattern_byte(seed, off + i);
}

long drv_verify(const void *buf, size_t n, uint64_t seed, uint64_t off)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern_byte(seed, off + i))
            return (long)i;
    return -1;
}

int drv_wait_ok(pid_t pid, const char *what)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            drv_err(errno, "waitpid %s", what);
            return 1;
        }
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFSIGNALED(st))
        drv_err(0, "%s killed by signal %d", what, WTERMSIG(st));
    else
        drv_err(0, "%s exited with status %d", what, WEXITSTATUS(st));
    return 1;
}

int drv_run_children(int n, int (*fn)(int i, void *arg), void *arg)
{
    pid_t pids[n > 0 ? n : 1];
    int failed = 0;
    fflush(NULL);
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            drv_die(errno, "fork");
        if (pids[i] == 0)
            _exit(fn(i, arg));
    }
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof(what), "child %d", i);
        failed += drv_wait_ok(pids[i], what);
    }
    return failed;
}
