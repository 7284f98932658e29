#!/bin/bash
# python_io.sh - /usr/bin/python3: stdio, os.replace over existing files, json, shutil.copytree.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init python_io
t_require_drivers
[[ -x /usr/bin/python3 ]] || t_fail "/usr/bin/python3 not installed"

export PY=$(cd "$(dirname "$0")" && pwd)/python_io.py OUT=$T_TMP/out
t_mkdir A B out
for d in A B; do
    mkdir -p "$T_TMP/$d/pre/sub"
    echo '{"name": "run", "version": 1}' >"$T_TMP/$d/config.json"
    echo "remove me" >"$T_TMP/$d/pre/remove_me.txt"
    echo "kept" >"$T_TMP/$d/pre/sub/kept.txt"
done

job() { /usr/bin/python3 "$PY" "$1" >"$OUT/$(basename "$1").txt"; }
t_both job "$T_TMP/A" "$T_TMP/B"
t_expect_same "python output" "$OUT/A.txt" "$OUT/B.txt"
t_compare_trees "$T_TMP/A" "$T_TMP/B"
grep -q '^replaced 2 False$' "$OUT/B.txt" || t_fail "os.replace result wrong: $(grep replaced "$OUT/B.txt")"
