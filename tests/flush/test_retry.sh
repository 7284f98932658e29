# test_retry.sh - 'ebt run' whose flush fails keeps the cache (exit 4, retry command printed);
# the 'ebt flush --run-dir' that completes it removes the run directory, as ebt run would have;
# with --keep-cache it stays.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P/ro" "$C"
mkfifo "$W/go"
# the job writes, then waits until the test has made the PFS directory read-only beneath it
cat > "$W/job.sh" <<'JOB'
echo "must not be lost" > "$PFS/ro/f"
echo "$EBT_RUN_DIR" > "$RUNFILE"
read -r _ < "$GO"
JOB

# run_failing [OPTS]: ebt run whose flush fails; sets RUN
run_failing() {
    rm -f "$W/run"
    PFS=$(realpath "$P") RUNFILE=$W/run GO=$W/go drop_caps "$EBT" run --pfs "$P" --cache "$C" "$@" \
        -- sh "$W/job.sh" 2> "$W/err" &
    local job=$! i rc
    for i in $(seq 1 200); do [ -s "$W/run" ] && break; sleep 0.05; done
    RUN=$(cat "$W/run")
    chmod 0555 "$(beneath "$RUN" "$P")/ro"
    echo go > "$W/go"
    set +e; wait $job; rc=$?; set -e
    [ $rc -eq 4 ] || { cat "$W/err"; fail "failing flush: exit $rc, want 4"; }
    grep -q "retry with: ebt flush --run-dir $RUN" "$W/err" || { cat "$W/err"; fail "no retry hint"; }
    [ -d "$RUN" ] || fail "the cache was not kept"
    chmod 0755 "$P/ro"
}

run_failing
drop_caps "$EBT" flush --run-dir "$RUN" 2> "$W/err2" || { cat "$W/err2"; fail "retry failed"; }
[ "$(cat "$P/ro/f")" = "must not be lost" ] || fail "retry did not flush the file"
grep -q "removed $RUN" "$W/err2" || { cat "$W/err2"; fail "retry does not say it removed the cache"; }
[ ! -e "$RUN" ] && [ -z "$(ls -A "$C")" ] || fail "cache left behind after a complete retry"
ok "failed ebt run -> exit 4; complete ebt flush retry removed $RUN"

rm -f "$P/ro/f"
run_failing --keep-cache
drop_caps "$EBT" flush --run-dir "$RUN" 2> "$W/err2" || { cat "$W/err2"; fail "retry failed"; }
[ "$(cat "$P/ro/f")" = "must not be lost" ] && [ -d "$RUN" ] || fail "--keep-cache: cache removed"
rm -rf "$RUN"
ok "--keep-cache: the retry keeps the run directory"

# an ebt start job's run directory stays after ebt flush (ebt stop removes it)
eval "$("$EBT" start --pfs "$P" --cache "$C")"
unset LD_PRELOAD
"$EBT" flush > /dev/null 2>&1 || fail "flush under ebt start"
[ -d "$EBT_RUN_DIR" ] || fail "ebt flush removed a running job's run directory"
"$EBT" stop > /dev/null 2>&1 && [ ! -e "$EBT_RUN_DIR" ] || fail "ebt stop"
ok "ebt start job: ebt flush keeps the run directory, ebt stop removes it"
