#!/bin/bash
# conform.sh CASE MODE - run one real-program case natively and under `ebt run --visibility MODE`,
# and compare everything a user could notice: exit status, output, and the resulting tree (names,
# types, modes, owners, link counts, symlink targets, contents, hard-link groups, and the mtimes
# the case says its programs set). A case is cases/CASE.sh, run as `bash CASE.sh OUT FIX` with
# OUT the managed output directory and FIX a scratch directory outside it; it may set, in a line
# of its own, `# conform: mtimes` (compare mtimes of everything) and `# conform: ignore REGEX`
# (paths left out of the tree comparison, e.g. files holding inode numbers).
set -euo pipefail
CASE=$1 MODE=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SCRIPT=$HERE/cases/$CASE.sh
[[ -f $SCRIPT ]] || { echo "no case $SCRIPT" >&2; exit 2; }
[[ -x ${EBT_BIN:-} ]] || { echo "EBT_BIN not set to the ebt CLI" >&2; exit 2; }
export EBT_LIB=$EBT_LIB_DIR/libebt.so CONFORM_BIN_DIR=${CONFORM_BIN_DIR:-}
unset EBT_RUN_DIR EBT_PATHS EBT_VISIBILITY LD_PRELOAD || true
T=$(mktemp -d /tmp/ebt-conform.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/cache"
MTIMES=0
grep -q '^# conform: mtimes' "$SCRIPT" && MTIMES=1
IGNORE=$(sed -n 's/^# conform: ignore //p' "$SCRIPT" | paste -sd'|')
IGNORE=${IGNORE:-^$}

run_case() { # SIDE: run the case in $T/out (the same path both times), keep status and output
    local side=$1 rc=0 out=$T/out fix=$T/fix
    rm -rf "$out" "$fix" && mkdir -p "$out" "$fix"
    if [[ $side == native ]]; then
        (cd "$fix" && timeout 120 bash "$SCRIPT" "$out" "$fix") >"$T/$side.stdout" \
            2>"$T/$side.stderr" || rc=$?
        cp "$T/$side.stderr" "$T/$side.stderr.raw"
    else
        (cd "$fix" && timeout 120 "$EBT_BIN" run --pfs "$out" --cache "$T/cache" \
            --visibility "$MODE" -- bash "$SCRIPT" "$out" "$fix") >"$T/$side.stdout" \
            2>"$T/$side.stderr.raw" || rc=$?
        grep -v "^ebt: " "$T/$side.stderr.raw" >"$T/$side.stderr" || true
    fi
    echo "$rc" >"$T/$side.rc"
    sed -i -e "s#$out#OUT#g" -e "s#$fix#FIX#g" "$T/$side.stdout" "$T/$side.stderr"
    mv "$out" "$T/$side.out"
}

snapshot() { # DIR: one line per entry, then contents, hard-link groups and (if asked) mtimes
    local d=$1
    (cd "$d" && find . -mindepth 1 -printf '%P|%y|%m|%u|%g|%n|%l\n' | { grep -Ev "$IGNORE" || true; } |
        LC_ALL=C sort)
    (cd "$d" && find . -mindepth 1 -type f -printf '%P\n' | { grep -Ev "$IGNORE" || true; } | LC_ALL=C sort |
        while IFS= read -r f; do echo "content $f $(md5sum <"$f" | cut -c1-32)"; done)
    (cd "$d" && find . -mindepth 1 -type f -links +1 -printf '%i %P\n' | LC_ALL=C sort -k1,1n |
        awk '{g[$1]=g[$1] " " $2} END {for (i in g) print "hardlinks" g[i]}' | LC_ALL=C sort)
    /usr/bin/python3 - "$d" "$IGNORE" <<'XATTRS' # user xattrs (EBT's own must never show)
import os, re, sys
top, ign = sys.argv[1], re.compile(sys.argv[2])
for dirpath, dirs, files in sorted(os.walk(top)):
    for n in sorted(dirs + files):
        p = os.path.join(dirpath, n)
        rel = os.path.relpath(p, top)
        if ign.search(rel) or os.path.islink(p):
            continue
        try:
            names = sorted(os.listxattr(p, follow_symlinks=False))
        except OSError:
            continue
        for k in names:
            if k.startswith("user."):
                print("xattr", rel, k, os.getxattr(p, k, follow_symlinks=False).hex())
XATTRS
    if ((MTIMES)); then
        (cd "$d" && find . -mindepth 1 ! -type l -printf '%P %TY-%Tm-%Td %TH:%TM:%TS\n' |
            { grep -Ev "$IGNORE" || true; } | LC_ALL=C sort)
    fi
}

run_case native
run_case ebt
fail=0
for what in rc stdout stderr; do
    if ! diff -u "$T/native.$what" "$T/ebt.$what" >"$T/diff.$what"; then
        echo "[$CASE/$MODE] $what differs (native vs ebt):" >&2
        cat "$T/diff.$what" >&2
        fail=1
    fi
done
snapshot "$T/native.out" >"$T/native.tree"
snapshot "$T/ebt.out" >"$T/ebt.tree"
if ! diff -u "$T/native.tree" "$T/ebt.tree" >&2; then
    echo "[$CASE/$MODE] the tree on the PFS after the flush differs from the native run" >&2
    fail=1
fi
if ((fail)); then
    echo "[$CASE/$MODE] ebt's messages:" >&2
    cat "$T/ebt.stderr.raw" >&2 || true
    exit 1
fi
echo "[$CASE/$MODE] identical to native: status $(cat "$T/ebt.rc"), $(wc -l <"$T/ebt.stdout") output lines, $(wc -l <"$T/ebt.tree") tree lines"
