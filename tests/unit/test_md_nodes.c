/* test_md_nodes.c - the md service across in-process nodes (fake mesh): note, resolve, fetch with
 * the overlap rule, demotion to RUN/held, unlink, listings, dead nodes, malformed requests. */
#define _GNU_SOURCE
#include "fake_mesh.h"
#include "md.h"
#include "md_int.h"
#include "path.h"
#include "proto.h"
#include "server.h"
#include "testutil.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#pragma GCC diagnostic ignored "-Wformat-truncation" /* test paths are short */

#define NODES 4
static char top[128], pfs[256];
static struct ebtd dd[NODES];
static struct ebt_config cfg[NODES];

static int setup(void **state)
{
    char p[512];
    tu_mkrun(top, sizeof(top), "mdn");
    snprintf(pfs, sizeof(pfs), "%s/pfs", top);
    mkdir(pfs, 0755);
    for (int i = 0; i < NODES; i++) {
        memset(&dd[i], 0, sizeof(dd[i]));
        memset(&cfg[i], 0, sizeof(cfg[i]));
        cfg[i].nodes = NODES;
        cfg[i].node_id = i;
        dd[i].cfg = &cfg[i];
        snprintf(dd[i].run_dir, sizeof(dd[i].run_dir), "%s/n%d", top, i);
        mkdir(dd[i].run_dir, 0700);
        snprintf(p, sizeof(p), "%s/up", dd[i].run_dir);
        mkdir(p, 0700);
        snprintf(p, sizeof(p), "%s/meta", dd[i].run_dir);
        mkdir(p, 0700);
        fake_node[i] = &dd[i];
        fake_dead[i] = 0;
        assert_int_equal(ebtd_md_start(&dd[i]), 0);
    }
    return 0;
}

static int teardown(void **state)
{
    for (int i = 0; i < NODES; i++)
        ebtd_md_stop(&dd[i]);
    ebt_remove_tree(top);
    return 0;
}

/* RUN/<layer>/<logical> of node n */
static const char *L(int n, const char *layer, const char *logical)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s%s", dd[n].run_dir, layer, logical);
    return buf[k];
}

static const char *P(const char *rel) /* a logical path under the PFS dir */
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", pfs, rel);
    return buf[k];
}

static int op(int n, uint16_t o, const char *path, const void *extra, size_t elen, void *reply,
              uint32_t cap, uint32_t *rlen)
{
    char req[1200];
    size_t pl = strlen(path) + 1;
    memcpy(req, path, pl);
    if (elen)
        memcpy(req + pl, extra, elen);
    uint32_t dummy;
    return ebtd_md_client_op(&dd[n], o, req, (uint32_t)(pl + elen), reply, cap,
                             rlen ? rlen : &dummy);
}

static int note(int n, const char *path, uint32_t kind, uint32_t *flags)
{
    uint32_t f = 0, len = 0;
    int rc = op(n, EBT_OP_MD_NOTE, path, &kind, sizeof(kind), &f, sizeof(f), &len);
    if (rc == 0)
        assert_int_equal(len, sizeof(f));
    if (flags)
        *flags = f;
    return rc;
}

static int resolve(int n, const char *path, struct ebt_proto_resolve *r)
{
    uint32_t len = 0;
    memset(r, 0xee, sizeof(*r));
    int rc = op(n, EBT_OP_MD_RESOLVE, path, NULL, 0, r, sizeof(*r), &len);
    if (rc == 0)
        assert_int_equal(len, sizeof(*r));
    return rc;
}

static int fetch(int n, const char *path)
{
    struct ebt_proto_fetch id;
    uint32_t len = 0;
    int rc = op(n, EBT_OP_MD_FETCH, path, NULL, 0, &id, sizeof(id), &len);
    if (rc == 0)
        assert_int_equal(len, sizeof(id));
    if (rc == 0) { /* the reply names the copy the fetch wrote */
        struct stat st;
        assert_int_equal(lstat(L(n, "remote", path), &st), 0);
        assert_true((uint64_t)st.st_ino == id.ino && st.st_ctim.tv_sec == id.ctime_sec &&
                    st.st_ctim.tv_nsec == id.ctime_nsec);
    }
    return rc;
}

static int unlink_op(int n, const char *path, uint32_t is_dir)
{
    return op(n, EBT_OP_MD_UNLINK, path, &is_dir, sizeof(is_dir), NULL, 0, NULL);
}

