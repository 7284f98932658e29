/* proto.h - EBT wire protocol: length-prefixed binary messages on the daemon's Unix socket. */
#ifndef EBT_PROTO_H
#define EBT_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Every message (request and reply) starts with this header, in host byte order (the socket is
 * node-local). 'EBT1' is the magic read as a little-endian u32. See docs/protocol.md. */
#define EBT_PROTO_MAGIC 0x31544245u /* "EBT1" */
#define EBT_PROTO_VERSION 1
#define EBT_PROTO_MAX_PAYLOAD (1u << 20)
#define EBT_PROTO_SOCK_NAME "ebtd.sock"
#define EBT_PROTO_TIMEOUT_MS 10000 /* default for connect and ebt_proto_call */

struct ebt_proto_hdr {
    uint32_t magic;
    uint16_t version;
    uint16_t op;
    uint32_t length; /* payload bytes following the header, <= EBT_PROTO_MAX_PAYLOAD */
    uint32_t reqid;  /* echoed in the reply */
    int32_t status;  /* replies: 0 or -errno; requests: 0 */
};

enum ebt_proto_op {
    EBT_OP_HELLO = 1,    /* "pid=..\ntask=..\n" -> daemon version text */
    EBT_OP_STAT = 2,     /* NUL-terminated logical path -> struct ebt_proto_stat */
    EBT_OP_READDIR = 3,  /* path NUL [u32 start index] -> ebt_proto_dirhdr + entries */
    EBT_OP_FLUSH = 4,    /* empty -> summary JSON */
    EBT_OP_COUNTERS = 5, /* empty -> counters JSON */
    EBT_OP_SHUTDOWN = 6, /* empty -> empty; the daemon exits after replying */
    /* Multi-node metadata (docs/multinode.md); a one-node daemon answers -EOPNOTSUPP. */
    EBT_OP_MD_RESOLVE = 7,  /* path NUL -> struct ebt_proto_resolve; refreshes RUN/remote/<path> */
    EBT_OP_MD_FETCH = 8,    /* path NUL -> struct ebt_proto_fetch; RUN/remote/<path> now holds
                               the merged content */
    EBT_OP_MD_NOTE = 9,     /* path NUL, u32 kind (enum ebt_note_kind) -> u32 flags (EBT_NOTE_*) */
    EBT_OP_MD_UNLINK = 10,  /* path NUL, u32 is_dir -> empty; removed from the job's namespace */
    EBT_OP_MD_LISTDIR = 11, /* path NUL -> u32 entries; RUN/remote/<path>/ refreshed */
    EBT_OP_PEERS = 12,      /* empty -> JSON: node id, nodes, per-peer state */
    EBT_OP_INPUT = 13,      /* struct stat (the PFS's answer, follows links), path NUL ->
                               struct ebt_proto_fetch: RUN/icache/<key> holds the input file */
    EBT_OP_MDC = 14,        /* struct ebt_proto_mdc_req, path NUL (under an input) ->
                               struct ebt_proto_mdc_reply, then the answer's bytes */
    EBT_OP_MAX = 14,
};

/* MDC: a metadata question about a path under an input (kind: enum ebt_mda_kind), answered from
 * the PFS once per job by the path's home node. gen: the asking node's cache generation; an
 * answer kept under another generation is asked again. */
struct ebt_proto_mdc_req {
    uint32_t kind;
    uint32_t flags; /* EBT_MDC_* */
    uint64_t gen;
};
#define EBT_MDC_FRESH 1u /* (between daemons) ask the PFS again, do not use a kept answer */
_Static_assert(sizeof(struct ebt_proto_mdc_req) == 16, "MDC request header is 16 bytes");
struct ebt_proto_mdc_reply {
    int32_t err; /* 0, or the -errno the PFS answered (then no bytes follow) */
    uint32_t pad;
};
_Static_assert(sizeof(struct ebt_proto_mdc_reply) == 8, "MDC reply header is 8 bytes");

/* MD_RESOLVE reply. state: what the job's namespace (the owner daemon) says about the path. */
enum ebt_resolve_state {
    EBT_RES_NONE = 0, /* not in the job's namespace: the PFS decides */
    EBT_RES_GONE = 1, /* removed by the job: ENOENT, even if the PFS still has it */
    EBT_RES_FILE = 2, /* a regular file written by the job; RUN/remote/<path> is a placeholder */
    EBT_RES_DIR = 3,  /* a directory made by the job; RUN/remote/<path> exists as a directory */
};
struct ebt_proto_resolve {
    uint32_t state;
    uint32_t mode; /* full st_mode */
    uint64_t size;
    int64_t mtime_sec, mtime_nsec;
    uint32_t nholders;   /* nodes that hold data of the file */
    uint32_t self_holds; /* this node is one of them (its copy is RUN/up or RUN/held) */
};
_Static_assert(sizeof(struct ebt_proto_resolve) == 40, "RESOLVE reply is 40 bytes");

