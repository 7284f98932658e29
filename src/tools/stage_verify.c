/* stage_verify.c - --verify: 64-bit FNV-1a checksums of source and destination files. */
#define _GNU_SOURCE
#include "stage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

int stage_hash_fd(int fd, char *buf, size_t cap, uint64_t *out)
{
    uint64_t h = FNV64_OFFSET, len = 0;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)buf[i]) * FNV64_PRIME;
        len += (uint64_t)n;
    }
    for (int i = 0; i < 8; i++) /* the length too: trailing zeros count */
        h = (h ^ ((len >> (8 * i)) & 0xff)) * FNV64_PRIME;
    *out = h;
    return 0;
}

static int hash_beneath(int root, const char *rel, char *buf, uint64_t *out)
{
    int fd = stage_open_beneath(root, rel, O_RDONLY | O_NOATIME);
    if (fd == -EPERM)
        fd = stage_open_beneath(root, rel, O_RDONLY);
    if (fd < 0)
        return fd;
    int rc = stage_hash_fd(fd, buf, STAGE_BUF, out);
    close(fd);
    return rc;
}

int stage_same_content(struct stage_job *j, const struct stage_ent *e, char *buf)
{
    uint64_t a, b;
    int rc = hash_beneath(j->src_fd, e->rel, buf, &a);
    if (rc == 0)
        rc = hash_beneath(j->dst_fd, e->rel, buf, &b);
    return rc < 0 ? rc : a == b;
}

static void verify_one(struct stage_job *j, long i, char *buf)
{
    struct stage_ent *e = &j->ents[i];
    if (e->kind != SK_REG || e->state != ST_COPIED)
        return;
    int rc = stage_same_content(j, e, buf);
    atomic_fetch_add(&j->c.verified, 1);
    if (rc < 0) {
        stage_err(j, e->rel, "verify", -rc);
    } else if (rc == 0) {
        atomic_fetch_add(&j->c.mismatches, 1);
        stage_warn(j, e->rel, "verify: mismatch: the destination differs from the source");
    }
}

void stage_verify(struct stage_job *j)
{
    stage_parallel(j, j->nents, verify_one);
}
