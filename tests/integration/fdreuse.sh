#!/bin/bash
# fdreuse.sh - fd reuse, dup, fork, fcntl and exec cases; output and tree vs native.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init fdreuse
t_require_drivers
export OUT=$T_TMP/out
t_mkdir A B out

job() { "$DRIVERS_DIR/fdreuse" "$1" | tee "$OUT/$(basename "$1").txt"; }
t_both job "$T_TMP/A" "$T_TMP/B"
t_expect_same "fdreuse output" "$OUT/A.txt" "$OUT/B.txt"
t_compare_trees "$T_TMP/A" "$T_TMP/B"
# (g) independent of the native run: text written by exec'd programs reached the PFS.
[[ $(cat "$T_TMP/B/g_echo.txt") == $'hello from echo\nsecond line' ]] || t_fail "echo output lost"
[[ $(cat "$T_TMP/B/g_fd3.txt") == $'via fd 3\nmore' ]] || t_fail "fd 3 output lost"
