#!/bin/bash
# mn_kill.sh - node 2's daemon is SIGKILLed mid-job: clients that need node 2 (a path it owns,
# data only it holds, any path from node 2 itself) get EIO within the peer timeout, never hang;
# clients that do not need node 2 keep working with the right data.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_kill
if t_native_only; then t_log "nothing to test natively (needs real daemons)"; exit 0; fi
NODES=4
mn_start "$NODES"
B=$(realpath "$T_TMP/B")
LIM=$((EBT_PEER_TIMEOUT_MS / 1000 + 5)) # EIO must come within the peer deadline (+ slack)

own2=$(mn_name_owned_by 2 "$B" own2_)  # record on node 2, data on node 0
own1=$(mn_name_owned_by 1 "$B" own1_)  # record on node 1, data on node 0
own3=$(mn_name_owned_by 3 "$B" own3_)  # record on node 3, data on node 3
held2=$(mn_name_owned_by 0 "$B" held2_) # record on node 0, data only on node 2
new2=$(mn_name_owned_by 2 "$B" new2_)  # not yet created, owned by node 2
new0=$(mn_name_owned_by 0 "$B" new0_)  # not yet created, owned by node 0
t_log "paths: $own2 $own1 $own3 $held2 $new2 $new0"
mn_on 0 sh -c 'echo two >"$1" && echo one >"$2"' _ "$own2" "$own1"
mn_on 3 sh -c 'echo three >"$1"' _ "$own3"
mn_on 2 sh -c 'echo held >"$1"' _ "$held2"
# before the kill everything is readable everywhere
[[ $(mn_on 1 cat "$own2" "$held2") == $'two\nheld' ]] || t_fail "node 1 cannot read before the kill"

mn_check_cached
pid=$(mn_daemon_pid 2)
kill -9 "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
t_log "killed node 2's ebtd ($pid)"

T_TIMEOUT=$((LIM * 3)) # hard limit per command: a hang is killed and reported as such
mn_expect_eio "$LIM" "node 1: read of a file owned by node 2" mn_on 1 cat "$own2"
mn_expect_eio "$LIM" "node 3: stat of a file owned by node 2" mn_on 3 stat "$own2"
mn_expect_eio "$LIM" "node 1: read of data only node 2 holds" mn_on 1 cat "$held2"
mn_expect_eio "$LIM" "node 3: create of a name owned by node 2" mn_on 3 sh -c 'echo x >"$1"' _ "$new2"
mn_expect_eio "$LIM" "node 2 (dead daemon): read of a file on node 0" mn_on 2 cat "$own1"

# clients that do not need node 2 keep working
[[ $(mn_on 1 cat "$own1") == one ]] || t_fail "node 1: file owned by node 1 unreadable"
[[ $(mn_on 0 cat "$own3") == three ]] || t_fail "node 0: file owned by node 3 unreadable"
mn_on 3 sh -c 'echo new >"$1"' _ "$new0" || t_fail "node 3: create owned by node 0 failed"
[[ $(mn_on 1 cat "$new0") == new ]] || t_fail "node 1: new file of node 3 unreadable"
for i in 0 1 3; do
    kill -0 "$(mn_daemon_pid "$i")" || t_fail "node $i's daemon died after node 2's death"
done
t_log "nodes 0, 1, 3 keep working"
