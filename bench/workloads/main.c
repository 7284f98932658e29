/* main.c - ebt-workload: HPC and AI I/O shapes as fork-based ranks; run, set up inputs, verify. */
#include "wl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const wl_workload_t *const workloads[] = {
    &wl_wrf,      &wl_namd,    &wl_vpic,       &wl_specfem,    &wl_resnet,
    &wl_pyimport, &wl_montage, &wl_bulk_small, &wl_bulk_large, &wl_mdtest,
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: ebt-workload [--setup|--verify] --dir DIR [--ranks N] [--nodes K] [--full] NAME\n"
        "       ebt-workload --list\n"
        "  --dir DIR   root of the workload's files; \"%%n\" is replaced by the rank's node\n"
        "              (rank r runs on node r*K/N), e.g. /mnt/pfs/node%%n/job\n"
        "  --ranks N   processes (default 4)\n"
        "  --nodes K   virtual nodes the ranks are spread over (default 1)\n"
        "  --full      full scale (default: quick scale)\n"
        "  --shm FILE --shm-init   make FILE the shared state of --ranks ranks, exit\n"
        "  --shm FILE --node-only I  run only the ranks of node I, sharing FILE's state with\n"
        "              the invocations of the other nodes (one job over several commands)\n"
        "  --files N   bulk-small: N files (default 64 quick, 2000 full)\n"
        "  --setup     create the workload's input files (one process), do not run\n"
        "  --verify    check every output file against its expected checksum (one process)\n"
        "Prints one JSON line: io_s (time in I/O phases), bytes, files, digest (sum of file\n"
        "checksums), ok. Exit status 0 only if every rank succeeded and all data verified.\n");
}

static void list(void)
{
    for (size_t i = 0; i < NWORKLOADS; i++)
        printf("%-11s %s%s\n", workloads[i]->name, workloads[i]->help,
               workloads[i]->setup ? " (needs --setup first)" : "");
}

static const wl_workload_t *find(const char *name)
{
    for (size_t i = 0; i < NWORKLOADS; i++)
        if (!strcmp(workloads[i]->name, name))
            return workloads[i];
    return NULL;
}

/* Returns 0 to run, 1 if done (help/list), -1 on bad input. */
static int parse(int argc, char **argv, wl_opts_t *o)
{
    static const struct option opts[] = {{"dir", 1, 0, 'd'},
                                         {"ranks", 1, 0, 'r'},
                                         {"nodes", 1, 0, 'n'},
                                         {"full", 0, 0, 'f'},
                                         {"setup", 0, 0, 's'},
                                         {"verify", 0, 0, 'v'},
                                         {"list", 0, 0, 'l'},
                                         {"help", 0, 0, 'h'},
                                         {"shm", 1, 0, 'S'},
                                         {"shm-init", 0, 0, 'I'},
                                         {"node-only", 1, 0, 'O'},
                                         {"files", 1, 0, 'F'},
                                         {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "d:r:n:fsvlh", opts, NULL)) != -1;) {
        switch (ch) {
        case 'd':
            o->dir = optarg;
            break;
        case 'r':
            o->ranks = atoi(optarg);
            break;
        case 'n':
            o->nodes = atoi(optarg);
            break;
        case 'f':
            o->full = 1;
            break;
        case 's':
            o->mode = WL_SETUP;
            break;
        case 'v':
            o->mode = WL_VERIFY;
            break;
        case 'S':
            o->shm = optarg;
            break;
        case 'I':
            o->shm_init = 1;
            break;
        case 'O':
            o->node_only = atoi(optarg);
            break;
        case 'F':
            o->files = atol(optarg);
            break;
        case 'l':
            list();
            return 1;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (o->shm_init && o->shm)
        return 0;
    if (optind != argc - 1 || !o->dir || o->ranks < 1 || o->ranks > 1024 || o->nodes < 1 ||
        o->node_only >= o->nodes || o->files < 0 || (o->node_only >= 0 && !o->shm) ||
        (o->shm_init && !o->shm)) {
        usage(stderr);
        return -1;
    }
    o->name = argv[optind];
    return 0;
}

int main(int argc, char **argv)
{
    wl_opts_t o = {.ranks = 4, .nodes = 1, .mode = WL_RUN, .node_only = -1};
    const wl_workload_t *w;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 2 : 0;
    if (o.shm_init)
        return wl_shm_init(&o) ? 1 : 0;
    if (!(w = find(o.name))) {
        fprintf(stderr, "ebt-workload: unknown workload '%s' (--list shows them)\n", o.name);
        return 2;
    }
    return wl_launch(&o, w) ? 1 : 0;
}
