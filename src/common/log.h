/* log.h - EBT's log: one file per run, never the application's stdout/stderr. */
#ifndef EBT_LOG_H
#define EBT_LOG_H

enum ebt_log_level { EBT_LOG_ERROR = 0, EBT_LOG_WARN = 1, EBT_LOG_INFO = 2, EBT_LOG_DEBUG = 3 };

#include <stdint.h>

#define EBT_LOG_PER_SEC 10                  /* lines a second per message site, then a count */
#define EBT_LOG_DEFAULT_BYTES (16ULL << 20) /* the log's cap unless EBT_LOG_BYTES says */

extern int ebt_log_level_now;

/* Open (append) the log file; the component name ("client", "ebtd") prefixes each line. */
void ebt_log_open(const char *path, const char *component);
/* Cap of the log file in bytes (0: none); lines past it are dropped after one note. */
void ebt_log_set_cap(uint64_t bytes);
/* Reports what the rate limit still holds back, then closes. */
void ebt_log_close(void);
void ebt_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Level is checked before any formatting happens. */
#define ebt_log(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) <= ebt_log_level_now)                                                          \
            ebt_log_write((level), __VA_ARGS__);                                                   \
    } while (0)
#define ebt_error(...) ebt_log(EBT_LOG_ERROR, __VA_ARGS__)
#define ebt_warn(...) ebt_log(EBT_LOG_WARN, __VA_ARGS__)
#define ebt_info(...) ebt_log(EBT_LOG_INFO, __VA_ARGS__)
#define ebt_debug(...) ebt_log(EBT_LOG_DEBUG, __VA_ARGS__)

#endif
