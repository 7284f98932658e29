/* tp_ucx.h - UCX (ucp) backend internals: worker, listener, endpoints, active messages. */
#ifndef EBT_TP_UCX_H
#define EBT_TP_UCX_H

#include "tp_backend.h"

#include <sys/socket.h>
#include <ucp/api/ucp.h>

#define TP_UCX_AM_ID 17             /* our one active message handler */
#define TP_UCX_RNDV_MIN (64u << 10) /* payloads from here on always go by rendezvous (zero-copy)   \
                                     */
#define TP_UCX_MAX_PENDING 64       /* connection requests accepted per progress round */
#define TP_UCX_CLOSE_MS 1000        /* bound on a graceful endpoint close */

struct tp_ucx_ctx {
    ucp_context_h context;
    ucp_worker_h worker;
    ucp_listener_h listener;
    int efd;
    ebt_tp_ctx_t *ctx;
    ucp_conn_request_h pending[TP_UCX_MAX_PENDING]; /* endpoints are created outside callbacks */
    int npending;
};

struct tp_ucx_peer {
    ucp_ep_h ep;
    ebt_tp_peer_t *peer;
    struct tp_ucx_ctx *uc;
};

int tp_ucx_status(ucs_status_t st); /* ucs_status_t -> 0 / -errno */
/* Parse "host:port" ("[v6]:port"; host "" or "*": any) into a socket address. */
int tp_ucx_sockaddr(const char *addr, struct sockaddr_storage *ss, socklen_t *len_p);

/* tp_ucx_am.c */
int tp_ucx_am_init(struct tp_ucx_ctx *uc);
int tp_ucx_msg_send(ebt_tp_peer_t *peer, struct ebt_tp_xfer *x);

#endif
