# mpiio_romio: MPI-IO on one shared file from 4 ranks with Open MPI's ROMIO (cases/mpiio_lib.sh).
MPIIO_IMPL=romio source "$(dirname "${BASH_SOURCE[0]}")/mpiio_lib.sh"
