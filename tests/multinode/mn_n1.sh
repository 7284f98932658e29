#!/bin/bash
# mn_n1.sh - N-1 strided on 4 virtual nodes: 8 ranks (2 per node) pwrite disjoint blocks of one
# shared file; after all closed a reader on each node checks the whole file; flush; PFS == native.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_n1
NODES=4
mkdir -p "$T_TMP/out"

# ranks FILE NRANKS BLOCK NBLOCKS: rank r runs on node r % NODES, all at once
ranks() {
    local r pids=()
    for ((r = 0; r < $2; r++)); do
        on $((r % NODES)) "$DRIVERS_DIR/n1_writer" --rank "$r" "$@" >/dev/null &
        pids+=($!)
    done
    for r in "${pids[@]}"; do wait "$r" || return 1; done
}

job() {
    local d=$1 i
    on 0 mkdir "$d/n1" || return 1
    ranks "$d/n1/aligned.dat" 8 65536 8
    ranks "$d/n1/odd.dat" 4 10007 13 # blocks straddle pages
    for ((i = 0; i < NODES; i++)); do
        on "$i" "$DRIVERS_DIR/n1_writer" --check "$d/n1/aligned.dat" 8 65536 8 >/dev/null &&
            on "$i" "$DRIVERS_DIR/n1_writer" --check "$d/n1/odd.dat" 4 10007 13 >/dev/null ||
            { t_log "node $i reads a wrong shared file"; return 1; }
        on "$i" sha256sum "$d/n1/aligned.dat" "$d/n1/odd.dat" | sed "s|$d||" \
            >"$T_TMP/out/sum$i.$MN_MODE" || return 1
    done
}

mn_native job
mn_start "$NODES"
mn_job job
for ((i = 0; i < NODES; i++)); do
    diff -u "$T_TMP/out/sum$i.native" "$T_TMP/out/sum$i.ebt" >&2 || t_fail "node $i: sums differ"
done
mn_flush 1
mn_stop
mn_compare
"$DRIVERS_DIR/n1_writer" --check "$T_TMP/B/n1/aligned.dat" 8 65536 8 || t_fail "aligned.dat wrong"
"$DRIVERS_DIR/n1_writer" --check "$T_TMP/B/n1/odd.dat" 4 10007 13 || t_fail "odd.dat wrong"
