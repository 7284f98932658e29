/* main.c - pfs-sim daemon: one FUSE session per virtual client node, signals, final stats. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"

#define EXIT_BAD_USAGE 2
#define EXIT_MOUNT_FAILED 3

static struct pfs_sim g_sim;
static atomic_int g_quitting;

static void *pfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct pfs_node *node = fuse_get_context()->private_data;
    cfg->use_ino = 1;
    cfg->attr_timeout = 0; /* every node sees the others' changes at once */
    cfg->entry_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->hard_remove = 1; /* no .fuse_hidden files in the shared backing dir */
    cfg->nullpath_ok = 1;
    cfg->direct_io = !node->sim->cfg.cached;
    return node;
}

/* Runs fusermount3 -u [-z] for a non-root daemon. Returns its exit status or -1. */
static int run_fusermount(const char *mnt, int lazy)
{
    extern char **environ;
    char *argv[] = {"fusermount3", "-u", lazy ? "-z" : "-u", (char *)mnt, NULL};
    pid_t pid;
    int status = 0;
    if (posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ) != 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Unmounts one node: waits up to ~5 s for users to leave, then detaches lazily. */
static void unmount_node(struct pfs_node *node)
{
    for (int i = 0; i < 50; i++) {
        if (umount2(node->mnt, 0) == 0 || errno == EINVAL || errno == ENOENT)
            return;
        if (errno == EPERM) {
            if (run_fusermount(node->mnt, 0) != 0 && run_fusermount(node->mnt, 1) != 0)
                fprintf(stderr, "pfs-sim: cannot unmount %s\n", node->mnt);
            return;
        }
        if (errno != EBUSY)
            break;
        usleep(100000);
    }
    fprintf(stderr, "pfs-sim: %s still busy: detaching it lazily\n", node->mnt);
    if (umount2(node->mnt, MNT_DETACH) != 0)
        fprintf(stderr, "pfs-sim: umount -l %s: %s\n", node->mnt, strerror(errno));
}

static void handle_signal(int sig)
{
    if (sig == SIGUSR1) {
        if (g_sim.cfg.stats_file[0] != '\0')
            pfs_sim_write_stats(&g_sim, g_sim.cfg.stats_file);
        return;
    }
    if (sig == SIGUSR2) {
        pfs_sim_reset(&g_sim);
        return;
    }
    fprintf(stderr, "pfs-sim: signal %d: unmounting\n", sig);
    for (int i = 0; i < g_sim.cfg.nodes; i++)
        if (g_sim.node[i].mounted)
            unmount_node(&g_sim.node[i]);
}

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
}

/* Signals are blocked in every thread and taken here synchronously. */
static void *signal_thread(void *arg)
{
    sigset_t set;
    stop_signals(&set);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&g_quitting))
            return NULL;
        handle_signal(sig);
    }
}

static void *loop_thread(void *arg)
{
    struct pfs_node *node = arg;
#if FUSE_USE_VERSION >= FUSE_MAKE_VERSION(3, 12)
    struct fuse_loop_config *lc = fuse_loop_cfg_create();
    if (lc == NULL) {
        node->loop_rc = -1;
        return NULL;
    }
    fuse_loop_cfg_set_max_threads(lc, (unsigned)node->sim->cfg.fuse_threads);
    fuse_loop_cfg_set_idle_threads(lc, 16);
    node->loop_rc = fuse_loop_mt(node->fuse, lc);
    fuse_loop_cfg_destroy(lc);
#else
    struct fuse_loop_config lc = {.clone_fd = 0, .max_idle_threads = 16};
    node->loop_rc = fuse_loop_mt(node->fuse, &lc);
#endif
    return NULL;
}

