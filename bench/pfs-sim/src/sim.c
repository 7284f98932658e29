/* sim.c - simulator state set-up and tear-down: backing store checks, pools, counters. */
#define _GNU_SOURCE
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layout.h"
#include "service.h"

/* Layouts live in user xattrs of backing files: refuse a backing store without them. */
static int check_backing_xattrs(int fd, const char *path)
{
    static const char probe[] = PFS_XATTR_PREFIX "probe";
    if (fsetxattr(fd, probe, "1", 1, 0) != 0) {
        fprintf(stderr,
                "pfs-sim: backing dir %s cannot store user xattrs (needed for layouts): "
                "%s\n",
                path, strerror(errno));
        return -1;
    }
    fremovexattr(fd, probe);
    return 0;
}

static int init_osts(struct pfs_sim *sim)
{
    sim->ost = calloc((size_t)sim->cfg.osts, sizeof(*sim->ost));
    if (sim->ost == NULL)
        return -1;
    for (int i = 0; i < sim->cfg.osts; i++) {
        if (pfs_gate_init(&sim->ost[i].gate, (unsigned)sim->cfg.oss_threads) != 0)
            return -1;
        pthread_mutex_init(&sim->ost[i].bw_mu, NULL);
    }
    return 0;
}

int pfs_sim_init(struct pfs_sim *sim, const struct pfs_config *cfg)
{
    memset(sim, 0, sizeof(*sim));
    sim->cfg = *cfg;
    sim->backing_fd = open(cfg->backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sim->backing_fd < 0) {
        fprintf(stderr, "pfs-sim: open backing dir %s: %s\n", cfg->backing, strerror(errno));
        return -1;
    }
    if (check_backing_xattrs(sim->backing_fd, cfg->backing) != 0)
        goto err_close;
    if (pfs_stats_init(&sim->stats, cfg->nodes, cfg->osts) != 0 ||
        pfs_objects_init(&sim->objs) != 0 || pfs_gate_init(&sim->mds, (unsigned)cfg->mds_threads))
        goto err_nomem;
    if (init_osts(sim) != 0)
        goto err_nomem;
    pthread_mutex_init(&sim->append_mu, NULL);
    return 0;
err_nomem:
    fprintf(stderr, "pfs-sim: out of memory setting up the simulator\n");
err_close:
    close(sim->backing_fd);
    sim->backing_fd = -1;
    return -1;
}

void pfs_sim_destroy(struct pfs_sim *sim)
{
    if (sim->ost != NULL) {
        for (int i = 0; i < sim->cfg.osts; i++) {
            pfs_gate_destroy(&sim->ost[i].gate);
            pthread_mutex_destroy(&sim->ost[i].bw_mu);
        }
    }
    free(sim->ost);
    sim->ost = NULL;
    pfs_objects_free(&sim->objs);
    pfs_gate_destroy(&sim->mds);
    pfs_stats_free(&sim->stats);
    pthread_mutex_destroy(&sim->append_mu);
    if (sim->backing_fd >= 0)
        close(sim->backing_fd);
    sim->backing_fd = -1;
}

void pfs_sim_reset(struct pfs_sim *sim)
{
    pfs_stats_reset(&sim->stats);
    pfs_objects_reset_writers(&sim->objs);
}

int pfs_sim_write_stats(struct pfs_sim *sim, const char *path)
{
    char tmp[PATH_MAX + 32];
    size_t len = 0;
    char *json = pfs_sim_stats_json(sim, &len);
    if (json == NULL)
        return -ENOMEM;
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); /* umask is 0 */
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL && fd >= 0)
        close(fd);
    if (f == NULL || fwrite(json, 1, len, f) != len)
        rc = -errno;
    if (f != NULL && fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        fprintf(stderr, "pfs-sim: writing stats to %s: %s\n", path, strerror(-rc));
        unlink(tmp);
    }
    free(json);
    return rc;
}
