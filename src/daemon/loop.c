/* loop.c - poll-based event loop: one pollfd array, callbacks, deferred deletion, a before-poll
 * hook that may bound the wait. */
#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ebt_loop_init(struct ebt_loop *loop)
{
    memset(loop, 0, sizeof(*loop));
}

void ebt_loop_free(struct ebt_loop *loop)
{
    free(loop->pfd);
    free(loop->ent);
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
        int timeout = loop->before ? loop->before(loop->before_arg) : -1;
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
    }
    return 0;
}

void ebt_loop_stop(struct ebt_loop *loop)
{
    loop->stop = 1;
}
