#!/bin/bash
# run-stage.sh - ebt stage-out of a many-file tree against cp -a, side by side in one run
# (medians of R repetitions, the order of the tools rotated in each repetition).
# usage: bench/stage/run-stage.sh [--build DIR] [--files N] [--reps R] [--threads "1 4"]
#                                 [--src-dir DIR] [--dst-dir DIR | --pfs-sim]
# --pfs-sim: the destination is bench/pfs-sim (one node) with the Lustre-like settings of
# docs/benchmarks.md, and the simulator's MDS ops of each run are reported too.
set -eu
BUILD=build FILES=5000 REPS=3 THREADS="1 4" SRCDIR=/dev/shm DSTDIR=${TMPDIR:-/tmp} SIM=0
SIM_OPTS="--osts 16 --stripe-size 1M --stripe-count 1 --mds-threads 4 --oss-threads 4
--mds-latency-us 200 --oss-latency-us 100 --ost-bw-mbs 200 --lock-penalty-us 1000"
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --src-dir) SRCDIR=$2; shift 2 ;;
    --dst-dir) DSTDIR=$2; shift 2 ;;
    --pfs-sim) SIM=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--files N] [--reps R] [--threads \"1 4\"] [--src-dir DIR] [--dst-dir DIR | --pfs-sim]" >&2; exit 2 ;;
    esac
done
EBT=$BUILD/bin/ebt
[ -x "$EBT" ] || { echo "no $EBT: build first (or give --build)" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(mktemp -d "$SRCDIR/ebt-stage-bench-src.XXXXXX")
SIMD=""
cleanup() {
    [ -z "$SIMD" ] || "$BUILD/bin/pfs-sim-ctl" stop --mnt "$SIMD/mnt" > /dev/null || true
    rm -rf "$SRC" "$DST" ${SIMD:+"$SIMD"}
}
trap cleanup EXIT
if [ "$SIM" = 1 ]; then
    SIMD=$(mktemp -d "${TMPDIR:-/tmp}/ebt-stage-bench-sim.XXXXXX")
    mkdir -p "$SIMD/backing" "$SIMD/mnt"
    # shellcheck disable=SC2086
    "$BUILD/bin/pfs-sim-ctl" start --backing "$SIMD/backing" --mnt "$SIMD/mnt" --nodes 1 \
        --stats "$SIMD/stats.json" $SIM_OPTS > /dev/null
    DSTDIR=$SIMD/mnt/node0
fi
DST=$(mktemp -d "$DSTDIR/ebt-stage-bench-dst.XXXXXX")
mds_ops() {
    "$BUILD/bin/pfs-sim-ctl" stats --mnt "$SIMD/mnt" | /usr/bin/python3 -c \
        "import json, sys; print(json.load(sys.stdin)['mds']['ops'])"
}

# The tree: FILES files in directories of 100, sizes cycling 1K, 4K, 16K, 64K (+ a few bytes).
/usr/bin/python3 - "$SRC/tree" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
sizes = [1024, 4096, 16384, 65536]
blob = os.urandom(65536 + 64)
for i in range(n):
    d = '%s/d%03d' % (root, i // 100)
    if i % 100 == 0:
        os.makedirs(d)
    with open('%s/f%05d' % (d, i), 'wb') as f:
        f.write(blob[i % 64:i % 64 + sizes[i % 4] + i % 7])
PY
BYTES=$(du -sb --apparent-size "$SRC/tree" | cut -f1)

tools=("cp -a")
for t in $THREADS; do tools+=("ebt stage-out --threads $t"); done
run_tool() { # run_tool NAME DEST
    case $1 in
    "cp -a") cp -a "$SRC/tree" "$2" ;;
    *) "$EBT" ${1#ebt } "$SRC/tree" "$2" 2> /dev/null ;;
    esac
}
declare -A times mds
for r in $(seq 1 "$REPS"); do
    n=${#tools[@]}
    for k in $(seq 0 $((n - 1))); do
        tool=${tools[$(((k + r - 1) % n))]}
        rm -rf "$DST/out"; sync
        [ "$SIM" = 0 ] || "$BUILD/bin/pfs-sim-ctl" reset --mnt "$SIMD/mnt"
        t0=$(date +%s.%N)
        run_tool "$tool" "$DST/out"
        t1=$(date +%s.%N)
        times[$tool]="${times[$tool]:-} $(echo "$t1 - $t0" | bc)"
        [ "$SIM" = 0 ] || mds[$tool]=$(mds_ops)
        if [ "$r" = 1 ]; then  # every tool's copy is checked once: the same tree
            /usr/bin/python3 "$HERE/../../tests/flush/stage_compare.py" "$SRC/tree" "$DST/out" \
                > /dev/null || { echo "$tool: the copy differs from the source" >&2; exit 1; }
        fi
    done
done
rm -rf "$DST/out"

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
base=$(echo "${times["cp -a"]}" | median)
echo "tree: $FILES files in $(( (FILES + 99) / 100 )) directories, $BYTES bytes; src $SRCDIR," \
    "dst $([ "$SIM" = 1 ] && echo "pfs-sim ($(echo $SIM_OPTS))" || echo "$DSTDIR"); $REPS repetitions"
printf '%-30s %-26s %8s %12s %8s\n' tool "seconds (each run)" median "speed vs cp" "MDS ops"
for tool in "${tools[@]}"; do
    m=$(echo "${times[$tool]}" | median)
    printf '%-30s %-26s %8.3f %11.2fx %8s\n' "$tool" \
        "$(echo ${times[$tool]} | xargs printf '%.3f ')" "$m" "$(echo "$base / $m" | bc -l)" \
        "${mds[$tool]:--}"
done
