/* probe_tool.c - test helper: talk to ebtd (hello, stat, readdir, counters, garbage). */
#define _GNU_SOURCE
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char reply[EBT_PROTO_MAX_PAYLOAD + 1];

static int fail(const char *what, int rc)
{
    printf("error %s: %s\n", what, strerror(-rc));
    return 1;
}

static int do_stat(int fd, const char *path)
{
    uint32_t len;
    int rc = ebt_proto_call(fd, EBT_OP_STAT, path, (uint32_t)strlen(path) + 1, reply, sizeof(reply),
                            &len);
    if (rc < 0)
        return fail("stat", rc);
    struct ebt_proto_stat *s = (struct ebt_proto_stat *)reply;
    printf("size=%llu mode=%o layer=%s\n", (unsigned long long)s->size, s->mode,
           s->layer == EBT_LAYER_UP ? "up" : "pfs");
    return 0;
}

static int do_readdir(int fd, const char *path)
{
    char req[4200];
    uint32_t start = 0, len, n = (uint32_t)strlen(path) + 1;
    struct ebt_proto_dirhdr h;
    do {
        memcpy(req, path, n);
        memcpy(req + n, &start, sizeof(start));
        int rc = ebt_proto_call(fd, EBT_OP_READDIR, req, n + 4, reply, sizeof(reply), &len);
        if (rc < 0)
            return fail("readdir", rc);
        memcpy(&h, reply, sizeof(h));
        for (uint32_t i = 0, off = sizeof(h); i < h.nent; i++) {
            printf("%s\n", reply + off + 1);
            off += 1 + (uint32_t)strlen(reply + off + 1) + 1;
        }
        start += h.nent;
    } while (h.more);
    return 0;
}

static int do_simple(int fd, uint16_t op, const char *payload)
{
    uint32_t len;
    int rc = ebt_proto_call(fd, op, payload, payload ? (uint32_t)strlen(payload) : 0, reply,
                            sizeof(reply) - 1, &len);
    if (rc < 0)
        return fail(ebt_proto_op_name(op), rc);
    reply[len] = '\0';
    printf("%s\n", reply);
    return 0;
}

/* Bad magic: expect an -EPROTO reply, then the daemon closes the connection. */
static int do_garbage(int fd)
{
    struct ebt_proto_hdr h = {0x11223344, 1, 1, 0, 1, 0};
    if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h))
        return 1;
    ssize_t n = recv(fd, &h, sizeof(h), MSG_WAITALL);
    printf("reply=%zd status=%d\n", n, n == (ssize_t)sizeof(h) ? h.status : 0);
    return !(n == (ssize_t)sizeof(h) && h.status == -EPROTO);
}

/* garbage N: N malformed messages, each on its own connection (the daemon closes it). */
static int do_garbage_n(const char *run, int n)
{
    for (int i = 0; i < n; i++) {
        int fd = ebt_proto_connect(run);
        if (fd < 0)
            return fail("connect", fd);
        int rc = do_garbage(fd);
        close(fd);
        if (rc)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: probe_tool RUN hello|stat P|readdir P|counters|garbage [N]\n");
        return 2;
    }
    if (!strcmp(argv[2], "garbage") && argc > 3)
        return do_garbage_n(argv[1], atoi(argv[3]));
    int fd = ebt_proto_connect(argv[1]);
    if (fd < 0)
        return fail("connect", fd);
    const char *op = argv[2], *arg = argc > 3 ? argv[3] : "/";
    if (!strcmp(op, "hello"))
        return do_simple(fd, EBT_OP_HELLO, "pid=1\ntask=0\n");
    if (!strcmp(op, "counters"))
        return do_simple(fd, EBT_OP_COUNTERS, NULL);
    if (!strcmp(op, "stat"))
        return do_stat(fd, arg);
    if (!strcmp(op, "readdir"))
        return do_readdir(fd, arg);
    if (!strcmp(op, "garbage"))
        return do_garbage(fd);
    return 2;
}
