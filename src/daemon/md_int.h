/* md_int.h - internals shared by the md_*.c files: string maps, the shard, the overlap rule, the
 * peer wire formats, and helpers. */
#ifndef EBTD_MD_INT_H
#define EBTD_MD_INT_H

#include "extlog.h"
#include "md.h"
#include "proto.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct ebtd;
struct ebtd_reply;

/* ---- a string-keyed hash map (chained; keys are copied) ---- */
struct md_ent {
    struct md_ent *next;
    uint64_t hash;
    void *val;
    char key[];
};
struct md_map {
    struct md_ent **b;
    size_t nb, n;
};
void md_map_init(struct md_map *m);
/* Free every entry; free_val (may be NULL) is called on each value. */
void md_map_free(struct md_map *m, void (*free_val)(void *));
void *md_map_get(const struct md_map *m, const char *key);
/* Insert or replace key's value; the old value (or NULL) goes to *old. 0 or -ENOMEM. */
int md_map_put(struct md_map *m, const char *key, void *val, void **old);
void *md_map_del(struct md_map *m, const char *key); /* the removed value or NULL */
/* Call fn for every entry until it returns non-zero (that value is returned). */
int md_map_each(const struct md_map *m, int (*fn)(const char *key, void *val, void *arg),
                void *arg);

/* ---- the shard: records of the paths this node owns, indexed by parent directory ---- */
struct md_rec {
    char *path;
    int kind; /* enum ebtd_md_kind */
    mode_t mode;
    uint64_t size; /* the largest size noted by a holder */
    int64_t mtime_sec, mtime_nsec;
    int nholders, cap;
    int *holders;     /* in note order: the last noted is last */
    uint64_t *seqs;   /* the owner's sequence number of each holder's latest note */
    uint64_t *hsizes; /* each holder's size at its latest note */
};
struct md_shard {
    struct md_map recs; /* path -> struct md_rec */
    struct md_map dirs; /* parent path -> its child records */
    uint64_t seq;       /* last sequence number given out */
};
struct md_note {
    int kind; /* EBTD_MD_FILE or EBTD_MD_DIR */
    mode_t mode;
    uint64_t size;
    int64_t mtime_sec, mtime_nsec;
};
void md_shard_init(struct md_shard *s);
void md_shard_free(struct md_shard *s);
struct md_rec *md_shard_get(const struct md_shard *s, const char *path);
/* Record that node holds path (file) or made it (dir). A file's node becomes the last holder
 * with a new sequence number; *was_holder (may be NULL) says whether it held it before. A note
 * replaces a gone record and a record of the other kind. The record, or NULL (ENOMEM). */
struct md_rec *md_shard_note(struct md_shard *s, const char *path, const struct md_note *n,
                             int node, int *was_holder);
/* Mark path removed (kind GONE, no holders; created if missing). NULL on ENOMEM. */
struct md_rec *md_shard_gone(struct md_shard *s, const char *path);
void md_shard_drop(struct md_shard *s, const char *path); /* forget the record */
/* Remove node from path's holders (no-op if it is not one). */
void md_shard_unhold(struct md_shard *s, const char *path, int node);
/* Call fn for every record whose parent directory is dir; stops at the first non-zero. */
int md_shard_children(const struct md_shard *s, const char *dir,
                      int (*fn)(const struct md_rec *r, void *arg), void *arg);
int md_shard_each(const struct md_shard *s, int (*fn)(const struct md_rec *r, void *arg),
                  void *arg);
/* Version of a record's content: a hash of its holders and their sequence numbers. */
uint64_t md_rec_version(const struct md_rec *r);

