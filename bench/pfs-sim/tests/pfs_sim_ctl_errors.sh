#!/bin/bash
# pfs_sim_ctl_errors.sh - bad input to pfs-sim-ctl and pfs-sim fails with a clear message.
# usage: pfs_sim_ctl_errors.sh CTL BIN   (needs no FUSE: nothing here gets mounted)
set -u
CTL=$1
BIN=$2
TMP=$(mktemp -d /tmp/pfs-sim-ctl-errors.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/b" "$TMP/m"
failures=0

# expect_fail "what" "message regex" command...
expect_fail() {
    local what=$1 pattern=$2 out rc
    shift 2
    out=$(timeout 30 "$@" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] || [ $rc -eq 124 ] || ! grep -Eq -- "$pattern" <<<"$out"; then
        echo "FAIL: $what: exit $rc, output: $out"
        failures=$((failures + 1))
    else
        echo "ok: $what (exit $rc): $(head -1 <<<"$out")"
    fi
}

S=(start --bin "$BIN" --backing "$TMP/b" --mnt "$TMP/m")
expect_fail "missing backing dir" "not an existing directory" \
    "$CTL" start --bin "$BIN" --backing "$TMP/none" --mnt "$TMP/m"
expect_fail "missing mnt dir" "not an existing directory" \
    "$CTL" start --bin "$BIN" --backing "$TMP/b" --mnt "$TMP/none"
expect_fail "no --backing" "--backing DIR is required" "$CTL" start --mnt "$TMP/m"
expect_fail "bad --nodes" "--nodes abc" "$CTL" "${S[@]}" --nodes abc
expect_fail "too many nodes" "--nodes 65" "$CTL" "${S[@]}" --nodes 65
expect_fail "bad --osts" "--osts 0" "$CTL" "${S[@]}" --osts 0
expect_fail "bad --stripe-size" "--stripe-size 1000" "$CTL" "${S[@]}" --stripe-size 1000
expect_fail "stripe count > osts" "exceeds --osts" "$CTL" "${S[@]}" --osts 2 --stripe-count 3
expect_fail "bad latency" "--mds-latency-us -5" "$CTL" "${S[@]}" --mds-latency-us -5
expect_fail "unknown option" "unknown option" "$CTL" "${S[@]}" --bogus 1
expect_fail "stop when not running" "no pfs-sim running" "$CTL" stop --mnt "$TMP/m"
expect_fail "unknown command" "unknown command" "$CTL" frobnicate
expect_fail "daemon without args" "are required" "$BIN"
if [ -e "$TMP/m/node0" ] && mountpoint -q "$TMP/m/node0"; then
    echo "FAIL: something got mounted"
    failures=$((failures + 1))
fi
[ $failures -eq 0 ] && echo "PASS" || echo "$failures failure(s)"
[ $failures -eq 0 ]
