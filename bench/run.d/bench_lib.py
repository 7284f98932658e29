# bench_lib.py - the body of bench/run: simulator lifecycle, runs per mode, stats, CSV, table.
import csv
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import bench_mn
import bench_plot

WORKLOADS = ["wrf", "namd", "vpic", "specfem", "resnet", "pyimport", "montage",
             "bulk-small", "bulk-large", "mdtest"]
NEEDS_SETUP = {"wrf", "namd", "resnet", "pyimport"}
MODES = ["native", "ebt", "local"]
# "single": natively, one rank writes everything (LustreBulk's single-writer mode); "ebt-input":
# as ebt, with the workload's directory also given as --input (its metadata cached); on request
ALL_MODES = MODES + ["single", "ebt-input"]
# Per-workload visibility overrides (none: every workload runs with EBT's default, `close`).
# --ebt-visibility sets one mode for every workload.
EBT_VISIBILITY = {}  # native and ebt on pfs-sim; local = local disk, no simulator

# Lustre-like costs (see docs/benchmarks.md): MDS RPC ~200 us, OST RPC ~100 us, 16 OSTs of
# 200 MB/s each, 1 MiB stripes, stripe count 1, extent-lock revocation 1 ms.
SIM_OPTS = ["--osts", "16", "--stripe-size", "1M", "--stripe-count", "1",
            "--mds-threads", "4", "--oss-threads", "4",
            "--mds-latency-us", "200", "--oss-latency-us", "100",
            "--ost-bw-mbs", "200", "--lock-penalty-us", "1000"]

FIELDS = ["workload", "mode", "rep", "ok", "io_s", "tts_s", "mb_s", "wl_wall_s", "mds_ops",
          "mds_enoent", "oss_ops", "mds_cpu_s", "oss_cpu_s", "writer_nodes_per_ost_max",
          "writer_nodes_per_ost_mean",
          "osts_written", "lock_revocations", "pfs_write_bytes", "pfs_read_bytes",
          "flush_s", "flush_files", "digest"]


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def log(msg):
    print("bench/run: " + msg, file=sys.stderr, flush=True)


class Tools:
    """Binaries of the build; ebt-workload is compiled here if the build does not have it."""

    def __init__(self, build, repo, results):
        b = os.path.abspath(build)
        self.ebt = os.path.join(b, "bin", "ebt")
        self.lib = os.path.join(b, "lib", "libebt.so")
        self.sim = os.path.join(b, "bin", "pfs-sim")
        self.ctl = os.path.join(b, "bin", "pfs-sim-ctl")
        self.wl = os.path.join(b, "bin", "ebt-workload")
        for f in (self.ebt, self.lib):
            if not os.path.exists(f):
                raise Fail("%s missing: build first (cmake -S . -B build -G Ninja && ninja -C build)" % f)
        if not os.path.exists(self.sim):
            raise Skip("%s not built (libfuse3-dev missing?)" % self.sim)
        if not os.path.exists(self.wl):
            self.wl = compile_workloads(repo, results)


def compile_workloads(repo, results):
    src = os.path.join(repo, "bench", "workloads")
    out = os.path.join(results, "ebt-workload")
    files = sorted(os.path.join(src, f) for f in os.listdir(src) if f.endswith(".c"))
    cmd = ["cc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wshadow", "-Wno-unused-parameter",
           "-o", out] + files + ["-lpthread"]
    log("build has no ebt-workload; compiling it: " + " ".join(cmd))
    if subprocess.call(cmd) != 0:
        raise Fail("compiling bench/workloads failed")
    return out


def fuse_usable():
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
        os.close(fd)
        return True
    except OSError as e:
        log("/dev/fuse: %s" % e)
        return False


