#!/bin/bash
# mn_offline.sh - a node whose daemon died is flushed offline (`ebt flush --run-dir`): its own
# files reach the PFS, but its part of a file two nodes wrote (RUN/held) cannot be merged alone:
# the flush must say so, exit 4, not call itself complete, and keep that part in the cache.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_offline
if t_native_only; then t_log "nothing to test natively (needs real daemons)"; exit 0; fi
mn_start 2
B=$(realpath "$T_TMP/B")
mn_on 1 sh -c 'echo mine >"$1/only1.txt"' _ "$B"
# a file both nodes write: disjoint blocks, rank r on node r
for r in 0 1; do
    mn_on "$r" "$DRIVERS_DIR/n1_writer" --rank "$r" "$B/shared.dat" 2 4096 4 >/dev/null
done
run1=$(mn_run_dir 1)
[[ -n $(find "$run1/held" -type f) ]] || t_fail "node 1 holds no part of a shared file (setup)"
pid=$(mn_daemon_pid 1)
kill -9 "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
set +e
timeout -k 5 60 "$EBT_BIN" flush --run-dir "$run1" >"$T_TMP/off.out" 2>&1
rc=$?
set -e
cat "$T_TMP/off.out" >&2
((rc == 4)) || t_fail "offline flush of a node with shared parts exited $rc, not 4"
grep -q "several nodes wrote" "$T_TMP/off.out" || t_fail "the offline flush did not say why"
[[ $(cat "$B/only1.txt") == mine ]] || t_fail "node 1's own file did not reach the PFS"
[[ -n $(find "$run1/held" -type f) ]] || t_fail "node 1's part of the shared file was not kept"
t_log "offline flush: own files written, shared parts kept, exit 4 with the reason"
