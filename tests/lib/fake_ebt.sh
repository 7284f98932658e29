#!/bin/bash
# fake_ebt.sh - a stand-in for the ebt CLI that runs jobs natively; it checks the command lines the
# tests use against the contract, so the scripts' EBT branch is exercised before EBT exists.
set -euo pipefail
die() { echo "fake_ebt: $*" >&2; exit 64; }
cmd=${1:-}
shift || die "no subcommand"
pfs= cache= vis=
while (($#)) && [[ $1 != -- ]]; do
    case $1 in
    --pfs) pfs=${2:?}; shift 2 ;;
    --cache) cache=${2:?}; shift 2 ;;
    --visibility)
        vis=${2:?}
        [[ $vis == write || $vis == close || $vis == task ]] || die "bad visibility $vis"
        shift 2 ;;
    *) die "unknown option $1" ;;
    esac
done
case $cmd in
run)
    [[ -n $pfs && -d $pfs ]] || die "run: --pfs DIR missing or not a directory"
    [[ ${1:-} == -- && $# -ge 2 ]] || die "run: expected -- cmd..."
    shift
    EBT_RUN_DIR=${cache:-/tmp}/fake EBT_PATHS=$pfs exec "$@" ;;
start)
    [[ -n $pfs && -n $cache ]] || die "start: --pfs and --cache required"
    echo "export EBT_RUN_DIR=$cache/fake"
    echo "export EBT_PATHS=$pfs" ;;
flush | stop)
    [[ -n ${EBT_RUN_DIR:-} ]] || die "$cmd: EBT_RUN_DIR not set" ;;
*) die "unknown subcommand $cmd" ;;
esac
