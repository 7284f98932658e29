# gen_tree.sh - make_tree DIR: a deterministic source tree (nested dirs, small/large files, modes).
make_tree() {
    local d=$1 i
    mkdir -p "$d/a/b/c" "$d/empty_dir" "$d/private" "$d/wide"
    : >"$d/zero_bytes"
    printf x >"$d/one_byte"
    printf '#!/bin/sh\necho tool\n' >"$d/tool.sh"
    chmod 0755 "$d/tool.sh"
    head -c 3145728 /dev/urandom >"$d/a/large.bin"           # 3 MiB
    head -c 1048579 /dev/urandom >"$d/a/b/odd_size.bin"      # not a multiple of any block
    head -c 65536 /dev/urandom >"$d/a/b/c/block.bin"
    printf 'read only\n' >"$d/a/readonly.txt"
    chmod 0444 "$d/a/readonly.txt"
    printf 'secret\n' >"$d/private/key"
    chmod 0600 "$d/private/key"
    chmod 0700 "$d/private"
    chmod 0750 "$d/a/b"
    for i in $(seq 1 40); do
        head -c $((i * 97)) /dev/urandom >"$d/wide/f$i.dat"
    done
    touch -d '2001-02-03 04:05:06' "$d/a/large.bin" "$d/one_byte"
}
