#!/bin/bash
# mn_shared.sh MODE [NODES RANKS] - one shared file, several writer processes per node (issue 9 item 3): on 2
# virtual nodes, 3 writers per node (6 ranks, each its own task) create the file at once and
# pwrite their own strided blocks (N-1); under write and close visibility every writer, after a
# barrier (all ranks closed), reads the whole file back; flush: PFS == native, byte for byte.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
MODE=${1:?usage: mn_shared.sh write|close|task [NODES RANKS]}
NODES=${2:-2}
RANKS=${3:-6} # rank r on node r % NODES
mn_init "mn_shared_$MODE${2:+_${NODES}x$((RANKS / NODES))}"
BLOCK=65536
NBLOCKS=8
W=$DRIVERS_DIR/n1_writer

# writer R FILE SYNC: rank R writes its blocks, then (write, close) waits for every rank to
# finish and checks the whole file. Runs as one shell on the rank's node, as task R.
writer() {
    local r=$1 f=$2 s=$3 k
    "$W" --rank "$r" "$f" "$RANKS" "$BLOCK" "$NBLOCKS" >/dev/null || return 1
    : >"$s/done.$r"
    [[ $MODE == task ]] && return 0
    for ((k = 0; k < 600; k++)); do
        (($(find "$s" -name 'done.*' | wc -l) == RANKS)) && break
        sleep 0.05
    done
    (($(find "$s" -name 'done.*' | wc -l) == RANKS)) || { echo "rank $r: barrier timeout" >&2; return 1; }
    "$W" --check "$f" "$RANKS" "$BLOCK" "$NBLOCKS" >/dev/null ||
        { echo "rank $r: reads a wrong shared file" >&2; return 1; }
}
export -f writer
export MODE RANKS BLOCK NBLOCKS W

job() {
    local d=$1 r pids=() s=$T_TMP/sync.$MN_MODE
    mkdir -p "$s"
    [[ $MODE == task ]] || on 0 mkdir "$d/sh" || return 1
    for ((r = 0; r < RANKS; r++)); do
        MN_TASK_ID=$r on $((r % NODES)) bash -c 'writer "$@"' _ "$r" "$d/sh/shared.dat" "$s" &
        pids+=($!)
    done
    local bad=0
    for r in "${pids[@]}"; do wait "$r" || bad=1; done
    ((bad == 0)) || { t_log "a writer failed"; return 1; }
}

# task: a mkdir in the job would be task 0's alone until the flush; the directory pre-exists
[[ $MODE == task ]] && mkdir "$T_TMP/A/sh" "$T_TMP/B/sh"
# copies_per_node: on each node, the copies of the file in up/ and held/ (inode, size) go to the
# log; a node must never hold two (issue 9 item 3: one node held both, its ranks' blocks were
# zeros). Sets TWO_COPIES=1 if one does.
TWO_COPIES=0
copies_per_node() {
    t_native_only && return 0
    local i run l n f=$T_TMP/B/sh/shared.dat
    for ((i = 0; i < NODES; i++)); do
        run=$(mn_run_dir "$i") n=0
        for l in up held; do
            [[ -f $run/$l$f ]] || continue
            n=$((n + 1))
            t_log "node $i: $l copy $(stat -c 'ino %i size %s' "$run/$l$f")"
        done
        ((n <= 1)) || { t_log "node $i holds two copies of the shared file"; TWO_COPIES=1; }
    done
}

mn_native job
mn_start "$NODES" --visibility "$MODE"
job_rc=0
mn_job job || job_rc=$? # flush and compare anyway: the PFS must not lose a rank's bytes either
copies_per_node
mn_flush 1
mn_stop
"$W" --check "$T_TMP/B/sh/shared.dat" "$RANKS" "$BLOCK" "$NBLOCKS" ||
    t_fail "shared.dat wrong on the PFS (flush exited 0)"
((TWO_COPIES == 0)) || t_fail "a node held two copies of the shared file (the PFS is right)"
((job_rc == 0)) || t_fail "the writers read a wrong shared file in the job (visibility $MODE)"
mn_compare
