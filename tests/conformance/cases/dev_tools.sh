# dev_tools: gcc -c, ar, a program linked with a static library, a shared library loaded by ctypes
# through LD_LIBRARY_PATH, strip, objcopy, perl (rename, append, utime), sqlite3 vacuum, a Python
# sqlite WAL database, git stash, tar --sort=name | gzip -n and extraction.
O=$1 F=$2
cd "$O" || exit 1
mkdir -p src && for i in 1 2 3; do printf 'int f%d(void) { return %d; }\n' $i $i > src/f$i.c; done
printf 'int f1(void), f2(void), f3(void);\nint main(void) { return f1() + f2() + f3() - 6; }\n' > src/main.c
gcc -c -o src/f1.o src/f1.c && gcc -c -o src/f2.o src/f2.c && gcc -c -o src/f3.o src/f3.c
ar rcs libf.a src/f1.o src/f2.o src/f3.o && ar t libf.a
gcc -o prog src/main.c -L. -lf && ./prog && echo prog ok
gcc -shared -fPIC -o libg.so src/f1.c && LD_LIBRARY_PATH=$O /usr/bin/python3 -c 'import ctypes; print(ctypes.CDLL("libg.so").f1())'
strip prog && ./prog && echo stripped ok
objcopy --only-keep-debug prog prog.dbg 2>/dev/null; ls prog.dbg >/dev/null && echo objcopy ok
perl -e 'open(my $f, ">", "p.txt") or die; print $f "perl\n" x 3; close $f; rename "p.txt", "q.txt"; open($f, ">>", "q.txt"); print $f "more\n"; close $f; print -s "q.txt", "\n"; utime(1000000000, 1000000000, "q.txt"); print((stat "q.txt")[9], "\n")'
sqlite3 db.sqlite 'create table t(a); insert into t values (1),(2),(3); vacuum;' && sqlite3 db.sqlite 'select sum(a) from t'
/usr/bin/python3 -c 'import sqlite3; c = sqlite3.connect("db2.sqlite"); c.execute("pragma journal_mode=wal"); c.execute("create table t(a)"); c.executemany("insert into t values (?)", [(i,) for i in range(100)]); c.commit(); print(c.execute("select count(*) from t").fetchone()[0]); c.close()'
ls db2.sqlite* | sort
export GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
git init -q repo && cd repo && git config user.email a@b && git config user.name n && echo x > f && git add f && git commit -qm one && git stash list && echo y >> f && git stash -q && git stash pop -q && git diff --stat | tail -1 && cd ..
tar cf - --sort=name --mtime=2020-01-01 --owner=0 --group=0 src | gzip -n > arc.tgz && mkdir ex && tar xzf arc.tgz -C ex && diff -r src ex/src && echo tar ok
