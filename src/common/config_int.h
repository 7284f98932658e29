/* config_int.h - private to config.c/config_check.c: the per-variable checks of the table. */
#ifndef EBT_CONFIG_INT_H
#define EBT_CONFIG_INT_H

#include <stddef.h>

/* A variable's check: 0, or -EINVAL with the reason and what is allowed in err.
 * flags: EBT_CHECK_FS (config.h) also checks the file system (paths exist, are directories). */
typedef int (*config_check_fn)(const char *value, int flags, char *err, size_t cap);

struct config_var {
    const char *env;
    const char *def;
    const char *help;
    config_check_fn check; /* every variable has one: ebt_config_check_env runs them all */
};

int ebt_check_paths(const char *v, int flags, char *err, size_t cap);
int ebt_check_inputs(const char *v, int flags, char *err, size_t cap);
int ebt_check_visibility(const char *v, int flags, char *err, size_t cap);
int ebt_check_abs_path(const char *v, int flags, char *err, size_t cap);
int ebt_check_cache_dir(const char *v, int flags, char *err, size_t cap);
int ebt_check_size(const char *v, int flags, char *err, size_t cap);
int ebt_check_task_id(const char *v, int flags, char *err, size_t cap);
int ebt_check_log_level(const char *v, int flags, char *err, size_t cap);
int ebt_check_threads(const char *v, int flags, char *err, size_t cap);
int ebt_check_chunk(const char *v, int flags, char *err, size_t cap);
int ebt_check_fuse(const char *v, int flags, char *err, size_t cap);
int ebt_check_nodes(const char *v, int flags, char *err, size_t cap);
int ebt_check_node_id(const char *v, int flags, char *err, size_t cap);
int ebt_check_job_id(const char *v, int flags, char *err, size_t cap);
int ebt_check_lib(const char *v, int flags, char *err, size_t cap);
int ebt_check_daemon(const char *v, int flags, char *err, size_t cap);
int ebt_check_listen(const char *v, int flags, char *err, size_t cap);
int ebt_check_ms(const char *v, int flags, char *err, size_t cap);
int ebt_check_transport(const char *v, int flags, char *err, size_t cap);
int ebt_check_layout(const char *v, int flags, char *err, size_t cap);
int ebt_check_ost_deal(const char *v, int flags, char *err, size_t cap);
int ebt_check_stripe_size(const char *v, int flags, char *err, size_t cap);
int ebt_check_stripe_count(const char *v, int flags, char *err, size_t cap);

/* "123" in [lo, hi]; -EINVAL otherwise. */
int ebt_config_parse_int(const char *s, int lo, int hi, int *out);

#endif
