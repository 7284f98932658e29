/* flush_deal.c - OST-aware dealing of a multi-node flush: stripe placement by load, OSTs dealt
 * to nodes by bytes (greedy, largest first), a node's stripe chunks, and the per-node table. */
#define _GNU_SOURCE
#include "flush_deal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fdeal_file_free(struct fdeal_file *f)
{
    free(f->path);
    free(f->osts);
    memset(f, 0, sizeof(*f));
}

int fdeal_pick_start(const uint64_t *ost_load, int osts, int count)
{
    int best = 0;
    uint64_t best_load = UINT64_MAX;
    if (count > osts)
        count = osts;
    for (int s = 0; s < osts; s++) {
        uint64_t l = 0;
        for (int i = 0; i < count; i++)
            l += ost_load[(s + i) % osts];
        if (l < best_load)
            best = s, best_load = l;
    }
    return best;
}

int fdeal_pick_near(const uint64_t *ost_load, int osts, int count, int pref, int nodes,
                    uint64_t slack)
{
    int any = fdeal_pick_start(ost_load, osts, count), best = -1;
    if (count != 1 || pref < 0 || nodes < 1 || osts < nodes)
        return any;
    for (int o = pref; o < osts; o += nodes)
        if (best < 0 || ost_load[o] < ost_load[best])
            best = o;
    return best >= 0 && ost_load[best] <= ost_load[any] + slack ? best : any;
}

/* The single holder of f, or -1 (several, or none). */
static int sole_holder(const struct fdeal_file *f, int nodes)
{
    if (!f->holders || (f->holders & (f->holders - 1)) || nodes > 64)
        return -1;
    int n = __builtin_ctzll(f->holders);
    return n < nodes ? n : -1;
}

/* Bytes of f on its stripe index i (chunks i, i + count, ... below size). */
static uint64_t stripe_bytes(const struct fdeal_file *f, int i)
{
    uint64_t row = (uint64_t)f->unit * (uint64_t)f->count, full = f->size / row,
             rest = f->size % row, b = full * f->unit, lo = (uint64_t)i * f->unit;
    if (rest > lo)
        b += rest - lo < f->unit ? rest - lo : f->unit;
    return b;
}

void fdeal_add_load(const struct fdeal_file *f, uint64_t *ost_load, uint64_t *local, int osts,
                    int nodes)
{
    int h = sole_holder(f, nodes);
    for (int i = 0; i < f->count; i++) {
        int o = f->osts[i];
        if (o < 0 || o >= osts)
            continue;
        uint64_t b = stripe_bytes(f, i);
        ost_load[o] += b;
        if (h >= 0 && local)
            local[(size_t)o * (size_t)nodes + (size_t)h] += b;
    }
}

void fdeal_assign(const uint64_t *ost_load, const uint64_t *local, int osts, int nodes,
                  int *node_of_ost)
{
    uint64_t node_load[nodes];
    char done[osts];
    memset(node_load, 0, sizeof(node_load));
    memset(done, 0, sizeof(done));
    for (int k = 0; k < osts; k++) {
        int o = -1;
        for (int i = 0; i < osts; i++) /* the heaviest OST not dealt yet (ties: lowest index) */
            if (!done[i] && (o < 0 || ost_load[i] > ost_load[o]))
                o = i;
        int best = 0;
        for (int n = 1; n < nodes; n++) {
            uint64_t ln = local ? local[(size_t)o * (size_t)nodes + (size_t)n] : 0,
                     lb = local ? local[(size_t)o * (size_t)nodes + (size_t)best] : 0;
            if (node_load[n] < node_load[best] || (node_load[n] == node_load[best] && ln > lb))
                best = n;
        }
        done[o] = 1;
        node_of_ost[o] = best;
        node_load[best] += ost_load[o];
    }
}

int fdeal_ranges(const struct fdeal_file *f, const int *node_of_ost, int osts, int node,
                 struct ebt_ivs *out)
{
    ebt_ivs_init(out);
    if (!f->unit || f->count <= 0)
        return 0;
    for (uint64_t off = 0, k = 0; off < f->size; off += f->unit, k++) {
        int o = f->osts[k % (uint64_t)f->count];
        if (o < 0 || o >= osts || node_of_ost[o] != node)
            continue;
        uint64_t len = f->size - off < f->unit ? f->size - off : f->unit;
        if (ebt_ivs_add(out, off, len) < 0) {
            ebt_ivs_free(out);
            return -ENOMEM;
        }
    }
    return 0;
}

