#!/bin/bash
# mn_input.sh [NODES] - copies of input files (--input, issue 11): on the PFS simulator, two
# readers per virtual node read every file of an input tree (python: contents, fstat of the open
# file, mmap; cat; tar) and print the same as natively, while the simulator reads each file that
# can be copied from the PFS once for the whole job: its home node reads it, the other nodes copy
# it from the home. A file over EBT_INPUT_FILE_MAX is read from the PFS by every reader, a file
# changed between two jobs is never served stale. Metadata: every stat, readlink and listing
# under the input is asked of the PFS once per job, by the path's home node; the other nodes ask
# the home. Skips (77) without FUSE, root or unshare.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
NODES=${1:-2}
mn_init "mn_input"
[[ -c /dev/fuse ]] || mn_skip "no /dev/fuse"
((EUID == 0)) || mn_skip "needs root (mount namespaces, bind mounts)"
command -v unshare >/dev/null || mn_skip "no unshare"
[[ -x ${PFS_SIM_CTL:-} && -x ${PFS_SIM_BIN:-} ]] || mn_skip "PFS_SIM_CTL/PFS_SIM_BIN not set"

SIM=$(mktemp -d /tmp/ebt-input-sim.XXXXXX) # outside T_TMP: mn_cleanup kills what names T_TMP
in_cleanup() {
    local rc=$?
    t_kill_leftovers
    for m in "$T_TMP/A" "$T_TMP/B"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    "$PFS_SIM_CTL" stop --mnt "$SIM/mnt" --timeout 20 >/dev/null 2>&1 || true
    rm -rf "$SIM"
    (exit "$rc")
    mn_cleanup
}
trap in_cleanup EXIT
mn_sim_start "$SIM" "$NODES"
STATS=$SIM/mnt/node0/.pfs-sim/stats
sim_read_bytes() { python3 -c "import json; print(json.load(open('$STATS'))['read_bytes'])"; }
# native (A) and node 0 (B) see the simulator's node0; node i > 0 its node i at B
mount --bind "$SIM/mnt/node0" "$T_TMP/A"
mn_sim_bind "$SIM" "$NODES"

# The input tree, made in the backing store (no PFS cost): 48 modules, 3 data files of 300 KiB,
# one of 3 MiB (over the 2 MiB copy limit below), an empty file, a symlink.
IN=$SIM/backing/in
mkdir -p "$IN/pkg/sub" "$SIM/backing/out"
for i in $(seq 0 47); do printf 'X = %d\n# %0200d\n' "$i" "$i" >"$IN/pkg/m$i.py"; done
for i in 0 1 2; do head -c 307200 /dev/urandom >"$IN/data$i.bin"; done
head -c 3145728 /dev/urandom >"$IN/big.bin"
: >"$IN/pkg/empty.py"
chmod 0444 "$IN/data1.bin"
ln -s data0.bin "$IN/link.bin"
SMALL=$(find "$IN" -type f -size -2M -printf '%s\n' | awk '{s += $1} END {print s}')
BIG=3145728
export EBT_INPUT_FILE_MAX=2M

cat >"$T_TMP/reader.py" <<'EOF'
import hashlib, mmap, os, stat, sys
top = sys.argv[1]
for dirpath, dirs, files in sorted(os.walk(top)):
    dirs.sort()
    for name in sorted(files):
        p = os.path.join(dirpath, name)
        with open(p, "rb") as f:
            data = f.read()
            fs = os.fstat(f.fileno())
            try:  # (the simulator mounts with direct I/O: no mmap there natively)
                m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) if fs.st_size else None
            except OSError:
                m = None
        ps = os.stat(p)
        same = [a for a in ("st_ino", "st_dev", "st_size", "st_mode", "st_uid", "st_gid",
                            "st_mtime_ns", "st_ctime_ns", "st_nlink") if getattr(fs, a) != getattr(ps, a)]
        print(os.path.relpath(p, top), len(data), hashlib.md5(data).hexdigest(),
              oct(stat.S_IMODE(fs.st_mode)), "fstat==stat" if not same else "differ:" + ",".join(same),
              "" if m is None or m[:] == data else "mmap differs")
