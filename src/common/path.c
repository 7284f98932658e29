/* path.c - lexical normalisation of absolute paths and prefix tests. */
#define _GNU_SOURCE
#include "path.h"

#include <errno.h>
#include <string.h>

static int append_component(char *out, size_t *len, size_t cap, const char *c, size_t n)
{
    if (n == 0 || (n == 1 && c[0] == '.'))
        return 0;
    if (n == 2 && c[0] == '.' && c[1] == '.') {
        while (*len > 0 && out[*len - 1] != '/')
            (*len)--;
        if (*len > 1)
            (*len)--; /* drop the slash too, unless it is the root */
        out[*len] = '\0';
        return 0;
    }
    if (*len + 1 + n + 1 > cap)
        return -ENAMETOOLONG;
    if (*len > 1 || (*len == 1 && out[0] != '/'))
        out[(*len)++] = '/';
    memcpy(out + *len, c, n);
    *len += n;
    out[*len] = '\0';
    return 0;
}

static int append_path(char *out, size_t *len, size_t cap, const char *p)
{
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        int rc = append_component(out, len, cap, p, (size_t)(end - p));
        if (rc < 0)
            return rc;
        p = end;
    }
    return 0;
}

int ebt_path_normalize(const char *base, const char *rel, char *out, size_t cap)
{
    if (!rel || cap < 2)
        return -EINVAL;
    size_t len = 1;
    out[0] = '/';
    out[1] = '\0';
    int rc = 0;
    if (rel[0] != '/') {
        if (!base || base[0] != '/')
            return -EINVAL;
        rc = append_path(out, &len, cap, base);
    }
    if (rc == 0)
        rc = append_path(out, &len, cap, rel);
    return rc;
}

size_t ebt_path_under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 1 && prefix[0] == '/')
        return 1;
    if (strncmp(path, prefix, n) != 0)
        return 0;
    return (path[n] == '\0' || path[n] == '/') ? n : 0;
}

int ebt_path_split(const char *path, char *buf, size_t cap, const char **dir, const char **name)
{
    size_t n = strlen(path);
    if (n + 1 > cap)
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    char *slash = strrchr(buf, '/');
    if (!slash)
        return -EINVAL;
    *name = slash + 1;
    if (slash == buf) {
        /* parent is the root: keep "/" by shifting the name one byte is not possible; use "/" */
        *dir = "/";
    } else {
        *slash = '\0';
        *dir = buf;
    }
    return 0;
}

uint64_t ebt_path_hash(const char *path)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a, 64 bit */
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
}

int ebt_path_owner(const char *path, int nodes)
{
    return nodes > 1 ? (int)(ebt_path_hash(path) % (uint64_t)nodes) : 0;
}
