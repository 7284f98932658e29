/* lov.c - encodes and parses lov_user_md v1/v3 blobs with their per-stripe object entries. */
#include "lov.h"

#include <errno.h>
#include <string.h>

#define OST_OBJ_SEQ_BASE 0x100000000ULL /* synthetic per-OST object sequence */

static size_t header_size(uint32_t magic)
{
    return magic == LOV_USER_MAGIC_V3 ? sizeof(struct lov_user_md_v3_hdr)
                                      : sizeof(struct lov_user_md_v1_hdr);
}

size_t lov_encoded_size(uint32_t magic, unsigned nstripes)
{
    return header_size(magic) + (size_t)nstripes * sizeof(struct lov_user_ost_data);
}

static void put_header(uint32_t magic, uint64_t file_id, uint32_t ssize, uint16_t count,
                       uint16_t off_or_gen, const char *pool, unsigned char *buf)
{
    struct lov_user_md_v3_hdr h;
    memset(&h, 0, sizeof(h));
    h.v1.lmm_magic = magic;
    h.v1.lmm_pattern = LOV_PATTERN_RAID0;
    h.v1.lmm_oi.oi_id = file_id;
    h.v1.lmm_oi.oi_seq = 0;
    h.v1.lmm_stripe_size = ssize;
    h.v1.lmm_stripe_count = count;
    h.v1.lmm_stripe_offset = off_or_gen;
    memcpy(h.lmm_pool_name, pool, LOV_POOL_NAME_LEN);
    h.lmm_pool_name[LOV_POOL_NAME_LEN - 1] = '\0';
    memcpy(buf, &h, header_size(magic));
}

long lov_encode(const struct pfs_layout *lo, uint64_t file_id, void *buf, size_t cap)
{
    size_t need = lov_encoded_size(lo->magic, lo->stripe_count);
    if (cap == 0)
        return (long)need;
    if (cap < need)
        return -ERANGE;
    unsigned char *p = buf;
    put_header(lo->magic, file_id, lo->stripe_size, lo->stripe_count, lo->layout_gen, lo->pool, p);
    p += header_size(lo->magic);
    for (unsigned i = 0; i < lo->stripe_count; i++) {
        struct lov_user_ost_data d;
        d.l_ost_oi.oi_id = file_id;
        d.l_ost_oi.oi_seq = OST_OBJ_SEQ_BASE + lo->ost[i];
        d.l_ost_gen = 0;
        d.l_ost_idx = lo->ost[i];
        memcpy(p, &d, sizeof(d));
        p += sizeof(d);
    }
    return (long)need;
}

long lov_encode_request(const struct lov_request *rq, void *buf, size_t cap)
{
    size_t need = header_size(rq->magic);
    if (cap == 0)
        return (long)need;
    if (cap < need)
        return -ERANGE;
    put_header(rq->magic, 0, rq->stripe_size, rq->stripe_count, rq->stripe_offset, rq->pool, buf);
    return (long)need;
}

int lov_parse_request(const void *buf, size_t len, struct lov_request *rq)
{
    struct lov_user_md_v3_hdr h;
    memset(&h, 0, sizeof(h));
    if (len < sizeof(struct lov_user_md_v1_hdr))
        return -EINVAL;
    memcpy(&h, buf, len < sizeof(h) ? len : sizeof(h));
    uint32_t magic = h.v1.lmm_magic;
    if (magic != LOV_USER_MAGIC_V1 && magic != LOV_USER_MAGIC_V3)
        return -EINVAL;
    if (len < header_size(magic))
        return -EINVAL;
    if (h.v1.lmm_pattern != 0 && h.v1.lmm_pattern != LOV_PATTERN_RAID0)
        return -EINVAL;
    if (h.v1.lmm_stripe_size % PFS_MIN_STRIPE_SIZE != 0)
        return -EINVAL;
    memset(rq, 0, sizeof(*rq));
    rq->magic = magic;
    rq->stripe_size = h.v1.lmm_stripe_size;
    rq->stripe_count = h.v1.lmm_stripe_count;
    rq->stripe_offset = h.v1.lmm_stripe_offset;
    if (magic == LOV_USER_MAGIC_V3) {
        memcpy(rq->pool, h.lmm_pool_name, LOV_POOL_NAME_LEN);
        rq->pool[LOV_POOL_NAME_LEN - 1] = '\0';
    }
    return 0;
}

int lov_decode_layout(const void *buf, size_t len, int nosts, struct pfs_layout *lo)
{
    struct lov_request rq;
    if (lov_parse_request(buf, len, &rq) != 0)
        return -EINVAL;
    unsigned n = rq.stripe_count;
    if (n == 0 || n > PFS_MAX_OSTS || rq.stripe_size == 0 || len < lov_encoded_size(rq.magic, n))
        return -EINVAL;
    memset(lo, 0, sizeof(*lo));
    lo->magic = rq.magic;
    lo->stripe_size = rq.stripe_size;
    lo->stripe_count = (uint16_t)n;
    lo->layout_gen = rq.stripe_offset;
    memcpy(lo->pool, rq.pool, LOV_POOL_NAME_LEN);
    const unsigned char *p = (const unsigned char *)buf + header_size(rq.magic);
    for (unsigned i = 0; i < n; i++) {
        struct lov_user_ost_data d;
        memcpy(&d, p + (size_t)i * sizeof(d), sizeof(d));
        if (d.l_ost_idx >= (uint32_t)nosts)
            return -EINVAL;
        lo->ost[i] = (uint16_t)d.l_ost_idx;
    }
    return 0;
}
