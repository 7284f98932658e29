/* mdserve.c - job-wide metadata answers for inputs (EBT_OP_MDC; docs/design.md "Input
 * metadata"): a client's question (stat, lstat, statx, readlink, a listing) about a path under an
 * input that its node's shared cache cannot answer comes here. This daemon answers from memory,
 * else asks the path's home node (the owner of the path, peer op MDS_P_ASK), which asks the PFS
 * once per job; a dead or unreachable home: this node asks the PFS itself. Questions are answered
 * one after the other in the event loop, so processes asking at once cost the PFS one question.
 * An answer kept under another generation of the asking node's cache is asked again, of the
 * PFS (EBT_MDC_FRESH): the job wrote under the input since. */
#define _GNU_SOURCE
#include "mdserve.h"
#include "log.h"
#include "lower.h"
#include "mdanswer.h"
#include "mesh.h"
#include "path.h"
#include "pfsdir.h"
#include "proto.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define MDS_BUCKETS 16384
#define MDS_MAX_BYTES (64u << 20) /* then the table starts again */

enum { MDS_P_ASK = EBTD_P_INPUT_FIRST + 1 }; /* home: ebt_proto_mdc_req, path NUL -> the answer */

struct mds_ent {
    struct mds_ent *next;
    uint64_t hash, gen;
    int kind, err;
    size_t len;
    char *path;
    unsigned char data[];
};

static struct mds_ent *table[MDS_BUCKETS];
static size_t table_bytes;
static uint64_t node_gen; /* the newest generation a client of this node asked under */

static uint64_t key_hash(int kind, const char *path)
{
    return ebt_path_hash(path) * 31u + (uint64_t)kind;
}

static struct mds_ent *find(int kind, const char *path, uint64_t h)
{
    for (struct mds_ent *e = table[h % MDS_BUCKETS]; e; e = e->next)
        if (e->hash == h && e->kind == kind && !strcmp(e->path, path))
            return e;
    return NULL;
}

