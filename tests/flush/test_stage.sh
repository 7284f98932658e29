# test_stage.sh - ebt stage-in/stage-out: a tree of every kind of entry compared completely, the
# progress line and JSON summary, --verify against a corrupted copy, resume after SIGKILL without
# rewriting what was done, no symlink of the destination followed, bad inputs.
source "$TESTS_DIR/lib.sh"
CMP="/usr/bin/python3 $TESTS_DIR/stage_compare.py"
S=$W/src
json() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }

# --- a tree of everything -------------------------------------------------------------------
mkdir -p "$S/d1/d2/d3/d4/d5" "$S/ro" "$S/sticky" "$S/with space" "$S/-dash"
for n in 0 1 4095 4096 4097 65536 1000000; do head -c $n /dev/urandom > "$S/size_$n"; done
head -c 5500000 /dev/urandom > "$S/d1/big"                # > 5 chunks of 1M
truncate -s 20M "$S/d1/sparse"                             # data at 3M and at the end
printf 'data' | dd of="$S/d1/sparse" bs=1M seek=3 conv=notrunc status=none
printf 'tail' | dd of="$S/d1/sparse" bs=1 seek=$((20*1024*1024-4)) conv=notrunc status=none
truncate -s 100K "$S/holes_only"
echo deep > "$S/d1/d2/d3/d4/d5/leaf"
echo spaced > "$S/with space/a file"
echo dash > "$S/-dash/-n"
echo nl > "$S/new"$'\n'"line"
echo bytes > "$S/bad"$'\xff\xfe'"utf8"
ln -s size_1 "$S/rel_link"; ln -s "$S/size_1" "$S/abs_link"; ln -s nowhere/at/all "$S/dangling"
ln -s ../../size_1 "$S/d1/d2/up_link"
echo linked > "$S/d1/h1"; ln "$S/d1/h1" "$S/d1/d2/h2"; ln "$S/d1/h1" "$S/h3"
ln -s size_1 "$S/sym_h1"; ln "$S/sym_h1" "$S/d1/sym_h2"   # a hard-linked symlink
mkfifo "$S/fifo"; mkfifo -m 0640 "$S/d1/fifo2"
echo s > "$S/setuid"; chmod 4755 "$S/setuid"; echo g > "$S/setgid"; chmod 2750 "$S/setgid"
echo z > "$S/mode0"; chmod 0 "$S/mode0"; echo r > "$S/ro/file"; chmod 0444 "$S/ro/file"
chmod 1777 "$S/sticky"
/usr/bin/python3 -c "import os; os.setxattr('$S/size_1', 'user.k', b'v1'); os.setxattr('$S/d1', 'user.dir', b'd')"
if [ "$(id -u)" = 0 ]; then
    chown 1234:5678 "$S/size_4096" "$S/d1/d2"; chown -h 4321:8765 "$S/rel_link"
fi
touch -h -d "2001-02-03 04:05:06.123456789" "$S/size_0" "$S/rel_link" "$S/fifo" "$S/d1/big"
touch -a -d "1999-01-01 00:00:00.5" "$S/size_1"
/usr/bin/python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind('$S/d1/sock')"
find "$S" -depth -type d -exec touch -d "2002-03-04 05:06:07.7" {} +   # dirs after their contents
chmod 0555 "$S/ro"
NFILES=$(find "$S" -type f -printf x | wc -c)
$CMP --save-atimes="$W/atimes" "$S"

"$EBT" stage-out --json --threads 3 --chunk 1M "$S" "$W/out" > "$W/j1" 2> "$W/e1" \
    || { cat "$W/e1"; fail "stage-out of the tree"; }
