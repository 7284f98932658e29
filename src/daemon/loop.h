/* loop.h - a small poll(2) event loop (after Redis ae): register fds with a callback, one-shot
 * timers, run. */
#ifndef EBTD_LOOP_H
#define EBTD_LOOP_H

#include <poll.h>
#include <stddef.h>

struct ebt_loop;
typedef void ebt_loop_fn(struct ebt_loop *loop, int fd, short revents, void *data);

struct ebt_loop_entry {
    ebt_loop_fn *fn;
    void *data;
};

/* Runs before each poll(): returns the poll timeout in ms (-1: none), e.g. to drive a library
 * that needs work before sleeping and has deadlines of its own. */
typedef int ebt_loop_before_fn(void *arg);

/* A one-shot timer's callback (ebt_loop_after). */
typedef void ebt_loop_timer_fn(struct ebt_loop *loop, void *arg);
struct ebt_loop_timer {
    long long at_ms; /* CLOCK_MONOTONIC deadline */
    ebt_loop_timer_fn *fn;
    void *arg;
};

struct ebt_loop {
    struct pollfd *pfd; /* pfd[i] <-> ent[i]; fd -1 marks a slot deleted during dispatch */
    struct ebt_loop_entry *ent;
    size_t n, cap;
    int stop;
    ebt_loop_before_fn *before;
    void *before_arg;
    struct ebt_loop_timer *timer; /* pending one-shot timers, unordered */
    size_t ntimers, timer_cap;
};

void ebt_loop_init(struct ebt_loop *loop);
void ebt_loop_free(struct ebt_loop *loop);
int ebt_loop_add(struct ebt_loop *loop, int fd, short events, ebt_loop_fn *fn, void *data);
void ebt_loop_del(struct ebt_loop *loop, int fd); /* safe inside a callback */
/* Change the events polled for a registered fd (0: none, e.g. to pause a listening socket). */
void ebt_loop_set_events(struct ebt_loop *loop, int fd, short events);
/* Call fn(loop, arg) once, after ms milliseconds; 0 or -ENOMEM. */
int ebt_loop_after(struct ebt_loop *loop, int ms, ebt_loop_timer_fn *fn, void *arg);
/* Set (or with NULL clear) the one before-poll hook. */
void ebt_loop_set_before(struct ebt_loop *loop, ebt_loop_before_fn *fn, void *arg);
/* Dispatch events until ebt_loop_stop; 0 or -errno from poll. */
int ebt_loop_run(struct ebt_loop *loop);
void ebt_loop_stop(struct ebt_loop *loop);

#endif
