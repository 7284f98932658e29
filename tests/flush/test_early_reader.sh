# test_early_reader.sh - a reader that opened a new file before its writer's close reads the
# writer's data through that same fd after the close, in every mode, as natively. (In close mode
# the name is held by an empty placeholder until the first publication; the publication used to
# rename the writer's copy over it, and the early reader kept reading the empty old inode.)
source "$TESTS_DIR/lib.sh"
cat >"$W/early.py" <<'PY'
import os, sys
p = sys.argv[1]
r1, w1 = os.pipe(); r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"hello\n")
    os.write(w1, b"x"); os.read(r2, 1)
    os.close(fd)
    os.write(w1, b"x"); os._exit(0)
os.read(r1, 1)
rfd = os.open(p, os.O_RDONLY)  # before the writer's close
os.write(w2, b"x"); os.read(r1, 1)
print("after the close, through the early fd:", os.pread(rfd, 100, 0), os.fstat(rfd).st_size)
os.waitpid(pid, 0)
PY
PY3=/usr/bin/python3
mkdir -p "$W/native"
"$PY3" "$W/early.py" "$W/native/f" >"$W/native.out" || fail "native run"
for mode in write close task; do
    mkdir -p "$W/pfs.$mode" "$W/cache.$mode"
    "$EBT" run --pfs "$W/pfs.$mode" --cache "$W/cache.$mode" --visibility "$mode" -- \
        "$PY3" "$W/early.py" "$W/pfs.$mode/f" >"$W/$mode.out" 2>"$W/$mode.err" ||
        { cat "$W/$mode.err"; fail "$mode: ebt run failed"; }
    diff -u "$W/native.out" "$W/$mode.out" || fail "$mode: the early reader saw something else"
    cmp -s "$W/native/f" "$W/pfs.$mode/f" || fail "$mode: the PFS file differs"
    ok "$mode: the early reader's fd shows the data after the writer's close"
done
