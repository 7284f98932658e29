# cross_process: one process holds a file open for writing while others rename it, link it,
# rename its directory, copy it, or append to it. (A name removed by another process while open
# for writing: case removed_open.)
O=$1
cd "$O" || exit 1
echo start >a
exec 3>>a
mv a b                       # renamed by another process while open here
echo after-rename >&3
ln b c                       # a second name
echo after-link >&3
exec 3>&-
cat b; cat c; stat -c '%h' b
mkdir dd && echo f >dd/f
exec 5>>dd/f
mv dd ee                     # the directory renamed while a file in it is open
echo moved-dir >&5
exec 5>&-
cat ee/f
echo v1 >y
exec 6>>y
cp y y.copy                  # another process copies it while it is open here
echo more >&6
cat y.copy
exec 6>&-
cat y
truncate -s 0 z; exec 7>>z; echo one >&7; sh -c 'echo two >> z'; echo three >&7; exec 7>&-
cat z
