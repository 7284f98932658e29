/* tp_ucx.c - UCX (ucp) backend: context, worker with wake-up fd, listener, endpoints. */
#define _GNU_SOURCE
#include "tp_ucx.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tp_ucx_status(ucs_status_t st)
{
    switch (st) {
    case UCS_OK:
        return 0;
    case UCS_ERR_CONNECTION_RESET:
        return -ECONNRESET;
    case UCS_ERR_ENDPOINT_TIMEOUT:
    case UCS_ERR_TIMED_OUT:
        return -ETIMEDOUT;
    case UCS_ERR_UNREACHABLE:
        return -EHOSTUNREACH;
    case UCS_ERR_REJECTED:
        return -ECONNREFUSED;
    case UCS_ERR_CANCELED:
        return -ECANCELED;
    case UCS_ERR_NO_MEMORY:
        return -ENOMEM;
    case UCS_ERR_INVALID_PARAM:
        return -EINVAL;
    case UCS_ERR_BUSY:
        return -EBUSY;
    case UCS_ERR_NOT_CONNECTED:
        return -ENOTCONN;
    case UCS_ERR_MESSAGE_TRUNCATED:
        return -EMSGSIZE;
    case UCS_ERR_UNSUPPORTED:
        return -EOPNOTSUPP;
    default:
        return -EIO;
    }
}

int tp_ucx_sockaddr(const char *addr, struct sockaddr_storage *ss, socklen_t *len_p)
{
    char host[EBT_TP_ADDR_MAX];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof(host))
        return -EINVAL;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo((*h && strcmp(h, "*")) ? h : NULL, colon + 1, &hints, &res);
    if (rc != 0 || !res) {
        ebt_error("transport: cannot resolve '%s': %s", addr, gai_strerror(rc));
        return -EINVAL;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len_p = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* An endpoint error means the connection is gone. UCX 1.13 reports a killed peer as "Endpoint
 * timeout" within milliseconds (the socket closed), so everything but a failed connection set-up
 * becomes -ECONNRESET: -ETIMEDOUT stays reserved for a call's own deadline. */
static void tp_ucx_err_cb(void *arg, ucp_ep_h ep, ucs_status_t st)
{
    struct tp_ucx_peer *up = arg;
    int rc = st == UCS_ERR_UNREACHABLE || st == UCS_ERR_REJECTED ? tp_ucx_status(st) : -ECONNRESET;
    if (!up->peer)
        return;
    ebt_info("transport: endpoint to %s failed: %s", up->peer->addr, ucs_status_string(st));
    ebt_tp_core_peer_failed(up->peer, rc);
}

static int tp_ucx_ep_create(struct tp_ucx_ctx *uc, ebt_tp_peer_t *peer, ucp_ep_params_t *ep)
{
    struct tp_ucx_peer *up = calloc(1, sizeof(*up));
    if (!up)
        return -ENOMEM;
    up->peer = peer;
    up->uc = uc;
    ep->field_mask |= UCP_EP_PARAM_FIELD_ERR_HANDLER | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
    ep->err_mode = UCP_ERR_HANDLING_MODE_PEER;
    ep->err_handler.cb = tp_ucx_err_cb;
    ep->err_handler.arg = up;
    ucs_status_t st = ucp_ep_create(uc->worker, ep, &up->ep);
    if (st != UCS_OK) {
        ebt_error("transport: ucp_ep_create (%s): %s", peer->addr, ucs_status_string(st));
        free(up);
        return tp_ucx_status(st);
    }
    peer->be = up;
    return 0;
}

static int tp_ucx_peer_connect(ebt_tp_peer_t *peer, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = tp_ucx_sockaddr(addr, &ss, &len);
    if (rc < 0)
        return rc;
    ucp_ep_params_t ep = {
        .field_mask = UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR,
        .flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER,
        .sockaddr = {.addr = (struct sockaddr *)&ss, .addrlen = len},
    };
    return tp_ucx_ep_create(peer->ctx->be, peer, &ep);
}

/* Graceful (flush) close while the peer is healthy, forced otherwise; bounded either way.
 * A forced close completes every outstanding request with UCS_ERR_CANCELED. */
static void tp_ucx_ep_close(struct tp_ucx_ctx *uc, ucp_ep_h ep, int force)
{
    ucp_request_param_t rp = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
                              .flags = force ? UCP_EP_CLOSE_FLAG_FORCE : 0};
    ucs_status_ptr_t sp = ucp_ep_close_nbx(ep, &rp);
    if (!UCS_PTR_IS_PTR(sp))
        return;
    uint64_t end = ebt_tp_now_ns() + TP_UCX_CLOSE_MS * 1000000ull;
    while (ucp_request_check_status(sp) == UCS_INPROGRESS && ebt_tp_now_ns() < end)
        ucp_worker_progress(uc->worker);
    if (ucp_request_check_status(sp) == UCS_INPROGRESS)
        ebt_warn("transport: endpoint close did not finish in %d ms", TP_UCX_CLOSE_MS);
    ucp_request_free(sp);
}

