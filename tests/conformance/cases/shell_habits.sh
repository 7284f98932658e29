# shell_habits: sort -o onto its input, cp over a file and back, a write through a symlink,
# cp --backup, cp -r then rm -rf, a file grown by pwrite then cut by ftruncate, a read-only file
# refused then reopened, an empty file, a FIFO, a file another process reads while the shell
# still holds it open (exec 3>).
O=$1
cd "$O" || exit 1
seq 1 5 > s; sort -r -o s s; cat s
printf 'b\na\n' > t; cp t t2; cp t2 t; cat t
echo a > keep; ln -s keep lnk; echo b >> lnk; cat keep
echo orig > e; cp --backup=numbered e e; ls e*
mkdir -p d1/d2; touch d1/d2/f; cp -r d1 d3; rm -rf d1; ls -R d3
python3 -c 'import os; fd=os.open("hole", os.O_CREAT|os.O_WRONLY, 0o600); os.pwrite(fd, b"z", 1<<20); os.ftruncate(fd, 100); os.close(fd); print(os.stat("hole").st_size)'
echo x > ro; chmod 444 ro; (echo y > ro) 2>&1 | sed 's/.*: //'; chmod 644 ro; echo z >> ro; cat ro
: > empty; [ -s empty ] || echo empty ok
mkfifo fifo; (echo via-fifo > fifo &); cat fifo
exec 3>w3; echo 1 >&3; cat w3; echo 2 >&3; exec 3>&-; cat w3
