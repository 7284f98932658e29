/* mdanswer.h - the PFS's answers to the metadata questions the input caches keep (stat, lstat,
 * statx, lstatx, readlink, a directory listing), asked relative to a directory fd and encoded
 * one way for the client's cache (client/mdcache.c), the daemon's job-wide answers
 * (daemon/mdserve.c) and the EBT_OP_MDC message between them (docs/protocol.md). */
#ifndef EBT_MDANSWER_H
#define EBT_MDANSWER_H

#include <stddef.h>
#include <stdint.h>

enum ebt_mda_kind {
    EBT_MDA_STAT = 'S',
    EBT_MDA_LSTAT = 'L',
    EBT_MDA_STATX = 'X',
    EBT_MDA_LSTATX = 'Y',
    EBT_MDA_LINK = 'R',
    EBT_MDA_LIST = 'D',
};

#define EBT_MDA_MAX_LIST (8u << 20)   /* bytes of one listing; a bigger directory is not listed */
#define EBT_MDA_LIST_TOO_BIG (-EFBIG) /* the answer for a directory too big to list */

/* A listing: records of u64 ino, u8 type, u8 0, u16 name length, the name and its '\0'. */
#define EBT_MDA_REC_HDR 12

/* One answer: err is 0 or the -errno the PFS gave; data (malloc'ed, len bytes) is a struct stat,
 * a struct statx, the link's bytes or the listing's records. */
struct ebt_mda {
    int err;
    size_t len;
    unsigned char *data;
};

/* 1 if kind is one of enum ebt_mda_kind. */
int ebt_mda_kind_valid(int kind);
/* The largest answer of kind that fits a message of cap bytes (cap for a listing, else the
 * size of a struct stat, a struct statx or a link): reply buffers are sized by it. */
size_t ebt_mda_answer_max(int kind, size_t cap);
/* Ask the PFS about name in dirfd (AT_FDCWD and a path also work): 0 with *out filled (its err
 * may be set), or -ENOMEM (then nothing is allocated). */
int ebt_mda_ask(int kind, int dirfd, const char *name, struct ebt_mda *out);
/* The name of the listing record at rec, and the size of that record. */
const char *ebt_mda_rec_name(const unsigned char *rec);
size_t ebt_mda_rec_size(const unsigned char *rec);

#endif