$CMP --skip-sockets --atimes="$W/atimes" "$S" "$W/out" || fail "stage-out tree differs"
grep -q 'd1/sock: a socket or device: skipped' "$W/e1" || { cat "$W/e1"; fail "socket not reported"; }
[ "$(json "$W/j1" special_skipped)" = 1 ] || fail "special_skipped"
[ "$(json "$W/j1" links)" = 3 ] || fail "hard links: $(cat "$W/j1")"
[ "$(json "$W/j1" files)" = $((NFILES - 2)) ] || fail "files: $(cat "$W/j1") (tree has $NFILES)"
[ "$(json "$W/j1" dirs)" = "$(find "$S" -type d -printf x | wc -c)" ] || fail "dirs: $(cat "$W/j1")"
[ "$(json "$W/j1" errors)" = 0 ] && [ "$(json "$W/j1" skipped)" = 0 ] || fail "json $(cat "$W/j1")"
[ "$(stat -c %b "$W/out/d1/sparse")" -le 64 ] || fail "sparse file became dense"
[ -z "$(find "$W/out" -name '.ebt~st.*')" ] || fail "temporaries left"
grep -q ETA "$W/e1" && fail "progress line without a terminal or --progress"
ok "stage-out keeps content, types, links, modes, owners, times, xattrs, sparseness"

"$EBT" stage-in --progress --threads 1 "$S" "$W/in" 2> "$W/e2" || fail "stage-in"
$CMP --skip-sockets "$S" "$W/in" || fail "stage-in tree differs"
grep -q "files, .*/s, ETA" "$W/e2" || { cat "$W/e2"; fail "no progress line with --progress"; }
grep -q "already in place" "$W/e2" || fail "no human summary"
ok "stage-in with one thread, progress line"

# --- a second run skips everything and rewrites nothing -------------------------------------
snap() { (cd "$1" && find . ! -type d -printf '%p %i %C@\n' | sort); }
snap "$W/out" > "$W/snap1"
"$EBT" stage-out --json "$S" "$W/out" > "$W/j2" 2>/dev/null || fail "second stage-out"
[ "$(json "$W/j2" copied)" = 0 ] || fail "second run copied: $(cat "$W/j2")"
[ "$(json "$W/j2" skipped)" = "$(json "$W/j1" copied)" ] || fail "skipped $(cat "$W/j2")"
snap "$W/out" | diff "$W/snap1" - || fail "second run rewrote entries"
$CMP --skip-sockets "$S" "$W/out" || fail "tree differs after the second run"
ok "a second run skips every entry"

# --- --verify finds a corrupted destination file --------------------------------------------
EBT_STAGE_TEST_CORRUPT=size_65536 "$EBT" stage-out "$S" "$W/v0" 2> "$W/e3" || fail "no verify"
cmp -s "$S/size_65536" "$W/v0/size_65536" && fail "the corruption hook did nothing"
if EBT_STAGE_TEST_CORRUPT=size_65536 "$EBT" stage-out --verify --json "$S" "$W/v1" \
    > "$W/j3" 2> "$W/e3"; then fail "--verify passed a corrupted file"; fi
grep -q "size_65536: verify: mismatch" "$W/e3" || { cat "$W/e3"; fail "mismatch not listed"; }
[ "$(grep -c mismatch "$W/e3")" = 1 ] && [ "$(json "$W/j3" mismatches)" = 1 ] || fail "mismatches"
[ "$(json "$W/j3" verified)" = "$(json "$W/j1" files)" ] || fail "verified $(cat "$W/j3")"
# the corrupted copy has the right size and mtime: only --verify's checksum sees it on a re-run
"$EBT" stage-out --json "$S" "$W/v1" > "$W/j4" 2>/dev/null || fail "re-run without --verify"
[ "$(json "$W/j4" copied)" = 0 ] || fail "size+mtime skip: $(cat "$W/j4")"
"$EBT" stage-out --verify --json "$S" "$W/v1" > "$W/j4" 2>/dev/null || fail "re-run --verify"
[ "$(json "$W/j4" copied)" = 1 ] && [ "$(json "$W/j4" mismatches)" = 0 ] || fail "$(cat "$W/j4")"
$CMP --skip-sockets "$S" "$W/v1" || fail "tree differs after the --verify re-run"
ok "--verify lists a corrupted file and a --verify re-run repairs it"

