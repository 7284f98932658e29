#!/bin/bash
# mn_selftest.sh - the multi-node harness's checks fail on wrong data (runs natively, no daemons):
# tree comparison, "PFS untouched before the flush", the EIO/hang check, and the visibility
# driver's close-mode expectations (native I/O is write-visible, so the consumer must fail).
set -euo pipefail
. "$(dirname "$0")/mn_lib.sh"
export EBT_TEST_NATIVE_ONLY=1
mn_init mn_selftest
unset EBT_TEST_NATIVE_ONLY # mn_check_cached must really check below
A=$T_TMP/A B=$T_TMP/B

must_fail() { # must_fail DESC CMD...: CMD (run in a subshell) must fail
    local d=$1
    shift
    if ("$@") >"$T_TMP/mf.out" 2>&1; then t_fail "check passed on wrong data: $d"; fi
    t_log "ok: fails on $d"
}
fill() { mkdir -p "$1/d" && printf 'abc\n' >"$1/d/f" && printf 'xyz' >"$1/g" && chmod 640 "$1/g"; }
reset() { rm -rf "$A" "$B" && mkdir "$A" "$B" && fill "$A" && fill "$B"; }

reset && mn_compare >/dev/null 2>&1 || t_fail "equal trees reported different"
reset && printf 'abd\n' >"$B/d/f" && must_fail "one changed byte" mn_compare
reset && rm "$B/g" && must_fail "a missing file" mn_compare
reset && chmod 600 "$B/g" && must_fail "a changed mode" mn_compare
reset && printf 'xyzw' >"$B/g" && must_fail "a longer file" mn_compare
reset && mkdir "$B/e" && must_fail "an extra directory" mn_compare
reset && touch "$B/d/.ebt~wh~x" "$A/d/.ebt~wh~x" && must_fail "a leaked .ebt~ name" mn_compare

reset && t_listing "$B" >"$T_TMP/pfs.before"
mn_check_cached >/dev/null 2>&1 || t_fail "an untouched PFS reported written"
echo new >"$B/new" && must_fail "a file written to the PFS before the flush" mn_check_cached

mn_expect_eio 5 "EIO" sh -c 'echo "cat: x: Input/output error" >&2; exit 1' 2>/dev/null
must_fail "a success instead of EIO" mn_expect_eio 5 "x" true
must_fail "ENOENT instead of EIO" mn_expect_eio 5 "x" cat "$T_TMP/nonexistent"
must_fail "a hang" mn_expect_eio 5 "x" timeout 1 sleep 10
must_fail "EIO too late" mn_expect_eio 0 "x" sh -c 'sleep 1.2; echo "Input/output error" >&2; exit 1'

V=$DRIVERS_DIR/mn_vis
for m in close task; do
    s=$T_TMP/sync.$m && mkdir -p "$s" "$T_TMP/v$m"
    "$V" produce "$m" "$T_TMP/v$m" "$s" >/dev/null 2>&1 &
    p=$!
    must_fail "native data visible before close ($m consumer)" "$V" consume "$m" "$T_TMP/v$m" "$s"
    wait "$p" || t_fail "native producer ($m) failed"
    must_fail "native file visible ($m check-hidden)" "$V" check-hidden "$m" "$T_TMP/v$m"
done
rm -f "$T_TMP/vclose/vis_close.dat" && echo short >"$T_TMP/vclose/vis_close.dat"
must_fail "wrong content (check-final)" "$V" check-final close "$T_TMP/vclose"
