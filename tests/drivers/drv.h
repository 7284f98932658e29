/* drv.h - helpers shared by the test drivers: messages, full reads/writes, patterns, children. */
#ifndef EBT_DRV_H
#define EBT_DRV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Print "prog: message: strerror" (if err != 0) on stderr. */
void drv_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* drv_err then exit(2): only for setup failures, never for a failed check. */
void drv_die(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void drv_set_prog(const char *argv0);
long drv_atol(const char *s, const char *what);

/* Loop over short transfers; return 0 or -1 with errno (EIO for an unexpected EOF). */
int drv_write_all(int fd, const void *buf, size_t n);
int drv_pwrite_all(int fd, const void *buf, size_t n, off_t off);
int drv_pread_all(int fd, void *buf, size_t n, off_t off);
/* Read up to cap bytes until EOF; return the count or -1. */
ssize_t drv_read_upto(int fd, void *buf, size_t cap);

/* Deterministic content: byte at absolute offset off of stream seed. */
void drv_fill(void *buf, size_t n, uint64_t seed, uint64_t off);
/* Return the offset of the first mismatch relative to buf, or -1 if all n bytes match. */
long drv_verify(const void *buf, size_t n, uint64_t seed, uint64_t off);
uint64_t drv_mix64(uint64_t x);

/* Fork n children running fn(i, arg) (its return value is the exit status); wait for all and
   return how many failed. */
int drv_run_children(int n, int (*fn)(int i, void *arg), void *arg);
/* waitpid for pid; return 0 if it exited 0, else 1 (with a message naming what). */
int drv_wait_ok(pid_t pid, const char *what);

#endif
