# mn_lib.sh - harness of the multi-node tests: N virtual nodes (one ebtd each) on one machine.
#
# Source it from a test running with `set -euo pipefail`, then `mn_init NAME`. It builds on
# tests/lib/common.sh (t_log, t_fail, t_compare_trees, EBT_TEST_NATIVE_ONLY, EBT_TEST_KEEP, ...).
# Layout under the test's temporary dir T_TMP:
#   A/          native run of the workload        B/       the PFS of the EBT run
#   rdv/        the rendezvous directory          cache<i> node i's node-local storage
#   node<i>.env node i's `export` lines           sync/    markers outside the managed tree
# A workload is one shell function taking DIR; it runs its commands with `on I CMD...`:
#   mn_native FUNC  runs it natively on A (`on` = plain run), mn_job FUNC runs it on B, where
#   `on I` runs CMD with node I's environment (LD_PRELOAD, EBT_RUN_DIR, ...).
# Environment: EBT_BIN, EBT_LIB_DIR, DRIVERS_DIR (set by CMake); EBT_PEER_TIMEOUT_MS (default
# 3000); EBT_TEST_NATIVE_ONLY=1 runs the EBT side natively (tests the test).
# Exits 77 (ctest SKIP) with a message where UCX cannot start; the EXIT trap always kills the
# daemons this test started (found by its temporary dir in their command line) and deletes the
# network namespaces it created.

. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

MN_N=0
MN_NETNS=()    # namespaces to delete at exit
MN_VETH=()     # veth devices to delete at exit (in the root namespace)
MN_MODE=ebt    # `on` runs on virtual nodes (ebt) or plainly (native)
export EBT_PEER_TIMEOUT_MS=${EBT_PEER_TIMEOUT_MS:-3000}
export UCX_WARN_UNUSED_ENV_VARS=n

mn_skip() {
    printf '[%s] SKIP: %s\n' "$T_NAME" "$*" >&2
    exit 77
}

mn_cleanup() {
    local rc=$?
    trap - EXIT
    t_kill_leftovers
    local ns v
    for ns in "${MN_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    for v in "${MN_VETH[@]}"; do ip link del "$v" 2>/dev/null || true; done
    T_SESSION_ENV=
    set +e # t_cleanup reads the status from $?, and `(exit 1)` must not end the trap under -e
    (exit "$rc")
    t_cleanup
}

# UCX must be usable (client/server mode needs tcp); else the test cannot run here: skip.
mn_require_ucx() {
    t_native_only && return 0
    command -v ucx_info >/dev/null || ldconfig -p 2>/dev/null | grep -q libucp ||
        mn_skip "UCX is not installed (no ucx_info, no libucp): multi-node EBT cannot start here"
    if command -v ucx_info >/dev/null; then
        local out
        out=$(UCX_NET_DEVICES=lo timeout 20 ucx_info -d 2>&1) ||
            mn_skip "UCX cannot start here: ucx_info -d failed: $(echo "$out" | tail -3)"
        grep -q 'Transport: tcp' <<<"$out" ||
            mn_skip "UCX has no tcp transport on lo (needed for daemon connections)"
    fi
}

# MN_TRANSPORT=mpi: the nodes are one MPI job under MN_MPIEXEC; skip where it cannot start one.
mn_require_mpi() {
    t_native_only && return 0
    [[ -n ${MN_MPIEXEC:-} ]] && command -v "$MN_MPIEXEC" >/dev/null ||
        mn_skip "MN_TRANSPORT=mpi but no MPI launcher (MN_MPIEXEC='${MN_MPIEXEC:-}')"
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    MN_MPI_FLAGS=()
    # Open MPI: more ranks than cores; a daemon may stop (or die) before the others finalize
    "$MN_MPIEXEC" --version 2>&1 | grep -q -E "Open MPI|OpenRTE" &&
        MN_MPI_FLAGS=(--oversubscribe --mca orte_allowed_exit_without_sync 1)
    timeout 30 "$MN_MPIEXEC" "${MN_MPI_FLAGS[@]}" -np 1 true >/dev/null 2>&1 ||
        mn_skip "$MN_MPIEXEC cannot start a job here"
}

# mn_init NAME: temp dir, traps, checks. Leaves A, B, rdv, sync under T_TMP.
mn_init() {
    t_init "$1"
    trap mn_cleanup EXIT
    mn_require_ucx
    [[ ${MN_TRANSPORT:-ucx} == mpi ]] && mn_require_mpi
    t_require_drivers
    t_mkdir A B rdv sync
}

