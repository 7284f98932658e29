/* init.c - client start-up and shut-down: configuration, daemon check, cwd, fork safety. */
#define _GNU_SOURCE
#include "client.h"
#include "incache.h"
#include "lower.h"
#include "mdcache.h"
#include "log.h"
#include "path.h"
#include "pfscount.h"
#include "proto.h"
#include "real.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct ebt_client ebt = {.lock = PTHREAD_MUTEX_INITIALIZER};
__thread int ebt_in_client;

void ebt_warn_once(const char *what, const char *path)
{
    static const char *seen[32];
    static int nseen;
    for (int i = 0; i < nseen; i++)
        if (seen[i] == what)
            return;
    if (nseen < 32)
        seen[nseen++] = what;
    ebt_warn("%s (first seen on %s)", what, path ? path : "-");
}

/* Say something to the user once per job (the first process that gets here), on stderr. */
void ebt_tell_user_once(const char *marker, const char *msg)
{
    char path[PATH_MAX];
    if (ebt_rundir_file(ebt.cfg.run_dir, marker, path, sizeof(path)) == 0) {
        int fd = ebt_sys_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST)
            return;
        if (fd >= 0)
            ebt_sys_close(fd);
    }
    ebt_write_full(2, msg, strlen(msg));
}

/* Introduce this process to the node daemon; the connection is not kept: on one node the data
 * path never needs the daemon (docs/design.md). */
static int daemon_hello(void)
{
    char req[128], reply[256];
    uint32_t rlen = 0;
    int fd = ebt_proto_connect(ebt.cfg.run_dir);
    if (fd < 0)
        return fd;
    int n = snprintf(req, sizeof(req), "pid=%d\ntask=%s\n", (int)getpid(), ebt.cfg.task_id);
    int rc = ebt_proto_call(fd, EBT_OP_HELLO, req, (uint32_t)n, reply, sizeof(reply), &rlen);
    ebt_sys_close(fd);
    return rc;
}

static void map_shared_state(void)
{
    char path[PATH_MAX];
    if (ebt_rundir_file(ebt.cfg.run_dir, "state", path, sizeof(path)) < 0)
        return;
    int fd = ebt_sys_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0)
        return;
    if (ebt_sys_fstat(fd, &st) == 0 && st.st_size < 4096)
        ebt_sys_ftruncate(fd, 4096);
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ebt_sys_close(fd);
    if (p != MAP_FAILED)
        ebt.shared = p;
}

/* The logical cwd: a physical cwd inside a layer maps back to its logical path. */
void ebt_cwd_refresh(void)
{
    char phys[PATH_MAX];
    if (!EBT_REAL(getcwd)(phys, sizeof(phys)))
        return;
    const char *roots[3] = {ebt.up_root, ebt.task_root, ebt.remote_root};
    for (int i = 0; i < 3; i++) {
        size_t n = ebt_path_under(phys, roots[i]);
        if (n) {
            snprintf(ebt.cwd, sizeof(ebt.cwd), "%s", phys[n] ? phys + n : "/");
            ebt.cwd_managed = 1;
            return;
        }
    }
    snprintf(ebt.cwd, sizeof(ebt.cwd), "%s", phys);
    ebt.cwd_managed = ebt_is_managed_path(ebt.cwd);
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&ebt.lock);
    ebt_fd_prepare_fork();
    ebt_mdc_atfork(0);
    ebt_mdfd_atfork(0);
}

static void release_common(int child)
{
    ebt_mdfd_atfork(child ? 2 : 1);
    ebt_mdc_atfork(1);
    ebt_fd_mark_shared_writers();
    pthread_mutex_unlock(&ebt.lock);
}

static void atfork_release(void)
{
    release_common(0);
}

static void atfork_child(void)
{
    ebt.pid = getpid();
    ebt_fd_reset_locks_in_child();
    release_common(1);
}

/* The run directory exists and is ours, its cache layer too (the job has not ended). */
static int run_dir_ours(void)
{
    struct stat run, up;
    return ebt_sys_lstat(ebt.cfg.run_dir, &run) == 0 && S_ISDIR(run.st_mode) &&
           run.st_uid == geteuid() && ebt_sys_lstat(ebt.up_root, &up) == 0 && S_ISDIR(up.st_mode) &&
           up.st_uid == geteuid();
}

