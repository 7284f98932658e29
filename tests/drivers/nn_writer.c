/* nn_writer - N-N workload: NPROC processes each write, read back and verify their own files. */
#define _GNU_SOURCE
#include "drv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct job {
    const char *dir;
    int nfiles;
    size_t size;
};

static const size_t chunk_sizes[] = {1, 3, 100, 511, 4096, 4097, 65536, 131085};
#define NCHUNK (sizeof(chunk_sizes) / sizeof(chunk_sizes[0]))
#define MAXCHUNK 131085

static uint64_t file_seed(int proc, int file)
{
    return ((uint64_t)proc << 20 | (uint64_t)file) + 1;
}

/* Next chunk size from a per-file generator: deterministic, mixes tiny and large transfers. */
static size_t next_chunk(uint64_t *state, size_t left)
{
    *state = drv_mix64(*state);
    size_t c = chunk_sizes[*state % NCHUNK];
    return c < left ? c : left;
}

static void file_path(char *out, size_t cap, const struct job *j, int proc, int file)
{
    snprintf(out, cap, "%s/p%d/f%d.dat", j->dir, proc, file);
}

static int write_file(const char *path, uint64_t seed, size_t size, unsigned char *buf)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        return drv_err(errno, "open %s for writing", path), 1;
    uint64_t st = seed;
    for (size_t off = 0; off < size;) {
        size_t c = next_chunk(&st, size - off);
        drv_fill(buf, c, seed, off);
        if (drv_write_all(fd, buf, c) < 0)
            return drv_err(errno, "write %zu bytes at %zu to %s", c, off, path), close(fd), 1;
        off += c;
    }
    if (close(fd) < 0)
        return drv_err(errno, "close %s", path), 1;
    return 0;
}

static int check_size(const char *path, int fd, size_t size)
{
    struct stat a, b;
    if (fstat(fd, &a) < 0 || stat(path, &b) < 0)
        return drv_err(errno, "stat %s", path), 1;
    if ((size_t)a.st_size != size || (size_t)b.st_size != size)
        return drv_err(0, "%s: fstat size %lld, stat size %lld, expected %zu", path,
                       (long long)a.st_size, (long long)b.st_size, size),
               1;
    return 0;
}

/* Read back with a different chunk sequence than the writer and compare with the pattern. */
static int nn_verify_file(const char *path, uint64_t seed, size_t size, unsigned char *buf)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return drv_err(errno, "open %s for reading", path), 1;
    int bad = check_size(path, fd, size);
    uint64_t st = ~seed;
    size_t off = 0;
    while (!bad && off < size) {
        size_t c = next_chunk(&st, size - off);
        ssize_t r = read(fd, buf, c);
        if (r <= 0) {
            drv_err(r < 0 ? errno : 0, "%s: read at %zu returned %zd", path, off, r);
            bad = 1;
            break;
        }
        long m = drv_verify(buf, (size_t)r, seed, off);
        if (m >= 0)
            bad = 1, drv_err(0, "%s: wrong byte at offset %zu", path, off + (size_t)m);
        off += (size_t)r;
    }
    if (!bad && read(fd, buf, 1) != 0)
        bad = 1, drv_err(0, "%s: data beyond expected size %zu", path, size);
    close(fd);
    return bad;
}

static int proc_main(int proc, void *arg)
{
    const struct job *j = arg;
    char path[4096];
    unsigned char *buf = malloc(MAXCHUNK);
    int bad = 0;
    snprintf(path, sizeof(path), "%s/p%d", j->dir, proc);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return drv_err(errno, "mkdir %s", path), 1;
    for (int f = 0; f < j->nfiles && !bad; f++) {
        file_path(path, sizeof(path), j, proc, f);
        bad = write_file(path, file_seed(proc, f), j->size, buf);
    }
    for (int f = 0; f < j->nfiles && !bad; f++) {
        file_path(path, sizeof(path), j, proc, f);
        bad = nn_verify_file(path, file_seed(proc, f), j->size, buf);
    }
    free(buf);
    return bad;
}

static int check_all(const struct job *j, int nproc)
{
    char path[4096];
    unsigned char *buf = malloc(MAXCHUNK);
    int bad = 0;
    for (int p = 0; p < nproc; p++)
        for (int f = 0; f < j->nfiles; f++) {
            file_path(path, sizeof(path), j, p, f);
            bad += nn_verify_file(path, file_seed(p, f), j->size, buf);
        }
    free(buf);
    return bad;
}

int main(int argc, char **argv)
{
    drv_set_prog(argv[0]);
    int check = argc > 1 && strcmp(argv[1], "--check") == 0;
    if (argc != 5 + check) {
        fprintf(stderr, "usage: %s [--check] DIR NPROC FILES_PER_PROC SIZE\n", argv[0]);
        return 2;
    }
    char **a = argv + check;
    struct job j = {a[1], (int)drv_atol(a[3], "FILES_PER_PROC"), (size_t)drv_atol(a[4], "SIZE")};
    int nproc = (int)drv_atol(a[2], "NPROC");
    int bad = check ? check_all(&j, nproc) : drv_run_children(nproc, proc_main, &j);
    if (!bad && !check)
        bad = check_all(&j, nproc); /* the parent sees every child's files once they exited */
    printf("%s %s: %d processes x %d files x %zu bytes\n", bad ? "FAIL" : "ok",
           check ? "nn_writer --check" : "nn_writer", nproc, j.nfiles, j.size);
    return bad ? 1 : 0;
}
