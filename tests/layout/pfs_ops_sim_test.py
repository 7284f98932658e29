#!/usr/bin/python3
# pfs_ops_sim_test.py - EBT's count of the PFS operations it makes for a job (job phase: the
# client's calls on PFS paths, RUN/pfsops; flush: the flush's meta_ops) against what the PFS
# simulator counted in each phase (ebt start, the job, ebt stat, ebt flush: counters reset
# between phases).
"""Exit 0 pass, 1 fail, 77 skip (no FUSE). What the simulator counts that EBT cannot see, and so
what is taken out before comparing (docs/flush.md "Counting PFS operations"):
- getattr: with the simulator's entry/attr timeouts of 0 the kernel looks up every component of
  a path inside the mount on every call (one getattr each); EBT makes one call per path;
- release: the close of a file EBT opened on the PFS (close is not a path call);
- flush: counted by the simulator without server cost, not in its MDS total.
So: job phase  sim_ops - getattr - release <= EBT job <= sim_ops (every EBT call is at least one
simulator op, every non-lookup op came from an EBT call); flush  |EBT flush - (sim_ops - getattr
- release)| <= max(3, 5%): the flush also counts calls the simulator never sees (syncfs, O_PATH
opens of directories) and the kernel adds a few (directory times, access)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layout_sim_test as L  # noqa: E402  (Sim, fuse_usable, log helpers)

SKIP = 77
NAMES = 20  # files the job creates, and names it looks for that do not exist


def log(msg):
    print("pfs_ops_sim_test: %s" % msg, flush=True)


def sim_phase(sim):
    st = sim.stats()
    ops = st["nodes"][0]["ops"]
    return st["mds"]["ops"], ops


def run(cmd, env, what):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    if r.returncode != 0:
        L.fail("%s failed (%d): %s %s" % (what, r.returncode, r.stdout, r.stderr))
    return r


def env_of(start_out, base):
    env = dict(base)
    for line in start_out.splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[7:].split("=", 1)
            if k != "LD_PRELOAD":  # the job gets the client library, the ebt tool does not
                env[k] = v.strip("'\"")
    return env


JOB = """P=$1
mkdir -p $P/a/b
for k in $(seq %d); do echo x$k > $P/a/b/f$k; test -e $P/none$k || true; done
ls $P/a/b >/dev/null
cat $P/old >/dev/null
""" % NAMES


def phases(args, sim, pfs, tmp):
    cache = os.path.join(tmp, "cache")
    os.mkdir(cache)
    base = dict(os.environ, EBT_LOG_LEVEL="2")
    r = run([args.ebt, "start", "--pfs", pfs, "--cache", cache], base, "ebt start")
    env = env_of(r.stdout, base)
    try:
        sim.reset()
        job_env = dict(env, LD_PRELOAD=args.lib)
        run(["sh", "-c", JOB, "job", pfs], job_env, "the job")
        sim_job, job_ops = sim_phase(sim)
        stat = json.loads(run([args.ebt, "stat", "--json"], env, "ebt stat").stdout)
        ebt_job = stat.get("job_pfs_meta_ops")
        sim.reset()
        out = run([args.ebt, "flush", "--json"], env, "ebt flush")
        summary = [x for x in out.stderr.splitlines() if x.startswith("{")]
        flush = json.loads(summary[-1])["flush"]
        sim_flush, flush_ops = sim_phase(sim)
    finally:
        subprocess.run([args.ebt, "stop"], env=env, capture_output=True, timeout=60)
    return ebt_job, flush, sim_job, job_ops, sim_flush, flush_ops


def check(ebt_job, flush, sim_job, job_ops, sim_flush, flush_ops):
    seen_job = sim_job - job_ops["getattr"] - job_ops["release"]
    log("job phase: EBT counted %r; simulator %d MDS ops (%d getattr, %d release, %d others)"
        % (ebt_job, sim_job, job_ops["getattr"], job_ops["release"], seen_job))
    if ebt_job is None:
        L.fail("ebt stat --json has no job_pfs_meta_ops")
    if flush.get("job_meta_ops") != ebt_job:
        L.fail("flush summary job_meta_ops %r, ebt stat %r" % (flush.get("job_meta_ops"), ebt_job))
    if not seen_job <= ebt_job <= sim_job:
        L.fail("job phase: EBT's %d is outside [%d, %d]" % (ebt_job, seen_job, sim_job))
    if ebt_job < 2 * NAMES:  # at least a lookup per created file and per missing name
        L.fail("job phase: EBT counted %d for %d creates and %d missing names"
               % (ebt_job, NAMES, NAMES))
    seen_flush = sim_flush - flush_ops["getattr"] - flush_ops["release"]
    ebt_flush = flush["meta_ops"]
    log("flush: EBT counted %d; simulator %d MDS ops (%d getattr, %d release, %d others)"
        % (ebt_flush, sim_flush, flush_ops["getattr"], flush_ops["release"], seen_flush))
    if abs(ebt_flush - seen_flush) > max(3, seen_flush // 20):
        L.fail("flush: EBT's %d and the simulator's %d differ by more than max(3, 5%%)"
               % (ebt_flush, seen_flush))


def main():
    import argparse
    ap = argparse.ArgumentParser()
    for a in ("ctl", "bin", "ebt", "lib"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    why = L.fuse_usable()
    if why:
        log("SKIP: %s" % why)
        return SKIP
    signal.signal(signal.SIGALRM, lambda s, f: L.fail("watchdog: test took over 150 s"))
    signal.alarm(150)
    tmp = tempfile.mkdtemp(prefix="ebt-pfs-ops-sim.")
    sim = L.Sim(args.ctl, args.bin, tmp)
    try:
        why = sim.start()
        if why:
            log("SKIP: %s" % why)
            return SKIP
        pfs = os.path.join(sim.mnt, "node0", "d")
        os.makedirs(pfs)
        with open(os.path.join(pfs, "old"), "w") as f:
            f.write("on the PFS before the job\n")
        check(*phases(args, sim, pfs, tmp))
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