static int set_roots(void)
{
    const char *run = ebt.cfg.run_dir;
    return ebt_layer_root(run, NULL, ebt.up_root, sizeof(ebt.up_root)) |
           ebt_layer_root(run, ebt.cfg.task_id, ebt.task_root, sizeof(ebt.task_root)) |
           ebt_rundir_file(run, "stage", ebt.stage_dir, sizeof(ebt.stage_dir)) |
           ebt_rundir_file(run, "remote", ebt.remote_root, sizeof(ebt.remote_root)) |
           ebt_rundir_file(run, "held", ebt.held_root, sizeof(ebt.held_root));
}

/* Count this process's PFS calls below the managed prefixes in the node's RUN/pfsops. */
static void count_pfs_ops(void)
{
    static char roots[EBT_PFSCOUNT_MAX_ROOTS][PATH_MAX];
    const char *v[EBT_PFSCOUNT_MAX_ROOTS];
    int n = 0;
    for (int i = 0; i < ebt.cfg.nprefixes && n < EBT_PFSCOUNT_MAX_ROOTS; i++)
        if (ebt_lower_path(ebt.cfg.prefixes[i].path, roots[n], PATH_MAX) == 0)
            v[n] = roots[n], n++;
    int rc = ebt_pfscount_attach(ebt.cfg.run_dir, v, n);
    if (rc < 0)
        ebt_info("PFS operations are not counted: %s: %s", EBT_PFSCOUNT_FILE, strerror(-rc));
}

__attribute__((constructor)) void ebt_client_init(void)
{
    char err[256], msg[2 * PATH_MAX + 256];
    ebt_in_client = 1;
    ebt_real_resolve_all();
    if (ebt_config_load(&ebt.cfg, err, sizeof(err)) < 0) {
        snprintf(msg, sizeof(msg), "ebt: %s; passing all I/O through\n", err);
        ebt_write_full(2, msg, strlen(msg));
        goto out;
    }
    if (!ebt.cfg.run_dir[0] || ebt.cfg.nprefixes == 0 || set_roots() != 0)
        goto out;
    char log[PATH_MAX];
    ebt_log_level_now = ebt.cfg.log_level;
    ebt_log_set_cap(ebt.cfg.log_bytes);
    if (ebt_rundir_file(ebt.cfg.run_dir, "ebt.log", log, sizeof(log)) == 0)
        ebt_log_open(log, "client");
    int hello = daemon_hello();
    if (hello < 0 && ebt.cfg.nodes > 1) {
        /* Several nodes: passing through would show the PFS without the other nodes' data.
         * Stay in charge; whatever needs the daemon fails with EIO (said once, remote.c). */
        snprintf(msg, sizeof(msg),
                 "ebt: daemon not reachable in %s (%s); operations that need it fail with EIO\n",
                 ebt.cfg.run_dir, strerror(-hello));
        ebt_tell_user_once("warned-md-unreachable", msg);
        ebt_error("daemon not reachable on a %d-node job: EIO where it is needed", ebt.cfg.nodes);
    } else if (hello < 0 && run_dir_ours()) {
        /* One node: the data path never needs the daemon. Passing through would put this
         * process's writes on the PFS, where the offline flush would then overwrite them. */
        snprintf(msg, sizeof(msg),
                 "ebt: daemon not reachable in %s (%s); writing into the run directory (flush it "
                 "with: ebt flush --run-dir %s)\n",
                 ebt.cfg.run_dir, strerror(-hello), ebt.cfg.run_dir);
        ebt_tell_user_once("warned-no-daemon", msg);
        ebt_warn("daemon not reachable: the data path goes on in the run directory");
    } else if (hello < 0) {
        snprintf(msg, sizeof(msg),
                 "ebt: no usable run directory %s (%s); I/O passes through to the file system\n",
                 ebt.cfg.run_dir, strerror(-hello));
        ebt_tell_user_once("warned-no-daemon", msg);
        ebt_warn("daemon and run directory gone: pass-through");
        goto out;
    }
    map_shared_state();
    ebt_lower_load(&ebt.cfg, ebt.cfg.run_dir);
    count_pfs_ops();
    ebt_incache_init();
    ebt_cwd_refresh();
    ebt.pid = getpid();
    pthread_atfork(atfork_prepare, atfork_release, atfork_child);
    if (ebt.cfg.nodes > 1)
        ebt_remote_init();
    ebt.enabled = 1;
    ebt_exec_adopt();
    ebt_cookie_adopt_std();
out:
    ebt_in_client = 0;
}

__attribute__((destructor)) static void ebt_client_fini(void)
{
    if (!ebt.enabled)
        return;
    fflush(NULL); /* stdio buffers of managed FILEs must reach the files before we publish */
    ebt_publish_all_at_exit();
}
