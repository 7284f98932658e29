/* ops.c - ebtd's request handlers: HELLO, STAT, READDIR, FLUSH, COUNTERS, SHUTDOWN. */
#define _GNU_SOURCE
#include "pfscount.h"
#include "flush.h"
#include "flush_mn.h"
#include "incache.h"
#include "mdserve.h"
#include "layer.h"
#include "log.h"
#include "sys.h"
#include "mesh.h"
#include "md.h"
#include "path.h"
#include "rundir.h"
#include "server.h"
#include "view.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int op_hello(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                    uint32_t *replylen)
{
    char text[256];
    snprintf(text, sizeof(text), "%.*s", (int)(len < 200 ? len : 200), payload);
    for (char *p = text; *p; p++)
        if (*p == '\n')
            *p = ' ';
    d->c.hellos++;
    ebt_info("hello from client: %s", text);
    int n = snprintf(reply, cap, "ebtd %s\n", EBTD_VERSION);
    *replylen = n < 0 ? 0 : (uint32_t)n;
    return 0;
}

/* A path payload: NUL-terminated absolute path, normalised, under a managed prefix. */
static int take_path(const struct ebtd *d, const char *payload, uint32_t len, char *out, size_t cap,
                     uint32_t *consumed)
{
    int n = ebt_proto_path_check(payload, len);
    if (n < 0)
        return n;
    *consumed = (uint32_t)n + 1;
    int rc = ebt_path_normalize("/", payload, out, cap);
    if (rc < 0)
        return rc;
    if (d->cfg->nprefixes == 0)
        return 0;
    for (int i = 0; i < d->cfg->nprefixes; i++)
        if (ebt_path_under(out, d->cfg->prefixes[i].path))
            return 0;
    return -EXDEV; /* not a managed path */
}

static int op_stat(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                   uint32_t *replylen)
{
    char path[PATH_MAX];
    uint32_t used;
    int rc = take_path(d, payload, len, path, sizeof(path), &used);
    if (rc == 0 && used != len)
        rc = -EINVAL; /* trailing bytes after the path */
    if (rc == 0 && cap < sizeof(struct ebt_proto_stat))
        rc = -EMSGSIZE;
    if (rc == 0)
        rc = ebt_view_stat(d->run_dir, path, (struct ebt_proto_stat *)reply);
    *replylen = rc == 0 ? sizeof(struct ebt_proto_stat) : 0;
    return rc;
}

static int op_readdir(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                      uint32_t *replylen)
{
    char path[PATH_MAX];
    uint32_t used, start = 0;
    int rc = take_path(d, payload, len, path, sizeof(path), &used);
    if (rc == 0 && used + sizeof(start) == len)
        memcpy(&start, payload + used, sizeof(start));
    else if (rc == 0 && used != len)
        rc = -EINVAL;
    if (rc == 0)
        rc = ebt_view_readdir(d->run_dir, path, start, reply, cap, replylen);
    return rc;
}

/* FLUSH: empty, or "if-needed" (ebt stop: skip a job-wide flush nothing new needs). A one-node
 * job flushes here; a multi-node job is flushed by this node as coordinator (flush_coord.c). */
static int op_flush(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                    uint32_t *replylen)
{
    struct ebt_flush_stats st;
    char err[1024];
    int if_needed = len == 9 && memcmp(payload, "if-needed", 9) == 0;
    if (len != 0 && !if_needed)
        return -EINVAL;
    ebt_info("flush requested%s", if_needed ? " (if needed)" : "");
    int rc = d->mesh ? ebtd_flush_mn_run(d, if_needed, &st, err, sizeof(err))
                     : ebt_flush_run(d->run_dir, d->cfg, &st, err, sizeof(err));
    d->c.flush_ops++;
    d->c.flush_failures += rc < 0;
    d->c.flush_files += st.files;
    d->c.flush_bytes += st.bytes;
    d->c.flush_meta_ops += st.meta_ops;
    d->c.flush_data_ops += st.data_ops;
    d->c.flush_seconds += st.seconds;
    *replylen = (uint32_t)ebt_flush_json(&st, rc, err, reply, cap);
    return rc;
}

