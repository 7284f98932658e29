#!/bin/bash
# mn_ost_deal.sh [NODES] - OSTs dealt to nodes in the multi-node flush (issue 10 item 2), on the
# PFS simulator: each virtual node reaches the simulator through its own client mount (a mount
# namespace binds sim/node<i> over the job's PFS directory), files of several sizes are written
# on different nodes (and one shared file by all), then after the flush the simulator must show
# exactly one writer node per OST and no lock revocation, and the tree must equal the native run.
# Needs PFS_SIM_CTL and PFS_SIM_BIN (CMake sets them); skips (77) without FUSE or unshare.
# EBT_OST_DEAL=0 (passed to the daemons) switches the dealing off: the test must then fail.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
NODES=${1:-4}
OSTS=8
mn_init "mn_ost_deal"
[[ -c /dev/fuse ]] || mn_skip "no /dev/fuse"
((EUID == 0)) || mn_skip "needs root (mount namespaces, bind mounts)"
command -v unshare >/dev/null || mn_skip "no unshare"
[[ -x ${PFS_SIM_CTL:-} && -x ${PFS_SIM_BIN:-} ]] || mn_skip "PFS_SIM_CTL/PFS_SIM_BIN not set"

SIM=$(mktemp -d /tmp/ebt-ostdeal-sim.XXXXXX) # outside T_TMP: mn_cleanup kills what names T_TMP
ost_cleanup() {
    local rc=$?
    t_kill_leftovers
    umount "$T_TMP/B" 2>/dev/null || umount -l "$T_TMP/B" 2>/dev/null || true
    "$PFS_SIM_CTL" stop --mnt "$SIM/mnt" --timeout 20 >/dev/null 2>&1 || true
    rm -rf "$SIM"
    (exit "$rc")
    mn_cleanup
}
trap ost_cleanup EXIT
mn_sim_start "$SIM" "$NODES" --osts "$OSTS" --stripe-size 64K --stats "$SIM/stats.json"
# node 0 sees the simulator's node0 at B; node i > 0 runs in a mount namespace where B is node i
mn_sim_bind "$SIM" "$NODES"
export EBT_STRIPE_SIZE=262144 EBT_STRIPE_LARGE=2097152 EBT_STRIPE_COUNT_LARGE=-1

# fill SIZE SEED FILE: deterministic bytes
fill() { yes "block $2 of the ost-deal test" | head -c "$1" >"$3"; }
export -f fill

job() {
    local d=$1 k sizes=(1000 70000 262144 300000 524288 1048576 999999 65536) pids=()
    on 0 mkdir -p "$d/out" || return 1
    for ((k = 0; k < 24; k++)); do # small files, one stripe each, file k on node k % NODES
        on $((k % NODES)) bash -c 'fill "$@"' _ "${sizes[k % 8]}" "$k" "$d/out/f$k" || return 1
    done
    on 1 bash -c 'fill "$@"' _ $((6 * 1048576 + 4321)) big "$d/out/big" || return 1
    for ((k = 0; k < NODES; k++)); do # one shared file, strided blocks from every node
        MN_TASK_ID=$k on "$k" "$DRIVERS_DIR/n1_writer" --rank "$k" "$d/out/shared" "$NODES" \
            65536 8 >/dev/null &
        pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k" || return 1; done
}

mn_native job
mn_start "$NODES"
mn_job job
echo reset >"$SIM/mnt/node0/.pfs-sim/stats"
mn_flush 0
"$PFS_SIM_CTL" stats --mnt "$SIM/mnt" >"$T_TMP/flush.stats.json"
mn_stop
mn_compare
python3 - "$T_TMP/flush.stats.json" "$NODES" <<'EOF'
import json, sys
st = json.load(open(sys.argv[1]))
bad = []
for i, o in enumerate(st["osts"]):
    print("OST %d: %d write pieces, writer nodes %s, revocations %d"
          % (i, o["ops"].get("write", 0), o["writer_node_list"], o["lock_revocations"]))
    if o["writer_nodes"] > 1:
        bad.append("OST %d written by %d nodes %s" % (i, o["writer_nodes"], o["writer_node_list"]))
    if o["lock_revocations"]:
        bad.append("OST %d: %d lock revocations" % (i, o["lock_revocations"]))
used = {n for o in st["osts"] for n in o["writer_node_list"]}
if len(used) < int(sys.argv[2]):
    bad.append("only nodes %s wrote: every node should write its OSTs" % sorted(used))
if bad:
    print("\n".join(bad))
    sys.exit(1)
EOF
t_log "one writer node per OST, no lock revocation during the flush"
