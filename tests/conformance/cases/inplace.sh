# inplace: editors' in-place rewrites and temporary files made inside glibc (mkstemp, mkdtemp,
# rename over the original): sed -i, perl -i, sort -o, gzip and xz in place, mktemp.
O=$1
printf 'b\na\nc\n' > "$O/f"
sed -i 's/a/A/' "$O/f"
perl -pi -e 's/b/B/' "$O/f"
sort -o "$O/f" "$O/f"
cat "$O/f"
seq 1 2000 > "$O/g"; gzip -n "$O/g"; gzip -t "$O/g.gz" && echo gz-ok
seq 1 2000 > "$O/h"; xz "$O/h"; xz -dc "$O/h.xz" | tail -1
t=$(mktemp -p "$O" tmp.XXXXXX); echo t > "$t"; mv "$t" "$O/fromtemp"
d=$(mktemp -d -p "$O" dir.XXXXXX); echo in > "$d/x"; mv "$d" "$O/tempdir"
sort -T "$O" -S 1K "$O/fromtemp" "$O/f" > "$O/sorted"
cat "$O/sorted" "$O/tempdir/x"
