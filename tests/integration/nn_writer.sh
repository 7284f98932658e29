#!/bin/bash
# nn_writer.sh - N-N: 4 processes write, read back and verify their own files; tree vs native.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init nn_writer
t_require_drivers
t_mkdir A B

job() { "$DRIVERS_DIR/nn_writer" "$1/nn" 4 6 200000; }
for d in A B; do mkdir "$T_TMP/$d/nn"; done
t_both job "$T_TMP/A" "$T_TMP/B"
t_compare_trees "$T_TMP/A" "$T_TMP/B"
"$DRIVERS_DIR/nn_writer" --check "$T_TMP/B/nn" 4 6 200000 || t_fail "flushed files wrong"
