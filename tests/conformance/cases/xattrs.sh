# xattrs: user extended attributes set by the job on its files (setfattr, Python os.setxattr),
# an empty value, one removed, a copy that keeps them (cp -a), a file made read-only after its
# attributes were set, getfattr of them in the job; the flush gives the PFS files the same.
O=$1
echo a >"$O/f"
setfattr -n user.color -v blue "$O/f"
setfattr -n user.empty "$O/f"
echo b >"$O/g"
setfattr -n user.tmp -v x "$O/g"
setfattr -n user.keep -v y "$O/g"
setfattr -x user.tmp "$O/g"
cp -a "$O/f" "$O/copy"
/usr/bin/python3 -c 'import os, sys
p = sys.argv[1]
open(p, "w").write("ro\n")
os.setxattr(p, "user.bin", bytes(range(16)))
os.chmod(p, 0o444)
print(sorted(os.listxattr(p)), os.getxattr(p, "user.bin").hex())' "$O/ro"
getfattr -d --absolute-names "$O/f" "$O/g" "$O/copy" 2>&1 | sed "s#$O#OUT#"
