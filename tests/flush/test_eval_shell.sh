# test_eval_shell.sh - the shell that ran `eval "$(ebt start)"` is not preloaded itself (only
# its children are): its builtins (redirections, `>>`, `read`, `[ -f ]`, `cd`, globs, here
# documents, `printf -v`) and its children's calls must see one namespace, in every visibility
# mode, as natively (issue 8: before the FUSE view, `mkdir D/d; echo x > D/d/f` failed there).
# Each mode's output and final PFS tree are compared with the same script run natively.
source "$TESTS_DIR/lib.sh"

# script DIR: a job script's habits, written for bash and run in the shell that started EBT
script() {
    local d=$1 line n=0 f
    mkdir "$d/d"                       # a child (preloaded)
    echo x >"$d/d/f"                   # the shell itself, into the child's directory
    echo y >>"$d/d/f"
    printf '%s\n' one two >"$d/d/g"
    cat "$d/d/f"                       # a child reads the shell's file
    while IFS= read -r line; do n=$((n + 1)); done <"$d/d/g"
    echo "read $n lines"
    [ -f "$d/d/g" ] && [ -d "$d/d" ] && [ ! -e "$d/d/none" ] && echo "tests ok"
    (cd "$d/d" && echo in-subshell >sub && pwd | sed "s#$d#D#")
    cd "$d/d"
    echo cwd >here
    cd - >/dev/null
    for f in "$d"/d/*; do echo "glob ${f#"$d"/}"; done
    cat >"$d/d/heredoc" <<EOF
line $n
EOF
    mv "$d/d/heredoc" "$d/d/moved"     # a child renames the shell's file
    rm "$d/d/g"
    echo again >"$d/d/g"               # the shell re-creates a removed name
    exec 7>"$d/d/fd7"
    echo seven >&7
    exec 7>&-
    wc -c <"$d/d/fd7"
    ls "$d/d"
}

tree() { (cd "$1" && find . -mindepth 1 -printf '%P %y %m %s\n' | LC_ALL=C sort &&
    find . -type f -printf '%P\n' | LC_ALL=C sort | while read -r f; do echo "$f $(md5sum <"$f")"; done); }

mkdir -p "$W/native"
(script "$W/native") >"$W/native.out" 2>&1 || fail "the native run failed: $(cat "$W/native.out")"
for mode in write close task; do
    P=$W/pfs.$mode C=$W/cache.$mode
    mkdir -p "$P" "$C"
    (
        eval "$("$EBT" start --pfs "$P" --cache "$C" --visibility "$mode")"
        script "$P" >"$W/$mode.out" 2>&1 || { echo "script exit $?" >>"$W/$mode.out"; }
        "$EBT" stop 2>"$W/$mode.stop" || { cat "$W/$mode.stop"; exit 1; }
    ) || fail "$mode: ebt start/stop failed"
    sed -i "s#$P#$W/native#g" "$W/$mode.out"
    diff -u "$W/native.out" "$W/$mode.out" || fail "$mode: the shell's output differs from native"
    diff -u <(tree "$W/native") <(tree "$P") || fail "$mode: the PFS tree differs from native"
    ok "$mode: the eval'd shell's builtins and children agree, and the PFS equals native"
done
