# test_load.sh - load on one node (issue 9's acceptance): 64 processes N-N (4 files each) and 64
# processes N-1 (strided blocks of one shared file, holes while it grows) under `ebt run` in
# each visibility mode, REPS times (default 2; `REPS=20` by hand). Each run is compared with the
# same drivers run natively, byte for byte; the bytes that differ are counted and printed as
# "bytes lost" (the goal, and the test's condition, is 0).
source "$TESTS_DIR/lib.sh"
REPS=${REPS:-2}
NPROC=${NPROC:-64}
BLOCK=65536 NBLOCKS=8 FILES=4 FSIZE=65536
N1=$DRIVERS/n1_writer NN=$DRIVERS/nn_writer
[ -x "$N1" ] && [ -x "$NN" ] || fail "drivers missing in $DRIVERS"

workload() { # DIR
    mkdir -p "$1/nn"
    "$N1" "$1/n1.dat" "$NPROC" "$BLOCK" "$NBLOCKS" >/dev/null &&
        "$NN" "$1/nn" "$NPROC" "$FILES" "$FSIZE" >/dev/null
}
# lost A B: bytes of A's files that B does not have the same (missing files count whole)
lost() {
    local n=0 f d
    while IFS= read -r f; do
        if [ ! -f "$2/$f" ]; then
            n=$((n + $(stat -c %s "$1/$f")))
        else
            d=$(cmp -l "$1/$f" "$2/$f" 2>/dev/null | wc -l)
            n=$((n + d + ($(stat -c %s "$1/$f") > $(stat -c %s "$2/$f") ?
                $(stat -c %s "$1/$f") - $(stat -c %s "$2/$f") : 0)))
        fi
    done < <(cd "$1" && find . -type f | sort)
    echo "$n"
}

mkdir -p "$W/A"
workload "$W/A" || fail "the native run failed"
total=$(du -sb "$W/A" | cut -f1)
export N1 NN NPROC BLOCK NBLOCKS FILES FSIZE
export -f workload
start=$(date +%s)
for mode in write close task; do
    for r in $(seq 1 "$REPS"); do
        P=$W/pfs.$mode.$r
        mkdir -p "$P" "$W/cache.$mode.$r"
        "$EBT" run --pfs "$P" --cache "$W/cache.$mode.$r" --visibility $mode -- \
            bash -c 'workload "$1"' _ "$(realpath "$P")" > "$W/out" 2>&1 ||
            { cat "$W/out"; fail "$mode rep $r: the job failed"; }
        n=$(lost "$W/A" "$P")
        [ "$n" = 0 ] || fail "$mode rep $r: $n bytes lost of $total"
        "$N1" --check "$P/n1.dat" "$NPROC" "$BLOCK" "$NBLOCKS" >/dev/null ||
            fail "$mode rep $r: n1.dat wrong on the PFS"
        rm -rf "$P" "$W/cache.$mode.$r"
    done
    ok "$mode: $REPS runs of $NPROC processes N-N and N-1 ($total bytes each): bytes lost 0"
done
echo "load: $((3 * REPS)) runs in $(($(date +%s) - start)) s"
