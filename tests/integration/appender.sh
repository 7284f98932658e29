#!/bin/bash
# appender.sh - 2 processes append records to one O_APPEND file; every record present once, intact.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init appender
t_require_drivers
t_mkdir B

# The interleaving (and the pids in the records) legitimately differ between runs, so the result
# is checked against the record format, not against a native run.
job() {
    "$DRIVERS_DIR/appender" "$1/app.log" 2 3000 100
    "$DRIVERS_DIR/appender" "$1/small.log" 2 500 25
}
t_ebt "$T_TMP/B" -- bash -c "$(declare -f job); job \"\$1\"" _ "$T_TMP/B" || t_fail "job failed under EBT"
"$DRIVERS_DIR/appender" --check "$T_TMP/B/app.log" 2 3000 100 || t_fail "app.log wrong after the flush"
"$DRIVERS_DIR/appender" --check "$T_TMP/B/small.log" 2 500 25 || t_fail "small.log wrong after the flush"
