#!/bin/bash
# mn_all.sh - the combined job on 4 virtual nodes (N-N, N-1, producer/consumer under write, close
# and task visibility by prefix, a patched and a removed pre-existing PFS file, a cross-node
# cp -r), then one flush: the PFS tree is byte-identical to the same job run natively.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_all
NODES=4
D=$DRIVERS_DIR
mkdir -p "$T_TMP/A/pre" # pre-existing PFS data, the same in A and B
head -c 1048576 /dev/urandom >"$T_TMP/A/pre/old.dat"
echo gone >"$T_TMP/A/pre/gone.txt"
mkdir "$T_TMP/A/"{vw,vc,vt} # pre-existing: a mkdir in vt would be task 0's alone until the flush
cp -a "$T_TMP/A/"{pre,vw,vc,vt} "$T_TMP/B/"

vis() { # vis MODE DIR: producer on node 0, consumer on node 3 (natively: the producer alone)
    local s=$T_TMP/sync.$1.$MN_MODE
    mkdir -p "$s"
    if [[ $MN_MODE == native ]] || t_native_only; then
        touch "$s/"{c1,c2,c3}
        on 0 "$D/mn_vis" produce "$1" "$2" "$s" >/dev/null
        return
    fi
    on 0 "$D/mn_vis" produce "$1" "$2" "$s" >"$s.prod" 2>&1 &
    local p=$!
    on 3 "$D/mn_vis" consume "$1" "$2" "$s" >"$s.cons" 2>&1 || { cat "$s.cons" >&2; return 1; }
    wait "$p" || { cat "$s.prod" >&2; return 1; }
}

job() {
    local d=$1 i pids=()
    for ((i = 0; i < NODES; i++)); do
        on "$i" mkdir -p "$d/nn/node$i"
        on "$i" "$D/nn_writer" "$d/nn/node$i" 2 3 70001 >/dev/null &
        pids+=($!)
    done
    on 1 mkdir "$d/n1"
    for ((i = 0; i < 8; i++)); do
        on $((i % NODES)) "$D/n1_writer" --rank "$i" "$d/n1/shared.dat" 8 32768 6 >/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    vis write "$d/vw"
    vis close "$d/vc"
    vis task "$d/vt"
    on 1 dd if=/dev/zero of="$d/pre/old.dat" bs=4096 seek=37 count=3 conv=notrunc status=none
    on 3 rm "$d/pre/gone.txt"
    on 2 cp -r "$d/nn/node0" "$d/copy0"
    on 2 "$D/n1_writer" --check "$d/n1/shared.dat" 8 32768 6 >/dev/null
    on 0 sha256sum "$d/pre/old.dat" | cut -c1-64 >"$T_TMP/old.sum.$MN_MODE"
}

mn_native job
mn_start "$NODES" --visibility "close,$T_TMP/B/vw=write,$T_TMP/B/vt=task"
mn_job job
diff "$T_TMP/old.sum.native" "$T_TMP/old.sum.ebt" >&2 || t_fail "node 0 reads a wrong patched file"
mn_flush 1
mn_stop
mn_compare
for i in 0 1 2 3; do "$D/nn_writer" --check "$T_TMP/B/nn/node$i" 2 3 70001 >/dev/null; done
"$D/n1_writer" --check "$T_TMP/B/n1/shared.dat" 8 32768 6 || t_fail "shared.dat wrong"
for m in write close task; do
    [[ $m == write ]] && v=vw || { [[ $m == close ]] && v=vc || v=vt; }
    "$D/mn_vis" check-final "$m" "$T_TMP/B/$v" >/dev/null || t_fail "vis_$m.dat wrong on the PFS"
done
