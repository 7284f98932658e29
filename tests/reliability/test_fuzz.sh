# test_fuzz.sh - ebtd with a low fd limit under the protocol fuzzer (fuzz_proto.c): every message
# answered as docs/protocol.md says, slow readers dropped, the fd limit survived without a busy
# loop; afterwards a real job through the preloaded client must flush exactly as run natively.
source "$TESTS_DIR/lib.sh"
FD_LIMIT=64
SEED=20240917
P=$W/pfs; C=$W/cache
# on failure: detach the job's FUSE view (if ebtd mounted one) before lib.sh removes $W
trap 'fusermount3 -u -z "$P" 2> /dev/null || true; cleanup' EXIT
mkdir -p "$P/fz" "$P/big" "$P/job" "$C"
for i in $(seq 0 9); do put "$P/fz/f$i" "$i"; done
long=$(printf 'b%.0s' $(seq 1 200)) # PREFIX/big: a listing of ~400 KB, for large replies
(cd "$P/big" && for i in $(seq 1 2000); do : > "${long}_$i"; done)

(ulimit -n "$FD_LIMIT" && exec "$EBT" start --pfs "$P" --cache "$C") > "$W/exports" ||
    fail "ebt start"
eval "$(cat "$W/exports")"
unset LD_PRELOAD
RUN=$EBT_RUN_DIR; PR=$(realpath "$P"); pid=$(cat "$RUN/ebtd.pid"); LOG=$RUN/ebt.log
grep -Eq "^Max open files +$FD_LIMIT " "/proc/$pid/limits" || fail "daemon fd limit not lowered"
ok "ebtd $pid runs with $(ls "/proc/$pid/fd" | wc -l) of $FD_LIMIT fds in use"

t0=$SECONDS
timeout -k 5 120 "$FUZZ" "$RUN" "$PR" "$pid" "$FD_LIMIT" "$SEED" ||
    { tail -n 20 "$LOG"; fail "fuzzer (seed $SEED)"; }
kill -0 "$pid" 2> /dev/null || fail "daemon died"
ok "fuzzer passed, daemon alive"

[ "$(grep -c 'dropping client fd .* reply bytes queued' "$LOG")" = 1 ] ||
    fail "expected one log line for the one dropped non-reader"
grep -q "payload bytes, over the protocol's maximum of 1048576: closing" "$LOG" ||
    fail "no clear log line for an oversized message"
# at most one line per 10 s (the daemon may reach its limit in earlier cases too)
n=$(grep -c 'cannot accept a client: Too many open files' "$LOG" || true)
max=$((2 + (SECONDS - t0) / 10))
[ "$n" -ge 1 ] && [ "$n" -le "$max" ] || fail "expected 1-$max rate-limited fd-limit lines, got $n"
ok "log: one line per dropped client, oversized frames named, fd limit said $n time(s)"

# a real small job through the preloaded client, and the same natively for reference
cat > "$W/job.sh" <<'JOB'
d=$1
for i in $(seq 1 20); do printf 'line %s\n' "$i" > "$d/f$i"; done
mkdir -p "$d/sub/deep"; seq 1 5000 > "$d/sub/seq"; cat "$d/f1" "$d/f2" > "$d/sub/deep/cat12"
echo more >> "$d/f3"; rm "$d/f4"; mv "$d/f5" "$d/sub/f5"; chmod 0600 "$d/f6"
JOB
mkdir -p "$W/ref"; sh "$W/job.sh" "$W/ref"
LD_PRELOAD=$(realpath "$EBT_TEST_LIB") sh "$W/job.sh" "$PR/job" || fail "job under EBT"
[ -f "$RUN/up$PR/job/sub/seq" ] || fail "the job's files did not go to the cache"
"$EBT" stop 2> "$W/err" || { cat "$W/err"; fail "ebt stop"; }
wait_gone "$pid" || fail "daemon still running after ebt stop"
diff -r "$W/ref" "$P/job" || fail "flushed tree differs from the native run"
a=$(cd "$W/ref" && find . -printf '%p %y %m\n' | sort)
b=$(cd "$P/job" && find . -printf '%p %y %m\n' | sort)
[ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b"); fail "types/modes differ"; }
ok "after the fuzzing a real job flushed exactly as run natively"
