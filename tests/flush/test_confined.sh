# test_confined.sh - the flush never leaves the managed tree through a symlink on the PFS: a job
# that replaces a symlink to an outside directory by a directory of its own (rm -rf; mkdir) gets
# its directory on the PFS and the outside directory is untouched; a symlink that appears on the
# PFS where the cache has a directory stops the flush with an error instead of being followed.
source "$TESTS_DIR/lib.sh"

# outside_ok: the directory the symlink points to still holds exactly what it held
outside_ok() {
    [ "$(cd "$W/outside" && find . | sort | tr '\n' ' ')" = ". ./keep ./sub ./sub/deep " ] ||
        fail "$1: the flush changed the outside directory: $(cd "$W/outside" && find . | sort)"
    [ "$(cat "$W/outside/keep")" = precious ] || fail "$1: outside/keep overwritten"
}
fresh_pfs() {
    rm -rf "$W/pfs" "$W/outside"
    mkdir -p "$W/pfs" "$W/outside/sub" "$W/cache"
    echo precious > "$W/outside/keep"; echo deep > "$W/outside/sub/deep"
    ln -s "$W/outside" "$W/pfs/link"
}

# 1. a real job, with the FUSE view and without it, in every visibility mode
for fuse in auto off; do
    for vis in close write task; do
        fresh_pfs
        EBT_FUSE=$fuse "$EBT" run --pfs "$W/pfs" --cache "$W/cache" --visibility "$vis" -- \
            sh -c "rm -rf '$W/pfs/link' && mkdir '$W/pfs/link' && echo x > '$W/pfs/link/x'" \
            2> "$W/err" || { cat "$W/err"; fail "job failed (EBT_FUSE=$fuse $vis)"; }
        outside_ok "EBT_FUSE=$fuse $vis"
        [ -d "$W/pfs/link" ] && [ ! -L "$W/pfs/link" ] || fail "$fuse $vis: link is not a directory"
        [ "$(cat "$W/pfs/link/x")" = x ] || fail "$fuse $vis: link/x missing"
        ok "EBT_FUSE=$fuse $vis: the symlink was replaced by the job's directory; outside untouched"
    done
done

# 2. offline flush of a cache whose directory is a symlink to outside on the PFS by now
fresh_pfs
RUN=$(mkrun "$W/pfs"); U=$(up "$RUN" "$W/pfs")
mkdir -p "$U/link/sub"
put "$U/link/keep" "overwritten?"; put "$U/link/sub/new" "new"
rc=0; "$EBT" flush --run-dir "$RUN" 2> "$W/err" || rc=$?
[ "$rc" = 4 ] || { cat "$W/err"; fail "flush through a PFS symlink: exit $rc, want 4"; }
grep -q "link" "$W/err" || { cat "$W/err"; fail "the error does not name the path"; }
outside_ok "offline flush"
[ -L "$W/pfs/link" ] || fail "the PFS symlink was removed"
ok "a symlink on the PFS where the cache has a directory: flush refused (exit 4), outside untouched"

# 3. a whited-out symlink is removed as a symlink; an opaque directory over one replaces it
fresh_pfs
ln -s "$W/outside" "$W/pfs/link2"
RUN=$(mkrun "$W/pfs"); U=$(up "$RUN" "$W/pfs")
mkdir -p "$U"; : > "$U/.ebt~wh~link2"
mkdir -p "$U/link"; : > "$U/link/.ebt~opaque"; put "$U/link/y" y
"$EBT" flush --run-dir "$RUN" 2> "$W/err" || { cat "$W/err"; fail "flush failed"; }
outside_ok "whiteout/opaque"
[ ! -e "$W/pfs/link2" ] && [ ! -L "$W/pfs/link2" ] || fail "whited-out symlink still there"
[ -d "$W/pfs/link" ] && [ ! -L "$W/pfs/link" ] && [ "$(cat "$W/pfs/link/y")" = y ] ||
    fail "opaque directory over a symlink"
ok "whiteout removes a symlink, an opaque directory replaces one; outside untouched"
