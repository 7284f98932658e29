#!/usr/bin/python3
# layout_sim_test.py - the flush's layouts end to end: ebt run onto the PFS simulator, then the
# layouts (lustre.lov) and the simulator's OSS counts of what the flush wrote.
"""Exit 0 pass, 1 fail, 77 skip (no usable /dev/fuse, or mounting not permitted).
A small file must get one stripe, a file above EBT_STRIPE_LARGE EBT_STRIPE_COUNT_LARGE stripes
of EBT_STRIPE_SIZE (the simulator's own default is neither), a file in a directory with its own
default layout that default, and every stripe chunk written must be one OSS write piece."""

import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

SKIP = 77
KiB, MiB = 1 << 10, 1 << 20
SIM_STRIPE, SIM_COUNT, OSTS = 64 * KiB, 2, 4  # the simulator's defaults
EBT_STRIPE, EBT_LARGE, EBT_COUNT = 256 * KiB, 1 * MiB, 3  # the flush's policy
DIR_STRIPE, DIR_COUNT = 128 * KiB, 4  # the default of directory "keep"
FILES = {"small": 100 * 1000, "large": 5 * MiB + 12345, "keep/big": 2 * MiB}


def log(msg):
    print("layout_sim_test: %s" % msg, flush=True)


def fail(msg):
    raise AssertionError(msg)


def fuse_usable():
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as e:
        return "cannot open /dev/fuse: %s" % e.strerror
    if os.geteuid() != 0 and shutil.which("fusermount3") is None:
        return "not root and no fusermount3"
    return None


