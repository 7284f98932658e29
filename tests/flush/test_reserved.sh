# test_reserved.sh - names beginning with ".ebt~" (EBT's whiteout and opaque markers in the
# cache) cannot be made by the job in managed directories: open(O_CREAT), mkdir and rename to
# such a name fail with EINVAL, through the preload client and through the FUSE view (a process
# without the preload), in every visibility mode; reading one gives ENOENT. EBT's xattrs
# (user.ebt.*) are neither set by the job nor shown to it, nor flushed. Before, the job's
# ".ebt~opaque" made the flush empty the PFS directory (exit 0).
source "$TESTS_DIR/lib.sh"
cat > "$W/job.sh" <<'JOB'
d=$PFS; n=0
try() { if "$@" 2>/dev/null; then echo "made: $*"; n=$((n + 1)); fi; }
try sh -c "echo x > '$d/.ebt~opaque'"
try mkdir "$d/sub/.ebt~opaque"
try sh -c "echo x > '$d/sub/.ebt~wh~v2'"
echo z > "$d/tmp"
try mv "$d/tmp" "$d/.ebt~wh~victim"
if grep -q " $d fuse" /proc/mounts; then # (without a view such a process is not EBT's)
    try env -u LD_PRELOAD sh -c "echo y > '$d/sub/.ebt~opaque'"
    try env -u LD_PRELOAD mkdir "$d/.ebt~wh~victim"
fi
try cat "$d/.ebt~opaque"
echo x > "$d/xf"
try setfattr -n user.ebt.placeholder -v 1 "$d/xf"  # EBT's own attributes: not the job's to set
[ -z "$(getfattr -d -m 'user\.ebt\.' "$d/xf" 2>/dev/null)" ] || { echo "EBT's xattrs shown"; n=1; }
[ "$(cat "$d/victim")" = keep ] && [ "$(cat "$d/sub/v2")" = k2 ] || { echo "victims gone in the job"; n=1; }
exit $n
JOB
for fuse in auto off; do
    for mode in write close task; do
        P=$W/pfs.$fuse.$mode; C=$W/cache.$fuse.$mode
        mkdir -p "$P/sub" "$C"; echo keep > "$P/victim"; echo k2 > "$P/sub/v2"
        EBT_FUSE=$fuse PFS=$(realpath "$P") "$EBT" run --pfs "$P" --cache "$C" --visibility $mode \
            -- sh "$W/job.sh" > "$W/out" 2> "$W/err" || { cat "$W/out" "$W/err"; fail "$fuse/$mode: a reserved name was made"; }
        [ "$(cat "$P/victim")" = keep ] && [ "$(cat "$P/sub/v2")" = k2 ] || fail "$fuse/$mode: PFS files removed by the flush"
        [ "$(cat "$P/tmp")" = z ] || fail "$fuse/$mode: the refused rename lost its source"
        [ -z "$(find "$P" -name '.ebt~*')" ] || fail "$fuse/$mode: a reserved name reached the PFS"
        [ -z "$(getfattr -d -m 'user\.ebt\.' "$P/xf")" ] || fail "$fuse/$mode: an EBT xattr reached the PFS"
    done
    ok "EBT_FUSE=$fuse: every way to make a .ebt~ name refused (EINVAL), the PFS intact, in write/close/task"
done
