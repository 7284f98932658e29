#!/bin/bash
# test_slurm.sh - EBT under a real Slurm (Debian slurm-wlm + munge) on this machine: a private
# slurmctld and slurmd (tests/launchers/slurm_lib.sh), then batch jobs that run a job step of 4
# tasks natively and under EBT and compare the PFS with the native run.
# usage: test_slurm.sh 1   one node: the README's batch script (`eval "$(ebt start ...)"` in the
#                          batch shell), then the same with `eval "$(srun -N1 ebt start ...)"`
#        test_slurm.sh timelimit   one node, a real time limit: `--time=1 --signal=B:USR1@40`;
#                          the batch shell's trap flushes and stops (Slurm's signal came 27-28 s
#                          after the submission here; its timer is coarse: about 30 s in all)
#        test_slurm.sh 2 [race]   two Slurm nodes (two slurmd on this host): `srun -N2 -n2
#                          --ntasks-per-node=1 ebt start` (node id/count/job id from Slurm), tasks on both nodes,
#                          `ebt flush` once, `srun -N2 -n2 --ntasks-per-node=1 ebt stop`
#        test_slurm.sh 2 mpi   the same with the daemons as one MPI world: `srun --mpi=pmix ...
#                          ebt start --transport mpi &` (a step that lasts until `ebt stop`),
#                          the tasks' and the stop's steps `srun --overlap`
# Exits 77 (skip) where Slurm or munge is not installed or its daemons cannot start here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/launch_lib.sh"
. "$here/slurm_lib.sh"
variant=${1:-1} race=${2:-}
nodes=$variant
[[ $variant == timelimit ]] && nodes=1
ll_init "launch_slurm_$variant${race:+_$race}"
LL_CLEANUPS+=(sl_stop)
ebt_dir=$(dirname "$EBT_BIN")

[[ $race == mpi ]] && SL_PRIVATE_TMP=1 # see sl_private_tmp_slurmd
sl_start "$nodes" || ll_skip "a private Slurm cannot start here: $SL_WHY"
t_log "Slurm up ($nodes node(s)) in $((SECONDS - LL_T0)) s"

q() { printf '%q' "$1"; }

# job_script STYLE: the batch script (STYLE batch | srun | signal | timelimit | multi | multi-mpi). Lines marked "test:" are the
# test's checks; the rest is what README.md shows.
job_script() {
    local style=$1 A=$T_TMP/A B=$T_TMP/B T task=$LL_TASK
    T=$(q "$T_TMP")
    echo '#!/bin/bash'
    if [[ $style == multi* ]]; then
        echo '#SBATCH --nodes=2 --ntasks=4 --ntasks-per-node=2 --overcommit --time=2'
    elif [[ $style == timelimit ]]; then
        echo '#SBATCH --nodes=1 --ntasks=4 --overcommit --time=1'
        echo '#SBATCH --signal=B:USR1@40'
    else
        echo '#SBATCH --nodes=1 --ntasks=4 --overcommit --time=2'
    fi
    echo 'set -euo pipefail'
    echo "export PATH=$(q "$ebt_dir"):\$PATH"
    echo "srun $(q "$task") $(q "$A") $T/marksA  # test: the native reference"
    case $style in
    signal | timelimit)
        # the job step is still running when the batch shell gets SIGUSR1 (what
        # `#SBATCH --signal=B:USR1@SECONDS` sends to the batch shell alone before the time limit;
        # the test sends it with kill): the trap ends the step, flushes and stops EBT
        ll_ebt "eval \"\$(ebt start --pfs $(q "$B") --cache $T/cache)\""
        echo "trap 'touch $T/usr1; kill \$step 2>/dev/null; wait \$step || true; ebt flush; ebt stop; exit 0' USR1"
        echo "echo \$\$ >$T/batch.pid  # test"
        echo "srun bash -c '$(q "$task") $(q "$B") $T/marksB && touch $T/done.\$SLURM_PROCID && exec sleep 300' &"
        echo 'step=$!'
        echo 'wait $step'
        echo 'exit 1  # test: the step must not end by itself'
        return 0
        ;;
    batch)
        ll_ebt "eval \"\$(ebt start --pfs $(q "$B") --cache $T/cache)\""
        echo "srun $(q "$task") $(q "$B") $T/marksB"
        ;;
    srun)
        ll_ebt "eval \"\$(srun -N1 -n1 ebt start --pfs $(q "$B") --cache $T/cache)\""
        echo "srun $(q "$task") $(q "$B") $T/marksB"
        ;;
    multi-mpi)
        # the daemons as one MPI world: a step of one task per node that lasts until they stop
        # (`ebt start --transport mpi` stays in the foreground); later steps overlap it
        ll_ebt "srun -N2 -n2 --ntasks-per-node=1 --mpi=pmix --output=$T/env.%n bash -c 'mkdir -p $T/cache.\$SLURM_NODEID && exec ebt start --transport mpi --pfs $(q "$B") --cache $T/cache.\$SLURM_NODEID' &"
        ll_ebt 'daemons=$!'
        ll_ebt "for _ in \$(seq 300); do [[ \$(grep -ls '^export EBT_RUN_DIR' $T/env.0 $T/env.1 2>/dev/null | wc -l) == 2 ]] && break; sleep 0.1; done"
        [[ ${LAUNCH_BREAK:-} == noebt ]] && echo "touch $T/env.0 $T/env.1"
        echo "for i in 0 1; do (. $T/env.\$i && ebt stat --json) | grep -q \"address\\\":\\\"mpi:\$i\" || exit 3; done  # test: node id = rank"
        echo "srun --overlap bash -c '. $T/env.\$SLURM_NODEID && echo \$SLURMD_NODENAME >$T/marksB.node.\$SLURM_PROCID && exec $(q "$task") $(q "$B") $T/marksB'"
        ;;
    multi)
        # one daemon per node; each node's exports in env.<node id>; loopback only in the test
        echo "export EBT_LISTEN=127.0.0.1:0  # test: keep the daemons' traffic on loopback"
        ll_ebt "srun -N2 -n2 --ntasks-per-node=1 --output=$T/env.%n bash -c 'mkdir -p $T/cache.\$SLURM_NODEID && exec ebt start --pfs $(q "$B") --cache $T/cache.\$SLURM_NODEID'"
        [[ ${LAUNCH_BREAK:-} == noebt ]] && echo "touch $T/env.0 $T/env.1"
        [[ $race == race ]] || echo "(. $T/env.0 && mkdir $(q "$B")/shared)  # test: see the header"
        echo "srun bash -c '. $T/env.\$SLURM_NODEID && echo \$SLURMD_NODENAME >$T/marksB.node.\$SLURM_PROCID && exec $(q "$task") $(q "$B") $T/marksB'"
        ;;
    esac
    # test: the PFS itself (beneath the FUSE view, when a one-node job has one) before the flush
    echo "pfs=$(q "$B"); [[ -e \${EBT_RUN_DIR:-/nonexistent}/lower/0 ]] && pfs=\$EBT_RUN_DIR/lower/0/  # test"
    echo "env -u LD_PRELOAD find \"\$pfs\" -mindepth 1 -name '.ebt~rdv.*' -prune -o -print >$T/pfs.before_flush  # test"
    if [[ $style == multi-mpi ]]; then
        ll_ebt "(. $T/env.0 && ebt flush)"
        ll_ebt "srun --overlap -N2 -n2 --ntasks-per-node=1 bash -c '. $T/env.\$SLURM_NODEID && exec ebt stop'"
        ll_ebt 'wait $daemons'
    elif [[ $style == multi ]]; then
        ll_ebt "(. $T/env.0 && ebt flush)"
        ll_ebt "srun -N2 -n2 --ntasks-per-node=1 bash -c '. $T/env.\$SLURM_NODEID && exec ebt stop'"
    else
        ll_ebt 'ebt flush'
        ll_ebt 'ebt stop'
    fi
}