def content(name, size):
    seed = sum(name.encode()) & 0xFF
    block = bytes((seed + i * 13) & 0xFF for i in range(4099))
    return (block * (size // len(block) + 1))[:size]


def lov(path):
    """(stripe_size, stripe_count, [ost...]) of a file, or the header of a directory default."""
    v = os.getxattr(path, "lustre.lov")
    magic, _pattern, _oid, _oseq, ssize, count, _gen = struct.unpack("<IIQQIHH", v[:32])
    if magic not in (0x0BD10BD0, 0x0BD30BD0):
        fail("%s: unexpected lov magic %#x" % (path, magic))
    hdr = 32 if magic == 0x0BD10BD0 else 48
    osts = [struct.unpack("<I", v[hdr + 24 * i + 20:hdr + 24 * i + 24])[0]
            for i in range((len(v) - hdr) // 24)]
    return ssize, count, osts


def dir_default_blob(ssize, count):
    return struct.pack("<IIQQIHH", 0x0BD10BD0, 1, 0, 0, ssize, count, 0xFFFF)


class Sim:
    def __init__(self, ctl, binary, tmp):
        self.ctl, self.bin, self.tmp = ctl, binary, tmp
        self.mnt = os.path.join(tmp, "mnt")
        self.started = False

    def start(self):
        os.mkdir(os.path.join(self.tmp, "backing"))
        os.mkdir(self.mnt)
        cmd = [self.ctl, "start", "--backing", os.path.join(self.tmp, "backing"), "--mnt",
               self.mnt, "--nodes", "1", "--osts", str(OSTS), "--stripe-size", "64K",
               "--stripe-count", str(SIM_COUNT), "--stats", os.path.join(self.tmp, "stats.json"),
               "--bin", self.bin, "--timeout", "20"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        if r.returncode != 0 and ("not permitted" in out or "Permission denied" in out):
            return "mounting is not permitted here: %s" % out.strip()
        if r.returncode != 0:
            fail("pfs-sim-ctl start failed (%d): %s" % (r.returncode, out))
        self.started = True
        return None

    def stats(self):
        with open(os.path.join(self.mnt, "node0", ".pfs-sim", "stats")) as f:
            return json.load(f)

    def reset(self):
        with open(os.path.join(self.mnt, "node0", ".pfs-sim", "stats"), "w") as f:
            f.write("reset")

    def stop(self):
        if self.started:
            subprocess.run([self.ctl, "stop", "--mnt", self.mnt, "--timeout", "30"],
                           capture_output=True, timeout=60, check=False)
            self.started = False


def run_job(args, pfs, tmp):
    """ebt run writing the files from a staging copy (cp: the job's writes land in the cache)."""
    stage = os.path.join(tmp, "stage")
    os.makedirs(os.path.join(stage, "keep"))
    script = []
    for name, size in FILES.items():
        with open(os.path.join(stage, name), "wb") as f:
            f.write(content(name, size))
        script.append("cp %s %s" % (os.path.join(stage, name), os.path.join(pfs, name)))
    env = dict(os.environ, EBT_LIB=args.lib, EBT_STRIPE_SIZE=str(EBT_STRIPE),
               EBT_STRIPE_LARGE=str(EBT_LARGE), EBT_STRIPE_COUNT_LARGE=str(EBT_COUNT),
               EBT_LOG_LEVEL="2")
    cache = os.path.join(tmp, "cache")
    os.mkdir(cache)
    r = subprocess.run([args.ebt, "run", "--pfs", pfs, "--cache", cache, "--json", "--",
                        "sh", "-ec", "; ".join(script)],
                       capture_output=True, text=True, timeout=120, env=env)
    if r.returncode != 0:
        fail("ebt run failed (%d): %s" % (r.returncode, r.stderr))
    summary = [line for line in r.stderr.splitlines() if line.startswith("{")]
    return json.loads(summary[-1]).get("flush") or {} if summary else {}


def expected_pieces():
    """Stripe chunks of the flushed files: each must be exactly one OSS write piece."""
    chunks = {"small": EBT_STRIPE, "large": EBT_STRIPE, "keep/big": DIR_STRIPE}
    return sum((FILES[n] + chunks[n] - 1) // chunks[n] for n in FILES)


def check_layouts(pfs):
    ssize, count, osts = lov(os.path.join(pfs, "small"))
    if (ssize, count, len(osts)) != (EBT_STRIPE, 1, 1):
        fail("small: %d stripe(s) of %d, want 1 of %d" % (count, ssize, EBT_STRIPE))
    ssize, count, large_osts = lov(os.path.join(pfs, "large"))
    if (ssize, count, len(set(large_osts))) != (EBT_STRIPE, EBT_COUNT, EBT_COUNT):
        fail("large: %d stripe(s) of %d on %r, want %d of %d" % (count, ssize, large_osts,
                                                                 EBT_COUNT, EBT_STRIPE))
    ssize, count, osts = lov(os.path.join(pfs, "keep/big"))
    if (ssize, count) != (DIR_STRIPE, DIR_COUNT):
        fail("keep/big: %d stripe(s) of %d, want the directory's %d of %d" %
             (count, ssize, DIR_COUNT, DIR_STRIPE))
    log("layouts: small 1 x %d, large %d x %d on OSTs %r, keep/big %d x %d (directory default)"
        % (EBT_STRIPE, EBT_COUNT, EBT_STRIPE, large_osts, DIR_COUNT, DIR_STRIPE))


def check_data(pfs):
    for name, size in FILES.items():
        with open(os.path.join(pfs, name), "rb") as f:
            if f.read() != content(name, size):
                fail("%s: content differs after the flush" % name)


def check_stats(st, summary):
    pieces = sum(o["ops"]["write"] for o in st["osts"])
    want = expected_pieces()
    log("OSS write pieces %d for %d stripe chunks (%.2f per chunk); MDS ops %d; bytes %d"
        % (pieces, want, pieces / want, st["mds"]["ops"], st["write_bytes"]))
    if st["write_bytes"] != sum(FILES.values()):
        fail("simulator wrote %d bytes, the files hold %d" % (st["write_bytes"],
                                                              sum(FILES.values())))
    if pieces != want:
        fail("%d OSS write pieces for %d stripe chunks: want one piece per chunk" % (pieces, want))
    if summary.get("layouts_set") != 2 or summary.get("layouts_inherited") != 1:
        fail("flush summary: layouts_set %r, layouts_inherited %r, want 2 and 1"
             % (summary.get("layouts_set"), summary.get("layouts_inherited")))


def main():
    ap = argparse.ArgumentParser()
    for a in ("ctl", "bin", "ebt", "lib"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    why = fuse_usable()
    if why:
        log("SKIP: %s" % why)
        return SKIP
    signal.signal(signal.SIGALRM, lambda s, f: fail("watchdog: test took over 150 s"))
    signal.alarm(150)
    tmp = tempfile.mkdtemp(prefix="ebt-layout-sim.")
    sim = Sim(args.ctl, args.bin, tmp)
    try:
        why = sim.start()
        if why:
            log("SKIP: %s" % why)
            return SKIP
        pfs = os.path.join(sim.mnt, "node0", "d")
        os.makedirs(os.path.join(pfs, "keep"))
        os.setxattr(os.path.join(pfs, "keep"), "lustre.lov",
                    dir_default_blob(DIR_STRIPE, DIR_COUNT))
        sim.reset()
        summary = run_job(args, pfs, tmp)
        st = sim.stats()
        check_layouts(pfs)
        check_data(pfs)
        check_stats(st, summary)
        log("PASS")
        return 0
    except AssertionError as e:
        log("FAIL: %s" % e)
        return 1
    finally:
        signal.alarm(0)
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