static off_t fsize(const char *f)
{
    struct stat st;
    return stat(f, &st) < 0 ? -1 : st.st_size;
}

/* A path owned by node `owner` and held by someone else (a real cross-node case). */
static const char *owned_by(int owner, const char *prefix)
{
    static char buf[512];
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof(buf), "%s/%s%d", pfs, prefix, i);
        if (ebt_path_owner(buf, NODES) == owner)
            return buf;
    }
    abort();
}

static void test_note_resolve_fetch(void **state)
{
    char path[512];
    snprintf(path, sizeof(path), "%s", owned_by(2, "a"));
    tu_write(L(1, "up", path), "hello world", 11);
    chmod(L(1, "up", path), 0640);
    uint32_t flags = 7;
    assert_int_equal(note(1, path, EBT_NOTE_FILE, &flags), 0);
    assert_int_equal(flags, 0);
    assert_true(tu_exists(L(1, "up", path))); /* one holder: stays in up */
    struct md_rec *rec = md_shard_get(&dd[2].md->shard, path);
    assert_non_null(rec);
    assert_int_equal(rec->nholders, 1);
    assert_int_equal(rec->holders[0], 1);

    struct ebt_proto_resolve r;
    assert_int_equal(resolve(3, path, &r), 0);
    assert_int_equal(r.state, EBT_RES_FILE);
    assert_int_equal(r.size, 11);
    assert_int_equal(r.mode & 07777, 0640);
    assert_true(S_ISREG(r.mode));
    assert_int_equal(r.nholders, 1);
    assert_int_equal(r.self_holds, 0);
    const char *rem = L(3, "remote", path);
    assert_int_equal(fsize(rem), 11); /* a sparse placeholder */
    assert_int_equal(memcmp(tu_read(rem), "\0\0\0", 3), 0);
    struct stat st;
    assert_int_equal(stat(rem, &st), 0);
    ino_t ino = st.st_ino;
    assert_int_equal(fetch(3, path), 0);
    assert_string_equal(tu_read(rem), "hello world");
    assert_int_equal(stat(rem, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_ino, ino); /* nobody had it open: the inode a stat saw (cp checks) */
    /* resolving again keeps the fetched copy (same version, same size) */
    assert_int_equal(resolve(3, path, &r), 0);
    assert_string_equal(tu_read(rem), "hello world");
    /* the holder keeps writing (write mode): the size in RESOLVE is fresh */
    tu_write(L(1, "up", path), "hello world, again", 18);
    assert_int_equal(resolve(3, path, &r), 0);
    assert_int_equal(r.size, 18);
    assert_int_equal(fsize(rem), 18);
    assert_int_equal(stat(rem, &st), 0);
    assert_int_equal(st.st_ino, ino);
    /* a reader that has the copy open keeps its snapshot: the fetch makes a new file */
    assert_int_equal(fetch(3, path), 0);
    int rfd = open(rem, O_RDONLY);
    assert_true(rfd >= 0);
    tu_write(L(1, "up", path), "HELLO WORLD, AGAIN", 18);
    assert_int_equal(fetch(3, path), 0);
    assert_string_equal(tu_read(rem), "HELLO WORLD, AGAIN");
    char old[32] = "";
    assert_int_equal(pread(rfd, old, sizeof(old) - 1, 0), 18);
    assert_string_equal(old, "hello world, again");
    struct stat fst;
    assert_int_equal(fstat(rfd, &fst), 0);
    assert_int_equal(stat(rem, &st), 0);
    assert_true(st.st_ino != fst.st_ino);
    close(rfd);
    tu_write(L(1, "up", path), "hello world, again", 18);
    assert_int_equal(fetch(3, path), 0);
    assert_string_equal(tu_read(rem), "hello world, again");
    /* the holder itself */
    assert_int_equal(resolve(1, path, &r), 0);
    assert_int_equal(r.self_holds, 1);
    /* a name nobody noted: NONE, and a stale remote copy goes away */
    tu_write(L(3, "remote", P("stale")), "x", 1);
    assert_int_equal(resolve(3, P("stale"), &r), 0);
    assert_int_equal(r.state, EBT_RES_NONE);
    assert_false(tu_exists(L(3, "remote", P("stale"))));
    assert_int_equal(fetch(3, P("stale")), -ENOENT);
}

static void write_logged(int n, const char *path, const char *data, uint64_t off, uint64_t len)
{
    tu_write(L(n, "up", path), data, strlen(data));
    tu_log(dd[n].run_dir, L(n, "up", path), EBT_EXT_BASE, 0, 0);
    tu_log(dd[n].run_dir, L(n, "up", path), EBT_EXT_WRITE, off, len);
}

static void test_shared_merge(void **state)
{
    char path[512];
    snprintf(path, sizeof(path), "%s", owned_by(3, "s"));
    tu_write(path, "pppppppppppppppp", 16);      /* the PFS file as it was */
    write_logged(0, path, "AAAAAAAAAA", 0, 5);   /* node 0 wrote [0,5) */
    write_logged(2, path, "BBBBBBBBBBBB", 3, 4); /* node 2 wrote [3,7), noted later */
    uint32_t flags;
    assert_int_equal(note(0, path, EBT_NOTE_FILE, &flags), 0);
    assert_int_equal(flags, 0);
    assert_int_equal(note(2, path, EBT_NOTE_FILE, &flags), 0);
    assert_int_equal(flags, EBT_NOTE_SHARED);
    /* both holders moved their copies to held (the extent logs follow the inode) */
    assert_false(tu_exists(L(0, "up", path)));
    assert_false(tu_exists(L(2, "up", path)));
    assert_true(tu_exists(L(0, "held", path)));
    assert_true(tu_exists(L(2, "held", path)));
    assert_int_equal(fetch(1, path), 0);
    /* [0,3) node 0, [3,7) node 2 (later), [7,12) PFS; size = max holder size 12 */
    assert_string_equal(tu_read(L(1, "remote", path)), "AAABBBBppppp");
    struct ebt_ivs w;
    uint64_t size = 0;
    assert_int_equal(ebtd_md_winning_ranges(&dd[1], path, 0, &w, &size), 0);
    assert_int_equal(size, 12);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.iv[0][0], 0);
    assert_int_equal(w.iv[0][1], 3);
    ebt_ivs_free(&w);
    assert_int_equal(ebtd_md_winning_ranges(&dd[0], path, 2, &w, &size), 0);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.iv[0][0], 3);
    assert_int_equal(w.iv[0][1], 7);
    ebt_ivs_free(&w);
    /* node 0 notes again (e.g. closed after more writes): now it is the latest */
    assert_int_equal(note(0, path, EBT_NOTE_FILE, &flags), 0);
    assert_int_equal(flags, EBT_NOTE_SHARED);
    assert_int_equal(fetch(2, path), 0); /* a holder fetching reads its own part locally */
    assert_string_equal(tu_read(L(2, "remote", path)), "AAAAABBppppp");
    /* the PFS file is missing: bytes nobody wrote are zeros */
    unlink(path);
    assert_int_equal(fetch(1, path), 0);
    assert_int_equal(fsize(L(1, "remote", path)), 12);
    assert_int_equal(memcmp(tu_read(L(1, "remote", path)), "AAAAABB\0", 8), 0);
    struct ebt_proto_resolve r;
    assert_int_equal(resolve(1, path, &r), 0);
    assert_int_equal(r.nholders, 2);
    assert_int_equal(r.size, 12);
    /* a holder's copy vanished (being dropped): the others still give their bytes */
    unlink(L(0, "held", path));
    assert_int_equal(fetch(1, path), 0);
    assert_int_equal(fsize(L(1, "remote", path)), 12);
    assert_int_equal(memcmp(tu_read(L(1, "remote", path)), "\0\0\0BBBB\0", 8), 0);
}

