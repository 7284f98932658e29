#!/bin/bash
# input_cache.sh - ebt run --input: real programs (/usr/bin/python3, stat, ls, find) over an input
# tree on the PFS simulator give the same output as natively; the simulator's MDS counters prove
# the metadata cache answers (and the test fails without it); an input changed between two jobs
# is never served stale; what the job writes under a managed or unmanaged input is seen at once.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init input_cache
[[ -x /usr/bin/python3 ]] || t_fail "/usr/bin/python3 not installed"
SIM_CTL=${PFS_SIM_CTL:?PFS_SIM_CTL (bin/pfs-sim-ctl) not set}
SIM_BIN=${PFS_SIM_BIN:?PFS_SIM_BIN (bin/pfs-sim) not set}
[[ -r /dev/fuse && -w /dev/fuse ]] || { t_log "SKIP: /dev/fuse not usable"; exit 77; }

BACK=$T_TMP/back MNT=$T_TMP/mnt
mkdir -p "$BACK" "$MNT"
"$SIM_CTL" start --backing "$BACK" --mnt "$MNT" --nodes 1 --bin "$SIM_BIN" >&2 ||
    t_fail "pfs-sim did not start"
stop_sim() {
    local rc=$?
    set +e
    "$SIM_CTL" stop --mnt "$MNT" >/dev/null 2>&1
    (exit $rc)
    t_cleanup
}
trap stop_sim EXIT
STATS=$MNT/node0/.pfs-sim/stats
sim_reset() { echo reset >"$STATS"; }
sim_get() { /usr/bin/python3 -c "import json,sys; print(json.load(open('$STATS'))['mds']['$1'])"; }

# The input tree, made in the backing store (no cost): a package with modules, a subpackage,
# symlinks (relative, to a directory, dangling), odd modes, an empty directory.
mk_tree() {
    local r=$1/lib/site
    mkdir -p "$r/pkga/sub" "$r/empty"
    for i in 0 1 2 3 4 5 6 7; do echo "X = $i * 11" >"$r/pkga/m$i.py"; done
    echo "Y = 'sub'" >"$r/pkga/sub/s.py"
    : >"$r/pkga/__init__.py"
    : >"$r/pkga/sub/__init__.py"
    echo "Z = 5" >"$r/pkga/ro.py"
    chmod 0444 "$r/pkga/ro.py"
    chmod 0750 "$r/pkga/sub"
    ln -s m1.py "$r/pkga/link.py"
    ln -s sub "$r/pkga/subdir_link"
    ln -s nowhere "$r/pkga/dangling"
}
mk_tree "$BACK/env"
ENV=$MNT/node0/env
SITE=$ENV/lib/site
mkdir -p "$BACK/out"
PFS_OUT=$MNT/node0/out # a managed directory next to the input

cat >"$T_TMP/imp.py" <<'EOF'
import importlib, os, sys
site = sys.argv[1]
sys.path[:0] = [site + "/a", site + "/b", site]   # two search-path entries that do not exist
import pkga
for i in range(8):
    m = importlib.import_module("pkga.m%d" % i)
    print(m.__name__, m.X)
import pkga.sub.s, pkga.link, pkga.ro
print(pkga.sub.s.Y, pkga.link.X, pkga.ro.Z)
for name in ("pkga.missing", "pkga.sub.nothere", "nosuchpkg"):
    try:
        importlib.import_module(name)
    except ImportError as e:
        print("ImportError", type(e).__name__, e)
print(sorted(os.listdir(site + "/pkga")))
print(os.readlink(site + "/pkga/link.py"), os.path.exists(site + "/pkga/dangling"),
      os.path.lexists(site + "/pkga/dangling"), os.path.isdir(site + "/pkga/subdir_link"))
