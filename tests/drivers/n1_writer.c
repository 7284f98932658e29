/* n1_writer - N-1 strided workload: NPROC processes pwrite disjoint blocks of one file (IOR-like).
 * `--rank R` runs only rank R (one process), so ranks can run on different (virtual) nodes. */
#define _GNU_SOURCE
#include "drv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N1_SEED 0x4e31ULL

struct job {
    const char *file;
    int nproc;
    size_t block;
    long nblocks;
    int oflags; /* extra open flags of the writers: O_CREAT with --rank */
};

static off_t block_off(const struct job *j, int proc, long k)
{
    return (off_t)((k * j->nproc + proc) * (long)j->block);
}

/* Odd processes write their blocks in reverse order, so the file has holes while it grows. */
static int write_blocks(const struct job *j, int proc, int fd, unsigned char *buf)
{
    for (long i = 0; i < j->nblocks; i++) {
        long k = (proc % 2) ? j->nblocks - 1 - i : i;
        off_t off = block_off(j, proc, k);
        drv_fill(buf, j->block, N1_SEED, (uint64_t)off);
        if (drv_pwrite_all(fd, buf, j->block, off) < 0)
            return drv_err(errno, "proc %d: pwrite block %ld at %lld", proc, k, (long long)off), 1;
    }
    return 0;
}

static int verify_range(int fd, off_t off, size_t len, unsigned char *buf, const char *who)
{
    if (drv_pread_all(fd, buf, len, off) < 0)
        return drv_err(errno, "%s: pread %zu at %lld", who, len, (long long)off), 1;
    long m = drv_verify(buf, len, N1_SEED, (uint64_t)off);
    if (m >= 0)
        return drv_err(0, "%s: wrong byte at offset %lld", who, (long long)(off + m)), 1;
    return 0;
}

static int proc_main(int proc, void *arg)
{
    const struct job *j = arg;
    unsigned char *buf = malloc(j->block);
    int bad = 0;
    int fd = open(j->file, O_RDWR | j->oflags, 0644);
    if (fd < 0)
        return drv_err(errno, "proc %d: open %s", proc, j->file), 1;
    bad = write_blocks(j, proc, fd, buf);
    for (long k = 0; k < j->nblocks && !bad; k++)
        bad = verify_range(fd, block_off(j, proc, k), j->block, buf, "own block");
    if (close(fd) < 0)
        bad = 1, drv_err(errno, "proc %d: close", proc);
    free(buf);
    return bad;
}

static int check_file(const struct job *j)
{
    off_t size = (off_t)j->nproc * j->nblocks * (off_t)j->block;
    unsigned char *buf = malloc(j->block);
    struct stat st;
    int bad = 0;
    int fd = open(j->file, O_RDONLY);
    if (fd < 0)
        return drv_err(errno, "open %s", j->file), free(buf), 1;
    if (fstat(fd, &st) < 0 || st.st_size != size)
        bad = 1,
        drv_err(0, "%s: size %lld, expected %lld", j->file, (long long)st.st_size, (long long)size);
    for (off_t off = 0; off < size && !bad; off += (off_t)j->block)
        bad = verify_range(fd, off, j->block, buf, j->file);
    close(fd);
    free(buf);
    return bad;
}

static int create_empty(const char *file)
{
    int fd = open(file, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0 || close(fd) < 0)
        return drv_err(errno, "create %s", file), 1;
    return 0;
}

/* --rank R: write and verify only rank R's blocks; the file is created if missing, never
   truncated (ranks on other nodes may have written theirs already). */
static int rank_main(const struct job *j, int rank)
{
    if (rank < 0 || rank >= j->nproc)
        drv_die(0, "rank %d not in 0..%d", rank, j->nproc - 1);
    int bad = proc_main(rank, (void *)j);
    printf("%s n1_writer --rank %d: %ld blocks x %zu bytes of %d ranks\n", bad ? "FAIL" : "ok",
           rank, j->nblocks, j->block, j->nproc);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    drv_set_prog(argv[0]);
    int check = 0, rank = -1, opt = 1;
    if (argc > 1 && strcmp(argv[1], "--check") == 0)
        check = 1, opt = 2;
    else if (argc > 2 && strcmp(argv[1], "--rank") == 0)
        rank = (int)drv_atol(argv[2], "RANK"), opt = 3;
    if (argc != opt + 4) {
        fprintf(stderr, "usage: %s [--check | --rank R] FILE NPROC BLOCK NBLOCKS\n", argv[0]);
        return 2;
    }
    char **a = argv + opt - 1;
    struct job j = {a[1], (int)drv_atol(a[2], "NPROC"), (size_t)drv_atol(a[3], "BLOCK"),
                    drv_atol(a[4], "NBLOCKS"), rank >= 0 ? O_CREAT : 0};
    if (j.block == 0 || j.nproc < 1)
        drv_die(0, "need BLOCK > 0 and NPROC > 0");
    if (rank >= 0)
        return rank_main(&j, rank);
    int bad = 0;
    if (!check)
        bad = create_empty(j.file) || drv_run_children(j.nproc, proc_main, &j);
    if (!bad)
        bad = check_file(&j);
    printf("%s n1_writer%s: %d processes x %ld blocks x %zu bytes\n", bad ? "FAIL" : "ok",
           check ? " --check" : "", j.nproc, j.nblocks, j.block);
    return bad ? 1 : 0;
}
