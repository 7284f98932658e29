/* testutil.h - small file helpers for the unit tests (temp run dirs, files, extent logs). */
#ifndef EBT_TESTUTIL_H
#define EBT_TESTUTIL_H

#include "extlog.h"
#include "rundir.h"
#include "sys.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline void tu_write(const char *path, const char *data, size_t n)
{
    ebt_mkdirs(path, 0755, 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, n) != (ssize_t)n)
        abort();
    close(fd);
}

/* File content as a NUL-terminated string (static buffer), or NULL if missing. */
static inline const char *tu_read(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static inline int tu_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static inline void tu_meta_path(const char *run, const char *file, char *out, size_t cap)
{
    struct stat st;
    if (stat(file, &st) < 0)
        abort();
    ebt_meta_path(run, (unsigned long long)st.st_ino, out, cap);
}

/* Append one record to the extent log of file. */
static inline void tu_log(const char *run, const char *file, uint32_t kind, uint64_t off,
                          uint64_t len)
{
    char meta[512];
    struct ebt_ext_rec r = {kind, 1, off, len};
    tu_meta_path(run, file, meta, sizeof(meta));
    if (ebt_extlog_append(meta, &r, 1) < 0)
        abort();
}

static inline void tu_mkrun(char *run, size_t cap, const char *tag)
{
    snprintf(run, cap, "/tmp/ebt-u%s.XXXXXX", tag);
    if (!mkdtemp(run))
        abort();
    char p[512];
    snprintf(p, sizeof(p), "%s/up", run);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/meta", run);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/task", run);
    mkdir(p, 0700);
}

#endif
