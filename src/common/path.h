/* path.h - lexical path normalisation and managed-prefix matching (no file system access). */
#ifndef EBT_PATH_H
#define EBT_PATH_H

#include <stddef.h>
#include <stdint.h>

/* Join base (absolute) and rel (if rel is relative) and remove "//", "." and ".." lexically.
 * Output is absolute, without a trailing slash (except "/"). 0 or -ENAMETOOLONG / -EINVAL. */
int ebt_path_normalize(const char *base, const char *rel, char *out, size_t cap);

/* Does path lie at or below prefix (both normalised)? Returns length of prefix or 0. */
size_t ebt_path_under(const char *path, const char *prefix);

/* Split into parent directory and last component (pointers into the copy in buf). */
int ebt_path_split(const char *path, char *buf, size_t cap, const char **dir, const char **name);

/* The multi-node owner of a logical path: FNV-1a 64 of the path modulo nodes (0 if nodes <= 1). */
uint64_t ebt_path_hash(const char *path);
int ebt_path_owner(const char *path, int nodes);

#endif
