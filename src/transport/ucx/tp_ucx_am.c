/* tp_ucx_am.c - UCX messages: every request and reply is one active message (header + data). */
#define _GNU_SOURCE
#include "tp_ucx.h"
#include "log.h"

#include <errno.h>
#include <string.h>

static void tp_ucx_send_cb(void *request, ucs_status_t st, void *user_data)
{
    struct ebt_tp_xfer *x = user_data;
    x->be = NULL;
    ucp_request_free(request);
    ebt_tp_core_xfer_done(x, tp_ucx_status(st));
}

/* Small payloads: UCX picks eager or rendezvous. From TP_UCX_RNDV_MIN on rendezvous is forced, so
 * the receiver pulls straight from the user's buffer into its own: no bounce copies. The header
 * lives in x until completion. REPLY lets the receiver see which endpoint sent it. */
int tp_ucx_msg_send(ebt_tp_peer_t *peer, struct ebt_tp_xfer *x)
{
    struct tp_ucx_peer *up = peer->be;
    if (!up || !up->ep)
        return peer->status ? peer->status : -ENOTCONN;
    ucp_request_param_t rp = {
        .op_attr_mask =
            UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS,
        .cb.send = tp_ucx_send_cb,
        .user_data = x,
        .flags =
            UCP_AM_SEND_FLAG_REPLY | (x->hdr.len >= TP_UCX_RNDV_MIN ? UCP_AM_SEND_FLAG_RNDV : 0),
    };
    ucs_status_ptr_t sp =
        ucp_am_send_nbx(up->ep, TP_UCX_AM_ID, &x->hdr, sizeof(x->hdr), x->data, x->hdr.len, &rp);
    if (UCS_PTR_IS_ERR(sp)) {
        ebt_warn("transport: ucx send to %s: %s", peer->addr,
                 ucs_status_string(UCS_PTR_STATUS(sp)));
        return tp_ucx_status(UCS_PTR_STATUS(sp));
    }
    if (sp == NULL)
        ebt_tp_core_xfer_done(x, 0);
    else
        x->be = sp;
    return 0;
}

static void tp_ucx_recv_cb(void *request, ucs_status_t st, size_t length, void *user_data)
{
    struct ebt_tp_xfer *x = user_data;
    x->be = NULL;
    ucp_request_free(request);
    ebt_tp_core_xfer_done(x, tp_ucx_status(st));
}

static ebt_tp_peer_t *tp_ucx_peer_of(struct tp_ucx_ctx *uc, ucp_ep_h ep)
{
    struct ebt_tp_list *head = &uc->ctx->peers;
    for (struct ebt_tp_list *l = head->next; l != head; l = l->next) {
        ebt_tp_peer_t *p = (ebt_tp_peer_t *)(void *)l; /* link is the first member */
        struct tp_ucx_peer *up = p->be;
        if (up && up->ep == ep)
            return p;
    }
    return NULL;
}

/* Rendezvous: pull the payload straight into the destination the core chose. */
static ucs_status_t tp_ucx_recv_rndv(struct tp_ucx_ctx *uc, struct ebt_tp_xfer *x, void *buf,
                                     void *desc, size_t length)
{
    if (!buf) {
        ebt_tp_core_xfer_done(x, 0);
        return UCS_OK; /* descriptor dropped: the sender completes, nothing moves */
    }
    ucp_request_param_t rp = {
        .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA,
        .cb.recv_am = tp_ucx_recv_cb,
        .user_data = x,
    };
    ucs_status_ptr_t sp = ucp_am_recv_data_nbx(uc->worker, desc, buf, length, &rp);
    if (UCS_PTR_IS_ERR(sp))
        ebt_tp_core_xfer_done(x, tp_ucx_status(UCS_PTR_STATUS(sp)));
    else if (sp == NULL)
        ebt_tp_core_xfer_done(x, 0);
    else
        x->be = sp;
    return UCS_INPROGRESS; /* UCP owns the descriptor now */
}

static ucs_status_t tp_ucx_am_cb(void *arg, const void *header, size_t header_length, void *data,
                                 size_t length, const ucp_am_recv_param_t *param)
{
    struct tp_ucx_ctx *uc = arg;
    struct ebt_tp_hdr hdr;
    int rndv = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
    if (header_length != sizeof(hdr) || !(param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP)) {
        ebt_warn("transport: malformed ucx message dropped");
        return UCS_OK;
    }
    memcpy(&hdr, header, sizeof(hdr));
    ebt_tp_peer_t *peer = tp_ucx_peer_of(uc, param->reply_ep);
    if (!peer || hdr.len != length) {
        ebt_warn("transport: ucx message from an unknown endpoint or with a bad length dropped");
        return UCS_OK;
    }
    void *buf = NULL;
    struct ebt_tp_xfer *x = ebt_tp_core_recv_begin(peer, &hdr, &buf);
    if (!x)
        return UCS_OK;
    if (rndv)
        return tp_ucx_recv_rndv(uc, x, buf, data, length);
    if (buf && length)
        memcpy(buf, data, length); /* eager data sits in a UCX buffer: one copy is inherent */
    ebt_tp_core_xfer_done(x, 0);
    return UCS_OK;
}

int tp_ucx_am_init(struct tp_ucx_ctx *uc)
{
    ucp_am_handler_param_t hp = {
        .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_FLAGS |
                      UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG,
        .id = TP_UCX_AM_ID,
        .flags = UCP_AM_FLAG_WHOLE_MSG,
        .cb = tp_ucx_am_cb,
        .arg = uc,
    };
    ucs_status_t st = ucp_worker_set_am_recv_handler(uc->worker, &hp);
    if (st != UCS_OK) {
        ebt_error("transport: ucp_worker_set_am_recv_handler: %s", ucs_status_string(st));
        return tp_ucx_status(st);
    }
    return 0;
}
