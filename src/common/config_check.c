/* config_check.c - the check of each variable of the config table (config.c): what is allowed. */
#define _GNU_SOURCE
#include "config.h"
#include "config_int.h"
#include "path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ebt_config_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static int int_in(const char *v, int lo, int hi, char *err, size_t cap)
{
    int n;
    if (ebt_config_parse_int(v, lo, hi, &n) == 0)
        return 0;
    snprintf(err, cap, "must be a number %d..%d", lo, hi);
    return -EINVAL;
}

/* An existing directory (EBT_CHECK_FS only). */
static int check_dir(const char *path, int flags, char *err, size_t cap)
{
    struct stat st;
    if (!(flags & EBT_CHECK_FS))
        return 0;
    if (stat(path, &st) < 0) {
        snprintf(err, cap, "%s: %s (an existing directory is needed)", path, strerror(errno));
        return -EINVAL;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, cap, "%s: not a directory", path);
        return -EINVAL;
    }
    return 0;
}

/* One element of EBT_PATHS, made canonical into out (symlinks resolved when it exists). */
static int path_element(const char *elem, int flags, char *out, char *err, size_t cap)
{
    char norm[PATH_MAX];
    if (!*elem) {
        snprintf(err, cap, "empty element (a ':' too many); absolute directories separated by ':'");
        return -EINVAL;
    }
    if (elem[0] != '/' || ebt_path_normalize("/", elem, norm, sizeof(norm)) < 0) {
        snprintf(err, cap, "'%s' is not an absolute path", elem);
        return -EINVAL;
    }
    if (check_dir(norm, flags, err, cap) < 0)
        return -EINVAL;
    if (!realpath(norm, out))
        snprintf(out, PATH_MAX, "%s", norm);
    return 0;
}

/* A colon-separated list of at most max directories, each checked (path_element) into paths:
 * their count, or -EINVAL with err set. what names the elements in the error ("prefixes"). */
static int split_dirs(const char *v, int flags, char (*paths)[PATH_MAX], int max, const char *what,
                      char *err, size_t cap)
{
    char buf[4096];
    int n = 0;
    if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf)) {
        snprintf(err, cap, "too long");
        return -EINVAL;
    }
    for (char *elem = buf, *next; elem; elem = next, n++) {
        next = strchr(elem, ':');
        if (next)
            *next++ = '\0';
        if (n == max) {
            snprintf(err, cap, "more than %d %s", max, what);
            return -EINVAL;
        }
        if (path_element(elem, flags, paths[n], err, cap) < 0)
            return -EINVAL;
    }
    return n;
}

int ebt_check_paths(const char *v, int flags, char *err, size_t cap)
{
    static char paths[EBT_MAX_PREFIXES][PATH_MAX];
    int n = split_dirs(v, flags, paths, EBT_MAX_PREFIXES, "prefixes", err, cap);
    return n < 0 ? n : ebt_config_check_prefixes((const char(*)[PATH_MAX])paths, n, err, cap);
}

int ebt_config_check_prefixes(const char (*paths)[PATH_MAX], int n, char *err, size_t cap)
{
    for (int i = 0; i < n; i++) {
        if (!strcmp(paths[i], "/")) {
            snprintf(err, cap, "'/' cannot be managed (give the directories the job writes)");
            return -EINVAL;
        }
        for (int j = 0; j < i; j++) {
            if (!strcmp(paths[i], paths[j])) {
                snprintf(err, cap, "%s is given twice", paths[i]);
                return -EINVAL;
            }
            int inner = ebt_path_under(paths[i], paths[j])   ? i
                        : ebt_path_under(paths[j], paths[i]) ? j
                                                             : -1;
            if (inner >= 0) {
                snprintf(err, cap, "%s lies inside %s: prefixes must not overlap", paths[inner],
                         paths[inner == i ? j : i]);
                return -EINVAL;
            }
        }
    }
    return 0;
}

int ebt_config_check_inputs(const char (*paths)[PATH_MAX], int n, const char *cache, char *err,
                            size_t cap)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            if (!strcmp(paths[i], paths[j])) {
                snprintf(err, cap, "%s is given twice", paths[i]);
                return -EINVAL;
            }
            int inner = ebt_path_under(paths[i], paths[j])   ? i
                        : ebt_path_under(paths[j], paths[i]) ? j
                                                             : -1;
            if (inner >= 0) {
                snprintf(err, cap, "%s lies inside %s: inputs must not overlap", paths[inner],
                         paths[inner == i ? j : i]);
                return -EINVAL;
            }
        }
        if (cache && (ebt_path_under(paths[i], cache) || ebt_path_under(cache, paths[i]))) {
            snprintf(err, cap,
                     "%s overlaps the cache directory %s: an input is read from the PFS, the "
                     "cache is node-local",
                     paths[i], cache);
            return -EINVAL;
        }
    }
    return 0;
}

/* The cache directory the job would use (EBT_CACHE_DIR, else /dev/shm), canonical; "" if none. */
static void cache_dir_now(char *out)
{
    const char *c = getenv("EBT_CACHE_DIR");
    if (!c || !*c)
        c = "/dev/shm";
    if (!realpath(c, out))
        out[0] = '\0';
}

int ebt_check_inputs(const char *v, int flags, char *err, size_t cap)
{
    static char paths[EBT_MAX_INPUTS][PATH_MAX];
    char cache[PATH_MAX];
    int n = split_dirs(v, flags, paths, EBT_MAX_INPUTS, "inputs", err, cap);
    if (n < 0)
        return n;
    if (flags & EBT_CHECK_FS)
        cache_dir_now(cache);
    return ebt_config_check_inputs((const char(*)[PATH_MAX])paths, n,
                                   (flags & EBT_CHECK_FS) && cache[0] ? cache : NULL, err, cap);
}

