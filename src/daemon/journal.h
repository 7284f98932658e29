/* journal.h - the flush journal (RUN/flush.journal): finished steps, so a rerun resumes. */
#ifndef EBTD_JOURNAL_H
#define EBTD_JOURNAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define EBT_JOURNAL_NAME "flush.journal"
/* Room kept allocated past the journal's end (fallocate KEEP_SIZE), so that a cache file system
 * the job filled still takes the journal lines of its flush; grown again as lines are added. */
#define EBT_JOURNAL_RESERVE (1u << 20) /* at most; 1/16th of a small cache file system */

/* Lines: "S <sec> <nsec>" when this flush started (first line); "P <sec> <nsec>" when the last
 * complete flush before it started; "F <path>" a file/symlink is on the PFS (after its fsync);
 * "W" the whiteout phase and "D" the directory phase finished; "DONE" the flush completed. Paths
 * escape '\\' and '\n'. A journal that ends with DONE belongs to a finished flush: the next flush
 * starts a new one, which writes only what changed since that one started (P). */
struct ebt_journal {
    int fd;
    pthread_mutex_t mu;
    off_t reserved_to; /* blocks allocated up to here (0: none, -1: the file system cannot) */
    off_t reserve;     /* the room kept ahead (reserve_size, asked once) */
    off_t end;         /* the journal's length (lines are only appended, by this holder) */
    char **slots;      /* open-addressing hash set of finished paths */
    size_t nslots, nused;
    int wh_done, dirs_done, complete;
    struct timespec start; /* S */
    struct timespec since; /* P, or 0: everything is to be written */
};

/* Create an empty journal in a new run directory with EBT_JOURNAL_RESERVE bytes reserved, while
 * the cache still has room (ENOSPC then is the user's error to see). 0 or -errno. */
int ebt_journal_create(const char *run_dir);
/* Open (create) and load the journal; takes an exclusive lock (-EBUSY: another flush runs). */
int ebt_journal_open(const char *run_dir, struct ebt_journal *j);
void ebt_journal_close(struct ebt_journal *j);
/* "Now" as the cache file system stamps status changes: every file changed after this call has a
 * ctime at or after *out (the journal's ctime after a change; multigrain timestamps). */
void ebt_journal_stamp(struct ebt_journal *j, struct timespec *out);
int ebt_journal_has(struct ebt_journal *j, const char *path);
/* Append "F path" (thread-safe, one write). 0 or -errno. */
int ebt_journal_file_done(struct ebt_journal *j, const char *path);
/* Append a bare tag line: "W", "D" or "DONE". */
int ebt_journal_mark(struct ebt_journal *j, const char *tag);

/* Escaping used in journal lines (exposed for tests); 0 or -ENAMETOOLONG. */
int ebt_journal_escape(const char *in, char *out, size_t cap);
int ebt_journal_unescape(const char *in, size_t n, char *out, size_t cap);

#endif
