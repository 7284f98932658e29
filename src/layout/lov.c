/* lov.c - parse and build "lustre.lov" blobs; every read is bounds-checked against the blob. */
#include "lov.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Field offsets of lov_user_md_v1/v3, lov_user_ost_data_v1, lov_comp_md_v1 and its entries. */
enum {
    V1_PATTERN = 4,
    V1_STRIPE_SIZE = 24,
    V1_STRIPE_COUNT = 28,
    V1_OFFSET = 30,
    V3_POOL = 32,
    OST_IDX = 20,
    COMP_SIZE = 4,
    COMP_COUNT = 14,
    ENT_ID = 0,
    ENT_FLAGS = 4,
    ENT_START = 8,
    ENT_END = 16,
    ENT_OFFSET = 24,
    ENT_BLOB_SIZE = 28,
};

static uint16_t rd16(const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void wr16(unsigned char *p, uint16_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void wr32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* A magic that is not v1/v3: Lustre layouts EBT does not use, or garbage. */
static int other_magic(uint32_t magic)
{
    switch (magic) {
    case 0x0BD50BD0u: /* LOV_USER_MAGIC_SPECIFIC */
    case 0x0BD70BD0u: /* LOV_USER_MAGIC_FOREIGN */
    case 0x0BD80BD0u: /* LOV_USER_MAGIC_SEL */
        return -EOPNOTSUPP;
    default:
        return -EINVAL; /* includes a composite nested inside a composite */
    }
}

static int check_pattern(uint32_t pattern)
{
    uint32_t p = pattern & ~EBT_LOV_PATTERN_F_RELEASED;
    if (pattern == 0xffffffffu || p == 0 || p == EBT_LOV_PATTERN_RAID0 ||
        p == (EBT_LOV_PATTERN_RAID0 | EBT_LOV_PATTERN_OVERSTRIPING) || p == EBT_LOV_PATTERN_MDT)
        return 0;
    return -EOPNOTSUPP;
}

/* Append n OST entries (24 bytes each, at p) to lov->osts for component c. */
static int add_osts(struct ebt_lov *lov, struct ebt_lov_comp *c, const unsigned char *p, unsigned n)
{
    uint16_t *v = realloc(lov->osts, (size_t)(lov->nosts + n) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    lov->osts = v;
    c->ost_base = lov->nosts;
    for (unsigned i = 0; i < n; i++) {
        uint32_t idx = rd32(p + (size_t)i * EBT_LOV_OST_SIZE + OST_IDX);
        if (idx > EBT_LOV_MAX_OST_INDEX)
            return -EINVAL;
        v[lov->nosts + i] = (uint16_t)idx;
    }
    lov->nosts += n;
    c->nost = n;
    return 0;
}

/* The OST list after a v1/v3 header of hdr bytes: none (a template), or exactly stripe_count. */
static int plain_objects(const unsigned char *b, size_t len, size_t hdr, struct ebt_lov *lov,
                         struct ebt_lov_comp *c)
{
    if (len == hdr)
        return 0;
    unsigned n = c->stripe_count;
    if (n == 0)
        return -EINVAL;
    if (n > EBT_LOV_MAX_STRIPES)
        return -E2BIG;
    if (len - hdr != (size_t)n * EBT_LOV_OST_SIZE || c->stripe_size == 0)
        return -EINVAL;
    return add_osts(lov, c, b + hdr, n);
}

/* A lov_user_md_v1/v3 of exactly len bytes into component c. */
static int parse_plain(const unsigned char *b, size_t len, struct ebt_lov *lov,
                       struct ebt_lov_comp *c)
{
    if (len < EBT_LOV_V1_SIZE)
        return -EINVAL;
    uint32_t magic = rd32(b);
    size_t hdr = magic == EBT_LOV_MAGIC_V1   ? EBT_LOV_V1_SIZE
                 : magic == EBT_LOV_MAGIC_V3 ? EBT_LOV_V3_SIZE
                                             : 0;
    if (!hdr)
        return other_magic(magic);
    if (len < hdr)
        return -EINVAL;
    c->pattern = rd32(b + V1_PATTERN);
    c->stripe_size = rd32(b + V1_STRIPE_SIZE);
    c->stripe_count = rd16(b + V1_STRIPE_COUNT);
    c->offset_or_gen = rd16(b + V1_OFFSET);
    if (magic == EBT_LOV_MAGIC_V3) {
        memcpy(c->pool, b + V3_POOL, EBT_LOV_POOL_LEN);
        c->pool[EBT_LOV_POOL_LEN - 1] = '\0';
    }
    int rc = check_pattern(c->pattern);
    if (rc == 0 && c->stripe_size % EBT_LOV_MIN_STRIPE != 0)
        rc = -EINVAL;
    return rc < 0 ? rc : plain_objects(b, len, hdr, lov, c);
}

/* Entry i of a composite blob of size bytes whose entry table ends at table. */
static int parse_entry(const unsigned char *b, uint32_t size, size_t table, unsigned i,
                       struct ebt_lov *lov)
{
    const unsigned char *e = b + EBT_LOV_COMP_HDR_SIZE + (size_t)i * EBT_LOV_COMP_ENTRY_SIZE;
    struct ebt_lov_comp *c = &lov->comp[i];
    uint32_t off = rd32(e + ENT_OFFSET), esz = rd32(e + ENT_BLOB_SIZE);
    c->id = rd32(e + ENT_ID);
    c->flags = rd32(e + ENT_FLAGS);
    c->start = rd64(e + ENT_START);
    c->end = rd64(e + ENT_END);
    if (c->start >= c->end || off < table || esz > size || off > size - esz)
        return -EINVAL;
    return parse_plain(b + off, esz, lov, c);
}

static int parse_comp(const unsigned char *b, size_t len, struct ebt_lov *lov)
{
    if (len < EBT_LOV_COMP_HDR_SIZE)
        return -EINVAL;
    uint32_t size = rd32(b + COMP_SIZE);
    unsigned count = rd16(b + COMP_COUNT);
    if (size < EBT_LOV_COMP_HDR_SIZE || size > len || count == 0)
        return -EINVAL;
    if (count > EBT_LOV_MAX_COMPS)
        return -E2BIG;
    size_t table = EBT_LOV_COMP_HDR_SIZE + (size_t)count * EBT_LOV_COMP_ENTRY_SIZE;
    if (table > size)
        return -EINVAL;
    for (unsigned i = 0; i < count; i++) {
        int rc = parse_entry(b, size, table, i, lov);
        if (rc < 0)
            return rc;
    }
    lov->ncomp = count;
    return 0;
}

int ebt_lov_parse(const void *buf, size_t len, struct ebt_lov *out)
{
    const unsigned char *b = buf;
    int rc;
    memset(out, 0, sizeof(*out));
    if (!buf || len < sizeof(uint32_t))
        return -EINVAL;
    if (len > EBT_LOV_MAX_BLOB)
        return -E2BIG;
    out->magic = rd32(b);
    if (out->magic == EBT_LOV_MAGIC_COMP_V1) {
        rc = parse_comp(b, len, out);
    } else {
        struct ebt_lov_comp *c = &out->comp[0];
        rc = parse_plain(b, len, out, c);
        c->end = EBT_LOV_EOF;
        c->flags = c->nost ? EBT_LOV_COMP_FL_INIT : 0;
        out->ncomp = 1;
    }
    if (rc < 0)
        ebt_lov_free(out);
    return rc;
}

void ebt_lov_free(struct ebt_lov *lov)
{
    free(lov->osts);
    lov->osts = NULL;
    lov->nosts = 0;
    lov->ncomp = 0;
}

const struct ebt_lov_comp *ebt_lov_comp_at(const struct ebt_lov *lov, uint64_t off)
{
    for (unsigned i = 0; i < lov->ncomp; i++)
        if (lov->comp[i].start <= off && off < lov->comp[i].end)
            return &lov->comp[i];
    return NULL;
}

int ebt_lov_ost_at(const struct ebt_lov *lov, uint64_t off)
{
    const struct ebt_lov_comp *c = ebt_lov_comp_at(lov, off);
    if (!c)
        return -ENOENT;
    if (c->nost == 0 || c->stripe_size == 0)
        return -ENODATA;
    return lov->osts[c->ost_base + (off / c->stripe_size) % c->nost];
}

uint64_t ebt_lov_chunk_end(const struct ebt_lov *lov, uint64_t off)
{
    const struct ebt_lov_comp *c = ebt_lov_comp_at(lov, off);
    if (!c || c->stripe_size == 0)
        return 0;
    uint64_t unit = off / c->stripe_size + 1;
    uint64_t end = unit > UINT64_MAX / c->stripe_size ? EBT_LOV_EOF : unit * c->stripe_size;
    return end < c->end ? end : c->end;
}

int ebt_lov_stripes_at(const struct ebt_lov *lov, uint64_t off)
{
    const struct ebt_lov_comp *c = ebt_lov_comp_at(lov, off);
    if (!c)
        return 0;
    if (c->nost)
        return (int)c->nost;
    return c->stripe_count == 0xffff ? -1 : c->stripe_count;
}

long ebt_lov_build(const struct ebt_lov_req *rq, void *buf, size_t cap)
{
    size_t plen = strnlen(rq->pool, EBT_LOV_POOL_LEN);
    size_t need = plen ? EBT_LOV_V3_SIZE : EBT_LOV_V1_SIZE;
    if (rq->stripe_size % EBT_LOV_MIN_STRIPE || rq->stripe_count < -1 ||
        rq->stripe_count > EBT_LOV_MAX_STRIPES || rq->stripe_offset < -1 ||
        rq->stripe_offset >= (int)EBT_LOV_MAX_OST_INDEX || plen >= EBT_LOV_POOL_LEN)
        return -EINVAL;
    if (cap < need)
        return -ERANGE;
    unsigned char *b = buf;
    memset(b, 0, need);
    wr32(b, plen ? EBT_LOV_MAGIC_V3 : EBT_LOV_MAGIC_V1);
    wr32(b + V1_PATTERN, EBT_LOV_PATTERN_RAID0);
    wr32(b + V1_STRIPE_SIZE, rq->stripe_size);
    wr16(b + V1_STRIPE_COUNT, (uint16_t)rq->stripe_count); /* -1 -> 0xffff: all */
    wr16(b + V1_OFFSET, (uint16_t)rq->stripe_offset);      /* -1 -> 0xffff: any */
    if (plen)
        memcpy(b + V3_POOL, rq->pool, plen);
    return (long)need;
}