class Sim:
    """One pfs-sim with `nodes` client mounts, started and stopped by pfs-sim-ctl."""

    def __init__(self, tools, work, nodes):
        self.t = tools
        self.backing = os.path.join(work, "backing")
        self.mnt = os.path.join(work, "mnt")
        self.nodes = nodes
        self.up = False

    def start(self):
        os.makedirs(self.backing, exist_ok=True)
        os.makedirs(self.mnt, exist_ok=True)
        cmd = [self.t.ctl, "start", "--backing", self.backing, "--mnt", self.mnt,
               "--nodes", str(self.nodes), "--bin", self.t.sim,
               "--stats", os.path.join(self.mnt, "final-stats.json")] + SIM_OPTS
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            msg = r.stdout.strip().splitlines()[-3:]
            if r.returncode == 3 or "fuse" in r.stdout.lower() or "mount" in r.stdout.lower():
                raise Skip("cannot mount FUSE (pfs-sim-ctl exit %d): %s" % (r.returncode, " | ".join(msg)))
            raise Fail("pfs-sim-ctl start failed: %s" % " | ".join(msg))
        self.up = True

    def stop(self):
        if self.up:
            subprocess.call([self.t.ctl, "stop", "--mnt", self.mnt], stdout=subprocess.DEVNULL)
            self.up = False

    def ctl_file(self):
        return os.path.join(self.mnt, "node0", ".pfs-sim", "stats")

    def reset(self):
        with open(self.ctl_file(), "w") as f:
            f.write("reset")

    def stats(self):
        with open(self.ctl_file()) as f:
            return json.load(f)

    def node_path(self, node, rel):
        return os.path.join(self.mnt, "node%s" % node, rel)


