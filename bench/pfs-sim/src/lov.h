/* lov.h - Lustre lov_user_md v1/v3 layout blobs (the "lustre.lov" xattr), host byte order. */
#ifndef PFS_SIM_LOV_H
#define PFS_SIM_LOV_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define LOV_USER_MAGIC_V1 0x0BD10BD0u
#define LOV_USER_MAGIC_V3 0x0BD30BD0u
#define LOV_PATTERN_RAID0 0x001u
#define LOV_POOL_NAME_LEN 16   /* LOV_MAXPOOLNAME (15) + NUL */
#define LOV_OFFSET_ANY 0xffffu /* stripe_offset -1 */
#define LOV_COUNT_ALL 0xffffu  /* stripe_count -1 */

/* Same binary layout as Lustre's struct ost_id / lov_user_ost_data_v1 / lov_user_md_v1/v3. */
struct lov_ost_id {
    uint64_t oi_id;
    uint64_t oi_seq;
} __attribute__((packed));

struct lov_user_ost_data {
    struct lov_ost_id l_ost_oi;
    uint32_t l_ost_gen;
    uint32_t l_ost_idx;
} __attribute__((packed));

struct lov_user_md_v1_hdr {
    uint32_t lmm_magic;
    uint32_t lmm_pattern;
    struct lov_ost_id lmm_oi;
    uint32_t lmm_stripe_size;
    uint16_t lmm_stripe_count;
    uint16_t lmm_stripe_offset; /* on get: lmm_layout_gen */
} __attribute__((packed));

struct lov_user_md_v3_hdr {
    struct lov_user_md_v1_hdr v1;
    char lmm_pool_name[LOV_POOL_NAME_LEN];
} __attribute__((packed));

_Static_assert(sizeof(struct lov_user_ost_data) == 24, "lov_user_ost_data_v1 is 24 bytes");
_Static_assert(sizeof(struct lov_user_md_v1_hdr) == 32, "lov_user_md_v1 is 32 bytes");
_Static_assert(sizeof(struct lov_user_md_v3_hdr) == 48, "lov_user_md_v3 is 48 bytes");

/* A file's layout as the simulator uses it (RAID0 striping over an explicit OST list). */
struct pfs_layout {
    uint32_t magic; /* LOV_USER_MAGIC_V1 or _V3: what getxattr returns */
    uint32_t stripe_size;
    uint16_t stripe_count;
    uint16_t layout_gen;
    char pool[LOV_POOL_NAME_LEN];
    uint16_t ost[PFS_MAX_OSTS];
};

/* A layout request as set by the user (setxattr), before OSTs are chosen. */
struct lov_request {
    uint32_t magic;
    uint32_t stripe_size;   /* 0 = default */
    uint16_t stripe_count;  /* 0 = default, 0xffff = all */
    uint16_t stripe_offset; /* 0xffff = any */
    char pool[LOV_POOL_NAME_LEN];
};

/* Bytes lov_encode() needs for a layout with n stripes. */
size_t lov_encoded_size(uint32_t magic, unsigned nstripes);

/* Writes the blob of a file layout; object ids are derived from file_id. Returns its size, or
 * -ERANGE if cap is too small. cap 0 only returns the size. */
long lov_encode(const struct pfs_layout *lo, uint64_t file_id, void *buf, size_t cap);

/* Writes a directory default (header only, stripe_offset as requested). Same returns. */
long lov_encode_request(const struct lov_request *rq, void *buf, size_t cap);

/* Parses a user blob. Returns 0 or -EINVAL (bad size, magic, pattern or stripe size). */
int lov_parse_request(const void *buf, size_t len, struct lov_request *rq);

/* Parses a blob written by lov_encode() back into a layout; checks OST indexes < nosts. */
int lov_decode_layout(const void *buf, size_t len, int nosts, struct pfs_layout *lo);

#endif
