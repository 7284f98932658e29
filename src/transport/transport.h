/* transport.h - daemon-to-daemon transport: connect, request/reply with deadlines, bulk, events. */
#ifndef EBT_TRANSPORT_H
#define EBT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

/* Status convention: 0 or a negative errno, as everywhere in EBT. Errors a caller sees:
 *   -ETIMEDOUT     the call's deadline passed (peer slow, silent, or never replied)
 *   -ECONNRESET    the peer died or closed (endpoint error), before or during the call
 *   -EHOSTUNREACH / -ECONNREFUSED   connecting failed
 *   -EMSGSIZE      the reply did not fit the caller's buffer (reply_len says how big it was)
 *   any other negative value in a reply is the remote handler's own status.
 * See docs/transport.md for the full semantics. */

#define EBT_TP_TIMEOUT_MS 10000         /* default deadline of a call */
#define EBT_TP_MAX_REQUEST (1ull << 30) /* default largest request payload a server accepts */
#define EBT_TP_ADDR_MAX 128

typedef struct ebt_tp_ctx ebt_tp_ctx_t;   /* one per node (daemon): worker, listener, peers */
typedef struct ebt_tp_peer ebt_tp_peer_t; /* a connection to another node (either direction) */
typedef struct ebt_tp_msg ebt_tp_msg_t;   /* a received request, until it is replied to */

/* Server side: a request arrived. The handler owns msg until it calls ebt_tp_msg_reply, now or
 * later (asynchronously). Runs from ebt_tp_progress, never inside the backend's callbacks. */
typedef void ebt_tp_request_fn(ebt_tp_msg_t *msg, void *arg);
/* A peer failed (died, reset, unreachable). Its outstanding calls fail on their own. */
typedef void ebt_tp_peer_error_fn(ebt_tp_peer_t *peer, int status, void *arg);
/* A call finished: status is the remote handler's status, or a local/transport error.
 * reply_len is the size of the reply payload the peer sent (also when -EMSGSIZE). */
typedef void ebt_tp_done_fn(int status, size_t reply_len, void *arg);
/* A reply left (or failed to): its data buffer is the caller's again. */
typedef void ebt_tp_sent_fn(int status, void *arg);

struct ebt_tp_params {
    const char *listen;   /* "host:port" to accept peers (port 0: any); NULL: connect only */
    int timeout_ms;       /* default deadline for calls; 0: EBT_TP_TIMEOUT_MS */
    uint64_t max_request; /* largest request payload accepted; 0: EBT_TP_MAX_REQUEST */
    ebt_tp_request_fn *on_request;
    void *request_arg;
    ebt_tp_peer_error_fn *on_peer_error; /* may be NULL */
    void *error_arg;
};

/* Wire header of every message; the backend carries it next to the payload. */
enum ebt_tp_kind { EBT_TP_REQUEST = 1, EBT_TP_REPLY = 2 };
struct ebt_tp_hdr {
    uint64_t id;  /* request id, echoed in the reply */
    uint64_t len; /* payload bytes */
    uint16_t op;  /* request: the daemon's operation code; reply: copied */
    uint8_t kind; /* enum ebt_tp_kind */
    uint8_t flags;
    int32_t status; /* reply: 0 or -errno from the handler */
};
_Static_assert(sizeof(struct ebt_tp_hdr) == 24, "transport header is 24 bytes");

/* A backend: one folder each (src/transport/ucx, later src/transport/mpi), plugged in here.
 * The core (tp_core.c) owns request ids, deadlines, matching and the user callbacks; a backend
 * only moves messages and reports upward through tp_backend.h. All calls come from the one thread
 * that drives the context. */
struct ebt_tp_xfer;
struct ebt_tp_ops {
    const char *name;
    int (*ctx_init)(ebt_tp_ctx_t *ctx, const struct ebt_tp_params *params);
    void (*ctx_fini)(ebt_tp_ctx_t *ctx);
    int (*ctx_address)(ebt_tp_ctx_t *ctx, char *buf, size_t cap);
    /* Start connecting; may finish later. Failure later arrives as ebt_tp_core_peer_failed. */
    int (*peer_connect)(ebt_tp_peer_t *peer, const char *addr);
    /* Drop the connection now; every outstanding transfer completes (with an error) before
     * this returns or during the next worker_progress. */
    void (*peer_close)(ebt_tp_peer_t *peer);
    /* Send x->hdr + x->data (x->hdr.len bytes, zero-copy where possible). 0: completion will be
     * reported with ebt_tp_core_xfer_done (maybe already); -errno: nothing was started. */
    int (*msg_send)(ebt_tp_peer_t *peer, struct ebt_tp_xfer *x);
    int (*worker_progress)(ebt_tp_ctx_t *ctx); /* >0: something happened */
    int (*worker_fd)(ebt_tp_ctx_t *ctx);       /* fd that becomes readable on events, or -1 */
    int (*worker_arm)(ebt_tp_ctx_t *ctx);      /* 0: safe to sleep on the fd; -EAGAIN: progress */
};

