# unpreloaded: processes without the preload (a shell started without it, a static binary) write,
# read and list the job's files, and see what preloaded programs wrote.
O=$1
echo pre > "$O/pre"
env -u LD_PRELOAD bash -c 'mkdir "$1/d"; echo x > "$1/d/f"; [ -f "$1/d/f" ] && echo yes; cat "$1/pre"; echo more >> "$1/pre"' sh "$O"
cat "$O/d/f" "$O/pre"
if [ -x "$CONFORM_BIN_DIR/static_writer" ]; then
    "$CONFORM_BIN_DIR/static_writer" "$O/static.txt" "from a static binary"
    cat "$O/static.txt"
fi
env -u LD_PRELOAD ls "$O" "$O/d"
