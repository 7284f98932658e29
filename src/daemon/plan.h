/* plan.h - scan RUN/up into the lists the flush phases work on. */
#ifndef EBTD_PLAN_H
#define EBTD_PLAN_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct ebt_plan_item {
    char *path; /* logical (= PFS) path */
    mode_t mode;
    char *link_to; /* links: the name of the same file that the files list holds */
    dev_t rdev;    /* specials: the device number */
};

struct ebt_plan_list {
    struct ebt_plan_item *v;
    size_t n, cap;
};

struct ebt_plan {
    struct ebt_plan_list opaques;   /* directories whose PFS content is gone, shallow first */
    struct ebt_plan_list whiteouts; /* removed PFS names, deepest first */
    struct ebt_plan_list dirs;      /* parents first */
    struct ebt_plan_list files;     /* regular files and symlinks (mode tells which) */
    struct ebt_plan_list links;     /* further names of files with several links */
    struct ebt_plan_list specials;  /* FIFOs, sockets and device nodes: made, never read */
    struct plan_ino *inos;          /* while scanning: first name of each multiply-linked file */
    size_t ninos, capinos;
    struct timespec since; /* only entries changed (ctime) at or after this; 0 = all */
};

/* Scan the layer rooted at up_root (logical "/" = up_root). 0 or -errno. */
int ebt_plan_scan(const char *up_root, struct ebt_plan *p);
/* The same, leaving out what has not changed (status change time) since `since`: what an earlier
 * complete flush that started at `since` already put on the PFS. */
int ebt_plan_scan_since(const char *up_root, const struct timespec *since, struct ebt_plan *p);
void ebt_plan_free(struct ebt_plan *p);
/* Count the components of a path ("/a/b" -> 2). */
int ebt_plan_depth(const char *path);

#endif