int fdeal_one_writer(const struct fdeal_file *f, const int *node_of_ost, int osts)
{
    if (!f->size || f->count <= 0)
        return 0;
    for (int i = 1; i < f->count && (uint64_t)i * f->unit < f->size; i++)
        if (f->osts[i] >= osts || node_of_ost[f->osts[i]] != node_of_ost[f->osts[0]])
            return 0;
    return f->osts[0] < osts;
}

/* Append printf output to the growing table. */
static int put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return -EINVAL;
        if (*buf && (size_t)k < *cap - *len) {
            *len += (size_t)k;
            return 0;
        }
        size_t ncap = (*cap ? *cap * 2 : 4096) + (size_t)k + 1;
        char *p = realloc(*buf, ncap);
        if (!p)
            return -ENOMEM;
        *buf = p;
        *cap = ncap;
    }
}

int fdeal_encode(char **buf, size_t *len, size_t *cap, const struct fdeal_file *f,
                 const struct ebt_ivs *r)
{
    int rc =
        put(buf, len, cap, "X %" PRIu64 " %" PRIu32 " %" PRIx64 " %" PRId64 " %" PRId64 " %zu %s\n",
            f->size, f->unit, f->holders, f->mtime_sec, f->mtime_nsec, r->n, f->path);
    for (size_t i = 0; rc == 0 && i < r->n; i++)
        rc = put(buf, len, cap, "%" PRIu64 " %" PRIu64 "\n", r->iv[i][0], r->iv[i][1]);
    return rc;
}

/* The next line of [*p, end) NUL-terminated in place; NULL at the end or without a newline. */
static char *next_line(char **p, char *end)
{
    if (*p >= end)
        return NULL;
    char *nl = memchr(*p, '\n', (size_t)(end - *p)), *l = *p;
    if (!nl)
        return NULL;
    *nl = '\0';
    *p = nl + 1;
    return l;
}

static int decode_item(char **p, char *end, struct fdeal_item *it)
{
    char *l = next_line(p, end);
    unsigned long long size, holders, n;
    long long sec, nsec;
    unsigned unit;
    int off = 0;
    if (!l ||
        sscanf(l, "X %llu %u %llx %lld %lld %llu %n", &size, &unit, &holders, &sec, &nsec, &n,
               &off) != 6 ||
        off <= 0 || l[off] != '/' || !unit || nsec < 0 || nsec > 999999999)
        return -EPROTO;
    *it = (struct fdeal_item){
        .size = size, .holders = holders, .unit = unit, .mtime_sec = sec, .mtime_nsec = nsec};
    ebt_ivs_init(&it->ranges);
    if (!(it->path = strdup(l + off)))
        return -ENOMEM;
    uint64_t last = 0;
    for (unsigned long long i = 0; i < n; i++) {
        unsigned long long a, b;
        char *r = next_line(p, end);
        if (!r || sscanf(r, "%llu %llu", &a, &b) != 2 || a < last || b <= a || b > size)
            return -EPROTO;
        if (ebt_ivs_add(&it->ranges, a, b - a) < 0)
            return -ENOMEM;
        last = b;
    }
    return 0;
}

int fdeal_decode(const char *buf, size_t len, struct fdeal_item **items, size_t *n)
{
    char *copy = malloc(len + 1), *p = copy, *end = copy + len;
    struct fdeal_item *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc = copy ? 0 : -ENOMEM;
    if (copy)
        memcpy(copy, buf, len), copy[len] = '\0';
    while (rc == 0 && p < end) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 64;
            struct fdeal_item *nv = realloc(v, cap * sizeof(*nv));
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            v = nv;
        }
        memset(&v[cnt], 0, sizeof(v[cnt]));
        rc = decode_item(&p, end, &v[cnt]);
        cnt++;
    }
    free(copy);
    if (rc < 0) {
        fdeal_items_free(v, cnt);
        return rc;
    }
    *items = v;
    *n = cnt;
    return 0;
}

void fdeal_items_free(struct fdeal_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].path);
        ebt_ivs_free(&items[i].ranges);
    }
    free(items);
}
