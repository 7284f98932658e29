#!/bin/bash
# mesh_mpi.sh - N virtual nodes whose daemons are one MPI job (mpirun -np N ebt start --transport
# mpi): rank = node id (a node id that is not the rank is refused), all join and PING each
# other, a file written on node 0 is read on node 1; one daemon is killed -9: the others' calls
# to it fail within the peer deadline, no hang, and the survivors stop cleanly.
# Usage: mesh_mpi.sh MPIEXEC [N]. Exits 77 where MPI cannot start.
. "$(dirname "$0")/mesh_lib.sh"
MPIEXEC=$1 N=${2:-3}
export EBT_PEER_TIMEOUT_MS=2000 EBT_JOIN_TIMEOUT_MS=20000
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
FLAGS=()
# Open MPI: more ranks than cores; daemons stop one by one (MPI_Finalize is a job-wide step: a
# daemon that stops first may exit before the others finalize).
"$MPIEXEC" --version 2>&1 | grep -q -E "Open MPI|OpenRTE" &&
    FLAGS=(--oversubscribe --mca orte_allowed_exit_without_sync 1 -x EBT_PEER_TIMEOUT_MS
           -x EBT_JOIN_TIMEOUT_MS -x EBT_BIN)
command -v "$MPIEXEC" >/dev/null || { echo "SKIP: no $MPIEXEC"; exit 77; }
timeout 30 "$MPIEXEC" "${FLAGS[@]}" -np 1 true >/dev/null 2>&1 ||
    { echo "SKIP: $MPIEXEC cannot start a job here"; exit 77; }

# outside a launcher ebtd is MPI rank 0 of 1: a node id that is not its rank is refused
mkdir -p "$T/cbad"
if "$EBT_BIN" start --transport mpi --nodes 2 --node-id 1 --rendezvous "$T/rdvbad" --cache "$T/cbad" \
    --pfs "$T/pfs" >"$T/outbad" 2>"$T/errbad"; then
    fail "node 1 started as MPI rank 0"
fi
grep -q "is MPI rank 0 but node 1" "$T/errbad" || fail "rank mismatch: $(cat "$T/errbad")"
[ -z "$(ls "$T/cbad")" ] || fail "rank mismatch left a run directory"
echo "ok: node id != rank refused: $(head -1 "$T/errbad")"

cat >"$T/rank.sh" <<EOS
#!/bin/bash
r=\${OMPI_COMM_WORLD_RANK:-\$PMI_RANK}
mkdir -p "$T/c\$r"
"\$EBT_BIN" start --transport mpi --rendezvous "$T/rdv" --cache "$T/c\$r" --pfs "$T/pfs" \
    >"$T/env\$r" 2>"$T/err\$r"
echo \$? >"$T/rc\$r"
EOS
chmod +x "$T/rank.sh"
# ebt start stays in the foreground under MPI (it is the rank the launcher watches): background
( timeout 120 "$MPIEXEC" "${FLAGS[@]}" -np "$N" "$T/rank.sh" >"$T/mpirun.out" 2>&1
  echo $? >"$T/mpirun.rc" ) &
for _ in $(seq 1 300); do # exports appear once every node joined (or rc once one failed)
    up=0
    for i in $(seq 0 $((N - 1))); do grep -q EBT_JOB_ID "$T/env$i" 2>/dev/null && up=$((up + 1)); done
    [ $up = $N ] && break
    ls "$T"/rc* >/dev/null 2>&1 && break
    sleep 0.1
done
for i in $(seq 0 $((N - 1))); do
    grep -q EBT_JOB_ID "$T/env$i" 2>/dev/null ||
        fail "node $i did not start: $(cat "$T/err$i" "$T/mpirun.out" 2>/dev/null)"
done
zeros=$(printf '0,%.0s' $(seq 1 $N)); zeros=${zeros%,}
for i in $(seq 0 $((N - 1))); do
    j=$("$EBT_BIN" stat --json --ping --run-dir "$(run_dir $i)")
    echo "node $i: $(echo "$j" | grep -o '"mesh".*')"
    echo "$j" | grep -q "\"node\":$i,\"nodes\":$N,\"address\":\"mpi:$i\"" || fail "node $i: not rank $i"
    echo "$j" | grep -q "\"status\":\[$zeros\]" || fail "node $i: PING of every node failed"
done

# a file made on node 0 is read on node 1 (metadata and data over the MPI transport)
( . "$T/env0"; echo "written on node 0" >"$T/pfs/f0" ) || fail "write on node 0"
got=$( . "$T/env1"; cat "$T/pfs/f0" ) || fail "read on node 1"
[ "$got" = "written on node 0" ] || fail "node 1 read '$got'"
echo "ok: node 1 reads node 0's file"

victim=$((N - 1))
kill -9 "$(cat "$(run_dir $victim)/ebtd.pid")"
s=$(date +%s%N)
j=$("$EBT_BIN" stat --json --ping --run-dir "$(run_dir 0)")
ms=$((($(date +%s%N) - s) / 1000000))
st=$(echo "$j" | grep -o '"status":\[[^]]*\]')
echo "after kill -9 of node $victim: ping $st in $ms ms"
echo "$st" | grep -q -E ",-(110|104|112)\]$" || fail "ping of the dead node did not fail: $st"
[ $ms -lt $((EBT_PEER_TIMEOUT_MS + 1500)) ] || fail "ping took $ms ms (deadline $EBT_PEER_TIMEOUT_MS)"
for i in $(seq 0 $((victim - 1))); do
    s=$(date +%s%N)
    timeout 30 "$EBT_BIN" stop --run-dir "$(run_dir $i)" >/dev/null 2>&1 || fail "ebt stop node $i"
    echo "node $i stopped in $((($(date +%s%N) - s) / 1000000)) ms"
done
for _ in $(seq 1 100); do [ -f "$T/mpirun.rc" ] && break; sleep 0.1; done
[ -f "$T/mpirun.rc" ] || fail "mpirun still running after every daemon stopped"
[ "$(live_daemons)" = 0 ] || fail "daemons left running"
# Open MPI (orte_allowed_exit_without_sync) lets the other ranks' 'ebt start' end normally. MPICH's
# hydra kills every rank's process once one rank's process died without finalizing (the killed
# ebtd): the other 'ebt start' watchers go then, their daemons (own sessions) stop as above.
if [ ${#FLAGS[@]} -gt 0 ]; then
    for i in $(seq 0 $((victim - 1))); do
        [ "$(cat "$T/rc$i" 2>/dev/null)" = 0 ] || fail "ebt start $i: '$(cat "$T/rc$i" 2>/dev/null)'"
    done
fi
echo PASS
