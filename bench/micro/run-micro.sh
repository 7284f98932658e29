#!/usr/bin/env bash
# run-micro.sh - run microbench natively and under EBT (interleaved), print medians and ratios.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3 # python3 on PATH may be a shell shim
REPS=7
PREAD_N=2000000
WRITE_MB=1024
CREATE_N=20000
MODES="close write"
BUILD=${EBT_BUILD:-$HERE/../../build}
OUT=$HERE/results.md
SMOKE=0
KEEP=0

usage() {
    cat <<EOF
usage: run-micro.sh [options]
  -r, --reps R          repetitions of every case and mode (default $REPS)
  -b, --build DIR       EBT build directory with bin/microbench, lib/libebt.so (default \$EBT_BUILD
                        or <repo>/build); bin/ebt is used if present, else a stand-in daemon
      --pread-n N       4 KiB preads per repetition (default $PREAD_N)
      --write-mb MB     MiB written per repetition in 1 MiB writes (default $WRITE_MB)
      --create-n N      4 KiB files created per repetition (default $CREATE_N)
      --modes LIST      EBT visibility modes, space separated (default "$MODES")
  -o, --out FILE        markdown results (default bench/micro/results.md)
      --smoke           tiny sizes, 1 repetition, no timing checks (the ctest smoke test)
      --keep            keep the scratch directories (for inspection)
Environment: EBT_CLI overrides the ebt binary (default <build>/bin/ebt).
Raw records (mode, case, repetition, wall seconds, flush seconds, JSON) are copied next to the output as .tsv.
EOF
}

parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
        -r | --reps) REPS=$2; shift ;;
        -b | --build) BUILD=$2; shift ;;
        --pread-n) PREAD_N=$2; shift ;;
        --write-mb) WRITE_MB=$2; shift ;;
        --create-n) CREATE_N=$2; shift ;;
        --modes) MODES=$2; shift ;;
        -o | --out) OUT=$2; shift ;;
        --smoke) SMOKE=1 ;;
        --keep) KEEP=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "run-micro.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        esac
        shift
    done
    if [ "$SMOKE" = 1 ]; then
        REPS=1 PREAD_N=1000 WRITE_MB=4 CREATE_N=20
    fi
    BUILD=$(cd "$BUILD" && pwd)
    MB=$BUILD/bin/microbench
    LIB=$BUILD/lib/libebt.so
    EBT=${EBT_CLI:-$BUILD/bin/ebt}
    for f in "$MB" "$LIB"; do
        [ -e "$f" ] || { echo "run-micro.sh: $f missing: build first" >&2; exit 2; }
    done
}

# ---- scratch space: all on /dev/shm (tmpfs), the storage EBT caches in ----
setup_scratch() {
    SCR=$(mktemp -d /dev/shm/ebt.bench.XXXXXX)
    NATIVE=$SCR/native      # native target directory
    PFS=$SCR/pfs            # the managed ("PFS") directory under EBT
    DATA=$SCR/data          # unmanaged input of pread4k
    RECS=$SCR/records.tsv   # mode case rep wall flush json
    mkdir -p "$NATIVE" "$PFS" "$DATA"
    head -c $((4 * 1024 * 1024)) /dev/urandom >"$DATA/pread.dat"
    : >"$RECS"
    LISTENERS=()
    STANDIN_RUNS=()
    trap cleanup EXIT
}

cleanup() {
    local pid
    for pid in "${LISTENERS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ "$KEEP" = 1 ]; then
        echo "scratch kept in $SCR ${STANDIN_RUNS[*]}" >&2
    else
        rm -rf "$SCR" "${STANDIN_RUNS[@]}"
    fi
}

# ---- stand-in for `ebt run`: a run directory and a socket that accepts and closes ----
start_standin() { # mode -> sets RUN_<mode>
    local mode=$1 run
    run=$(mktemp -d /dev/shm/ebt.bench.run.XXXXXX)
    mkdir -p "$run"/{up,task,stage,meta}
    env -u LD_PRELOAD "$PY" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
' "$run/ebtd.sock" >"$run/listener.out" 2>&1 &
    LISTENERS+=($!)
    for _ in $(seq 100); do [ -S "$run/ebtd.sock" ] && break; sleep 0.05; done
    [ -S "$run/ebtd.sock" ] || { echo "run-micro.sh: stand-in listener did not start" >&2; exit 1; }
    printf -v "RUN_$mode" '%s' "$run"
    STANDIN_RUNS+=("$run")
}

runner_name() {
    if [ -x "$EBT" ]; then echo "ebt run ($EBT)"; else echo "stand-in (python listener + LD_PRELOAD)"; fi
}

now() { date +%s.%N; }

# Run one command, append "mode case rep wall flush json" to RECS (flush: from ebt run's
# "ebt: flush seconds" line on stderr, "-" otherwise).
record() { # mode case rep cmd...
    local mode=$1 case=$2 rep=$3 t0 t1 out flush
    shift 3
    t0=$(now)
    out=$("$@" 2>"$SCR/stderr") || {
        cat "$SCR/stderr" >&2
        echo "run-micro.sh: $mode $case failed: $*" >&2
        exit 1
    }
    t1=$(now)
    out=$(printf '%s\n' "$out" | grep '^{' | tail -n 1)
    flush=$(awk '/^ebt: flush seconds/ { v = $NF } END { print (v == "" ? "-" : v) }' "$SCR/stderr")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$case" "$rep" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')" "$flush" "$out" >>"$RECS"
}

