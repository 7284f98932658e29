# bench_plot.py - PNG bar charts of the bench/run medians with gnuplot (gnuplot-nox from Debian).
import os
import shutil
import subprocess
import sys

# (file, title, y label, metric, modes, log scale)
PLOTS = [
    ("tts.png", "Time to solution (incl. EBT flush)", "seconds", "tts_s", ["native", "ebt", "local"], True),
    ("io.png", "I/O time inside the workload", "seconds", "io_s", ["native", "ebt", "local"], True),
    ("mds_ops.png", "MDS operations", "operations", "mds_ops", ["native", "ebt"], True),
    ("oss_ops.png", "OSS operations (stripe pieces)", "operations", "oss_ops", ["native", "ebt"], True),
    ("mds_cpu.png", "MDS CPU seconds", "seconds", "mds_cpu_s", ["native", "ebt"], True),
    ("oss_cpu.png", "OSS CPU seconds", "seconds", "oss_cpu_s", ["native", "ebt"], True),
]
LABEL = {"native": "native on pfs-sim", "ebt": "EBT on pfs-sim", "local": "native on local disk"}


def have_gnuplot(install):
    if shutil.which("gnuplot"):
        return True
    if not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    print("bench/run: installing gnuplot-nox", file=sys.stderr)
    q = {"stdout": subprocess.DEVNULL, "env": dict(os.environ, DEBIAN_FRONTEND="noninteractive")}
    if subprocess.call(["apt-get", "install", "-y", "gnuplot-nox"], **q) != 0:
        subprocess.call(["apt-get", "update"], **q)
        subprocess.call(["apt-get", "install", "-y", "gnuplot-nox"], **q)
    return bool(shutil.which("gnuplot"))


def data_file(results, meds, metric, modes):
    path = os.path.join(results, "plot-%s.dat" % metric)
    by = {(m["workload"], m["mode"]): m for m in meds}
    names = []
    for m in meds:
        if m["workload"] not in names:
            names.append(m["workload"])
    with open(path, "w") as f:
        f.write("workload " + " ".join(modes) + "\n")
        for w in names:
            vals = []
            for mode in modes:
                v = by.get((w, mode), {}).get(metric, "")
                vals.append(str(v) if v not in ("", None) and v > 0 else "NaN")
            f.write("%s %s\n" % (w, " ".join(vals)))
    return path


def script(png, title, ylabel, dat, modes, logy):
    cols = ", ".join("'%s' using %d%s title '%s'" % (dat if i == 0 else "", i + 2,
                                                    ":xtic(1)" if i == 0 else "", LABEL[m])
                     for i, m in enumerate(modes))
    return "\n".join([
        "set terminal pngcairo size 900,420 font 'sans,10'" if _cairo() else "set terminal png size 900,420",
        "set output '%s'" % png, "set title '%s'" % title, "set ylabel '%s'" % ylabel,
        "set style data histogram", "set style histogram cluster gap 1",
        "set style fill solid 0.85 border -1", "set boxwidth 0.9", "set xtics rotate by -30",
        "set key top left", "set grid ytics",
        "set logscale y" if logy else "", "set yrange [*:*]",
        "plot " + cols, ""])


_CAIRO = None


def _cairo():
    global _CAIRO
    if _CAIRO is None:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        _CAIRO = "pngcairo" in (r.stdout + r.stderr)
    return _CAIRO


def plots(results, meds, install):
    if not have_gnuplot(install):
        print("bench/run: gnuplot not found: no plots (apt-get install gnuplot-nox)", file=sys.stderr)
        return []
    made = []
    for png, title, ylabel, metric, modes, logy in PLOTS:
        dat = data_file(results, meds, metric, modes)
        out = os.path.join(results, png)
        gp = script(out, title, ylabel, dat, modes, logy)
        r = subprocess.run(["gnuplot"], input=gp, capture_output=True, text=True)
        if r.returncode != 0:
            print("bench/run: gnuplot failed for %s: %s" % (png, r.stderr.strip()), file=sys.stderr)
        else:
            made.append(out)
    return made
