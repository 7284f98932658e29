#!/bin/bash
# posix_suite.sh - one POSIX call per line, native vs EBT: return values, errno, data, final tree.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init posix_suite
t_require_drivers
export OUT=$T_TMP/out
t_mkdir A B out
for d in A B; do "$DRIVERS_DIR/posix_suite" setup "$T_TMP/$d"; done

# The driver exits 1 when a call is not as POSIX says; the diff below shows which.
job() { "$DRIVERS_DIR/posix_suite" run "$1" >"$OUT/$(basename "$1").jsonl" || true; }
t_both job "$T_TMP/A" "$T_TMP/B"
grep -q '"summary"' "$OUT/B.jsonl" || t_fail "posix_suite did not finish under EBT: $(tail -3 "$OUT/B.jsonl")"
grep -q '"ok":false' "$OUT/A.jsonl" && t_fail "natively some calls are not as expected: the driver is wrong"
t_expect_same "posix_suite output" "$OUT/A.jsonl" "$OUT/B.jsonl"
t_compare_trees "$T_TMP/A" "$T_TMP/B"
[[ $(stat -c %Y "$T_TMP/B/pre/at.txt") == 1000000000 ]] || t_fail "utimensat mtime lost in the flush"
