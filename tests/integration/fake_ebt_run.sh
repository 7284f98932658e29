#!/bin/bash
# fake_ebt_run.sh SCRIPT [ARGS] - run an integration script through its EBT branch with a stand-in
# ebt that runs natively (tests/lib/fake_ebt.sh): checks the scripts' ebt command lines.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fake_lib=$(mktemp -d "${TMPDIR:-/tmp}/ebt-fake-lib.XXXXXX")
trap 'rm -rf "$fake_lib"' EXIT
: >"$fake_lib/libebt.so"
EBT_TEST_NATIVE_ONLY=0 EBT_BIN=$here/../lib/fake_ebt.sh EBT_LIB_DIR=$fake_lib \
    bash "$here/$1" "${@:2}"
