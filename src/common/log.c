/* log.c - append-only log lines with pid and component, written with raw system calls; each
 * message site (format string) writes at most EBT_LOG_PER_SEC lines a second, then one line
 * saying how many it suppressed; the file is capped (EBT_LOG_BYTES: it lives in the cache). */
#define _GNU_SOURCE
#include "log.h"
#include "sys.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LOG_SITES 64
#define LOG_PROBES 4

int ebt_log_level_now = EBT_LOG_WARN;
static int log_fd = -1;
static char log_component[16] = "ebt";
static _Atomic uint64_t log_cap = EBT_LOG_DEFAULT_BYTES;
static atomic_int log_capped; /* this process said "log full" */

/* One message site: lines in the current second, and lines suppressed not yet reported. */
struct log_site {
    _Atomic(const char *) fmt;
    atomic_long sec;
    atomic_uint count, suppressed;
};
static struct log_site log_sites[LOG_SITES];

void ebt_log_open(const char *path, const char *component)
{
    if (component)
        snprintf(log_component, sizeof(log_component), "%s", component);
    if (!path || !*path)
        return;
    int fd = ebt_sys_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (log_fd >= 0)
        ebt_sys_close(log_fd);
    log_fd = fd;
}

void ebt_log_set_cap(uint64_t bytes)
{
    atomic_store(&log_cap, bytes);
}

/* The line prefix: time, component, pid, level. Returns its length. */
static int log_prefix(char *line, size_t cap, int level)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return snprintf(line, cap, "%ld.%03ld %s[%d] %s: ", (long)ts.tv_sec, ts.tv_nsec / 1000000,
                    log_component, (int)getpid(), names[level & 3]);
}

/* Append one line unless the log reached its cap; the first time it does, say so (once per
 * process, and only just past the cap, so many processes cannot grow it much further). */
static void log_append(const char *line, size_t n)
{
    struct stat st;
    uint64_t cap = atomic_load(&log_cap);
    if (log_fd < 0)
        return;
    if (cap && ebt_sys_fstat(log_fd, &st) == 0 && (uint64_t)st.st_size + n > cap) {
        char note[160];
        if (atomic_exchange(&log_capped, 1) || (uint64_t)st.st_size > cap + 65536)
            return;
        int k = log_prefix(note, sizeof(note), EBT_LOG_WARN);
        k += snprintf(note + k, sizeof(note) - (size_t)k,
                      "log reached %llu bytes (EBT_LOG_BYTES): further lines dropped\n",
                      (unsigned long long)cap);
        ebt_write_full(log_fd, note, (size_t)k);
        return;
    }
    ebt_write_full(log_fd, line, n);
}

static struct log_site *log_site_of(const char *fmt)
{
    size_t h = ((uintptr_t)fmt >> 3) % LOG_SITES;
    for (size_t i = 0; i < LOG_PROBES; i++) {
        struct log_site *s = &log_sites[(h + i) % LOG_SITES];
        const char *none = NULL;
        if (atomic_load(&s->fmt) == fmt || atomic_compare_exchange_strong(&s->fmt, &none, fmt))
            return s;
    }
    return NULL; /* every probe taken by other sites: not limited (rare, harmless) */
}

static void log_suppressed(int level, const char *fmt, unsigned k)
{
    char line[512];
    int n = log_prefix(line, sizeof(line), level);
    n += snprintf(line + n, sizeof(line) - (size_t)n - 1, "suppressed %u lines like: %.300s", k,
                  fmt);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    log_append(line, (size_t)n);
}

/* May this site write a line now? A new second first reports what the last ones suppressed. */
static int log_admit(int level, const char *fmt)
{
    struct log_site *s = log_site_of(fmt);
    if (!s)
        return 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    long sec = atomic_load(&s->sec);
    if (sec != ts.tv_sec && atomic_compare_exchange_strong(&s->sec, &sec, ts.tv_sec)) {
        atomic_store(&s->count, 0);
        unsigned k = atomic_exchange(&s->suppressed, 0);
        if (k)
            log_suppressed(level, fmt, k);
    }
    if (atomic_fetch_add(&s->count, 1) < EBT_LOG_PER_SEC)
        return 1;
    atomic_fetch_add(&s->suppressed, 1);
    return 0;
}

void ebt_log_close(void)
{
    for (size_t i = 0; i < LOG_SITES; i++) {
        const char *fmt = atomic_load(&log_sites[i].fmt);
        unsigned k = atomic_exchange(&log_sites[i].suppressed, 0);
        if (fmt && k)
            log_suppressed(EBT_LOG_WARN, fmt, k);
    }
    if (log_fd >= 0)
        ebt_sys_close(log_fd);
    log_fd = -1;
}

void ebt_log_write(int level, const char *fmt, ...)
{
    char line[1024];
    if (log_fd < 0 || !log_admit(level, fmt))
        return;
    int n = log_prefix(line, sizeof(line), level);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    log_append(line, (size_t)n);
}