static void test_unlink(void **state)
{
    struct ebt_proto_resolve r;
    const char *a = P("u_pfs"), *b = P("u_new");
    char pa[512], pb[512];
    snprintf(pa, sizeof(pa), "%s", a);
    snprintf(pb, sizeof(pb), "%s", b);
    tu_write(pa, "old", 3); /* on the PFS too */
    tu_write(L(1, "up", pa), "new", 3);
    tu_write(L(2, "up", pb), "new", 3);
    tu_log(dd[2].run_dir, L(2, "up", pb), EBT_EXT_FULL, 0, 0);
    char meta[512];
    tu_meta_path(dd[2].run_dir, L(2, "up", pb), meta, sizeof(meta));
    assert_int_equal(note(1, pa, EBT_NOTE_FILE, NULL), 0);
    assert_int_equal(note(2, pb, EBT_NOTE_FILE, NULL), 0);
    assert_int_equal(resolve(0, pa, &r), 0);
    assert_true(tu_exists(L(0, "remote", pa)));
    assert_int_equal(unlink_op(3, pa, 0), 0);
    assert_int_equal(unlink_op(0, pb, 0), 0);
    assert_false(tu_exists(L(1, "up", pa))); /* holders dropped their copies */
    assert_false(tu_exists(L(2, "up", pb)));
    assert_false(tu_exists(meta)); /* and the extent log */
    assert_int_equal(resolve(0, pa, &r), 0);
    assert_int_equal(r.state, EBT_RES_GONE); /* the PFS still has it */
    assert_false(tu_exists(L(0, "remote", pa)));
    assert_int_equal(resolve(3, pb, &r), 0);
    assert_int_equal(r.state, EBT_RES_NONE); /* forgotten */
    /* a new note of a gone name brings it back */
    tu_write(L(3, "up", pa), "again", 5);
    assert_int_equal(note(3, pa, EBT_NOTE_FILE, NULL), 0);
    assert_int_equal(resolve(0, pa, &r), 0);
    assert_int_equal(r.state, EBT_RES_FILE);
    assert_int_equal(r.nholders, 1);
    assert_int_equal(fetch(0, pa), 0);
    assert_string_equal(tu_read(L(0, "remote", pa)), "again");
    /* a directory */
    mkdir(L(1, "up", P("udir")), 0750);
    assert_int_equal(note(1, P("udir"), EBT_NOTE_DIR, NULL), 0);
    assert_int_equal(resolve(2, P("udir"), &r), 0);
    assert_int_equal(r.state, EBT_RES_DIR);
    assert_int_equal(r.mode & 07777, 0750);
    struct stat st;
    assert_int_equal(lstat(L(2, "remote", P("udir")), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(unlink_op(1, P("udir"), 1), 0);
    assert_int_equal(resolve(2, P("udir"), &r), 0);
    assert_int_equal(r.state, EBT_RES_NONE);
    assert_false(tu_exists(L(2, "remote", P("udir"))));
}

static void test_listdir(void **state)
{
    char d[512], f[512];
    snprintf(d, sizeof(d), "%s", P("ld"));
    mkdir(d, 0755); /* the PFS dir */
    tu_write(P("ld/pfsfile"), "pfs", 3);
    for (int i = 0; i < 12; i++) { /* files held by every node, owned by every node */
        snprintf(f, sizeof(f), "%s/f%02d", d, i);
        tu_write(L(i % NODES, "up", f), "0123456789", (size_t)i);
        assert_int_equal(note(i % NODES, f, EBT_NOTE_FILE, NULL), 0);
    }
    snprintf(f, sizeof(f), "%s/sub", d);
    mkdir(L(1, "up", d), 0755);
    mkdir(L(1, "up", f), 0755);
    assert_int_equal(note(1, f, EBT_NOTE_DIR, NULL), 0);
    assert_int_equal(unlink_op(2, P("ld/pfsfile"), 0), 0); /* gone: a whiteout */
    tu_write(L(3, "remote", P("ld/stale")), "s", 1);
    tu_write(L(3, "remote", P("ld/staledir/x")), "s", 1);
    tu_write(L(3, "remote", P("ld/.ebt~wh~f03")), "", 0);
    unsigned long before = fake_calls[MD_P_LIST];
    uint32_t count = 0, len = 0;
    assert_int_equal(op(3, EBT_OP_MD_LISTDIR, d, NULL, 0, &count, sizeof(count), &len), 0);
    assert_int_equal(len, sizeof(count));
    assert_int_equal(count, 14);
    assert_int_equal(fake_calls[MD_P_LIST] - before, NODES); /* one call per node */
    for (int i = 0; i < 12; i++) {
        snprintf(f, sizeof(f), "%s/f%02d", d, i);
        assert_int_equal(fsize(L(3, "remote", f)), i);
    }
    struct stat st;
    assert_int_equal(lstat(L(3, "remote", P("ld/sub")), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_true(tu_exists(L(3, "remote", P("ld/.ebt~wh~pfsfile"))));
    assert_false(tu_exists(L(3, "remote", P("ld/stale"))));
    assert_false(tu_exists(L(3, "remote", P("ld/staledir"))));
    assert_false(tu_exists(L(3, "remote", P("ld/.ebt~wh~f03"))));
    /* a fetched copy survives a listing; a removed name disappears from it */
    assert_int_equal(fetch(3, P("ld/f05")), 0);
    assert_int_equal(unlink_op(0, P("ld/f06"), 0), 0);
    assert_int_equal(op(3, EBT_OP_MD_LISTDIR, d, NULL, 0, &count, sizeof(count), &len), 0);
    assert_int_equal(count, 13);
    assert_string_equal(tu_read(L(3, "remote", P("ld/f05"))), "01234");
    assert_false(tu_exists(L(3, "remote", P("ld/f06"))));
    /* an empty directory nobody knows */
    assert_int_equal(op(3, EBT_OP_MD_LISTDIR, P("nothing"), NULL, 0, &count, sizeof(count), &len),
                     0);
    assert_int_equal(count, 0);
}

static void test_dead_node(void **state)
{
    char path[512];
    struct ebt_proto_resolve r;
    snprintf(path, sizeof(path), "%s", owned_by(2, "dead"));
    tu_write(L(1, "up", path), "x", 1);
    fake_dead[2] = 1;
    assert_int_equal(note(1, path, EBT_NOTE_FILE, NULL), -EIO);
    assert_int_equal(resolve(0, path, &r), -EIO);
    assert_int_equal(fetch(0, path), -EIO);
    uint32_t count, len;
    assert_int_equal(op(0, EBT_OP_MD_LISTDIR, pfs, NULL, 0, &count, sizeof(count), &len), -EIO);
    fake_dead[2] = 0;
    assert_int_equal(note(1, path, EBT_NOTE_FILE, NULL), 0);
    /* the owner is alive but the holder died: EIO too */
    fake_dead[1] = 1;
    assert_int_equal(resolve(0, path, &r), -EIO);
    assert_int_equal(fetch(0, path), -EIO);
    fake_dead[1] = 0;
    assert_int_equal(fetch(0, path), 0);
}

static void test_malformed(void **state)
{
    char reply[64];
    uint32_t len;
    struct ebtd *d = &dd[0];
    /* no NUL, relative path, trailing bytes, missing kind, bad kind, the root */
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_RESOLVE, "/abc", 4, reply, 64, &len), -EINVAL);
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_RESOLVE, "abc", 4, reply, 64, &len), -EINVAL);
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_FETCH, "/a\0xx", 5, reply, 64, &len), -EINVAL);
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_NOTE, "/a", 3, reply, 64, &len), -EINVAL);
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_NOTE, "/a\0\7\0\0\0", 7, reply, 64, &len),
                     -EINVAL);
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_UNLINK, "/a\0\0\0", 5, reply, 64, &len),
                     -EINVAL);
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_RESOLVE, "/", 2, reply, 64, &len), -EINVAL);
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_RESOLVE, "", 0, reply, 64, &len), -EINVAL);
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_RESOLVE, "/a", 3, reply, 8, &len), -EMSGSIZE);
    /* a file that is not there cannot be noted */
    assert_int_equal(note(0, P("missing"), EBT_NOTE_FILE, NULL), -ENOENT);
    /* managed prefixes: a path outside them is refused */
    cfg[0].nprefixes = 1;
    snprintf(cfg[0].prefixes[0].path, sizeof(cfg[0].prefixes[0].path), "%s", pfs);
    assert_int_equal(ebtd_md_client_op(d, EBT_OP_MD_RESOLVE, "/etc/x", 7, reply, 64, &len), -EXDEV);
    cfg[0].nprefixes = 0;
    /* malformed peer requests: a batch with a cut entry, a READ past the limit */
    struct md_wire_note w = {EBTD_MD_FILE, 0100644, 1, 0, 0};
    char buf[64];
    memcpy(buf, &w, sizeof(w));
    memcpy(buf + sizeof(w), "/x", 2); /* no NUL */
    assert_int_equal(ebtd_mesh_call(d, 1, MD_P_NOTE, buf, sizeof(w) + 2, NULL, 0, NULL), -EINVAL);
    uint64_t rd[3] = {0, MD_READ_MAX + 1, 0};
    memcpy(&rd[2], "/x\0", 3);
    assert_int_equal(ebtd_mesh_call(d, 1, MD_P_READ, rd, sizeof(rd), NULL, 0, NULL), -EINVAL);
    assert_int_equal(ebtd_mesh_call(d, 1, MD_P_READ, rd, 10, NULL, 0, NULL), -EINVAL);
    assert_int_equal(ebtd_mesh_call(d, 1, MD_P_LIST, "x", 1, NULL, 0, NULL), -EINVAL);
    assert_int_equal(ebtd_mesh_call(d, 1, MD_P_UNLINK, "ab", 2, NULL, 0, NULL), -EINVAL);
}

