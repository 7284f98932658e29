/* md_util.c - small helpers of the md service: payload paths, run-dir files, peer calls that map
 * transport failures to EIO (logged once per node), and the owner's record of a path. */
#define _GNU_SOURCE
#include "log.h"
#include "md_int.h"
#include "mesh.h"
#include "path.h"
#include "proto.h"
#include "server.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

int md_take_path(const void *p, size_t len, char *out, size_t cap)
{
    int n = ebt_proto_path_check(p, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    if (n < 0)
        return n;
    int rc = ebt_path_normalize("/", p, out, cap);
    if (rc < 0)
        return rc;
    if (strcmp(out, "/") == 0)
        return -EINVAL; /* the root is never a record */
    return n + 1;
}

int md_layer_file(const struct ebtd *d, const char *layer, const char *path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s%s", d->run_dir, layer, path);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int md_local_copy(const struct ebtd *d, const char *path, char *out, size_t cap, struct stat *st)
{
    static const char *const layers[] = {"held", "up"};
    for (int i = 0; i < 2; i++) {
        if (md_layer_file(d, layers[i], path, out, cap) < 0)
            return -ENAMETOOLONG;
        if (ebt_sys_lstat(out, st) == 0)
            return 0;
        if (errno != ENOENT)
            return -errno;
    }
    return -ENOENT;
}

int md_futimens(int fd, int64_t sec, int64_t nsec)
{
    struct timespec ts[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
                             {.tv_sec = sec, .tv_nsec = nsec}};
    return syscall(SYS_utimensat, fd, NULL, ts, 0) < 0 ? -errno : 0;
}

int md_transport_error(int rc)
{
    return rc == -EHOSTDOWN || rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -ECONNREFUSED ||
           rc == -ENOTCONN || rc == -EPIPE;
}

int md_call(struct ebtd *d, int node, uint16_t op, const void *req, size_t len, void *reply,
            size_t cap, size_t *reply_len)
{
    size_t got = 0;
    int rc = ebtd_mesh_call(d, node, op, req, len, reply, cap, &got);
    if (reply_len)
        *reply_len = got;
    if (rc == 0 && got > cap)
        rc = -EMSGSIZE;
    if (rc == 0 || !md_transport_error(rc))
        return rc;
    struct ebtd_md *m = d->md;
    if (m && node >= 0 && node < m->nodes && !m->logged[node]) {
        m->logged[node] = 1;
        ebt_error("md: node %d unreachable (peer op %u): %s", node, op, strerror(-rc));
    }
    return -EIO;
}

void *md_req(const void *hdr, size_t hlen, const char *path, size_t *len)
{
    size_t plen = strlen(path) + 1;
    char *buf = malloc(hlen + plen);
    if (!buf)
        return NULL;
    if (hlen)
        memcpy(buf, hdr, hlen);
    memcpy(buf + hlen, path, plen);
    *len = hlen + plen;
    return buf;
}

void md_recinfo_free(struct md_recinfo *ri)
{
    free(ri->h);
    ri->h = NULL;
}

uint64_t md_recinfo_version(const struct md_recinfo *ri)
{
    uint64_t h = 1469598103934665603ull; /* the same hash as md_rec_version */
    for (uint32_t i = 0; i < ri->r.nholders; i++) {
        h = (h ^ (uint64_t)ri->h[i].node) * 1099511628211ull;
        h = (h ^ ri->h[i].seq) * 1099511628211ull;
    }
    return h;
}

int md_get_record(struct ebtd *d, const char *path, struct md_recinfo *out)
{
    size_t cap = sizeof(out->r) + (size_t)d->md->nodes * sizeof(struct md_wire_holder), got;
    char *buf = malloc(cap);
    memset(out, 0, sizeof(*out));
    if (!buf)
        return -ENOMEM;
    int owner = ebt_path_owner(path, d->md->nodes);
    int rc = md_call(d, owner, MD_P_RECORD, path, strlen(path) + 1, buf, cap, &got);
    if (rc == 0 && got < sizeof(out->r))
        rc = -EPROTO;
    if (rc == 0) {
        memcpy(&out->r, buf, sizeof(out->r));
        if (out->r.nholders > (uint32_t)d->md->nodes ||
            got != sizeof(out->r) + out->r.nholders * sizeof(*out->h))
            rc = -EPROTO;
    }
    if (rc == 0 && out->r.nholders) {
        out->h = malloc(out->r.nholders * sizeof(*out->h));
        if (out->h)
            memcpy(out->h, buf + sizeof(out->r), out->r.nholders * sizeof(*out->h));
        else
            rc = -ENOMEM;
    }
    free(buf);
    if (rc == -EPROTO)
        ebt_error("md: malformed record of %s from node %d", path, owner);
    return rc == -EPROTO ? -EIO : rc;
}

int md_open_unshared(const char *path)
{
    struct stat st;
    int fd = ebt_sys_open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = ebt_sys_fstat(fd, &st) < 0 ? -errno : (S_ISREG(st.st_mode) ? 0 : -EINVAL);
    if (rc == 0 && syscall(SYS_fcntl, fd, F_SETLEASE, F_WRLCK) < 0)
        rc = -errno; /* EAGAIN: another open file */
    if (rc < 0) {
        ebt_sys_close(fd);
        return rc;
    }
    return fd;
}

void md_unshared_close(int fd)
{
    syscall(SYS_fcntl, fd, F_SETLEASE, F_UNLCK);
    ebt_sys_close(fd);
}
