/* log.c - append-only log lines with pid and component, written with raw system calls. */
#define _GNU_SOURCE
#include "log.h"
#include "sys.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int ebt_log_level_now = EBT_LOG_WARN;
static int log_fd = -1;
static char log_component[16] = "ebt";

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

void ebt_log_close(void)
{
    if (log_fd >= 0)
        ebt_sys_close(log_fd);
    log_fd = -1;
}

void ebt_log_write(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(line, sizeof(line), "%ld.%03ld %s[%d] %s: ", (long)ts.tv_sec,
                     ts.tv_nsec / 1000000, log_component, (int)getpid(), names[level & 3]);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (log_fd >= 0)
        ebt_write_full(log_fd, line, (size_t)n);
}
