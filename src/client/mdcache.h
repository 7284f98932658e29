/* mdcache.h - the client's metadata cache of input trees (mdcache.c): what the PFS answered for
 * stat, lstat, statx, readlink and directory listings under an input, shared by the job's
 * processes on the node. Every call takes the logical path (which decides whether it is under an
 * input) and the physical path the PFS is asked with. */
#ifndef EBT_MDCACHE_H
#define EBT_MDCACHE_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mdanswer.h"

enum ebt_mdc_kind {
    MDC_STAT = EBT_MDA_STAT,
    MDC_LSTAT = EBT_MDA_LSTAT,
    MDC_STATX = EBT_MDA_STATX,
    MDC_LSTATX = EBT_MDA_LSTATX,
    MDC_LINK = EBT_MDA_LINK,
    MDC_LIST = EBT_MDA_LIST,
};

/* The index of the input logical lies under, if its cache is on; else -1. */
int ebt_input_of(const char *logical);
/* (dirfd, path) names a path under an input that is not managed: 1 and its normalised form in
 * out (PATH_MAX), else 0. */
int ebt_input_resolve(int dirfd, const char *path, char *out);
/* The job is about to change (dirfd, path): if it lies under an input, every cached answer is
 * dropped (the generation moves on); under an input that is not managed the cache of that input
 * stays off for the rest of the job (the PFS itself changes). */
void ebt_mdc_written(int dirfd, const char *path);
/* Each returns what the PFS answers (0 or -errno), from the cache when under an input. */
int ebt_mdc_stat(const char *logical, const char *phys, int follow, struct stat *st);
struct statx;
int ebt_mdc_statx(const char *logical, const char *phys, int flags, unsigned mask,
                  struct statx *stx);
ssize_t ebt_mdc_readlink(const char *logical, const char *phys, char *buf, size_t n);
/* -ENOENT/-ENOTDIR if a cached answer says the path is not there; 0: it may be (or not cached). */
int ebt_mdc_absent(const char *logical, const char *phys);
/* Feed the PFS directory's entries (getdents order, with "." and "..") to add(): 0, -errno the
 * PFS said, or 1 if not under an input or too big to cache (the caller reads the directory). */
int ebt_mdc_list(const char *logical, const char *phys,
                 int (*add)(void *arg, const char *name, unsigned char type, uint64_t ino),
                 void *arg);
/* RUN/mdc, made if needed: the real directory behind streams of cached directories. 0/-errno */
int ebt_mdc_standin(char *out);
void ebt_mdc_atfork(int phase); /* 0 before fork, 1 after (parent and child) */

/* mdfd.c: open phys (a file on the PFS) relative to a cached fd of its directory when logical
 * lies under an input, else plainly. The fd or -errno. */
int ebt_mdfd_open(const char *logical, const char *phys, int flags, mode_t mode);
/* op(dirfd, last name, ctx) with a cached fd of phys's directory (else AT_FDCWD and phys); op
 * must not return 1. Its value. */
int ebt_mdfd_call(const char *phys, int (*op)(int dirfd, const char *name, void *ctx), void *ctx);
void ebt_mdfd_atfork(int phase); /* 0 before fork, 1 after in the parent, 2 in the child */

#endif
