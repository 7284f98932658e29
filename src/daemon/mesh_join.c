/* mesh_join.c - starting and stopping the mesh: transport context, rendezvous files, connecting
 * to every node (HELLO), and the event loop hook that drives the transport. */
#define _GNU_SOURCE
#include "log.h"
#include "rundir.h"
#include "mesh_priv.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define MESH_RETRY_MS 200     /* a node whose published address failed is tried again after this */
#define MESH_LOOP_MAX_MS 1000 /* the loop progresses the transport at least this often */

static char mesh_error[2048]; /* the reason of the last failed start, for ebtd's stderr */

const char *ebtd_mesh_error(void)
{
    return mesh_error;
}

/* Log an error of the start and keep it for ebtd_mesh_error. */
static void start_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void start_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mesh_error, sizeof(mesh_error), fmt, ap);
    va_end(ap);
    ebt_error("mesh: %s", mesh_error);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int rdv_path(const struct ebtd_mesh *m, int node, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/node.%d", m->d->cfg->rendezvous, node);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Write <rendezvous>/node.<self> = our address: temporary name, then rename (atomic). */
static int mesh_publish(struct ebtd_mesh *m)
{
    char tmp[PATH_MAX + 32], line[EBT_TP_ADDR_MAX + 2];
    int rc = rdv_path(m, m->self, m->rdv_file, sizeof(m->rdv_file));
    if (rc < 0)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s/.node.%d.%d.tmp", m->d->cfg->rendezvous, m->self, (int)getpid());
    int n = snprintf(line, sizeof(line), "%s\n", m->addr);
    int fd = ebt_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    rc = ebt_write_full(fd, line, (size_t)n);
    if (ebt_sys_close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && ebt_sys_rename(tmp, m->rdv_file) < 0)
        rc = -errno;
    if (rc < 0)
        ebt_sys_unlink(tmp);
    return rc;
}

/* The address node published, or -ENOENT. */
static int mesh_read_addr(const struct ebtd_mesh *m, int node, char *addr, size_t cap)
{
    char path[PATH_MAX];
    int rc = rdv_path(m, node, path, sizeof(path));
    if (rc < 0)
        return rc;
    int fd = ebt_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ssize_t got = ebt_sys_read(fd, addr, cap - 1);
    ebt_sys_close(fd);
    if (got <= 0)
        return -ENOENT;
    addr[got] = '\0';
    addr[strcspn(addr, "\n")] = '\0';
    return addr[0] ? 0 : -ENOENT;
}

/* Remove our file; the last node out also removes a default rendezvous (<pfs>/.ebt~rdv.<job>,
 * made by ebt start) so that it does not stay on the PFS. */
void mesh_unpublish(struct ebtd_mesh *m)
{
    char addr[EBT_TP_ADDR_MAX];
    const char *rdv = m->d->cfg->rendezvous, *base = strrchr(rdv, '/');
    if (m->rdv_file[0] && mesh_read_addr(m, m->self, addr, sizeof(addr)) == 0 &&
        !strcmp(addr, m->addr))
        ebt_sys_unlink(m->rdv_file);
    if (base && !strncmp(base + 1, EBT_RESERVED_PREFIX "rdv.", strlen(EBT_RESERVED_PREFIX) + 4))
        ebt_sys_rmdir(rdv); /* fails while other nodes' files are there */
}

int mesh_serve_hello(struct ebtd_mesh *m, ebt_tp_peer_t *peer, const void *req, size_t len)
{
    const struct mesh_hello *h = req;
    if (len != sizeof(*h) || h->magic != MESH_HELLO_MAGIC)
        return -EPROTO;
    if ((int)h->nodes != m->nodes || h->node >= h->nodes || (int)h->node == m->self ||
        strncmp(h->job, m->hello.job, sizeof(h->job)) != 0) {
        ebt_error("mesh: HELLO from node %u of %u (job '%.64s') refused: this is node %d of %d "
                  "(job '%s'); a stale rendezvous directory?",
                  h->node, h->nodes, h->job, m->self, m->nodes, m->hello.job);
        return -ESTALE;
    }
    struct mesh_node *n = &m->node[h->node];
    ebt_tp_peer_set_data(peer, n);
    n->in = peer;
    ebt_debug("mesh: node %d connected to us", n->id);
    return 0;
}

static void hello_done(int status, size_t reply_len, void *arg)
{
    struct mesh_node *n = arg;
    n->hello_busy = 0;
    n->hello_settled = 1;
    if (status == 0) {
        n->joined = 1;
        n->err = 0;
        ebt_debug("mesh: connected to node %d at %s", n->id, n->addr);
    } else {
        ebt_info("mesh: HELLO to node %d at %s failed (%s): retrying", n->id, n->addr,
                 strerror(-status));
        n->hello_failed = 1;
        n->err = status;
    }
}

/* Drop a link whose HELLO (or later traffic) failed, so that it is set up again. */
static void link_reset(struct ebtd_mesh *m, struct mesh_node *n, uint64_t *retry_at)
{
    if (n->out)
        ebt_tp_peer_close(n->out);
    n->out = NULL;
    n->joined = n->hello_failed = 0;
    *retry_at = now_ms() + MESH_RETRY_MS;
}

/* Connect to node n at its published address and send our HELLO. */
static void link_start(struct ebtd_mesh *m, struct mesh_node *n, uint64_t *retry_at)
{
    if (mesh_read_addr(m, n->id, n->addr, sizeof(n->addr)) < 0) {
        n->addr[0] = '\0';
        return;
    }
    int rc = ebt_tp_peer_connect(m->ctx, n->addr, &n->out);
    if (rc == 0) {
        ebt_tp_peer_set_data(n->out, n);
        rc = ebt_tp_call_start(n->out, EBTD_P_HELLO, &m->hello, sizeof(m->hello), NULL, 0,
                               m->timeout_ms, hello_done, n);
    }
    if (rc == 0) {
        n->hello_busy = 1;
        n->hello_settled = 0;
        return;
    }
    n->err = rc;
    n->hello_failed = 1;
    link_reset(m, n, retry_at);
}

/* Make our link to n usable for a call now: connect and HELLO if needed, and wait for the HELLO's
 * answer (requests are not ordered behind it: the node must know us before a call arrives).
 * 0, -EAGAIN (the node has not published yet), or the link's error. */
int mesh_link_ready(struct ebtd_mesh *m, struct mesh_node *n)
{
    uint64_t retry_unused;
    if (n->dead)
        return -EHOSTDOWN;
    if (n->joined && !n->hello_failed && n->out)
        return 0;
    if (n->hello_failed)
        link_reset(m, n, &retry_unused);
    if (!n->out)
        link_start(m, n, &retry_unused);
    if (!n->out)
        return n->addr[0] ? n->err : -EAGAIN;
    while (n->hello_busy) /* the HELLO has a deadline: hello_done always runs */
        ebt_tp_wait(m->ctx, &n->hello_settled, 100);
    if (n->joined && !n->hello_failed)
        return 0;
    return n->err ? n->err : -ECONNREFUSED;
}

/* One pass over the nodes: (re)start links. Returns how many are not joined yet. */
static int join_pass(struct ebtd_mesh *m, uint64_t *retry_at)
{
    int missing = 0;
    for (int i = 0; i < m->nodes; i++) {
        struct mesh_node *n = &m->node[i];
        if (i == m->self || n->dead || n->joined)
            continue;
        missing++;
        if (n->hello_busy)
            continue;
        if (n->hello_failed)
            link_reset(m, n, &retry_at[i]);
        if (now_ms() >= retry_at[i])
            link_start(m, n, &retry_at[i]);
    }
    return missing;
}

static void join_report(const struct ebtd_mesh *m, int join_ms)
{
    char never[512] = "", unreach[1024] = "";
    size_t a = 0, b = 0;
    for (int i = 0; i < m->nodes; i++) {
        const struct mesh_node *n = &m->node[i];
        if (i == m->self || n->joined || n->dead)
            continue;
        if (!n->addr[0] && a < sizeof(never))
            a += (size_t)snprintf(never + a, sizeof(never) - a, "%s%d", a ? "," : "", i);
        else if (n->addr[0] && b < sizeof(unreach))
            b +=
                (size_t)snprintf(unreach + b, sizeof(unreach) - b, "%s%d at %s (%s)", b ? ", " : "",
                                 i, n->addr, strerror(n->err ? -n->err : ETIMEDOUT));
    }
    start_error("node %d could not join the mesh of %d nodes within %d ms (rendezvous %s):"
                "%s%s%s%s",
                m->self, m->nodes, join_ms, m->d->cfg->rendezvous,
                a ? " nodes never published: " : "", never, b ? "; nodes unreachable: " : "",
                unreach);
}

/* SIGTERM/SIGINT (ebtd's signalfd, served by the loop only after the join) ends a join. */
static int join_signalled(struct ebtd_mesh *m)
{
    struct signalfd_siginfo si;
    if (m->d->sigfd <= 0 || ebt_sys_read(m->d->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return 0;
    start_error("node %d stopped by signal %u while joining the mesh", m->self, si.ssi_signo);
    return 1;
}

/* Connect to every node that is not joined (and not dead) within join_ms. 0 or -ETIMEDOUT. */
int mesh_join(struct ebtd_mesh *m, int join_ms)
{
    static const int never = 0;
    uint64_t deadline = now_ms() + (uint64_t)join_ms;
    uint64_t *retry_at = calloc((size_t)m->nodes, sizeof(*retry_at));
    if (!retry_at)
        return -ENOMEM;
    int rc = 0;
    while (join_pass(m, retry_at) > 0) {
        if (now_ms() >= deadline) {
            join_report(m, join_ms);
            rc = -ETIMEDOUT;
            break;
        }
        if (!m->up && join_signalled(m)) {
            rc = -EINTR;
            break;
        }
        ebt_tp_wait(m->ctx, &never, 20); /* serves the other nodes' HELLOs meanwhile */
    }
    free(retry_at);
    return rc;
}

static void on_tp_event(struct ebt_loop *loop, int fd, short revents, void *data)
{
    struct ebtd_mesh *m = data;
    ebt_tp_progress(m->ctx);
}

/* Before each poll: progress until the transport can sleep; bound the poll by its deadlines. */
int mesh_loop_before(void *arg)
{
    struct ebtd_mesh *m = arg;
    ebt_tp_progress(m->ctx);
    while (ebt_tp_arm(m->ctx) == -EAGAIN)
        ebt_tp_progress(m->ctx);
    int ms = ebt_tp_timeout_ms(m->ctx);
    return ms < 0 || ms > MESH_LOOP_MAX_MS ? MESH_LOOP_MAX_MS : ms;
}

static int mesh_ctx_open(struct ebtd_mesh *m)
{
    const char *listen = getenv("EBT_LISTEN");
    struct ebt_tp_params p = {
        .listen = listen && *listen ? listen : "127.0.0.1:0",
        .timeout_ms = m->timeout_ms,
        .on_request = mesh_on_request,
        .request_arg = m,
        .on_peer_error = mesh_on_peer_error,
        .error_arg = m,
    };
    int rc = ebt_tp_ctx_create(NULL, &p, &m->ctx);
    if (rc < 0) {
        start_error("cannot open the transport listening on %s: %s", p.listen, strerror(-rc));
        return rc;
    }
    rc = ebt_tp_ctx_address(m->ctx, m->addr, sizeof(m->addr));
    if (rc < 0)
        start_error("no transport address: %s", strerror(-rc));
    if (rc == 0 && !strncmp(m->addr, "mpi:", 4) && atoi(m->addr + 4) != m->self) {
        start_error("transport mpi: this daemon is MPI rank %s but node %d: start one daemon "
                    "per rank (mpirun -np N ebt start ...) and let the rank be the node id",
                    m->addr + 4, m->self);
        rc = -EINVAL;
    }
    return rc;
}

static struct ebtd_mesh *mesh_new(struct ebtd *d)
{
    struct ebtd_mesh *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->node = calloc((size_t)d->cfg->nodes, sizeof(*m->node));
    if (!m->node) {
        free(m);
        return NULL;
    }
    m->d = d;
    m->self = d->cfg->node_id;
    m->nodes = d->cfg->nodes;
    for (int i = 0; i < m->nodes; i++)
        m->node[i].id = i;
    m->timeout_ms = mesh_env_ms("EBT_PEER_TIMEOUT_MS", EBT_TP_TIMEOUT_MS);
    m->hello = (struct mesh_hello){
        .magic = MESH_HELLO_MAGIC, .node = (uint32_t)m->self, .nodes = (uint32_t)m->nodes};
    snprintf(m->hello.job, sizeof(m->hello.job), "%s", d->cfg->job_id);
    return m;
}

static int mesh_attach_loop(struct ebtd *d)
{
    struct ebtd_mesh *m = d->mesh;
    int fd = ebt_tp_event_fd(m->ctx);
    int rc = fd >= 0 ? ebt_loop_add(&d->loop, fd, POLLIN, on_tp_event, m) : 0;
    if (rc == 0)
        ebt_loop_set_before(&d->loop, mesh_loop_before, m);
    return rc;
}

int ebtd_mesh_start(struct ebtd *d)
{
    if (d->cfg->nodes <= 1 || d->mesh)
        return 0;
    struct ebtd_mesh *m = mesh_new(d);
    if (!m)
        return -ENOMEM;
    d->mesh = m;
    int join_ms = mesh_env_ms("EBT_JOIN_TIMEOUT_MS", EBTD_MESH_JOIN_MS);
    int rc = mesh_ctx_open(m);
    if (rc == 0 && (rc = mesh_publish(m)) < 0)
        start_error("cannot publish our address in %s: %s", d->cfg->rendezvous, strerror(-rc));
    if (rc == 0) {
        ebt_info("mesh: node %d of %d listening on %s; joining via %s", m->self, m->nodes, m->addr,
                 d->cfg->rendezvous);
        rc = mesh_join(m, join_ms);
    }
    if (rc == 0)
        rc = mesh_attach_loop(d);
    if (rc < 0) {
        ebtd_mesh_stop(d);
        return rc;
    }
    m->up = 1;
    ebt_info("mesh: node %d joined all %d nodes", m->self, m->nodes);
    return 0;
}

void ebtd_mesh_stop(struct ebtd *d)
{
    struct ebtd_mesh *m = d->mesh;
    if (!m)
        return;
    mesh_unpublish(m);
    if (m->ctx)
        mesh_say_bye(m);
    m->stopping = 1;
    if (m->ctx) {
        int fd = ebt_tp_event_fd(m->ctx);
        if (fd >= 0)
            ebt_loop_del(&d->loop, fd);
        ebt_loop_set_before(&d->loop, NULL, NULL);
        ebt_tp_ctx_destroy(m->ctx);
    }
    free(m->node);
    free(m);
    d->mesh = NULL;
}
