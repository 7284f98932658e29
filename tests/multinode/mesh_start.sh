#!/bin/bash
# mesh_start.sh - 4 virtual nodes on one machine: all join, all see each other alive and answer a
# PING; one is killed -9: the others report it dead and a call to it fails at once.
. "$(dirname "$0")/mesh_lib.sh"
N=4
export EBT_PEER_TIMEOUT_MS=2000 EBT_JOIN_TIMEOUT_MS=20000

for i in $(seq 0 $((N - 1))); do start_node $i $N; done
wait
skip_if_no_ucx
for i in $(seq 0 $((N - 1))); do
    [ "$(cat "$T/rc$i")" = 0 ] || fail "ebt start of node $i: status $(cat "$T/rc$i"): $(cat "$T/err$i")"
    grep -qx "export EBT_NODES='$N'" "$T/env$i" || fail "node $i: no EBT_NODES export"
    grep -qx "export EBT_NODE_ID='$i'" "$T/env$i" || fail "node $i: no EBT_NODE_ID export"
    grep -q "^EBT_RENDEZVOUS=$T/rdv\$" "$(run_dir $i)/config" || fail "node $i: config lacks rendezvous"
    grep -qx "export EBT_RENDEZVOUS='$T/rdv'" "$T/env$i" || fail "node $i: no EBT_RENDEZVOUS export"
    grep -qx "export EBT_JOB_ID='rdv'" "$T/env$i" || fail "node $i: no EBT_JOB_ID export"
    # the client accepts the exported multi-node environment (no pass-through warning)
    out=$(. "$T/env$i"; /bin/cat /dev/null 2>&1)
    case "$out" in *"passing all I/O through"*) fail "node $i: client rejects its env: $out" ;; esac
done
[ "$(ls "$T/rdv" | grep -c '^node\.')" = $N ] || fail "rendezvous holds: $(ls -A "$T/rdv")"

for i in $(seq 0 $((N - 1))); do
    j=$("$EBT_BIN" stat --json --ping --run-dir "$(run_dir $i)")
    echo "node $i: $j" | grep -o '"mesh".*'
    echo "$j" | grep -q "\"node\":$i,\"nodes\":$N," || fail "node $i: wrong node/nodes"
    echo "$j" | grep -q '"dead":0' || fail "node $i: dead peers at start"
    [ "$(echo "$j" | grep -o '"state":"alive"' | wc -l)" = $((N - 1)) ] || fail "node $i: peers not alive"
    echo "$j" | grep -q '"status":\[0,0,0,0\]' || fail "node $i: PING of every node failed"
done

victim=2
kill -9 "$(cat "$(run_dir $victim)/ebtd.pid")"
t0=$(date +%s%N)
for i in 0 1 3; do
    ok=0
    for _ in $(seq 1 60); do # 3 s: the peer timeout (2 s) plus slack
        j=$("$EBT_BIN" stat --json --run-dir "$(run_dir $i)")
        if echo "$j" | grep -q "{\"node\":$victim,\"state\":\"dead\""; then ok=1; break; fi
        sleep 0.05
    done
    [ $ok = 1 ] || fail "node $i does not report node $victim dead: $j"
done
echo "dead noticed by all after $((($(date +%s%N) - t0) / 1000000)) ms"
for i in 0 1 3; do
    s=$(date +%s%N)
    j=$("$EBT_BIN" stat --json --ping --run-dir "$(run_dir $i)")
    ms=$((($(date +%s%N) - s) / 1000000))
    echo "$j" | grep -q '"status":\[0,0,-112,0\]' || fail "node $i: PING status not -EHOSTDOWN for node 2: $j"
    [ $ms -lt 1500 ] || fail "node $i: ebt stat --ping took $ms ms with a dead node"
    grep -q "mesh: node $victim failed" "$(run_dir $i)/ebt.log" || fail "node $i: no log line"
    [ "$(grep -c "mesh: node $victim failed" "$(run_dir $i)/ebt.log")" = 1 ] || fail "node $i: logged twice"
done

# a node that stops says so: the others mark it gone ("stopped"), not failed
"$EBT_BIN" stop --run-dir "$(run_dir 3)" >/dev/null 2>&1 || fail "ebt stop node 3"
for i in 0 1; do
    j=$("$EBT_BIN" stat --json --run-dir "$(run_dir $i)")
    echo "$j" | grep -q '{"node":3,"state":"dead","error":"stopped"}' || fail "node $i: node 3 not stopped: $j"
    grep -q "mesh: node 3 stopped" "$(run_dir $i)/ebt.log" || fail "node $i: no 'node 3 stopped' line"
    ! grep -q "mesh: node 3 failed" "$(run_dir $i)/ebt.log" || fail "node $i: node 3 logged as failed"
done
for i in 0 1; do
    "$EBT_BIN" stop --run-dir "$(run_dir $i)" >/dev/null 2>&1 || fail "ebt stop node $i"
done
[ "$(live_daemons)" = 0 ] || fail "daemons left running"
[ -z "$(ls "$T/rdv" | grep -v "^node\.$victim\$")" ] || fail "stopped nodes left rendezvous files: $(ls "$T/rdv")"
echo PASS
