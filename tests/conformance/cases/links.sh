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
