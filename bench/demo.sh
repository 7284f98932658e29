#!/bin/bash
# demo.sh BUILD - the main job on an embedded default: a small HPC-like workload run natively and
# through `ebt run`, each into a local directory standing in for the PFS; prints both summaries
# and checks that the two result trees are identical.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
EBT=$BUILD/bin/ebt
DRV=$BUILD/tests/bin
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/ebt-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/pfs-native" "$WORK/pfs-ebt" "$WORK/src"

# Inputs: a source tree to unpack (like a code or data set), made here so the demo needs nothing.
for d in 1 2 3 4; do
    mkdir -p "$WORK/src/set$d"
    for f in $(seq 1 50); do head -c $((f * 97)) /dev/urandom > "$WORK/src/set$d/f$f.dat"; done
done
tar cf "$WORK/inputs.tar" -C "$WORK/src" .

# The job: unpack inputs, 4 ranks write 40 result files each, then a python step reads them all
# and writes a summary - the small-file pattern that hurts a parallel file system.
cat > "$WORK/job.sh" <<JOB
set -e
OUT=\$1
mkdir -p "\$OUT/inputs" "\$OUT/results"
tar xf "$WORK/inputs.tar" -C "\$OUT/inputs"
"$DRV/nn_writer" "\$OUT/results" 4 40 65536 >/dev/null
/usr/bin/python3 - "\$OUT" <<'PY'
import os, sys, hashlib
out = sys.argv[1]
h = hashlib.sha256()
n = 0
for root, dirs, files in os.walk(os.path.join(out, "results")):
    dirs.sort()
    for f in sorted(files):
        with open(os.path.join(root, f), "rb") as fh:
            h.update(fh.read())
        n += 1
with open(os.path.join(out, "summary.txt"), "w") as fh:
    fh.write(f"{n} result files, sha256 {h.hexdigest()}\n")
PY
JOB

now() { date +%s.%N; }
echo "== without EBT: the job writes straight to the (stand-in) PFS $WORK/pfs-native"
t0=$(now); bash "$WORK/job.sh" "$WORK/pfs-native"; t1=$(now)
native=$(printf "%.3f" "$(echo "$t1 - $t0" | bc)")
echo "   time to solution: ${native} s"
echo "== with EBT: ebt run --pfs $WORK/pfs-ebt -- bash job.sh"
t0=$(now); "$EBT" run --pfs "$WORK/pfs-ebt" -- bash "$WORK/job.sh" "$WORK/pfs-ebt"; t1=$(now)
with=$(printf "%.3f" "$(echo "$t1 - $t0" | bc)")
echo "   time to solution (job + flush + daemon start/stop): ${with} s"
echo "== result"
cat "$WORK/pfs-ebt/summary.txt"
if diff -r "$WORK/pfs-native" "$WORK/pfs-ebt" >/dev/null; then
    echo "   the EBT tree is identical to the native tree ($(find "$WORK/pfs-ebt" -type f | wc -l) files)"
else
    echo "   ERROR: the trees differ"; exit 1
fi
echo "   (a local disk hides what EBT saves on Lustre; see docs/benchmarks.md for the simulator)"
