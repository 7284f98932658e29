/* incache.h - reading opens of input files served from node-local copies (incache.c). */
#ifndef EBT_INCACHE_H
#define EBT_INCACHE_H

#include <sys/stat.h>

/* A reading open (flags) of logical, under an input, whose PFS copy is reached at phys: a
 * descriptor of the node's copy of the file, or -1 when the copy cannot serve it (then the caller
 * opens the PFS file, which gives the true answer). */
int ebt_incache_open(const char *logical, const char *phys, int flags);
/* st was the kernel's fstat of fd: if fd is an input copy, st becomes the PFS file's attributes. */
void ebt_incache_fstat(int fd, struct stat *st);
/* At start (after the configuration is read): learn where copies live, if they exist yet. */
void ebt_incache_init(void);

#endif
