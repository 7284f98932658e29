#!/bin/bash
# run.sh - multi-node benchmark of EBT on virtual nodes (one machine), see docs/benchmarks.md.
#   (a) remote read bandwidth: a file written on node 0, read on node 1 (timed open + read: the
#       MD_FETCH pull and the read), vs ucx_perftest tag_bw 1 MiB, for UCX_TLS=tcp and unset
#       (default: shared memory for perftest); per repetition both, order rotated. A second read
#       on node 1 (its fetched copy) separates the pull from the read. With the mpi transport
#       (--transports, default both where ebtd has MPI): the same read with the daemons as one MPI
#       job, over Open MPI's TCP BTL (btl self,tcp) and its default (shared memory), against
#       ebt-mpi-perf bw 1 MiB (plain MPI, bench/transport/mpi_perf.c) in the same setting.
#   (b) metadata ops/s: create (open O_CREAT + close) and stat of NFILES files from one client per
#       node over 1, 2 and 4 virtual nodes (visibility close); node i stats node i+1's files.
#       "native" (no EBT, same /dev/shm) is measured in the same rotation as a reference; with the
#       mpi transport, 2 and 4 nodes again as one MPI job.
# Usage: bench/multinode/run.sh [-r REPS] [--build DIR] [--size-mb MB] [--files N] [--out TSV]
#                               [--transports "ucx mpi"]
# Caches and the PFS directory are on /dev/shm. Prints medians; raw records go to TSV.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPS=5 BUILD=/tmp/b-mt SIZE_MB=1024 NFILES=2000 OUT=$HERE/results.tsv TPS=
while (($#)); do
    case $1 in
    -r) REPS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --files) NFILES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --transports) TPS=$2; shift 2 ;;
    *) echo "usage: $0 [-r REPS] [--build DIR] [--size-mb MB] [--files N] [--out TSV] [--transports LIST]" >&2
       exit 2 ;;
    esac
