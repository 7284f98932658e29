# locks: counters incremented by three processes under flock(1), under a lock taken by a child
# on the shell's own fd (`( flock 9; ... ) 9>lock`: the lock lives on the shared open file
# description), and under Python's fcntl.lockf and fcntl.flock; and a FIFO between two.
O=$1
echo 0 > "$O/counter"
for p in 1 2 3; do
    ( for i in $(seq 1 20); do
        flock "$O/lock" sh -c 'n=$(cat "$1"); echo $((n + 1)) > "$1"' sh "$O/counter"
      done ) &
done
wait
cat "$O/counter"
echo 0 > "$O/counter2"
for p in 1 2 3; do
    ( for i in $(seq 1 20); do
        ( flock 9; n=$(cat "$O/counter2"); echo $((n + 1)) > "$O/counter2" ) 9> "$O/lock2"
      done ) &
done
wait
cat "$O/counter2"
python3 - "$O" <<'PY'
import fcntl, os, sys
d = sys.argv[1]
def bump(name, lock):
    with open(os.path.join(d, "lock3"), "w") as lk:
        lock(lk)
        with open(os.path.join(d, name)) as f:
            n = int(f.read() or 0)
        with open(os.path.join(d, name), "w") as f:
            f.write("%d\n" % (n + 1))
        # the lock goes with the close of lk, after the write is closed (published)
for name in ("counter3", "counter4"):
    with open(os.path.join(d, name), "w") as f:
        f.write("0\n")
kids = []
for p in range(3):
    pid = os.fork()
    if pid == 0:
        for i in range(20):
            bump("counter3", lambda f: fcntl.lockf(f, fcntl.LOCK_EX))
            bump("counter4", lambda f: fcntl.flock(f, fcntl.LOCK_EX))
        os._exit(0)
    kids.append(pid)
for k in kids:
    os.waitpid(k, 0)
for name in ("counter3", "counter4"):
    print(name, open(os.path.join(d, name)).read().strip())
PY
mkfifo "$O/pipe"
( echo through-the-fifo > "$O/pipe" ) &
cat "$O/pipe"
wait
