#!/bin/bash
# dd_notrunc.sh - `dd seek= conv=notrunc` into files already on the PFS: unchanged bytes survive.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init dd_notrunc
t_require_drivers

export PATCH=$T_TMP/patch.bin ORIG=$T_TMP/orig.bin
head -c 1048576 /dev/urandom >"$ORIG" # 1 MiB already on the PFS
head -c 8192 /dev/urandom >"$PATCH"
t_mkdir A B
for d in A B; do
    cp "$ORIG" "$T_TMP/$d/img.bin"
    cp "$ORIG" "$T_TMP/$d/grow.bin"
    cp "$ORIG" "$T_TMP/$d/cut.bin"
done

job() {
    dd if="$PATCH" of="$1/img.bin" bs=4096 seek=37 conv=notrunc status=none      # middle
    dd if="$PATCH" of="$1/img.bin" bs=1 count=10 seek=0 conv=notrunc status=none # first bytes
    dd if="$PATCH" of="$1/grow.bin" bs=1024 seek=2000 conv=notrunc status=none   # past EOF: hole
    dd if="$PATCH" of="$1/cut.bin" bs=4096 seek=10 status=none                   # truncates after
}
t_both job "$T_TMP/A" "$T_TMP/B"
t_compare_trees "$T_TMP/A" "$T_TMP/B"

# Independent expectations, byte ranges checked with cmp.
B=$T_TMP/B
cmp -n 10 "$PATCH" "$B/img.bin" || t_fail "img.bin: first 10 bytes not patched"
cmp -i 10:10 -n $((37 * 4096 - 10)) "$ORIG" "$B/img.bin" || t_fail "img.bin: bytes before the patch changed"
cmp -i 0:$((37 * 4096)) -n 8192 "$PATCH" "$B/img.bin" || t_fail "img.bin: patch not at 37*4096"
cmp -i $((39 * 4096)):$((39 * 4096)) "$ORIG" "$B/img.bin" || t_fail "img.bin: bytes after the patch changed"
[[ $(stat -c %s "$B/grow.bin") == $((2000 * 1024 + 8192)) ]] || t_fail "grow.bin has the wrong size"
cmp -n 1048576 "$ORIG" "$B/grow.bin" || t_fail "grow.bin: original bytes changed"
cmp -i 1048576:0 -n $((2000 * 1024 - 1048576)) "$B/grow.bin" /dev/zero || t_fail "grow.bin: hole not zero"
[[ $(stat -c %s "$B/cut.bin") == $((10 * 4096 + 8192)) ]] || t_fail "cut.bin was not truncated after the patch"
cmp -n $((10 * 4096)) "$ORIG" "$B/cut.bin" || t_fail "cut.bin: bytes before the patch changed"
t_log "byte ranges as expected"
