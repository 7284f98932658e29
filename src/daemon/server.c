/* server.c - ebtd's socket, connection acceptance (owner uid only), signals and main loop. */
#define _GNU_SOURCE
#include "server.h"
#include "flush.h"
#include "flush_mn.h"
#include "incache.h"
#include "mdserve.h"
#include "log.h"
#include "md.h"
#include "mesh.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

/* Accepts that fail for lack of fds (EMFILE, ENFILE, ...) pause the listening socket this long,
 * so the loop never spins on a backlog it cannot take; logged at most every ACCEPT_LOG_S. */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_LOG_S 10.0
#define ACCEPT_BATCH 64 /* connections taken per wakeup, so one burst cannot starve the rest */

static void conn_close(struct ebtd *d, struct ebt_conn *c)
{
    ebt_conn_writable(c); /* best effort, never blocks: e.g. the reply saying why we close */
    ebt_loop_del(&d->loop, c->fd);
    ebt_sys_close(c->fd);
    ebt_conn_free(c);
    free(c);
}

static void conn_drop(struct ebtd *d, struct ebt_conn *c, int rc)
{
    if (rc == -ENOBUFS) {
        d->c.dropped_clients++;
        ebt_warn("ebtd: dropping client fd %d: %zu reply bytes queued, over the bound of %u "
                 "(it does not read its replies)",
                 c->fd, ebt_conn_queued(c), EBT_CONN_QUEUE_MAX);
    } else if (rc != -ECONNRESET) {
        ebt_info("closing client fd %d: %s", c->fd, strerror(-rc));
    }
    conn_close(d, c);
}

static void on_conn(struct ebt_loop *loop, int fd, short revents, void *data)
{
    struct ebt_conn *c = data;
    struct ebtd *d = (struct ebtd *)((char *)loop - offsetof(struct ebtd, loop));
    int rc = 0;
    if (revents & POLLOUT)
        rc = ebt_conn_writable(c);
    if (rc == 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
        rc = ebt_conn_readable(c, ebtd_handle, d);
    d->c.bad_messages += c->bad;
    c->bad = 0;
    if (rc < 0) {
        conn_drop(d, c, rc);
        return;
    }
    ebt_loop_set_events(loop, fd, POLLIN | (ebt_conn_queued(c) ? POLLOUT : 0));
}

/* Only processes of the daemon's own uid may talk to it. */
static int peer_allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return 0;
    return cred.uid == geteuid();
}

static void resume_accept(struct ebt_loop *loop, void *arg)
{
    struct ebtd *d = arg;
    ebt_loop_set_events(loop, d->lfd, POLLIN);
}

/* Out of fds: stop polling the listening socket for ACCEPT_PAUSE_MS; the backlog waits. */
static void pause_accept(struct ebtd *d, int err)
{
    d->c.accept_pauses++;
    double now = ebt_now_s();
    if (d->accept_logged == 0 || now - d->accept_logged >= ACCEPT_LOG_S) {
        struct rlimit rl = {0};
        getrlimit(RLIMIT_NOFILE, &rl);
        ebt_warn("ebtd: cannot accept a client: %s (fd limit %llu); pausing accepts for %d ms "
                 "(%llu pauses so far; said at most every %.0f s)",
                 strerror(err), (unsigned long long)rl.rlim_cur, ACCEPT_PAUSE_MS,
                 (unsigned long long)d->c.accept_pauses, ACCEPT_LOG_S);
        d->accept_logged = now;
    }
    if (ebt_loop_after(&d->loop, ACCEPT_PAUSE_MS, resume_accept, d) == 0)
        ebt_loop_set_events(&d->loop, d->lfd, 0);
}

static int accept_error_is_resource(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void add_client(struct ebtd *d, int fd)
{
    if (!peer_allowed(fd)) {
        d->c.rejected++;
        ebt_warn("rejected a connection from another user");
        ebt_sys_close(fd);
        return;
    }
    struct ebt_conn *c = malloc(sizeof(*c));
    if (!c || ebt_loop_add(&d->loop, fd, POLLIN, on_conn, c) < 0) {
        free(c);
        ebt_sys_close(fd);
        return;
    }
    ebt_conn_init(c, fd, d->reply, EBT_PROTO_MAX_PAYLOAD);
    d->c.clients++;
}

static void on_accept(struct ebt_loop *loop, int lfd, short revents, void *data)
{
    struct ebtd *d = data;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && accept_error_is_resource(errno)) {
            pause_accept(d, errno);
            return;
        }
        if (fd < 0)
            return; /* EAGAIN: backlog empty; ECONNABORTED, EINTR: next wakeup */
        add_client(d, fd);
    }
}

/* SIGTERM is how a batch system ends a job at its time limit (SIGKILL follows after KillWait,
 * 30 s by default, and an epilog may wipe node-local storage): a one-node daemon flushes what the
 * cache holds first, journaled, so what reached the PFS stays and a later flush resumes. */
