# test_stdio_order.sh - a program's redirected stdout and stderr (stdio streams EBT turns into
# cookie streams, docs/semantics.md "Capacity") keep the byte order of a native run where it
# depends on stdio's buffering: printf mixed with write(2), stderr unbuffered, a large fwrite;
# also appended (>>), with both streams in one file (2>&1), and a file the program fopen()s
# (fprintf mixed with write(fileno)), in every visibility mode.
source "$TESTS_DIR/lib.sh"
MIX=$DRIVERS/stdio_mix
[ -x "$MIX" ] || fail "driver missing: $MIX"
job() { # DIR
    "$MIX" "$1/fopened" > "$1/out" 2> "$1/err" && "$MIX" >> "$1/out" 2>> "$1/err" &&
        "$MIX" > "$1/both" 2>&1
}
export MIX; export -f job
mkdir -p "$W/native"; job "$W/native"
for mode in close write task; do
    P=$W/pfs.$mode; mkdir -p "$P" "$W/c.$mode"
    "$EBT" run --pfs "$P" --cache "$W/c.$mode" --visibility $mode -- bash -c 'job "$1"' _ "$(realpath "$P")" \
        2> "$W/runerr" || { cat "$W/runerr"; fail "$mode: job failed"; }
    for f in out err both fopened; do cmp "$W/native/$f" "$P/$f" || fail "$mode: $f differs from the native run"; done
done
ok "stdout/stderr byte order as natively (printf + write, >>, 2>&1) in close, write and task modes"
