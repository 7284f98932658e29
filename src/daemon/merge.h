/* merge.h - visibility=task: apply the per-task layers RUN/task/<tid> onto RUN/up. */
#ifndef EBTD_MERGE_H
#define EBTD_MERGE_H

#include <stddef.h>
#include <stdint.h>

struct ebt_merge_stats {
    uint64_t tasks, renamed, copied, whiteouts, opaques, dirs;
};

/* Merge every RUN/task/<tid> (numeric names, ascending: a higher tid wins where tasks overlap)
 * into RUN/up and remove it. Each applied entry is removed from the task layer at once, so a
 * merge that is interrupted resumes where it stopped. 0 or -errno (reason in err). */
int ebt_merge_tasks(const char *run_dir, struct ebt_merge_stats *st, char *err, size_t errcap);

/* The size of the up file after merging a task file (exposed for tests): the task file's size if
 * the task truncated (a TRUNC record, or smaller than its base), else the larger of the two. */
uint64_t ebt_merge_new_size(uint64_t up_size, uint64_t task_size, uint64_t task_base,
                            int task_truncated);

#endif
