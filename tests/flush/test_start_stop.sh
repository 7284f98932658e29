# test_start_stop.sh - ebt start prints exports; ebt flush goes through the live daemon;
# ebt stop flushes the rest, stops ebtd and removes the run dir.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P" "$C"
"$EBT" start --pfs "$P" --cache "$C" --visibility write > "$W/exports" || fail "start"
grep -q "^export LD_PRELOAD='$(realpath "$EBT_TEST_LIB")'$" "$W/exports" || fail "LD_PRELOAD export"
eval "$(cat "$W/exports")"
unset LD_PRELOAD
[ "$EBT_VISIBILITY" = write ] && [ "$EBT_PATHS" = "$(realpath "$P")" ] || fail "exports"
RUN=$EBT_RUN_DIR; U=$(up "$RUN" "$EBT_PATHS"); pid=$(cat "$RUN/ebtd.pid")
kill -0 "$pid" || fail "no daemon"

mkdir -p "$U"; put "$U/one" "1"
"$EBT" flush --json 2> "$W/err" || { cat "$W/err"; fail "flush"; }
grep -q '"offline":false' "$W/err" && grep -q '"files":1,' "$W/err" || { cat "$W/err"; fail "flush via daemon"; }
[ "$(cat "$P/one")" = 1 ] || fail "one not flushed"
ok "ebt flush through the running daemon"

put "$U/two" "2"
"$EBT" stop 2> "$W/err" || { cat "$W/err"; fail "stop"; }
[ "$(cat "$P/two")" = 2 ] || fail "two not flushed by stop"
[ ! -e "$RUN" ] || fail "run dir kept"
wait_gone "$pid" || fail "daemon still running"
ok "ebt stop: flushed, daemon stopped, run dir removed"

# ebtd answers SIGTERM (a batch system's time limit) by flushing, then exits cleanly and removes
# its socket and pid file
eval "$("$EBT" start --pfs "$P" --cache "$C")"; unset LD_PRELOAD
LD_PRELOAD=$EBT_TEST_LIB sh -c "echo at-the-time-limit > '$P/term.txt'"
pid=$(cat "$EBT_RUN_DIR/ebtd.pid"); kill -TERM "$pid"
wait_gone "$pid" || fail "SIGTERM ignored"
[ "$(cat "$(beneath "$EBT_RUN_DIR" "$P")/term.txt" 2>/dev/null)" = at-the-time-limit ] ||
    fail "SIGTERM: the cache was not flushed before ebtd exited"
grep -q "SIGTERM flush complete: 1 files" "$EBT_RUN_DIR/ebt.log" || fail "SIGTERM flush not logged"
[ ! -e "$EBT_RUN_DIR/ebtd.sock" ] && [ ! -e "$EBT_RUN_DIR/ebtd.pid" ] || fail "socket/pid left"
"$EBT" stop 2> "$W/err" || { cat "$W/err"; fail "stop without daemon"; }
grep -q "not running" "$W/err" || fail "offline stop not reported"
ok "SIGTERM: clean exit; ebt stop works offline"
