/* main.c - ebtd entry point: ebtd --run-dir DIR (thin: parse, load config, serve). */
#define _GNU_SOURCE
#include "pfscount.h"
#include "fs.h"
#include "log.h"
#include "mesh.h"
#include "runcfg.h"
#include "server.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/close_range.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: ebtd --run-dir DIR\n"
                 "  Serve the EBT run directory DIR (created by 'ebt run' or 'ebt start'):\n"
                 "  socket DIR/ebtd.sock, pid DIR/ebtd.pid, log DIR/ebt.log. SIGTERM exits.\n");
}

static int parse_args(int argc, char **argv, char *run_dir)
{
    static const struct option opts[] = {{"run-dir", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    run_dir[0] = '\0';
    while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
        if (c == 'r' && realpath(optarg, run_dir) == NULL) {
            fprintf(stderr, "ebtd: run directory %s: %m\n", optarg);
            return 2;
        }
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == '?')
            return 2;
    }
    if (optind < argc || !run_dir[0]) {
        fprintf(stderr, "ebtd: %s\n", optind < argc ? "unexpected argument" : "--run-dir missing");
        usage(stderr);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char run_dir[PATH_MAX], logpath[PATH_MAX + 16], err[512];
    static struct ebt_config cfg; /* large: keep it off the stack */
    /* peer replies of up to 8 MiB are allocated per request: serve them from the heap, reused,
     * not from fresh mmaps that fault in and zero every page again */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    /* inherited fds (the job's prefix lock, src/tools/lock.c) stay open in ebtd but must not
     * reach what it runs (fusermount3 can outlive it) */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    int rc = parse_args(argc, argv, run_dir);
    if (rc)
        return rc == 1 ? 0 : rc;
    snprintf(logpath, sizeof(logpath), "%s/ebt.log", run_dir);
    ebt_log_open(logpath, "ebtd");
    if (ebt_runcfg_load(run_dir, &cfg, err, sizeof(err)) < 0) {
        ebt_error("ebtd: %s", err);
        fprintf(stderr, "ebtd: %s\n", err);
        return 2;
    }
    ebt_log_level_now = cfg.log_level;
    ebt_log_set_cap(cfg.log_bytes);
    struct ebtd d;
    rc = ebtd_init(&d, run_dir, &cfg);
    if (rc == 0 && (rc = ebt_pfscount_create(run_dir)) < 0)
        fprintf(stderr, "ebtd: cannot create the PFS operation counter in %s: %s\n", run_dir,
                strerror(-rc));
    else if (rc < 0)
        fprintf(stderr, "ebtd: cannot serve %s: %s\n", run_dir, strerror(-rc));
    else if ((rc = ebtd_start_multinode(&d)) < 0)
        fprintf(stderr, "ebtd: cannot start node %d of a %d-node job: %s\n", cfg.node_id, cfg.nodes,
                *ebtd_mesh_error() ? ebtd_mesh_error() : strerror(-rc));
    if (rc == 0 && (rc = ebtd_fs_start(&d)) < 0)
        fprintf(stderr, "ebtd: EBT_FUSE=on but the FUSE view cannot be mounted: %s\n",
                strerror(-rc));
    if (rc == 0)
        rc = ebtd_serve(&d);
    ebtd_fs_stop(&d);
    ebtd_fini(&d);
    ebt_log_close();
    return rc < 0 ? 1 : 0;
}
