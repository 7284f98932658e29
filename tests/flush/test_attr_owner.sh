# test_attr_owner.sh - chmod, chown and times of a PFS file the user does not own (but may write,
# mode 0666): refused in the job as natively (EPERM), while writing and `touch` (time "now") are
# allowed; the flush keeps the owner's mode and succeeds. Before: the job's chmod/chown/touch -d
# succeeded on the cache copy and every flush failed at fchmod (exit 4), also after a plain
# append. Compared with the same commands run natively, exit status by exit status.
source "$TESTS_DIR/lib.sh"
[ "$(id -u)" = 0 ] || { echo "skip: needs root to have a second user"; exit 0; }
U2=65534
as_user() { setpriv --reuid=$U2 --regid=$U2 --clear-groups "$@"; }
chmod 0755 "$W"
cat > "$W/job.sh" <<'JOB'
f=$PFS/rootfile
for c in "echo more >> $f" "chmod 600 $f" "chown $U2 $f" "chgrp $U2 $f" "touch -d 2001-01-01 $f" \
    "touch $f" "python3 -c 'import os; os.utime(\"$f\", (1, 1))'" \
    "python3 -c 'import os; fd = os.open(\"$f\", os.O_WRONLY); os.fchmod(fd, 0o600)'"; do
    sh -c "$c" 2>/dev/null; echo "$? $c" | sed "s|$PFS|PFS|g"
done
JOB
for side in native ebt; do
    P=$W/pfs.$side; C=$W/cache.$side
    mkdir -p "$P" "$C"; chmod 0777 "$P" "$C"
    echo data > "$P/rootfile"; chmod 0666 "$P/rootfile"
    if [ $side = native ]; then
        PFS=$P U2=$U2 as_user sh "$W/job.sh" > "$W/out.$side"
    else
        PFS=$P U2=$U2 as_user "$EBT" run --pfs "$P" --cache "$C" -- sh "$W/job.sh" > "$W/out.$side" \
            2> "$W/err" || { cat "$W/err"; fail "the EBT job (its flush) failed"; }
    fi
    stat -c '%a %u %g %s' "$P/rootfile" > "$W/state.$side"; cat "$P/rootfile" >> "$W/state.$side"
done
diff "$W/out.native" "$W/out.ebt" || fail "exit statuses differ from the native run"
diff "$W/state.native" "$W/state.ebt" || fail "the PFS file differs from the native run"
grep -q "^1 chmod" "$W/out.ebt" || fail "chmod by a non-owner succeeded natively? $(cat "$W/out.native")"
ok "a writable PFS file of another owner: write and touch allowed, chmod/chown/chgrp/set times refused, as natively; flush exit 0"
