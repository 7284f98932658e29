# test_orphans.sh - close mode: a writer killed (SIGKILL) before it closed or published leaves a
# private stage; the flush publishes it, because natively its writes were in the file. A stage
# whose name the job removed meanwhile stays unpublished, as natively the name is gone.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P" "$C"
printf 'AAAAAAAAAA' > "$P/existing.txt"; printf 'AAAAAAAAAA' > "$P/existing2.txt"
cat > "$W/job.sh" <<'JOB'
kill9() { # kill9 PATH FLAGS DATA [unlink]: write DATA into PATH, then die by SIGKILL, no close
    python3 -c '
import os, sys
fd = os.open(sys.argv[1], int(sys.argv[2]), 0o644)
os.write(fd, sys.argv[3].encode())
if len(sys.argv) > 4:
    os.unlink(sys.argv[1])
os.kill(os.getpid(), 9)' "$@"
}
W=$(python3 -c 'import os; print(os.O_WRONLY | os.O_CREAT | os.O_TRUNC)')
RW=$(python3 -c 'import os; print(os.O_RDWR)')
kill9 "$PFS/killed.txt" "$W" "written, then SIGKILL"
kill9 "$PFS/existing.txt" "$RW" BB
kill9 "$PFS/removed.txt" "$W" x unlink
mkdir "$PFS/d"; kill9 "$PFS/d/deep.txt" "$W" deep
kill9 "$PFS/existing2.txt" "$RW" CC; rm "$PFS/existing2.txt" # removed after the writer died
# two inherited fds of one record across exec (>out 2>&1): closing one keeps the other's state
sh -c 'exec 8> "$1/two.txt" 9>&8; exec python3 -c "
import os
os.close(8)
a = os.open(\"/dev/null\", os.O_RDONLY); b = os.open(\"/dev/null\", os.O_RDONLY)
os.close(9)
os.fstat(a); os.fstat(b)
open(\"$1/fds.txt\", \"w\").write(\"both open\\n\")"' sh "$PFS"
exit 0
JOB
native=$W/native; mkdir -p "$native"; printf 'AAAAAAAAAA' > "$native/existing.txt"
printf 'AAAAAAAAAA' > "$native/existing2.txt"
PFS=$native sh "$W/job.sh" 2>/dev/null
PFS=$(realpath "$P") "$EBT" run --pfs "$P" --cache "$C" --visibility close -- sh "$W/job.sh" \
    2> "$W/err" || { cat "$W/err"; fail "job failed"; }
for f in killed.txt existing.txt d/deep.txt fds.txt two.txt; do
    cmp "$native/$f" "$P/$f" || fail "$f: $(cat "$P/$f" 2>&1) (native: $(cat "$native/$f"))"
done
[ ! -e "$P/removed.txt" ] || fail "a stage whose name the job removed was published"
[ ! -e "$P/existing2.txt" ] || fail "a file removed after its writer died came back"
ok "stages of SIGKILLed writers published by the flush (new, modified, in a new directory); a removed name stays removed"
