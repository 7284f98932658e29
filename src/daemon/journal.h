/* journal.h - the flush journal (RUN/flush.journal): finished steps, so a rerun resumes. */
#ifndef EBTD_JOURNAL_H
#define EBTD_JOURNAL_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#define EBT_JOURNAL_NAME "flush.journal"

/* Lines: "S <sec> <nsec>" when this flush started (first line); "P <sec> <nsec>" when the last
 * complete flush before it started; "F <path>" a file/symlink is on the PFS (after its fsync);
 * "W" the whiteout phase and "D" the directory phase finished; "DONE" the flush completed. Paths
 * escape '\\' and '\n'. A journal that ends with DONE belongs to a finished flush: the next flush
 * starts a new one, which writes only what changed since that one started (P). */
struct ebt_journal {
    int fd;
    pthread_mutex_t mu;
    char **slots; /* open-addressing hash set of finished paths */
    size_t nslots, nused;
    int wh_done, dirs_done, complete;
    struct timespec start; /* S */
    struct timespec since; /* P, or 0: everything is to be written */
};

/* Open (create) and load the journal; takes an exclusive lock (-EBUSY: another flush runs). */
int ebt_journal_open(const char *run_dir, struct ebt_journal *j);
void ebt_journal_close(struct ebt_journal *j);
int ebt_journal_has(struct ebt_journal *j, const char *path);
/* Append "F path" (thread-safe, one write). 0 or -errno. */
int ebt_journal_file_done(struct ebt_journal *j, const char *path);
/* Append a bare tag line: "W", "D" or "DONE". */
int ebt_journal_mark(struct ebt_journal *j, const char *tag);

/* Escaping used in journal lines (exposed for tests); 0 or -ENAMETOOLONG. */
int ebt_journal_escape(const char *in, char *out, size_t cap);
int ebt_journal_unescape(const char *in, size_t n, char *out, size_t cap);

#endif
