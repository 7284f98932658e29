# removed_open: files the shell holds open for reading and writing (not appending) while another
# process removes or renames their names; the shell writes on, then closes. Natively the writes
# go to the unlinked file (the name stays gone) or to the renamed one. In close mode EBT's copy
# is published at the close: before, a removed name came back and a renamed file got a second,
# stale name (the stage now holds the file it was opened on: ebt_stage_hold_origin).
O=$1
cd "$O" || exit 1
echo 1 >x
exec 4<>x
rm x
echo ghost >&4
exec 4>&-
ls x 2>&1 | sed 's/^ls: //'
echo old >r
exec 5<>r
mv r r2
echo new >&5
exec 5>&-
ls r* && cat r2
/usr/bin/python3 - <<'PY'
import os, subprocess
fd = os.open("n", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)   # a new file
os.write(fd, b"first\n")
subprocess.run(["mv", "n", "n2"], check=True)                      # renamed by another process
os.write(fd, b"second\n")
os.close(fd)
fd = os.open("gone", os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"x\n")
subprocess.run(["rm", "gone"], check=True)
os.write(fd, b"y\n")
os.close(fd)
print(sorted(n for n in os.listdir(".") if n[0] in "gn"), open("n2").read().split())
PY
