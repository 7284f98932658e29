#!/bin/bash
# vis_task_session.sh - visibility task in a session: hidden from other tasks until `ebt flush`;
# processes sharing one EBT_TASK_ID are one task.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init vis_task_session
t_require_drivers
t_mkdir B
V=$DRIVERS_DIR/vis_pair
B=$T_TMP/B

"$V" setup "$B"
mkdir "$B/same" && "$V" setup "$B/same"
t_session_start "$B" --visibility task
if t_native_only; then
    t_session "$V" native "$B" || t_fail "vis_pair native failed"
    t_session "$V" native "$B/same" || t_fail "vis_pair native failed"
else
    t_session "$V" task "$B" || t_fail "vis_pair task failed (see the FAIL lines above)"
    t_session env EBT_TASK_ID=vis-other "$V" check-hidden "$B" ||
        t_fail "a third task saw the data before the flush"
    t_session "$V" task-same "$B/same" || t_fail "two processes of one task do not share their data"
fi
t_session_flush
t_session env EBT_TASK_ID=vis-other "$V" check-final "$B" || t_fail "another task does not see the data after ebt flush"
t_session_stop
"$V" check-final "$B" || t_fail "the PFS does not hold the data after flush and stop"
"$V" check-final "$B/same" || t_fail "the PFS does not hold the same-task data after flush and stop"