done
export EBT_BIN=$BUILD/bin/ebt EBT_LIB_DIR=$BUILD/lib DRIVERS_DIR=$BUILD/tests/bin TMPDIR=/dev/shm
BENCH=${MN_BENCH:-$BUILD/bin/mn_bench}
[[ -x $BENCH ]] || { echo "no $BENCH: build first" >&2; exit 2; }
MN_MPIEXEC=$(sed -n 's/^EBT_MPIEXEC:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
[[ -n $TPS ]] || { TPS=ucx; [[ -n $MN_MPIEXEC && -x $BUILD/bin/ebt-mpi-perf ]] && TPS="ucx mpi"; }
for tp in $TPS; do
    [[ $tp == ucx || ($tp == mpi && -n $MN_MPIEXEC && -x $BUILD/bin/ebt-mpi-perf) ]] ||
        { echo "transport '$tp': need ucx, or mpi with ebtd and ebt-mpi-perf built with MPI" >&2; exit 2; }
done
export MN_MPIEXEC
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

ebt_read() { # ebt_read TLSNAME ENV REP [mpi]
    local name=ebt
    if [[ ${4:-ucx} == mpi ]]; then name=ebt-mpi; export MN_TRANSPORT=mpi; fi
    fresh 2 "$2"
    local f=$B/bw.dat out
    mn_on 0 "$BENCH" write "$f" "$SIZE_MB"
    [[ ! -e $f ]] || t_fail "bw.dat reached the PFS directly: not measuring EBT"
    out=$(mn_on 1 "$BENCH" read "$f")
    [[ $(json "$out" bytes) == $((SIZE_MB * 1048576)) ]] || t_fail "node 1 read a wrong size: $out"
    rec read_bw "$name,$1" "$3" "$(awk -v b="$(json "$out" bytes)" -v s="$(json "$out" seconds)" \
        'BEGIN{printf "%.0f", b/s/1e6}')" MB/s
    out=$(mn_on 1 "$BENCH" read "$f") # again: node 1's fetched copy, no pull (the read alone)
    rec read_bw "$name-reread,$1" "$3" "$(awk -v b="$(json "$out" bytes)" -v s="$(json "$out" seconds)" \
        'BEGIN{printf "%.0f", b/s/1e6}')" MB/s
    mn_on 0 rm -f "$f"
    mn_stop
    unset MN_TRANSPORT
}

mpiperf() { # mpiperf TLSNAME ENV REP: plain MPI, 1 MiB messages, 16 in flight, SIZE_MB of them
    local out
    # shellcheck disable=SC2086
    out=$(env $2 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 \
        "$MN_MPIEXEC" "${MN_MPI_FLAGS[@]}" -np 2 "$BUILD/bin/ebt-mpi-perf" bw -s 1048576 \
        -n "$SIZE_MB" -w 16 -r 1 2>&1) || t_fail "ebt-mpi-perf failed: $out"
    rec read_bw "mpiperf,$1" "$3" "$(sed -n 's/^median: \([0-9.]*\).*/\1/p' <<<"$out" | cut -d. -f1)" MB/s
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

meta() { # meta CONFIG REP: CONFIG = native | 1 | 2 | 4 nodes | mpi2 | mpi4 (nodes, transport mpi)
    local cfg=$1 r=$2 n i d outs=() out t0 t1 pids=() tag=ebt
    if [[ $cfg == native ]]; then
        d=$T_TMP/native.md && rm -rf "$d" && mkdir "$d"
        out=$("$BENCH" create "$d" n0_ "$NFILES")
        rec create native "$r" "$(awk -v o="$(json "$out" ops)" -v s="$(json "$out" seconds)" 'BEGIN{printf "%.0f", o/s}')" ops/s
        out=$("$BENCH" stat "$d" n0_ "$NFILES")
        rec stat native "$r" "$(awk -v o="$(json "$out" ops)" -v s="$(json "$out" seconds)" 'BEGIN{printf "%.0f", o/s}')" ops/s
        return
    fi
    n=${cfg#mpi}
    if [[ $cfg == mpi* ]]; then tag=ebt-mpi; export MN_TRANSPORT=mpi; fi
    fresh "$n" "" --visibility close
    d=$B/md.$cfg.$r
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
        rec "$op" "$tag,${n}node" "$r" "$(awk -v o=$((NFILES / n * n)) -v a="$t0" -v b="$t1" \
            'BEGIN{printf "%.0f", o/(b-a)}')" ops/s
        if [[ $op == create ]]; then # one node mounts the job's view over the PFS directory
            ((n == 1)) || [[ -z $(ls -A "$d" 2>/dev/null) ]] || t_fail "created files reached the PFS directly"
            local held=0
            for ((i = 0; i < n; i++)); do
                held=$((held + $(find "$(mn_run_dir "$i")" -type f -name "n${i}_*" | wc -l)))
            done
            ((held >= NFILES / n * n)) || t_fail "only $held of the created files are in node-local storage"
        fi
    done
    mn_stop
    unset MN_TRANSPORT
}

uses() { [[ " $TPS " == *" $1 "* ]]; } # uses ucx|mpi: that transport is measured
uses mpi && mn_require_mpi # once: MN_MPI_FLAGS, or skip with the reason
TLS=("tcp:UCX_TLS=tcp" "default:")
MPI_TLS=("tcp:OMPI_MCA_btl=self,tcp" "default:")
MD=(native)
uses ucx && MD+=(1 2 4)
uses mpi && MD+=(mpi2 mpi4)
for ((r = 1; r <= REPS; r++)); do
    for k in 0 1; do # rotate which TLS and which side goes first
        if uses ucx; then
            t=${TLS[$(((k + r) % 2))]}
            if (((r + k) % 2)); then ebt_read "${t%%:*}" "${t#*:}" "$r"; perftest "${t%%:*}" "${t#*:}" "$r"
            else perftest "${t%%:*}" "${t#*:}" "$r"; ebt_read "${t%%:*}" "${t#*:}" "$r"; fi
        fi
        if uses mpi; then
            t=${MPI_TLS[$(((k + r) % 2))]}
            if (((r + k) % 2)); then ebt_read "${t%%:*}" "${t#*:}" "$r" mpi; mpiperf "${t%%:*}" "${t#*:}" "$r"
            else mpiperf "${t%%:*}" "${t#*:}" "$r"; ebt_read "${t%%:*}" "${t#*:}" "$r" mpi; fi
        fi
    done
    for ((k = 0; k < ${#MD[@]}; k++)); do meta "${MD[$(((k + r) % ${#MD[@]}))]}" "$r"; done
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
def ratio(label, b, num, den):
    e, p = med.get((b, num)), med.get((b, den))
    if e and p:
        # paired: each repetition's value over the other run of the same repetition (robust to drift)
        pr = [val[(b, num, r)] / val[(b, den, r)]
              for (bb, c, r) in val if (bb, c) == (b, num) and (b, den, r) in val]
        print(f"ratio {label}: {e / p:.2f} of medians, "
              f"{statistics.median(pr):.2f} median of paired repetitions")
for tls in ("tcp", "default"):
    ratio(f"ebt/perftest ({tls})", "read_bw", "ebt," + tls, "perftest," + tls)
    ratio(f"ebt-mpi/mpiperf ({tls})", "read_bw", "ebt-mpi," + tls, "mpiperf," + tls)
    ratio(f"remote read mpi/ucx ({tls})", "read_bw", "ebt-mpi," + tls, "ebt," + tls)
for n in (2, 4):
    for b in ("create", "stat"):
        ratio(f"{b} mpi/ucx ({n} nodes)", b, f"ebt-mpi,{n}node", f"ebt,{n}node")
PY
