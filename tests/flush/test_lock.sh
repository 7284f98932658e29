# test_lock.sh - one managed directory belongs to one running job per node: a second ebt run or
# ebt start on the same directory, one inside it or one around it, is refused naming the first
# job's run directory (exit 2), while another directory works; the lock dies with its holder.
source "$TESTS_DIR/lib.sh"
T=$W/top; P=$T/pfs; Q=$W/other; C=$W/cache
mkdir -p "$P/sub" "$Q" "$C"
mkfifo "$W/go1"

# job 1 holds P until the test writes to its FIFO; it appends a line to a shared log
cat > "$W/job1.sh" <<'JOB'
echo "$EBT_RUN_DIR" > "$RUNFILE"
read -r _ < "$GO"
echo "job1 line" >> "$PFS/log"
JOB
PFS=$(realpath "$P") RUNFILE=$W/run1 GO=$W/go1 "$EBT" run --pfs "$P" --cache "$C" -- \
    sh "$W/job1.sh" 2> "$W/err1" &
job1=$!
for _ in $(seq 1 200); do [ -s "$W/run1" ] && break; sleep 0.05; done
RUN1=$(cat "$W/run1"); [ -d "$RUN1" ] || fail "job 1 did not start"

# refused MESSAGE CMD...: exit 2, the message names job 1's run directory; nothing was started
refused() {
    local rc; set +e; "$@" > "$W/out" 2> "$W/err"; rc=$?; set -e
    [ $rc -eq 2 ] || { cat "$W/err"; fail "'$*': exit $rc, want 2"; }
    grep -q "managed by another running job on this node (run directory $RUN1" "$W/err" ||
        { cat "$W/err"; fail "'$*': first job's run directory not named"; }
    [ "$(ls "$C")" = "$(basename "$RUN1")" ] || fail "'$*' left a run directory"
    ok "$* -> 2: $(head -n1 "$W/err" | cut -c1-160)"
}
refused "$EBT" run --pfs "$P" --cache "$C" -- sh -c "echo job2 line >> $P/log"
refused "$EBT" run --pfs "$P/sub" --cache "$C" -- true
refused "$EBT" run --pfs "$T" --cache "$C" -- true
refused "$EBT" start --pfs "$P" --cache "$C"
refused env EBT_PATHS="$Q:$P" "$EBT" run --cache "$C" -- true
"$EBT" run --pfs "$Q" --cache "$C" -- true 2> "$W/err" || { cat "$W/err"; fail "another directory refused"; }
ok "another directory runs next to job 1"

echo go > "$W/go1"
wait $job1 || { cat "$W/err1"; fail "job 1 failed"; }
[ "$(cat "$P/log")" = "job1 line" ] || fail "log: $(cat "$P/log")"
"$EBT" run --pfs "$P" --cache "$C" -- true 2> "$W/err" || { cat "$W/err"; fail "P still locked after job 1"; }
ok "after job 1 ended the directory is free again"

# ebt start: the detached daemon holds the lock; ebt stop frees it
eval "$("$EBT" start --pfs "$P" --cache "$C")"
unset LD_PRELOAD
RUN1=$EBT_RUN_DIR
refused "$EBT" run --pfs "$P" --cache "$C" -- true
"$EBT" stop > /dev/null 2>&1 || fail "stop"
"$EBT" run --pfs "$P" --cache "$C" -- true 2> "$W/err" || { cat "$W/err"; fail "locked after stop"; }
ok "ebt start holds the directory until ebt stop"

# the lock dies with its holders: ebt run and its job SIGKILLed
cat > "$W/job3.sh" <<'JOB'
echo $$ > "$W/job3.pid"
while [ ! -e "$W/stop3" ] && [ -d "$W" ]; do sleep 0.1; done
JOB
# (its output away from ctest's pipe: an orphaned job holding it kept ctest waiting)
W=$W "$EBT" run --pfs "$P" --cache "$C" -- sh "$W/job3.sh" > /dev/null 2>&1 &
tool=$!
for _ in $(seq 1 200); do [ -s "$W/job3.pid" ] && break; sleep 0.05; done
run3=$(ls -d "$C"/ebt.* | head -n1); dpid=$(cat "$run3/ebtd.pid")
kill -9 $tool; wait $tool 2>/dev/null || true
: > "$W/stop3"
wait_gone "$(cat "$W/job3.pid")" || fail "the orphaned job did not end"
wait_gone "$dpid" || fail "ebtd outlived ebt run"
"$EBT" run --pfs "$P" --cache "$C" -- true 2> "$W/err" || { cat "$W/err"; fail "lock outlived its holders"; }
ok "a killed ebt run (and its ebtd) releases the directory"
