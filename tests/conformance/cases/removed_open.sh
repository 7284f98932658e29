# removed_open: a file the shell holds open for reading and writing (not appending) while
# another process removes its name; the shell writes on and closes. Natively the writes go to
# the unlinked file and the name stays gone. In close mode EBT publishes the shell's copy at its
# close and the name comes back (disabled there: docs/testing.md).
O=$1
cd "$O" || exit 1
echo 1 >x
exec 4<>x
rm x
echo ghost >&4
exec 4>&-
ls x 2>&1 | sed 's/^ls: //'
