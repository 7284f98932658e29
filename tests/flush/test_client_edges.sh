# test_client_edges.sh - the client without a daemon or run directory passes through (and says so once per job);
# calls EBT cannot honour on managed paths get a clear errno, a single log line, no PFS write.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; R=$W/run; C=$W/cache
mkdir -p "$P" "$R"

# 1. no daemon and no run directory layout at $EBT_RUN_DIR (the job ended): pass-through, one
# message for the whole job (with the layout, test_daemon_died: the cache goes on)
EBT_RUN_DIR=$R EBT_PATHS=$P LD_PRELOAD=$EBT_TEST_LIB sh -c \
    'echo direct > "$0/a.txt"; echo again > "$0/b.txt"; cat "$0/a.txt" > /dev/null' "$P" \
    2> "$W/err"
[ "$(cat "$P/a.txt")" = direct ] && [ "$(cat "$P/b.txt")" = again ] ||
    fail "without a daemon the writes did not pass through to the file system"
[ "$(grep -c "passes through to the file system" "$W/err")" = 1 ] ||
    { cat "$W/err"; fail "expected exactly one 'passes through to the file system' message"; }
ok "no daemon: I/O passes through, one message for 3 processes"

# 2. preload-only mode (EBT_FUSE=off): calls the client does not do itself on managed paths are
# ENOTSUP, logged once, nothing on the PFS
rm -rf "$P"/*
mkdir -p "$C"
cat > "$W/job.py" <<'PY'
import errno, os, sys
pfs = sys.argv[1]
open(os.path.join(pfs, "target"), "w").write("t")
for name in ("l1", "l2"):
    try:
        os.symlink("target", os.path.join(pfs, name))
        sys.exit("symlink in a managed tree succeeded")
    except OSError as e:
        if e.errno != errno.ENOTSUP:
            sys.exit(f"symlink: {e}")
try:
    os.setxattr(os.path.join(pfs, "target"), "user.x", b"1")
    sys.exit("setxattr on a managed file succeeded")
except OSError as e:
    if e.errno != errno.ENOTSUP:
        sys.exit(f"setxattr: {e}")
PY
EBT_FUSE=off PFS=$(realpath "$P") "$EBT" run --pfs "$P" --cache "$C" --keep-cache -- \
    /usr/bin/python3 "$W/job.py" "$(realpath "$P")" 2> "$W/err" || { cat "$W/err"; fail "job"; }
[ ! -e "$P/l1" ] && [ ! -L "$P/l1" ] || fail "a symlink reached the PFS"
[ "$(cat "$P/target")" = t ] || fail "the regular file did not reach the PFS"
log=$(ls "$C"/ebt.*/ebt.log)
[ "$(grep -c "symlink creation in managed trees is not supported" "$log")" = 1 ] ||
    fail "symlink refusal not logged exactly once"
grep -q "extended attribute changes on managed paths are not supported" "$log" ||
    fail "setxattr refusal not logged"
ok "symlink and setxattr on managed paths: ENOTSUP, logged once, nothing written to the PFS"

# 3. with the FUSE view (the default where FUSE works) the same calls reach the view: symlinks
# are made, followed, and flushed as symlinks; xattrs are set on the job's copy
rm -rf "$P"/* "$C"/*
cat > "$W/job3.py" <<'PY'
import os, sys
pfs = sys.argv[1]
open(os.path.join(pfs, "target"), "w").write("t")
os.symlink("target", os.path.join(pfs, "l1"))
assert os.readlink(os.path.join(pfs, "l1")) == "target"
os.setxattr(os.path.join(pfs, "target"), "user.x", b"1")
assert os.getxattr(os.path.join(pfs, "target"), "user.x") == b"1"
PY
if [ -e /dev/fuse ]; then
    "$EBT" run --pfs "$P" --cache "$C" -- /usr/bin/python3 "$W/job3.py" "$(realpath "$P")" \
        2> "$W/err" || { cat "$W/err"; fail "job with the FUSE view"; }
    [ "$(readlink "$P/l1")" = target ] || fail "the symlink did not reach the PFS as a symlink"
    [ "$(cat "$P/target")" = t ] || fail "the regular file did not reach the PFS"
    ok "with the FUSE view: symlink and setxattr work on managed paths; the symlink is flushed"
else
    echo "skip: no /dev/fuse: the FUSE view case was not run"
fi
