/* loop.c - poll-based event loop: one pollfd array, callbacks, deferred deletion, one-shot
 * timers, a before-poll hook that may bound the wait. */
#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ebt_loop_init(struct ebt_loop *loop)
{
    memset(loop, 0, sizeof(*loop));
}

void ebt_loop_free(struct ebt_loop *loop)
{
    free(loop->pfd);
    free(loop->ent);
    free(loop->timer);
    ebt_loop_init(loop);
}

int ebt_loop_add(struct ebt_loop *loop, int fd, short events, ebt_loop_fn *fn, void *data)
{
    if (loop->n == loop->cap) {
        size_t cap = loop->cap ? loop->cap * 2 : 16;
        struct pollfd *p = realloc(loop->pfd, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        loop->pfd = p;
        struct ebt_loop_entry *e = realloc(loop->ent, cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        loop->ent = e;
        loop->cap = cap;
    }
    loop->pfd[loop->n] = (struct pollfd){.fd = fd, .events = events};
    loop->ent[loop->n] = (struct ebt_loop_entry){fn, data};
    loop->n++;
    return 0;
}

void ebt_loop_del(struct ebt_loop *loop, int fd)
{
    for (size_t i = 0; i < loop->n; i++)
        if (loop->pfd[i].fd == fd)
            loop->pfd[i].fd = -1; /* compacted after the dispatch round */
}

void ebt_loop_set_events(struct ebt_loop *loop, int fd, short events)
{
    for (size_t i = 0; i < loop->n; i++)
        if (loop->pfd[i].fd == fd)
            loop->pfd[i].events = events;
}

int ebt_loop_after(struct ebt_loop *loop, int ms, ebt_loop_timer_fn *fn, void *arg)
{
    if (loop->ntimers == loop->timer_cap) {
        size_t cap = loop->timer_cap ? loop->timer_cap * 2 : 4;
        struct ebt_loop_timer *t = realloc(loop->timer, cap * sizeof(*t));
        if (!t)
            return -ENOMEM;
        loop->timer = t;
        loop->timer_cap = cap;
    }
    loop->timer[loop->ntimers++] = (struct ebt_loop_timer){loop_now_ms() + ms, fn, arg};
    return 0;
}

/* The poll timeout: the before hook's, shortened to the nearest timer. */
static int loop_timeout(struct ebt_loop *loop)
{
    int timeout = loop->before ? loop->before(loop->before_arg) : -1;
    long long now = loop_now_ms();
    for (size_t i = 0; i < loop->ntimers; i++) {
        long long left = loop->timer[i].at_ms - now;
        int t = left <= 0 ? 0 : (left > 1000000 ? 1000000 : (int)left);
        if (timeout < 0 || t < timeout)
            timeout = t;
    }
    return timeout;
}

/* Run the timers that are due (each is removed before its callback, which may add timers). */
static void loop_run_timers(struct ebt_loop *loop)
{
    long long now = loop_now_ms();
    size_t i = 0;
    while (i < loop->ntimers && !loop->stop) {
        struct ebt_loop_timer t = loop->timer[i];
        if (t.at_ms > now) {
            i++;
            continue;
        }
        loop->timer[i] = loop->timer[--loop->ntimers];
        t.fn(loop, t.arg);
    }
}

static void loop_compact(struct ebt_loop *loop)
{
    size_t o = 0;
    for (size_t i = 0; i < loop->n; i++) {
        if (loop->pfd[i].fd < 0)
            continue;
        loop->pfd[o] = loop->pfd[i];
        loop->ent[o++] = loop->ent[i];
    }
    loop->n = o;
}

void ebt_loop_set_before(struct ebt_loop *loop, ebt_loop_before_fn *fn, void *arg)
{
    loop->before = fn;
    loop->before_arg = arg;
}

int ebt_loop_run(struct ebt_loop *loop)
{
    while (!loop->stop) {
        int timeout = loop_timeout(loop);
        if (loop->stop)
            break;
        int n = poll(loop->pfd, loop->n, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        size_t count = loop->n; /* callbacks may add: those wait for the next round */
        for (size_t i = 0; i < count && !loop->stop; i++) {
            struct pollfd p = loop->pfd[i];
            if (p.fd >= 0 && p.revents)
                loop->ent[i].fn(loop, p.fd, p.revents, loop->ent[i].data);
        }
        loop_compact(loop);
        loop_run_timers(loop);
    }
    return 0;
}

void ebt_loop_stop(struct ebt_loop *loop)
{
    loop->stop = 1;
}
