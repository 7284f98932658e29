#!/bin/bash
# mn_dir_lookup.sh - a directory another node made stays in place while this node looks up the
# names around it: node 1 looks at a tree node 0 made, then at the managed prefix and a PFS
# directory (names the job's namespace has no record of), and the tree is still the same
# directory (same inode, its listing, a process whose working directory is in it still works);
# then rounds of `mkdir -p` of an existing directory by two processes per node at once all
# succeed (before the fix, a lookup of the prefix emptied the node's remote layer and about one
# mkdir -p in 80 failed with ENOENT or EEXIST). Compared with the native run; the PFS after.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
mn_init mn_dir_lookup
NODES=2
ROUNDS=24
mkdir -p "$T_TMP/out" "$T_TMP/A/pfsdir" "$T_TMP/B/pfsdir"

# cwd_probe DIR PREFIX: from inside DIR, look at PREFIX and its PFS directory, then list DIR
# through "." and create a file there (the working directory must not have been pulled away).
cat >"$T_TMP/cwd_probe.py" <<'PY'
import os, sys
d, prefix = sys.argv[1], sys.argv[2]
os.chdir(d)
before = os.stat(".").st_ino
os.stat(prefix)
os.stat(os.path.join(prefix, "pfsdir"))
os.listdir(prefix)
print("same inode:", os.stat(d).st_ino == before)
print("listing:", sorted(os.listdir(".")))
with open("from_cwd", "w") as f:
    f.write("cwd\n")
print("created:", os.path.exists(os.path.join(d, "from_cwd")))
PY

job() {
    local d=$1 k n pids p bad=0 o=$T_TMP/out/$MN_MODE
    on 0 mkdir -p "$d/made0/sub"
    on 0 sh -c "echo zero >'$d/made0/f0'"
    local i1 i2
    i1=$(on 1 stat -c %i "$d/made0")
    on 1 stat "$d" "$d/pfsdir" >/dev/null
    on 1 ls "$d" >/dev/null
    i2=$(on 1 stat -c %i "$d/made0")
    [[ $i1 == "$i2" ]] && echo "made0: same inode after lookups of the prefix" >"$o.inode" ||
        echo "made0: inode $i1 became $i2 after a lookup of the prefix" >"$o.inode"
    on 1 /usr/bin/python3 "$T_TMP/cwd_probe.py" "$d/made0/sub" "$d" >"$o.cwd"
    for ((k = 0; k < ROUNDS; k++)); do
        on 0 mkdir "$d/made0/r$k"
        pids=()
        for n in 0 0 1 1; do
            on "$n" mkdir -p "$d/made0/r$k" 2>>"$o.mkdir.err" &
            pids+=($!)
        done
        for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
    done
    echo "mkdir -p failures: $bad" >"$o.mkdir"
}

mn_native job
mn_start "$NODES"
mn_job job
for f in inode cwd mkdir; do
    diff -u "$T_TMP/out/native.$f" "$T_TMP/out/ebt.$f" >&2 || {
        cat "$T_TMP/out/ebt.mkdir.err" >&2 2>/dev/null || true
        t_fail "node 1 saw node 0's directory differently from the native run ($f)"
    }
done
t_log "node 0's tree stayed in place on node 1; every concurrent mkdir -p succeeded"
mn_flush 1
mn_stop
mn_compare
