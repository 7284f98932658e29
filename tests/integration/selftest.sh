#!/bin/bash
# selftest.sh - the checks can fail: every comparison and checker is fed a wrong result (native only).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
LIB=$(cd "$(dirname "$0")/../lib" && pwd)
export EBT_TEST_NATIVE_ONLY=1
t_init selftest
t_require_drivers
D=$DRIVERS_DIR

# must_fail WHAT CMD...: CMD (run in a subshell) must fail, or the check it tests is toothless.
must_fail() {
    local what=$1
    shift
    if ("$@") >"$T_TMP/must_fail.log" 2>&1; then
        t_fail "not detected: $what"
    fi
    t_log "detected: $what"
}

fresh_pair() {
    rm -rf "$T_TMP/x" "$T_TMP/y"
    mkdir -p "$T_TMP/x/d/e" "$T_TMP/y"
    printf 'abc\n' >"$T_TMP/x/d/f"
    chmod 0640 "$T_TMP/x/d/f"
    cp -a "$T_TMP/x/." "$T_TMP/y/"
    t_compare_trees "$T_TMP/x" "$T_TMP/y" 2>/dev/null
}
fresh_pair && printf 'abd\n' >"$T_TMP/y/d/f"
must_fail "same-size content difference" t_compare_trees "$T_TMP/x" "$T_TMP/y"
fresh_pair && chmod 0644 "$T_TMP/y/d/f"
must_fail "mode difference" t_compare_trees "$T_TMP/x" "$T_TMP/y"
fresh_pair && rmdir "$T_TMP/y/d/e"
must_fail "missing empty directory" t_compare_trees "$T_TMP/x" "$T_TMP/y"
fresh_pair && : >"$T_TMP/y/extra"
must_fail "extra empty file" t_compare_trees "$T_TMP/x" "$T_TMP/y"
fresh_pair && cp -a "$T_TMP/y/." "$T_TMP/x/" && : >"$T_TMP/y/d/.ebt~wh~f"
must_fail "EBT whiteout leaked to the PFS" t_compare_trees "$T_TMP/x" "$T_TMP/y"
fresh_pair && touch -d '2000-01-01' "$T_TMP/y/d/f"
must_fail "mtime difference" t_compare_mtimes "$T_TMP/x" "$T_TMP/y"
printf 'a\n' >"$T_TMP/o1" && printf 'b\n' >"$T_TMP/o2"
must_fail "output difference" t_expect_same "output" "$T_TMP/o1" "$T_TMP/o2"

# driver checkers
W=$T_TMP/w && mkdir "$W"
"$D/appender" "$W/a.log" 2 50 40 >/dev/null
cp "$W/a.log" "$W/a.orig"
printf 'Z' | dd of="$W/a.log" bs=1 seek=1000 conv=notrunc status=none
must_fail "appender: corrupt payload byte" "$D/appender" --check "$W/a.log" 2 50 40
{ head -c 40 "$W/a.orig"; head -c $((99 * 40)) "$W/a.orig"; } >"$W/a.log" # record 0 twice
must_fail "appender: one record duplicated, one missing" "$D/appender" --check "$W/a.log" 2 50 40
head -c $((99 * 40)) "$W/a.orig" >"$W/a.log"
must_fail "appender: last record missing" "$D/appender" --check "$W/a.log" 2 50 40
"$D/n1_writer" "$W/n1" 3 4096 4 >/dev/null
printf 'Z' | dd of="$W/n1" bs=1 seek=20000 conv=notrunc status=none
must_fail "n1_writer: one byte changed" "$D/n1_writer" --check "$W/n1" 3 4096 4
"$D/nn_writer" "$W" 2 2 10000 >/dev/null
printf 'Z' | dd of="$W/p1/f1.dat" bs=1 seek=9999 conv=notrunc status=none
must_fail "nn_writer: last byte changed" "$D/nn_writer" --check "$W" 2 2 10000
mkdir "$W/v" && "$D/vis_pair" setup "$W/v"
must_fail "vis_pair close: natively the reader sees data before close" "$D/vis_pair" close "$W/v"
must_fail "vis_pair check-hidden after the writer ran" "$D/vis_pair" check-hidden "$W/v"
"$D/vis_pair" setup "$W/v"
must_fail "vis_pair check-final before the writer ran" "$D/vis_pair" check-final "$W/v"

# a missing EBT must fail the integration tests, not skip them
must_fail "missing ebt binary" env EBT_TEST_NATIVE_ONLY=0 EBT_BIN=/nonexistent/ebt \
    bash "$(dirname "$0")/cp_tree.sh"
must_fail "missing libebt.so" env EBT_TEST_NATIVE_ONLY=0 EBT_BIN="$LIB/fake_ebt.sh" \
    EBT_LIB_DIR=/nonexistent bash "$(dirname "$0")/cp_tree.sh"
grep -q 'libebt.so' "$T_TMP/must_fail.log" || t_fail "missing-library message unclear"
t_log "all checks proved able to fail"
