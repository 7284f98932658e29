/* pfscount.h - the count of PFS operations EBT's client makes for the job (its lookups, opens,
 * stats, directory creates ... on PFS paths below the managed prefixes), shared by every client
 * process of a node through one mapped counter file, RUN/pfsops, read by the daemon and the
 * tools for the summary and `ebt stat` (docs/flush.md "Counting PFS operations"). */
#ifndef EBT_PFSCOUNT_H
#define EBT_PFSCOUNT_H

#include <stddef.h>
#include <stdint.h>

#define EBT_PFSCOUNT_FILE "pfsops"
#define EBT_PFSCOUNT_MAX_ROOTS 16

/* The daemon, when it makes the run directory: create RUN/pfsops (zero) if missing. 0/-errno. */
int ebt_pfscount_create(const char *run);
/* A client: map RUN/pfsops and count every raw path call (sys.h) on a path at or below one of
 * roots (the PFS directories of the managed prefixes, as reached). 0, or -errno (counting off:
 * the job runs the same). */
int ebt_pfscount_attach(const char *run, const char *const *roots, int nroots);
/* Stop counting in this process (the counter file stays). */
void ebt_pfscount_detach(void);
/* The node's count so far (0 if the file is missing or short). */
uint64_t ebt_pfscount_read(const char *run);

#endif
