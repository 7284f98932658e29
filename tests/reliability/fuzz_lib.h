/* fuzz_lib.h - helpers of the protocol fuzzer: a seeded generator, socket I/O with deadlines,
 * reply checks, a pipelining pump, and the daemon's counters. */
#ifndef EBT_FUZZ_LIB_H
#define EBT_FUZZ_LIB_H

#include "proto.h"

#include <stddef.h>
#include <stdint.h>

/* Stop the whole run: the test fails with this message. */
void fz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* xorshift64*: the same seed gives the same run. */
uint64_t fz_rand(void);
void fz_seed(uint64_t seed);
uint32_t fz_below(uint32_t n); /* uniform in [0, n) */
void fz_fill(void *buf, size_t n);

long long fz_now_ms(void);

/* A new blocking connection to RUN/ebtd.sock (dies on failure). */
int fz_connect(const char *run);
/* Non-blocking connect; the fd, or -errno (-EAGAIN: backlog full). */
int fz_connect_nb(const char *run);
/* All n bytes by the deadline; 0, -ETIMEDOUT, -ECONNRESET or -errno. */
int fz_send_all(int fd, const void *buf, size_t n, long long deadline);
/* Exactly n bytes by the deadline (buf NULL: discard); 0, -ETIMEDOUT, -ECONNRESET (EOF). */
int fz_recv_all(int fd, void *buf, size_t n, long long deadline);
/* The peer closed (EOF or reset) by the deadline, after any bytes still in flight: 0, or
 * -ETIMEDOUT. */
int fz_wait_closed(int fd, long long deadline);

struct fz_reply {
    struct ebt_proto_hdr h;
    char payload[4096]; /* first bytes of the payload, NUL-terminated */
    uint32_t kept;
};
/* One reply by the deadline; the header is checked against op and reqid (dies if wrong). */
int fz_read_reply(int fd, uint16_t op, uint32_t reqid, struct fz_reply *r, long long deadline);
/* Build a request header. */
struct ebt_proto_hdr fz_hdr(uint16_t op, uint32_t len, uint32_t reqid);
/* One request and its reply on fd (dies on a transport error or a wrong header). */
int fz_call(int fd, uint16_t op, const void *req, uint32_t len, struct fz_reply *r, int ms);

/* An expected status that is not checked (any status <= 0 is fine). */
#define FZ_ANY 1

/* Pipelining: write `len` request bytes holding n requests while reading their n replies;
 * each reply must carry reqid first_id + i and status expect[i] (expect NULL or FZ_ANY: any
 * status <= 0).
 * Returns 0 or -ETIMEDOUT / -ECONNRESET; dies on a reply out of order. */
int fz_pipeline(int fd, const char *req, size_t len, uint32_t n, uint32_t first_id,
                const int32_t *expect, long long deadline);

/* A number from the daemon's COUNTERS JSON on fd ("key":N); -1 if it has no such counter. */
long long fz_counter(int fd, const char *key);
/* CPU seconds (user + system) used so far by process pid. */
double fz_cpu_seconds(int pid);

#endif
