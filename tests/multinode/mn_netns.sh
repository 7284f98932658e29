#!/bin/bash
# mn_netns.sh - two virtual nodes in two network namespaces the test creates (veth pair,
# UCX_TLS=tcp, EBT_LISTEN on each namespace's address; with MN_TRANSPORT=mpi the two daemons
# are one Open MPI job whose ranks run in the namespaces, TCP BTL on the veths only, joined by a
# bridge mpirun's PMIx server listens on): node 0 writes, node 1 reads across
# (and the other way), the bytes really cross the veth; flush; PFS == native. Exit 77 (skip)
# where `ip netns` is unavailable. The namespaces are deleted at exit, whatever happens.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
. "$(dirname "$0")/netns_lib.sh"
mn_init mn_netns
if t_native_only; then t_log "nothing to test natively (needs namespaces and daemons)"; exit 0; fi
if [[ ${MN_TRANSPORT:-ucx} == mpi ]]; then
    "$MN_MPIEXEC" --version 2>&1 | grep -q -E "Open MPI|OpenRTE" ||
        mn_skip "netns over MPI is set up for Open MPI's TCP BTL only ($MN_MPIEXEC is another MPI)"
    MN_NETNS_BRIDGE=1 # the ranks reach mpirun's PMIx server (root namespace) over a bridge
fi
mn_netns_pair
PORT=$((21000 + $$ % 20000))
if [[ ${MN_TRANSPORT:-ucx} == mpi ]]; then
    # the two ranks reach each other only by TCP on the veth: no shared memory between them
    MPI_NET="OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=${IP0%.*}.0/24"
    MN_START_ENV_0="$MPI_NET" MN_START_ENV_1="$MPI_NET"
    export PMIX_MCA_ptl_tcp_remote_connections=1 PMIX_MCA_ptl_tcp_if_include=${IP0%.*}.0/24
else
    MN_START_ENV_0="UCX_TLS=tcp UCX_NET_DEVICES=$V0 EBT_LISTEN=$IP0:$PORT"
    MN_START_ENV_1="UCX_TLS=tcp UCX_NET_DEVICES=$V1 EBT_LISTEN=$IP1:$((PORT + 1))"
fi
MN_START_WRAP_0="ip netns exec $NS0"
MN_START_WRAP_1="ip netns exec $NS1"
D=$DRIVERS_DIR
mkdir -p "$T_TMP/out"

job() {
    local d=$1
    on 0 mkdir -p "$d/n0" "$d/big"
    on 0 "$D/nn_writer" "$d/n0" 2 3 300001 >/dev/null
    on 0 "$D/n1_writer" "$d/big/f.dat" 2 1048576 4 >/dev/null # 8 MiB
    on 1 "$D/nn_writer" --check "$d/n0" 2 3 300001 >/dev/null
    on 1 "$D/n1_writer" --check "$d/big/f.dat" 2 1048576 4 >/dev/null
    on 1 mkdir "$d/n1"
    on 1 "$D/nn_writer" "$d/n1" 1 2 5000 >/dev/null
    on 0 "$D/nn_writer" --check "$d/n1" 1 2 5000 >/dev/null
    on 1 sh -c 'cd "$1" && find . | LC_ALL=C sort && find . -type f | LC_ALL=C sort | xargs sha256sum' \
        _ "$d" >"$T_TMP/out/view1.$MN_MODE"
}

mn_native job
mn_start 2
tx0=$(mn_netns_tx "$NS0" "$V0")
mn_job job
tx=$(($(mn_netns_tx "$NS0" "$V0") - tx0))
diff -u "$T_TMP/out/view1.native" "$T_TMP/out/view1.ebt" >&2 || t_fail "node 1 sees another tree"
((tx >= 8 * 1048576)) || t_fail "only $tx bytes left node 0 over $V0: the data did not cross the veth"
t_log "$tx bytes sent by node 0 over the veth"
mn_flush 1
mn_stop
mn_compare
