# test_tree.sh - offline flush of a hand-built run dir: whiteouts, opaque dirs, new dirs and
# files with modes and times, symlinks, partial (extent-logged) and whole files vs a native tree.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; E=$W/expect
mkdir -p "$P/gonedir/b" "$P/opq/sub"
put "$P/keep.txt" "pfs keep"
put "$P/gone.txt" "to be removed"
put "$P/gonedir/a" a; put "$P/gonedir/b/c" c
put "$P/opq/old1" old; put "$P/opq/sub/old2" old
put "$P/part.bin" "PPPPPPPPPPPPPPPPPPPP"
put "$P/crash.bin" "PPPPPPPPPP"
put "$P/replaced" "old"
touch -d "2001-01-01" "$P"/*.txt "$P/part.bin" "$P/crash.bin" "$P/replaced"
cp -a "$P" "$E"

RUN=$(mkrun "$P"); U=$(up "$RUN" "$P")
mkdir -p "$U/new/deep" "$U/opq"
chmod 0750 "$U/new"; chmod 0700 "$U/new/deep"
put "$U/new/deep/file.txt" "new data"; chmod 0640 "$U/new/deep/file.txt"
ln -s keep.txt "$U/link"
: > "$U/.ebt~wh~gone.txt"; : > "$U/.ebt~wh~gonedir"
: > "$U/opq/.ebt~opaque"; put "$U/opq/fresh" "fresh"
put "$U/part.bin" "CCCCCxxxxCCCCCCCCCCC"
"$EXTLOG" "$RUN" "$U/part.bin" BASE 0 20 OPEN 0 0 WRITE 5 4 CLOSE 0 0
put "$U/crash.bin" "CCCCCCCCCC"
"$EXTLOG" "$RUN" "$U/crash.bin" BASE 0 10 OPEN 0 0 WRITE 0 1
put "$U/replaced" "new content"; chmod 0600 "$U/replaced"
: > "$U/empty"
touch -d "2020-02-03 04:05:06.123456789" "$U/new/deep/file.txt" "$U/part.bin" "$U/empty"

# the same changes, made natively
rm "$E/gone.txt"; rm -r "$E/gonedir"; rm -r "$E/opq"/*
mkdir -m 0750 "$E/new"; mkdir -m 0700 "$E/new/deep"
cp -p "$U/new/deep/file.txt" "$E/new/deep/"; ln -s keep.txt "$E/link"
cp -p "$U/opq/fresh" "$E/opq/"
put "$E/part.bin" "PPPPPxxxxPPPPPPPPPPP"; put "$E/crash.bin" "CCCCCCCCCC"
for f in part.bin crash.bin replaced empty; do
    [ -e "$E/$f" ] || : > "$E/$f"
    cp --attributes-only -p "$U/$f" "$E/$f"
done
cp -p "$U/replaced" "$E/replaced"

"$EBT" flush --run-dir "$RUN" 2> "$W/err" || { cat "$W/err"; fail "flush failed"; }
cat "$W/err"
same_tree "$P" "$E"
ok "tree matches the native one (contents, modes, mtimes, symlink, removals)"
[ "$(cat "$P/part.bin")" = "PPPPPxxxxPPPPPPPPPPP" ] || fail "unchanged PFS bytes were overwritten"
ok "partial file: only the changed range was written"
grep -q "files            6" "$W/err" || fail "summary file count"
grep -q "bytes            $((8 + 5 + 4 + 10 + 11))" "$W/err" || fail "summary byte count"
[ "$(tail -n1 "$RUN/flush.journal")" = DONE ] || fail "journal not DONE"
[ -f "$U/part.bin" ] && [ -f "$U/new/deep/file.txt" ] || fail "cache deleted by the flush"
ok "journal DONE, cache kept"

# a second flush of the finished run dir rewrites nothing wrongly and ends DONE again
"$EBT" flush --run-dir "$RUN" --json 2> "$W/err2" || fail "second flush failed"
grep -q '"complete":true' "$W/err2" || fail "second flush not complete"
same_tree "$P" "$E"
ok "second flush is idempotent"
