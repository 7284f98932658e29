# netns_lib.sh - network namespaces for multi-node tests: two namespaces joined by a veth pair.
# Sourced after mn_lib.sh. mn_netns_pair sets NS0 NS1 (namespace names), IP0 IP1 (addresses)
# and V0 V1 (veth names; with MN_NETNS_BRIDGE=1 through a bridge, see mn_netns_bridged),
# registers them for deletion at exit, and exits 77 (skip) with a
# message where namespaces cannot be created (no iproute2, no CAP_SYS_ADMIN).
mn_netns_pair() {
    command -v ip >/dev/null || mn_skip "no 'ip' command (iproute2): cannot create network namespaces"
    local tag=$(($$ % 100000)) net=$((($$ % 250) + 1))
    NS0=ebt-mn0.$tag NS1=ebt-mn1.$tag V0=ebtmn0v$tag V1=ebtmn1v$tag
    IP0=10.77.$net.1 IP1=10.77.$net.2
    ip netns add "$NS0" 2>/dev/null || mn_skip "ip netns unavailable (cannot create a namespace here)"
    MN_NETNS+=("$NS0")
    ip netns add "$NS1" 2>/dev/null || mn_skip "cannot create a second network namespace"
    MN_NETNS+=("$NS1")
    if [[ ${MN_NETNS_BRIDGE:-0} == 1 ]]; then
        mn_netns_bridged "$tag" "$net"
    else
        ip link add "$V0" type veth peer name "$V1" 2>/dev/null || mn_skip "cannot create a veth pair"
        MN_VETH+=("$V0")
        ip link set "$V0" netns "$NS0" && ip link set "$V1" netns "$NS1" || t_fail "cannot move veth"
    fi
    ip -n "$NS0" addr add "$IP0/24" dev "$V0" && ip -n "$NS1" addr add "$IP1/24" dev "$V1" ||
        t_fail "cannot set addresses"
    local ns
    for ns in "$NS0" "$NS1"; do ip -n "$ns" link set lo up || t_fail "lo up in $ns"; done
    ip -n "$NS0" link set "$V0" up && ip -n "$NS1" link set "$V1" up || t_fail "veth up"
    ip netns exec "$NS0" ping -c1 -W2 "$IP1" >/dev/null 2>&1 || t_log "note: ping $IP0 -> $IP1 failed"
    t_log "namespaces $NS0 ($IP0, $V0) and $NS1 ($IP1, $V1)"
}

# mn_netns_bridged TAG NET (MN_NETNS_BRIDGE=1): V0 and V1 each joined by a veth to a bridge in
# the root namespace that has the address 10.77.NET.254, so a process inside a
# namespace can reach a server of the root namespace (mpirun's PMIx server) too. Node to node
# traffic still leaves NS0 through V0.
mn_netns_bridged() {
    local br=ebtmnbr$1 v
    ip link add "$br" type bridge 2>/dev/null || mn_skip "cannot create a bridge"
    MN_VETH+=("$br")
    ip addr add "10.77.$2.254/24" dev "$br" && ip link set "$br" up || t_fail "bridge address"
    for v in 0 1; do
        local dev="V$v" ns="NS$v"
        ip link add "${!dev}" type veth peer name "${!dev}r" 2>/dev/null || mn_skip "cannot create a veth pair"
        MN_VETH+=("${!dev}r")
        ip link set "${!dev}" netns "${!ns}" && ip link set "${!dev}r" master "$br" &&
            ip link set "${!dev}r" up || t_fail "cannot attach ${!dev} to $br"
    done
}

# mn_netns_tx NS DEV: bytes sent on DEV inside NS.
mn_netns_tx() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/tx_bytes"; }
