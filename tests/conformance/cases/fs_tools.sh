# fs_tools: allocation and file-system tools on the job's files: fallocate (-l, -p punch, -c collapse),
# dd oflag=direct and oflag=sync, df, stat -f, cp --sparse, link counts, split -b.
O=$1
cd "$O" || exit 1
fallocate -l 1M big && stat -c '%s' big
fallocate -p -o 4096 -l 8192 big && stat -c '%s' big
printf 'abcdefgh%.0s' $(seq 1 2048) > pat && fallocate -p -o 4096 -l 4096 pat && md5sum pat | cut -c1-32
fallocate -c -o 0 -l 4096 pat 2>&1 | sed 's/^fallocate: //'; stat -c '%s' pat
dd if=/dev/zero of=direct bs=4096 count=4 oflag=direct status=none 2>&1 | sed 's/^dd: //'; stat -c '%s' direct 2>&1
dd if=pat of=sync.bin bs=1k count=8 oflag=sync,dsync status=none && stat -c '%s' sync.bin
df -P . >/dev/null && echo df ok
stat -f -c '%T' . >/dev/null && echo statfs ok
cp --reflink=auto --sparse=always big big.copy && cmp big big.copy && echo sparse copy ok
mkdir d && mv d d2 && rmdir d2 && echo dir ok
ln big hard && stat -c '%h' big && rm hard && stat -c '%h' big
yes 0123456789 | head -c 3000000 | split -b 1000000 - chunk. && ls chunk.* && cat chunk.* | md5sum | cut -c1-32
