# test_owner.sh - the tools act on a run directory only as its owner: another user is refused;
# root running ebt flush/stop on a user's run directory acts as that user (creates nothing the
# user could not, overwrites nothing of root's, leaves a journal the user can use); a PID in
# ebtd.pid that is not this run directory's daemon is never signalled.
source "$TESTS_DIR/lib.sh"
[ "$(id -u)" = 0 ] || { echo "skip: needs root to play two users"; exit 0; }
U2=65534 # nobody
as_user() { setpriv --reuid=$U2 --regid=$U2 --clear-groups "$@"; }
chmod 0755 "$W"

# A user's run directory (owned by nobody) naming a root-owned PFS directory: a root-owned
# file there is "replaced" with mode 0666, and a setuid-root binary is "added".
P=$W/pfs; mkdir -p "$P"; echo "root's" > "$P/rootfile"; chmod 0644 "$P/rootfile"
mkdir "$W/ucache"; RUN=$(mkrun "$P"); mv "$RUN" "$W/ucache/"; RUN=$W/ucache/${RUN##*/}
U=$(up "$RUN" "$P"); mkdir -p "$U"
echo evil > "$U/rootfile"; chmod 0666 "$U/rootfile"
cp /bin/true "$U/suid"
chown -R $U2:$U2 "$W/ucache"; chmod 0700 "$RUN"; chmod 4755 "$U/suid" # (chown clears setuid)

# 1. another (non-root) user is refused, with the owner named, before anything is read
ROOTRUN=$(mkrun "$P"); chmod 0755 "$ROOTRUN"
rc=0; as_user "$EBT" flush --run-dir "$ROOTRUN" 2> "$W/err" || rc=$?
[ "$rc" = 2 ] || { cat "$W/err"; fail "a non-owner's flush: exit $rc, want 2"; }
grep -q "belongs to root" "$W/err" || { cat "$W/err"; fail "refusal does not name the owner"; }
for c in stop stat; do
    rc=0; as_user "$EBT" $c --run-dir "$ROOTRUN" 2> "$W/err" || rc=$?
    [ "$rc" = 2 ] && grep -q "belongs to root" "$W/err" || { cat "$W/err"; fail "$c by non-owner: $rc"; }
done
[ ! -e "$ROOTRUN/flush.journal" ] || fail "the refused flush wrote a journal"
ok "a non-owner is refused by flush, stop and stat (exit 2, owner named)"

# 2. root's flush of the user's run directory runs as the user: root's file and directory stay
rc=0; "$EBT" flush --run-dir "$RUN" 2> "$W/err" || rc=$?
[ "$rc" = 4 ] || { cat "$W/err"; fail "root flushing a user's cache into root's dir: exit $rc, want 4"; }
grep -q "acting as that user" "$W/err" || { cat "$W/err"; fail "no word that root acts as the owner"; }
[ "$(cat "$P/rootfile")" = "root's" ] && [ "$(stat -c %a "$P/rootfile")" = 644 ] ||
    fail "root's file was overwritten by the user's cache"
[ ! -e "$P/suid" ] || fail "a setuid file appeared in root's directory: $(ls -l "$P/suid")"
for f in $(find "$RUN" -newer "$RUN/config"); do
    [ "$(stat -c %u "$f")" = $U2 ] || fail "root's flush left $f owned by $(stat -c %U "$f")"
done
ok "root's flush acted as the owner: root's files untouched, no setuid file, nothing root-owned left"

# 3. in a directory the user owns, root's flush gives the user's files the user's identity, and
# the user's own stop works afterwards (the journal is the user's)
chown $U2:$U2 "$P"; rm "$U/rootfile"; rm -f "$P/rootfile"
"$EBT" flush --run-dir "$RUN" 2> "$W/err" || { cat "$W/err"; fail "root's flush as owner failed"; }
[ "$(stat -c '%u %a' "$P/suid")" = "$U2 4755" ] || fail "suid: $(stat -c '%U %a' "$P/suid")"
as_user "$EBT" stop --run-dir "$RUN" 2> "$W/err" || { cat "$W/err"; fail "the owner's stop failed"; }
[ ! -e "$RUN" ] || { cat "$W/err"; ls -laR "$RUN"; fail "the owner's stop did not remove the run directory"; }
ok "root's flush made the user's files as the user; the user's stop then works"

# 4. ebtd.pid naming a process that is not the run directory's daemon: never signalled
RUN2=$(mkrun "$P"); sleep 300 & victim=$!
echo $victim > "$RUN2/ebtd.pid"
"$EBT" stop --run-dir "$RUN2" 2> "$W/err" || true
kill -0 $victim 2>/dev/null || fail "ebt stop killed process $victim named by ebtd.pid"
grep -q "not signalled" "$W/err" || { cat "$W/err"; fail "no word about the PID"; }
kill $victim
ok "a foreign PID in ebtd.pid is not signalled (and ebt stop says so)"

# 5. a real daemon is still stopped: ebt start, then stop from the pid file
mkdir -p "$W/p2" "$W/c2"
eval "$("$EBT" start --pfs "$W/p2" --cache "$W/c2")"
pid=$(cat "$EBT_RUN_DIR/ebtd.pid")
"$EBT" stop 2> "$W/err" || { cat "$W/err"; fail "stop"; }
wait_gone "$pid" || fail "ebtd $pid still running after ebt stop"
ok "ebt stop still stops the real daemon"
