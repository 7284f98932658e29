#!/bin/bash
# install-deps.sh - install the Debian 12 packages EBT needs to build, test and demo (idempotent).
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config libcmocka-dev libfuse3-dev fuse3
      sqlite3 python3 attr bc libucx-dev ucx-utils iproute2 git xz-utils perl
      libopenmpi-dev openmpi-bin libmpich-dev mpich
      autoconf automake gfortran  # tests/conformance: the builds and fortran cases
      python3-venv python3-h5py  # tests/conformance: the venv and h5py cases
      slurm-wlm munge)  # tests/launchers: a private Slurm (its own munged, slurmctld, slurmd)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
