#!/usr/bin/python3
# pfs_sim_workload.py - file operations through two pfs-sim node mounts, checked against stats.
"""Run by pfs_sim_test.py against a running simulator (2 nodes, 4 OSTs, 64 KiB stripes, default
stripe count -1).  Every expected number is tallied from the operations this script performs and
from layouts read back through lustre.lov; nothing is a constant copied from a previous run.
Prints one JSON line with the counters expected in the final stats file."""

import errno
import json
import os
import struct
import sys
import time

LOV_V1 = 0x0BD10BD0
LOV_V3 = 0x0BD30BD0
HDR_V1 = struct.Struct("<IIQQIHH")        # lov_user_md_v1: 32 bytes
HDR_V3 = struct.Struct("<IIQQIHH16s")     # lov_user_md_v3: 48 bytes
OBJ = struct.Struct("<QQII")              # lov_user_ost_data_v1: 24 bytes
KiB = 1024

# FUSE requests whose number the kernel decides (lookups, security xattrs, flush): lower bounds
KERNEL_DRIVEN = {"getattr", "getxattr", "flush", "access", "statfs", "listxattr"}


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def lov_blob(magic, size, count, offset, pool=b""):
    if magic == LOV_V3:
        return HDR_V3.pack(magic, 1, 0, 0, size, count & 0xFFFF, offset & 0xFFFF, pool)
    return HDR_V1.pack(magic, 1, 0, 0, size, count & 0xFFFF, offset & 0xFFFF)


def parse_lov(blob):
    magic, pattern, _oid, _oseq, size, count, _gen = HDR_V1.unpack_from(blob)
    check(magic in (LOV_V1, LOV_V3), "bad lov magic %#x" % magic)
    hdr = HDR_V1.size
    pool = b""
    if magic == LOV_V3:
        pool = HDR_V3.unpack_from(blob)[7].rstrip(b"\0")
        hdr = HDR_V3.size
    check(pattern == 1, "lmm_pattern %d, expected RAID0 (1)" % pattern)
    check(len(blob) == hdr + count * OBJ.size, "lov blob of %d bytes for %d stripes" % (len(blob), count))
    osts = [OBJ.unpack_from(blob, hdr + i * OBJ.size)[3] for i in range(count)]
    return {"magic": magic, "size": size, "count": count, "osts": osts, "pool": pool}


class Expect:
    """Tallies what the simulator must report: requests per node and kind, per-OST pieces."""

    def __init__(self, nodes, osts):
        self.ops = [dict() for _ in range(nodes)]
        self.ost_ops = [{"read": 0, "write": 0} for _ in range(osts)]
        self.ost_bytes = [{"read": 0, "write": 0} for _ in range(osts)]
        self.node_bytes = [{"read": 0, "write": 0} for _ in range(nodes)]
        self.writers = [set() for _ in range(osts)]
        self.objects = {}       # (file, stripe index) -> set of writer nodes
        self.object_ost = {}    # (file, stripe index) -> OST
        self.holder = {}        # (file, stripe index) -> last writer node
        self.revocations = [0] * nodes
        self.ost_revocations = [0] * osts

    def op(self, node, kind, n=1):
        self.ops[node][kind] = self.ops[node].get(kind, 0) + n

    def total(self, kind):
        return sum(o.get(kind, 0) for o in self.ops)

    def data(self, node, kind, name, layout, off, length, filesize=None):
        """One read/write request of `length` at `off`: split into stripe pieces."""
        self.op(node, kind)
        end = off + length if filesize is None else min(off + length, filesize)
        pos = off
        while pos < off + length:
            unit = pos // layout["size"]
            stripe = unit % layout["count"]
            ost = layout["osts"][stripe]
            piece_end = min((unit + 1) * layout["size"], off + length)
            got = max(0, min(piece_end, end) - pos)
            self.ost_ops[ost][kind] += 1
            self.ost_bytes[ost][kind] += got
            self.node_bytes[node][kind] += got
            if kind == "write":
                self.lock(node, name, stripe, ost)
            if got < piece_end - pos:
                break                                   # short read at end of file
            pos = piece_end

    def lock(self, node, name, stripe, ost):
        key = (name, stripe)
        if self.holder.get(key, node) != node:
            self.revocations[node] += 1
            self.ost_revocations[ost] += 1
        self.holder[key] = node
        self.objects.setdefault(key, set()).add(node)
        self.object_ost[key] = ost
        self.writers[ost].add(node)

    def forget(self, name):
        for key in [k for k in self.objects if k[0] == name]:
            del self.objects[key]
            self.holder.pop(key, None)

    def reset(self):
        holder = dict(self.holder)
        self.__init__(len(self.ops), len(self.ost_ops))
        self.holder = holder                            # extent locks survive a reset