def run_cmd(cmd, timeout, env=None):
    """Run in its own process group; returns (rc, stdout, stderr, seconds); kills on timeout."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return -1, out, err + "\n(timeout after %d s)" % timeout, time.monotonic() - t0
    except BaseException:  # interrupted: do not leave the run behind in its own session
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise
    return p.returncode, out, err, time.monotonic() - t0


def last_json(text):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def sim_row(st):
    osts = [o for o in st["osts"] if o["write_bytes"] > 0]
    wn = [o["writer_nodes"] for o in osts]
    return {"mds_ops": st["mds"]["ops"], "mds_enoent": st["mds"].get("enoent", ""),
            "oss_ops": st["oss"]["ops"],
            "mds_cpu_s": round(st["mds"]["cpu_s"], 4), "oss_cpu_s": round(st["oss"]["cpu_s"], 4),
            "writer_nodes_per_ost_max": max(wn) if wn else 0,
            "writer_nodes_per_ost_mean": round(sum(wn) / len(wn), 2) if wn else 0,
            "osts_written": len(osts), "lock_revocations": st["lock_revocations"],
            "pfs_write_bytes": st["write_bytes"], "pfs_read_bytes": st["read_bytes"]}


class Runner:
    """Runs one (workload, mode, repetition): setup outside the measurement, reset, run, stats,
    verify on the PFS (through node0, after EBT's flush), remove the files."""

    def __init__(self, a, tools, sim, work):
        self.a, self.t, self.sim, self.work = a, tools, sim, work

    def wl(self, name, d, nodes, extra=(), ranks=None):
        cmd = [self.t.wl, "--dir", d, "--ranks", str(ranks or self.a.ranks), "--nodes", str(nodes)]
        if not self.a.quick:
            cmd.append("--full")
        if self.a.bulk_files and name == "bulk-small":
            cmd += ["--files", str(self.a.bulk_files)]
        return cmd + list(extra) + [name]

    def dirs(self, name, mode, rep):
        rel = "%s.%s.%d" % (name, mode, rep)
        if mode == "local":
            d = os.path.join(self.work, "local", rel)
            return d, d, d, d
        # setup and cleanup go straight to the backing store: not counted, no simulated cost
        back = os.path.join(self.sim.backing, rel)
        run = self.sim.node_path("%n" if mode in ("native", "single") else 0, rel)
        return back, run, self.sim.node_path(0, rel), back

    def setup(self, name, back):
        os.makedirs(back, exist_ok=True)
        if name in NEEDS_SETUP:
            rc, out, err, _ = run_cmd(self.wl(name, back, 1, ["--setup"]), self.a.timeout)
            if rc != 0:
                raise Fail("setup of %s failed: %s" % (name, err.strip()))

    def launch(self, name, mode, run_dir):
        if mode in ("ebt", "ebt-input"):
            vis = self.a.ebt_visibility or EBT_VISIBILITY.get(name)
            cmd = [self.t.ebt, "run", "--json", "--pfs", run_dir]
            cmd += ["--input", run_dir] if mode == "ebt-input" else []
            cmd += ["--visibility", vis] if vis else []
            cmd += ["--"] + self.wl(name, run_dir, 1)
        elif mode == "single":
            cmd = self.wl(name, run_dir, 1, ranks=1)
        else:
            nodes = self.a.native_nodes if mode == "native" else 1
            cmd = self.wl(name, run_dir, nodes)
        env = dict(os.environ, EBT_LIB=self.t.lib)
        return run_cmd(cmd, self.a.timeout, env)

    def one(self, name, mode, rep):
        back, run_dir, verify_dir, clean = self.dirs(name, mode, rep)
        self.setup(name, back)
        if mode != "local":
            self.sim.reset()
        fl = None
        if mode in ("ebt", "ebt-input") and self.a.ebt_nodes > 1:
            rc, res, fl, err, tts = bench_mn.launch(self, name, run_dir, "%s.%d" % (name, rep),
                                                    last_json, mode == "ebt-input")
        else:
            rc, out, err, tts = self.launch(name, mode, run_dir)
            res = last_json(out) or {}
        st = self.sim.stats() if mode != "local" else None
        if st:  # the simulator's whole answer, per op kind, next to runs.csv
            sdir = os.path.join(os.path.dirname(self.a.partial_csv), "stats")
            os.makedirs(sdir, exist_ok=True)
            with open(os.path.join(sdir, "%s.%s.%d.json" % (name, mode, rep)), "w") as f:
                json.dump(st, f, indent=1)
        row = {"workload": name, "mode": mode, "rep": rep, "tts_s": round(tts, 4),
               "io_s": res.get("io_s", ""), "wl_wall_s": res.get("wall_s", "")}
        if st:
            row.update(sim_row(st))
            row["mb_s"] = round(st["write_bytes"] / tts / 1e6, 1) if tts > 0 else ""
        if mode in ("ebt", "ebt-input"):
            fl = fl if fl is not None else (last_json(err) or {}).get("flush", {})
            row.update({"flush_s": fl.get("seconds", ""), "flush_files": fl.get("files", "")})
        vrc, vout, verr, _ = run_cmd(self.wl(name, verify_dir, 1, ["--verify"]), self.a.timeout)
        row["digest"] = (last_json(vout) or {}).get("digest", "")
        row["ok"] = int(rc == 0 and res.get("ok") is True and vrc == 0)
        if not row["ok"]:
            log("%s/%s rep %d FAILED (run rc %d, verify rc %d):\n%s\n%s" %
                (name, mode, rep, rc, vrc, err.strip()[-2000:], verr.strip()[-2000:]))
        shutil.rmtree(clean, ignore_errors=True)
        return row


def check_digests(rows):
    """Every mode must leave the same bytes: the verify digests of a workload must agree."""
    bad = []
    for w in {r["workload"] for r in rows}:
        ds = {r["digest"] for r in rows if r["workload"] == w}
        if len(ds) != 1:
            bad.append("%s: digests differ between modes: %s" % (w, sorted(ds)))
    return bad


NUMERIC = ["io_s", "tts_s", "mb_s", "wl_wall_s", "mds_ops", "mds_enoent", "oss_ops", "mds_cpu_s",
           "oss_cpu_s",
           "writer_nodes_per_ost_max", "writer_nodes_per_ost_mean", "osts_written",
           "lock_revocations", "pfs_write_bytes", "pfs_read_bytes", "flush_s", "flush_files"]


def medians(rows):
    out = []
    keys = []
    for r in rows:
        if (r["workload"], r["mode"]) not in keys:
            keys.append((r["workload"], r["mode"]))
    for w, m in keys:
        rs = [r for r in rows if r["workload"] == w and r["mode"] == m]
        med = {"workload": w, "mode": m, "runs": len(rs), "ok": min(r["ok"] for r in rs)}
        for f in NUMERIC:
            vals = [r[f] for r in rs if r.get(f, "") != ""]
            med[f] = round(statistics.median(vals), 4) if vals else ""
        out.append(med)
    return out


def write_csv(path, rows, fields):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def fmt(v, nd=3):
    if v == "" or v is None:
        return "-"
    if isinstance(v, float):
        return ("%." + str(nd) + "f") % v
    return str(v)


def table(meds):
    """Markdown table of the medians, with EBT's ratios against the native simulator run."""
    by = {(m["workload"], m["mode"]): m for m in meds}
    hdr = ["workload", "mode", "runs", "I/O s", "time-to-solution s", "MB/s", "MDS ops", "MDS ENOENT",
           "OSS ops",
           "MDS CPU s", "OSS CPU s", "writer nodes/OST max (mean)", "lock revocations",
           "MDS ops native/EBT", "TTS native/EBT"]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for m in meds:
        nat = by.get((m["workload"], "native"))
        ratio_mds = ratio_tts = ""
        if m["mode"].startswith("ebt") and nat and m["mds_ops"] and m["tts_s"]:
            ratio_mds = "%.2fx" % (nat["mds_ops"] / m["mds_ops"])
            ratio_tts = "%.2fx" % (nat["tts_s"] / m["tts_s"])
        wn = "-" if m["writer_nodes_per_ost_max"] == "" else "%s (%s)" % (
            fmt(m["writer_nodes_per_ost_max"], 0), fmt(m["writer_nodes_per_ost_mean"], 2))
        cells = [m["workload"], m["mode"], str(m["runs"]), fmt(m["io_s"]), fmt(m["tts_s"]),
                 fmt(m["mb_s"], 1), fmt(m["mds_ops"], 0), fmt(m["mds_enoent"], 0),
                 fmt(m["oss_ops"], 0), fmt(m["mds_cpu_s"]),
                 fmt(m["oss_cpu_s"]), wn, fmt(m["lock_revocations"], 0), ratio_mds, ratio_tts]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def default_results(repo, quick):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(repo, "bench-results", "%s-%s" % ("quick" if quick else "full", stamp))


def run_all(a, runner):
    rows = []
    modes = [m for m in a.modes if not (a.no_local and m == "local")]
    for name in a.workloads:
        for rep in range(a.repeat):
            for mode in modes:
                row = runner.one(name, mode, rep)
                log("%-10s %-6s rep %d: ok=%d tts=%.3fs io=%ss mds=%s oss=%s" %
                    (name, mode, rep, row["ok"], row["tts_s"], row["io_s"],
                     row.get("mds_ops", "-"), row.get("oss_ops", "-")))
                rows.append(row)
                write_csv(a.partial_csv, rows, FIELDS)  # kept if the run is interrupted
    return rows


def main(a, repo):
    results = os.path.abspath(a.results or default_results(repo, a.quick))
    os.makedirs(results, exist_ok=True)
    tools = Tools(a.build, repo, results)
    if not fuse_usable():
        raise Skip("/dev/fuse cannot be opened: the PFS simulator needs FUSE")
    work = a.work or tempfile.mkdtemp(prefix="ebt-bench.", dir=os.environ.get("TMPDIR", "/var/tmp"))
    os.makedirs(work, exist_ok=True)
    sim = Sim(tools, work, max(a.native_nodes, a.ebt_nodes))
    a.partial_csv = os.path.join(results, "runs.csv")
    t0 = time.monotonic()
    try:
        sim.start()
        log("pfs-sim up: %d nodes, %s; results in %s" % (a.native_nodes, " ".join(SIM_OPTS), results))
        rows = run_all(a, Runner(a, tools, sim, work))
    finally:
        sim.stop()
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    meds = medians(rows)
    write_csv(os.path.join(results, "runs.csv"), rows, FIELDS)
    write_csv(os.path.join(results, "summary.csv"), meds, ["workload", "mode", "runs", "ok"] + NUMERIC)
    tab = table(meds)
    with open(os.path.join(results, "table.md"), "w") as f:
        f.write(tab + "\n")
    with open(os.path.join(results, "settings.txt"), "w") as f:
        f.write("command: %s\npfs-sim options: %s\nranks: %d, native nodes: %d, EBT nodes: %d, "
                "repeat: %d, scale: %s\n"
                % (" ".join(sys.argv), " ".join(SIM_OPTS), a.ranks, a.native_nodes, a.ebt_nodes, a.repeat,
                   "quick" if a.quick else "full"))
    print(tab)
    if not a.no_plots:
        bench_plot.plots(results, meds, install=not a.quick)
    failed = [r for r in rows if not r["ok"]]
    bad = check_digests(rows)
    log("done in %.1f s; %d runs, %d failed; results in %s" %
        (time.monotonic() - t0, len(rows), len(failed), results))
    if failed or bad:
        raise Fail("; ".join(["%s/%s rep %d did not complete or verify" % (r["workload"], r["mode"], r["rep"])
                              for r in failed] + bad))
    return 0
