# locks: flock-protected counters incremented by three processes, and a FIFO between two.
O=$1
echo 0 > "$O/counter"
for p in 1 2 3; do
    ( for i in $(seq 1 20); do
        flock "$O/lock" sh -c 'n=$(cat "$1"); echo $((n + 1)) > "$1"' sh "$O/counter"
      done ) &
done
wait
cat "$O/counter"
mkfifo "$O/pipe"
( echo through-the-fifo > "$O/pipe" ) &
cat "$O/pipe"
wait
