# common.sh - shared helpers of EBT's integration tests: temp dirs, native vs EBT runs, tree diffs.
#
# Source it from a test script that runs with `set -euo pipefail`, then call t_init NAME.
# Inputs (environment, set by CMake):
#   EBT_BIN            the ebt CLI (…/bin/ebt)
#   EBT_LIB_DIR        directory holding libebt.so (…/lib)
#   DRIVERS_DIR        directory of the test drivers (nn_writer, …)
#   EBT_TEST_NATIVE_ONLY=1   run the "EBT" side natively too: tests the tests, not EBT
#   EBT_TEST_TIMEOUT   seconds allowed per command (default 60)
#   EBT_TEST_KEEP=1    keep the temporary directory for inspection

T_NAME=${T_NAME:-test}
T_TMP=
T_SESSION_ENV=
T_TIMEOUT=${EBT_TEST_TIMEOUT:-60}

t_log() { printf '[%s] %s\n' "$T_NAME" "$*" >&2; }

t_fail() {
    printf '[%s] FAIL: %s\n' "$T_NAME" "$*" >&2
    exit 1
}

t_native_only() { [[ ${EBT_TEST_NATIVE_ONLY:-0} == 1 ]]; }

# Fail (not skip) when the EBT side cannot run: a missing binary must never look like a pass.
t_require_ebt() {
    t_native_only && return 0
    [[ -n ${EBT_BIN:-} && -x $EBT_BIN ]] ||
        t_fail "ebt CLI not found at '${EBT_BIN:-<EBT_BIN unset>}': build bin/ebt first" \
            "(EBT_TEST_NATIVE_ONLY=1 runs only the native side, to test the test itself)"
    [[ -n ${EBT_LIB_DIR:-} && -f $EBT_LIB_DIR/libebt.so ]] ||
        t_fail "client library not found at '${EBT_LIB_DIR:-<EBT_LIB_DIR unset>}/libebt.so':" \
            "build lib/libebt.so first"
}

t_require_drivers() {
    [[ -n ${DRIVERS_DIR:-} && -x $DRIVERS_DIR/nn_writer ]] ||
        t_fail "test drivers not found in '${DRIVERS_DIR:-<DRIVERS_DIR unset>}'"
}

# Pids of the processes whose command line mentions this test's temp dir (daemons, clients,
# tasks), except fusermount3 (libfuse's auto_unmount helper: it unmounts a view whose daemon died).
t_our_pids() {
    local p cmd
    [[ -n $T_TMP ]] || return 0
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        ((p == $$ || p == BASHPID)) && continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
        [[ $cmd == *"$T_TMP/"* && $cmd != fusermount* ]] && echo "$p"
    done
    return 0
}

# EBT's views (FUSE, type fuse.ebt) mounted under this test's temp dir.
t_our_mounts() {
    [[ -n $T_TMP ]] || return 0
    awk -v t="$T_TMP/" 'index($2, t) == 1 && $3 == "fuse.ebt" { print $2 }' /proc/self/mounts
}

# t_kill_leftovers: SIGKILL this test's processes, then unmount a view they left behind (its
# auto_unmount helper normally does within a moment of the daemon's death).
t_kill_leftovers() {
    local pids p m
    pids=$(t_our_pids)
    if [[ -n $pids ]]; then
        t_log "killing leftover processes: $(echo $pids)"
        for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
        for _ in $(seq 50); do [[ -z $(t_our_pids) ]] && break; sleep 0.1; done
        [[ -z $(t_our_pids) ]] || t_log "WARNING: still alive: $(t_our_pids)"
    fi
    for _ in $(seq 20); do [[ -z $(t_our_mounts) ]] && break; sleep 0.1; done
    for m in $(t_our_mounts); do
        t_log "unmounting a view left behind: $m"
        fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    return 0
}

t_cleanup() {
    local rc=$?
    if [[ -n $T_SESSION_ENV && -f $T_SESSION_ENV ]]; then
        t_log "stopping the EBT session left running"
        (set +u; . "$T_SESSION_ENV"; timeout -k 5 30 "$EBT_BIN" stop) >&2 || true
    fi
    if [[ -n $T_TMP && -d $T_TMP ]]; then
        if [[ ${EBT_TEST_KEEP:-0} == 1 ]]; then
            t_log "kept $T_TMP"
        else
            rm -rf "$T_TMP"
        fi
    fi
    ((rc == 0)) && t_log "PASS" || t_log "FAILED (status $rc)"
    exit "$rc"
}

# t_init NAME: temp dir, cleanup trap, tool checks. Sets T_TMP and EBT_TEST_UNMANAGED_DIR.
t_init() {
    T_NAME=$1
    T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ebt-test.$T_NAME.XXXXXX")
    trap t_cleanup EXIT
    trap 'exit 130' INT TERM
    t_require_ebt
    mkdir -p "$T_TMP/unmanaged" "$T_TMP/cache"
    export EBT_TEST_UNMANAGED_DIR=$T_TMP/unmanaged
    t_native_only && t_log "EBT_TEST_NATIVE_ONLY=1: the EBT side runs natively (tests the test)"
    return 0
}

# t_mkdir NAME...: create directories under T_TMP.
t_mkdir() {
    local d
    for d; do mkdir -p "$T_TMP/$d"; done
}

