# test_cache_full.sh - a full node-local cache never fails the job: over --cache-bytes, or on a
# real ENOSPC from the cache file system, files move to the PFS and the job's data stays exact.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache; S=$W/src
mkdir -p "$P" "$C" "$S"
head -c 5000000 /dev/urandom > "$S/big.bin"
head -c 300000 /dev/urandom > "$S/mid.bin"
seq 1 400000 | sed 's/$/ some text to make the line longer/' > "$S/lines.txt" # ~16 MB
sed 's/some/SOME/' "$S/lines.txt" > "$S/edited.txt"

cat > "$W/job.sh" <<'JOB'
set -e
cp "$SRC/big.bin" "$PFS/big.bin"                          # copy_file_range
dd if="$SRC/mid.bin" of="$PFS/dd.bin" bs=4096 status=none  # many write() calls
for i in $(seq 1 8); do cat "$SRC/mid.bin" > "$PFS/small$i.bin"; done   # opens while full
# one write() larger than the room left: never a short write (fd 1 inherited across exec)
python3 -c "import os; n = os.write(1, open('$SRC/big.bin', 'rb').read()); open('$PFS/py_n.txt', 'w').write(str(n))" > "$PFS/py_stdout.bin"
dd if="$SRC/big.bin" of="$PFS/dd_one.bin" bs=5000000 count=1 iflag=fullblock status=none
cmp "$SRC/big.bin" "$PFS/big.bin"                          # the job sees its data at once
# stdio: tee writes its files with fopen+fwrite (glibc's stdio writes past the wrappers), seq
# its redirected stdout (dash opens it for the child: two processes share the stage)
tee "$PFS/teed.txt" < "$SRC/lines.txt" > /dev/null
sh -c "seq 1 2000000 > '$PFS/seq.txt'"
# a writer that is not preloaded (the FUSE view's writes, where one is mounted)
env -u LD_PRELOAD dd if="$SRC/lines.txt" of="$PFS/unpreloaded.txt" bs=1M status=none
# sed -i: glibc's mkstemp makes its temporary (through the view), then the rename of the spilled
# temporary over the file (no cache room for the copy a rename of a PFS file takes)
cp "$SRC/lines.txt" "$PFS/edited.txt"
sed -i 's/some/SOME/' "$PFS/edited.txt"
echo done > "$PFS/marker.txt"
JOB
check_pfs() {
    cmp "$S/big.bin" "$P/big.bin" || fail "$1: big.bin differs"
    cmp "$S/mid.bin" "$P/dd.bin" || fail "$1: dd.bin differs"
    for i in $(seq 1 8); do cmp "$S/mid.bin" "$P/small$i.bin" || fail "$1: small$i differs"; done
    [ "$(cat "$P/marker.txt")" = done ] || fail "$1: marker"
    [ "$(cat "$P/py_n.txt")" = 5000000 ] || fail "$1: one 5 MB write() returned $(cat "$P/py_n.txt")"
    cmp "$S/big.bin" "$P/py_stdout.bin" || fail "$1: py_stdout.bin differs"
    cmp "$S/big.bin" "$P/dd_one.bin" || fail "$1: dd_one.bin (one 5 MB write) differs"
    cmp "$S/lines.txt" "$P/teed.txt" || fail "$1: tee (stdio fopen) output differs"
    cmp "$S/lines.txt" "$P/unpreloaded.txt" || fail "$1: a writer without the preload: differs"
    cmp "$S/edited.txt" "$P/edited.txt" || fail "$1: sed -i differs"
    seq 1 2000000 | cmp - "$P/seq.txt" || fail "$1: seq > file (stdout through stdio) differs"
}

SRC=$S PFS=$(realpath "$P") "$EBT" run --pfs "$P" --cache "$C" --cache-bytes 1M --keep-cache \
    -- bash "$W/job.sh" 2> "$W/err" || { cat "$W/err"; fail "job over --cache-bytes failed"; }
check_pfs "--cache-bytes"
used=$(du -sk "$C"/ebt.*/up | cut -f1)
[ "$used" -lt 1600 ] || fail "the cache holds ${used} KiB with a 1 MiB limit: nothing was spilled"
grep -q "cache full" "$C"/ebt.*/ebt.log || fail "no log line about the full cache"
[ "$(grep -c "ebt: node-local cache full" "$W/err")" = 1 ] ||
    { cat "$W/err"; fail "the user was not told once on stderr that the cache was full"; }
ok "--cache-bytes 1M: 67 MB written exactly, cache kept at ${used} KiB, spill logged"

# A cache file system that is really full (ENOSPC), if this machine lets the test mount one.
rm -rf "$P"/* "$C"/*
mkdir -p "$W/tiny"
if mount -t tmpfs -o size=1m tmpfs "$W/tiny" 2>/dev/null; then
    set +e
    SRC=$S PFS=$(realpath "$P") "$EBT" run --pfs "$P" --cache "$W/tiny" -- bash "$W/job.sh" \
        2> "$W/err"
    rc=$?
    set -e
    umount "$W/tiny"
    [ $rc -eq 0 ] || { cat "$W/err"; fail "job with a 1 MiB tmpfs cache failed ($rc)"; }
    check_pfs "ENOSPC"
    ok "1 MiB tmpfs cache (ENOSPC): the job never saw the error and its data is exact"
else
    echo "skip: cannot mount a tmpfs here (not root?); the ENOSPC case was not run"
fi

# The flush's journal has its room reserved: a cache file system that something else filled to
# the last block (another job, a scratch file) still takes the journal of the flush.
rm -rf "$P"/* "$C"/*
mkdir -p "$W/tiny"
if mount -t tmpfs -o size=4m tmpfs "$W/tiny" 2>/dev/null; then
    set +e
    PFS=$(realpath "$P") FILL="$W/tiny/filler" "$EBT" run --pfs "$P" --cache "$W/tiny" -- bash -c '
        for i in $(seq 1 20); do echo "line $i" > "$PFS/f$i.txt"; done
        dd if=/dev/zero of="$FILL" bs=64k status=none 2>/dev/null
        [ "$(df --output=avail "$(dirname "$FILL")" | tail -n1)" -eq 0 ]' 2> "$W/err"
    rc=$?
    set -e
    umount "$W/tiny"
    [ $rc -eq 0 ] || { cat "$W/err"; fail "job whose cache was filled by another file: exit $rc"; }
    for i in $(seq 1 20); do
        [ "$(cat "$P/f$i.txt")" = "line $i" ] || fail "f$i.txt did not reach the PFS"
    done
    ok "a cache file system filled to the last block: the flush journal had its room, 20 files exact"
else
    echo "skip: cannot mount a tmpfs here (not root?); the full-journal case was not run"
fi
