# mpiio_mpich: MPI-IO on one shared file from 4 ranks with MPICH (ROMIO) (cases/mpiio_lib.sh).
MPIIO_IMPL=mpich source "$(dirname "${BASH_SOURCE[0]}")/mpiio_lib.sh"
