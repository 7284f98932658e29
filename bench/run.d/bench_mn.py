# bench_mn.py - EBT on several virtual nodes for bench/run (--ebt-nodes N): one ebtd per node,
# node i in a mount namespace where the simulator's client mount node<i> is bound over node0 (so
# every node names the job's files by the same path, and the simulator sees which node does what),
# the workload's ranks split over the nodes (one ebt-workload per node sharing one barrier), then
# one job-wide `ebt flush` and `ebt stop` on every node. Time to solution covers all of it.
import os
import shutil
import subprocess
import time

BIND = """#!/bin/bash
mount --bind "$1" "$2" || exit 1
shift 2
exec "$@"
"""


def wrap(work, sim, node):
    """The command prefix running on `node` (node 0: the root mount namespace)."""
    if node == 0:
        return []
    script = os.path.join(work, "bind.sh")
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write(BIND)
        os.chmod(script, 0o755)
    return ["unshare", "-m", "--propagation", "private", script, sim.node_path(node, ""),
            sim.node_path(0, "")]


def exports(text):
    env = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[7:].split("=", 1)
            env[k] = v.strip("'\"")
    return env


class Fail(Exception):
    pass


def start_nodes(runner, n, run_dir, tag, inputs=False):
    """ebt start on every node at once (they meet at the rendezvous): per-node environments.
    inputs: the workload's directory is also an input (mode ebt-input)."""
    base = os.path.join(runner.work, "ebt-mn", tag)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(os.path.join(base, "rdv"))
    procs = []
    for i in range(n):
        cache = os.path.join(base, "cache%d" % i)
        os.makedirs(cache)
        cmd = wrap(runner.work, runner.sim, i) + [
            runner.t.ebt, "start", "--nodes", str(n), "--node-id", str(i), "--rendezvous",
            os.path.join(base, "rdv"), "--cache", cache, "--pfs", run_dir]
        cmd += ["--input", run_dir] if inputs else []
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=dict(os.environ, UCX_NET_DEVICES="lo")))
    envs, errs = [], []
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=runner.a.timeout)
        if p.returncode != 0:
            errs.append("node %d: ebt start: %s" % (i, err.strip()[-500:]))
        envs.append(exports(out))
    return envs, errs, base


def stop_nodes(runner, envs):
    for i, e in enumerate(envs):
        if e.get("EBT_RUN_DIR"):
            subprocess.run([runner.t.ebt, "stop", "--run-dir", e["EBT_RUN_DIR"]],
                           capture_output=True, timeout=runner.a.timeout)


def run_ranks(runner, name, n, run_dir, envs, base):
    """The workload's ranks: node i runs those of node i, all sharing one barrier file."""
    shm = os.path.join(base, "wl.shm")
    subprocess.run([runner.t.wl, "--shm", shm, "--shm-init", "--ranks", str(runner.a.ranks)],
                   check=True, capture_output=True)
    procs = []
    for i in range(n):
        env = dict(os.environ, LD_PRELOAD=runner.t.lib)
        env.update(envs[i])  # ebt start's exports (its LD_PRELOAD among them)
        cmd = wrap(runner.work, runner.sim, i) + runner.wl(
            name, run_dir, n, ["--shm", shm, "--node-only", str(i)])
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env))
    outs, errs, rc = [], [], 0
    for p in procs:
        out, err = p.communicate(timeout=runner.a.timeout)
        rc = rc or p.returncode
        outs.append(out)
        errs.append(err)
    return rc, outs, "\n".join(errs)


def launch(runner, name, run_dir, tag, last_json, inputs=False):
    """The whole EBT run on --ebt-nodes nodes: (rc, workload result, flush summary, seconds)."""
    n = runner.a.ebt_nodes
    t0 = time.monotonic()
    envs, errs, base = start_nodes(runner, n, run_dir, tag, inputs)
    res, flush, err, rc = {}, {}, "\n".join(errs), 1 if errs else 0
    try:
        if rc == 0:
            rc, outs, err = run_ranks(runner, name, n, run_dir, envs, base)
            results = [last_json(o) or {} for o in outs]
            res = {"ok": all(r.get("ok") is True for r in results),
                   "io_s": max((r.get("io_s", 0) for r in results), default=0),
                   "wall_s": max((r.get("wall_s", 0) for r in results), default=0)}
        if rc == 0:
            f = subprocess.run([runner.t.ebt, "flush", "--json", "--run-dir",
                                envs[0]["EBT_RUN_DIR"]], capture_output=True, text=True,
                               timeout=runner.a.timeout)
            rc = f.returncode
            err += f.stderr[-2000:]
            flush = (last_json(f.stderr) or {}).get("flush", {})
    finally:
        stop_nodes(runner, envs)
        shutil.rmtree(base, ignore_errors=True)
    return rc, res, flush, err, time.monotonic() - t0
