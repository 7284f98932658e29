#!/bin/bash
# mesh_bad.sh - 'ebt start' refuses bad multi-node input with a clear error and a non-zero exit,
# and a job whose node never comes fails on every node that came, leaving no daemon behind.
. "$(dirname "$0")/mesh_lib.sh"
unset EBT_JOB_ID SLURM_JOB_ID SLURM_NODEID SLURM_NNODES OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_SIZE
mkdir -p "$T/c0" "$T/c1"

# expect_error WHAT_IN_STDERR ebt-start-args...: non-zero exit, message, no run directory left.
expect_error() {
    local want=$1
    shift
    if "$EBT_BIN" start --cache "$T/c0" --pfs "$T/pfs" "$@" >"$T/out" 2>"$T/err"; then
        fail "ebt start $* succeeded"
    fi
    grep -q -- "$want" "$T/err" || fail "ebt start $*: expected '$want', got: $(cat "$T/err")"
    [ -z "$(ls "$T/c0")" ] || fail "ebt start $*: left $(ls "$T/c0")"
    echo "ok: $* -> $(head -1 "$T/err")"
}

expect_error "node id 2 is out of range: 2 nodes means ids 0..1" --nodes 2 --node-id 2 --rendezvous "$T/rdv"
expect_error "must be a number" --nodes 0 --node-id 0
expect_error "needs --node-id" --nodes 2 --rendezvous "$T/rdv"
expect_error "give --rendezvous DIR" --nodes 2 --node-id 0
expect_error "No such file or directory" --nodes 2 --node-id 0 --rendezvous "$T/no/such/dir"
touch "$T/plainfile"
expect_error "not a directory" --nodes 2 --node-id 0 --rendezvous "$T/plainfile"
if [ "$(id -u)" != 0 ]; then
    mkdir "$T/ro" && chmod 0555 "$T/ro"
    expect_error "not writable" --nodes 2 --node-id 0 --rendezvous "$T/ro"
fi
echo "nosuchhost-$$" >"$T/hosts"
expect_error "is not listed" --hostfile "$T/hosts"
printf 'nosuchhost-%s\n%s\n' $$ "$(hostname)" >"$T/hosts"
expect_error "--node-id 0 but this host is line 1" --hostfile "$T/hosts" --node-id 0 --rendezvous "$T/rdv"
expect_error "--nodes 3 but --hostfile" --hostfile "$T/hosts" --nodes 3 --rendezvous "$T/rdv"
expect_error "option not valid here" --nodes 2 --node-id 0 --rendezvous "$T/rdv" --ping
expect_error "ucx or mpi" --nodes 2 --node-id 0 --rendezvous "$T/rdv" --transport tcp

# Node 2 of 3 never comes: nodes 0 and 1 give up after the join timeout, naming it.
export EBT_JOIN_TIMEOUT_MS=2000
t0=$(date +%s)
start_node 0 3
start_node 1 3
wait
skip_if_no_ucx
for i in 0 1; do
    [ "$(cat "$T/rc$i")" != 0 ] || fail "node $i started without node 2"
    grep -q "nodes never published: 2" "$T/err$i" || fail "node $i: error does not name node 2: $(cat "$T/err$i")"
    [ -z "$(ls "$T/c$i")" ] || fail "node $i: run directory left: $(ls "$T/c$i")"
    echo "ok: node $i: $(grep 'never published' "$T/err$i")"
done
[ $(($(date +%s) - t0)) -lt 15 ] || fail "the failed join took $(($(date +%s) - t0)) s"
[ "$(live_daemons)" = 0 ] || fail "daemons left running"
[ -z "$(ls -A "$T/rdv")" ] || fail "rendezvous files left: $(ls -A "$T/rdv")"

# A daemon still joining stops on SIGTERM (ebt stop, a job's end), saying so.
export EBT_JOIN_TIMEOUT_MS=60000
rm -rf "$T/c0" "$T/err0" "$T/rc0"
start_node 0 2
for _ in $(seq 1 100); do [ -s "$T/rdv/node.0" ] && break; sleep 0.05; done
[ -s "$T/rdv/node.0" ] || fail "node 0 never published"
t0=$(date +%s%N)
kill -TERM "$(cat "$(run_dir 0)/ebtd.pid")"
wait
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$(cat "$T/rc0")" != 0 ] || fail "ebt start succeeded after SIGTERM"
grep -q "stopped by signal 15 while joining" "$T/err0" || fail "SIGTERM: $(cat "$T/err0")"
[ $ms -lt 3000 ] || fail "SIGTERM during the join took $ms ms"
[ "$(live_daemons)" = 0 ] || fail "daemon left running after SIGTERM"
echo "ok: SIGTERM while joining: $(cat "$T/err0") ($ms ms)"
echo PASS
