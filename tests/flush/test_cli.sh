# test_cli.sh - bad input to ebt gives a clear one-line message and a non-zero exit.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P" "$C"; : > "$W/afile"

# expect_err EXIT_CODE PATTERN CMD...: run, check exit status and a stderr message
expect_err() {
    local want=$1 pat=$2; shift 2
    set +e; "$@" > "$W/out" 2> "$W/err"; local rc=$?; set -e
    [ $rc -eq "$want" ] || { cat "$W/err"; fail "'$*' exited $rc, want $want"; }
    grep -q -- "$pat" "$W/err" || { cat "$W/err"; fail "'$*': no message matching '$pat'"; }
    ok "$* -> $rc: $(head -n1 "$W/err")"
}
expect_err 2 "unknown option" "$EBT" run --bogus --pfs "$P" -- true
expect_err 2 "no --pfs" "$EBT" run --cache "$C" -- true
expect_err 2 "$W/missing: No such file" "$EBT" run --pfs "$W/missing" -- true
expect_err 2 "not a directory" "$EBT" run --pfs "$W/afile" -- true
expect_err 2 "needs a value" "$EBT" run --pfs
expect_err 2 "no command" "$EBT" run --pfs "$P" --cache "$C"
expect_err 2 "unknown mode" "$EBT" run --pfs "$P" --visibility sometimes -- true
expect_err 2 "not a size" "$EBT" run --pfs "$P" --cache-bytes lots -- true
expect_err 2 "cache.*No such file" "$EBT" run --pfs "$P" --cache "$W/nocache" -- true
expect_err 2 "client library" env EBT_LIB="$W/nolib.so" "$EBT" run --pfs "$P" --cache "$C" -- true
expect_err 2 "daemon" env EBT_DAEMON="$W/noebtd" "$EBT" run --pfs "$P" --cache "$C" -- true
expect_err 2 "unknown command" "$EBT" frobnicate
expect_err 2 "no run directory" env -u EBT_RUN_DIR "$EBT" flush
expect_err 2 "not an EBT run directory" "$EBT" flush --run-dir "$W"
expect_err 2 "not valid here" "$EBT" stop --pfs "$P"
expect_err 2 "unexpected argument" "$EBT" stat --run-dir "$W" extra

# permissions: root bypasses them, so drop capabilities for these two
mkdir -p "$W/ro_pfs" "$W/ro_cache"; chmod 0555 "$W/ro_pfs" "$W/ro_cache"
expect_err 2 "not writable" drop_caps "$EBT" run --pfs "$W/ro_pfs" --cache "$C" -- true
expect_err 2 "cannot create a run directory" \
    drop_caps "$EBT" run --pfs "$P" --cache "$W/ro_cache" -- true
[ -z "$(ls -A "$C")" ] || fail "a failed start left run directories in $C"

"$EBT" --help | grep -q "usage: ebt" || fail "--help"
"$EBT" help run | grep -q -- "--keep-cache" || fail "help run"
"$EBT" run --help | grep -q -- "--cache-bytes" || fail "run --help"
"$EBT" --version | grep -q "^ebt [0-9]" || fail "--version"
ok "help and version"

# a bad EBT_FUSE is refused before anything starts: exit 2, the reason on stderr, no run directory
mkdir -p "$W/fusepfs" "$W/fusecache"
set +e
EBT_FUSE=sometimes "$EBT" run --pfs "$W/fusepfs" --cache "$W/fusecache" -- true 2> "$W/fuse.err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "bad EBT_FUSE: exit $rc, expected 2"
grep -q "EBT_FUSE='sometimes': must be auto, on or off" "$W/fuse.err" || { cat "$W/fuse.err"; fail "bad EBT_FUSE: no reason"; }
[ -z "$(ls -A "$W/fusecache")" ] || fail "bad EBT_FUSE left a run directory"
ok "bad EBT_FUSE: exit 2 with the reason, nothing started"
