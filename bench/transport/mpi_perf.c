/* mpi_perf.c - ebt-mpi-perf: plain MPI between two ranks, the reference EBT's MPI transport is
 * measured against (as ucx_perftest is for UCX). `lat`: a SIZE-byte ping-pong, microseconds per
 * round trip (one request and its reply, what ebt-tp-bench -l reports). `bw`: rank 0 streams
 * COUNT messages of SIZE bytes to rank 1, WINDOW in flight, one acknowledgement per window
 * (the osu_bw pattern), MB/s (10^6 bytes). Each run is repeated REPEATS times; the median is
 * printed as "median: VALUE UNIT". Usage: mpirun -np 2 ebt-mpi-perf lat|bw [-s SIZE] [-n COUNT]
 * [-w WINDOW] [-r REPEATS] */
#define _GNU_SOURCE
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { TAG_DATA = 1, TAG_ACK = 2, MAX_WINDOW = 256, MAX_REPEATS = 64 };

struct opts {
    int bw;
    size_t size;
    int count, window, repeats;
};

static void usage(void)
{
    fprintf(stderr, "usage: mpirun -np 2 ebt-mpi-perf lat|bw [-s SIZE] [-n COUNT] [-w WINDOW] "
                    "[-r REPEATS]\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    if (argc < 2 || (strcmp(argv[1], "lat") != 0 && strcmp(argv[1], "bw") != 0))
        return -1;
    o->bw = strcmp(argv[1], "bw") == 0;
    o->size = o->bw ? 1048576 : 8;
    o->count = o->bw ? 2000 : 10000;
    o->window = o->bw ? 16 : 1;
    o->repeats = 5;
    int c;
    optind = 2;
    while ((c = getopt(argc, argv, "s:n:w:r:")) != -1) {
        switch (c) {
        case 's':
            o->size = strtoull(optarg, NULL, 0);
            break;
        case 'n':
            o->count = atoi(optarg);
            break;
        case 'w':
            o->window = atoi(optarg);
            break;
        case 'r':
            o->repeats = atoi(optarg);
            break;
        default:
            return -1;
        }
    }
    if (o->size == 0 || o->size > (size_t)1 << 30 || o->count < 1 || o->window < 1 ||
        o->window > MAX_WINDOW || o->repeats < 1 || o->repeats > MAX_REPEATS)
        return -1;
    return 0;
}

/* One ping-pong run: seconds per round trip. */
static double run_lat(const struct opts *o, int rank, char *buf)
{
    int peer = 1 - rank;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < o->count; i++) {
        if (rank == 0) {
            MPI_Send(buf, (int)o->size, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD);
            MPI_Recv(buf, (int)o->size, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf, (int)o->size, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            MPI_Send(buf, (int)o->size, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD);
        }
    }
    return (MPI_Wtime() - t0) / o->count;
}

/* One streaming run: seconds for COUNT messages, windows of WINDOW, each window acknowledged. */
static double run_bw(const struct opts *o, int rank, char *buf)
{
    MPI_Request req[MAX_WINDOW];
    MPI_Status st[MAX_WINDOW]; /* not MPI_STATUSES_IGNORE: gcc 12 warns on MPICH's definition */
    int peer = 1 - rank;
    char ack = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int done = 0; done < o->count;) {
        int n = o->count - done < o->window ? o->count - done : o->window;
        for (int i = 0; i < n; i++) {
            char *p = buf + (size_t)i * o->size;
            if (rank == 0)
                MPI_Isend(p, (int)o->size, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD, &req[i]);
            else
                MPI_Irecv(p, (int)o->size, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD, &req[i]);
        }
        MPI_Waitall(n, req, st);
        if (rank == 0)
            MPI_Recv(&ack, 1, MPI_BYTE, peer, TAG_ACK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        else
            MPI_Send(&ack, 1, MPI_BYTE, peer, TAG_ACK, MPI_COMM_WORLD);
        done += n;
    }
    return MPI_Wtime() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    struct opts o;
    if (parse_opts(argc, argv, &o) != 0 || size != 2) {
        if (rank == 0 && size != 2)
            fprintf(stderr, "ebt-mpi-perf: needs exactly 2 ranks\n");
        else if (rank == 0)
            usage();
        MPI_Finalize();
        return 2;
    }
    size_t bytes = o.size * (size_t)(o.bw ? o.window : 1);
    char *buf = malloc(bytes);
    if (!buf) {
        fprintf(stderr, "ebt-mpi-perf: out of memory for %zu bytes\n", bytes);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(buf, rank + 1, bytes);
    double r[MAX_REPEATS];
    if (o.bw) /* warm-up: connections, registrations */
        run_bw(&o, rank, buf);
    else
        run_lat(&o, rank, buf);
    for (int i = 0; i < o.repeats; i++) {
        double t = o.bw ? run_bw(&o, rank, buf) : run_lat(&o, rank, buf);
        r[i] = o.bw ? (double)o.size * o.count / t / 1e6 : t * 1e6;
        if (rank == 0)
            printf("run %d: %s %zu B x %d, window %d: %.2f %s\n", i + 1, o.bw ? "bw" : "lat",
                   o.size, o.count, o.window, r[i], o.bw ? "MB/s" : "us per round trip");
    }
    qsort(r, (size_t)o.repeats, sizeof r[0], cmp_double);
    if (rank == 0)
        printf("median: %.2f %s (plain MPI)\n", r[o.repeats / 2],
               o.bw ? "MB/s" : "us per round trip");
    free(buf);
    MPI_Finalize();
    return 0;
}