/* Random peer payloads (mostly near-valid) never crash a handler; they get an error or an answer.
 */
static void test_peer_fuzz(void **state)
{
    unsigned seed = 12345;
    char buf[256], reply[4096];
    for (int it = 0; it < 20000; it++) {
        size_t len = (size_t)(rand_r(&seed) % sizeof(buf));
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)(rand_r(&seed) % 4 == 0   ? '/'
                            : rand_r(&seed) % 3 == 0 ? 0
                                                     : 'a' + it % 3);
        size_t pre = rand_r(&seed) % 3 == 0 ? 24 : rand_r(&seed) % 2 ? 16 : 4;
        if (len > pre + 1 && rand_r(&seed) % 2)
            buf[pre] = '/'; /* a path after the fixed header */
        uint16_t op = (uint16_t)(MD_P_NOTE + rand_r(&seed) % 9);
        if (op == MD_P_READ && len >= 16) {
            uint64_t hdr[2] = {rand_r(&seed) % 100, rand_r(&seed) % 100};
            memcpy(buf, hdr, sizeof(hdr));
        }
        size_t got;
        int rc = ebtd_mesh_call(&dd[it % NODES], (it / NODES) % NODES, op, buf, len, reply,
                                sizeof(reply), &got);
        assert_true(rc <= 0);
    }
    /* the nodes still work */
    tu_write(L(1, "up", P("after")), "ok", 2);
    assert_int_equal(note(1, P("after"), EBT_NOTE_FILE, NULL), 0);
    assert_int_equal(fetch(2, P("after")), 0);
    assert_string_equal(tu_read(L(2, "remote", P("after"))), "ok");
}

