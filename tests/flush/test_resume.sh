# test_resume.sh - a flush killed with SIGKILL halfway resumes from the journal: identical tree,
# no journaled file written twice (its ctime is unchanged), skipped count = journaled count.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; E=$W/expect; N=300
mkdir -p "$P" "$E"
RUN=$(mkrun "$P"); U=$(up "$RUN" "$P")
mkdir -p "$U/d1" "$U/d2"
for i in $(seq 1 $N); do
    d=d$((i % 2 + 1))
    put "$U/$d/f$i" "content of file $i"
    mkdir -p "$E/$d"; cp -p "$U/$d/f$i" "$E/$d/f$i"
done

EBT_FLUSH_THREADS=1 EBT_TEST_FLUSH_DELAY_US=10000 "$EBT" flush --run-dir "$RUN" 2>/dev/null &
pid=$!
for _ in $(seq 1 500); do
    n=$(grep -c '^F ' "$RUN/flush.journal" 2>/dev/null || true)
    [ "${n:-0}" -ge 50 ] && break
    sleep 0.02
done
kill -9 $pid; wait $pid 2>/dev/null || true
done1=$(grep -c '^F ' "$RUN/flush.journal")
[ "$done1" -ge 50 ] && [ "$done1" -lt $N ] || fail "kill did not land halfway ($done1 files)"
! grep -qx DONE "$RUN/flush.journal" || fail "journal says DONE after a kill"
ok "killed after $done1 of $N files"

# ctime of every journaled file: a rewrite would change it
grep '^F ' "$RUN/flush.journal" | cut -c3- | while read -r f; do stat -c '%n %z' "$f"; done \
    > "$W/ctimes1"
sleep 0.05
"$EBT" flush --run-dir "$RUN" --json 2> "$W/out" || { cat "$W/out"; fail "resumed flush failed"; }
grep -q '"complete":true' "$W/out" || fail "resumed flush not complete"
grep -q "\"skipped\":$done1," "$W/out" || { cat "$W/out"; fail "skipped != $done1"; }
cut -d' ' -f1 "$W/ctimes1" | while read -r f; do stat -c '%n %z' "$f"; done > "$W/ctimes2"
diff "$W/ctimes1" "$W/ctimes2" || fail "a journaled file was written again"
ok "journaled files untouched by the resumed flush"

same_tree "$P" "$E"
[ "$(grep -c '^F ' "$RUN/flush.journal")" = $N ] || fail "journal does not list $N files"
[ -z "$(grep '^F ' "$RUN/flush.journal" | sort | uniq -d)" ] || fail "a file journaled twice"
[ "$(tail -n1 "$RUN/flush.journal")" = DONE ] || fail "no DONE"
ok "identical tree; each file journaled exactly once; DONE"
