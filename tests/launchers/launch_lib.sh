# launch_lib.sh - shared steps of the launcher tests (tests/launchers): a job step of NTASKS
# tasks (task.sh) run natively into A and under EBT into B by a real launcher; the checks.
# Source it from a test running with `set -euo pipefail`, then `ll_init NAME`. Builds on
# tests/lib/common.sh. Layout under T_TMP: A/ (native), B/ (the PFS of the EBT run), marksA/,
# marksB/ (one file per task rank: yes/no = the EBT client was loaded), cache*/ (node-local).
# LAUNCH_BREAK=noebt runs the "EBT" side with every ebt command left out (the tasks write the
# PFS directly): the test must then fail (EBT not engaged), which proves its checks can fail.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/common.sh"
LL_TASK=$here/task.sh
LL_CLEANUPS=()

ll_skip() {
    printf '[%s] SKIP: %s\n' "$T_NAME" "$*" >&2
    exit 77
}

ll_cleanup() {
    local rc=$? c
    trap - EXIT
    for c in "${LL_CLEANUPS[@]}"; do "$c" || true; done
    t_kill_leftovers
    T_SESSION_ENV=
    set +e
    (exit "$rc")
    t_cleanup
}

ll_init() {
    t_init "$1"
    trap ll_cleanup EXIT
    t_mkdir A B marksA marksB
    export UCX_NET_DEVICES=lo UCX_WARN_UNUSED_ENV_VARS=n
    LL_T0=$SECONDS
}

# ll_ebt CMD...: CMD as a shell-quoted line, or a no-op under LAUNCH_BREAK=noebt.
ll_ebt() {
    if [[ ${LAUNCH_BREAK:-} == noebt ]]; then
        echo "# LAUNCH_BREAK=noebt: left out: $*"
    else
        echo "$*"
    fi
}

# ll_check_marks MARKS yes|no N: tasks 0..N-1 all ran, each with (yes) or without (no) the client.
ll_check_marks() {
    local m=$1 want=$2 n=$3 r got
    for ((r = 0; r < n; r++)); do
        [[ -f $m/rank.$r ]] || t_fail "task rank $r of $n did not run (no $m/rank.$r)"
        got=$(cat "$m/rank.$r")
        [[ $got == "$want" ]] ||
            t_fail "task rank $r: EBT client loaded = $got, expected $want"
    done
    [[ $(ls "$m" | wc -l) == "$n" ]] || t_fail "$m: $(ls "$m" | wc -l) task ranks, expected $n"
}

# ll_check_cached LISTING: the PFS listing taken just before the flush equals the empty PFS at
# the start: the tasks' writes went to node-local storage (else EBT was not engaged).
ll_check_cached() {
    if [[ -s $1 ]]; then
        head -10 "$1" >&2
        t_fail "the job step wrote to the PFS directory before the flush: EBT not engaged"
    fi
    t_log "the PFS held nothing of the job before the flush"
}

# ll_check_all N: marks, the PFS before the flush ($T_TMP/pfs.before_flush), the trees, no
# daemon left.
ll_check_all() {
    ll_check_cached "$T_TMP/pfs.before_flush"
    ll_check_marks "$T_TMP/marksA" no "$1"
    ll_check_marks "$T_TMP/marksB" yes "$1"
    t_compare_trees "$T_TMP/A" "$T_TMP/B"
    local left
    for _ in $(seq 50); do
        left=$(pgrep -f "^[^ ]*ebtd .*$T_TMP/" || true)
        [[ -z $left ]] && break
        sleep 0.1
    done
    [[ -z $left ]] || t_fail "ebtd still running after ebt stop: $left"
}

# ll_reset: empty A, B and the marks for the next variant.
ll_reset() {
    rm -rf "$T_TMP"/{A,B,marksA,marksB} "$T_TMP/pfs.before_flush"
    t_mkdir A B marksA marksB
}
