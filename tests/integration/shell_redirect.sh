#!/bin/bash
# shell_redirect.sh - a job script's redirections (> >> 2>&1 exec 3> | tee), sed -i, sort, cat.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init shell_redirect
t_require_drivers
t_mkdir A B
for d in A B; do printf 'old line\n' >"$T_TMP/$d/existing.log"; done

job() {
    cd "$1"
    echo first >out.txt
    echo second >>out.txt
    echo appended >>existing.log
    ls /nonexistent-ebt-path >err.txt 2>&1 || true
    exec 3>fd3.txt
    echo "via fd 3" >&3
    seq 1 3000 >&3
    exec 3>&-
    seq 1 5000 | tee tee.txt >/dev/null
    sort -rn tee.txt >sorted.txt
    sed -i 's/^1/one/' sorted.txt # write temp + rename over
    cat out.txt existing.log >cat.txt
    wc -l <tee.txt >count.txt
    mkdir -p logs && for i in 1 2 3; do echo "step $i" >>"logs/run.log"; done
}
t_both job "$T_TMP/A" "$T_TMP/B"
t_compare_trees "$T_TMP/A" "$T_TMP/B"
[[ $(cat "$T_TMP/B/count.txt") == 5000 ]] || t_fail "count.txt wrong"
[[ $(cat "$T_TMP/B/existing.log") == $'old line\nappended' ]] || t_fail "append to a PFS file wrong"
