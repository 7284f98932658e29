# mesh_lib.sh - shared helpers of the mesh tests: temp dir, cleanup of every daemon, JSON checks.
set -u
: "${EBT_BIN:?EBT_BIN must point to the ebt binary}"
export UCX_NET_DEVICES=${UCX_NET_DEVICES:-lo} UCX_WARN_UNUSED_ENV_VARS=n
T=$(mktemp -d /tmp/ebt-mesh.XXXXXX)
mkdir -p "$T/pfs" "$T/rdv"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Kill every daemon whose run directory is under $T (they are detached: find them by pid file).
mesh_cleanup() {
    for p in "$T"/c*/ebt.*/ebtd.pid; do
        [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null
    done
    rm -rf "$T"
}
trap mesh_cleanup EXIT

run_dir() { ls -d "$T/c$1"/ebt.* 2>/dev/null | head -1; }

# Daemons (not zombies) still running with a run directory under $T.
live_daemons() {
    local n=0 pid st
    for pid in $(pgrep -x ebtd); do
        st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
        [ "$st" = Z ] && continue
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$T/" && n=$((n + 1))
    done
    echo $n
}

# The transport could not start at all here: skip (ctest SKIP_RETURN_CODE 77).
skip_if_no_ucx() {
    if grep -qs "cannot open the transport" "$T"/c*/ebt.*/ebt.log "$T"/err* 2>/dev/null; then
        echo "SKIP: UCX cannot start here (see the daemon log)"
        exit 77
    fi
}

# Start node $1 of $2 in the background (stdout -> $T/env$1, stderr -> $T/err$1, status -> $T/rc$1).
start_node() {
    mkdir -p "$T/c$1"
    ( "$EBT_BIN" start --nodes "$2" --node-id "$1" --rendezvous "$T/rdv" --cache "$T/c$1" \
        --pfs "$T/pfs" >"$T/env$1" 2>"$T/err$1"; echo $? >"$T/rc$1" ) &
}