class Workload:
    def __init__(self, mnt, nodes=2, osts=4):
        self.node = [os.path.join(mnt, "node%d" % i) for i in range(nodes)]
        self.x = Expect(nodes, osts)
        self.content = {}

    def path(self, node, name):
        return os.path.join(self.node[node], name)

    def stats(self):
        with open(os.path.join(self.node[0], ".pfs-sim", "stats")) as f:
            return json.load(f)

    def reset(self):
        with open(os.path.join(self.node[1], ".pfs-sim", "stats"), "w") as f:
            f.write("reset\n")
        self.x.reset()

    # --- operations, each tallied -------------------------------------------------------
    def mkdir(self, node, name):
        self.x.op(node, "mkdir")
        os.mkdir(self.path(node, name))

    def create(self, node, name):
        self.x.op(node, "create")
        os.close(os.open(self.path(node, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        self.x.op(node, "release")
        self.content[name] = bytearray()

    def layout(self, node, name):
        self.x.op(node, "getxattr")
        return parse_lov(os.getxattr(self.path(node, name), "lustre.lov"))

    def setlov(self, node, name, blob):
        self.x.op(node, "setxattr")
        os.setxattr(self.path(node, name), "lustre.lov", blob)

    def write(self, node, name, chunks):
        """chunks: list of (offset, length); each is one pwrite = one FUSE write request."""
        lo = self.layout(node, name)
        self.x.op(node, "open")
        fd = os.open(self.path(node, name), os.O_WRONLY)
        try:
            for off, length in chunks:
                data = os.urandom(length)
                check(os.pwrite(fd, data, off) == length, "short write")
                buf = self.content[name]
                if len(buf) < off + length:
                    buf.extend(b"\0" * (off + length - len(buf)))
                buf[off:off + length] = data
                self.x.data(node, "write", name, lo, off, length)
        finally:
            os.close(fd)
            self.x.op(node, "release")

    def read_all(self, node, name, chunk):
        lo = self.layout(node, name)
        size = len(self.content[name])
        self.x.op(node, "open")
        fd = os.open(self.path(node, name), os.O_RDONLY)
        got = bytearray()
        try:
            for off in range(0, size, chunk):
                got += os.pread(fd, chunk, off)
                self.x.data(node, "read", name, lo, off, chunk, filesize=size)
        finally:
            os.close(fd)
            self.x.op(node, "release")
        check(bytes(got) == bytes(self.content[name]), "%s read from node%d differs" % (name, node))

    def expect_errno(self, err, fn, *args):
        try:
            fn(*args)
        except OSError as e:
            check(e.errno == err, "%s%s: errno %d, expected %d" % (fn.__name__, args, e.errno, err))
            return
        fail("%s%s succeeded, expected errno %d" % (fn.__name__, args, err))


def check_layouts(w):
    """lustre.lov get/set semantics; returns the layout of d/g (stripe_count 2)."""
    w.create(0, "d/g")
    w.setlov(0, "d/g", lov_blob(LOV_V1, 128 * KiB, 2, 1))
    g = w.layout(1, "d/g")                                  # read back through the other node
    check(g["magic"] == LOV_V1 and g["size"] == 128 * KiB and g["count"] == 2, "d/g layout %r" % g)
    check(g["osts"] == [1, 2], "d/g OSTs %r, expected [1, 2]" % g["osts"])
    w.create(0, "d/h3")
    w.setlov(0, "d/h3", lov_blob(LOV_V3, 0, -1, -1, b"flash"))
    h3 = w.layout(0, "d/h3")
    check(h3["magic"] == LOV_V3 and h3["pool"] == b"flash" and h3["count"] == 4, "d/h3 %r" % h3)
    check(h3["size"] == 64 * KiB and sorted(h3["osts"]) == [0, 1, 2, 3], "d/h3 %r" % h3)
    w.x.op(0, "setxattr")
    w.expect_errno(errno.EINVAL, os.setxattr, w.path(0, "d/h3"), "lustre.lov", b"\0" * 32)
    w.x.op(0, "listxattr")
    check("lustre.lov" in os.listxattr(w.path(0, "d/g")), "listxattr lacks lustre.lov")
    return g


def check_dir_default(w):
    w.mkdir(0, "d2")
    w.setlov(0, "d2", lov_blob(LOV_V1, 0, 2, -1))
    w.create(1, "d2/k")
    k = w.layout(1, "d2/k")
    check(k["count"] == 2 and k["size"] == 64 * KiB, "d2/k did not get the dir default: %r" % k)


def data_phase(w):
    w.mkdir(0, "d")
    w.create(0, "d/f1")
    f1 = w.layout(0, "d/f1")
    check(f1["count"] == 4 and f1["size"] == 64 * KiB, "default layout %r" % f1)
    check(sorted(f1["osts"]) == [0, 1, 2, 3], "default OSTs %r" % f1["osts"])
    # five whole stripes, then one write across the stripe boundary at 320 KiB
    w.write(0, "d/f1", [(i * 64 * KiB, 64 * KiB) for i in range(5)] + [(300000, 40000)])
    w.read_all(1, "d/f1", 64 * KiB)
    check(os.stat(w.path(1, "d/f1")).st_size == 340000, "size seen by node1")
    check_layouts(w)
    w.write(0, "d/g", [(i * 64 * KiB, 64 * KiB) for i in range(6)])
    w.x.op(0, "setxattr")                                   # a non-empty file keeps its layout
    w.expect_errno(errno.EEXIST, os.setxattr, w.path(0, "d/g"), "lustre.lov",
                   lov_blob(LOV_V1, 0, 1, -1))
    check_dir_default(w)
    # extent-lock contention: node0 then node1 write stripe 0 of d/r -> one revocation
    w.create(0, "d/r")
    w.write(0, "d/r", [(0, 4096)])
    w.write(1, "d/r", [(0, 4096), (64 * KiB, 4096)])


def namespace_phase(w):
    w.x.op(1, "opendir")
    w.x.op(1, "readdir")
    w.x.op(1, "releasedir")
    names = set(os.listdir(w.path(1, "d")))
    check(names == {"f1", "g", "h3", "r"}, "readdir of d from node1: %r" % names)
    w.expect_errno(errno.EEXIST, os.mkdir, w.path(0, "d"))    # refused by the VFS lookup
    w.x.op(0, "rename")
    os.rename(w.path(0, "d/f1"), w.path(0, "d/f1b"))
    check(os.path.exists(w.path(1, "d/f1b")), "rename not visible on node1")
    w.expect_errno(errno.ENOENT, os.stat, w.path(1, "d/f1"))
    w.x.op(1, "rmdir")
    w.expect_errno(errno.ENOTEMPTY, os.rmdir, w.path(1, "d"))
    for name in ("d/f1b", "d/g", "d/h3", "d2/k"):
        w.x.op(1, "unlink")
        os.unlink(w.path(1, name))
        w.x.forget(name.replace("f1b", "f1"))
    w.x.op(1, "rmdir")
    os.rmdir(w.path(1, "d2"))


def wait_releases(w):
    """RELEASE(DIR) is sent asynchronously after close(): wait until all have arrived."""
    want = {k: w.x.total(k) for k in ("release", "releasedir")}
    deadline = time.time() + 10
    while True:
        s = w.stats()
        if all(s["ops"][k] >= n for k, n in want.items()) or time.time() > deadline:
            return s
        time.sleep(0.05)


def check_ops(w, s):
    for node, ops in enumerate(w.x.ops):
        for kind, n in ops.items():
            got = s["nodes"][node]["ops"][kind]
            if kind in KERNEL_DRIVEN:
                check(got >= n, "node%d %s: %d < %d" % (node, kind, got, n))
            else:
                check(got == n, "node%d %s: %d, expected %d" % (node, kind, got, n))
    for kind, n in s["ops"].items():
        want = w.x.total(kind)
        if kind not in KERNEL_DRIVEN:
            check(n == want, "total %s: %d, expected %d" % (kind, n, want))
        check(n == sum(nd["ops"][kind] for nd in s["nodes"]), "total %s != sum of nodes" % kind)


def check_data(w, s):
    x = w.x
    for i, o in enumerate(s["osts"]):
        for kind in ("read", "write"):
            check(o["ops"][kind] == x.ost_ops[i][kind],
                  "ost%d %s pieces %d, expected %d" % (i, kind, o["ops"][kind], x.ost_ops[i][kind]))
            check(o[kind + "_bytes"] == x.ost_bytes[i][kind],
                  "ost%d %s bytes %d, expected %d" % (i, kind, o[kind + "_bytes"], x.ost_bytes[i][kind]))
        check(o["writer_node_list"] == sorted(x.writers[i]), "ost%d writers %r" % (i, o["writer_node_list"]))
        check(o["writer_nodes"] == len(x.writers[i]), "ost%d writer count" % i)
        check(o["lock_revocations"] == x.ost_revocations[i], "ost%d revocations" % i)
    for i, nd in enumerate(s["nodes"]):
        for kind in ("read", "write"):
            check(nd[kind + "_bytes"] == x.node_bytes[i][kind], "node%d %s bytes" % (i, kind))
        check(nd["lock_revocations"] == x.revocations[i], "node%d revocations" % i)
    check(s["lock_revocations"] == sum(x.revocations), "total revocations %d" % s["lock_revocations"])


def check_objects_and_pools(w, s):
    by = {}
    for writers in w.x.objects.values():
        by[str(len(writers))] = by.get(str(len(writers)), 0) + 1
    check(s["objects"]["by_writer_count"] == by, "objects %r, expected %r" % (s["objects"], by))
    check(s["objects"]["written"] == len(w.x.objects), "objects written")
    for i, o in enumerate(s["osts"]):
        mine = [k for k in w.x.objects if w.x.object_ost[k] == i]
        shared = [k for k in mine if len(w.x.objects[k]) > 1]
        check(o["objects_written"] == len(mine), "ost%d objects_written %d" % (i, o["objects_written"]))
        check(o["objects_multi_writer"] == len(shared), "ost%d objects_multi_writer" % i)
    want = sorted((k[1], w.x.object_ost[k], sorted(v)) for k, v in w.x.objects.items() if len(v) > 1)
    got = sorted((e["stripe"], e["ost"], e["writers"]) for e in s["objects"]["multi_writer_sample"])
    check(got == want, "multi_writer_sample %r, expected %r" % (got, want))
    oss_ops = sum(sum(o["ops"].values()) for o in s["osts"])
    check(s["oss"]["ops"] == oss_ops, "oss.ops %d != sum of OST ops %d" % (s["oss"]["ops"], oss_ops))
    mds_kinds = set(s["ops"]) - {"read", "write", "fsync", "fallocate", "flush"}
    mds_ops = sum(s["ops"][k] for k in mds_kinds)
    check(s["mds"]["ops"] == mds_ops, "mds.ops %d != MDS requests %d" % (s["mds"]["ops"], mds_ops))
    if mds_ops:
        check(s["mds"]["cpu_s"] > 0 and s["oss"]["cpu_s"] > 0, "no CPU time measured")


def check_all(w, s, with_objects=True):
    check_ops(w, s)
    check_data(w, s)
    if with_objects:
        check_objects_and_pools(w, s)


def main():
    w = Workload(sys.argv[1])
    w.reset()
    data_phase(w)
    s = wait_releases(w)
    check_all(w, s)
    check(s["lock_revocations"] == 1, "expected exactly one revocation, got %d" % s["lock_revocations"])
    check(max(o["writer_nodes"] for o in s["osts"]) == 2, "no OST with two writer nodes")
    namespace_phase(w)
    check_all(w, wait_releases(w), with_objects=False)
    # phase 2: counters start from zero, extent locks are kept (node1 holds d/r stripe 0)
    w.reset()
    s = w.stats()
    check(sum(s["ops"].values()) == 0 and s["write_bytes"] == 0 and s["objects"]["written"] == 0,
          "reset left counts: %r" % {k: v for k, v in s["ops"].items() if v})
    w.write(0, "d/r", [(8192, 4096)])
    s = wait_releases(w)
    check_all(w, s)
    check(s["lock_revocations"] == 1, "phase 2 revocations %d" % s["lock_revocations"])
    print(json.dumps({"write": s["ops"]["write"], "lock_revocations": s["lock_revocations"],
                      "write_bytes": s["write_bytes"], "release": s["ops"]["release"]}))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
