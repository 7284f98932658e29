#!/bin/bash
# tar_x.sh - `tar x` of a test-made tarball into the PFS (modes and mtimes restored), and `tar c` back.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/gen_tree.sh"
t_init tar_x
t_require_drivers

make_tree "$T_TMP/src"
export TARBALL=$T_TMP/src.tar
tar -C "$T_TMP/src" -cf "$TARBALL" .
t_mkdir A B

job() {
    mkdir "$1/x"
    tar -C "$1/x" -xpf "$TARBALL"
    tar -C "$1/x" -cf "$1/again.tar" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner .
    mkdir "$1/y"
    tar -C "$1/y" -xpf "$1/again.tar" # reading a tarball this job wrote
}
t_both job "$T_TMP/A" "$T_TMP/B"
t_compare_trees "$T_TMP/A" "$T_TMP/B"
t_compare_mtimes "$T_TMP/A/x" "$T_TMP/B/x"
# Independent check: what tar extracted equals what went in.
diff -r "$T_TMP/src" "$T_TMP/B/x" || t_fail "extracted tree differs from the source"