static void table_clear(void)
{
    for (size_t b = 0; b < MDS_BUCKETS; b++)
        for (struct mds_ent *e = table[b], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    memset(table, 0, sizeof(table));
    table_bytes = 0;
}

/* Keep the answer m for (kind, path) under gen, replacing an older one: the entry or NULL. */
static struct mds_ent *keep(int kind, const char *path, uint64_t h, uint64_t gen,
                            const struct ebt_mda *m)
{
    size_t plen = strlen(path) + 1, size = sizeof(struct mds_ent) + m->len + plen;
    for (struct mds_ent **p = &table[h % MDS_BUCKETS]; *p; p = &(*p)->next)
        if ((*p)->hash == h && (*p)->kind == kind && !strcmp((*p)->path, path)) {
            struct mds_ent *old = *p;
            *p = old->next;
            table_bytes -= sizeof(*old) + old->len + strlen(old->path) + 1;
            free(old);
            break;
        }
    if (table_bytes + size > MDS_MAX_BYTES)
        table_clear();
    struct mds_ent *e = malloc(size);
    if (!e)
        return NULL;
    *e = (struct mds_ent){.hash = h, .gen = gen, .kind = kind, .err = m->err, .len = m->len};
    if (m->len) /* (no data: an error, an empty link or listing) */
        memcpy(e->data, m->data, m->len);
    e->path = (char *)e->data + m->len;
    memcpy(e->path, path, plen);
    e->next = table[h % MDS_BUCKETS];
    table[h % MDS_BUCKETS] = e;
    table_bytes += size;
    return e;
}

/* Ask this node's PFS about logical: 0 with *m filled, or -errno (nothing to keep). */
static int ask_pfs(struct ebtd *d, int kind, const char *logical, int fresh, struct ebt_mda *m)
{
    char phys[PATH_MAX];
    int rc = ebt_lower_path(logical, phys, sizeof(phys));
    if (rc < 0)
        return rc;
    if (fresh) /* the job changed the input since: its directory may be a new one */
        ebtd_pfs_dir_drop(phys);
    struct ebtd_pfs_dir *dir = ebtd_pfs_dir_of(phys);
    if (!dir && errno != ENOENT && errno != ENOTDIR)
        return -errno;
    if (dir)
        rc = ebt_mda_ask(kind, dir->fd, strrchr(phys, '/') + 1, m);
    else /* the directory is not there: nor is anything in it */
        rc = ebt_mda_ask(kind, AT_FDCWD, phys, m);
    if (rc == 0)
        d->c.input_md_pfs++;
    return rc;
}

/* The device this node's PFS shows for logical's directory (answers from a home carry the
 * home's): 0 if unknown. */
static dev_t local_dev(const char *logical)
{
    char phys[PATH_MAX];
    struct ebtd_pfs_dir *dir =
        ebt_lower_path(logical, phys, sizeof(phys)) == 0 ? ebtd_pfs_dir_of(phys) : NULL;
    return dir ? dir->dev : 0;
}

static void set_dev(int kind, const char *logical, struct ebt_mda *m)
{
    dev_t dev;
    if (m->err || !(dev = local_dev(logical)))
        return;
    if ((kind == EBT_MDA_STAT || kind == EBT_MDA_LSTAT) && m->len == sizeof(struct stat)) {
        struct stat st;
        memcpy(&st, m->data, sizeof(st));
        st.st_dev = dev;
        memcpy(m->data, &st, sizeof(st));
    } else if ((kind == EBT_MDA_STATX || kind == EBT_MDA_LSTATX) &&
               m->len == sizeof(struct statx)) {
        struct statx stx;
        memcpy(&stx, m->data, sizeof(stx));
        stx.stx_dev_major = major(dev);
        stx.stx_dev_minor = minor(dev);
        memcpy(m->data, &stx, sizeof(stx));
    }
}

/* Ask home about logical: 0 with *m filled (this node's device), or -errno. */
static int ask_home(struct ebtd *d, int home, int kind, const char *logical, uint32_t flags,
                    struct ebt_mda *m)
{
    size_t plen = strlen(logical) + 1, got = 0;
    struct ebt_proto_mdc_req q = {(uint32_t)kind, flags, 0};
    char req[sizeof(q) + PATH_MAX];
    memcpy(req, &q, sizeof(q));
    memcpy(req + sizeof(q), logical, plen);
    size_t cap =
        sizeof(struct ebt_proto_mdc_reply) +
        ebt_mda_answer_max(kind, EBT_PROTO_MAX_PAYLOAD - sizeof(struct ebt_proto_mdc_reply));
    unsigned char *buf = malloc(cap); /* (a listing may take a whole message; a stat is small) */
    if (!buf)
        return -ENOMEM;
    int rc = ebtd_mesh_call(d, home, MDS_P_ASK, req, sizeof(q) + plen, buf, cap, &got);
    struct ebt_proto_mdc_reply a;
    if (rc == 0 && got < sizeof(a))
        rc = -EIO;
    if (rc == 0) {
        memcpy(&a, buf, sizeof(a));
        m->err = a.err > 0 ? -EIO : a.err;
        m->len = m->err ? 0 : got - sizeof(a);
        m->data = buf;
        memmove(buf, buf + sizeof(a), m->len);
        set_dev(kind, logical, m);
        d->c.input_md_peer++;
        return 0;
    }
    free(buf);
    return rc;
}

/* The answer for (kind, logical): kept if it is of gen (or any, gen 0 for a peer unless fresh),
 * else asked of the home or the PFS and kept. NULL: -errno in *rc. */
static const struct mds_ent *answer(struct ebtd *d, int kind, const char *logical, uint64_t gen,
                                    int fresh, int from_peer, int *rc)
{
    uint64_t h = key_hash(kind, logical);
    struct mds_ent *e = find(kind, logical, h);
    if (e && !fresh && (from_peer || e->gen == gen))
        return e;
    fresh = fresh || e != NULL; /* kept under another generation: the PFS again */
    struct ebt_mda m = {0, 0, NULL};
    int home = ebt_path_owner(logical, ebtd_mesh_nodes(d));
    *rc = -EHOSTUNREACH;
    if (!from_peer && home != ebtd_mesh_self(d))
        *rc = ask_home(d, home, kind, logical, fresh ? EBT_MDC_FRESH : 0, &m);
    if (*rc < 0 && *rc != -ENOMEM)
        *rc = ask_pfs(d, kind, logical, fresh, &m); /* the home, or its stand-in */
    if (*rc < 0)
        return NULL;
    e = keep(kind, logical, h, from_peer ? node_gen : gen, &m);
    free(m.data);
    if (!e)
        *rc = -ENOMEM;
    return e;
}

/* Parse a request: 0 with *q and the input path, or -errno. */
static int take_req(struct ebtd *d, const void *p, size_t len, struct ebt_proto_mdc_req *q,
                    char *path)
{
    if (len < sizeof(*q) + 2)
        return -EINVAL;
    memcpy(q, p, sizeof(*q));
    if (!ebt_mda_kind_valid((int)q->kind) || (q->flags & ~EBT_MDC_FRESH))
        return -EINVAL;
    return ebtd_input_path(d, (const char *)p + sizeof(*q), len - sizeof(*q), path, PATH_MAX);
}

/* Write the answer after its header into out (cap bytes): its length, or -EMSGSIZE. */
static long put_answer(const struct mds_ent *e, void *out, size_t cap)
{
    struct ebt_proto_mdc_reply a = {e->err, 0};
    if (sizeof(a) + e->len > cap)
        return -EMSGSIZE;
    memcpy(out, &a, sizeof(a));
    memcpy((char *)out + sizeof(a), e->data, e->len);
    return (long)(sizeof(a) + e->len);
}

int ebtd_mdc_op(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                uint32_t *replylen)
{
    struct ebt_proto_mdc_req q;
    char path[PATH_MAX];
    *replylen = 0;
    int rc = take_req(d, payload, len, &q, path);
    if (rc < 0 || (q.flags & EBT_MDC_FRESH))
        return rc < 0 ? rc : -EINVAL; /* FRESH is between daemons */
    d->c.input_md_asks++;
    if (q.gen > node_gen)
        node_gen = q.gen;
    const struct mds_ent *e = answer(d, (int)q.kind, path, q.gen, 0, 0, &rc);
    if (!e)
        return rc;
    long n = put_answer(e, reply, cap);
    if (n < 0)
        return (int)n;
    *replylen = (uint32_t)n;
    return 0;
}

static int h_ask(struct ebtd *d, int from, const void *req, size_t len, struct ebtd_reply *r)
{
    struct ebt_proto_mdc_req q;
    char path[PATH_MAX];
    (void)from;
    int rc = take_req(d, req, len, &q, path);
    if (rc < 0)
        return rc;
    const struct mds_ent *e = answer(d, (int)q.kind, path, 0, q.flags & EBT_MDC_FRESH, 1, &rc);
    if (!e)
        return rc;
    void *out = ebtd_reply_alloc(r, sizeof(struct ebt_proto_mdc_reply) + e->len);
    if (!out)
        return -ENOMEM;
    put_answer(e, out, r->len);
    return 0;
}

void ebtd_mdserve_register(void)
{
    ebtd_mesh_handle(MDS_P_ASK, h_ask);
}
