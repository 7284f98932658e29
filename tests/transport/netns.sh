#!/bin/bash
# netns.sh - two "nodes" in network namespaces this test creates (veth pair, UCX_TLS=tcp).
# Usage: netns.sh PATH/test_tp. Exits 77 (skipped) where namespaces cannot be created.
set -u
TP=$1
NS1=ebt-tp-a.$$ NS2=ebt-tp-b.$$ VA=ebtva$$ VB=ebtvb$$
A=10.213.$(( $$ % 200 )).1 B=10.213.$(( $$ % 200 )).2
SRV=

cleanup() {
    [ -n "$SRV" ] && kill "$SRV" 2>/dev/null
    ip netns del "$NS1" 2>/dev/null
    ip netns del "$NS2" 2>/dev/null
}
trap cleanup EXIT

skip() { echo "SKIP: $*"; exit 77; }

command -v ip >/dev/null || skip "no 'ip' command (iproute2)"
ip netns add "$NS1" 2>/dev/null || skip "cannot create network namespaces here (need root/CAP_SYS_ADMIN)"
ip netns add "$NS2" 2>/dev/null || skip "cannot create a second network namespace"
ip link add "$VA" type veth peer name "$VB" 2>/dev/null || skip "cannot create a veth pair"
ip link set "$VA" netns "$NS1" && ip link set "$VB" netns "$NS2" || skip "cannot move veth"
ip -n "$NS1" addr add "$A/24" dev "$VA" && ip -n "$NS2" addr add "$B/24" dev "$VB" || exit 1
for ns in "$NS1" "$NS2"; do ip -n "$ns" link set lo up; done
ip -n "$NS1" link set "$VA" up && ip -n "$NS2" link set "$VB" up || exit 1

# Namespaces do not isolate UCX shared memory: force TCP so bytes really cross the veth.
export UCX_TLS=tcp UCX_WARN_UNUSED_ENV_VARS=n
PORT=$(( 20000 + $$ % 20000 ))
UCX_NET_DEVICES=$VA timeout 60 ip netns exec "$NS1" "$TP" netns-server "$A:$PORT" &
SRV=$!
sleep 0.3
UCX_NET_DEVICES=$VB timeout 60 ip netns exec "$NS2" "$TP" netns-client "$A:$PORT"
rc=$?
wait "$SRV"; src=$?
SRV=
echo "client rc=$rc server rc=$src"
[ $rc -eq 0 ] && [ $src -eq 0 ]