static void tp_ucx_peer_close(ebt_tp_peer_t *peer)
{
    struct tp_ucx_peer *up = peer->be;
    if (!up)
        return;
    up->peer = NULL; /* no more error upcalls */
    if (up->ep)
        tp_ucx_ep_close(up->uc, up->ep, peer->status != 0);
    peer->be = NULL;
    free(up);
}

static void tp_ucx_conn_cb(ucp_conn_request_h req, void *arg)
{
    struct tp_ucx_ctx *uc = arg;
    if (uc->npending == TP_UCX_MAX_PENDING) {
        ebt_warn("transport: too many connection requests at once: rejecting one");
        ucp_listener_reject(uc->listener, req);
        return;
    }
    uc->pending[uc->npending++] = req;
}

static void tp_ucx_accept_one(struct tp_ucx_ctx *uc, ucp_conn_request_h req)
{
    ebt_tp_peer_t *peer = ebt_tp_core_peer_accept(uc->ctx);
    if (!peer) {
        ucp_listener_reject(uc->listener, req);
        return;
    }
    ucp_conn_request_attr_t attr = {.field_mask = UCP_CONN_REQUEST_ATTR_FIELD_CLIENT_ADDR};
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ucp_conn_request_query(req, &attr) == UCS_OK) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&attr.client_address;
        if (sin->sin_family == AF_INET)
            inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
        snprintf(peer->addr, sizeof(peer->addr), "%s:%u (in)", ip, ntohs(sin->sin_port));
    }
    ucp_ep_params_t ep = {.field_mask = UCP_EP_PARAM_FIELD_CONN_REQUEST, .conn_request = req};
    if (tp_ucx_ep_create(uc, peer, &ep) < 0)
        ebt_tp_core_peer_failed(peer, -ECONNABORTED);
    else
        ebt_debug("transport: accepted %s", peer->addr);
}

static int tp_ucx_progress(ebt_tp_ctx_t *ctx)
{
    struct tp_ucx_ctx *uc = ctx->be;
    int n = (int)ucp_worker_progress(uc->worker);
    for (int i = 0; i < uc->npending; i++)
        tp_ucx_accept_one(uc, uc->pending[i]);
    n += uc->npending;
    uc->npending = 0;
    return n;
}

static int tp_ucx_fd(ebt_tp_ctx_t *ctx)
{
    return ((struct tp_ucx_ctx *)ctx->be)->efd;
}

static int tp_ucx_arm(ebt_tp_ctx_t *ctx)
{
    struct tp_ucx_ctx *uc = ctx->be;
    if (uc->npending)
        return -EAGAIN;
    ucs_status_t st = ucp_worker_arm(uc->worker);
    return st == UCS_OK ? 0 : st == UCS_ERR_BUSY ? -EAGAIN : tp_ucx_status(st);
}

static int tp_ucx_listen(struct tp_ucx_ctx *uc, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = tp_ucx_sockaddr(addr, &ss, &len);
    if (rc < 0)
        return rc;
    ucp_listener_params_t lp = {
        .field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR | UCP_LISTENER_PARAM_FIELD_CONN_HANDLER,
        .sockaddr = {.addr = (struct sockaddr *)&ss, .addrlen = len},
        .conn_handler = {.cb = tp_ucx_conn_cb, .arg = uc},
    };
    ucs_status_t st = ucp_listener_create(uc->worker, &lp, &uc->listener);
    if (st != UCS_OK) {
        ebt_error("transport: listen on %s: %s", addr, ucs_status_string(st));
        return tp_ucx_status(st);
    }
    return 0;
}