EOF
reader() { # DIR OUT: python, cat and tar over the input tree
    /usr/bin/python3 -B "$T_TMP/reader.py" "$1/in" >"$2"
    (cd "$1/in" && cat pkg/m7.py link.bin big.bin | md5sum && tar cf - . | tar tvf - | LC_ALL=C sort) >>"$2" 2>&1
}
export -f reader
export T_TMP

job() {
    local d=$1 i r pids=()
    for ((i = 0; i < NODES; i++)); do
        for r in 0 1; do
            on "$i" bash -c 'reader "$@"' _ "$d" "$T_TMP/out.$i.$r.$MN_MODE" &
            pids+=($!)
        done
    done
    for i in "${pids[@]}"; do wait "$i" || return 1; done
}

mn_native job
echo reset >"$STATS"
mn_start "$NODES" --input "$T_TMP/B/in"
mn_job job
read_bytes=$(sim_read_bytes)
for ((i = 0; i < NODES; i++)); do
    for r in 0 1; do
        t_expect_same "node $i reader $r" "$T_TMP/out.0.0.native" "$T_TMP/out.$i.$r.ebt"
    done
done
grep -q "differ\|mmap differs" "$T_TMP/out.0.0.ebt" && t_fail "fstat or mmap differ from native"
pfs_files=0 peer_files=0 md_pfs=0 md_peer=0
counter() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
for ((i = 0; i < NODES; i++)); do
    c=$("$EBT_BIN" stat --json --run-dir "$(mn_run_dir "$i")")
    pf=$(counter "$c" input_pfs_files) cf=$(counter "$c" input_peer_files)
    ma=$(counter "$c" input_md_asks) mp=$(counter "$c" input_md_pfs) mh=$(counter "$c" input_md_peer)
    t_log "node $i: $pf input files read from the PFS, $cf copied from their home node;" \
        "$ma metadata questions: $mp asked of the PFS, $mh of a home node"
    pfs_files=$((pfs_files + pf)) peer_files=$((peer_files + cf))
    md_pfs=$((md_pfs + mp)) md_peer=$((md_peer + mh))
done
# every node asks the same questions: each is asked of the PFS once, by its home, and of the
# home by each of the other nodes (asked of the PFS by every node: md_peer == 0)
((md_pfs > 0 && md_peer * 10 >= md_pfs * (NODES - 1) * 9)) ||
    t_fail "$md_pfs metadata answers from the PFS, $md_peer from home nodes: not once per job"
readers=$((NODES * 2))
t_log "PFS bytes read: $read_bytes (files that can be copied: $SMALL bytes; $BIG over the limit, read 3 times by each of $readers readers)"
nfiles=$(find "$IN" -type f -size -2M | wc -l)
((pfs_files == nfiles)) || t_fail "$pfs_files copies made from the PFS for $nfiles files: each once per job"
((peer_files == nfiles * (NODES - 1))) ||
    t_fail "$peer_files copies from home nodes: expected $((nfiles * (NODES - 1)))"
# big.bin is read three times by each reader (python, cat, tar), from the PFS every time
((read_bytes * 100 <= (SMALL * 105 + BIG * readers * 300))) ||
    t_fail "the PFS read $read_bytes bytes: more than once per job for the copied files"
mn_stop

# Changed between two jobs: the next job reads the new version.
head -c 307200 /dev/urandom >"$IN/data2.bin"
echo "X = 'changed'" >>"$IN/pkg/m3.py"
mn_native job
mn_start "$NODES" --input "$T_TMP/B/in"
mn_job job
for ((i = 0; i < NODES; i++)); do
    t_expect_same "node $i after a change" "$T_TMP/out.0.0.native" "$T_TMP/out.$i.0.ebt"
done
mn_stop
exit 0
