/* runcfg.c - read and write RUN/config; values go through ebt_config like the environment. */
#define _GNU_SOURCE
#include "runcfg.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const runcfg_keys[] = {
    "EBT_PATHS",         "EBT_VISIBILITY", "EBT_CACHE_BYTES", "EBT_FLUSH_THREADS",
    "EBT_LOG_LEVEL",     "EBT_NODES",      "EBT_NODE_ID",     "EBT_RENDEZVOUS",
    "EBT_JOB_ID",        "EBT_FUSE",       "EBT_INPUT_PATHS", "EBT_INPUT_CACHE_BYTES",
    "EBT_INPUT_FILE_MAX"};

static int runcfg_line(char *line, int lineno, char *err, size_t errcap)
{
    char *eq = strchr(line, '=');
    if (!*line || *line == '#')
        return 0;
    if (!eq) {
        snprintf(err, errcap, "config line %d: expected KEY=VALUE", lineno);
        return -EINVAL;
    }
    *eq = '\0';
    for (size_t i = 0; i < sizeof(runcfg_keys) / sizeof(runcfg_keys[0]); i++)
        if (!strcmp(line, runcfg_keys[i]))
            return setenv(line, eq + 1, 1) < 0 ? -errno : 0;
    snprintf(err, errcap, "config line %d: unknown key '%s'", lineno, line);
    return -EINVAL;
}

static int runcfg_read(const char *path, char *buf, size_t cap)
{
    int fd = ebt_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    ssize_t r;
    while (got + 1 < cap && (r = ebt_sys_read(fd, buf + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    ebt_sys_close(fd);
    buf[got] = '\0';
    return 0;
}

int ebt_runcfg_load(const char *run_dir, struct ebt_config *cfg, char *err, size_t errcap)
{
    char path[PATH_MAX], buf[16384];
    err[0] = '\0';
    if (ebt_rundir_file(run_dir, EBT_RUNCFG_NAME, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    int rc = runcfg_read(path, buf, sizeof(buf));
    if (rc < 0) {
        snprintf(err, errcap, "cannot read %s: %s", path, strerror(-rc));
        return rc;
    }
    int lineno = 0;
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l && rc == 0; l = strtok_r(NULL, "\n", &save))
        rc = runcfg_line(l, ++lineno, err, errcap);
    if (rc == 0)
        rc = setenv("EBT_RUN_DIR", run_dir, 1) < 0 ? -errno : 0;
    return rc < 0 ? rc : ebt_config_load(cfg, err, errcap);
}

int ebt_runcfg_write(const char *run_dir, const char *paths, const char *visibility,
                     uint64_t cache_bytes)
{
    static const struct ebt_runcfg_job one_node = {1, 0, "", "", NULL};
    return ebt_runcfg_write_job(run_dir, paths, visibility, cache_bytes, &one_node);
}

int ebt_runcfg_write_job(const char *run_dir, const char *paths, const char *visibility,
                         uint64_t cache_bytes, const struct ebt_runcfg_job *job)
{
    char path[PATH_MAX], text[8192];
    if (ebt_rundir_file(run_dir, EBT_RUNCFG_NAME, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    int n = snprintf(text, sizeof(text),
                     "EBT_PATHS=%s\nEBT_VISIBILITY=%s\nEBT_CACHE_BYTES=%llu\nEBT_NODES=%d\n"
                     "EBT_NODE_ID=%d\nEBT_RENDEZVOUS=%s\nEBT_JOB_ID=%s\n",
                     paths, visibility, (unsigned long long)cache_bytes, job->nodes, job->node_id,
                     job->rendezvous, job->job_id);
    static const char *const sizes[] = {"EBT_INPUT_CACHE_BYTES", "EBT_INPUT_FILE_MAX"};
    if (n >= 0 && n < (int)sizeof(text) && job->inputs && *job->inputs)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "EBT_INPUT_PATHS=%s\n", job->inputs);
    for (int i = 0; i < 2 && n >= 0 && n < (int)sizeof(text); i++)
        if (getenv(sizes[i]) && !strchr(getenv(sizes[i]), '\n'))
            n +=
                snprintf(text + n, sizeof(text) - (size_t)n, "%s=%s\n", sizes[i], getenv(sizes[i]));
    if (n < 0 || n >= (int)sizeof(text))
        return -ENAMETOOLONG;
    int fd = ebt_sys_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = ebt_write_full(fd, text, (size_t)n);
    if (ebt_sys_close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}
