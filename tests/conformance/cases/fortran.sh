# fortran: gfortran builds a module and a program in the job's tree (its temporaries and the
# program's STATUS='SCRATCH' file go to a TMPDIR in the tree too); the program writes formatted
# and unformatted sequential files, a direct-access file with records written out of order,
# opens with STATUS='REPLACE', appends with POSITION='APPEND', truncates with ENDFILE, deletes
# with CLOSE(STATUS='DELETE'), inquires existence and size, and prints what it reads back.
O=$1
command -v gfortran >/dev/null || { echo "no gfortran (scripts/install-deps.sh installs it)"; exit 0; }
mkdir -p "$O/src" "$O/tmp" "$O/data"
export TMPDIR=$O/tmp
cat >"$O/src/report.f90" <<'F'
! report.f90 - prints a file's existence and size as INQUIRE gives them
module report
  implicit none
contains
  subroutine show(name)
    character(len=*), intent(in) :: name
    logical :: ex
    integer :: sz
    inquire(file=name, exist=ex, size=sz)
    if (ex) then
      print '(a, a, a, i0)', 'inquire ', name, ': exists, size ', sz
    else
      print '(a, a, a)', 'inquire ', name, ': absent'
    end if
  end subroutine show
end module report
F
cat >"$O/src/files.f90" <<'F'
! files.f90 - writes, rereads and reports files of every kind of Fortran I/O (argument: the dir)
program files
  use report
  implicit none
  character(len=256) :: dir
  character(len=40) :: line
  integer :: u, i, ios, n, rec(4), back(4), nrec
  real(8) :: x(3)
  call get_command_argument(1, dir)

  ! formatted sequential (a relative name: the program runs in the directory)
  open(newunit=u, file='fmt.txt', status='new', action='write', form='formatted')
  do i = 1, 3
    write(u, '(a, i0, f8.3)') 'line ', i, i * 1.5d0
  end do
  close(u)
  open(newunit=u, file='fmt.txt', status='old', action='read')
  do
    read(u, '(a)', iostat=ios) line
    if (ios /= 0) exit
    print '(a, a)', 'fmt: ', trim(line)
  end do
  close(u)

  ! append, then backspace and reread the last record
  open(newunit=u, file='fmt.txt', status='old', position='append', action='readwrite')
  write(u, '(a)') 'appended'
  backspace(u)
  read(u, '(a)') line
  print '(a, a)', 'after append, last: ', trim(line)
  close(u)
  call show('fmt.txt')

  ! unformatted sequential, records of different lengths, by absolute name
  open(newunit=u, file=trim(dir)//'/data/seq.bin', form='unformatted', status='new')
  write(u) 7
  write(u) (i * 10, i = 1, 4)
  write(u) 1.25d0, 2.5d0, 5.0d0
  close(u)
  open(newunit=u, file=trim(dir)//'/data/seq.bin', form='unformatted', status='old')
  read(u) n
  read(u) back
  read(u) x
  print '(a, i0, 4(1x, i0), 3(1x, f5.2))', 'seq: ', n, back, x
  ! rewind, skip a record, cut the file after it with ENDFILE
  rewind(u)
  read(u)
  endfile(u)
  close(u)
  call show(trim(dir)//'/data/seq.bin')

  ! direct access, records written out of order (4 first: records 1-3 are a hole until written)
  open(newunit=u, file='data/direct.bin', access='direct', recl=16, form='unformatted', &
       status='replace')
  do i = 1, 4
    rec(i) = 100 + i
  end do
  write(u, rec=4) rec(4), -4, 0, 0
  write(u, rec=2) rec(2), -2, 0, 0
  write(u, rec=1) rec(1), -1, 0, 0
  write(u, rec=3) rec(3), -3, 0, 0
  inquire(unit=u, nextrec=nrec)
  print '(a, i0)', 'direct nextrec: ', nrec
  close(u)
  open(newunit=u, file='data/direct.bin', access='direct', recl=16, form='unformatted', &
       status='old', action='read')
  do i = 4, 1, -1
    read(u, rec=i) back
    print '(a, i0, a, 4(1x, i0))', 'direct rec ', i, ':', back
  end do
  close(u)
  call show('data/direct.bin')

  ! scratch: in $TMPDIR, unlinked by the runtime while open
  open(newunit=u, status='scratch', form='formatted')
  write(u, '(a)') 'scratch one', 'scratch two'
  rewind(u)
  read(u, '(a)') line
  read(u, '(a)') line
  print '(a, a)', 'scratch: ', trim(line)
  close(u)

  ! replace: an existing file is truncated and rewritten
  open(newunit=u, file='rep.txt', status='new')
  write(u, '(a)') 'first version, longer than the second'
  close(u)
  open(newunit=u, file='rep.txt', status='replace')
  write(u, '(a)') 'second'
  close(u)
  open(newunit=u, file='rep.txt', status='old')
  read(u, '(a)') line
  close(u)
  print '(a, a)', 'replace: ', trim(line)
  call show('rep.txt')

  ! delete on close
  open(newunit=u, file='gone.txt', status='new')
  write(u, '(a)') 'soon deleted'
  close(u, status='delete')
  call show('gone.txt')
  call show('never.txt')
  open(newunit=u, file='never.txt', status='old', iostat=ios)
  print '(a, l1)', 'open of a missing file failed: ', ios /= 0
end program files
F
cd "$O/src"
gfortran -O1 -Wall -c report.f90 && gfortran -O1 -Wall -o files files.f90 report.o && echo built
ls "$O/tmp" | wc -l
cd "$O" && "$O/src/files" "$O"
echo "rc $?"
ls "$O/tmp" | wc -l