# --- resume after SIGKILL ---------------------------------------------------------------------
R=$W/rsrc
mkdir -p "$R"
# (STAGE_FILES: files per directory; the ASan run, several times slower, uses fewer)
/usr/bin/python3 - "$R" "${STAGE_FILES:-5000}" <<'PY'
import os, sys
r, n = sys.argv[1], int(sys.argv[2])
for d in range(4):
    os.mkdir('%s/d%d' % (r, d))
    for i in range(n):
        with open('%s/d%d/f%05d' % (r, d, i), 'wb') as f:
            f.write(b'%d-%d\n' % (d, i) * (i % 7 + 1))
with open(r + '/big', 'wb') as f:
    f.write(os.urandom(1 << 20) * 64)
PY
NR=$(find "$R" | wc -l)
"$EBT" stage-out --threads 1 --chunk 1M "$R" "$W/rdst" > /dev/null 2>&1 &
PID=$!
for i in $(seq 1 2000); do
    [ "$(ls "$W/rdst/d0" 2>/dev/null | wc -l)" -ge 300 ] && break
    sleep 0.005
done
kill -9 $PID 2>/dev/null || fail "the stage finished before the kill (make the tree bigger)"
wait $PID 2>/dev/null || true
(cd "$W/rdst" && find . -type f ! -name '.ebt~st.*' -printf '%p %i %C@ %s\n' | sort) > "$W/done"
NDONE=$(wc -l < "$W/done")
[ "$NDONE" -gt 0 ] && [ "$NDONE" -lt $((NR - 5)) ] || fail "killed with $NDONE of $NR done"
"$EBT" stage-out --json --threads 2 --chunk 1M "$R" "$W/rdst" > "$W/j5" 2> "$W/e5" \
    || { cat "$W/e5"; fail "resumed stage-out"; }
SK=$(json "$W/j5" skipped); CP=$(json "$W/j5" copied)
[ "$SK" = "$NDONE" ] || fail "resume skipped $SK, $NDONE were done"
[ $((SK + CP)) = "$(find "$R" -type f | wc -l)" ] || fail "skipped $SK + copied $CP"
(cd "$W/rdst" && find . -type f -printf '%p %i %C@ %s\n' | sort) | join - "$W/done" -j1 \
    -o 1.1,1.2,1.3,1.4,2.2,2.3,2.4 | awk '$2 != $5 || $3 != $6 || $4 != $7 {print; n++} END {exit n > 0}' \
    || fail "done files were rewritten by the resumed run"
$CMP "$R" "$W/rdst" || fail "resumed tree differs"
[ -z "$(find "$W/rdst" -name '.ebt~st.*')" ] || fail "temporaries of the killed run left"
ok "resume after SIGKILL: $NDONE done files skipped ($SK skipped, $CP copied), none rewritten"

# a large file killed mid-copy: the chunks done are kept, not copied again (256 KiB chunks, so
# that the kill lands mid-copy even when each poll, a python start, is slow on a busy machine;
# the wait is bounded by time and by the copy's end, never by a count of polls)
L=$W/lsrc; mkdir -p "$L"; NCHUNKS=192 CH=262144
head -c $((NCHUNKS * CH)) /dev/urandom > "$L/large"; echo small > "$L/small"
"$EBT" stage-out --threads 1 --chunk 256K "$L" "$W/ldst" > /dev/null 2>&1 &
PID=$!
chunks_done() { # the map of the partial file: bytes set to 1
    /usr/bin/python3 -c "import glob, sys; m = glob.glob(sys.argv[1] + '/.ebt~st.p.*.map')
print(open(m[0], 'rb').read().count(1) if m else 0)" "$W/ldst" 2>/dev/null || echo 0
}
end=$((SECONDS + 30))
while ((SECONDS < end)) && kill -0 $PID 2>/dev/null; do [ "$(chunks_done)" -ge 6 ] && break; sleep 0.005; done
kill -9 $PID 2>/dev/null || fail "the large file was done before the kill"
wait $PID 2>/dev/null || true
NCH=$(chunks_done)
[ "$NCH" -ge 6 ] && [ "$NCH" -lt "$NCHUNKS" ] || fail "killed with $NCH of $NCHUNKS chunks done"
"$EBT" stage-out --json --threads 2 --chunk 256K "$L" "$W/ldst" > "$W/j8" 2> "$W/e8" \
    || { cat "$W/e8"; fail "resumed large file"; }
