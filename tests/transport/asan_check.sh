#!/bin/bash
# asan_check.sh - run a command (an MPI test) under the sanitizer build and judge its report:
# memory errors fail; leaks fail only if a frame is in EBT's sources. MPI's own leaks come from
# plugins it has unloaded by exit (frames "<unknown module>"), so a suppression by library name
# cannot match them; tests/transport/asan_mpi.supp suppresses the ones that do symbolise.
# Usage: asan_check.sh SRC_DIR COMMAND ARGS...
set -u
SRC=$1
shift
export LSAN_OPTIONS="suppressions=$SRC/tests/transport/asan_mpi.supp:print_suppressions=0:exitcode=0"
export OMPI_MCA_mca_base_component_disable_dlclose=1 # keep MPI's plugins mapped: symbolised
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
"$@" 2>&1 | tee "$OUT"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || exit "$rc"
if grep -q -E "ERROR: AddressSanitizer|runtime error:" "$OUT"; then
    echo "FAIL: sanitizer error"
    exit 1
fi
if grep -E "^ +#[0-9]+ .* in .* $SRC/" "$OUT" | grep -q .; then
    echo "FAIL: a leak with EBT frames (see above)"
    exit 1
fi
echo "asan_check: no sanitizer errors, no EBT leaks"
