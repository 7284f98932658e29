#!/bin/bash
# tp_compare.sh - the transport's backends side by side in one run: request latency (8 B, one
# call at a time) and bandwidth (1 MiB put and get, 16 MiB get; 16 in flight) through
# ebt-tp-bench, over UCX and over MPI. Rounds are interleaved (each round runs every setup once)
# and the median of the rounds' medians is reported. Usage: tp_compare.sh BUILD_DIR [ROUNDS]
set -u
B=${1:?usage: tp_compare.sh BUILD_DIR [ROUNDS]} ROUNDS=${2:-3}
BENCH=$B/bin/ebt-tp-bench
MPIEXEC=$(grep -m1 '^EBT_MPIEXEC:' "$B/CMakeCache.txt" | cut -d= -f2)
[ -x "$BENCH" ] && [ -n "$MPIEXEC" ] || { echo "need $BENCH built with MPI" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 UCX_NET_DEVICES=lo
export UCX_WARN_UNUSED_ENV_VARS=n
OMPI=()
"$MPIEXEC" --version 2>&1 | grep -q -E "Open MPI|OpenRTE" && OMPI=(-x EBT_TRANSPORT)
# setup name -> how ebt-tp-bench is started
run_setup() {
    local setup=$1
    shift
    case $setup in
    ucx) EBT_TRANSPORT=ucx "$BENCH" "$@" ;;
    mpi) EBT_TRANSPORT=mpi "$MPIEXEC" "${OMPI[@]}" -np 2 "$BENCH" "$@" ;;
    mpi-tcp) EBT_TRANSPORT=mpi "$MPIEXEC" "${OMPI[@]}" --mca btl self,tcp -np 2 "$BENCH" "$@" ;;
    esac
}
SETUPS=(ucx mpi)
[ ${#OMPI[@]} -gt 0 ] && SETUPS+=(mpi-tcp)
TESTS=("lat|-l -w 1 -s 8 -n 5000 -r 5" "put1m|-s 1048576 -n 2000 -w 16 -r 5"
       "get1m|-g -s 1048576 -n 2000 -w 16 -r 5" "get16m|-g -s 16777216 -n 200 -w 16 -r 5")
RES=$(mktemp)
trap 'rm -f "$RES"' EXIT
for r in $(seq 1 "$ROUNDS"); do
    for t in "${TESTS[@]}"; do
        name=${t%%|*} args=${t#*|}
        for s in "${SETUPS[@]}"; do
            # shellcheck disable=SC2086
            v=$(run_setup "$s" $args 2>/dev/null | sed -n 's/^median: \([0-9.]*\).*/\1/p')
            echo "round $r $name $s: ${v:-FAILED}" >&2
            echo "$name $s ${v:-nan}" >>"$RES"
        done
    done
done
median() { sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR + 1) / 2)] : "nan")}'; }
head="| measurement"
for s in "${SETUPS[@]}"; do head="$head | $s"; done
echo "$head |"
printf '|---'; for _ in "${SETUPS[@]}"; do printf '|---'; done; echo '|'
for t in "${TESTS[@]}"; do
    name=${t%%|*}
    unit="MB/s"; [ "$name" = lat ] && unit="us/call"
    line="| $name ($unit)"
    for s in "${SETUPS[@]}"; do
        line="$line | $(awk -v n="$name" -v s="$s" '$1 == n && $2 == s {print $3}' "$RES" | median)"
    done
    echo "$line |"
done
echo "rounds: $ROUNDS; each value is the median over rounds of ebt-tp-bench's median of 5 runs"