# Arguments of microbench for a case, given its target directory.
case_args() { # case dir rep
    case "$1" in
    pread4k) echo "pread4k $DATA/pread.dat $PREAD_N" ;;
    write1m) echo "write1m $2/w.$3 $WRITE_MB" ;;
    create4k) echo "create4k $2/c.$3 $CREATE_N" ;;
    esac
}

run_native() { # case rep
    # shellcheck disable=SC2046
    record native "$1" "$2" env -u LD_PRELOAD -u EBT_RUN_DIR -u EBT_PATHS \
        "$MB" $(case_args "$1" "$NATIVE" "$2")
    rm -rf "$NATIVE/w.$2" "$NATIVE/c.$2"
}

run_ebt() { # mode case rep
    local mode=$1 run
    if [ -x "$EBT" ]; then
        # shellcheck disable=SC2046
        record "$mode" "$2" "$3" env -u LD_PRELOAD "$EBT" run --pfs "$PFS" --visibility "$mode" \
            -- "$MB" $(case_args "$2" "$PFS" "$3")
        verify_flushed "$2" "$3"
    else
        run=RUN_$mode
        run=${!run}
        # shellcheck disable=SC2046
        record "$mode" "$2" "$3" env EBT_RUN_DIR="$run" EBT_PATHS="$PFS" EBT_VISIBILITY="$mode" \
            LD_PRELOAD="$LIB" "$MB" $(case_args "$2" "$PFS" "$3")
        verify_cached "$run" "$2" "$3"
    fi
}

fail_verify() {
    echo "run-micro.sh: VERIFY FAILED: $*" >&2
    exit 1
}

# Count regular files and bytes under a directory: "files bytes".
tree_size() {
    find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{n++; b+=$1} END {printf "%.0f %.0f\n", n, b}'
}

expect_tree() { # dir case
    local want got
    case "$2" in
    write1m) want="1 $((WRITE_MB * 1024 * 1024))" ;;
    create4k) want="$CREATE_N $((CREATE_N * 4096))" ;;
    *) return 0 ;;
    esac
    got=$(tree_size "$1")
    [ "$got" = "$want" ] || fail_verify "$1 holds '$got' (files bytes), expected '$want'"
}

# Stand-in: the data must be in RUN/up/<PFS path>, nothing on the PFS, no stage left over.
verify_cached() { # run case rep
    local run=$1 sub
    [ ! -e "$run/warned-no-daemon" ] || fail_verify "client did not see the daemon socket"
    [ "$2" = pread4k ] && return 0
    sub=$([ "$2" = write1m ] && echo "w.$3" || echo "c.$3")
    [ ! -e "$PFS/$sub" ] || fail_verify "$PFS/$sub exists: writes passed through EBT"
    expect_tree "$run/up$PFS/$sub" "$2"
    [ -z "$(ls -A "$run/stage")" ] || fail_verify "stage files left in $run/stage"
    rm -rf "${run:?}/up$PFS/$sub"
}

# ebt run: its flush (not the program) must have put the data into the PFS directory.
verify_flushed() { # case rep
    local sub want got
    [ "$1" = pread4k ] && return 0
    sub=$([ "$1" = write1m ] && echo "w.$2" || echo "c.$2")
    want=$([ "$1" = write1m ] && echo 1 || echo "$CREATE_N")
    got=$(awk '/^ebt: files/ { print $NF }' "$SCR/stderr")
    [ "$got" = "$want" ] || fail_verify "ebt run flushed '$got' files, expected $want"
    expect_tree "$PFS/$sub" "$1"
    rm -rf "${PFS:?}/$sub"
}

# An untimed native run of the case, discarded. Without it the first write1m of a repetition
# was 3-5x slower whatever its mode (fresh tmpfs pages: on this VM the first touch of memory
# that was not recently used is slow), which biased the medians toward the run order.
warm_up() { # case
    # shellcheck disable=SC2046
    env -u LD_PRELOAD -u EBT_RUN_DIR -u EBT_PATHS "$MB" $(case_args "$1" "$NATIVE" 0) >/dev/null
    rm -rf "$NATIVE/w.0" "$NATIVE/c.0"
}

# One repetition: every case, modes in a rotated order so none always runs first.
run_rep() { # rep
    local rep=$1 c i k all
    read -r -a all <<<"native $MODES"
    local n=${#all[@]}
    for c in pread4k write1m create4k; do
        warm_up "$c"
        for ((i = 0; i < n; i++)); do
            k=${all[$(((i + rep) % n))]}
            if [ "$k" = native ]; then run_native "$c" "$rep"; else run_ebt "$k" "$c" "$rep"; fi
        done
    done
}

machine() {
    echo "$(nproc) cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 |
        sed 's/^ *//'), /dev/shm: $(stat -f -c %T /dev/shm)"
}

main() {
    parse_args "$@"
    setup_scratch
    if [ ! -x "$EBT" ]; then
        for m in $MODES; do start_standin "$m"; done
    fi
    echo "runner: $(runner_name)" >&2
    echo "machine: $(machine)" >&2
    for ((r = 1; r <= REPS; r++)); do
        echo "repetition $r/$REPS" >&2
        run_rep "$r"
    done
    local smoke=()
    [ "$SMOKE" = 1 ] && smoke=(--smoke)
    "$PY" "$HERE/summarize.py" --records "$RECS" --out "$OUT" --runner "$(runner_name)" \
        --machine "$(machine)" --command "bench/micro/run-micro.sh $*" --modes "$MODES" \
        --sizes "pread4k N=$PREAD_N (4 MiB file); write1m ${WRITE_MB} MiB; create4k N=$CREATE_N" \
        "${smoke[@]}"
    cp "$RECS" "${OUT%.md}.tsv" # raw records: mode case rep wall flush json
}

main "$@"