[ "$(json "$W/j8" chunks_resumed)" -ge "$NCH" ] || fail "chunks resumed: $(cat "$W/j8"), $NCH done"
[ "$(json "$W/j8" bytes)" -le $(((NCHUNKS - NCH) * CH + 6)) ] || fail "rewrote done chunks: $(cat "$W/j8")"
$CMP "$L" "$W/ldst" || fail "resumed large file differs"
[ -z "$(find "$W/ldst" -name '.ebt~st.*')" ] || fail "partial file left"
ok "a large file killed after $NCH of $NCHUNKS chunks: $(json "$W/j8" chunks_resumed) chunks kept"

# --- a destination with symlinks pointing outside is never followed ---------------------------
O=$W/outside; D=$W/sdst
mkdir -p "$O/victimdir" "$D"
echo precious > "$O/victim"
ln -s "$O/victimdir" "$D/d1"            # the source has a directory d1
ln -s "$O/victim" "$D/size_1"           # ... and a file size_1
ln -s "$O/victimdir" "$D/with space"
(cd "$O" && find . -printf '%p %s %T@\n' | sort) > "$W/o1"
"$EBT" stage-out "$S" "$D" 2>/dev/null || fail "stage-out over symlinks"
(cd "$O" && find . -printf '%p %s %T@\n' | sort) | diff "$W/o1" - || fail "wrote outside the tree"
[ "$(cat "$O/victim")" = precious ] || fail "victim changed"
$CMP --skip-sockets "$S" "$D" || fail "tree over symlinks differs"
ok "destination symlinks replaced, never followed"

# a directory of the destination swapped for a symlink while the stage runs (d3 comes last)
O2=$W/outside2; mkdir -p "$O2"
"$EBT" stage-out --threads 1 "$R" "$W/swap" > /dev/null 2> "$W/e7" &
PID=$!
for i in $(seq 1 2000); do
    [ "$(ls "$W/swap/d0" 2>/dev/null | wc -l)" -ge 300 ] && break
    sleep 0.005
done
mv "$W/swap/d3" "$W/swap/d3.moved" && ln -s "$O2" "$W/swap/d3" || fail "swap"
gone $PID && fail "the stage finished before the swap (make the tree bigger)"
rc=0; wait $PID || rc=$?
[ -z "$(ls -A "$O2")" ] || fail "the stage wrote through a symlink swapped in: $(ls "$O2" | head -3)"
LAST=$(printf 'f%05d' $((${STAGE_FILES:-5000} - 1)))
[ "$rc" = 1 ] && grep -q "rsrc/d3/$LAST: open destination directory: Too many levels" "$W/e7" \
    || { tail -3 "$W/e7"; fail "swapped directory: exit $rc"; }
ok "a directory swapped for a symlink during the stage is not followed"

