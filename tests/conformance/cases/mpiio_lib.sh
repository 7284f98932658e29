# mpiio (sourced by mpiio_ompio, mpiio_romio, mpiio_mpich with MPIIO_IMPL set): MPI-IO on one
# shared file from 4 ranks (tests/conformance/mpiio_shared.c: a collective strided write through
# a file view, sync-barrier-sync, reads of another rank's blocks, independent writes, set_size, a
# second open), with Open MPI's OMPIO or its ROMIO, or with MPICH (ROMIO); an MPI that is not
# installed is said so in the output (the same natively).
O=$1 F=$2
SRC=$(dirname "${BASH_SOURCE[0]}")/../mpiio_shared.c
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
run() { # NAME MPICC MPIRUN [MPIRUN FLAGS...]
    local name=$1 cc=$2 mpirun=$3
    shift 3
    if ! command -v "$cc" >/dev/null || ! command -v "$mpirun" >/dev/null; then
        echo "$name: not installed"
        return 0
    fi
    "$cc" -O1 -o "$F/mpiio.$name" "$SRC" || { echo "$name: build failed"; return 0; }
    echo "== $name"
    timeout 60 "$mpirun" "$@" -np 4 "$F/mpiio.$name" "$O/shared.$name.dat"
    echo "exit $?"
}
case ${MPIIO_IMPL:?} in
ompio) run ompio mpicc.openmpi mpirun.openmpi --mca io ompio ;;
romio) run romio mpicc.openmpi mpirun.openmpi --mca io romio321 ;;
mpich) run mpich mpicc.mpich mpirun.mpich ;;
esac
ls -l "$O" | awk 'NR > 1 {print $1, $5, $NF}'