# t_native CMD...: run natively with the time limit.
t_native() {
    timeout -k 5 "$T_TIMEOUT" "$@"
}

# t_ebt PFS [ebt-run options] -- CMD...: run CMD under `ebt run --pfs PFS` (natively if native-only).
t_ebt() {
    local pfs=$1
    shift
    local opts=()
    while (($#)) && [[ $1 != -- ]]; do
        opts+=("$1")
        shift
    done
    [[ ${1:-} == -- ]] || t_fail "t_ebt: missing -- before the command"
    shift
    if t_native_only; then
        timeout -k 5 "$T_TIMEOUT" "$@"
    else
        timeout -k 5 "$T_TIMEOUT" "$EBT_BIN" run --pfs "$pfs" --cache "$T_TMP/cache" \
            "${opts[@]}" -- "$@"
    fi
}

# t_both FUNC A B [ebt-run options]: run shell function FUNC DIR natively with A, under EBT with B.
# FUNC runs in a fresh bash (exported with export -f), so it sees only exported variables.
t_both() {
    local fn=$1 a=$2 b=$3
    shift 3
    export -f "$fn"
    t_log "native: $fn $a"
    t_native bash -c "set -euo pipefail; $fn \"\$1\"" _ "$a" || t_fail "native run of $fn failed ($?)"
    t_log "ebt:    $fn $b"
    t_ebt "$b" "$@" -- bash -c "set -euo pipefail; $fn \"\$1\"" _ "$b" ||
        t_fail "run of $fn under EBT failed ($?)"
}

# t_listing DIR: one line per entry: path, type, mode, size (regular files only: directory sizes
# legitimately differ between file systems).
t_listing() {
    find "$1" -mindepth 1 \( -type f -printf '%P %y %m %s\n' \) -o \( ! -type f -printf '%P %y %m\n' \) |
        LC_ALL=C sort
}

# t_compare_trees A B: same names, types, modes, sizes and bytes; no EBT artefacts in B.
t_compare_trees() {
    local a=$1 b=$2 bad=0
    if ! diff -u <(t_listing "$a") <(t_listing "$b") >"$T_TMP/listing.diff"; then
        t_log "tree structure differs (native $a vs EBT $b):"
        head -40 "$T_TMP/listing.diff" >&2
        bad=1
    fi
    if ! diff -r --no-dereference "$a" "$b" >"$T_TMP/content.diff" 2>&1; then
        t_log "file contents differ:"
        head -20 "$T_TMP/content.diff" >&2
        bad=1
    fi
    if find "$b" -name '.ebt~*' | grep -q .; then
        t_log "EBT internal names leaked to the PFS: $(find "$b" -name '.ebt~*' | head -5)"
        bad=1
    fi
    ((bad == 0)) || t_fail "trees differ"
    t_log "trees equal: $(t_listing "$a" | wc -l) entries"
}

# t_compare_mtimes A B: regular files have the same mtime (whole seconds).
t_compare_mtimes() {
    local a=$1 b=$2
    diff -u <(cd "$a" && find . -type f -printf '%P %TY-%Tm-%Td %TH:%TM:%.2TS\n' | LC_ALL=C sort) \
        <(cd "$b" && find . -type f -printf '%P %TY-%Tm-%Td %TH:%TM:%.2TS\n' | LC_ALL=C sort) >&2 ||
        t_fail "file mtimes differ"
    t_log "file mtimes equal"
}

# t_expect_same WHAT FILE_A FILE_B: the two outputs are identical.
t_expect_same() {
    diff -u "$2" "$3" >&2 || t_fail "$1 differs between native and EBT"
    t_log "$1 identical ($(wc -l <"$2") lines)"
}

# --- sessions: ebt start / flush / stop (vis_pair task mode) ---

# t_session_start PFS [ebt-start options]: start a session; exports go to a file, not this shell,
# so the test's own tools never run preloaded.
t_session_start() {
    local pfs=$1
    shift
    T_SESSION_ENV=$T_TMP/session.env
    if t_native_only; then
        : >"$T_SESSION_ENV"
        return 0
    fi
    timeout -k 5 30 "$EBT_BIN" start --pfs "$pfs" --cache "$T_TMP/cache" "$@" >"$T_SESSION_ENV" ||
        t_fail "ebt start failed ($?)"
    grep -q '^export EBT_RUN_DIR=' "$T_SESSION_ENV" ||
        t_fail "ebt start printed no 'export EBT_RUN_DIR=' line: $(cat "$T_SESSION_ENV")"
}

# t_session CMD...: run CMD inside the session (its exports applied in a subshell).
t_session() {
    (set +u; . "$T_SESSION_ENV"; set -u; timeout -k 5 "$T_TIMEOUT" "$@")
}

t_session_flush() {
    t_native_only && return 0
    (set +u; . "$T_SESSION_ENV"; timeout -k 5 "$T_TIMEOUT" "$EBT_BIN" flush) || t_fail "ebt flush failed"
}

t_session_stop() {
    if ! t_native_only; then
        (set +u; . "$T_SESSION_ENV"; timeout -k 5 "$T_TIMEOUT" "$EBT_BIN" stop) || t_fail "ebt stop failed"
    fi
    T_SESSION_ENV=
}
