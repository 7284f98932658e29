#!/bin/bash
# mn_cleanup_view.sh - the harness cleans up after a failing test: a one-node job (which mounts
# EBT's view over the PFS directory) whose test fails without stopping it leaves no ebtd and no
# view mounted. (Its cleanup once killed libfuse's auto_unmount helper with the daemon, and the
# dead view stayed mounted over a deleted directory.)
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_cleanup_view
if t_native_only; then t_log "nothing to test natively (needs a daemon)"; exit 0; fi
child=$T_TMP/child.sh
cat >"$child" <<'CHILD'
set -euo pipefail
. "$1/mn_lib.sh"
mn_init mn_cleanup_view_child
echo "$T_TMP" >"$2"
mn_start 1
grep -q " $T_TMP/B fuse.ebt " /proc/mounts || { echo "no view mounted over $T_TMP/B" >&2; exit 9; }
mn_on 0 sh -c 'echo x >"$1/f"' _ "$T_TMP/B"
t_fail "the failing test (on purpose)"
CHILD
rc=0
bash "$child" "$(dirname "$0")" "$T_TMP/child.tmp" >"$T_TMP/child.out" 2>&1 || rc=$?
ctmp=$(cat "$T_TMP/child.tmp")
((rc == 1)) || { cat "$T_TMP/child.out" >&2; t_fail "the child test ended with $rc, not 1"; }
[[ -n $ctmp && ! -e $ctmp ]] || t_fail "the child's directory $ctmp is still there"
! grep -F " $ctmp/" /proc/mounts >&2 || t_fail "a mount under the failed test's directory is left"
for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$ctmp/" && t_fail "process ${p#/proc/} of the failed test is left"
done
t_log "a failed one-node test left no daemon and no view"