/* ---- the overlap rule (md_merge.c), a pure function ---- */
struct md_hold_ext {
    int node;
    uint64_t size;       /* the holder's file size */
    struct ebt_ivs ext;  /* bytes it wrote (clipped to size by md_merge_ranges) */
    struct ebt_ivs wins; /* out: the bytes it provides */
    int approx;          /* ext is all of its copy only because its log cannot say (open writer) */
    int nolog;           /* a copy this node created, with no log: ext is its data (no holes),
                            which may hold zeros it never wrote (a page it wrote part of) */
};
/* h[0..n) in note order (the last is the latest). Per byte the holder with the latest note wins;
 * holders without a log come after every holder with one (their data pages may hold zeros where
 * another node wrote: an N-1 file the node created first). Fills each h[i].wins, *base (bytes no
 * holder wrote, below the final size: from the PFS) and *size (the largest holder size). 0 or
 * -ENOMEM. */
int md_merge_ranges(struct md_hold_ext *h, int n, struct ebt_ivs *base, uint64_t *size);
/* out += a minus b (both sorted, disjoint). 0 or -ENOMEM. */
int md_ivs_subtract(const struct ebt_ivs *a, const struct ebt_ivs *b, struct ebt_ivs *out);
void md_hold_ext_free(struct md_hold_ext *h, int n);

/* ---- per-daemon state (d->md) ---- */
struct ebtd_md {
    struct md_shard shard;
    struct md_map noted;   /* paths this node has noted (value: (void *)1) */
    struct md_map stamps;  /* RUN/remote/<path> -> struct md_stamp (its version) */
    struct md_map claims;  /* owner: names claimed by O_EXCL creates and mkdirs (node + 1) */
    unsigned char *logged; /* per node: an error reaching it was logged */
    int nodes, self;
    unsigned long tmpseq;
};
struct md_stamp {
    uint64_t version, size;
    int64_t mtime_sec, mtime_nsec;
};

/* ---- peer operations (mesh.h: EBTD_P_MD_FIRST..LAST) ---- */
enum md_peer_op {
    MD_P_NOTE = 10,    /* owner: {md_wire_note, path NUL}... -> md_wire_note_reply per entry */
    MD_P_RECORD = 11,  /* owner: path -> md_wire_rec + nholders md_wire_holder (-ENOENT: none) */
    MD_P_DEMOTE = 12,  /* holder: path -> empty; RUN/up/<path> moved to RUN/held/<path> */
    MD_P_STAT = 13,    /* holder: path -> md_wire_stat of its copy */
    MD_P_EXTENTS = 14, /* holder: path -> u64 size, u64 n, u64 flags, n x {u64 off, u64 end} */
    MD_P_READ = 15,    /* holder: u64 off, u64 len, path -> the bytes (short at EOF) */
    MD_P_UNLINK = 16,  /* owner: u32 is_dir, path -> empty */
    MD_P_DROP = 17,    /* holder: path -> empty; its copy and extent log removed */
    MD_P_LIST = 18,    /* every node: dir -> {md_wire_child, name NUL}... of its shard */
};
#define MD_READ_MAX (8u << 20)
#define MD_EXT_MAX 65536       /* intervals in an EXTENTS reply */
#define MD_EXT_HDR 3           /* u64 words before them: size, count, flags */
#define MD_EXT_APPROX 1u       /* flags: the ranges over-approximate (all of the copy) */
#define MD_EXT_NOLOG 2u        /* flags: no log; the ranges are the copy's data, holes left out */
#define MD_LIST_MAX (8u << 20) /* bytes of one node's LIST reply (~140000 names) */

/* kind: enum ebtd_md_kind, or one of these (a name claimed or released, nothing recorded);
 * MD_NOTE_EXCL or'ed into EBTD_MD_DIR makes the note exclusive (a mkdir). */
enum { MD_NOTE_CLAIM = 100, MD_NOTE_UNCLAIM = 101, MD_NOTE_EXCL = 0x10000 };
struct md_wire_note { /* followed by the path, NUL */
    uint32_t kind, mode;
    uint64_t size;
    int64_t mtime_sec, mtime_nsec;
};
struct md_wire_note_reply {
    int32_t status;
    uint32_t flags; /* EBT_NOTE_SHARED */
};
struct md_wire_rec {
    uint32_t kind, mode;
    uint64_t size;
    int64_t mtime_sec, mtime_nsec;
    uint32_t nholders, pad;
};
struct md_wire_holder {
    int32_t node;
    uint32_t pad;
    uint64_t seq, size;
};
struct md_wire_stat {
    uint64_t size;
    int64_t mtime_sec, mtime_nsec;
    uint32_t mode, pad;
};
struct md_wire_child { /* followed by the name, NUL */
    uint32_t kind, mode;
    uint64_t size, version;
    int64_t mtime_sec, mtime_nsec;
};

