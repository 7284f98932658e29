# sqlite_concurrent: three sqlite3 processes insert rows into one database at the same time, in
# rollback-journal (DELETE) mode (sqlite_wal: in WAL mode), each row in its own transaction (with
# a busy timeout, as applications sharing a database do); every committed row must be there.
# (row order differs from run to run: the database files are left out, the output compares)
# conform: ignore \.db(-wal|-shm|-journal)?$
O=$1
for mode in ${SQLITE_MODES:-delete}; do
    db=$O/$mode.db
    sqlite3 "$db" "PRAGMA journal_mode=$mode; CREATE TABLE t(p INTEGER, i INTEGER);" > /dev/null
    for p in 1 2 3; do
        ( for i in $(seq 1 30); do
            echo "PRAGMA busy_timeout=20000; INSERT INTO t VALUES($p, $i);"
          done | sqlite3 "$db" > /dev/null ) &
    done
    wait
    sqlite3 "$db" "PRAGMA integrity_check; SELECT p, count(*) FROM t GROUP BY p ORDER BY p;" |
        tee "$O/$mode.result"
done
