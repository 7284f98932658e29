/* stage_layout.c - the seam where a layout-aware stage plugs in (src/layout, issue 10): the order
 * of the copy tasks and how each destination file is created. Plain POSIX for now. */
#define _GNU_SOURCE
#include "stage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static const struct stage_job *order_job;

/* Chunked (large) files first, largest first, so their pieces spread over the threads while
 * the small files fill in; then everything else in tree order. */
static int by_size(const void *a, const void *b)
{
    const struct stage_task *x = a, *y = b;
    const struct stage_ent *ex = &order_job->ents[x->ent], *ey = &order_job->ents[y->ent];
    int cx = ex->nchunks > 0, cy = ey->nchunks > 0;
    if (cx != cy)
        return cy - cx;
    if (cx && ex->st.st_size != ey->st.st_size)
        return ex->st.st_size > ey->st.st_size ? -1 : 1;
    if (x->ent != y->ent)
        return x->ent < y->ent ? -1 : 1;
    return x->chunk - y->chunk;
}

/* The place for an OST-aware order: stage-out would group the tasks by the OST each chunk of the
 * destination lands on, one writer stream per OST; stage-in by the source's OSTs. */
void stage_layout_plan(struct stage_job *j)
{
    order_job = j;
    qsort(j->tasks, (size_t)j->ntasks, sizeof(*j->tasks), by_size);
}

/* A layout provider would create the file with O_LOV_DELAY_CREATE and set its striping (chosen by
 * e's size) before the first write. */
int stage_layout_create(struct stage_job *j, const struct stage_ent *e, int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    return fd < 0 ? -errno : fd;
}

int stage_layout_plain(struct stage_job *j, const struct stage_ent *e)
{
    return 1;
}
