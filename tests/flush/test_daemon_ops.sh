# test_daemon_ops.sh - ebtd over its socket: HELLO, STAT/READDIR from the layered view,
# malformed input, owner-only access, counters; then ebt stat and ebt stop.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P/o" "$P/sub" "$C"
put "$P/pfs_only" "12345"; put "$P/hidden" "x"; put "$P/o/old" "x"; put "$P/sub/f" "x"
eval "$("$EBT" start --pfs "$P" --cache "$C")"
unset LD_PRELOAD
RUN=$EBT_RUN_DIR; P=$(realpath "$P"); U=$(up "$RUN" "$P")
[ "$(stat -c %a "$RUN/ebtd.sock")" = 600 ] && [ "$(stat -c %a "$RUN")" = 700 ] || fail "modes"
"$PROBE" "$RUN" hello | grep -q "^ebtd " || fail "hello"

mkdir -p "$U/o" "$U/newdir"
put "$U/upfile" "abcdefgh"; : > "$U/.ebt~wh~hidden"; : > "$U/o/.ebt~opaque"; put "$U/o/new" n
[ "$("$PROBE" "$RUN" stat "$P/pfs_only")" = "size=5 mode=100644 layer=pfs" ] || fail "stat pfs"
[ "$("$PROBE" "$RUN" stat "$P/upfile")" = "size=8 mode=100644 layer=up" ] || fail "stat up"
"$PROBE" "$RUN" stat "$P/hidden" | grep -q "No such file" || fail "whiteout does not hide"
"$PROBE" "$RUN" stat "$P/o/old" | grep -q "No such file" || fail "opaque dir does not hide"
"$PROBE" "$RUN" stat "$P/sub/f" | grep -q "layer=pfs" || fail "stat below a PFS-only dir"
"$PROBE" "$RUN" stat /etc/passwd | grep -q "cross-device" || fail "unmanaged path served"
[ "$("$PROBE" "$RUN" readdir "$P" | tr '\n' ' ')" = "newdir o pfs_only sub upfile " ] ||
    fail "readdir: $("$PROBE" "$RUN" readdir "$P" | tr '\n' ' ')"
[ "$("$PROBE" "$RUN" readdir "$P/o" | tr '\n' ' ')" = "new " ] || fail "readdir opaque"
ok "stat and readdir follow the layers"

# a listing larger than one 1 MiB reply comes in pages
mkdir -p "$U/many"; long=$(printf 'n%.0s' $(seq 1 200))
(cd "$U/many" && for i in $(seq 1 6000); do : > "${long}_$i"; done)
n=$("$PROBE" "$RUN" readdir "$P/many" | sort -u | wc -l)
[ "$n" = 6000 ] || fail "paged readdir gave $n names"
ok "paged readdir of 6000 long names"

"$PROBE" "$RUN" garbage | grep -q "status=-71" || fail "garbage not answered with -EPROTO"
"$PROBE" "$RUN" hello > /dev/null || fail "daemon died on garbage"
ok "malformed message answered, daemon alive"

# another uid is refused even when the file modes would let it in
chmod 0755 "$W" "$C" "$RUN"; chmod 0777 "$RUN/ebtd.sock"
if setpriv --reuid=65534 --regid=65534 --clear-groups "$PROBE" "$RUN" hello > "$W/other" 2>&1; then
    fail "a foreign uid was served: $(cat "$W/other")"
fi
cat "$W/other"
chmod 0700 "$RUN"; chmod 0600 "$RUN/ebtd.sock"
counters=$("$PROBE" "$RUN" counters)
echo "$counters" | grep -q '"rejected":1,' || fail "rejected not counted: $counters"
echo "$counters" | grep -q '"bad_messages":1,' || fail "bad message not counted: $counters"
ok "foreign uid rejected; counters: $counters"

"$EBT" stat --run-dir "$RUN" > "$W/stat"
grep -q "cache_files *6002" "$W/stat" || { cat "$W/stat"; fail "ebt stat cache files"; }
pid=$(cat "$RUN/ebtd.pid")
rm -rf "$U/many"
"$EBT" stop --run-dir "$RUN" 2> "$W/err" || { cat "$W/err"; fail "ebt stop"; }
[ ! -e "$RUN" ] || fail "run dir not removed"
wait_gone "$pid" || fail "daemon still running"
[ "$(cat "$P/upfile")" = abcdefgh ] && [ ! -e "$P/hidden" ] && [ "$(ls "$P/o")" = new ] ||
    fail "stop did not flush the layered changes"
ok "ebt stat, ebt stop: flushed, daemon gone, run dir removed"
