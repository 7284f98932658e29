/* extlog_tool.c - test helper: append extent-log records for a cached file (by its inode). */
#define _GNU_SOURCE
#include "extlog.h"
#include "rundir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int kind_of(const char *s)
{
    static const char *const names[] = {"", "BASE", "WRITE", "TRUNC", "OPEN", "CLOSE", "FULL"};
    for (int i = 1; i < 7; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

int main(int argc, char **argv)
{
    struct stat st;
    char meta[4096];
    if (argc < 6 || (argc - 3) % 3 != 0 || stat(argv[2], &st) < 0) {
        fprintf(stderr, "usage: extlog_tool RUN FILE KIND OFF LEN [KIND OFF LEN]...\n");
        return 2;
    }
    ebt_meta_path(argv[1], (unsigned long long)st.st_ino, meta, sizeof(meta));
    for (int i = 3; i + 2 < argc; i += 3) {
        int k = kind_of(argv[i]);
        struct ebt_ext_rec r = {(uint32_t)k, 1, strtoull(argv[i + 1], NULL, 0),
                                strtoull(argv[i + 2], NULL, 0)};
        if (k < 0 || ebt_extlog_append(meta, &r, 1) < 0) {
            fprintf(stderr, "extlog_tool: bad record %s or cannot write %s\n", argv[i], meta);
            return 1;
        }
    }
    return 0;
}
