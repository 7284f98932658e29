/* lov.h - Lustre's "lustre.lov" layout blobs (lov_user_md v1/v3, composite lov_comp_md_v1):
 * parsed into a bounded, provider-neutral form, and built as a layout request. */
#ifndef EBT_LOV_H
#define EBT_LOV_H

#include <stddef.h>
#include <stdint.h>

/* The numbers of Lustre's user API (lustre_user.h); blobs are in host byte order. */
#define EBT_LOV_MAGIC_V1 0x0BD10BD0u
#define EBT_LOV_MAGIC_V3 0x0BD30BD0u
#define EBT_LOV_MAGIC_COMP_V1 0x0BD60BD0u
#define EBT_LOV_PATTERN_RAID0 0x001u
#define EBT_LOV_PATTERN_MDT 0x100u          /* data on the MDT: no OST objects */
#define EBT_LOV_PATTERN_OVERSTRIPING 0x200u /* RAID0 with several objects per OST */
#define EBT_LOV_PATTERN_F_RELEASED 0x80000000u
#define EBT_LOV_COMP_FL_INIT 0x10u /* lcme_flags: the component's objects exist */
#define EBT_LOV_MIN_STRIPE (64u << 10)
#define EBT_LOV_MAX_STRIPES 2000 /* LOV_MAX_STRIPE_COUNT */
#define EBT_LOV_MAX_OST_INDEX 0xffffu
#define EBT_LOV_MAX_COMPS 64 /* components EBT accepts in one layout (PFL uses a handful) */
#define EBT_LOV_POOL_LEN 16  /* LOV_MAXPOOLNAME + NUL */
#define EBT_LOV_EOF UINT64_MAX
#define EBT_LOV_V1_SIZE 32u
#define EBT_LOV_V3_SIZE 48u
#define EBT_LOV_OST_SIZE 24u
#define EBT_LOV_COMP_HDR_SIZE 32u
#define EBT_LOV_COMP_ENTRY_SIZE 48u
/* A blob can be no larger than this (a v3 layout of 2000 stripes, 64 of them). */
#define EBT_LOV_MAX_BLOB (64u << 10)

/* One component: a byte extent of the file striped RAID0 over an OST list. A plain v1/v3 layout
 * is one component over [0, EOF). */
struct ebt_lov_comp {
    uint64_t start, end; /* [start, end); end EBT_LOV_EOF: to the end of the file */
    uint32_t id, flags;  /* lcme_id, lcme_flags (plain layouts: 0, EBT_LOV_COMP_FL_INIT) */
    uint32_t pattern;
    uint32_t stripe_size;   /* 0: the file system's default (a template) */
    uint16_t stripe_count;  /* as stored: 0 default, 0xffff all OSTs (templates) */
    uint16_t offset_or_gen; /* lmm_stripe_offset (templates) or lmm_layout_gen */
    char pool[EBT_LOV_POOL_LEN];
    unsigned nost;     /* OST entries held: stripe_count, or 0 for a template / no objects yet */
    unsigned ost_base; /* they are osts[ost_base .. ost_base + nost) of the layout */
};

struct ebt_lov {
    uint32_t magic; /* of the blob: V1, V3 or COMP_V1 */
    unsigned ncomp;
    struct ebt_lov_comp comp[EBT_LOV_MAX_COMPS];
    unsigned nosts;
    uint16_t *osts; /* OST indexes of every component (malloc'd; ebt_lov_free) */
};

/* Parse a blob of len bytes. Anything malformed or truncated is refused without reading outside
 * [buf, buf + len): -EINVAL (bad magic, size, counts, extents, offsets, stripe size), -E2BIG
 * (more than EBT_LOV_MAX_COMPS components or EBT_LOV_MAX_STRIPES stripes), -EOPNOTSUPP (a
 * well-formed layout EBT does not use: foreign, OST-specific, unknown pattern). On success the
 * caller frees with ebt_lov_free. */
int ebt_lov_parse(const void *buf, size_t len, struct ebt_lov *out);
void ebt_lov_free(struct ebt_lov *lov);

/* The component holding byte off: the first one whose extent covers it (of a mirrored file: the
 * first mirror's). NULL if none does. */
const struct ebt_lov_comp *ebt_lov_comp_at(const struct ebt_lov *lov, uint64_t off);
/* The OST index holding byte off, or -ENOENT (no component covers it) / -ENODATA (its objects
 * do not exist yet, or its data lives on the MDT). */
int ebt_lov_ost_at(const struct ebt_lov *lov, uint64_t off);
/* The end (exclusive) of the stripe chunk holding byte off: the next stripe boundary or the
 * component's end, whichever is first; 0 if the layout does not say (no component covers off,
 * or its stripe size is the file system's default). */
uint64_t ebt_lov_chunk_end(const struct ebt_lov *lov, uint64_t off);
/* The stripe count where byte off lies: the OST objects it has, else the count as requested
 * (templates: 0 = default, -1 = all OSTs); 0 if no component covers off. */
int ebt_lov_stripes_at(const struct ebt_lov *lov, uint64_t off);

/* A layout request for setxattr("lustre.lov") on an empty file or a directory: v1, or v3 when
 * pool is a non-empty name. stripe_size 0 = default (else a multiple of 64 KiB), stripe_count 0
 * = default, -1 = all OSTs, stripe_offset -1 = any. Returns the blob's size, -ERANGE if cap is
 * too small, -EINVAL for values Lustre would refuse. */
struct ebt_lov_req {
    uint32_t stripe_size;
    int stripe_count;
    int stripe_offset;
    char pool[EBT_LOV_POOL_LEN];
};
long ebt_lov_build(const struct ebt_lov_req *rq, void *buf, size_t cap);

#endif