static int tp_ucx_worker_init(struct tp_ucx_ctx *uc)
{
    ucp_config_t *cfg;
    ucs_status_t st = ucp_config_read(NULL, NULL, &cfg);
    if (st != UCS_OK)
        goto err;
    ucp_params_t p = {.field_mask = UCP_PARAM_FIELD_FEATURES,
                      .features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP};
    st = ucp_init(&p, cfg, &uc->context);
    ucp_config_release(cfg);
    if (st != UCS_OK)
        goto err;
    ucp_worker_params_t wp = {.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
                              .thread_mode = UCS_THREAD_MODE_SINGLE};
    st = ucp_worker_create(uc->context, &wp, &uc->worker);
    if (st != UCS_OK)
        goto err_cleanup;
    st = ucp_worker_get_efd(uc->worker, &uc->efd);
    if (st != UCS_OK)
        goto err_worker;
    return 0;
err_worker:
    ucp_worker_destroy(uc->worker);
err_cleanup:
    ucp_cleanup(uc->context);
err:
    ebt_error("transport: ucx init: %s", ucs_status_string(st));
    return tp_ucx_status(st);
}

static int tp_ucx_ctx_init(ebt_tp_ctx_t *ctx, const struct ebt_tp_params *params)
{
    struct tp_ucx_ctx *uc = calloc(1, sizeof(*uc));
    if (!uc)
        return -ENOMEM;
    uc->ctx = ctx;
    uc->efd = -1;
    int rc = tp_ucx_worker_init(uc);
    if (rc < 0)
        goto err_free;
    rc = tp_ucx_am_init(uc);
    if (rc < 0)
        goto err_worker;
    if (params->listen && (rc = tp_ucx_listen(uc, params->listen)) < 0)
        goto err_worker;
    ctx->be = uc;
    return 0;
err_worker:
    ucp_worker_destroy(uc->worker);
    ucp_cleanup(uc->context);
err_free:
    free(uc);
    return rc;
}

static void tp_ucx_ctx_fini(ebt_tp_ctx_t *ctx)
{
    struct tp_ucx_ctx *uc = ctx->be;
    for (int i = 0; i < uc->npending; i++)
        ucp_listener_reject(uc->listener, uc->pending[i]);
    if (uc->listener)
        ucp_listener_destroy(uc->listener);
    ucp_worker_destroy(uc->worker);
    ucp_cleanup(uc->context);
    free(uc);
    ctx->be = NULL;
}

static int tp_ucx_address(ebt_tp_ctx_t *ctx, char *buf, size_t cap)
{
    struct tp_ucx_ctx *uc = ctx->be;
    if (!uc->listener)
        return -ENOTCONN;
    ucp_listener_attr_t attr = {.field_mask = UCP_LISTENER_ATTR_FIELD_SOCKADDR};
    ucs_status_t st = ucp_listener_query(uc->listener, &attr);
    if (st != UCS_OK)
        return tp_ucx_status(st);
    char ip[INET6_ADDRSTRLEN];
    int n;
    if (attr.sockaddr.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&attr.sockaddr;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        n = snprintf(buf, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&attr.sockaddr;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        n = snprintf(buf, cap, "%s:%u", ip, ntohs(s4->sin_port));
    }
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

const struct ebt_tp_ops ebt_tp_ucx_ops = {
    .name = "ucx",
    .ctx_init = tp_ucx_ctx_init,
    .ctx_fini = tp_ucx_ctx_fini,
    .ctx_address = tp_ucx_address,
    .peer_connect = tp_ucx_peer_connect,
    .peer_close = tp_ucx_peer_close,
    .msg_send = tp_ucx_msg_send,
    .worker_progress = tp_ucx_progress,
    .worker_fd = tp_ucx_fd,
    .worker_arm = tp_ucx_arm,
};
