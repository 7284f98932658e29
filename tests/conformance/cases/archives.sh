# archives: tar x and cp -a of a tree with symlinks, hard links, modes and set times keep all of
# them; rsync -a where installed.
# conform: mtimes
O=$1 F=$2
mkdir -p "$F/src/a/b" "$F/src/empty"
echo one > "$F/src/a/one"; echo two > "$F/src/a/b/two"
ln "$F/src/a/one" "$F/src/a/one.hard"
ln -s b/two "$F/src/a/two.sym"; ln -s ../missing "$F/src/a/dangle"
chmod 0640 "$F/src/a/one"; chmod 0750 "$F/src/a/b"; chmod 4755 "$F/src/a/b/two"
touch -h -d '2020-01-02 03:04:05' "$F/src/a/two.sym"
touch -d '2021-05-06 07:08:09' "$F/src/a/one" "$F/src/a/b/two" "$F/src/a/b" "$F/src/empty" "$F/src/a"
touch -d "2021-05-06 07:08:09" "$F/src"
tar cf "$F/src.tar" -C "$F/src" .
mkdir "$O/x" && tar xf "$F/src.tar" -C "$O/x"
cp -a "$F/src" "$O/c"
if command -v rsync >/dev/null; then rsync -a "$F/src/" "$O/r/"; fi
find "$O" -newer "$F/src.tar" -name one -print | sed "s#$O#OUT#" | sort
