#!/bin/bash
# mn_stop_clean.sh - `ebt stop` after a complete job-wide flush writes nothing (issue 9 item 6),
# also when an owner moved a node's copy of a shared file to RUN/held after that node had
# prepared: on 2 virtual nodes in task mode (files are noted to their owners at the flush), both
# nodes write one shared file and a file each; node 1 notes late (EBT_TEST_NOTE_DELAY_US), so
# the demotion of node 0's copy lands after node 0's PREP. After the flush, the PFS copies are
# edited by hand; stopping both nodes must leave the edits in place. (Before the SCAN step each
# node stamped its flush at its own PREP: node 0 then counted the demotion as a change, its stop
# flushed again, and with node 1 already gone failed with "prepare: Host is down"; with node 1
# still up it reverted the edits.)
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_stop_clean
t_native_only && { t_log "nothing to compare natively"; exit 0; }
W=$DRIVERS_DIR/n1_writer
BLOCK=65536
NBLOCKS=4
NODES=3

job() {
    local d=$1 r pids=()
    for ((r = 0; r < NODES; r++)); do
        MN_TASK_ID=$r on "$r" bash -c '"$1" --rank "$2" "$3/sh/shared.dat" "$6" "$4" "$5" >/dev/null &&
            echo "own $2" >"$3/sh/own$2"' _ "$W" "$r" "$d" "$BLOCK" "$NBLOCKS" "$NODES" &
        pids+=($!)
    done
    for r in "${pids[@]}"; do wait "$r" || return 1; done
}

mkdir "$T_TMP/B/sh"
MN_START_ENV_1="EBT_TEST_NOTE_DELAY_US=1500000" MN_START_ENV_2="EBT_TEST_NOTE_DELAY_US=1500000" \
    mn_start "$NODES" --visibility task
mn_job job || t_fail "the writers failed"
mn_flush 0
"$W" --check "$T_TMP/B/sh/shared.dat" "$NODES" "$BLOCK" "$NBLOCKS" || t_fail "shared.dat wrong after the flush"
grep -qx 'own 1' "$T_TMP/B/sh/own1" || t_fail "own1 wrong after the flush"
# what another job (or the user) does on the PFS between the flush and the stop
for f in shared.dat own0 own1 own2; do echo edited >"$T_TMP/B/sh/$f"; done
for ((i = 0; i < NODES; i++)); do
    grep -h 'flush needed' "$(mn_run_dir "$i")/ebt.log" 2>/dev/null | sed "s/^/node $i: /" >&2 || true
done
mn_stop
for f in shared.dat own0 own1 own2; do
    [[ $(cat "$T_TMP/B/sh/$f") == edited ]] ||
        t_fail "ebt stop after a complete flush rewrote $f (reverted an edit made since)"
done
t_log "ebt stop after the complete flush wrote nothing"
