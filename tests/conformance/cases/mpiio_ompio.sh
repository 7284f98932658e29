# mpiio_ompio: MPI-IO on one shared file from 4 ranks with Open MPI's OMPIO (cases/mpiio_lib.sh).
MPIIO_IMPL=ompio source "$(dirname "${BASH_SOURCE[0]}")/mpiio_lib.sh"
