/* json.c - minimal JSON helpers for flat objects (EBT's own replies only). */
#define _GNU_SOURCE
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ebt_json_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
}

static const char *json_value(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    return p;
}

int ebt_json_get_u64(const char *json, const char *key, uint64_t *out)
{
    const char *p = json_value(json, key);
    char *end;
    if (!p)
        return -ENOENT;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p)
        return -EINVAL;
    *out = v;
    return 0;
}

int ebt_json_get_double(const char *json, const char *key, double *out)
{
    const char *p = json_value(json, key);
    char *end;
    if (!p)
        return -ENOENT;
    double v = strtod(p, &end);
    if (end == p)
        return -EINVAL;
    *out = v;
    return 0;
}

int ebt_json_get_str(const char *json, const char *key, char *out, size_t cap)
{
    const char *p = json_value(json, key);
    size_t o = 0;
    if (!p || *p != '"' || cap == 0)
        return p ? -EINVAL : -ENOENT;
    for (p++; *p && *p != '"' && o + 1 < cap; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            if (*p == 'u' && strlen(p) >= 5) {
                out[o++] = (char)strtol((char[]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
                p += 4;
                continue;
            }
            out[o++] = *p == 'n' ? '\n' : *p;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return 0;
}