# --- bad inputs ---------------------------------------------------------------------------------
bad() { # bad WANT_RC PATTERN ARGS...: exit status and message
    local want=$1 pat=$2; shift 2
    local rc=0; "$@" > "$W/bo" 2> "$W/be" || rc=$?
    [ "$rc" = "$want" ] || { cat "$W/be"; fail "exit $rc, not $want: $*"; }
    grep -q -- "$pat" "$W/be" || { cat "$W/be"; fail "no '$pat' for: $*"; }
}
bad 2 "SRC $W/nope: No such file" "$EBT" stage-out "$W/nope" "$W/x"
bad 2 "not a directory" "$EBT" stage-out "$S/size_1" "$W/x"
bad 2 "inside SRC" "$EBT" stage-out "$S" "$S/d1/inner"
bad 2 "inside SRC" "$EBT" stage-in "$S" "$S"
bad 2 "its parent directory" "$EBT" stage-out "$S" "$W/no/such/dir"
bad 2 "exists and is not a directory" "$EBT" stage-out "$S" "$S/size_1"
bad 2 "needs SRC and DEST" "$EBT" stage-out "$S"
bad 2 "unknown option" "$EBT" stage-out --frobnicate "$S" "$W/x"
bad 2 "option needs a value" "$EBT" stage-out "$S" "$W/x" --threads
bad 2 "threads 0: must be a number 1..256" "$EBT" stage-out --threads 0 "$S" "$W/x"
bad 2 "threads 2x" "$EBT" stage-out --threads 2x "$S" "$W/x"
bad 2 "chunk 1K: a size from 64K to 1G" "$EBT" stage-out --chunk 1K "$S" "$W/x"
bad 2 "EBT_STAGE_THREADS='0'" env EBT_STAGE_THREADS=0 "$EBT" stage-out "$S" "$W/x"
bad 2 "EBT_STAGE_CHUNK='5'" env EBT_STAGE_CHUNK=5 "$EBT" stage-in "$S" "$W/x"
[ ! -e "$W/x" ] || fail "a bad input created DEST"
"$EBT" help stage-in | grep -q -- "--verify" || fail "ebt help stage-in"
"$EBT" --help | grep -q stage-out || fail "ebt --help"
ok "bad inputs refused with exit 2 and a reason"

# unreadable entries: reported, exit 1, everything else copied
U=$W/usrc
mkdir -p "$U/locked" "$U/open"
echo a > "$U/open/a"; echo b > "$U/secret"; echo c > "$U/locked/c"; echo d > "$U/z"
chmod 0 "$U/secret" "$U/locked"
rc=0; drop_caps "$EBT" stage-out --json "$U" "$W/udst" > "$W/j6" 2> "$W/e6" || rc=$?
chmod 0700 "$U/locked"; chmod 0600 "$U/secret"
[ "$rc" = 1 ] || { cat "$W/e6"; fail "unreadable entries: exit $rc"; }
grep -q "usrc/secret: open: Permission denied" "$W/e6" || { cat "$W/e6"; fail "secret not named"; }
grep -q "usrc/locked: open directory: Permission denied" "$W/e6" || { cat "$W/e6"; fail "locked"; }
[ "$(json "$W/j6" errors)" = 2 ] || fail "errors $(cat "$W/j6")"
cmp "$U/open/a" "$W/udst/open/a" && cmp "$U/z" "$W/udst/z" || fail "readable files not copied"
[ ! -e "$W/udst/secret" ] || fail "an unreadable file left a partial copy"
ok "unreadable entries reported (exit 1), the rest copied"

# owners that may not be changed (root without CAP_CHOWN): said once, everything else copied
if [ "$(id -u)" = 0 ]; then
    C=$W/csrc; mkdir -p "$C"; echo o > "$C/owned"; echo p > "$C/plain"; chown 1234:5678 "$C/owned"
    drop_caps "$EBT" stage-out "$C" "$W/cdst" 2> "$W/e9" || { cat "$W/e9"; fail "no CAP_CHOWN"; }
    [ "$(grep -c "owners are not kept" "$W/e9")" = 1 ] || { cat "$W/e9"; fail "owner warning"; }
    cmp "$C/owned" "$W/cdst/owned" && cmp "$C/plain" "$W/cdst/plain" || fail "no CAP_CHOWN copy"
    ok "owners not permitted: one warning, the data copied"
fi
