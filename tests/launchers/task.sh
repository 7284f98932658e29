#!/bin/bash
# task.sh - one task of the launcher tests' job step: writes its own files and a shared dir
# under DIR, reads them back, and notes (in MARKS, outside the managed tree) its rank and
# whether the EBT client was loaded in it. Rank from Slurm, Open MPI or MPICH (hydra).
# usage: task.sh DIR MARKS
set -euo pipefail
dir=$1 marks=$2
rank=${SLURM_PROCID:-${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-}}}
[[ -n $rank ]] || { echo "task.sh: no rank from the launcher" >&2; exit 2; }
if grep -q 'libebt' /proc/$$/maps; then ebt=yes; else ebt=no; fi
echo "$ebt" >"$marks/rank.$rank"

mkdir -p "$dir/shared" "$dir/task$rank/sub"
seq 1 $((rank * 3000 + 500)) >"$dir/task$rank/data.txt"
cp "$dir/task$rank/data.txt" "$dir/task$rank/sub/copy.txt"
for i in 1 2 3; do echo "rank $rank line $i" >>"$dir/task$rank/log"; done
head -c $((65536 * (rank + 1) + 7)) < <(yes "rank $rank") >"$dir/shared/r$rank.bin"
chmod 0640 "$dir/shared/r$rank.bin"
# the task reads back what it wrote (through EBT when it is engaged)
[[ $(wc -l <"$dir/task$rank/sub/copy.txt") == $((rank * 3000 + 500)) ]] ||
    { echo "task.sh: rank $rank: copy.txt has the wrong length" >&2; exit 1; }
[[ $(stat -c %s "$dir/shared/r$rank.bin") == $((65536 * (rank + 1) + 7)) ]] ||
    { echo "task.sh: rank $rank: r$rank.bin has the wrong size" >&2; exit 1; }
