#!/bin/bash
# mpi_run.sh - run one test_tp case over the MPI transport under mpirun: rank 0 is the client,
# the other ranks serve. Usage: mpi_run.sh MPIEXEC NP TEST_TP CASE. Exits 77 (skip) with a
# message where MPI cannot start here; passes only if rank 0 printed "PASS CASE".
set -u
MPIEXEC=$1 NP=$2 TP=$3 CASE=$4
export EBT_TRANSPORT=mpi TPT_RANKS=$NP
# Open MPI as root needs these; --oversubscribe: more ranks than the 2 cores. A killed rank must
# not make mpirun kill the survivors (what is tested is how they fail).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
FLAGS=()
if "$MPIEXEC" --version 2>&1 | grep -q -E "Open MPI|OpenRTE"; then
    FLAGS=(--oversubscribe -x EBT_TRANSPORT -x TPT_RANKS -x EBT_TP_MPI_SPLIT -x EBT_TP_MPI_THREAD
           -x EBT_LOG_LEVEL)
    case $CASE in # only there: elsewhere a failing rank 0 should end the job at once
    kill*) FLAGS+=(--mca orte_enable_recovery 1 --mca orte_abort_on_non_zero_status 0) ;;
    esac
fi
CMD=("$TP" "$CASE")
# MPICH's hydra kills every rank once it sees one die (-disable-auto-cleanup did not stop that
# here): each rank runs under a shell, and the shell of a killed rank exits only after rank 0 is
# done (or 60 s), so hydra sees the death when the test is over.
DONE=$(mktemp -u)
if [ ${#FLAGS[@]} -eq 0 ] && [[ $CASE == kill* ]]; then
    CMD=(sh -c '"$0" "$1"; st=$?; [ "$PMI_RANK" = 0 ] && : >"$2"; i=0
         while [ $st -gt 128 ] && [ ! -e "$2" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
         exit $st' "$TP" "$CASE" "$DONE")
fi
command -v "$MPIEXEC" >/dev/null || { echo "SKIP: no $MPIEXEC"; exit 77; }
if ! timeout 30 "$MPIEXEC" "${FLAGS[@]}" -np 1 true >/dev/null 2>&1; then
    echo "SKIP: $MPIEXEC cannot start a job here"
    exit 77
fi
OUT=$(mktemp)
trap 'rm -f "$OUT" "$DONE"' EXIT
timeout 120 "$MPIEXEC" "${FLAGS[@]}" -np "$NP" "${CMD[@]}" 2>&1 | tee "$OUT"
rc=${PIPESTATUS[0]}
case $CASE in
kill*) ;; # rank 1 is SIGKILLed: mpirun's own status says so
*) [ "$rc" -eq 0 ] || { echo "FAIL: mpirun exited with $rc"; exit 1; } ;;
esac
grep -q "^PASS $CASE\$" "$OUT" || { echo "FAIL: rank 0 did not pass $CASE"; exit 1; }
passed=$(grep -c "^PASS" "$OUT")
case $CASE in
kill*) want=1 ;;
*) want=$NP ;;
esac
[ "$passed" -ge "$want" ] || { echo "FAIL: only $passed of $want ranks passed"; exit 1; }
echo "mpi_run: $CASE passed on $NP ranks"
