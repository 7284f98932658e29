# sqlite_wal: sqlite_concurrent in WAL mode (the writers share the -shm index by mmap and read
# each other's frames from the -wal file).
# (row order differs from run to run: the database files are left out, the output compares)
# conform: ignore \.db(-wal|-shm|-journal)?$
SQLITE_MODES=wal source "$(dirname "${BASH_SOURCE[0]}")/sqlite_concurrent.sh"
