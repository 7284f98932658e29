# lib.sh - shared helpers for the flush integration tests (sourced; bash, set -eu).
set -eu
W=$(mktemp -d /tmp/ebt-ftest.XXXXXX)
cleanup() {
    local f j # a failed test must not leave its daemons or background jobs behind (a job
    for j in $(jobs -p); do kill -9 "$j" 2>/dev/null || true; done # holding ctest's pipe hangs it)
    for f in $(find "$W" -name ebtd.pid 2>/dev/null); do kill -9 "$(cat "$f")" 2>/dev/null || true; done
    chmod -R u+w "$W" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
export EBT_LIB="$EBT_TEST_LIB"
unset EBT_RUN_DIR EBT_PATHS EBT_VISIBILITY LD_PRELOAD || true

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# beneath RUN DIR: the PFS directory DIR (prefix 0 of RUN) as it is under the job's FUSE view,
# i.e. what really reached the PFS; DIR itself when no view is mounted.
beneath() { if [ -L "$1/lower/0" ]; then echo "$1/lower/0"; else echo "$2"; fi; }
# mkrun PFSDIR: a run directory built by hand, config naming PFSDIR; prints its path.
mkrun() {
    local run
    run=$(mktemp -d "$W/run.XXXXXX")
    mkdir -p "$run/up" "$run/task" "$run/stage" "$run/meta"
    printf 'EBT_PATHS=%s\nEBT_VISIBILITY=close\nEBT_CACHE_BYTES=0\n' "$1" > "$run/config"
    echo "$run"
}
# up RUN LOGICAL: the cache path of a logical path.
up() { echo "$1/up$2"; }
# put FILE CONTENT: create a file and its parents.
put() { mkdir -p "$(dirname "$1")"; printf '%s' "$2" > "$1"; }
# same_tree A B: identical names, contents, types, modes (and file mtimes).
same_tree() {
    diff -r --no-dereference "$1" "$2" || fail "trees differ: $1 $2"
    local a b
    a=$(cd "$1" && find . -printf '%p %y %m\n' | sort)
    b=$(cd "$2" && find . -printf '%p %y %m\n' | sort)
    [ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b"); fail "types/modes differ"; }
    a=$(cd "$1" && find . -type f -printf '%p %T@\n' | sort)
    b=$(cd "$2" && find . -type f -printf '%p %T@\n' | sort)
    [ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b"); fail "mtimes differ"; }
}
# drop_caps CMD...: run without root's capabilities (so permission bits apply to root too).
drop_caps() {
    if [ "$(id -u)" = 0 ]; then setpriv --inh-caps=-all --bounding-set=-all "$@"; else "$@"; fi
}
# gone PID: the process exited (a zombie waiting for init to reap it counts as exited).
gone() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) || return 0; [ "${s#Z}" != "$s" ]; }
# wait_gone PID: up to 5 s.
wait_gone() { local i; for i in $(seq 1 100); do gone "$1" && return 0; sleep 0.05; done; return 1; }
