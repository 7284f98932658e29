# test_readonly.sh - an unwritable PFS directory fails the flush clearly (names the file, exit 4),
# keeps the cache and the journal open; after fixing the permission a rerun completes.
source "$TESTS_DIR/lib.sh"
P=$W/pfs
mkdir -p "$P/ro"
RUN=$(mkrun "$P"); U=$(up "$RUN" "$P")
put "$U/a" "first"; put "$U/ro/blocked" "must not be lost"; put "$U/z" "last"
chmod 0555 "$P/ro"

set +e
drop_caps "$EBT" flush --run-dir "$RUN" 2> "$W/err"
rc=$?
set -e
cat "$W/err"
[ $rc -ne 0 ] || fail "flush into a read-only directory succeeded"
grep -q "$P/ro/blocked" "$W/err" || fail "error does not name the file"
grep -q "Permission denied" "$W/err" || fail "error does not say why"
grep -q "ebt flush --run-dir $RUN" "$W/err" || fail "no retry hint"
[ "$(cat "$U/ro/blocked")" = "must not be lost" ] || fail "cache lost"
! grep -qx DONE "$RUN/flush.journal" || fail "journal DONE after a failure"
ok "failure is clear (exit $rc), cache kept"

chmod 0755 "$P/ro"
"$EBT" flush --run-dir "$RUN" 2> "$W/err2" || { cat "$W/err2"; fail "rerun failed"; }
[ "$(cat "$P/ro/blocked")" = "must not be lost" ] && [ "$(cat "$P/a")" = first ] &&
    [ "$(cat "$P/z")" = last ] || fail "rerun did not write everything"
[ "$(tail -n1 "$RUN/flush.journal")" = DONE ] || fail "no DONE after rerun"
ok "rerun after fixing permissions completes"