static int count_rec(const struct ebtd_md_rec_view *v, void *arg)
{
    if (strstr(v->path, "/na/"))
        (*(int *)arg)++;
    return 0;
}

static void test_note_all(void **state)
{
    tu_write(L(2, "up", P("na/x")), "xx", 2);
    tu_write(L(2, "up", P("na/d/y")), "yyy", 3);
    tu_write(L(2, "up", P("na/.ebt~wh~z")), "", 0);
    tu_write(L(1, "up", P("na/x")), "1", 1);
    assert_int_equal(note(1, P("na/x"), EBT_NOTE_FILE, NULL), 0);
    unsigned long before = fake_calls[MD_P_NOTE];
    assert_int_equal(ebtd_md_note_all(&dd[2]), 0);
    /* batched: at most one message per owner */
    assert_true(fake_calls[MD_P_NOTE] - before <= NODES);
    int n = 0;
    for (int i = 0; i < NODES; i++)
        ebtd_md_visit(&dd[i], count_rec, &n);
    assert_int_equal(n, 3); /* na/x, na/d, na/d/y (not the whiteout) */
    struct ebt_proto_resolve r;
    assert_int_equal(resolve(0, P("na/d/y"), &r), 0);
    assert_int_equal(r.state, EBT_RES_FILE);
    assert_int_equal(r.size, 3);
    assert_int_equal(resolve(0, P("na/d"), &r), 0);
    assert_int_equal(r.state, EBT_RES_DIR);
    /* na/x was noted by node 1 before: now shared, node 2 is the latest holder */
    assert_int_equal(resolve(0, P("na/x"), &r), 0);
    assert_int_equal(r.nholders, 2);
    assert_true(tu_exists(L(2, "held", P("na/x"))));
    assert_true(tu_exists(L(1, "held", P("na/x"))));
    assert_int_equal(fetch(0, P("na/x")), 0);
    assert_string_equal(tu_read(L(0, "remote", P("na/x"))), "xx");
    /* nothing new: no messages */
    before = fake_calls[MD_P_NOTE];
    assert_int_equal(ebtd_md_note_all(&dd[2]), 0);
    assert_int_equal(fake_calls[MD_P_NOTE] - before, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_note_resolve_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listdir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_note_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_fuzz, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