int ebt_check_visibility(const char *v, int flags, char *err, size_t cap)
{
    return ebt_config_parse_visibility(NULL, v, err, cap);
}

int ebt_check_abs_path(const char *v, int flags, char *err, size_t cap)
{
    if (v[0] == '/')
        return 0;
    snprintf(err, cap, "must be an absolute path");
    return -EINVAL;
}

int ebt_check_cache_dir(const char *v, int flags, char *err, size_t cap)
{
    if (ebt_check_abs_path(v, flags, err, cap) < 0)
        return -EINVAL;
    return check_dir(v, flags, err, cap);
}

int ebt_check_size(const char *v, int flags, char *err, size_t cap)
{
    uint64_t n;
    if (ebt_parse_size(v, &n) == 0)
        return 0;
    snprintf(err, cap, "not a size (e.g. 4096, 64M, 8G)");
    return -EINVAL;
}

int ebt_check_chunk(const char *v, int flags, char *err, size_t cap)
{
    uint64_t n;
    if (ebt_parse_size(v, &n) == 0 && n >= EBT_STAGE_CHUNK_MIN && n <= EBT_STAGE_CHUNK_MAX)
        return 0;
    snprintf(err, cap, "a size from 64K to 1G (e.g. 8M)");
    return -EINVAL;
}

int ebt_check_task_id(const char *v, int flags, char *err, size_t cap)
{
    size_t ok = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    if (v[0] != '.' && ok == strlen(v) && ok < 64)
        return 0;
    snprintf(err, cap, "1..63 letters, digits, '.', '_' or '-', not starting with '.'");
    return -EINVAL;
}

int ebt_check_log_level(const char *v, int flags, char *err, size_t cap)
{
    return int_in(v, 0, 3, err, cap);
}

int ebt_check_ost_deal(const char *v, int flags, char *err, size_t cap)
{
    return int_in(v, 0, 1, err, cap);
}

int ebt_check_threads(const char *v, int flags, char *err, size_t cap)
{
    return int_in(v, 1, 256, err, cap);
}

int ebt_check_fuse(const char *v, int flags, char *err, size_t cap)
{
    if (ebt_fuse_mode_parse(v) >= 0)
        return 0;
    snprintf(err, cap, "must be auto, on or off");
    return -EINVAL;
}

int ebt_check_nodes(const char *v, int flags, char *err, size_t cap)
{
    return int_in(v, 1, 4096, err, cap);
}

int ebt_check_node_id(const char *v, int flags, char *err, size_t cap)
{
    return int_in(v, 0, 4095, err, cap);
}

int ebt_check_job_id(const char *v, int flags, char *err, size_t cap)
{
    if (strlen(v) < 64 && !strpbrk(v, "/\n"))
        return 0;
    snprintf(err, cap, "1..63 characters, no '/'");
    return -EINVAL;
}

static int check_file(const char *v, int flags, const char *what, char *err, size_t cap)
{
    if (!(flags & EBT_CHECK_FS) || access(v, F_OK) == 0)
        return 0;
    snprintf(err, cap, "%s %s: %s (build it, or unset the variable)", what, v, strerror(errno));
    return -EINVAL;
}

int ebt_check_lib(const char *v, int flags, char *err, size_t cap)
{
    return check_file(v, flags, "client library", err, cap);
}

int ebt_check_daemon(const char *v, int flags, char *err, size_t cap)
{
    return check_file(v, flags, "daemon", err, cap);
}

int ebt_check_listen(const char *v, int flags, char *err, size_t cap)
{
    const char *colon = strrchr(v, ':');
    if (colon && colon > v && int_in(colon + 1, 0, 65535, err, cap) == 0)
        return 0;
    snprintf(err, cap, "must be HOST:PORT (e.g. 10.0.0.5:0; port 0..65535, 0: any)");
    return -EINVAL;
}

int ebt_check_ms(const char *v, int flags, char *err, size_t cap)
{
    return int_in(v, 1, 3600000, err, cap);
}

int ebt_check_transport(const char *v, int flags, char *err, size_t cap)
{
    if (!strcmp(v, "ucx") || !strcmp(v, "mpi"))
        return 0;
    snprintf(err, cap, "must be ucx or mpi (mpi: daemons launched by mpirun/srun, rank = node id)");
    return -EINVAL;
}

int ebt_check_layout(const char *v, int flags, char *err, size_t cap)
{
    if (ebt_layout_mode_parse(v) >= 0)
        return 0;
    snprintf(err, cap, "must be auto, lustre, lustreapi or posix");
    return -EINVAL;
}

/* Lustre's rule: a multiple of 64 KiB that fits lmm_stripe_size (32 bits). */
int ebt_check_stripe_size(const char *v, int flags, char *err, size_t cap)
{
    uint64_t n;
    if (ebt_parse_size(v, &n) == 0 && n > 0 && n % (64u << 10) == 0 && n <= UINT32_MAX)
        return 0;
    snprintf(err, cap, "must be a size that is a multiple of 64K, 64K..4G-64K (e.g. 1M, 4M)");
    return -EINVAL;
}

int ebt_check_stripe_count(const char *v, int flags, char *err, size_t cap)
{
    int n;
    if (ebt_config_parse_int(v, -1, 2000, &n) == 0 && n != 0)
        return 0;
    snprintf(err, cap, "must be 1..2000, or -1 for all OSTs");
    return -EINVAL;
}
