# test_log.sh - RUN/ebt.log stays small: a message site writes at most EBT_LOG_PER_SEC (10) lines
# a second, then one "suppressed K lines" line; the file stops at EBT_LOG_BYTES.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P" "$C"

# a burst of 300 malformed messages in (much) less than the seconds it would take to log them all
eval "$("$EBT" start --pfs "$P" --cache "$C")"
unset LD_PRELOAD
RUN=$EBT_RUN_DIR; LOG=$RUN/ebt.log
t0=$(date +%s)
"$PROBE" "$RUN" garbage 300 > /dev/null || fail "garbage burst not answered"
t1=$(date +%s)
n=$(grep -v suppressed "$LOG" | grep -c "malformed message" || true)
max=$(( (t1 - t0 + 2) * 10 ))  # the limit's seconds need not align with date's
[ "$n" -ge 1 ] && [ "$n" -le "$max" ] || fail "$n malformed lines logged in $((t1 - t0 + 1)) s (max $max)"
# the next line of that site in a later second reports what was held back: keep sending one
# message at a time until every message sent is either logged or counted as suppressed (a burst
# that spans several seconds under load has several suppressed lines, each reported later)
counts() {
    all=$(grep -v "suppressed" "$LOG" | grep -c "malformed message on fd" || true)
    k=$(sed -n 's/.*suppressed \([0-9]*\) lines like.*/\1/p' "$LOG" | awk '{s+=$1} END {print s+0}')
}
extra=0; end=$(( $(date +%s) + 15 )); counts
until grep -q "suppressed [0-9]* lines like: ebtd: malformed message" "$LOG" &&
      [ $((all + k)) -eq $((300 + extra)) ]; do
    [ "$(date +%s)" -lt "$end" ] ||
        { tail "$LOG"; fail "logged $all + suppressed $k != $((300 + extra)) sent"; }
    "$PROBE" "$RUN" garbage 1 > /dev/null; extra=$((extra + 1)); sleep 0.3; counts
done
"$EBT" stop > /dev/null 2>&1 || fail "stop"
ok "300 malformed messages: $n lines + 'suppressed $k lines'"

# the cap: with EBT_LOG_BYTES=2K the log stops growing (one note says so)
eval "$(EBT_LOG_BYTES=2K "$EBT" start --pfs "$P" --cache "$C")"
unset LD_PRELOAD
RUN=$EBT_RUN_DIR; LOG=$RUN/ebt.log
end=$(( $(date +%s) + 20 ))
until grep -q "log reached 2048 bytes" "$LOG"; do
    [ "$(date +%s)" -lt "$end" ] || { ls -l "$LOG"; fail "the log never reached its cap"; }
    "$PROBE" "$RUN" garbage 20 > /dev/null
done
"$PROBE" "$RUN" garbage 50 > /dev/null; sleep 1.1; "$PROBE" "$RUN" garbage 50 > /dev/null
size=$(stat -c %s "$LOG")
[ "$size" -le $((2048 + 1024)) ] || fail "log is $size bytes with EBT_LOG_BYTES=2K"
"$PROBE" "$RUN" hello > /dev/null || fail "daemon unwell after its log filled"
"$EBT" stop > /dev/null 2>&1 || fail "stop"
ok "EBT_LOG_BYTES=2K: the log stopped at $size bytes"
