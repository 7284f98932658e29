#!/bin/bash
# mn_vis.sh MODE - producer on node 0, consumer on node 3, visibility MODE (write|close|task):
# the consumer checks after each write (file still open), after close, after the producer
# exited, and after `ebt flush` what MODE promises (see tests/drivers/mn_vis.c); PFS == native.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
MODE=${1:?usage: mn_vis.sh write|close|task}
mn_init "mn_vis_$MODE"
NODES=4
VIS=$DRIVERS_DIR/mn_vis

# native: the producer alone (its waits for the consumer are pre-acknowledged)
mkdir -p "$T_TMP/sync.native" && touch "$T_TMP/sync.native/"{c1,c2,c3}
timeout -k 5 "$T_TIMEOUT" "$VIS" produce "$MODE" "$T_TMP/A" "$T_TMP/sync.native" >/dev/null ||
    t_fail "native producer failed"

mn_start "$NODES" --visibility "$MODE"
B=$T_TMP/B
mn_on 0 "$VIS" produce "$MODE" "$B" "$T_TMP/sync" >"$T_TMP/producer.out" 2>&1 &
prod=$!
rc=0
mn_on 3 "$VIS" consume "$MODE" "$B" "$T_TMP/sync" >"$T_TMP/consumer.out" 2>&1 || rc=$?
prc=0
wait "$prod" || prc=$?
cat "$T_TMP/consumer.out" "$T_TMP/producer.out" >&2
((rc == 0)) || t_fail "consumer on node 3: visibility $MODE not as promised ($rc)"
((prc == 0)) || t_fail "producer on node 0 failed ($prc)"

# after the producer exited: write/close show it on every node, task hides it until the flush
for n in 1 3; do
    if [[ $MODE == task ]]; then
        mn_on "$n" "$VIS" check-hidden "$MODE" "$B" >&2 || t_fail "node $n sees task data before the flush"
    else
        mn_on "$n" "$VIS" check-final "$MODE" "$B" >&2 || t_fail "node $n: data wrong after exit"
    fi
done
mn_flush 3
for n in 1 3; do
    mn_on "$n" "$VIS" check-final "$MODE" "$B" >&2 || t_fail "node $n: data wrong after the flush"
done
mn_stop
mn_compare