# run_job STYLE: submit, wait (bounded), check the job's result and the PFS.
run_job() {
    local style=$1 rc=0 t0=$SECONDS
    ll_reset
    rm -f "$T_TMP"/marksB.node.* "$T_TMP"/env.* "$T_TMP"/done.* "$T_TMP/usr1"
    job_script "$style" >"$T_TMP/job.$style.sh"
    if [[ $style == signal || $style == timelimit ]]; then
        local id
        id=$(sl_submit "$T_TMP/job.$style.sh" "$T_TMP/job.$style.out") || t_fail "sbatch failed"
        sl_wait 30 "the 4 tasks of job $id to write their files" \
            bash -c "[[ \$(ls $(q "$T_TMP")/done.* 2>/dev/null | wc -l) == 4 ]]" || t_fail "$SL_WHY"
        local pfs=$T_TMP/B lower
        for lower in "$T_TMP"/cache/ebt.*/lower/0; do [[ -e $lower ]] && pfs=$lower/; done
        env -u LD_PRELOAD find "$pfs" -mindepth 1 >"$T_TMP/pfs.before_flush"
        if [[ $style == signal ]]; then
            kill -USR1 "$(cat "$T_TMP/batch.pid")" || t_fail "kill -USR1 of job $id's batch shell failed"
            sl_job_wait "$id" 60 || rc=$?
        else
            sl_job_wait "$id" 100 || rc=$?
            t_log "Slurm's SIGUSR1 came $(($(stat -c %Y "$T_TMP/usr1" 2>/dev/null || echo 0) - $(stat -c %Y "$T_TMP/job.$style.sh"))) s after the submission"
        fi
        [[ -e $T_TMP/usr1 ]] || t_fail "the batch shell's USR1 trap did not run"
    else
        sl_batch "$T_TMP/job.$style.sh" "$T_TMP/job.$style.out" 60 || rc=$?
    fi
    if ((rc != 0)); then
        t_log "batch script:"; sed 's/^/    /' "$T_TMP/job.$style.sh" >&2
        t_log "its output:"; sed 's/^/    /' "$T_TMP/job.$style.out" >&2 2>/dev/null || true
        ((rc == 124)) && t_fail "job ($style) did not end within 60 s"
        ll_check_marks "$T_TMP/marksB" yes 4 # a clearer reason when EBT was not engaged
        t_fail "job ($style) failed: exit $rc ($SL_WHY)"
    fi
    ll_check_all 4
    if [[ $style == multi-mpi ]]; then # what a task sources is the exports alone
        ! grep -v '^export ' "$T_TMP"/env.[01] >&2 || t_fail "ebt start printed more than its exports"
    fi
    if [[ $style == multi* ]]; then
        local spread
        spread=$(cat "$T_TMP"/marksB.node.* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
        [[ $spread == "ebt0:2 ebt1:2 " ]] || t_fail "tasks per Slurm node: '$spread', expected ebt0:2 ebt1:2"
        t_log "tasks per Slurm node: $spread"
    fi
    t_log "ok: $style job ($(grep -c '^' "$T_TMP/job.$style.sh") lines of batch script) in $((SECONDS - t0)) s"
}

if [[ $variant == timelimit ]]; then
    run_job timelimit
elif ((nodes == 1)); then
    run_job batch
    run_job srun
    run_job signal
elif [[ $race == mpi ]]; then
    run_job multi-mpi
else
    run_job multi
fi
t_log "all in $((SECONDS - LL_T0)) s"