static void flush_before_exit(struct ebtd *d)
{
    struct ebt_flush_stats st;
    char err[1024];
    ebt_warn("SIGTERM: flushing the cache to the PFS before exiting");
    int rc = ebt_flush_run(d->run_dir, d->cfg, &st, err, sizeof(err));
    if (rc == 0)
        ebt_warn("SIGTERM flush complete: %llu files, %llu bytes in %.3f s",
                 (unsigned long long)st.files, (unsigned long long)st.bytes, st.seconds);
    else
        ebt_error("SIGTERM flush incomplete (%s); the cache is kept: ebt flush --run-dir %s",
                  err[0] ? err : strerror(-rc), d->run_dir);
}

static void on_signal(struct ebt_loop *loop, int fd, short revents, void *data)
{
    struct ebtd *d = data;
    struct signalfd_siginfo si;
    if (ebt_sys_read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        ebt_info("signal %u: exiting", si.ssi_signo);
        if (si.ssi_signo == SIGTERM && !d->mesh)
            flush_before_exit(d);
        ebt_loop_stop(loop);
    }
}

static int sock_addr(const char *run_dir, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", run_dir, EBT_PROTO_SOCK_NAME);
    return n < 0 || (size_t)n >= sizeof(sa->sun_path) ? -ENAMETOOLONG : 0;
}

static int listen_sock(struct ebtd *d)
{
    struct sockaddr_un sa;
    int rc = sock_addr(d->run_dir, &sa);
    if (rc < 0)
        return rc;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        rc = -EADDRINUSE; /* a live daemon already serves this run directory */
    if (probe >= 0)
        ebt_sys_close(probe);
    if (rc < 0)
        return rc;
    ebt_sys_unlink(sa.sun_path);
    d->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (d->lfd < 0)
        return -errno;
    mode_t old = umask(0077);
    rc = bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
    umask(old);
    if (rc == 0 && chmod(sa.sun_path, 0600) < 0)
        rc = -errno;
    if (rc == 0 && listen(d->lfd, 128) < 0)
        rc = -errno;
    return rc;
}

static int signals_init(struct ebtd *d)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -errno;
    d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return d->sigfd < 0 ? -errno : 0;
}

static int write_pid(const char *run_dir)
{
    char path[PATH_MAX], text[32];
    if (ebt_rundir_file(run_dir, "ebtd.pid", path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
    int fd = ebt_sys_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = ebt_write_full(fd, text, (size_t)n);
    ebt_sys_close(fd);
    return rc;
}

int ebtd_init(struct ebtd *d, const char *run_dir, struct ebt_config *cfg)
{
    memset(d, 0, sizeof(*d));
    d->lfd = d->sigfd = -1;
    d->cfg = cfg;
    d->started = ebt_now_s();
    snprintf(d->run_dir, sizeof(d->run_dir), "%s", run_dir);
    ebt_loop_init(&d->loop);
    d->reply = malloc(EBT_PROTO_MAX_PAYLOAD);
    int rc = d->reply ? 0 : -ENOMEM;
    if (rc == 0)
        rc = signals_init(d);
    if (rc == 0)
        rc = listen_sock(d);
    if (rc == 0)
        rc = write_pid(run_dir);
    if (rc == 0)
        rc = ebt_loop_add(&d->loop, d->lfd, POLLIN, on_accept, d);
    if (rc == 0)
        rc = ebt_loop_add(&d->loop, d->sigfd, POLLIN, on_signal, d);
    if (rc < 0)
        ebt_error("ebtd: cannot start in %s: %s", run_dir, strerror(-rc));
    return rc;
}

int ebtd_start_multinode(struct ebtd *d)
{
    if (d->cfg->nodes <= 1)
        return 0;
    int rc = ebtd_md_start(d);
    if (rc < 0) {
        ebt_error("ebtd: cannot start the multi-node namespace service: %s", strerror(-rc));
        return rc;
    }
    ebtd_flush_mn_register();
    ebtd_incache_register();
    ebtd_mdserve_register();
    return ebtd_mesh_start(d);
}

int ebtd_serve(struct ebtd *d)
{
    ebt_info("ebtd %s serving %s (pid %d)", EBTD_VERSION, d->run_dir, (int)getpid());
    int rc = ebt_loop_run(&d->loop);
    if (rc < 0)
        ebt_error("ebtd: event loop: %s", strerror(-rc));
    return rc;
}

void ebtd_fini(struct ebtd *d)
{
    char path[PATH_MAX];
    ebtd_mesh_stop(d);
    if (d->md)
        ebtd_md_stop(d);
    if (d->lfd >= 0) {
        ebt_rundir_file(d->run_dir, EBT_PROTO_SOCK_NAME, path, sizeof(path));
        ebt_sys_unlink(path);
        ebt_rundir_file(d->run_dir, "ebtd.pid", path, sizeof(path));
        ebt_sys_unlink(path);
        ebt_sys_close(d->lfd);
    }
    for (size_t i = 0; i < d->loop.n; i++) {
        struct ebt_loop_entry *e = &d->loop.ent[i];
        if (e->fn == on_conn && d->loop.pfd[i].fd >= 0) {
            ebt_conn_writable(e->data); /* e.g. the SHUTDOWN reply, if it was queued */
            ebt_sys_close(d->loop.pfd[i].fd);
            ebt_conn_free(e->data);
            free(e->data);
        }
    }
    if (d->sigfd >= 0)
        ebt_sys_close(d->sigfd);
    ebt_loop_free(&d->loop);
    free(d->reply);
    ebt_info("ebtd exiting");
}
