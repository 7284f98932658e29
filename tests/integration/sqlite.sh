#!/bin/bash
# sqlite.sh [delete|wal] - sqlite3 builds and rewrites a database; query output and .dump compared.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
export JOURNAL=${1:-delete}
t_init "sqlite_$JOURNAL"
t_require_drivers
command -v sqlite3 >/dev/null || t_fail "sqlite3 not installed (apt-get install sqlite3)"

export OUT=$T_TMP/out
t_mkdir A B out

job() {
    local db=$1/db.sqlite o=$OUT/$(basename "$1")
    sqlite3 "$db" >"$o.build" <<SQL
PRAGMA journal_mode=$JOURNAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v INTEGER, blob TEXT);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
INSERT INTO t SELECT x, printf('name%05d', x), (x * 37) % 1000, hex(x * x * 7919) FROM c;
COMMIT;
CREATE INDEX t_v ON t(v);
PRAGMA integrity_check;
SELECT count(*), sum(v), min(name), max(name) FROM t;
SELECT id, name FROM t WHERE v = 500 ORDER BY id LIMIT 5;
SQL
    # a second process reopens and rewrites the file (update, delete, vacuum)
    sqlite3 "$db" >"$o.update" <<SQL
UPDATE t SET name = name || '_u' WHERE id % 7 = 0;
DELETE FROM t WHERE id % 11 = 0;
VACUUM;
PRAGMA integrity_check;
SELECT count(*), sum(v), sum(length(name)) FROM t;
SQL
    sqlite3 "$db" .dump >"$o.dump_in_job"
    sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
}
t_both job "$T_TMP/A" "$T_TMP/B"
for f in build update dump_in_job; do
    t_expect_same "sqlite $f output" "$OUT/A.$f" "$OUT/B.$f"
done
# After the flush, read the database back natively from the PFS.
for d in A B; do
    sqlite3 "$T_TMP/$d/db.sqlite" 'PRAGMA integrity_check;' .dump >"$OUT/$d.dump_after"
done
t_expect_same "sqlite .dump after the flush" "$OUT/A.dump_after" "$OUT/B.dump_after"
head -1 "$OUT/B.dump_after" | grep -qx ok || t_fail "integrity_check on the flushed database failed"
grep -qx 'ok' "$OUT/B.update" || t_fail "integrity_check inside the job failed"
grep -qx '10000|4995000|name00001|name10000' "$OUT/B.build" || t_fail "query result wrong: $(cat "$OUT/B.build")"
grep -q '^9091|' "$OUT/B.update" || t_fail "row count after delete wrong: $(tail -1 "$OUT/B.update")"
[[ ! -e $T_TMP/B/db.sqlite-journal && ! -e $T_TMP/B/db.sqlite-wal ]] || t_fail "journal left on the PFS"
