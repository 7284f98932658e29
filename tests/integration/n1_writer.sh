#!/bin/bash
# n1_writer.sh - N-1 strided: 4 processes pwrite disjoint blocks of one file; tree vs native.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init n1_writer
t_require_drivers
t_mkdir A B

job() {
    "$DRIVERS_DIR/n1_writer" "$1/aligned.dat" 4 65536 16
    "$DRIVERS_DIR/n1_writer" "$1/odd.dat" 4 10007 20 # blocks straddle pages
}
t_both job "$T_TMP/A" "$T_TMP/B"
t_compare_trees "$T_TMP/A" "$T_TMP/B"
"$DRIVERS_DIR/n1_writer" --check "$T_TMP/B/aligned.dat" 4 65536 16 || t_fail "aligned.dat wrong"
"$DRIVERS_DIR/n1_writer" --check "$T_TMP/B/odd.dat" 4 10007 20 || t_fail "odd.dat wrong"
