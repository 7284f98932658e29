#!/usr/bin/env python3
"""summarize.py - medians and native-vs-EBT ratios of run-micro.sh records (stdlib only)."""
import argparse
import json
import statistics
import sys

KEYS = {"bench": str, "ops": int, "bytes": int, "seconds": float, "rate": float,
        "mib_per_s": float, "ns_per_op": float}

# case -> (metric, unit, EBT/native ratio direction, target, what the ratio means)
CASES = {
    "pread4k": ("ns_per_op", "ns/op", "max", 1.05, "time per op, EBT/native (<= 1.05)"),
    "write1m": ("mib_per_s", "MiB/s", "min", 0.90, "throughput, EBT/native (>= 0.9)"),
    "create4k": ("rate", "files/s", "min", 1.00, "files per second, EBT/native (>= 1.0)"),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    for a in ("records", "out", "runner", "machine", "command", "modes", "sizes"):
        p.add_argument("--" + a, required=True)
    p.add_argument("--smoke", action="store_true")
    return p.parse_args()


def check(js, where):
    """The microbench JSON line must have every key with the right type."""
    for k, t in KEYS.items():
        if k not in js:
            sys.exit(f"summarize: {where}: key '{k}' missing")
        v = js[k]
        if not isinstance(v, t) and not (t is float and isinstance(v, int)):
            sys.exit(f"summarize: {where}: '{k}' is {type(v).__name__}, expected {t.__name__}")
    if js["ops"] <= 0 or js["seconds"] <= 0:
        sys.exit(f"summarize: {where}: ops and seconds must be positive")


def load(path):
    """Records: {(mode, case): {rep: (json, wall seconds, flush seconds or None)}}."""
    recs = {}
    with open(path) as f:
        for i, line in enumerate(f, 1):
            mode, case, rep, wall, flush, raw = line.rstrip("\n").split("\t", 5)
            try:
                js = json.loads(raw)
            except json.JSONDecodeError as e:
                sys.exit(f"summarize: line {i}: not JSON ({e}): {raw!r}")
            check(js, f"line {i}")
            if js["bench"] != case:
                sys.exit(f"summarize: line {i}: bench {js['bench']} != case {case}")
            fl = None if flush == "-" else float(flush)
            recs.setdefault((mode, case), {})[int(rep)] = (js, float(wall), fl)
    return recs


def paired_ratios(ebt, native, metric):
    return [ebt[r][0][metric] / native[r][0][metric] for r in sorted(ebt) if r in native]


def verdict(ratio, direction, target):
    ok = ratio <= target if direction == "max" else ratio >= target
    return "met" if ok else "MISSED"


def row(case, mode, recs):
    metric, unit, direction, target, _ = CASES[case]
    mine = recs[(mode, case)]
    vals = [v[0][metric] for v in mine.values()]
    med = statistics.median(vals)
    r = {"case": case, "mode": mode, "median": med, "min": min(vals), "max": max(vals),
         "unit": unit, "n": len(vals), "ratio": "", "paired": "", "verdict": "", "extra": ""}
    if mode != "native":
        native = recs[("native", case)]
        nmed = statistics.median(v[0][metric] for v in native.values())
        r["ratio"] = f"{med / nmed:.3f}"
        r["paired"] = f"{statistics.median(paired_ratios(mine, native, metric)):.3f}"
        r["verdict"] = verdict(med / nmed, direction, target)
        over = statistics.median(wall - js["seconds"] for js, wall, _ in mine.values())
        flushes = [fl for _, _, fl in mine.values() if fl is not None]
        r["extra"] = f"{over:.3f}"
        if flushes:
            r["extra"] += f" (flush {statistics.median(flushes):.3f})"
    return r


def table(rows):
    head = ("| case | mode | median | min..max | n | ratio of medians | median paired ratio "
            "| target | outside timed loop s (ebt run: flush) |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        target = CASES[r["case"]][4] if r["mode"] != "native" else ""
        lines.append(f"| {r['case']} | {r['mode']} | {r['median']:.1f} {r['unit']} "
                     f"| {r['min']:.1f}..{r['max']:.1f} | {r['n']} | {r['ratio']} "
                     f"| {r['paired']} | {target} {r['verdict']} | {r['extra']} |")
    return "\n".join(lines)


def main():
    a = parse_args()
    recs = load(a.records)
    modes = ["native"] + a.modes.split()
    rows = [row(c, m, recs) for c in CASES for m in modes if (m, c) in recs]
    if len(rows) != len(CASES) * len(modes):
        sys.exit(f"summarize: expected {len(CASES) * len(modes)} case/mode results, got {len(rows)}")
    md = "\n".join([
        f"Command: `{a.command}`", "",
        f"Machine: {a.machine}", "",
        f"EBT side run with: {a.runner}", "",
        f"Sizes: {a.sizes}", "",
        table(rows), "",
        "Ratios are EBT/native. 'median paired ratio' is the median over repetitions of the",
        "ratio within one repetition (native and EBT ran back to back). The last column is the",
        "median wall time of the whole EBT process (with ebt run: start-up, flush, stop) minus",
        "its timed loop; 'flush' is the median of ebt run's own 'flush seconds'.", ""])
    print(md)
    with open(a.out, "w") as f:
        f.write(md)
    if a.smoke:
        print("smoke: all JSON lines well-formed")


if __name__ == "__main__":
    main()