static int mount_node(struct pfs_sim *sim, struct pfs_node *node, const struct fuse_operations *ops)
{
    char opts[256];
    snprintf(opts, sizeof(opts), "fsname=pfs-sim,subtype=pfs-sim%s",
             sim->cfg.allow_other ? ",allow_other,default_permissions" : "");
    char *argv[] = {"pfs-sim", "-o", opts, sim->cfg.fuse_debug ? "-d" : NULL, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(sim->cfg.fuse_debug ? 4 : 3, argv);
    if (mkdir(node->mnt, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "pfs-sim: mkdir %s: %s\n", node->mnt, strerror(errno));
        return -1;
    }
    node->fuse = fuse_new(&args, ops, sizeof(*ops), node);
    fuse_opt_free_args(&args);
    if (node->fuse == NULL) {
        fprintf(stderr, "pfs-sim: fuse_new failed for node %d\n", node->id);
        return -1;
    }
    if (fuse_mount(node->fuse, node->mnt) != 0) {
        fprintf(stderr, "pfs-sim: mounting %s failed (see the libfuse message above)\n", node->mnt);
        fuse_destroy(node->fuse);
        node->fuse = NULL;
        return -1;
    }
    node->mounted = 1;
    return 0;
}

static void unmount_all(struct pfs_sim *sim)
{
    for (int i = 0; i < sim->cfg.nodes; i++) {
        struct pfs_node *node = &sim->node[i];
        if (node->fuse == NULL)
            continue;
        if (node->mounted)
            fuse_unmount(node->fuse);
        fuse_destroy(node->fuse);
        node->fuse = NULL;
        node->mounted = 0;
    }
}

static int mount_all(struct pfs_sim *sim)
{
    struct fuse_operations ops;
    pfs_fs_operations(&ops);
    ops.init = pfs_init;
    for (int i = 0; i < sim->cfg.nodes; i++) {
        struct pfs_node *node = &sim->node[i];
        node->sim = sim;
        node->id = i;
        if ((size_t)snprintf(node->mnt, sizeof(node->mnt), "%s/node%d", sim->cfg.mnt, i) >=
                sizeof(node->mnt) ||
            mount_node(sim, node, &ops) != 0) {
            unmount_all(sim);
            return -1;
        }
    }
    return 0;
}

static int serve(struct pfs_sim *sim)
{
    int started = 0, rc = 0;
    for (; started < sim->cfg.nodes; started++) {
        struct pfs_node *node = &sim->node[started];
        if (pthread_create(&node->thread, NULL, loop_thread, node) != 0) {
            fprintf(stderr, "pfs-sim: cannot start the loop of node %d\n", started);
            handle_signal(SIGTERM); /* unmount everything so started loops end */
            rc = -1;
            break;
        }
    }
    fprintf(stderr, "pfs-sim: serving %d node(s) under %s, backing %s, %d OSTs\n", sim->cfg.nodes,
            sim->cfg.mnt, sim->cfg.backing, sim->cfg.osts);
    for (int i = 0; i < started; i++) {
        pthread_join(sim->node[i].thread, NULL);
        if (sim->node[i].loop_rc != 0)
            fprintf(stderr, "pfs-sim: node %d loop ended with %d\n", i, sim->node[i].loop_rc);
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct pfs_config cfg;
    sigset_t set;
    pthread_t sig_tid;
    int rc = pfs_config_parse(&cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : EXIT_BAD_USAGE;
    umask(0); /* the kernel already applied the caller's umask to modes */
    if (pfs_sim_init(&g_sim, &cfg) != 0)
        return 1;
    g_sim.node = calloc((size_t)cfg.nodes, sizeof(*g_sim.node));
    if (g_sim.node == NULL)
        return 1;
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (mount_all(&g_sim) != 0)
        return EXIT_MOUNT_FAILED;
    pthread_create(&sig_tid, NULL, signal_thread, NULL);
    rc = serve(&g_sim);
    atomic_store(&g_quitting, 1);
    pthread_kill(sig_tid, SIGUSR1);
    pthread_join(sig_tid, NULL);
    unmount_all(&g_sim);
    if (cfg.stats_file[0] != '\0' && pfs_sim_write_stats(&g_sim, cfg.stats_file) != 0)
        rc = -1;
    fprintf(stderr, "pfs-sim: stopped\n");
    free(g_sim.node);
    pfs_sim_destroy(&g_sim);
    return rc == 0 ? 0 : 1;
}