static int op_counters(struct ebtd *d, char *reply, uint32_t cap, uint32_t *replylen)
{
    char root[PATH_MAX];
    unsigned long long files = 0, bytes = 0;
    if (ebt_rundir_file(d->run_dir, "up", root, sizeof(root)) == 0)
        ebt_layer_usage(root, &files, &bytes);
    if (ebt_rundir_file(d->run_dir, "task", root, sizeof(root)) == 0)
        ebt_layer_usage(root, &files, &bytes);
    const struct ebtd_counters *c = &d->c;
    int n = snprintf(
        reply, cap,
        "{\"version\":\"%s\",\"pid\":%d,\"uptime\":%.3f,\"clients\":%llu,\"hellos\":%llu,"
        "\"requests\":%llu,\"rejected\":%llu,\"bad_messages\":%llu,\"accept_pauses\":%llu,"
        "\"dropped_clients\":%llu,\"cache_files\":%llu,"
        "\"cache_bytes\":%llu,\"flush_ops\":%llu,\"flush_failures\":%llu,\"flush_files\":%llu,"
        "\"flush_bytes\":%llu,\"flush_meta_ops\":%llu,\"flush_data_ops\":%llu,"
        "\"flush_seconds\":%.6f,\"job_pfs_meta_ops\":%llu,\"input_opens\":%llu,"
        "\"input_pfs_files\":%llu,\"input_pfs_bytes\":%llu,\"input_peer_files\":%llu,"
        "\"input_md_asks\":%llu,\"input_md_pfs\":%llu,\"input_md_peer\":%llu}",
        EBTD_VERSION, (int)getpid(), ebt_now_s() - d->started, (unsigned long long)c->clients,
        (unsigned long long)c->hellos, (unsigned long long)c->requests,
        (unsigned long long)c->rejected, (unsigned long long)c->bad_messages,
        (unsigned long long)c->accept_pauses, (unsigned long long)c->dropped_clients, files, bytes,
        (unsigned long long)c->flush_ops, (unsigned long long)c->flush_failures,
        (unsigned long long)c->flush_files, (unsigned long long)c->flush_bytes,
        (unsigned long long)c->flush_meta_ops, (unsigned long long)c->flush_data_ops,
        c->flush_seconds, (unsigned long long)ebt_pfscount_read(d->run_dir),
        (unsigned long long)c->input_opens, (unsigned long long)c->input_pfs_files,
        (unsigned long long)c->input_pfs_bytes, (unsigned long long)c->input_peer_files,
        (unsigned long long)c->input_md_asks, (unsigned long long)c->input_md_pfs,
        (unsigned long long)c->input_md_peer);
    *replylen = n < 0 ? 0 : (n >= (int)cap ? cap - 1 : (uint32_t)n);
    return 0;
}

int ebtd_handle(void *ctx, const struct ebt_proto_hdr *h, const char *payload, char *reply,
                uint32_t cap, uint32_t *replylen)
{
    struct ebtd *d = ctx;
    d->c.requests++;
    *replylen = 0;
    ebt_debug("request %s (%u bytes)", ebt_proto_op_name(h->op), h->length);
    if ((h->op == EBT_OP_COUNTERS || h->op == EBT_OP_SHUTDOWN) && h->length != 0)
        return -EINVAL;
    switch (h->op) {
    case EBT_OP_HELLO:
        return op_hello(d, payload, h->length, reply, cap, replylen);
    case EBT_OP_STAT:
        return op_stat(d, payload, h->length, reply, cap, replylen);
    case EBT_OP_READDIR:
        return op_readdir(d, payload, h->length, reply, cap, replylen);
    case EBT_OP_FLUSH:
        return op_flush(d, payload, h->length, reply, cap, replylen);
    case EBT_OP_COUNTERS:
        return op_counters(d, reply, cap, replylen);
    case EBT_OP_INPUT:
        return ebtd_input_op(d, payload, h->length, reply, cap, replylen);
    case EBT_OP_MDC:
        return ebtd_mdc_op(d, payload, h->length, reply, cap, replylen);
    case EBT_OP_PEERS:
        return ebtd_mesh_peers_op(d, payload, h->length, reply, cap, replylen);
    case EBT_OP_MD_RESOLVE:
    case EBT_OP_MD_FETCH:
    case EBT_OP_MD_NOTE:
    case EBT_OP_MD_UNLINK:
    case EBT_OP_MD_LISTDIR:
        return ebtd_md_client_op(d, h->op, payload, h->length, reply, cap, replylen);
    case EBT_OP_SHUTDOWN:
        ebt_info("shutdown requested");
        ebt_loop_stop(&d->loop);
        return 0;
    }
    return -EOPNOTSUPP;
}
