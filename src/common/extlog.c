/* extlog.c - interval sets and the append-only extent log of cached files. */
#define _GNU_SOURCE
#include "extlog.h"
#include "sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ebt_ivs_init(struct ebt_ivs *s)
{
    memset(s, 0, sizeof(*s));
}

void ebt_ivs_free(struct ebt_ivs *s)
{
    free(s->iv);
    ebt_ivs_init(s);
}

static size_t first_touching(const struct ebt_ivs *s, uint64_t off)
{
    size_t lo = 0, hi = s->n; /* first interval whose end >= off */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->iv[mid][1] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ebt_ivs_add(struct ebt_ivs *s, uint64_t off, uint64_t len)
{
    if (len == 0)
        return 0;
    uint64_t end = off + len < off ? UINT64_MAX : off + len;
    size_t i = first_touching(s, off), j = i;
    while (j < s->n && s->iv[j][0] <= end) {
        if (s->iv[j][0] < off)
            off = s->iv[j][0];
        if (s->iv[j][1] > end)
            end = s->iv[j][1];
        j++;
    }
    if (j == i) { /* insert a new interval at i */
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 8;
            void *p = realloc(s->iv, cap * sizeof(*s->iv));
            if (!p)
                return -ENOMEM;
            s->iv = p;
            s->cap = cap;
        }
        memmove(s->iv + i + 1, s->iv + i, (s->n - i) * sizeof(*s->iv));
        s->n++;
    } else if (j > i + 1) { /* merged several: close the gap */
        memmove(s->iv + i + 1, s->iv + j, (s->n - j) * sizeof(*s->iv));
        s->n -= j - i - 1;
    }
    s->iv[i][0] = off;
    s->iv[i][1] = end;
    return 0;
}

void ebt_ivs_clip(struct ebt_ivs *s, uint64_t size)
{
    while (s->n > 0 && s->iv[s->n - 1][0] >= size)
        s->n--;
    if (s->n > 0 && s->iv[s->n - 1][1] > size)
        s->iv[s->n - 1][1] = size;
}

int ebt_extlog_append(const char *path, const struct ebt_ext_rec *recs, size_t n)
{
    int fd = ebt_sys_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = ebt_write_full(fd, recs, n * sizeof(*recs));
    ebt_sys_close(fd);
    return rc;
}

static void apply_record(struct ebt_ext_summary *s, const struct ebt_ext_rec *r, long *open_writers)
{
    switch (r->kind) {
    case EBT_EXT_BASE:
        s->base = r->len;
        break;
    case EBT_EXT_WRITE:
        if (ebt_ivs_add(&s->changed, r->off, r->len) < 0)
            s->whole = 1;
        break;
    case EBT_EXT_TRUNC:
        ebt_ivs_clip(&s->changed, r->off);
        if (ebt_ivs_add(&s->changed, r->off, UINT64_MAX - r->off) < 0)
            s->whole = 1;
        break;
    case EBT_EXT_OPEN:
        (*open_writers)++;
        break;
    case EBT_EXT_CLOSE:
        (*open_writers)--;
        break;
    case EBT_EXT_FULL:
        s->whole = 1;
        break;
    default:
        s->whole = 1; /* unknown record: be safe, write everything */
    }
}

int ebt_extlog_load(const char *path, struct ebt_ext_summary *out)
{
    memset(out, 0, sizeof(*out));
    out->whole = 1;
    int fd = ebt_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    out->exists = 1;
    out->whole = 0;
    long open_writers = 0;
    struct ebt_ext_rec recs[256];
    for (;;) {
        ssize_t r = ebt_sys_read(fd, recs, sizeof(recs));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            ebt_sys_close(fd);
            return -e;
        }
        if (r == 0)
            break;
        if (r % sizeof(recs[0]) != 0)
            out->whole = 1; /* torn tail: a writer died mid-append */
        for (size_t i = 0; i < (size_t)r / sizeof(recs[0]); i++)
            apply_record(out, &recs[i], &open_writers);
    }
    ebt_sys_close(fd);
    if (open_writers != 0)
        out->whole = 1;
    return 0;
}

void ebt_extlog_summary_free(struct ebt_ext_summary *s)
{
    ebt_ivs_free(&s->changed);
}
