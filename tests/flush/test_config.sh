# test_config.sh - every bad setting is refused by the tool before anything starts: exit 2, the
# variable, its value and what is allowed on stderr, no run directory, no daemon; EBT_PATHS and
# EBT_CACHE_BYTES are honoured by ebt run; a cache inside a managed directory is refused.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; Q=$W/pfs2; C=$W/cache
mkdir -p "$P" "$Q" "$C" "$P/sub"; : > "$W/afile"

# refused VAR VALUE PATTERN [CMD]: ebt CMD (default run) with VAR=VALUE exits 2, says
# "VAR='VALUE': ..." matching PATTERN, and leaves nothing in the cache directory
refused() {
    local var=$1 val=$2 pat=$3 cmd=${4:-run} rc
    set +e
    if [ "$cmd" = run ]; then
        env "$var=$val" "$EBT" run --pfs "$P" --cache "$C" -- true > "$W/out" 2> "$W/err"
    else
        env "$var=$val" "$EBT" start --pfs "$P" --cache "$C" > "$W/out" 2> "$W/err"
    fi
    rc=$?
    set -e
    [ $rc -eq 2 ] || { cat "$W/err"; fail "$cmd $var=$val: exit $rc, want 2"; }
    grep -qF -- "$var='$val'" "$W/err" || { cat "$W/err"; fail "$cmd $var=$val: variable not named"; }
    grep -q -- "$pat" "$W/err" || { cat "$W/err"; fail "$cmd $var=$val: no '$pat'"; }
    ! grep -q "ebt.log" "$W/err" || { cat "$W/err"; fail "$cmd $var=$val: points at a log"; }
    [ -z "$(ls -A "$C")" ] || fail "$cmd $var=$val left a run directory"
    ok "$cmd $var=$val -> 2: $(head -n1 "$W/err")"
}
refused EBT_VISIBILITY sometimes "write, close or task"
refused EBT_VISIBILITY close, "write, close or task"
refused EBT_VISIBILITY "close,rel/x=write" "PREFIX absolute"
refused EBT_FLUSH_THREADS 0 "1..256"
refused EBT_FLUSH_THREADS many "1..256" start
refused EBT_STAGE_THREADS 0 "1..256"
refused EBT_STAGE_CHUNK 5 "64K to 1G"
refused EBT_LOG_LEVEL 9 "0..3"
refused EBT_LOG_BYTES big "not a size"
refused EBT_CACHE_BYTES lots "not a size"
refused EBT_FUSE sometimes "auto, on or off"
refused EBT_CACHE_DIR relative/dir "absolute"
refused EBT_CACHE_DIR "$W/nocache" "No such file"
refused EBT_TASK_ID "../x" "letters, digits"
refused EBT_NODES 0 "1..4096"
refused EBT_NODE_ID x "0..4095"
refused EBT_RENDEZVOUS rel "absolute"
refused EBT_RUN_DIR rel "absolute"
refused EBT_JOB_ID "a/b" "no '/'"
refused EBT_LISTEN nowhere "HOST:PORT"
refused EBT_JOIN_TIMEOUT_MS -5 "1..3600000" start
refused EBT_PEER_TIMEOUT_MS 0 "1..3600000"
refused EBT_TRANSPORT carrier "ucx or mpi"
refused EBT_LIB "$W/nolib.so" "client library"
refused EBT_DAEMON "$W/noebtd" "daemon"
refused EBT_LAYOUT gpfs "auto, lustre, lustreapi or posix"
refused EBT_STRIPE_SIZE 100K "multiple of 64K"
refused EBT_STRIPE_SIZE 8G "multiple of 64K" start
refused EBT_STRIPE_COUNT_LARGE 0 "or -1 for all OSTs"
refused EBT_STRIPE_LARGE huge "not a size"

