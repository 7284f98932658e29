# test_perms.sh - creating in a PFS directory the user may not write fails as it would natively
# (EACCES), and nothing reaches the PFS; a writable sibling still works.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P/ro" "$P/rw" "$C"
chmod 0555 "$P/ro"
cat > "$W/job.sh" <<'JOB'
if echo x > "$PFS/ro/new.txt" 2>/dev/null; then echo "create in ro succeeded"; exit 1; fi
if mkdir "$PFS/ro/sub" 2>/dev/null; then echo "mkdir in ro succeeded"; exit 1; fi
echo ok > "$PFS/rw/new.txt"
JOB
set +e
PFS=$(realpath "$P") drop_caps "$EBT" run --pfs "$P" --cache "$C" -- sh "$W/job.sh" 2> "$W/err"
rc=$?
set -e
[ $rc -eq 0 ] || { cat "$W/err"; fail "job: exit $rc"; }
[ -z "$(ls -A "$P/ro")" ] || fail "something reached the read-only PFS dir"
[ "$(cat "$P/rw/new.txt")" = ok ] || fail "the writable dir did not get its file"
ok "create and mkdir in a read-only PFS dir: EACCES like native; writable dir fine"
