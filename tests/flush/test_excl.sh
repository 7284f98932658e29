# test_excl.sh - O_CREAT|O_EXCL on one node, in every visibility mode: of 8 processes racing to
# create one name (10 rounds), exactly one wins, as natively (close mode gave each its private
# stage: all won); a name created with O_EXCL and renamed while open is gone from its old place;
# the PFS gets what the winners wrote.
source "$TESTS_DIR/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: no /usr/bin/python3"; exit 0; }
cat > "$W/racer.py" <<'PY'
import os, sys, time
rid, d, sync, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
out = open(os.path.join(sync, "res." + rid), "w")
deadline = time.time() + 60
for k in range(1, rounds + 1):
    while not os.path.exists(os.path.join(sync, "go.%d" % k)):
        time.sleep(0.001)
        if time.time() > deadline:
            sys.exit("racer %s: no start signal for round %d (test gone?)" % (rid, k))
    try:
        fd = os.open(os.path.join(d, "lock.%d" % k), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.write(fd, b"winner %s\n" % rid.encode())
        os.close(fd)
        out.write("%d won\n" % k)
    except FileExistsError:
        out.write("%d lost\n" % k)
    out.flush()
PY
cat > "$W/job.sh" <<'JOB'
set -eu
for r in 1 2 3 4 5 6 7 8; do "$PY" "$W/racer.py" $r "$D" "$S" 10 & done
sleep 0.5
for k in $(seq 1 10); do : > "$S/go.$k"; sleep 0.1; done
wait
"$PY" - "$D" <<'PY'
import os, sys
d = sys.argv[1]
fd = os.open(d + "/L", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
os.write(fd, b"moved\n")
os.rename(d + "/L", d + "/F")
assert not os.path.exists(d + "/L"), "L still there after the rename"
os.close(fd)
fd = os.open(d + "/L", os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # the name is free again
os.close(fd)
os.unlink(d + "/L")
PY
JOB
for mode in write close task; do
    P=$W/pfs.$mode; S=$W/sync.$mode; mkdir -p "$P" "$S" "$W/cache.$mode"
    PY=$PY W=$W D=$(realpath "$P") S=$S "$EBT" run --pfs "$P" --cache "$W/cache.$mode" \
        --visibility $mode -- bash "$W/job.sh" 2> "$W/err" || { cat "$W/err"; fail "$mode: job failed"; }
    for k in $(seq 1 10); do
        n=$(cat "$S"/res.* | grep -cx "$k won" || true)
        [ "$n" = 1 ] || fail "$mode: round $k: $n of 8 O_EXCL creates succeeded"
        grep -qx "winner [1-8]" "$P/lock.$k" || fail "$mode: lock.$k on the PFS: $(cat "$P/lock.$k")"
    done
    [ "$(cat "$P/F")" = moved ] || fail "$mode: F"
    [ ! -e "$P/L" ] || fail "$mode: L reached the PFS"
    [ "$(stat -c %a "$P/F")" = 640 ] || fail "$mode: F mode $(stat -c %a "$P/F")"
    ok "$mode: one winner of 8 in each of 10 O_EXCL races; O_EXCL name renamed while open"
done
