#!/bin/bash
# mn_excl.sh MODE - O_EXCL creates and mkdirs are exclusive across nodes (issue 9 item 10): in
# each of 12 rounds, 6 racers (3 per node on 2 virtual nodes) start together and try to create
# the same file with O_CREAT|O_EXCL and make the same directory: exactly one of each must win, as
# natively, and all of them can `mkdir -p` one new tree at once and create a file in it (none
# lost: a racer that lost a mkdir removed nothing). Then the lock-file idiom across nodes: a name created with O_EXCL and renamed away
# (or removed) on one node can be created with O_EXCL again on the other.
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
MODE=${1:?usage: mn_excl.sh write|close}
mn_init "mn_excl_$MODE"
NODES=2
RACERS=6
ROUNDS=12
PY=/usr/bin/python3
[[ -x $PY ]] || mn_skip "no /usr/bin/python3"

# racer ID DIR SYNC: for each round, wait for SYNC/go.K, then race; one result line per try.
cat >"$T_TMP/racer.py" <<'PY'
import os, sys, time
rid, d, sync, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
out = open(os.path.join(sync, "res." + rid), "w")
deadline = time.time() + 60
for k in range(1, rounds + 1):
    go = os.path.join(sync, "go.%d" % k)
    while not os.path.exists(go):
        time.sleep(0.001)
        if time.time() > deadline:
            sys.exit("racer %s: no start signal for round %d (test gone?)" % (rid, k))
    try:
        os.close(os.open(os.path.join(d, "lock.%d" % k), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        out.write("file %d won\n" % k)
    except FileExistsError:
        out.write("file %d lost\n" % k)
    try:
        os.mkdir(os.path.join(d, "dir.%d" % k))
        out.write("dir %d won\n" % k)
    except FileExistsError:
        out.write("dir %d lost\n" % k)
    try:  # mkdir -p of one tree by everyone at once, then a file of each racer in it
        os.makedirs(os.path.join(d, "deep.%d" % k, "sub"), exist_ok=True)
        with open(os.path.join(d, "deep.%d" % k, "sub", "f." + rid), "w") as f:
            f.write(rid)
        out.write("deep %d ok\n" % k)
    except OSError as e:
        out.write("deep %d failed: %s\n" % (k, e))
    out.flush()
PY

job() {
    local d=$1/ex s=$T_TMP/sync.$MN_MODE r k pids=()
    rm -rf "$s" && mkdir -p "$s"
    on 0 mkdir "$d"
    for ((r = 0; r < RACERS; r++)); do
        on $((r % NODES)) "$PY" "$T_TMP/racer.py" "$r" "$d" "$s" "$ROUNDS" &
        pids+=($!)
    done
    sleep 1 # every racer is up and polling
    for ((k = 1; k <= ROUNDS; k++)); do
        : >"$s/go.$k"
        sleep 0.15
    done
    local bad=0
    for r in "${pids[@]}"; do wait "$r" || bad=1; done
    ((bad == 0)) || { t_log "a racer failed"; return 1; }
    local what n
    for ((k = 1; k <= ROUNDS; k++)); do
        for what in file dir; do
            n=$(cat "$s"/res.* | grep -cx "$what $k won" || true)
            ((n == 1)) || { t_log "round $k: $n racers made the $what ($MN_MODE)"; bad=1; }
        done
        n=$(cat "$s"/res.* | grep -cx "deep $k ok" || true)
        ((n == RACERS)) || { t_log "round $k: mkdir -p + create failed: $(grep -h "deep $k failed" "$s"/res.*)"; bad=1; }
        n=$(on 0 ls "$d/deep.$k/sub" | wc -l)
        ((n == RACERS)) || { t_log "round $k: node 0 sees $n of $RACERS files in the tree made by mkdir -p"; bad=1; }
    done
    ((bad == 0)) || return 1
    # the lock-file idiom: O_EXCL, then renamed into place or removed, on alternating nodes
    on 0 "$PY" -c 'import os,sys; fd = os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
os.write(fd, b"one\n"); os.rename(sys.argv[1], sys.argv[2]); os.close(fd)' "$d/L" "$d/F1" ||
        { t_log "node 0: first O_EXCL create of L failed"; return 1; }
    on 1 bash -c 'set -C; echo two >"$1" && mv "$1" "$2"' _ "$d/L" "$d/F2" ||
        { t_log "node 1: O_EXCL create of L after node 0 renamed it away failed"; return 1; }
    on 0 bash -c 'set -C; echo three >"$1" && rm "$1"' _ "$d/L" ||
        { t_log "node 0: O_EXCL create of L after node 1 renamed it away failed"; return 1; }
    on 1 bash -c 'set -C; echo four >"$1"' _ "$d/L" ||
        { t_log "node 1: O_EXCL create of L after node 0 removed it failed"; return 1; }
    if on 0 bash -c 'set -C; echo five >"$1"' _ "$d/L" 2>/dev/null; then
        t_log "node 0: O_EXCL create of L that node 1 holds succeeded"
        return 1
    fi
}

mn_native job
mn_start "$NODES" --visibility "$MODE"
mn_job job || t_fail "O_EXCL or mkdir was not exclusive across nodes (visibility $MODE)"
mn_flush 1
mn_stop
mn_compare
