#!/bin/bash
# test_mpirun.sh - EBT under a real MPI launcher on this machine: a job step of 4 tasks
# (task.sh; rank from OMPI_COMM_WORLD_RANK or PMI_RANK) run natively and under EBT, then
# `ebt flush`, `ebt stop`, and the PFS compared with the native run.
# usage: test_mpirun.sh openmpi|mpich 1   `eval "$(ebt start ...)"` in this shell, then
#                                         `mpirun -np 4 task.sh` with its environment
#        test_mpirun.sh openmpi|mpich 2 [race]   two virtual nodes: `mpirun -np 2 ebt start` (node id and
#                                         count from the launcher), 4 tasks (rank r on node r % 2),
#                                         `ebt flush` on node 0, `ebt stop` on each node; the
#                                         shared directory is made on node 0 before the step,
#                                         unless `race` (see test_slurm.sh)
# openmpi: Open MPI's mpirun.openmpi (as root: OMPI_ALLOW_RUN_AS_ROOT*, --oversubscribe);
# mpich: MPICH's hydra mpirun.mpich. Exits 77 (skip) where the launcher is missing or cannot
# start a job here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/launch_lib.sh"
impl=$1 nodes=${2:-1} race=${3:-}
ll_init "launch_${impl}_$nodes${race:+_$race}"

case $impl in
openmpi)
    MPIRUN=mpirun.openmpi
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    MPIFLAGS=(--oversubscribe)
    want='Open MPI|OpenRTE'
    ;;
mpich)
    MPIRUN=mpirun.mpich
    MPIFLAGS=()
    want='HYDRA'
    ;;
*) t_fail "usage: test_mpirun.sh openmpi|mpich [1|2]" ;;
esac
command -v "$MPIRUN" >/dev/null || ll_skip "$MPIRUN not installed (apt-get install ${impl/openmpi/openmpi-bin})"
version=$("$MPIRUN" --version 2>&1 || true) # whole: grep -q on the pipe could SIGPIPE it
grep -q -E "$want" <<<"$version" || ll_skip "$MPIRUN is not $impl: $(head -1 <<<"$version")"
out=$(timeout -k 5 30 "$MPIRUN" "${MPIFLAGS[@]}" -np 2 true 2>&1) ||
    ll_skip "$MPIRUN cannot start a job here: $(tail -3 <<<"$out")"

mpi() { timeout -k 5 60 "$MPIRUN" "${MPIFLAGS[@]}" "$@"; }
B=$T_TMP/B T=$T_TMP

# the native reference: the same job step without EBT
mpi -np 4 "$LL_TASK" "$T_TMP/A" "$T_TMP/marksA" || t_fail "native job step under $MPIRUN failed"

# pfs_listing ENVFILE: the PFS itself (beneath a one-node job's FUSE view) without the client
pfs_listing() {
    local pfs=$B run
    run=$( (set +u; . "$1"; echo "${EBT_RUN_DIR:-}") )
    [[ -n $run && -e $run/lower/0 ]] && pfs=$run/lower/0/
    find "$pfs" -mindepth 1 -name '.ebt~rdv.*' -prune -o -print
}

if [[ ${LAUNCH_BREAK:-} == noebt ]]; then
    t_log "LAUNCH_BREAK=noebt: the EBT side runs without ebt"
    : >"$T/env.0"
    : >"$T/env.1"
elif ((nodes == 1)); then
    timeout -k 5 30 "$EBT_BIN" start --pfs "$B" --cache "$T/cache" >"$T/env.0" ||
        t_fail "ebt start failed"
    cp "$T/env.0" "$T/env.1"
else
    # one 'ebt start' per virtual node, as ranks of one launcher job; loopback only
    mkdir -p "$T/cache.0" "$T/cache.1"
    EBT_LISTEN=127.0.0.1:0 mpi -np 2 bash -c '
        i=${OMPI_COMM_WORLD_RANK:-$PMI_RANK}
        exec "$0" start --pfs "$1" --cache "$2/cache.$i" --job-id "$3" >"$2/env.$i"' \
        "$EBT_BIN" "$B" "$T" "mpirun.$$" || { cat "$T"/env.* >&2; t_fail "mpirun -np 2 ebt start failed"; }
    for i in 0 1; do
        grep -q "^export EBT_NODE_ID='$i'" "$T/env.$i" ||
            t_fail "node $i: ebt start under $MPIRUN did not print EBT_NODE_ID=$i: $(cat "$T/env.$i")"
        grep -q "^export EBT_NODES='2'" "$T/env.$i" || t_fail "node $i: not a 2-node job"
    done
fi

if ((nodes == 2)) && [[ $race != race ]]; then
    (set +u; . "$T/env.0"; exec mkdir "$B/shared") || t_fail "mkdir of the shared directory on node 0 failed"
fi

# the job step: every task with its node's environment (node = rank % 2)
mpi -np 4 bash -c '
    r=${OMPI_COMM_WORLD_RANK:-$PMI_RANK}
    set +u; . "$1/env.$((r % 2))"; set -u
    exec "$2" "$3" "$1/marksB"' bash "$T" "$LL_TASK" "$B" ||
    t_fail "the job step under EBT ($MPIRUN) failed"
pfs_listing "$T/env.0" >"$T/pfs.before_flush"

if [[ ${LAUNCH_BREAK:-} != noebt ]]; then
    (set +u; . "$T/env.0"; timeout -k 5 60 "$EBT_BIN" flush) >"$T/flush.out" 2>&1 ||
        { cat "$T/flush.out" >&2; t_fail "ebt flush failed"; }
    for ((i = 0; i < nodes; i++)); do
        (set +u; . "$T/env.$i"; timeout -k 5 60 "$EBT_BIN" stop) >"$T/stop.$i.out" 2>&1 ||
            { cat "$T/stop.$i.out" >&2; t_fail "ebt stop (node $i) failed"; }
    done
fi
ll_check_all 4
t_log "ok: $MPIRUN, $nodes node(s), 4 tasks, in $((SECONDS - LL_T0)) s"