# EBT_PATHS: the default of --pfs, checked like it
refused EBT_PATHS "$W/missing" "No such file"
refused EBT_PATHS "rel/dir" "not an absolute path"
refused EBT_PATHS "$P::$Q" "empty element"
refused EBT_PATHS "$P:" "empty element"
refused EBT_PATHS "$W/afile" "not a directory"
refused EBT_PATHS "/" "'/' cannot be managed"
refused EBT_PATHS "$P:$Q:$P" "given twice"
refused EBT_PATHS "$P:$P/sub" "lies inside"
refused EBT_PATHS "$P/sub:$P" "lies inside"
ln -s "$P" "$W/plink"
refused EBT_PATHS "$P:$W/plink" "given twice"

# EBT_INPUT_PATHS (the default of --input): absolute existing directories, distinct, not nested,
# not overlapping the cache directory
refused EBT_INPUT_PATHS "$W/missing" "No such file"
refused EBT_INPUT_PATHS "rel/dir" "not an absolute path"
refused EBT_INPUT_PATHS "$P::$Q" "empty element"
refused EBT_INPUT_PATHS "$W/afile" "not a directory"
refused EBT_INPUT_PATHS "$Q:$Q" "given twice"
refused EBT_INPUT_PATHS "$P:$P/sub" "inputs must not overlap"

# expect_err PATTERN CMD...: exit 2 with the message, nothing left in the cache
expect_err() {
    local pat=$1 rc; shift
    set +e; "$@" > "$W/out" 2> "$W/err"; rc=$?; set -e
    [ $rc -eq 2 ] || { cat "$W/err"; fail "'$*' exited $rc, want 2"; }
    grep -q -- "$pat" "$W/err" || { cat "$W/err"; fail "'$*': no '$pat'"; }
    [ -z "$(ls -A "$C")" ] || fail "'$*' left a run directory"
    ok "$* -> 2: $(head -n1 "$W/err")"
}
expect_err "given twice" "$EBT" run --pfs "$P" --pfs "$W/plink" --cache "$C" -- true
expect_err "lies inside" "$EBT" run --pfs "$P" --pfs "$P/sub" --cache "$C" -- true
expect_err "'/' cannot be managed" "$EBT" run --pfs / --cache "$C" -- true
expect_err "No such file" "$EBT" run --pfs "$P" --input "$W/missing" --cache "$C" -- true
expect_err "not a directory" "$EBT" run --pfs "$P" --input "$W/afile" --cache "$C" -- true
expect_err "given twice" "$EBT" run --pfs "$P" --input "$Q" --input "$Q" --cache "$C" -- true
expect_err "inputs must not overlap" "$EBT" start --pfs "$P" --input "$Q" --input / --cache "$C"
expect_err "overlaps the cache directory" "$EBT" run --pfs "$P" --input "$W" --cache "$C" -- true
expect_err "EBT_INPUT_PATHS: .*overlaps the cache directory" env EBT_INPUT_PATHS="$C" "$EBT" start \
    --pfs "$P" --cache "$C"
expect_err "option not valid here" "$EBT" flush --input "$Q"
# an input may be a managed directory or lie inside one; the job sees EBT_INPUT_PATHS
"$EBT" run --pfs "$P" --input "$P" --input "$Q" --cache "$C" -- sh -c 'echo "$EBT_INPUT_PATHS"' \
    > "$W/inp" 2> "$W/err" || { cat "$W/err"; fail "--input of a managed directory refused"; }
[ "$(cat "$W/inp")" = "$(realpath "$P"):$(realpath "$Q")" ] || fail "EBT_INPUT_PATHS: $(cat "$W/inp")"
ok "--input of a managed directory and another accepted, passed on as EBT_INPUT_PATHS"
# a cache directory inside a managed prefix, or a managed directory in a run directory's place
# (CACHE/ebt.<uid>.*): the job would cache into its own view, or remove its own run directory
mkdir -p "$P/cache" "$W/outer/pfs" "$W/outer/ebt.$(id -u).old/up"
expect_err "lies inside managed directory" "$EBT" run --pfs "$P" --cache "$P/cache" -- true
expect_err "lies inside managed directory" "$EBT" run --pfs "$P" --cache "$P" -- true
expect_err "lies inside managed directory" env EBT_CACHE_DIR="$P/cache" "$EBT" start --pfs "$P"
expect_err "place of run directories" "$EBT" run --pfs "$W/outer/ebt.$(id -u).old/up" --cache "$W/outer" -- true
expect_err "place of run directories" "$EBT" run --pfs "$W/outer/ebt.$(id -u).old" --cache "$W/outer" -- true
[ -z "$(ls -A "$P/cache")" ] && [ "$(ls "$W/outer" | tr '\n' ' ')" = "ebt.$(id -u).old pfs " ] ||
    fail "a refused cache dir got a run directory"
