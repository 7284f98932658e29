/* orphans.h - publish close-mode stages left by processes that died (orphans.c). */
#ifndef EBTD_ORPHANS_H
#define EBTD_ORPHANS_H

/* Publish every stage in RUN/stage whose process is gone and which still names its logical path;
 * *published counts them. 0, or the first -errno (the others are still tried). One node only. */
int ebtd_publish_orphans(const char *run, int *published);

#endif
