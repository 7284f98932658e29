# test_perms.sh - permission checks at the call, as natively (EACCES), for what lives on the PFS:
# creating, removing or renaming in a PFS directory the user may not write, writing or truncating
# a PFS file the user may not write; nothing reaches the PFS and the flush succeeds; a writable
# sibling still works.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P/ro" "$P/rw" "$C"
echo keep > "$P/ro/keep.txt"; echo locked > "$P/rw/locked.txt"
chmod 0555 "$P/ro"; chmod 0444 "$P/rw/locked.txt"
cat > "$W/job.sh" <<'JOB'
if echo x > "$PFS/ro/new.txt" 2>/dev/null; then echo "create in ro succeeded"; exit 1; fi
if mkdir "$PFS/ro/sub" 2>/dev/null; then echo "mkdir in ro succeeded"; exit 1; fi
if rm -f "$PFS/ro/keep.txt" 2>/dev/null; then echo "unlink in ro succeeded"; exit 1; fi
if mv "$PFS/ro/keep.txt" "$PFS/rw/" 2>/dev/null; then echo "rename out of ro succeeded"; exit 1; fi
if echo more >> "$PFS/rw/locked.txt" 2>/dev/null; then echo "append to 0444 succeeded"; exit 1; fi
if truncate -s 0 "$PFS/rw/locked.txt" 2>/dev/null; then echo "truncate of 0444 succeeded"; exit 1; fi
cat "$PFS/rw/locked.txt" "$PFS/ro/keep.txt"
echo ok > "$PFS/rw/new.txt"
JOB
set +e
PFS=$(realpath "$P") drop_caps "$EBT" run --pfs "$P" --cache "$C" -- sh "$W/job.sh" 2> "$W/err"
rc=$?
set -e
[ $rc -eq 0 ] || { cat "$W/err"; fail "job: exit $rc"; }
[ "$(ls -A "$P/ro")" = keep.txt ] || fail "the read-only PFS dir changed: $(ls -A "$P/ro")"
[ "$(cat "$P/rw/locked.txt")" = locked ] || fail "the 0444 file changed"
[ "$(cat "$P/rw/new.txt")" = ok ] || fail "the writable dir did not get its file"
ok "create, mkdir, unlink, rename in a read-only PFS dir, write and truncate of a 0444 file: EACCES like native; writable dir fine"