extern const struct ebt_tp_ops ebt_tp_ucx_ops;
extern const struct ebt_tp_ops ebt_tp_mpi_ops; /* built when MPI was found (EBT_MPI) */

/* Context. backend: "ucx" or "mpi" (NULL: $EBT_TRANSPORT, else "ucx"). -ENOENT: not built. */
int ebt_tp_ctx_create(const char *backend, const struct ebt_tp_params *params,
                      ebt_tp_ctx_t **ctx_p);
/* Fails every outstanding call (-ECANCELED), drops unreplied requests, closes all peers. */
void ebt_tp_ctx_destroy(ebt_tp_ctx_t *ctx);
/* The listen address peers connect to, "ip:port" with the real port. */
int ebt_tp_ctx_address(ebt_tp_ctx_t *ctx, char *buf, size_t cap);

/* Peers. Connecting is asynchronous: calls may be issued at once and fail if it never succeeds. */
int ebt_tp_peer_connect(ebt_tp_ctx_t *ctx, const char *addr, ebt_tp_peer_t **peer_p);
/* Close a peer: its outstanding calls fail with -ECANCELED (callbacks run from progress). */
void ebt_tp_peer_close(ebt_tp_peer_t *peer);
int ebt_tp_peer_status(const ebt_tp_peer_t *peer); /* 0 alive, or the error it failed with */
void ebt_tp_peer_set_data(ebt_tp_peer_t *peer, void *data);
void *ebt_tp_peer_data(const ebt_tp_peer_t *peer);

/* Asynchronous call: send op + req to the peer; done runs once, from ebt_tp_progress, after the
 * reply landed in reply[0..reply_cap) or the call failed. req and reply belong to the transport
 * until done runs (req is sent without a copy). timeout_ms 0: the context default; < 0 not
 * allowed (every remote call has a deadline). Returns 0, or -errno and done never runs. */
int ebt_tp_call_start(ebt_tp_peer_t *peer, uint16_t op, const void *req, size_t req_len,
                      void *reply, size_t reply_cap, int timeout_ms, ebt_tp_done_fn *done,
                      void *arg);
/* Blocking call: progresses the context (running other handlers and callbacks meanwhile) until
 * the reply or the deadline. Returns the same status done would get. */
int ebt_tp_call(ebt_tp_peer_t *peer, uint16_t op, const void *req, size_t req_len, void *reply,
                size_t reply_cap, size_t *reply_len_p, int timeout_ms);

/* Received requests. The data stays valid until the reply is sent (or fails). */
uint16_t ebt_tp_msg_op(const ebt_tp_msg_t *msg);
const void *ebt_tp_msg_data(const ebt_tp_msg_t *msg, size_t *len_p);
ebt_tp_peer_t *ebt_tp_msg_peer(const ebt_tp_msg_t *msg);
/* Reply and release msg. data (len bytes, zero-copy) must stay valid until sent runs (sent may be
 * NULL if data is static or len is 0). Returns 0, or -errno (peer gone; msg released, sent does
 * not run). */
int ebt_tp_msg_reply(ebt_tp_msg_t *msg, int status, const void *data, size_t len,
                     ebt_tp_sent_fn *sent, void *arg);

/* Event loop integration (single thread): poll ebt_tp_event_fd for POLLIN with a timeout of
 * ebt_tp_timeout_ms; on wake-up call ebt_tp_progress; before sleeping call ebt_tp_arm and, if it
 * returns -EAGAIN, progress again. */
int ebt_tp_event_fd(ebt_tp_ctx_t *ctx);
int ebt_tp_progress(ebt_tp_ctx_t *ctx); /* events handled (>= 0) */
int ebt_tp_arm(ebt_tp_ctx_t *ctx);
int ebt_tp_timeout_ms(ebt_tp_ctx_t *ctx); /* ms to the next deadline, -1 if none */
/* Progress until *flag becomes non-zero or timeout_ms passes (sleeping on the fd): -ETIMEDOUT. */
int ebt_tp_wait(ebt_tp_ctx_t *ctx, const volatile int *flag, int timeout_ms);

#endif
