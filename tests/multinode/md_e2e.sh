#!/bin/bash
# md_e2e.sh - the job's namespace across 4 virtual daemons (md_probe sends the MD_* requests): a
# 20 MiB file one node holds is resolved and fetched byte-exact by another; two holders with
# disjoint extent logs merge exactly over the PFS file (later note wins, PFS in the holes); unlink
# gives GONE/NONE; LISTDIR sees every node's names and whiteouts; a dead owner gives EIO at once.
. "$(dirname "$0")/mesh_lib.sh"
: "${MD_PROBE:?MD_PROBE must point to md_probe}"
N=4
export EBT_PEER_TIMEOUT_MS=3000 EBT_JOIN_TIMEOUT_MS=20000

for i in $(seq 0 $((N - 1))); do start_node $i $N; done
wait
skip_if_no_ucx
for i in $(seq 0 $((N - 1))); do
    [ "$(cat "$T/rc$i")" = 0 ] || fail "ebt start of node $i: $(cat "$T/err$i")"
done
P=$(realpath "$T/pfs")
R() { run_dir "$1"; }
probe() { "$MD_PROBE" "$(run_dir "$1")" "${@:2}"; }
# expect PATTERN NODE ARGS...: the probe's output matches the shell pattern
expect() {
    local want=$1 out
    shift
    out=$(probe "$@")
    # shellcheck disable=SC2254
    case "$out" in $want) ;; *) fail "node $1: ${*:2}: got '$out', want '$want'" ;; esac
}

echo "1. one holder, 20 MiB: resolve and fetch on another node"
mkdir -p "$(R 1)/up$P"
head -c 20971520 /dev/urandom >"$(R 1)/up$P/big"
expect "flags=0" 1 note "$P/big" file
expect "state=FILE mode=100* size=20971520 nholders=1 self=0" 3 resolve "$P/big"
[ "$(stat -c %s "$(R 3)/remote$P/big")" = 20971520 ] || fail "placeholder size"
expect ok 3 fetch "$P/big"
cmp "$(R 1)/up$P/big" "$(R 3)/remote$P/big" || fail "fetched bytes differ"
expect "state=FILE * self=1" 1 resolve "$P/big"

echo "2. two holders, disjoint extent logs, over a PFS file"
printf 'pppppppppppppppppppppppp' >"$P/shared" # 24 bytes
mkdir -p "$(R 0)/up$P" "$(R 2)/up$P"
printf 'AAAAAAAAAAAAAAAAAAAA' >"$(R 0)/up$P/shared" # 20 bytes, wrote [0,6)
probe 0 log "$(R 0)/up$P/shared" BASE 0 0 && probe 0 log "$(R 0)/up$P/shared" WRITE 0 6 || fail log
printf 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' >"$(R 2)/up$P/shared" # 30 bytes, wrote [10,14) [24,30)
probe 2 log "$(R 2)/up$P/shared" BASE 0 0 && probe 2 log "$(R 2)/up$P/shared" WRITE 10 4 &&
    probe 2 log "$(R 2)/up$P/shared" WRITE 24 6 || fail log
expect "flags=0" 0 note "$P/shared" file
expect "flags=1" 2 note "$P/shared" file
for i in 0 2; do
    [ -f "$(R $i)/held$P/shared" ] && [ ! -e "$(R $i)/up$P/shared" ] || fail "node $i: not moved to held"
done
want=AAAAAAppppBBBBppppppppppBBBBBB
for i in 3 0; do
    expect ok $i fetch "$P/shared"
    [ "$(cat "$(R $i)/remote$P/shared")" = $want ] ||
        fail "node $i merged '$(cat "$(R $i)/remote$P/shared")', want $want"
done
expect "state=FILE mode=100* size=30 nholders=2 self=0" 1 resolve "$P/shared"

echo "3. unlink: GONE (the PFS has it) or NONE; holders drop their copies"
expect ok 3 unlink "$P/shared"
expect "state=GONE *" 1 resolve "$P/shared"
[ ! -e "$(R 0)/held$P/shared" ] && [ ! -e "$(R 2)/held$P/shared" ] || fail "holders kept copies"
[ ! -e "$(R 3)/remote$P/shared" ] || fail "unlinking node kept its remote copy"
expect ok 2 unlink "$P/big"
expect "state=NONE *" 3 resolve "$P/big"
[ ! -e "$(R 3)/remote$P/big" ] || fail "stale remote copy kept"
[ ! -e "$(R 1)/up$P/big" ] || fail "holder kept its copy"

echo "4. LISTDIR across 4 nodes"
mkdir -p "$P/d" && echo old >"$P/d/old"
for i in $(seq 0 $((N - 1))); do
    mkdir -p "$(R $i)/up$P/d"
    for k in 1 2 3 4 5; do
        printf "node %d file %d" $i $k >"$(R $i)/up$P/d/n$i.$k"
        expect "flags=0" $i note "$P/d/n$i.$k" file
    done
done
mkdir -p "$(R 2)/up$P/d/sub"
expect "flags=0" 2 note "$P/d/sub" dir
expect ok 1 unlink "$P/d/old"
mkdir -p "$(R 3)/remote$P/d" && touch "$(R 3)/remote$P/d/stale"
expect "count=22" 3 listdir "$P/d"
[ "$(ls "$(R 3)/remote$P/d" | grep -c '^n')" = 20 ] || fail "listing: $(ls "$(R 3)/remote$P/d")"
[ -d "$(R 3)/remote$P/d/sub" ] || fail "no sub dir"
[ -f "$(R 3)/remote$P/d/.ebt~wh~old" ] || fail "no whiteout for the removed PFS name"
[ ! -e "$(R 3)/remote$P/d/stale" ] || fail "stale entry kept"
[ "$(stat -c %s "$(R 3)/remote$P/d/n1.4")" = 13 ] || fail "placeholder size"
expect ok 3 fetch "$P/d/n1.4"
[ "$(cat "$(R 3)/remote$P/d/n1.4")" = "node 1 file 4" ] || fail "fetched n1.4"

echo "5. a dead owner: EIO at once, the log names the node"
victim=2
f=""
for k in $(seq 1 200); do
    [ "$("$MD_PROBE" - owner "$P/x$k" $N)" = $victim ] && { f="$P/x$k"; break; }
done
kill -9 "$(cat "$(R $victim)/ebtd.pid")"
sleep 0.2
s=$(date +%s%N)
expect "error=-5 *" 0 resolve "$f"
ms=$((($(date +%s%N) - s) / 1000000))
[ $ms -lt 5000 ] || fail "resolve with a dead owner took $ms ms"
grep -q "md: node $victim unreachable" "$(R 0)/ebt.log" || fail "no log line naming node $victim"
expect "error=-5 *" 0 listdir "$P/d"

echo PASS
