#!/bin/bash
# mn_ns.sh - namespace operations across 4 virtual nodes: a directory made on one node and
# removed on another, files removed and renamed by a node that did not write them, a PFS file
# removed by one node; every node's listing equals the native run before the flush, and the PFS
# equals the native run after it.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_ns
NODES=4
mkdir -p "$T_TMP/out"
for d in A B; do
    mkdir -p "$T_TMP/$d/ns" && seq 1 300 >"$T_TMP/$d/ns/pfs_old.txt"
done

view() { (cd "$1" && find . -mindepth 1 -printf '%P %y %s\n' | LC_ALL=C sort); }
export -f view

job() {
    local d=$1/ns i
    on 1 mkdir "$d/made1" "$d/keep1"
    on 1 sh -c "echo data1 >'$d/keep1/f1'; echo tmp >'$d/made1/t'"
    on 0 rm "$d/made1/t"        # a file node 1 wrote, removed by node 0
    on 0 rmdir "$d/made1"       # a directory node 1 made, removed by node 0
    on 2 sh -c "echo two >'$d/f2'"
    on 3 mv "$d/f2" "$d/f2.renamed" # renamed by a node that did not write it
    on 3 rm "$d/pfs_old.txt"        # a PFS file removed
    on 2 sh -c "echo again >'$d/pfs_old.txt.new'"
    for ((i = 0; i < NODES; i++)); do
        on "$i" bash -c 'view "$@"' _ "$d" >"$T_TMP/out/view$i.$MN_MODE" ||
            { t_log "node $i: listing failed"; return 1; }
    done
}

mn_native job
mn_start "$NODES"
mn_job job
mn_check_cached
for ((i = 0; i < NODES; i++)); do
    diff -u "$T_TMP/out/view$i.native" "$T_TMP/out/view$i.ebt" >&2 ||
        t_fail "node $i sees a different tree before the flush than the native run"
done
t_log "every node sees the native tree before the flush"
mn_flush 1
mn_stop
mn_compare
