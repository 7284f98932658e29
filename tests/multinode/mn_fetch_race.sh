#!/bin/bash
# mn_fetch_race.sh - a reader of another node's file reads the bytes its fetch merged, even when
# the node's copy of that file is rewritten between the fetch and the open: node 1 reads a file
# node 0 wrote, with the window between its fetch and its open widened
# (EBT_TEST_FETCH_OPEN_DELAY_US); meanwhile node 0 rewrites one byte of it in place (a new note:
# the record changes) and another process of node 1 stats it (its RESOLVE refreshes the node's
# copy to the new record: a placeholder of holes). Before the fix the reader got those holes:
# 1 MiB of zeros, exit 0 (and in a shared file, a held part refreshed from such a copy lost the
# node's own blocks: mn_shared_write_4x4). Compared with the native run; the PFS after the flush.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_fetch_race
mkdir -p "$T_TMP/out"
head -c 1048576 /dev/urandom >"$T_TMP/data"

# same_byte FILE: rewrite byte 0 with itself (an open for writing, a write, a close: published)
cat >"$T_TMP/same_byte.py" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    b = f.read(1)
    f.seek(0)
    f.write(b)
PY

job() {
    local d=$1/fr o=$T_TMP/out/$MN_MODE
    on 0 mkdir "$d"
    on 0 cp "$T_TMP/data" "$d/f"
    EBT_TEST_FETCH_OPEN_DELAY_US=1500000 on 1 sh -c "cat '$d/f' | md5sum" >"$o.read" &
    local reader=$!
    sleep 0.5 # the reader has fetched and waits before its open
    on 0 /usr/bin/python3 "$T_TMP/same_byte.py" "$d/f"
    on 1 stat -c '%s %F' "$d/f" >"$o.stat"
    wait "$reader"
    md5sum <"$T_TMP/data" >"$o.expected"
}

mn_native job
mn_start 2
mn_job job
for f in read stat; do
    diff -u "$T_TMP/out/native.$f" "$T_TMP/out/ebt.$f" >&2 ||
        t_fail "node 1 read node 0's file differently from the native run ($f)"
done
diff -u "$T_TMP/out/ebt.expected" "$T_TMP/out/ebt.read" >&2 || t_fail "node 1 read wrong bytes"
t_log "node 1 read the merged bytes although its copy was rewritten before the open"
mn_flush 1
mn_stop
mn_compare
