/* md_probe.c - test helper: send one EBT_OP_MD_* request to a node's daemon and print the answer;
 * or append extent-log records for a file of a run directory.
 *   md_probe RUN resolve PATH      -> "state=FILE mode=100644 size=N nholders=N self=0|1"
 *   md_probe RUN fetch PATH        -> "ok"
 *   md_probe RUN note PATH file|dir -> "flags=N"
 *   md_probe RUN unlink PATH [dir] -> "ok"
 *   md_probe RUN listdir PATH      -> "count=N"
 *   md_probe RUN log FILE KIND OFF LEN  (KIND: BASE WRITE TRUNC FULL)
 *   md_probe - owner PATH NODES    -> the node that owns PATH
 *   md_probe RUN notes DIR N       -> N files RUN/up<DIR>/f<i> created and noted one by one:
 *                                     "notes=N seconds=S per_note_us=U"
 * Exit 0 on success; else prints "error=-N (reason)" and exits 1 (2: usage). */
#define _GNU_SOURCE
#include "extlog.h"
#include "path.h"
#include "proto.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const state_names[] = {"NONE", "GONE", "FILE", "DIR"};

static int usage(void)
{
    fprintf(stderr, "usage: md_probe RUN resolve|fetch|note|unlink|listdir|log PATH [ARG...]\n");
    return 2;
}

static int do_log(const char *run, int argc, char **argv)
{
    static const char *const kinds[] = {"", "BASE", "WRITE", "TRUNC", "OPEN", "CLOSE", "FULL"};
    struct stat st;
    char meta[4096];
    if (argc != 7 || stat(argv[3], &st) < 0)
        return usage();
    struct ebt_ext_rec r = {0, 1, strtoull(argv[5], NULL, 0), strtoull(argv[6], NULL, 0)};
    for (uint32_t k = 1; k < 7; k++)
        if (!strcmp(argv[4], kinds[k]))
            r.kind = k;
    if (!r.kind)
        return usage();
    ebt_meta_path(run, (unsigned long long)st.st_ino, meta, sizeof(meta));
    int rc = ebt_extlog_append(meta, &r, 1);
    if (rc < 0)
        fprintf(stderr, "md_probe: %s: %s\n", meta, strerror(-rc));
    return rc < 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Create n files in RUN/up<dir> and note each (one request at a time, as one client does). */
static int do_notes(const char *run, const char *dir, int n)
{
    char phys[4096], req[4096];
    int fd = ebt_proto_connect(run);
    if (fd < 0 || snprintf(phys, sizeof(phys), "%s/up%s", run, dir) >= (int)sizeof(phys))
        return 1;
    ebt_mkdirs(phys, 0755, 0);
    double t = 0; /* the requests only, not the file creation */
    for (int i = 0; i < n; i++) {
        uint32_t kind = EBT_NOTE_FILE, flags, rlen;
        snprintf(phys, sizeof(phys), "%s/up%s/f%d", run, dir, i);
        int f = open(phys, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (f < 0)
            return 1;
        close(f);
        double t0 = now();
        int pl = snprintf(req, sizeof(req), "%s/f%d", dir, i) + 1;
        memcpy(req + pl, &kind, sizeof(kind));
        int rc = ebt_proto_call(fd, EBT_OP_MD_NOTE, req, (uint32_t)pl + 4, &flags, 4, &rlen);
        if (rc < 0) {
            printf("error=%d (%s)\n", rc, strerror(-rc));
            return 1;
        }
        t += now() - t0;
    }
    printf("notes=%d seconds=%.3f per_note_us=%.1f\n", n, t, t * 1e6 / n);
    return 0;
}

static int request(const char *cmd, int argc, char **argv, char *req, uint32_t *len, uint16_t *op)
{
    size_t pl = strlen(argv[3]) + 1;
    uint32_t v = 0;
    if (pl > 4000)
        return -1;
    memcpy(req, argv[3], pl);
    *len = (uint32_t)pl;
    if (!strcmp(cmd, "resolve"))
        *op = EBT_OP_MD_RESOLVE;
    else if (!strcmp(cmd, "fetch"))
        *op = EBT_OP_MD_FETCH;
    else if (!strcmp(cmd, "listdir"))
        *op = EBT_OP_MD_LISTDIR;
    else if (!strcmp(cmd, "note") && argc == 5) {
        *op = EBT_OP_MD_NOTE;
        v = !strcmp(argv[4], "dir") ? EBT_NOTE_DIR : EBT_NOTE_FILE;
    } else if (!strcmp(cmd, "unlink")) {
        *op = EBT_OP_MD_UNLINK;
        v = argc == 5 && !strcmp(argv[4], "dir");
    } else
        return -1;
    if (*op == EBT_OP_MD_NOTE || *op == EBT_OP_MD_UNLINK) {
        memcpy(req + pl, &v, sizeof(v));
        *len += sizeof(v);
    }
    return 0;
}

static void print(uint16_t op, const char *reply, uint32_t rlen)
{
    uint32_t v = 0;
    if (op == EBT_OP_MD_RESOLVE && rlen == sizeof(struct ebt_proto_resolve)) {
        struct ebt_proto_resolve r;
        memcpy(&r, reply, sizeof(r));
        printf("state=%s mode=%o size=%llu nholders=%u self=%u\n",
               r.state < 4 ? state_names[r.state] : "?", r.mode, (unsigned long long)r.size,
               r.nholders, r.self_holds);
    } else if ((op == EBT_OP_MD_NOTE || op == EBT_OP_MD_LISTDIR) && rlen == sizeof(v)) {
        memcpy(&v, reply, sizeof(v));
        printf("%s=%u\n", op == EBT_OP_MD_NOTE ? "flags" : "count", v);
    } else if (rlen == 0 || (op == EBT_OP_MD_FETCH && rlen == sizeof(struct ebt_proto_fetch))) {
        printf("ok\n"); /* FETCH: the copy it wrote */
    } else {
        printf("reply of %u bytes\n", rlen);
    }
}

int main(int argc, char **argv)
{
    char req[4200], reply[256];
    uint32_t len, rlen = 0;
    uint16_t op = 0;
    if (argc < 4)
        return usage();
    if (!strcmp(argv[2], "owner") && argc == 5) {
        printf("%d\n", ebt_path_owner(argv[3], atoi(argv[4])));
        return 0;
    }
    if (!strcmp(argv[2], "notes") && argc == 5)
        return do_notes(argv[1], argv[3], atoi(argv[4]));
    if (!strcmp(argv[2], "log"))
        return do_log(argv[1], argc, argv);
    if (request(argv[2], argc, argv, req, &len, &op) < 0)
        return usage();
    int fd = ebt_proto_connect(argv[1]);
    if (fd < 0) {
        printf("error=%d (connect: %s)\n", fd, strerror(-fd));
        return 1;
    }
    int rc = ebt_proto_call_timeout(fd, op, req, len, reply, sizeof(reply), &rlen, 30000);
    if (rc < 0) {
        printf("error=%d (%s)\n", rc, strerror(-rc));
        return 1;
    }
    print(op, reply, rlen);
    return 0;
}
