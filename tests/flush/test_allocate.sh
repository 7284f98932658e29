# test_allocate.sh - fallocate on files the PFS already has (their node-local copies keep an
# extent log: only logged ranges are flushed) and on files of the job, in write, close and task
# mode: a punched hole, a zeroed range, a collapsed and an inserted range, a size grown by
# posix_fallocate; the PFS after the flush equals the same commands run natively, byte for byte
# and size for size. Before, fallocate was not seen: the flush left the PFS file's old bytes in
# a punched or zeroed range, and a close-mode publication dropped every such change.
source "$TESTS_DIR/lib.sh"
cat > "$W/job.sh" <<'JOB'
cd "$PFS" || exit 1
fallocate -p -o 4096 -l 8192 old.punch
fallocate -z -o 100 -l 5000 old.zero
fallocate -c -o 4096 -l 4096 old.collapse
fallocate -i -o 8192 -l 4096 old.insert
python3 -c 'import os; fd = os.open("old.grow", os.O_RDWR); os.posix_fallocate(fd, 60000, 9000); os.close(fd)'
head -c 40000 old.punch > new && fallocate -p -o 0 -l 4096 new && fallocate -l 50000 new
stat -c '%n %s' old.* new
JOB
for mode in write close task; do
    for side in native ebt; do
        P=$W/pfs.$mode.$side; C=$W/cache.$mode
        mkdir -p "$P" "$C"
        for f in punch zero collapse insert grow; do
            awk 'BEGIN { for (i = 0; i < 4096; i++) printf "%015d\n", i }' > "$P/old.$f"
        done
        if [ $side = native ]; then
            PFS=$P sh "$W/job.sh" > "$W/out.$side"
        else
            PFS=$P "$EBT" run --pfs "$P" --cache "$C" --visibility $mode -- sh "$W/job.sh" \
                > "$W/out.$side" 2> "$W/err" || { cat "$W/err"; fail "$mode: the EBT job failed"; }
        fi
        (cd "$P" && for f in old.* new; do echo "$f $(stat -c %s $f) $(md5sum < $f)"; done) > "$W/state.$side"
    done
    diff "$W/out.native" "$W/out.ebt" || fail "$mode: sizes seen in the job differ from native"
    diff "$W/state.native" "$W/state.ebt" || fail "$mode: the PFS after the flush differs from native"
done
ok "fallocate (punch, zero, collapse, insert, posix_fallocate) on PFS files and new files: the PFS equals native in write, close and task"
