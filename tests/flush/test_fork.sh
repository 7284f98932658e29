# test_fork.sh - fork while another thread writes a managed file never hangs the child (the
# record's mutex may be held by that thread at the fork), and what parent and children write
# through one shared descriptor under a lock all arrives, in every visibility mode.
source "$TESTS_DIR/lib.sh"
P=$W/pfs; C=$W/cache
mkdir -p "$P" "$C"
cat > "$W/job.py" <<'PY'
import fcntl, os, sys, threading
d = sys.argv[1]
fd = os.open(os.path.join(d, "busy.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
stop = False
def writer():
    while not stop:
        os.write(fd, b"x" * 4096)
        os.lseek(fd, 0, os.SEEK_SET)
t = threading.Thread(target=writer); t.start()
for i in range(100):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
stop = True; t.join(); os.close(fd)
# one descriptor shared by the parent and 3 children, each appending a line under flock
log = open(os.path.join(d, "log.txt"), "w")
log.write("header\n"); log.flush()
for c in range(3):
    pid = os.fork()
    if pid == 0:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write("child %d\n" % c); log.flush()
        fcntl.flock(log, fcntl.LOCK_UN)
        os._exit(0)
    os.waitpid(pid, 0)
log.close()
print("done")
PY
python3 "$W/job.py" "$W" > /dev/null; sort "$W/log.txt" > "$W/native.log"
for vis in close write task; do
    rm -rf "$P"/* "$C"/*
    timeout 60 "$EBT" run --pfs "$P" --cache "$C" --visibility $vis -- python3 "$W/job.py" "$P" \
        > "$W/out" 2> "$W/err" || { cat "$W/err"; fail "$vis: the job failed or hung (exit $?)"; }
    [ "$(cat "$W/out")" = done ] || fail "$vis: job output"
    sort "$P/log.txt" | cmp - "$W/native.log" || fail "$vis: log.txt: $(cat "$P/log.txt")"
    ok "$vis: 100 forks beside a writing thread, none hung; shared-fd lines all there"
done
