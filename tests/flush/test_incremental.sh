# test_incremental.sh - after a complete flush, the next flush (ebt flush, ebt stop) writes only
# what changed since the complete one started: PFS edits made in between are not reverted, and
# what the job changed since (new, rewritten, removed, chmod) reaches the PFS.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P" "$C"
ln -s nowhere "$P/oldlink" # (PFS content the job never touches)

# 1. a live job: ebt flush, a PFS edit, more job changes, ebt stop
eval "$("$EBT" start --pfs "$P" --cache "$C" --visibility write)"
RUN=$EBT_RUN_DIR; L=$(beneath "$RUN" "$P")
LD_PRELOAD=$EBT_TEST_LIB sh -c "echo a1 > '$P/a'; echo b1 > '$P/b'; echo g1 > '$P/gone'; mkdir '$P/d'; echo e > '$P/d/e'"
unset LD_PRELOAD
"$EBT" flush --json 2> "$W/err" || { cat "$W/err"; fail "first flush"; }
grep -q '"complete":true' "$W/err" || { cat "$W/err"; fail "first flush incomplete"; }
echo "edited on the PFS" > "$L/a" # someone else edits the PFS copy between the flushes
LD_PRELOAD=$EBT_TEST_LIB sh -c "echo b2 > '$P/b'; echo c1 > '$P/c'; rm '$P/gone'; chmod 600 '$P/d/e'"
"$EBT" flush --json 2> "$W/err" || { cat "$W/err"; fail "second flush"; }
grep -q '"files":3,' "$W/err" || { cat "$W/err"; fail "second flush: want 3 files (b, c, d/e)"; }
[ "$(stat -c %a "$L/d/e")" = 600 ] || fail "chmod after the first flush lost"
[ "$(cat "$L/a")" = "edited on the PFS" ] || fail "the second flush reverted a PFS edit of a"
[ "$(cat "$L/b")" = b2 ] && [ "$(cat "$L/c")" = c1 ] || fail "changes after the first flush missing"
[ ! -e "$L/gone" ] || fail "a removal after the first flush did not reach the PFS"
ok "ebt flush after a complete flush: only what changed since (PFS edit kept)"
touch -d 2001-01-01 "$L/d/e"
"$EBT" stop --json 2> "$W/err" || { cat "$W/err"; fail "stop"; }
grep -q '"files":0,' "$W/err" || { cat "$W/err"; fail "stop after a complete flush rewrote files"; }
[ "$(cat "$P/a")" = "edited on the PFS" ] || fail "ebt stop reverted a PFS edit"
[ "$(stat -c %Y "$P/d/e")" = "$(date -d 2001-01-01 +%s)" ] || fail "ebt stop rewrote d/e"
[ "$(readlink "$P/oldlink")" = nowhere ] || fail "PFS symlink touched"
ok "ebt stop after a complete flush writes nothing that did not change"
