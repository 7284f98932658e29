#!/bin/bash
# mn_nn.sh - N-N on 4 virtual nodes: each node's processes write their own files; before the
# flush every node lists, stats and reads every other node's files (must equal the native run);
# after the flush the PFS tree equals the native run byte for byte.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_nn
NODES=4
mkdir -p "$T_TMP/out"
# pre-existing PFS data, listed together with what the job writes
for d in A B; do
    mkdir -p "$T_TMP/$d/pre" && seq 1 5000 >"$T_TMP/$d/pre/old.txt"
done

# view TAG DIR: what a node sees of the tree: names, types, sizes (find = stat), ls, content
view() {
    (cd "$2" && find . -mindepth 1 -printf '%P %y %s\n' | LC_ALL=C sort &&
        ls -1R . && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
export -f view

job() {
    local d=$1 i j pids=()
    for ((i = 0; i < NODES; i++)); do
        on "$i" mkdir "$d/node$i" || return 1
        on "$i" "$DRIVERS_DIR/nn_writer" "$d/node$i" 3 4 100000 >"$T_TMP/out/w$i.$MN_MODE" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || return 1; done
    for ((i = 0; i < NODES; i++)); do
        # every node verifies every other node's files (pattern, sizes via stat/fstat)
        for ((j = 0; j < NODES; j++)); do
            ((i == j)) && continue
            on "$i" "$DRIVERS_DIR/nn_writer" --check "$d/node$j" 3 4 100000 >/dev/null ||
                { t_log "node $i: files of node $j wrong"; return 1; }
        done
        on "$i" bash -c 'view "$@"' _ "$i" "$d" >"$T_TMP/out/view$i.$MN_MODE" ||
            { t_log "node $i: listing/reading failed"; return 1; }
    done
}

mn_native job
mn_start "$NODES"
mn_job job
for ((i = 0; i < NODES; i++)); do
    diff -u "$T_TMP/out/view$i.native" "$T_TMP/out/view$i.ebt" >&2 ||
        t_fail "node $i sees a different tree before the flush than the native run"
done
t_log "every node sees the native tree before the flush ($(wc -l <"$T_TMP/out/view0.ebt") lines)"
mn_flush 2
mn_stop
mn_compare
for ((i = 0; i < NODES; i++)); do
    "$DRIVERS_DIR/nn_writer" --check "$T_TMP/B/node$i" 3 4 100000 || t_fail "node$i files wrong"
done
