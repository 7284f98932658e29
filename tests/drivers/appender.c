/* appender - NPROC processes append fixed-size records to one O_APPEND file; --check verifies. */
#define _GNU_SOURCE
#include "drv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_LEN 23 /* "ww:pppppppppp/ssssssss/", see make_record */
#define MAX_FILE (64L << 20)

struct job {
    const char *file;
    int nproc, nrec;
    size_t recsize;
};

static char payload_char(int w, int seq, size_t i)
{
    return (char)('a' + drv_mix64(((uint64_t)w << 40) ^ ((uint64_t)seq << 16) ^ i) % 26);
}

/* Record: "ww:pid/seq/" header, payload letters, '\n'; exactly recsize bytes. */
static void make_record(char *rec, size_t recsize, int w, int pid, int seq)
{
    int h = snprintf(rec, recsize, "%02d:%010d/%08d/", w, pid, seq);
    for (size_t i = (size_t)h; i < recsize - 1; i++)
        rec[i] = payload_char(w, seq, i);
    rec[recsize - 1] = '\n';
}

/* Even writers use open(O_APPEND)+write, odd ones fopen("a")+fwrite+fflush. */
static int append_fd(const struct job *j, int w, char *rec)
{
    int fd = open(j->file, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        return drv_err(errno, "writer %d: open %s", w, j->file), 1;
    for (int s = 0; s < j->nrec; s++) {
        make_record(rec, j->recsize, w, getpid(), s);
        ssize_t n = write(fd, rec, j->recsize);
        if (n != (ssize_t)j->recsize)
            return drv_err(errno, "writer %d: write record %d returned %zd", w, s, n), 1;
    }
    return close(fd) < 0 ? (drv_err(errno, "writer %d: close", w), 1) : 0;
}

static int append_stdio(const struct job *j, int w, char *rec)
{
    FILE *f = fopen(j->file, "a");
    if (!f)
        return drv_err(errno, "writer %d: fopen %s", w, j->file), 1;
    for (int s = 0; s < j->nrec; s++) {
        make_record(rec, j->recsize, w, getpid(), s);
        if (fwrite(rec, 1, j->recsize, f) != j->recsize || fflush(f) != 0)
            return drv_err(errno, "writer %d: fwrite/fflush record %d", w, s), fclose(f), 1;
    }
    return fclose(f) != 0 ? (drv_err(errno, "writer %d: fclose", w), 1) : 0;
}

static int writer_main(int w, void *arg)
{
    const struct job *j = arg;
    char *rec = malloc(j->recsize);
    int bad = (w % 2 == 0) ? append_fd(j, w, rec) : append_stdio(j, w, rec);
    free(rec);
    return bad;
}

/* Check one record; update seen counts and per-writer order; return 0 if fine. */
static int check_record(const struct job *j, const char *rec, long k, int *seen, int *last,
                        int *pids)
{
    int w, pid, seq, h = 0;
    if (rec[j->recsize - 1] != '\n' || sscanf(rec, "%2d:%10d/%8d/%n", &w, &pid, &seq, &h) != 3 ||
        h != HDR_LEN || w < 0 || w >= j->nproc || seq < 0 || seq >= j->nrec)
        return drv_err(0, "record %ld (offset %ld): bad header or terminator", k,
                       k * (long)j->recsize),
               1;
    for (size_t i = (size_t)h; i < j->recsize - 1; i++)
        if (rec[i] != payload_char(w, seq, i))
            return drv_err(0, "record %ld (writer %d seq %d): payload corrupt at byte %zu", k, w,
                           seq, i),
                   1;
    if (seen[(long)w * j->nrec + seq]++)
        return drv_err(0, "record writer %d seq %d appears twice (record %ld)", w, seq, k), 1;
    if (seq <= last[w])
        return drv_err(0, "writer %d: seq %d after seq %d (a writer's order lost)", w, seq,
                       last[w]),
               1;
    if (pids[w] && pids[w] != pid)
        return drv_err(0, "writer %d: records from two pids %d and %d", w, pids[w], pid), 1;
    last[w] = seq, pids[w] = pid;
    return 0;
}

static int check_records(const struct job *j, const char *data, long n)
{
    int *seen = calloc((size_t)j->nproc * (size_t)j->nrec, sizeof(int));
    int *last = malloc((size_t)j->nproc * sizeof(int));
    int *pids = calloc((size_t)j->nproc, sizeof(int));
    int bad = 0;
    for (int w = 0; w < j->nproc; w++)
        last[w] = -1;
    for (long k = 0; k < n && bad < 10; k++)
        bad += check_record(j, data + k * (long)j->recsize, k, seen, last, pids);
    for (long i = 0; !bad && i < (long)j->nproc * j->nrec; i++)
        if (!seen[i])
            bad = 1, drv_err(0, "record writer %ld seq %ld missing", i / j->nrec, i % j->nrec);
    free(seen), free(last), free(pids);
    return bad;
}

static int check_file(const struct job *j)
{
    long want = (long)j->nproc * j->nrec * (long)j->recsize;
    if (want > MAX_FILE)
        drv_die(0, "file would exceed %ld bytes", MAX_FILE);
    int fd = open(j->file, O_RDONLY);
    if (fd < 0)
        return drv_err(errno, "open %s", j->file), 1;
    char *data = malloc((size_t)want + 1);
    ssize_t n = drv_read_upto(fd, data, (size_t)want + 1);
    close(fd);
    int bad = 0;
    if (n != want)
        bad = 1, drv_err(0, "%s: size %zd, expected %ld (%d writers x %d records x %zu)", j->file,
                         n, want, j->nproc, j->nrec, j->recsize);
    if (n > 0)
        bad |= check_records(j, data, (n > want ? want : n) / (long)j->recsize);
    free(data);
    return bad;
}

int main(int argc, char **argv)
{
    drv_set_prog(argv[0]);
    int check = argc > 1 && strcmp(argv[1], "--check") == 0;
    if (argc != 5 + check) {
        fprintf(stderr, "usage: %s [--check] FILE NPROC RECORDS RECSIZE\n", argv[0]);
        return 2;
    }
    char **a = argv + check;
    struct job j = {a[1], (int)drv_atol(a[2], "NPROC"), (int)drv_atol(a[3], "RECORDS"),
                    (size_t)drv_atol(a[4], "RECSIZE")};
    if (j.recsize < HDR_LEN + 2 || j.nproc < 1 || j.nproc > 99)
        drv_die(0, "need RECSIZE >= %d and 1 <= NPROC <= 99", HDR_LEN + 2);
    int bad = check ? 0 : drv_run_children(j.nproc, writer_main, &j);
    if (!bad)
        bad = check_file(&j);
    printf("%s appender%s: %d writers x %d records x %zu bytes\n", bad ? "FAIL" : "ok",
           check ? " --check" : "", j.nproc, j.nrec, j.recsize);
    return bad ? 1 : 0;
}
