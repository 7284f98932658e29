/* loop.h - a small poll(2) event loop (after Redis ae): register fds with a callback, run. */
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

struct ebt_loop {
    struct pollfd *pfd; /* pfd[i] <-> ent[i]; fd -1 marks a slot deleted during dispatch */
    struct ebt_loop_entry *ent;
    size_t n, cap;
    int stop;
};

void ebt_loop_init(struct ebt_loop *loop);
void ebt_loop_free(struct ebt_loop *loop);
int ebt_loop_add(struct ebt_loop *loop, int fd, short events, ebt_loop_fn *fn, void *data);
void ebt_loop_del(struct ebt_loop *loop, int fd); /* safe inside a callback */
/* Dispatch events until ebt_loop_stop; 0 or -errno from poll. */
int ebt_loop_run(struct ebt_loop *loop);
void ebt_loop_stop(struct ebt_loop *loop);

#endif