/* A record fetched from its owner. */
struct md_recinfo {
    struct md_wire_rec r;
    struct md_wire_holder *h; /* r.nholders, malloc'ed */
};
void md_recinfo_free(struct md_recinfo *ri);
uint64_t md_recinfo_version(const struct md_recinfo *ri); /* == md_rec_version of the record */

/* ---- helpers (md_util.c) ---- */
/* A peer path payload: NUL inside len, absolute, not "/", normalised into out. Bytes used. */
int md_take_path(const void *p, size_t len, char *out, size_t cap);
/* RUN/<layer><path> into out; 0 or -ENAMETOOLONG. */
int md_layer_file(const struct ebtd *d, const char *layer, const char *path, char *out, size_t cap);
/* This node's copy of a file it holds: RUN/held/<path>, else RUN/up/<path>. 0 or -ENOENT. */
int md_local_copy(const struct ebtd *d, const char *path, char *out, size_t cap, struct stat *st);
int md_futimens(int fd, int64_t sec, int64_t nsec);
/* Open a regular file O_RDWR only if no other open file refers to it (a write lease, held until
 * md_unshared_close: an open elsewhere waits for it). fd, or -EAGAIN (open elsewhere), -errno. */
int md_open_unshared(const char *path);
void md_unshared_close(int fd);
/* A mesh status that means the node could not be reached (dead, silent, connection lost). */
int md_transport_error(int rc);
/* ebtd_mesh_call; transport failures become -EIO (logged once per node). */
int md_call(struct ebtd *d, int node, uint16_t op, const void *req, size_t len, void *reply,
            size_t cap, size_t *reply_len);
/* A request "fixed header + path NUL" in a malloc'ed buffer. */
void *md_req(const void *hdr, size_t hlen, const char *path, size_t *len);
/* Ask path's owner for the record. 0, -ENOENT (no record), -EIO. */
int md_get_record(struct ebtd *d, const char *path, struct md_recinfo *out);
/* Each holder's extents and size, merged by the overlap rule: h has ri->r.nholders entries. */
int md_holder_extents(struct ebtd *d, const char *path, const struct md_recinfo *ri,
                      struct md_hold_ext *h, struct ebt_ivs *base, uint64_t *size);

/* Peer handler registration (md_peer.c, md_fetch.c). */
void md_peer_register(void);
void md_fetch_register(void);
/* Local effects on a holder: move RUN/up/<path> to RUN/held; remove its copy and log. */
int md_demote_local(struct ebtd *d, const char *path);
int md_drop_local(struct ebtd *d, const char *path);

/* Client ops (md_fetch.c, md_remote.c). */
int md_op_fetch(struct ebtd *d, const char *path, struct ebt_proto_fetch *out);
int md_op_listdir(struct ebtd *d, const char *dir, uint32_t *count);
/* RUN/remote/<path> as a sparse placeholder (kept if stamped with this version and size). */
int md_remote_placeholder(struct ebtd *d, const char *path, mode_t mode, uint64_t size, int64_t ms,
                          int64_t mns, uint64_t version);
int md_remote_dir(struct ebtd *d, const char *path);    /* mkdir -p RUN/remote/<path> */
int md_remote_remove(struct ebtd *d, const char *path); /* rm -rf RUN/remote/<path> */
int md_remote_forget(struct ebtd *d, const char *path); /* drop a placeholder, keep a directory */
int md_stamp_set(struct ebtd *d, const char *path, uint64_t version, uint64_t size, int64_t ms,
                 int64_t mns);
#endif
