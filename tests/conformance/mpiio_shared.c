/* mpiio_shared.c - MPI-IO on one shared file, the way simulation codes checkpoint: every rank
 * writes its strided blocks through a file view with a collective write, the file is synced,
 * every rank reads back its neighbour's blocks (MPI's sync-barrier-sync makes them visible), then
 * independent writes at explicit offsets, a set_size that cuts the file, and a second open that
 * reads it whole. Rank 0 prints what a user would check. Built by the conformance case `mpiio`
 * with each MPI's mpicc. Usage: mpiio_shared FILE */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 65536
#define NBLOCKS 6

static unsigned char byte_of(int rank, int k, int i)
{
    return (unsigned char)(rank * 31 + k * 7 + i % 251);
}

static void fill(unsigned char *b, int rank, int k)
{
    for (int i = 0; i < BLOCK; i++)
        b[i] = byte_of(rank, k, i);
}

static int check(const unsigned char *b, int rank, int k)
{
    for (int i = 0; i < BLOCK; i++)
        if (b[i] != byte_of(rank, k, i))
            return 0;
    return 1;
}

static void die(const char *what, int rc)
{
    char msg[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, msg, &n);
    fprintf(stderr, "%s: %s\n", what, msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

#define TRY(what, call)                                                                            \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != MPI_SUCCESS)                                                                    \
            die(what, rc_);                                                                        \
    } while (0)

/* Strided blocks: block k of rank r at (k * size + r) * BLOCK. */
static void collective_write(MPI_File fh, int rank, int size)
{
    MPI_Datatype strided;
    unsigned char *buf = malloc((size_t)BLOCK * NBLOCKS);
    for (int k = 0; k < NBLOCKS; k++)
        fill(buf + (size_t)k * BLOCK, rank, k);
    TRY("type_vector", MPI_Type_vector(NBLOCKS, BLOCK, BLOCK * size, MPI_BYTE, &strided));
    TRY("type_commit", MPI_Type_commit(&strided));
    TRY("set_view", MPI_File_set_view(fh, (MPI_Offset)rank * BLOCK, MPI_BYTE, strided, "native",
                                      MPI_INFO_NULL));
    TRY("write_all", MPI_File_write_all(fh, buf, BLOCK * NBLOCKS, MPI_BYTE, MPI_STATUS_IGNORE));
    TRY("set_view back", MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL));
    MPI_Type_free(&strided);
    free(buf);
}

/* After sync-barrier-sync every rank's blocks are visible: read the next rank's. */
static int read_neighbour(MPI_File fh, int rank, int size)
{
    unsigned char *buf = malloc(BLOCK);
    int next = (rank + 1) % size, good = 1;
    for (int k = 0; k < NBLOCKS; k++) {
        MPI_Offset off = ((MPI_Offset)k * size + next) * BLOCK;
        TRY("read_at", MPI_File_read_at(fh, off, buf, BLOCK, MPI_BYTE, MPI_STATUS_IGNORE));
        good &= check(buf, next, k);
    }
    free(buf);
    return good;
}

int main(int argc, char **argv)
{
    int rank, size, good, all;
    MPI_File fh;
    MPI_Offset fsize;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 2) {
        if (rank == 0)
            fprintf(stderr, "usage: mpiio_shared FILE\n");
        MPI_Finalize();
        return 2;
    }
    TRY("open", MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_CREATE | MPI_MODE_RDWR,
                              MPI_INFO_NULL, &fh));
    collective_write(fh, rank, size);
    TRY("sync", MPI_File_sync(fh));
    MPI_Barrier(MPI_COMM_WORLD);
    TRY("sync", MPI_File_sync(fh));
    good = read_neighbour(fh, rank, size);
    MPI_Allreduce(&good, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    TRY("get_size", MPI_File_get_size(fh, &fsize));
    if (rank == 0)
        printf("collective: size %lld, neighbours' blocks %s\n", (long long)fsize,
               all ? "right" : "WRONG");
    /* independent writes: each rank overwrites the first 100 bytes of its own first block */
    char tag[100];
    memset(tag, 'A' + rank, sizeof(tag));
    TRY("write_at", MPI_File_write_at(fh, (MPI_Offset)rank * BLOCK, tag, sizeof(tag), MPI_CHAR,
                                      MPI_STATUS_IGNORE));
    MPI_Barrier(MPI_COMM_WORLD);
    TRY("set_size", MPI_File_set_size(fh, (MPI_Offset)BLOCK * size * (NBLOCKS - 1)));
    TRY("close", MPI_File_close(&fh));
    /* a second open, read-only: rank 0 reads it whole */
    TRY("reopen", MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_RDONLY, MPI_INFO_NULL, &fh));
    TRY("get_size", MPI_File_get_size(fh, &fsize));
    if (rank == 0) {
        size_t n = (size_t)fsize;
        unsigned char *all_bytes = malloc(n ? n : 1);
        TRY("read_at", MPI_File_read_at(fh, 0, all_bytes, (int)n, MPI_BYTE, MPI_STATUS_IGNORE));
        unsigned long sum = 0;
        for (size_t i = 0; i < n; i++)
            sum = sum * 33 + all_bytes[i];
        printf("reopened: size %lld, checksum %lx, first byte of rank blocks:", (long long)fsize,
               sum);
        for (int r = 0; r < size; r++)
            printf(" %c", all_bytes[(size_t)r * BLOCK]);
        printf("\n");
        free(all_bytes);
    }
    TRY("close", MPI_File_close(&fh));
    MPI_Finalize();
    return 0;
}
