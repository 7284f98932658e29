/* posix_suite.h - recording helpers and call groups of the posix_suite driver. */
#ifndef EBT_POSIX_SUITE_H
#define EBT_POSIX_SUITE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PS_ANY LONG_MIN /* any non-negative return value is right */
#define PS_B_SEED 0xb0ULL

/* Each records one line. Call them as `long r = call(...); ps_xxx("name", r, errno, ...)`. */
void ps_ret(const char *call, long ret, int err, long want, const char *extra);
void ps_fd(const char *call, long ret, int err);
void ps_err(const char *call, long ret, int err, int want_err);
void ps_check(const char *what, int cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *ps_errname(int err);

int ps_put(const char *path, const char *s, mode_t mode);
int ps_put_pattern(const char *path, size_t len, uint64_t seed, mode_t mode);
int ps_file_is(const char *path, const char *s);

void ps_group_open(void);
void ps_group_size(void);
void ps_group_names(void);
void ps_group_vector(void);
void ps_group_stdio(void);
void ps_group_map_copy(void);
void ps_group_at(void);

#endif
