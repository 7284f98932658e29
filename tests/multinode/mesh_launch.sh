#!/bin/bash
# mesh_launch.sh - 'ebt start' works out node id and count from Slurm and Open MPI variables and
# the default rendezvous <pfs>/.ebt~rdv.<job id>; explicit options win; a hostfile naming only
# this host is a one-node job; 'ebt run' stays one node whatever the environment says.
. "$(dirname "$0")/mesh_lib.sh"
unset EBT_JOB_ID SLURM_JOB_ID SLURM_NODEID SLURM_NNODES OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_SIZE
export EBT_LISTEN=127.0.0.1:0 EBT_JOIN_TIMEOUT_MS=20000

# launch_pair TAG VAR=VALUE...: two nodes started concurrently with node i's variables (i in @).
launch_pair() {
    local tag=$1 i
    shift
    for i in 0 1; do
        mkdir -p "$T/c$tag$i"
        ( env $(echo "$@" | sed "s/@/$i/g") "$EBT_BIN" start --cache "$T/c$tag$i" --pfs "$T/pfs" \
            >"$T/env$tag$i" 2>"$T/err$tag$i"; echo $? >"$T/rc$tag$i" ) &
    done
    wait
    skip_if_no_ucx
    for i in 0 1; do
        [ "$(cat "$T/rc$tag$i")" = 0 ] || fail "$tag node $i: $(cat "$T/err$tag$i")"
        grep -qx "export EBT_NODES='2'" "$T/env$tag$i" || fail "$tag node $i: not 2 nodes"
        grep -qx "export EBT_NODE_ID='$i'" "$T/env$tag$i" || fail "$tag node $i: wrong id"
        local r=$(ls -d "$T/c$tag$i"/ebt.*)
        "$EBT_BIN" stat --json --ping --run-dir "$r" | grep -q '"status":\[0,0\]' ||
            fail "$tag node $i: mesh not up"
    done
}
stop_pair() {
    for r in "$T"/c$1?/ebt.*; do "$EBT_BIN" stop --run-dir "$r" >/dev/null 2>&1 || fail "stop $r"; done
}

launch_pair slurm SLURM_NNODES=2 SLURM_NODEID=@ SLURM_JOB_ID=42
grep -qx "export EBT_RENDEZVOUS='$T/pfs/.ebt~rdv.42'" "$T/envslurm0" || fail "slurm: default rendezvous"
grep -qx "export EBT_JOB_ID='42'" "$T/envslurm1" || fail "slurm: job id"
stop_pair slurm
[ ! -e "$T/pfs/.ebt~rdv.42" ] || fail "slurm: default rendezvous left on the PFS: $(ls -A "$T/pfs/.ebt~rdv.42")"
echo "ok: slurm"

launch_pair ompi OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=@ EBT_JOB_ID=j7
grep -qx "export EBT_RENDEZVOUS='$T/pfs/.ebt~rdv.j7'" "$T/envompi1" || fail "ompi: default rendezvous"
stop_pair ompi
echo "ok: open mpi"

# explicit options win over the launcher's variables
mkdir -p "$T/cx"
SLURM_NNODES=2 SLURM_NODEID=1 SLURM_JOB_ID=43 "$EBT_BIN" start --nodes 1 --cache "$T/cx" \
    --pfs "$T/pfs" >"$T/envx" 2>"$T/errx" || fail "--nodes 1 under slurm: $(cat "$T/errx")"
grep -qx "export EBT_NODES='1'" "$T/envx" || fail "--nodes 1 under slurm: $(cat "$T/envx")"
"$EBT_BIN" stop --run-dir "$(ls -d "$T"/cx/ebt.*)" >/dev/null 2>&1 || fail "stop cx"
echo "ok: options win"

hostname >"$T/hosts"
mkdir -p "$T/ch"
"$EBT_BIN" start --hostfile "$T/hosts" --cache "$T/ch" --pfs "$T/pfs" >"$T/envh" 2>"$T/errh" ||
    fail "hostfile: $(cat "$T/errh")"
grep -qx "export EBT_NODES='1'" "$T/envh" || fail "hostfile: not one node"
"$EBT_BIN" stat --run-dir "$(ls -d "$T"/ch/ebt.*)" | grep -q "^node  *0 of 1$" || fail "stat: node line"
"$EBT_BIN" stop --run-dir "$(ls -d "$T"/ch/ebt.*)" >/dev/null 2>&1 || fail "stop ch"
echo "ok: hostfile"

mkdir -p "$T/cr"
out=$(EBT_NODES=4 EBT_NODE_ID=3 EBT_CACHE_DIR="$T/cr" "$EBT_BIN" run --pfs "$T/pfs" -- \
    /bin/sh -c 'echo "$EBT_NODES $EBT_NODE_ID"' 2>"$T/errr") || fail "ebt run failed"
[ "$out" = "1 0" ] || fail "ebt run: EBT_NODES/EBT_NODE_ID in the job: '$out'"
echo "ok: ebt run is one node"
[ "$(live_daemons)" = 0 ] || fail "daemons left running"
echo PASS
