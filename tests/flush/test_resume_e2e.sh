# test_resume_e2e.sh - end to end through the client: a job run under `ebt start`, the daemon
# SIGKILLed halfway through its flush, `ebt flush` finishes offline; the PFS tree equals a native
# run of the same job (new files, a pre-existing file patched in place, a deleted file).
source "$TESTS_DIR/lib.sh"
P=$W/pfs; NAT=$W/native; C=$W/cache
mkdir -p "$P" "$NAT" "$C"
head -c 200000 /dev/urandom > "$W/old.bin"
for d in "$P" "$NAT"; do cp "$W/old.bin" "$d/old.bin"; echo bye > "$d/gone.txt"; done
cat > "$W/job.sh" <<'JOB'
set -e
for d in a b; do mkdir -p "$OUT/$d"; done
i=0; while [ $i -lt 300 ]; do echo "file $i" > "$OUT/$([ $((i % 2)) = 0 ] && echo a || echo b)/f$i"; i=$((i + 1)); done
printf 'PATCH' | dd of="$OUT/old.bin" bs=1 seek=1000 conv=notrunc status=none
rm "$OUT/gone.txt"
JOB
OUT=$NAT sh "$W/job.sh"

# the daemon (only) flushes slowly, so the kill lands halfway
start=$(EBT_TEST_FLUSH_DELAY_US=5000 "$EBT" start --pfs "$P" --cache "$C") || fail "ebt start"
run=$(printf '%s\n' "$start" | sed -n 's/^export EBT_RUN_DIR=//p' | tr -d "'\"")
[ -d "$run" ] || fail "no run dir in: $start"
(eval "$start"; OUT=$(realpath "$P") sh "$W/job.sh") || fail "job under ebt start failed"
[ ! -e "$(beneath "$run" "$P")/a" ] || fail "data reached the PFS before the flush"
[ -d "$P/a" ] || [ ! -L "$run/lower/0" ] || fail "the FUSE view does not show the job's files"

pid=$(cat "$run/ebtd.pid")
EBT_FLUSH_THREADS=1 "$EBT" flush --run-dir "$run" >/dev/null 2>&1 &
fl=$!
for _ in $(seq 1 500); do
    n=$(grep -c '^F ' "$run/flush.journal" 2>/dev/null || true)
    [ "${n:-0}" -ge 20 ] && break
    sleep 0.01
done
kill -9 "$fl" "$pid"; wait $fl 2>/dev/null || true  # node failure: both die
done1=$(grep -c '^F ' "$run/flush.journal" 2>/dev/null || echo 0)
! grep -qx DONE "$run/flush.journal" && [ "$done1" -lt 301 ] ||
    fail "the kill did not land halfway ($done1 files journaled)"
"$EBT" flush --run-dir "$run" 2> "$W/err" || { cat "$W/err"; fail "offline flush after the kill"; }
"$EBT" stop --run-dir "$run" 2>/dev/null || true
diff -r "$P" "$NAT" || fail "the PFS tree differs from the native run"
ok "daemon killed during its flush after $done1 files; offline flush completed; tree == native"
