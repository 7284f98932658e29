# test_sigterm.sh - the end of a job as a batch system ends it: at the time limit every process
# of the step gets SIGTERM (SIGKILL follows KillWait seconds later). ebtd flushes before it exits,
# ebt run finishes the flush, exits with the job's status, and says nothing died; a FIFO in the
# tree blocks nothing.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P" "$C"
"$EBT" run --pfs "$P" --cache "$C" -- sh -c \
    "echo before-the-limit > '$P/a'; mkfifo '$P/fifo'; : > '$P/ready'; exec sleep 60" \
    > "$W/out" 2> "$W/err" &
rp=$!
for i in $(seq 1 200); do [ -e "$P/ready" ] && break; sleep 0.05; done
[ -e "$P/ready" ] || { cat "$W/err"; fail "the job did not start"; }
dpid=$(cat "$C"/ebt.*/ebtd.pid)
kill -TERM $rp $dpid $(pgrep -f "^sleep 60$" || true) # (Slurm signals every process of the step)
for i in $(seq 1 600); do gone $rp && break; sleep 0.05; done # 30 s: KillWait's default
gone $rp || { kill -9 $rp; fail "ebt run still running 30 s after SIGTERM"; }
rc=0; wait $rp || rc=$?
cat "$W/err"
[ "$rc" = 143 ] || fail "ebt run exited $rc after SIGTERM, want 143 (the job's status)"
[ "$(cat "$P/a")" = before-the-limit ] || fail "the job's file did not reach the PFS"
[ -p "$P/fifo" ] || fail "the FIFO is not on the PFS"
! grep -q "died" "$W/err" || fail "a SIGTERM'd daemon was reported as died"
[ -z "$(ls -A "$C")" ] || fail "the cache was not removed after the complete flush"
ok "SIGTERM to the whole step: flushed (FIFO included), exit 143, cache removed"
