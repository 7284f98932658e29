# test_run.sh - ebt run end to end: exit status propagation, flush of what the job cached,
# summary (text and JSON), run dir removed (or kept with --keep-cache), environment.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P" "$C"

"$EBT" run --pfs "$P" --cache "$C" -- true 2> "$W/err" || { cat "$W/err"; fail "ebt run true"; }
grep -q "ebt: files            0" "$W/err" && grep -q "job seconds" "$W/err" || fail "summary"
[ -z "$(ls -A "$C")" ] || fail "run dir not removed"
ok "ebt run -- true: exit 0, summary printed, run dir removed"

set +e
"$EBT" run --pfs "$P" --cache "$C" -- sh -c 'exit 7' 2>/dev/null; rc=$?
"$EBT" run --pfs "$P" --cache "$C" -- sh -c 'kill -9 $$' 2>/dev/null; rc9=$?
"$EBT" run --pfs "$P" --cache "$C" -- /nonexistent/cmd 2> "$W/err"; rc127=$?
set -e
[ $rc -eq 7 ] || fail "exit 7 became $rc"
[ $rc9 -eq 137 ] || fail "SIGKILL gave $rc9, want 137"
[ $rc127 -eq 127 ] && grep -q "cannot run /nonexistent/cmd" "$W/err" || fail "missing command"
ok "exit statuses: 7 -> 7, SIGKILL -> 137, missing command -> 127"

# the job's environment, and data it places in the cache reaches the PFS
cat > "$W/job.sh" <<'JOB'
set -e
env | grep '^EBT_\|^LD_PRELOAD' > "$OUT"
d="$PFS/results"   # through the client: the write lands in the cache
mkdir -p "$d"; echo "result data" > "$d/r.txt"; chmod 0604 "$d/r.txt"
JOB
OUT=$W/env PFS=$(realpath "$P") LD_PRELOAD= "$EBT" run --pfs "$P" --cache "$C" --json \
    --visibility task --cache-bytes 64M -- sh "$W/job.sh" 2> "$W/err" || fail "job failed"
grep -qx "EBT_PATHS=$(realpath "$P")" "$W/env" || fail "EBT_PATHS"
grep -q "^LD_PRELOAD=$(realpath "$EBT_TEST_LIB")" "$W/env" || fail "LD_PRELOAD"
grep -qx "EBT_VISIBILITY=task" "$W/env" && grep -qx "EBT_CACHE_BYTES=67108864" "$W/env" ||
    fail "visibility/cache bytes"
grep -q "^EBT_RUN_DIR=$C/ebt.$(id -u)." "$W/env" || fail "EBT_RUN_DIR"
[ "$(cat "$P/results/r.txt")" = "result data" ] || fail "data not flushed"
[ "$(stat -c %a "$P/results/r.txt")" = 604 ] || fail "mode not kept"
grep -q '"exit_status":0' "$W/err" && grep -q '"files":1,' "$W/err" || { cat "$W/err"; fail "json"; }
ok "environment set, cached data flushed with its mode, JSON summary"

# an existing LD_PRELOAD is kept after ours
cp "$(ldconfig -p | awk '/libm.so.6 .*x86-64/ {print $NF; exit}')" "$W/libother.so" # harmless to preload
LD_PRELOAD=$W/libother.so OUT=$W/env2 PFS=$P "$EBT" run --pfs "$P" --cache "$C" --keep-cache \
    -- sh -c 'echo "$LD_PRELOAD" > "$OUT"' 2> "$W/err"
lib=$(realpath "$EBT_TEST_LIB")
grep -qx "$lib:$W/libother.so" "$W/env2" || fail "preload order: $(cat "$W/env2")"
grep -q "cache kept in" "$W/err" && [ -n "$(ls -A "$C")" ] || fail "--keep-cache"
ok "existing LD_PRELOAD kept after ours; --keep-cache keeps the run dir"

# SIGTERM to ebt is forwarded to the command (which decides its own exit status)
"$EBT" run --pfs "$P" --cache "$C" \
    -- sh -c 'sleep 10 >/dev/null 2>&1 & trap "kill \$!; exit 42" TERM; wait' >/dev/null 2>&1 &
epid=$!
sleep 0.5
kill -TERM $epid
set +e; wait $epid; rc=$?; set -e
[ $rc -eq 42 ] || fail "SIGTERM not forwarded (exit $rc)"
ok "SIGTERM forwarded to the command"

# a flush that fails at the end of ebt run: error, retry hint, cache kept, exit 4
rm -rf "$C"/*; mkdir -p "$P/ro"; chmod 0555 "$P/ro"
set +e
# the job places its cached data by hand (without the client) to set up a failing flush
PFS=$(realpath "$P") drop_caps "$EBT" run --pfs "$P" --cache "$C" -- env -u LD_PRELOAD \
    sh -c 'mkdir -p "$EBT_RUN_DIR/up$PFS/ro"; echo keep > "$EBT_RUN_DIR/up$PFS/ro/x"' 2> "$W/err"
rc=$?
set -e
[ $rc -eq 4 ] || { cat "$W/err"; fail "failed flush exited $rc, want 4"; }
grep -q "ro/x: open: Permission denied" "$W/err" && grep -q "ebt flush --run-dir" "$W/err" ||
    { cat "$W/err"; fail "no clear flush error / retry hint"; }
run=$(ls -d "$C"/ebt.*); [ "$(cat "$run/up$(realpath "$P")/ro/x")" = keep ] || fail "cache lost"
chmod 0755 "$P/ro"
"$EBT" flush --run-dir "$run" 2>/dev/null || fail "retry failed"
[ "$(cat "$P/ro/x")" = keep ] || fail "retry did not flush"
ok "failed flush in ebt run: exit 4, hint, cache kept, retry completes"
