/* dirlist.h - read a whole directory (raw getdents64), sorted by name, with entry types. */
#ifndef EBTD_DIRLIST_H
#define EBTD_DIRLIST_H

#include <stddef.h>

struct ebt_dirent {
    char *name;
    unsigned char type; /* DT_REG, DT_DIR, DT_LNK, ... (resolved with lstat if the FS says
                           DT_UNKNOWN) */
};

struct ebt_dirlist {
    struct ebt_dirent *e;
    size_t n, cap;
};

/* Fill out with the entries of path except "." and ".."; 0 or -errno. Owns the names. */
int ebt_dirlist_read(const char *path, struct ebt_dirlist *out);
/* The same from an open directory fd (read from its current offset; the fd stays open). */
int ebt_dirlist_readfd(int fd, struct ebt_dirlist *out);
void ebt_dirlist_free(struct ebt_dirlist *l);
/* Call fn(child path, ctx) for every entry of dir (a missing dir has none), stopping at the
 * first error; 0 or -errno. */
int ebt_dirlist_each_child(const char *dir, int (*fn)(const char *child, void *ctx), void *ctx);
/* Binary search by name; NULL if absent. */
const struct ebt_dirent *ebt_dirlist_find(const struct ebt_dirlist *l, const char *name);

#endif
