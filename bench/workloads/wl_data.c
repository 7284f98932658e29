/* wl_data.c - deterministic file content from a seed, whole-file/range writers and verifiers. */
#include "wl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WL_CHUNK (1u << 20)

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A seed for file (a, b) of a workload phase named tag. */
uint64_t wl_seed(const char *tag, uint64_t a, uint64_t b)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = tag; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return mix64(h ^ mix64(a) ^ mix64(b + 0x51ull));
}

/* Byte p of a file with this seed is byte p%8 of mix64(seed ^ p/8): any range can be regenerated.
 */
void wl_fill(void *buf, size_t len, uint64_t seed, uint64_t off)
{
    unsigned char *out = buf;
    size_t i = 0;
    while (i < len) {
        uint64_t p = off + i, w = mix64(seed ^ (p >> 3));
        unsigned k = (unsigned)(p & 7);
        size_t n = 8 - k < len - i ? 8 - k : len - i;
        memcpy(out + i, (unsigned char *)&w + k, n);
        i += n;
    }
}

/* Order-dependent 64-bit checksum (FNV-style over 8-byte words, then tail bytes). */
uint64_t wl_sum(uint64_t h, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t i = 0;
    if (!h)
        h = 0xcbf29ce484222325ull;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

int wl_mkdirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) && errno != EEXIST)
            return wl_fail("mkdir %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) && errno != EEXIST)
        return wl_fail("mkdir %s: %s", tmp, strerror(errno));
    return 0;
}

int wl_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return wl_fail("write: %s", n < 0 ? strerror(errno) : "short write");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* pread until len bytes (EOF early is an error). */
int wl_read_all(int fd, void *buf, size_t len, off_t off)
{
    char *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return wl_fail("read at %lld: %s", (long long)off, n < 0 ? strerror(errno) : "EOF");
        p += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Write [off, off+len) of the seed's content with pwrite in bs-sized requests. */
int wl_pwrite_range(int fd, uint64_t seed, uint64_t off, uint64_t len, size_t bs)
{
    char *buf = malloc(bs);
    int rc = 0;
    if (!buf)
        return wl_fail("out of memory");
    while (len && !rc) {
        size_t n = len < bs ? (size_t)len : bs;
        wl_fill(buf, n, seed, off);
        ssize_t w = pwrite(fd, buf, n, (off_t)off);
        if (w != (ssize_t)n)
            rc = wl_fail("pwrite at %llu: %s", (unsigned long long)off,
                         w < 0 ? strerror(errno) : "short write");
        off += n;
        len -= n;
    }
    free(buf);
    return rc;
}

/* Checksum of the first size bytes of the seed's content. */
uint64_t wl_expected_sum(uint64_t seed, uint64_t size)
{
    char *buf = malloc(WL_CHUNK);
    uint64_t h = 0;
    for (uint64_t o = 0; buf && o < size; o += WL_CHUNK) {
        size_t n = size - o < WL_CHUNK ? (size_t)(size - o) : WL_CHUNK;
        wl_fill(buf, n, seed, o);
        h = wl_sum(h, buf, n);
    }
    free(buf);
    return h;
}

int wl_write_file(const char *path, uint64_t seed, uint64_t size, size_t bs, uint64_t *sum_p)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc;
    if (fd < 0)
        return wl_fail("create %s: %s", path, strerror(errno));
    rc = wl_pwrite_range(fd, seed, 0, size, bs ? bs : WL_CHUNK);
    if (close(fd) && !rc)
        rc = wl_fail("close %s: %s", path, strerror(errno));
    if (!rc && sum_p)
        *sum_p = wl_expected_sum(seed, size);
    return rc;
}

/* Compare [off, off+len) of an open file with the seed's content. */
int wl_check_range(int fd, const char *path, uint64_t seed, uint64_t off, uint64_t len)
{
    char *got = malloc(WL_CHUNK), *want = malloc(WL_CHUNK);
    int rc = (got && want) ? 0 : wl_fail("out of memory");
    while (len && !rc) {
        size_t n = len < WL_CHUNK ? (size_t)len : WL_CHUNK;
        rc = wl_read_all(fd, got, n, (off_t)off);
        wl_fill(want, n, seed, off);
        if (!rc && memcmp(got, want, n))
            rc = wl_fail("%s: wrong data in [%llu, %llu)", path, (unsigned long long)off,
                         (unsigned long long)(off + n));
        off += n;
        len -= n;
    }
    free(got);
    free(want);
    return rc;
}

/* Whole file: exact size and content; returns its checksum. */
int wl_check_file(const char *path, uint64_t seed, uint64_t size, uint64_t *sum_p)
{
    struct stat st;
    char *buf = malloc(WL_CHUNK);
    uint64_t h = 0;
    int rc = 0, fd = open(path, O_RDONLY);
    if (fd < 0 || !buf) {
        free(buf);
        if (fd >= 0)
            close(fd);
        return wl_fail("open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) || (uint64_t)st.st_size != size)
        rc = wl_fail("%s: size %lld, expected %llu", path, (long long)st.st_size,
                     (unsigned long long)size);
    for (uint64_t o = 0; !rc && o < size; o += WL_CHUNK) {
        size_t n = size - o < WL_CHUNK ? (size_t)(size - o) : WL_CHUNK;
        rc = wl_read_all(fd, buf, n, (off_t)o);
        h = wl_sum(h, buf, n);
    }
    close(fd);
    free(buf);
    if (!rc && h != wl_expected_sum(seed, size))
        rc = wl_fail("%s: checksum %016llx differs from the expected content's", path,
                     (unsigned long long)h);
    if (!rc && sum_p)
        *sum_p = h;
    return rc;
}

/* Create an empty file with a Lustre layout (lustre.lov, lov_user_md_v1) where the file system
 * supports it (Lustre, pfs-sim); elsewhere the file is just created. */
int wl_create_striped(const char *path, unsigned count, unsigned size)
{
    struct {
        uint32_t magic, pattern;
        uint64_t oi_id, oi_seq;
        uint32_t stripe_size;
        uint16_t stripe_count, stripe_offset;
    } __attribute__((packed)) lum = {0x0BD10BD0, 1, 0, 0, size, (uint16_t)count, 0xFFFF};
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return wl_fail("create %s: %s", path, strerror(errno));
    (void)fsetxattr(fd, "lustre.lov", &lum, sizeof(lum), 0); /* best effort */
    close(fd);
    return 0;
}

/* Verify one whole file and add its checksum to the run's digest. */
int wl_check(wl_ctx_t *c, const char *path, uint64_t seed, uint64_t size)
{
    uint64_t sum = 0;
    int rc = wl_check_file(path, seed, size, &sum);
    if (!rc) {
        wl_digest_add(c, sum);
        wl_count(c, 0, size, 1);
    }
    return rc;
}