# another directory under the cache directory is fine (run directories are new names there)
"$EBT" run --pfs "$W/outer/pfs" --cache "$W/outer" -- true 2> "$W/err" || { cat "$W/err"; fail "sibling of the run dirs"; }
ok "a managed directory beside the run directories is accepted"

# honoured: EBT_PATHS without --pfs, EBT_CACHE_BYTES without --cache-bytes (job env and RUN/config)
cat > "$W/job.sh" <<'JOB'
env | grep '^EBT_' > "$OUT"; cp "$EBT_RUN_DIR/config" "$OUT.config"
echo data > "$DEST/f"
JOB
OUT=$W/env DEST=$Q EBT_PATHS=$Q EBT_CACHE_BYTES=3M "$EBT" run --cache "$C" -- sh "$W/job.sh" \
    2> "$W/err" || { cat "$W/err"; fail "EBT_PATHS job"; }
grep -qx "EBT_PATHS=$(realpath "$Q")" "$W/env" || { cat "$W/env"; fail "EBT_PATHS not used"; }
grep -qx "EBT_CACHE_BYTES=3145728" "$W/env" || { cat "$W/env"; fail "EBT_CACHE_BYTES env"; }
grep -qx "EBT_CACHE_BYTES=3145728" "$W/env.config" || fail "EBT_CACHE_BYTES in RUN/config"
[ "$(cat "$Q/f")" = data ] || fail "EBT_PATHS job's data not flushed"
OUT=$W/env2 DEST=$Q EBT_CACHE_BYTES=3M "$EBT" run --pfs "$Q" --cache-bytes 5M --cache "$C" -- \
    sh "$W/job.sh" 2> "$W/err" || { cat "$W/err"; fail "--cache-bytes job"; }
grep -qx "EBT_CACHE_BYTES=5242880" "$W/env2" || fail "--cache-bytes must win over EBT_CACHE_BYTES"
ok "EBT_PATHS is the default of --pfs, EBT_CACHE_BYTES of --cache-bytes (the option wins)"

# EBT_LAYOUT=lustre where the PFS has no layouts: the flush fails naming the setting and the
# reason, the data stays cached (exit 4), and a retry with the default (auto: posix here) puts it
set +e
EBT_LAYOUT=lustre "$EBT" run --pfs "$Q" --cache "$C" -- sh -c "echo kept > $Q/lay" 2> "$W/err"
rc=$?
set -e
[ $rc -eq 4 ] || { cat "$W/err"; fail "EBT_LAYOUT=lustre on a posix PFS: exit $rc, want 4"; }
grep -q "EBT_LAYOUT=lustre: .*does not answer getxattr lustre.lov" "$W/err" ||
    { cat "$W/err"; fail "EBT_LAYOUT=lustre: reason not given"; }
run=$(sed -n 's/.*retry with: ebt flush --run-dir \([^ ]*\).*/\1/p' "$W/err")
[ -d "$run" ] && [ ! -e "$Q/lay" ] || fail "EBT_LAYOUT=lustre: cache not kept / file flushed"
"$EBT" flush --run-dir "$run" 2> "$W/err" || { cat "$W/err"; fail "retry with EBT_LAYOUT=auto"; }
[ "$(cat "$Q/lay")" = kept ] || fail "the retry did not flush the file"
ok "EBT_LAYOUT=lustre on a PFS without layouts: flush refused with the reason, data kept, retry ok"
