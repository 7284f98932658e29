#!/bin/bash
# run.sh - multi-node benchmark of EBT on virtual nodes (one machine), see docs/benchmarks.md.
#   (a) remote read bandwidth: a file written on node 0, read on node 1 (timed open + read: the
#       MD_FETCH pull and the read), vs ucx_perftest tag_bw 1 MiB, for UCX_TLS=tcp and unset
#       (default: shared memory for perftest); per repetition both, order rotated. A second read
#       on node 1 (its fetched copy) separates the pull from the read.
#   (b) metadata ops/s: create (open O_CREAT + close) and stat of NFILES files from one client per
#       node over 1, 2 and 4 virtual nodes (visibility close); node i stats node i+1's files.
#       "native" (no EBT, same /dev/shm) is measured in the same rotation as a reference.
# Usage: bench/multinode/run.sh [-r REPS] [--build DIR] [--size-mb MB] [--files N] [--out TSV]
# Caches and the PFS directory are on /dev/shm. Prints medians; raw records go to TSV.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPS=5 BUILD=/tmp/b-mt SIZE_MB=1024 NFILES=2000 OUT=$HERE/results.tsv
while (($#)); do
    case $1 in
    -r) REPS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --files) NFILES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [-r REPS] [--build DIR] [--size-mb MB] [--files N] [--out TSV]" >&2; exit 2 ;;
    esac
done
export EBT_BIN=$BUILD/bin/ebt EBT_LIB_DIR=$BUILD/lib DRIVERS_DIR=$BUILD/tests/bin TMPDIR=/dev/shm
BENCH=${MN_BENCH:-$BUILD/bin/mn_bench}
[[ -x $BENCH ]] || { echo "no $BENCH: build first" >&2; exit 2; }
. "$HERE/../../tests/multinode/mn_lib.sh"
mn_init mn_bench
T_TIMEOUT=900
B=$T_TMP/B
RAW=$T_TMP/raw.tsv
printf 'bench\tconfig\trep\tvalue\tunit\n' >"$RAW"
avail=$(df --output=avail -k /dev/shm | tail -1)
((avail > 3 * SIZE_MB * 1024)) || t_fail "/dev/shm has ${avail} KiB free, need 3 x $SIZE_MB MiB"

rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; t_log "$1 $2 rep $3: $4 $5"; }
json() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }

# fresh N-node job (clean rendezvous), daemons with extra environment ENV (e.g. UCX_TLS=tcp)
fresh() {
    local n=$1 env=$2 i
    shift 2
    rm -rf "$T_TMP/rdv" && mkdir "$T_TMP/rdv"
    for ((i = 0; i < n; i++)); do eval "MN_START_ENV_$i=\$env"; done
    mn_start "$n" "$@" >/dev/null
}

ebt_read() { # ebt_read TLSNAME ENV REP
    fresh 2 "$2"
    local f=$B/bw.dat out
    mn_on 0 "$BENCH" write "$f" "$SIZE_MB"
    [[ ! -e $f ]] || t_fail "bw.dat reached the PFS directly: not measuring EBT"
    out=$(mn_on 1 "$BENCH" read "$f")
    [[ $(json "$out" bytes) == $((SIZE_MB * 1048576)) ]] || t_fail "node 1 read a wrong size: $out"
    rec read_bw "ebt,$1" "$3" "$(awk -v b="$(json "$out" bytes)" -v s="$(json "$out" seconds)" \
        'BEGIN{printf "%.0f", b/s/1e6}')" MB/s
    out=$(mn_on 1 "$BENCH" read "$f") # again: node 1's fetched copy, no pull (the read alone)
    rec read_bw "ebt-reread,$1" "$3" "$(awk -v b="$(json "$out" bytes)" -v s="$(json "$out" seconds)" \
        'BEGIN{printf "%.0f", b/s/1e6}')" MB/s
    mn_on 0 rm -f "$f"
    mn_stop
}

perftest() { # perftest TLSNAME ENV REP
    local port=$((14000 + RANDOM % 10000)) out
    # shellcheck disable=SC2086
    env UCX_NET_DEVICES=lo $2 timeout 120 ucx_perftest -p "$port" >/dev/null 2>&1 &
    local srv=$!
    sleep 0.5
    # shellcheck disable=SC2086
    out=$(env UCX_NET_DEVICES=lo $2 timeout 120 ucx_perftest 127.0.0.1 -p "$port" -t tag_bw \
        -s 1048576 -n "$SIZE_MB" 2>&1) || t_fail "ucx_perftest failed: $out"
    wait "$srv" || true
    # Final: iters, overhead x3, bandwidth average, overall (MiB/s), msg rate x2
    rec read_bw "perftest,$1" "$3" "$(awk '/^Final:/{printf "%.0f", $7*1.048576}' <<<"$out")" MB/s
}

