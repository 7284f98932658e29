/* fs.h - ebtd's FUSE view: the job's namespace mounted over each managed prefix (one node). */
#ifndef EBTD_FS_H
#define EBTD_FS_H

struct ebtd;
struct ebt_config;

/* Mount the view over every managed prefix that exists (EBT_FUSE=auto|on|off). Where no mount
 * is possible, say why once (log and stderr) and leave that prefix to the preload client;
 * -errno only when EBT_FUSE=on demanded a mount that failed. */
int ebtd_fs_start(struct ebtd *d);
/* Unmount every view and remove RUN/lower (safe when nothing is mounted). */
void ebtd_fs_stop(struct ebtd *d);
/* Before an offline flush (the daemon of run is dead): lazily unmount every view that run's
 * daemon left over cfg's prefixes, and remove RUN/lower, so that the flush reaches the PFS.
 * Returns how many views it unmounted. */
int ebtd_fs_clear_stale(const char *run, const struct ebt_config *cfg);

#endif
