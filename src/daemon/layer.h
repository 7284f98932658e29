/* layer.h - operations on the cache's layer trees that keep extent logs (RUN/meta) consistent. */
#ifndef EBTD_LAYER_H
#define EBTD_LAYER_H

/* rm -rf of a layer entry, also deleting the extent log of every regular file removed (a stale
 * log would otherwise apply to a new file that reuses the inode number). 0 or -errno. */
int ebt_layer_remove(const char *run_dir, const char *path);
/* Remove everything inside the layer directory dir, keep dir. 0 or -errno. */
int ebt_layer_clear_dir(const char *run_dir, const char *dir);
/* Create an empty marker file (whiteout, opaque); EEXIST is fine. 0 or -errno. */
int ebt_layer_touch(const char *path);
/* Delete the extent log of the inode ino, if any. */
void ebt_layer_drop_log(const char *run_dir, unsigned long long ino);

/* Add the regular files below root and their sizes to *files and *bytes (reserved names and
 * markers excluded). 0 or -errno; a missing root counts nothing. */
int ebt_layer_usage(const char *root, unsigned long long *files, unsigned long long *bytes);

#endif