meta() { # meta CONFIG REP: CONFIG = native | 1 | 2 | 4 nodes
    local cfg=$1 r=$2 n i d outs=() out t0 t1 pids=()
    if [[ $cfg == native ]]; then
        d=$T_TMP/native.md && rm -rf "$d" && mkdir "$d"
        out=$("$BENCH" create "$d" n0_ "$NFILES")
        rec create native "$r" "$(awk -v o="$(json "$out" ops)" -v s="$(json "$out" seconds)" 'BEGIN{printf "%.0f", o/s}')" ops/s
        out=$("$BENCH" stat "$d" n0_ "$NFILES")
        rec stat native "$r" "$(awk -v o="$(json "$out" ops)" -v s="$(json "$out" seconds)" 'BEGIN{printf "%.0f", o/s}')" ops/s
        return
    fi
    n=$cfg
    fresh "$n" "" --visibility close
    d=$B/md.$n.$r
    mn_on 0 mkdir "$d"
    local op who
    for op in create stat; do
        pids=()
        for ((i = 0; i < n; i++)); do # stat: node i stats the files node i+1 created
            [[ $op == stat ]] && who=$(((i + 1) % n)) || who=$i
            mn_on "$i" "$BENCH" "$op" "$d" "n${who}_" $((NFILES / n)) >"$T_TMP/md.$i" &
            pids+=($!)
        done
        for i in "${pids[@]}"; do wait "$i" || t_fail "a $op client failed on $n nodes"; done
        t0=$(cat "$T_TMP"/md.* | sed -n 's/.*"t0":\([0-9.]*\).*/\1/p' | sort -g | head -1)
        t1=$(cat "$T_TMP"/md.* | sed -n 's/.*"t1":\([0-9.]*\).*/\1/p' | sort -g | tail -1)
        rm -f "$T_TMP"/md.*
        rec "$op" "ebt,${n}node" "$r" "$(awk -v o=$((NFILES / n * n)) -v a="$t0" -v b="$t1" \
            'BEGIN{printf "%.0f", o/(b-a)}')" ops/s
        if [[ $op == create ]]; then
            [[ -z $(ls -A "$d" 2>/dev/null) ]] || t_fail "created files reached the PFS directly"
        fi
    done
    mn_stop
}

TLS=("tcp:UCX_TLS=tcp" "default:")
MD=(native 1 2 4)
for ((r = 1; r <= REPS; r++)); do
    for k in 0 1; do # rotate which TLS and which side goes first
        t=${TLS[$(((k + r) % 2))]}
        if (((r + k) % 2)); then ebt_read "${t%%:*}" "${t#*:}" "$r"; perftest "${t%%:*}" "${t#*:}" "$r"
        else perftest "${t%%:*}" "${t#*:}" "$r"; ebt_read "${t%%:*}" "${t#*:}" "$r"; fi
    done
    for ((k = 0; k < 4; k++)); do meta "${MD[$(((k + r) % 4))]}" "$r"; done
done
cp "$RAW" "$OUT"
echo "# medians of $REPS repetitions (size $SIZE_MB MiB, $NFILES files); raw: $OUT"
/usr/bin/python3 - "$RAW" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
keys = sorted({(r["bench"], r["config"]) for r in rows})
med = {k: statistics.median(float(r["value"]) for r in rows if (r["bench"], r["config"]) == k) for k in keys}
for (b, c), v in sorted(med.items()):
    unit = next(r["unit"] for r in rows if r["bench"] == b)
    print(f"{b:8} {c:16} {v:10.0f} {unit}")
val = {(r["bench"], r["config"], r["rep"]): float(r["value"]) for r in rows}
for tls in ("tcp", "default"):
    e, p = med.get(("read_bw", "ebt," + tls)), med.get(("read_bw", "perftest," + tls))
    if e and p:
        # paired: each repetition's ebt over the perftest run next to it (robust to drift)
        pr = [val[("read_bw", "ebt," + tls, r)] / val[("read_bw", "perftest," + tls, r)]
              for (b, c, r) in val if (b, c) == ("read_bw", "ebt," + tls)
              and ("read_bw", "perftest," + tls, r) in val]
        print(f"ratio ebt/perftest ({tls}): {e / p:.2f} of medians, "
              f"{statistics.median(pr):.2f} median of paired repetitions")
PY
