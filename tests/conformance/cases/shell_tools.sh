# shell_tools: ordinary tools on the job's files: split, sort -o, awk, tee -a, install -D,
# touch -d and -r (times a program sets on a file another process just wrote), ln -sfn, truncate,
# dd conv=notrunc, zip/unzip, gzip/bzip2/zstd/lz4 -k, sed -i, diff and patch -R, mv of a
# directory and into it, find -newer, du, ls -l, rm -r, rmdir of a non-empty directory.

O=$1 F=$2
mkdir -p "$O/a/b/c"
seq 1 2000 >"$O/a/nums"
split -l 500 "$O/a/nums" "$O/a/part."
cat "$O"/a/part.* | md5sum
sort -r -o "$O/a/rev" "$O/a/nums"
awk '{s += $1} END {print s}' "$O/a/nums" >"$O/a/sum"
tee -a "$O/a/log" <"$O/a/sum" >/dev/null; tee -a "$O/a/log" <"$O/a/sum" >/dev/null
install -m 0750 -D "$O/a/sum" "$O/inst/bin/sum"
touch -d '2020-03-04 05:06:07' "$O/a/sum"
touch -r "$O/a/sum" "$O/a/rev"; stat -c %Y "$O/a/sum" "$O/a/rev"
ln -sf nums "$O/a/link"; ln -sfn rev "$O/a/link"
readlink "$O/a/link"
truncate -s 10000 "$O/a/sparse"; truncate -s 100 "$O/a/sparse"
dd if=/dev/zero of="$O/a/dd" bs=4k count=3 seek=2 conv=notrunc status=none
dd if="$O/a/nums" of="$O/a/dd" bs=1 count=10 seek=1 conv=notrunc status=none
stat -c '%s %b' "$O/a/dd" "$O/a/sparse" | awk '{print $1}'
touch -d '2021-01-01 00:00:00' "$O/a/nums" "$O/a/rev" "$O/a/log"
(cd "$O/a" && zip -q -X ../z.zip nums rev && unzip -q -o -d ../unz ../z.zip)
gzip -k "$O/a/nums"; bzip2 -k "$O/a/rev"; zstd -q "$O/a/sum" -o "$O/a/sum.zst"; lz4 -q "$O/a/log" "$O/a/log.lz4"
zstd -dc "$O/a/sum.zst"; lz4 -dc "$O/a/log.lz4" | wc -l
cp "$O/a/nums" "$O/a/nums.orig"; sed -i '5s/.*/five/' "$O/a/nums"
diff -u --label a --label b "$O/a/nums.orig" "$O/a/nums" >"$O/a/p.diff" || true
patch -s -R "$O/a/nums" <"$O/a/p.diff" && cmp "$O/a/nums" "$O/a/nums.orig" && echo patched back
mv "$O/a/b" "$O/moved"; mv "$O/a/part.aa" "$O/moved/c/"
find "$O" -newer "$O/a/sum" -name 'part.*' | sed "s#$O#OUT#" | sort
du -s --apparent-size "$O/a/nums" | awk '{print $1}'
ls -l --time-style=+%s "$O/a" | awk 'NR > 1 {print $1, $2, $5, $7}' | sort -k4
cd "$O/moved" && ls -R | head -5
rm -r "$O/unz"; rmdir "$O/moved/c" 2>&1 | sed "s#$O#OUT#"
echo done
