# test_second_user.sh - a second user on the node cannot reach a job's daemon or its cached data
# (issue 9's acceptance): root's job writes a 0600 file and a 0644 file; user nobody then tries
# the daemon's socket, the run directory's cache files, the managed path (FUSE view or not), the
# preloaded client pointed at root's run directory, and writing into root's job. Nothing of the
# 0600 file's content may be read, nothing of nobody's may land in root's cache or on the PFS.
source "$TESTS_DIR/lib.sh"
[ "$(id -u)" = 0 ] || { echo "skip: needs root to have a second user"; exit 0; }
U2=65534
as_user() { setpriv --reuid=$U2 --regid=$U2 --clear-groups "$@"; }
chmod 0755 "$W"
P=$W/pfs; C=$W/cache; mkdir -p "$P" "$C"; chmod 0755 "$P"; chmod 1777 "$C"
eval "$("$EBT" start --pfs "$P" --cache "$C")"
RUN=$EBT_RUN_DIR
LD_PRELOAD=$EBT_LIB sh -c "umask 077; echo TOPSECRET > '$P/secret'; umask 022; echo hello > '$P/public'"
grep -rq TOPSECRET "$RUN" 2>/dev/null || fail "the job's file is not in the cache: EBT not engaged"

# 1. the daemon's socket
as_user /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except PermissionError:
    sys.exit(0)
print("connected to", sys.argv[1]); sys.exit(1)' "$RUN/ebtd.sock" || fail "nobody connected to ebtd"
# 2. the cache files, by any path nobody can name
for f in $(find "$RUN" -type f | head -50); do
    as_user cat "$f" > /dev/null 2>&1 && fail "nobody read $f"
done
as_user ls "$RUN" > /dev/null 2>&1 && fail "nobody listed the run directory"
# 3. the managed path itself (the FUSE view when mounted)
out=$(as_user cat "$P/secret" 2>/dev/null || true)
[ "$out" != TOPSECRET ] || fail "nobody read the 0600 file through the managed path"
# 4. the preloaded client pointed at root's run directory: no data, nothing written into it
out=$(as_user env LD_PRELOAD="$EBT_LIB" EBT_RUN_DIR="$RUN" EBT_PATHS="$P" cat "$P/secret" 2>/dev/null || true)
[ "$out" != TOPSECRET ] || fail "nobody read the 0600 file through the client"
as_user env LD_PRELOAD="$EBT_LIB" EBT_RUN_DIR="$RUN" EBT_PATHS="$P" sh -c "echo INJECTED > '$P/injected'" \
    2>/dev/null || true
grep -rq INJECTED "$RUN" 2>/dev/null && fail "nobody's write landed in root's cache"
"$EBT" stop --run-dir "$RUN" > /dev/null 2>&1 || fail "root's ebt stop failed"
[ "$(cat "$P/secret")" = TOPSECRET ] && [ "$(stat -c %a "$P/secret")" = 600 ] || fail "secret on the PFS"
[ "$(cat "$P/public")" = hello ] || fail "public on the PFS"
[ ! -e "$P/injected" ] || fail "nobody's file reached root's 0755 PFS directory (natively: EACCES)"
ok "nobody could not reach ebtd, the cache, the 0600 file or root's job; the job's files are exact"
