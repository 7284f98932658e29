# test_task_merge.sh - visibility=task: task layers merge into up in tid order (higher tid wins
# on overlap), then flush; unchanged PFS bytes of a shared file survive.
source "$TESTS_DIR/lib.sh"
P=$W/pfs
mkdir -p "$P"
put "$P/shared" "PPPPPPPPPPPPPPPP"; put "$P/doomed" "d"; put "$P/replace_me" "old"
RUN=$(mkrun "$P"); sed -i 's/EBT_VISIBILITY=close/EBT_VISIBILITY=task/' "$RUN/config"
T0=$RUN/task/0$P; T1=$RUN/task/1$P; U=$(up "$RUN" "$P")
mkdir -p "$T0" "$T1" "$U"
put "$U/replace_me" "up version"
put "$T0/shared" "0000cccccccccccc"; "$EXTLOG" "$RUN" "$T0/shared" BASE 0 16 WRITE 0 4
put "$T1/shared" "cc1111cccccccccc"; "$EXTLOG" "$RUN" "$T1/shared" BASE 0 16 WRITE 2 4
put "$T0/new_by_0" "zero"
: > "$T1/.ebt~wh~doomed"
put "$T1/replace_me" "task 1 wrote this"

"$EBT" flush --run-dir "$RUN" --json 2> "$W/err" || { cat "$W/err"; fail "flush"; }
[ "$(cat "$P/shared")" = "001111PPPPPPPPPP" ] || fail "shared: $(cat "$P/shared")"
[ "$(cat "$P/new_by_0")" = zero ] || fail "new_by_0"
[ ! -e "$P/doomed" ] || fail "whiteout from task 1 not applied"
[ "$(cat "$P/replace_me")" = "task 1 wrote this" ] || fail "replace_me"
[ -z "$(ls -A "$RUN/task")" ] || fail "task layers not removed"
grep -q '"tasks_merged":2' "$W/err" || fail "merge count"
ok "tasks merged in order, overlap -> higher tid, PFS bytes outside changes kept"
