# links: symlinks (relative, absolute, dangling, to directories) and hard links made in the job,
# followed and read back; tar c of the tree; readlink; a write through a link.
# conform: ignore ^t\.tar$
O=$1
mkdir -p "$O/d/sub"
echo data > "$O/d/file"
ln -s file "$O/d/rel"
ln -s "$O/d/file" "$O/abs"
ln -s nowhere "$O/dangling"
ln -s sub "$O/d/dirlink"
ln "$O/d/file" "$O/d/hard"
echo more >> "$O/d/rel"
cat "$O/d/file" "$O/d/hard" "$O/abs"
readlink "$O/d/rel" "$O/dangling"
stat -c '%h %F' "$O/d/file" "$O/d/rel"
touch "$O/d/dirlink/viaLink"
ls "$O/d/sub"
tar cf "$O/t.tar" -C "$O" d && tar tvf "$O/t.tar" | awk '{print $1, $6, $7, $8}' | sort
# stat() (not statx) through links of the job, as Python's os.stat and its search of PATH for
# a program do: a chain of relative links ending in an absolute link to a program outside
ln -s /bin/true "$O/d/prog3" && ln -s prog3 "$O/d/prog"
/usr/bin/python3 -c 'import os, stat, sys
for p in sys.argv[1:]:
    s, l = os.stat(p), os.lstat(p)
    print(os.path.basename(p), stat.filemode(s.st_mode), stat.S_ISLNK(l.st_mode), os.access(p, os.X_OK))' \
    "$O/d/prog" "$O/d/rel" "$O/d/dirlink" "$O/abs"
PATH=$O/d:$PATH prog && echo "prog found on PATH"
