#!/bin/bash
# vis_pair.sh MODE - what another task sees under `ebt run --visibility MODE` (write|close|task).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
MODE=$1
t_init "vis_pair_$MODE"
t_require_drivers
t_mkdir B
V=$DRIVERS_DIR/vis_pair
DRIVER_MODE=$MODE
t_native_only && DRIVER_MODE=native # natively every write is visible at once

"$V" setup "$T_TMP/B" # old.dat is on the PFS before the job
t_ebt "$T_TMP/B" --visibility "$MODE" -- "$V" "$DRIVER_MODE" "$T_TMP/B" ||
    t_fail "vis_pair $DRIVER_MODE failed (see the FAIL lines above)"
"$V" check-final "$T_TMP/B" || t_fail "after the job the PFS does not hold the writer's data"
