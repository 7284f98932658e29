#!/usr/bin/python3
# pfs_sim_test.py - ctest driver: start pfs-sim (2 nodes, 4 OSTs), run the workload, stop, check.
"""Exit 0 pass, 1 fail, 77 skip (no usable /dev/fuse or mounting not permitted).
Never hangs: every step has a timeout, a watchdog alarm covers the whole test, and the mounts
are always unmounted (connections aborted if the daemon is stuck) before exit."""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

SKIP = 77
WATCHDOG_S = 150
PERMISSION_HINTS = ("Operation not permitted", "Permission denied", "fuse: device not found",
                    "No such device")


def log(msg):
    print("pfs_sim_test: %s" % msg, flush=True)


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


def mount_minor(path):
    """Minor device number of the FUSE mount at path (its /sys/fs/fuse/connections entry)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path:
                return fields[2].split(":")[1]
    return None


def abort_connections(mnt, nodes):
    for i in range(nodes):
        minor = mount_minor(os.path.join(mnt, "node%d" % i))
        if minor is None:
            continue
        try:
            with open("/sys/fs/fuse/connections/%s/abort" % minor, "w") as f:
                f.write("1")
        except OSError:
            pass
        subprocess.run(["fusermount3", "-u", "-z", os.path.join(mnt, "node%d" % i)],
                       stderr=subprocess.DEVNULL, timeout=10, check=False)


class Sim:
    def __init__(self, ctl, binary, tmp):
        self.ctl, self.bin = ctl, binary
        self.backing = os.path.join(tmp, "backing")
        self.mnt = os.path.join(tmp, "mnt")
        self.stats = os.path.join(tmp, "stats.json")
        self.started = False
        os.mkdir(self.backing)
        os.mkdir(self.mnt)

    def log_text(self):
        try:
            with open(os.path.join(self.mnt, ".pfs-sim.log")) as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        cmd = [self.ctl, "start", "--backing", self.backing, "--mnt", self.mnt, "--nodes", "2",
               "--osts", "4", "--stripe-size", "64K", "--stripe-count", "-1",
               "--stats", self.stats, "--bin", self.bin, "--timeout", "20"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.started = r.returncode == 0
        out = r.stdout + r.stderr
        if r.returncode != 0 and any(h in out for h in PERMISSION_HINTS):
            return "mounting is not permitted here: %s" % out.strip()
        if r.returncode != 0:
            raise RuntimeError("pfs-sim-ctl start failed (%d):\n%s" % (r.returncode, out))
        log(r.stdout.strip())
        return None

    def stop(self):
        r = subprocess.run([self.ctl, "stop", "--mnt", self.mnt, "--timeout", "30"],
                           capture_output=True, text=True, timeout=60)
        self.started = False
        if r.returncode != 0:
            raise RuntimeError("pfs-sim-ctl stop failed:\n%s%s" % (r.stdout, r.stderr))
        log(r.stdout.strip())

    def force_cleanup(self):
        if not self.started:
            return
        log("forcing cleanup")
        abort_connections(self.mnt, 2)
        try:
            self.stop()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            log("forced stop: %s" % e)


def run_workload(sim):
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run([sys.executable, os.path.join(here, "pfs_sim_workload.py"), sim.mnt],
                       capture_output=True, text=True, timeout=90)
    sys.stdout.write(r.stderr)
    if r.returncode != 0:
        raise RuntimeError("workload failed (exit %d)" % r.returncode)
    return json.loads(r.stdout.strip().splitlines()[-1])


def check_final_stats(sim, expected):
    """The file written at unmount holds the counters since the last reset."""
    with open(sim.stats) as f:
        final = json.load(f)
    got = {"write": final["ops"]["write"], "lock_revocations": final["lock_revocations"],
           "write_bytes": final["write_bytes"], "release": final["ops"]["release"]}
    if got != expected:
        raise RuntimeError("final stats %r, expected %r" % (got, expected))
    log("final stats file matches: %r" % got)


def remove_tmp(tmp):
    """Removes the temp tree unless something is still mounted below it (never recurse into a
    possibly hung mount)."""
    with open("/proc/self/mountinfo") as f:
        busy = [line.split()[4] for line in f if line.split()[4].startswith(tmp + "/")]
    if busy:
        log("leaving %s: still mounted: %s" % (tmp, " ".join(busy)))
        return
    shutil.rmtree(tmp, ignore_errors=True)


def on_signal(signum, frame):
    raise RuntimeError("interrupted by signal %d (watchdog or ctest timeout)" % signum)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    why = fuse_usable()
    if why:
        log("SKIP: %s" % why)
        return SKIP
    signal.signal(signal.SIGALRM, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.alarm(WATCHDOG_S)
    tmp = tempfile.mkdtemp(prefix="pfs-sim-test.")
    sim = Sim(args.ctl, args.bin, tmp)
    try:
        why = sim.start()
        if why:
            log("SKIP: %s" % why)
            return SKIP
        expected = run_workload(sim)
        sim.stop()
        check_final_stats(sim, expected)
        log("PASS")
        return 0
    except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError) as e:
        log("FAIL: %s" % e)
        log("daemon log:\n%s" % sim.log_text())
        return 1
    finally:
        sim.force_cleanup()
        signal.alarm(0)
        remove_tmp(tmp)


if __name__ == "__main__":
    sys.exit(main())