/* MD_NOTE: "this node holds path" (file: created in write mode, published in close mode, or
 * copied up to be written; dir: made). */
/* DIR_EXCL: a mkdir, exclusive across nodes (-EEXIST if the job's namespace has the name from
 * another node). CLAIM: an O_EXCL create before it happens (-EEXIST likewise; the file stays
 * invisible to other nodes until its own note); UNCLAIM: the create failed or the name moved. */
enum ebt_note_kind {
    EBT_NOTE_FILE = 1,
    EBT_NOTE_DIR = 2,
    EBT_NOTE_DIR_EXCL = 3,
    EBT_NOTE_CLAIM = 4,
    EBT_NOTE_UNCLAIM = 5,
};
enum ebt_note_flags {
    EBT_NOTE_SHARED = 1, /* other nodes hold data of it too: the local copy is now RUN/held */
};

/* MD_FETCH reply flags. */
enum ebt_fetch_flags {
    /* another holder has an open writer (or wrote through stdio/mmap): its bytes won where it
     * may only have stale copies, so the merged copy must not overwrite this node's own part */
    EBT_FETCH_INEXACT = 1,
};
/* MD_FETCH reply: which copy the fetch wrote. RUN/remote/<path> may be rewritten by the next
 * RESOLVE or fetch at any moment, so the client opens it and keeps it only if the open file is
 * this one (same inode and change time; a rewrite in place changes the ctime, since the daemon
 * read it after writing); otherwise it fetches again. */
struct ebt_proto_fetch {
    uint32_t flags; /* EBT_FETCH_* */
    uint32_t pad;
    uint64_t ino;
    int64_t ctime_sec, ctime_nsec;
};
_Static_assert(sizeof(struct ebt_proto_fetch) == 32, "FETCH reply is 32 bytes");

/* STAT reply: the attributes of the logical file (lstat semantics: symlinks are not followed). */
enum ebt_proto_layer { EBT_LAYER_UP = 0, EBT_LAYER_PFS = 1 };
struct ebt_proto_stat {
    uint64_t size, ino, nlink, blocks;
    uint32_t mode, uid, gid, layer;
    int64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
    uint32_t blksize, pad;
};

/* READDIR reply: this header, then nent entries of {u8 d_type, name, '\0'}; more != 0 means the
 * reply was full: ask again with start index = previous start + nent. "." and ".." not listed. */
struct ebt_proto_dirhdr {
    uint32_t nent;
    uint32_t more;
};

_Static_assert(sizeof(struct ebt_proto_hdr) == 20, "wire header is 20 bytes");
_Static_assert(sizeof(struct ebt_proto_stat) == 104, "STAT reply is 104 bytes");
_Static_assert(sizeof(struct ebt_proto_dirhdr) == 8, "READDIR header is 8 bytes");

/* Client side (used by libebt.so and the tools). Neither raises SIGPIPE. */
/* Connect to RUN/ebtd.sock with a timeout; returns a CLOEXEC fd or -errno. */
int ebt_proto_connect(const char *run_dir);
/* Send one request and wait for its reply (EBT_PROTO_TIMEOUT_MS). Returns the remote status
 * (0 or -errno) or a local -errno (-ETIMEDOUT, -ECONNRESET, -EPROTO, -EMSGSIZE if the reply did
 * not fit replycap: the excess is discarded). *replylen gets the bytes stored. One call at a time
 * per fd. */
int ebt_proto_call(int fd, uint16_t op, const void *req, uint32_t reqlen, void *reply,
                   uint32_t replycap, uint32_t *replylen);
/* The same with an explicit timeout in milliseconds (-1: wait forever, e.g. for FLUSH). */
int ebt_proto_call_timeout(int fd, uint16_t op, const void *req, uint32_t reqlen, void *reply,
                           uint32_t replycap, uint32_t *replylen, int timeout_ms);

/* Shared by both sides. */
/* Check a received header; 0, or -EPROTO (magic), -EPROTONOSUPPORT (version), -EMSGSIZE
 * (length), -EOPNOTSUPP (op; only if check_op). */
int ebt_proto_hdr_check(const struct ebt_proto_hdr *h, int check_op);
/* Send header + payload in one sendmsg loop, waiting at most timeout_ms; 0 or -errno. */
int ebt_proto_send(int fd, const struct ebt_proto_hdr *h, const void *payload, int timeout_ms);
/* Validate a path payload: NUL inside len, absolute, shorter than PATH_MAX. Returns the path
 * length or -EINVAL / -ENAMETOOLONG. */
int ebt_proto_path_check(const void *payload, uint32_t len);
const char *ebt_proto_op_name(unsigned op);

#endif
