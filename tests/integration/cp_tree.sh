#!/bin/bash
# cp_tree.sh - `cp -r`/`cp -a` of a source tree into the PFS, from the PFS and within it.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/gen_tree.sh"
t_init cp_tree
t_require_drivers

export SRC=$T_TMP/src
make_tree "$SRC"
t_mkdir A B
for d in A B; do cp -a "$SRC" "$T_TMP/$d/seed"; done # already on the PFS before the job

job() {
    cp -r "$SRC" "$1/tree1"              # new files from outside
    cp -a "$SRC" "$1/tree2"              # modes and times preserved
    cp -r "$1/tree1" "$1/tree3"          # reading what this job wrote
    cp -r "$1/seed" "$1/seedcopy"        # reading what was on the PFS
    cp -r "$SRC/wide/." "$1/seed/a/b/c/" # overwrite/extend a pre-existing directory
    cp "$SRC/one_byte" "$1/seed/a/large.bin" # truncate a large pre-existing file to 1 byte
    cmp "$SRC/a/large.bin" "$1/tree3/a/large.bin"
}
t_both job "$T_TMP/A" "$T_TMP/B"
t_compare_trees "$T_TMP/A" "$T_TMP/B"
t_compare_mtimes "$T_TMP/A/tree2" "$T_TMP/B/tree2"
# Independent of the native run: the copies equal the source.
diff -r "$SRC" "$T_TMP/B/tree1" && diff -r "$SRC" "$T_TMP/B/seedcopy" || t_fail "copy differs from source"