# mn_start N [ebt start options...]: start N virtual nodes concurrently (each waits for the
# others at the rendezvous), on the PFS T_TMP/B. Extra per-node environment: MN_START_ENV_<i>
# (a string of VAR=value words) and MN_START_WRAP_<i> (a command prefix, e.g. `ip netns exec X`).
# MN_TRANSPORT=mpi: one background mpirun of N ranks, each rank node <rank>'s 'ebt start
# --transport mpi' (with MN_START_ENV_<rank> and MN_START_WRAP_<rank>), which stays until its
# daemon stops; done when every node printed its exports.
mn_start_mpi() {
    local n=$1 i
    shift
    local rank=$T_TMP/mpi_rank.sh
    for ((i = 0; i < n; i++)); do mkdir -p "$T_TMP/cache$i"; rm -f "$T_TMP/node$i.env"; done
    rm -f "$T_TMP/mpirun.rc" # a job started before in this test left its files
    {
        echo '#!/bin/bash'
        echo 'i=${OMPI_COMM_WORLD_RANK:-$PMI_RANK}'
        echo 'wrap=() envv=()'
        for ((i = 0; i < n; i++)); do # this rank's MN_START_ENV_<i> and MN_START_WRAP_<i>
            local envv="MN_START_ENV_$i" wrap="MN_START_WRAP_$i"
            printf '[[ $i != %s ]] || { envv=(%s) wrap=(%s); }\n' "$i" "${!envv:-}" "${!wrap:-}"
        done
        printf 'exec "${wrap[@]}" env "${envv[@]}" %q start --transport mpi --nodes %q' "$EBT_BIN" "$n"
        printf ' --node-id "$i" --rendezvous %q' "$T_TMP/rdv"
        printf ' --cache %q/cache"$i" --pfs %q' "$T_TMP" "$T_TMP/B"
        (($# == 0)) || printf ' %q' "$@"
        printf ' >%q/node"$i".env 2>%q/node"$i".start.err\n' "$T_TMP" "$T_TMP"
    } >"$rank"
    chmod +x "$rank"
    (timeout -k 5 600 "$MN_MPIEXEC" "${MN_MPI_FLAGS[@]}" -np "$n" "$rank" >"$T_TMP/mpirun.out" 2>&1
     echo $? >"$T_TMP/mpirun.rc") &
    local up=0
    for _ in $(seq 900); do
        up=0
        for ((i = 0; i < n; i++)); do grep -qs "^export EBT_JOB_ID" "$T_TMP/node$i.env" && up=$((up + 1)); done
        if ((up == n)) || [[ -f $T_TMP/mpirun.rc ]]; then break; fi
        sleep 0.1
    done
    ((up == n)) || {
        cat "$T_TMP"/node*.start.err "$T_TMP/mpirun.out" >&2 2>/dev/null
        t_fail "could not start $n virtual nodes under $MN_MPIEXEC"
    }
}

mn_start() {
    local n=$1 i
    shift
    MN_N=$n
    if [[ ${MN_TRANSPORT:-ucx} == mpi ]] && ! t_native_only; then
        mn_start_mpi "$n" "$@"
        mn_start_check "$n" "transport mpi $*"
        return 0
    fi
    local pids=()
    for ((i = 0; i < n; i++)); do
        mkdir -p "$T_TMP/cache$i"
        if t_native_only; then
            printf "export EBT_NODES='%s'\nexport EBT_NODE_ID='%s'\n" "$n" "$i" >"$T_TMP/node$i.env"
            continue
        fi
        local envv="MN_START_ENV_$i" wrap="MN_START_WRAP_$i"
        # shellcheck disable=SC2086
        env UCX_NET_DEVICES=lo ${!envv:-} ${!wrap:-} timeout -k 5 90 "$EBT_BIN" start \
            --nodes "$n" --node-id "$i" --rendezvous "$T_TMP/rdv" --cache "$T_TMP/cache$i" \
            --pfs "$T_TMP/B" "$@" >"$T_TMP/node$i.env" 2>"$T_TMP/node$i.start.err" &
        pids+=($!)
    done
    t_native_only && return 0
    local bad=0
    for ((i = 0; i < n; i++)); do
        if ! wait "${pids[$i]}"; then
            t_log "ebt start of node $i failed; its stderr:"
            sed 's/^/    /' "$T_TMP/node$i.start.err" >&2
            bad=1
        fi
    done
    ((bad == 0)) || t_fail "could not start $n virtual nodes"
    mn_start_check "$n" "$*"
}

# Every node printed its exports and has a daemon; the PFS listing before the job.
mn_start_check() {
    local n=$1 i
    t_listing "$T_TMP/B" >"$T_TMP/pfs.before"
    for ((i = 0; i < n; i++)); do
        grep -q "^export EBT_RUN_DIR=" "$T_TMP/node$i.env" ||
            t_fail "ebt start of node $i printed no EBT_RUN_DIR: $(cat "$T_TMP/node$i.env")"
        grep -q "^export EBT_NODE_ID='\?$i'\?$" "$T_TMP/node$i.env" ||
            t_fail "node $i: ebt start did not print EBT_NODE_ID=$i: $(cat "$T_TMP/node$i.env")"
        [[ -n $(mn_daemon_pid "$i") ]] || t_fail "node $i: no ebtd.pid in its run directory"
    done
    t_log "started $n virtual nodes ($2)"
}

# mn_var I VAR: a variable of node I's environment.
mn_var() {
    (set +u; . "$T_TMP/node$1.env"; eval "printf '%s' \"\${$2:-}\"")
}

mn_run_dir() { mn_var "$1" EBT_RUN_DIR; }

mn_daemon_pid() {
    local run
    run=$(mn_run_dir "$1")
    [[ -n $run && -f $run/ebtd.pid ]] && cat "$run/ebtd.pid"
    return 0
}

# mn_on I CMD...: run CMD on node I (its exported environment), with the time limit.
# EBT_TASK_ID defaults to the node id (one task per node, like one MPI rank per node).
mn_on() {
    local i=$1
    shift
    (
        set +u
        . "$T_TMP/node$i.env"
        set -u
        export EBT_TASK_ID=${MN_TASK_ID:-$i}
        local wrap="MN_START_WRAP_$i"
        # shellcheck disable=SC2086
        exec ${!wrap:-} timeout -k 5 "$T_TIMEOUT" "$@"
    )
}

# on I CMD...: what workload functions call; node I under EBT, plain run natively.
on() {
    if [[ $MN_MODE == native ]]; then
        shift
        timeout -k 5 "$T_TIMEOUT" "$@"
    else
        mn_on "$@"
    fi
}

# mn_native FUNC: run workload FUNC natively on T_TMP/A.
mn_native() {
    t_log "native: $1"
    MN_MODE=native
    "$1" "$T_TMP/A" # plainly, so that set -e stays active inside FUNC
    MN_MODE=ebt
}

# mn_job FUNC: run workload FUNC on the virtual nodes, on the PFS T_TMP/B.
mn_job() {
    t_log "ebt:    $1 on $MN_N nodes"
    MN_MODE=ebt
    "$1" "$T_TMP/B"
}

# mn_check_cached: the PFS still holds only what it held at mn_start: the job's writes are in
# node-local storage (else EBT was not engaged, e.g. clients passing I/O through, and a
# comparison with the native run would pass without testing EBT at all).
mn_check_cached() {
    t_native_only && return 0
    if ! diff -u "$T_TMP/pfs.before" <(t_listing "$T_TMP/B") >"$T_TMP/pfs.diff"; then
        head -20 "$T_TMP/pfs.diff" >&2
        t_fail "the job wrote to the PFS directory before the flush: EBT not engaged"
    fi
    t_log "the PFS is untouched before the flush (the job's data is in node-local storage)"
}

# mn_flush [I]: coordinated flush of the whole job, asked on node I (default 0); checks first
# that nothing reached the PFS before it (mn_check_cached).
mn_flush() {
    t_native_only && return 0
    mn_check_cached
    local i=${1:-0} t0=$SECONDS
    timeout -k 5 "$T_TIMEOUT" "$EBT_BIN" flush --run-dir "$(mn_run_dir "$i")" >"$T_TMP/flush.out" 2>&1 || {
        cat "$T_TMP/flush.out" >&2
        t_fail "ebt flush (asked on node $i) failed"
    }
    t_log "flush done in $((SECONDS - t0)) s"
}

# mn_stop: ebt stop on every node; every daemon must be gone afterwards.
mn_stop() {
    t_native_only && return 0
    local i pid bad=0
    for ((i = 0; i < MN_N; i++)); do
        pid=$(mn_daemon_pid "$i")
        timeout -k 5 "$T_TIMEOUT" "$EBT_BIN" stop --run-dir "$(mn_run_dir "$i")" \
            >"$T_TMP/stop$i.out" 2>&1 || {
            cat "$T_TMP/stop$i.out" >&2
            t_log "ebt stop of node $i failed"
            bad=1
        }
        for _ in $(seq 100); do
            [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && {
            t_log "node $i: ebtd $pid still alive 10 s after ebt stop"
            bad=1
        }
    done
    ((bad == 0)) || t_fail "ebt stop failed"
    MN_N=0
}

# mn_compare: the PFS of the EBT run equals the native run (names, types, modes, sizes, bytes).
mn_compare() { t_compare_trees "$T_TMP/A" "$T_TMP/B"; }

# mn_owner PATH: the node owning PATH's record (FNV-1a 64 of the logical path mod MN_N).
mn_owner() {
    /usr/bin/python3 -c '
import sys
h = 14695981039346656037
for b in sys.argv[1].encode():
    h = ((h ^ b) * 1099511628211) % (1 << 64)
print(h % int(sys.argv[2]))' "$1" "$MN_N"
}

# mn_name_owned_by NODE DIR PREFIX: the first DIR/PREFIX<k> (k = 0, 1, ...) that NODE owns.
mn_name_owned_by() {
    local k
    for ((k = 0; k < 1000; k++)); do
        [[ $(mn_owner "$2/$3$k") == "$1" ]] && { echo "$2/$3$k"; return 0; }
    done
    t_fail "no name owned by node $1 under $2"
}

# mn_expect_eio SECONDS DESC CMD...: CMD must fail within SECONDS with "Input/output error".
mn_expect_eio() {
    local lim=$1 desc=$2 rc=0 t0 t1 dt
    shift 2
    t0=${EPOCHREALTIME/./}
    "$@" >"$T_TMP/eio.out" 2>&1 || rc=$?
    t1=${EPOCHREALTIME/./}
    dt=$(printf '%d.%03d' $(((t1 - t0) / 1000000)) $(((t1 - t0) / 1000 % 1000)))
    if ((rc == 0)); then
        t_fail "$desc: succeeded, expected EIO: $(head -c 300 "$T_TMP/eio.out")"
    elif ((rc == 124 || rc == 137)); then
        t_fail "$desc: hung (killed by timeout after ${dt} s), expected EIO"
    elif ! grep -q 'Input/output error' "$T_TMP/eio.out"; then
        t_fail "$desc: failed ($rc) but not with EIO: $(head -c 300 "$T_TMP/eio.out")"
    elif ((t1 - t0 > lim * 1000000)); then
        t_fail "$desc: EIO only after ${dt} s (limit $lim s)"
    fi
    t_log "ok $desc: EIO after ${dt} s"
}

# mn_sim_start SIM NODES [pfs-sim options...]: the PFS simulator with NODES client mounts at
# SIM/mnt/node<i> over SIM/backing (skips where mounting is not permitted).
mn_sim_start() {
    local sim=$1 nodes=$2
    shift 2
    mkdir -p "$sim/backing" "$sim/mnt"
    "$PFS_SIM_CTL" start --backing "$sim/backing" --mnt "$sim/mnt" --nodes "$nodes" "$@" \
        --bin "$PFS_SIM_BIN" --timeout 20 >"$T_TMP/sim.out" 2>&1 || {
        grep -qiE "not permitted|permission denied" "$T_TMP/sim.out" &&
            mn_skip "mounting is not permitted here: $(head -3 "$T_TMP/sim.out")"
        cat "$T_TMP/sim.out" >&2
        t_fail "pfs-sim-ctl start failed"
    }
}

# mn_sim_bind SIM NODES: node 0 sees the simulator's node0 at T_TMP/B; node i > 0 runs in a mount
# namespace where T_TMP/B is the simulator's node i (MN_START_WRAP_<i>).
mn_sim_bind() {
    local sim=$1 nodes=$2 i
    mount --bind "$sim/mnt/node0" "$T_TMP/B"
    printf '#!/bin/bash\nmount --bind "$1" "$2" || exit 1\nshift 2\nexec "$@"\n' >"$T_TMP/bind.sh"
    chmod +x "$T_TMP/bind.sh"
    for ((i = 1; i < nodes; i++)); do
        printf -v "MN_START_WRAP_$i" 'unshare -m --propagation private %s %s %s' \
            "$T_TMP/bind.sh" "$sim/mnt/node$i" "$T_TMP/B"
        export "MN_START_WRAP_$i"
    done
}