print(os.access(site + "/pkga/ro.py", os.R_OK), os.access(site + "/nope", os.F_OK))
EOF
py() { /usr/bin/python3 -B "$T_TMP/imp.py" "$SITE"; }
tools() { # names, types, sizes, modes, link targets, as stat/ls/find see them
    cd "$ENV" && find . -printf '%p %y %m %s %l\n' | LC_ALL=C sort
    stat -c '%n %F %a %s %N' lib/site/pkga/* lib/site/empty
    ls -la --time-style=+%s lib/site/pkga | awk '{print $1, $5, $6, $7, $8, $9}'
    stat -L -c '%n %F %s' lib/site/pkga/link.py lib/site/pkga/subdir_link
    stat lib/site/pkga/missing 2>&1 | sed 's/^stat: //' || true
}
export -f py tools
export T_TMP SITE ENV

ebt_in() { "$EBT_BIN" run --pfs "$PFS_OUT" --cache "$T_TMP/cache" "$@"; }

# 1. Same output as natively: python imports (and misses), stat/ls/find.
py >"$T_TMP/py.native"
tools >"$T_TMP/tools.native"
grep -q "^ImportError ModuleNotFoundError No module named 'pkga.missing'$" "$T_TMP/py.native" ||
    t_fail "the native run did not show the expected ImportError: $(cat "$T_TMP/py.native")"
t_native_only && exit 0
ebt_in --input "$ENV" -- bash -c py >"$T_TMP/py.ebt" || t_fail "python under ebt --input failed"
t_expect_same "python import output" "$T_TMP/py.native" "$T_TMP/py.ebt"
sim_reset
ebt_in -- bash -c 'tools; tools' >/dev/null || t_fail "stat/ls/find under ebt failed"
tools_off=$(sim_get ops)
sim_reset
ebt_in --input "$ENV" -- bash -c 'tools; tools' >"$T_TMP/tools.ebt" ||
    t_fail "stat/ls/find under ebt --input failed"
tools_on=$(sim_get ops)
t_log "stat/ls/find twice: MDS ops $tools_off without --input, $tools_on with"
# find opens every directory (O_DIRECTORY): that is no write, the cache must stay on
((tools_on * 5 <= tools_off * 4)) ||
    t_fail "stat/ls/find: the cache saved less than 20% ($tools_on of $tools_off ops)"
cat "$T_TMP/tools.native" "$T_TMP/tools.native" >"$T_TMP/tools.native2"
t_expect_same "stat/ls/find output" "$T_TMP/tools.native2" "$T_TMP/tools.ebt"

# 2. The cache answers: 4 python processes of one job. The MDS sees far fewer lookups and almost
# no ENOENT than the same job without --input (which is the cache disabled).
storm() { for _ in 1 2 3 4; do py >/dev/null; done; }
export -f storm
sim_reset
ebt_in --input "$ENV" -- true || t_fail "an empty job failed"
ops_base=$(sim_get ops) enoent_base=$(sim_get enoent) # ebt run's own (probe, journal, flush)
sim_reset
ebt_in -- bash -c storm || t_fail "storm without --input failed"
ops_off=$(sim_get ops) enoent_off=$(sim_get enoent)
sim_reset
ebt_in --input "$ENV" -- bash -c storm || t_fail "storm with --input failed"
ops_on=$(($(sim_get ops) - ops_base)) enoent_on=$(($(sim_get enoent) - enoent_base))
ops_off=$((ops_off - ops_base)) enoent_off=$((enoent_off - enoent_base))
t_log "4 imports (ebt run's own $ops_base ops, $enoent_base ENOENT not counted): MDS ops $ops_off without the cache, $ops_on with; ENOENT $enoent_off vs $enoent_on"
((enoent_off >= 100)) || t_fail "the job without --input should cost many ENOENT ($enoent_off)"
((enoent_on * 20 <= enoent_off)) ||
    t_fail "with --input the MDS answered $enoent_on ENOENT (without: $enoent_off): cache not used"
((ops_on * 4 <= ops_off)) ||
    t_fail "with --input the MDS served $ops_on ops (without: $ops_off): not 4x fewer"

# 3. Changed between two jobs: never stale (each job validates its own cache).
echo "X = 'changed in between'" >"$BACK/env/lib/site/pkga/m3.py"
rm "$BACK/env/lib/site/pkga/m5.py"
echo "X = 'new'" >"$BACK/env/lib/site/pkga/m9.py"
check2() {
    /usr/bin/python3 -B -c "
import sys; sys.path.insert(0, '$SITE')
import pkga.m3, pkga.m9
print(pkga.m3.X, pkga.m9.X)
try:
    import pkga.m5
except ImportError as e:
    print('gone', e.name)"
    stat -c '%s' "$SITE/pkga/m3.py"
}
export -f check2
check2 >"$T_TMP/c2.native"
ebt_in --input "$ENV" -- bash -c check2 >"$T_TMP/c2.ebt" || t_fail "second job failed"
t_expect_same "a job after the input changed" "$T_TMP/c2.native" "$T_TMP/c2.ebt"

# 4. Written by the job: under a managed input (EBT's layers) and under an unmanaged one (the
# PFS itself), seen at once by the writer and by the next process of the same job.
writer() {
    local site=$1
    /usr/bin/python3 -B -c "
import importlib, os, sys
site = '$site'; sys.path.insert(0, site)
import pkga
print(os.path.exists(site + '/pkga/gen.py'), 'gen.py' in os.listdir(site + '/pkga'))
try:
    import pkga.gen
except ImportError:
    print('not yet')
with open(site + '/pkga/gen.py', 'w') as f:
    f.write('G = 42\n')
with open(site + '/pkga/m1.py', 'w') as f:
    f.write('X = \"rewritten\"\n')
os.mkdir(site + '/pkga/newdir')
importlib.invalidate_caches()
import pkga.gen, pkga.m1
print(pkga.gen.G, pkga.m1.X, os.path.getsize(site + '/pkga/gen.py'),
      'gen.py' in os.listdir(site + '/pkga'), os.path.isdir(site + '/pkga/newdir'))"
    stat -c '%n %s' "$site/pkga/gen.py" "$site/pkga/m1.py"
    ls "$site/pkga" | tr '\n' ' '
    echo
}
export -f writer
for kind in managed unmanaged; do
    rm -rf "$BACK/w.$kind" "$BACK/w.$kind.native"
    mkdir -p "$BACK/w.$kind/env" "$BACK/w.$kind.native/env" "$BACK/w.$kind.out"
    mk_tree "$BACK/w.$kind/env"
    mk_tree "$BACK/w.$kind.native/env"
    writer "$MNT/node0/w.$kind.native/env/lib/site" |
        sed "s|w.$kind.native|w.$kind|g" >"$T_TMP/w.$kind.native"
    in=$MNT/node0/w.$kind/env
    pfs=$([[ $kind == managed ]] && echo "$MNT/node0/w.$kind" || echo "$MNT/node0/w.$kind.out")
    "$EBT_BIN" run --pfs "$pfs" --cache "$T_TMP/cache" --input "$in" -- \
        bash -c "writer $in/lib/site" >"$T_TMP/w.$kind.ebt" || t_fail "writer ($kind) failed"
    t_expect_same "a job writing under a $kind input" "$T_TMP/w.$kind.native" "$T_TMP/w.$kind.ebt"
done
exit 0
