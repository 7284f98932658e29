/* posix_io.c - posix_suite groups: vector I/O, stdio, mmap, statx, copies, statfs, *at calls. */
#define _GNU_SOURCE
#include "drv.h"
#include "posix_suite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

static void vector_reads(int fd)
{
    char a[4] = {0}, b[7] = {0};
    struct iovec iv[2] = {{a, 3}, {b, 6}};
    long r = preadv(fd, iv, 2, 2);
    ps_ret("preadv 3+6 at offset 2", r, errno, 9, NULL);
    ps_check("  preadv data", !strcmp(a, "llo") && !strcmp(b, "worldX"), NULL);
    r = lseek(fd, 0, SEEK_SET);
    char c[6] = {0}, d[64] = {0};
    struct iovec iv2[2] = {{c, 5}, {d, sizeof(d) - 1}};
    r = readv(fd, iv2, 2);
    ps_ret("readv 5+63 from 0 (short at EOF)", r, errno, 29, NULL);
    ps_check("  readv data",
             !strcmp(c, "hello") && !memcmp(d, "worldXYZ", 8) && d[8] == 0 &&
                 !strcmp(d + 17, "pwritev"),
             NULL);
}

void ps_group_vector(void)
{
    int fd = open("vec.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    ps_fd("open vec.bin", fd, errno);
    struct iovec iv[3] = {{"hello", 5}, {"", 0}, {"worldXYZ", 8}};
    long r = writev(fd, iv, 3);
    ps_ret("writev 5+0+8", r, errno, 13, NULL);
    struct iovec pv[2] = {{"pwr", 3}, {"itev", 4}};
    r = pwritev(fd, pv, 2, 22);
    ps_ret("pwritev 3+4 at 22 (past EOF)", r, errno, 7, NULL);
    r = lseek(fd, 0, SEEK_CUR);
    ps_ret("  pwritev leaves the offset", r, errno, 13, NULL);
    vector_reads(fd);
    close(fd);
    fd = open("vec.bin", O_WRONLY);
    char buf[4];
    r = read(fd, buf, 4);
    ps_err("read on an O_WRONLY fd", r, errno, EBADF);
    close(fd);
    fd = open("vec.bin", O_RDONLY);
    r = write(fd, "x", 1);
    ps_err("write on an O_RDONLY fd", r, errno, EBADF);
    close(fd);
}

static void stdio_read_lines(void)
{
    char line[64] = "";
    FILE *f = fopen("stdio.txt", "r");
    ps_ret("fopen r", f ? 0 : -1, errno, 0, NULL);
    if (!f)
        return;
    char *s = fgets(line, sizeof(line), f);
    ps_check("  fgets first line", s && !strcmp(line, "line 1 of 3\n"), NULL);
    long r = fseek(f, -12, SEEK_END);
    ps_ret("  fseek(-12, SEEK_END)", r, errno, 0, NULL);
    s = fgets(line, sizeof(line), f);
    ps_check("  fgets last line", s && !strcmp(line, "appended 42\n"), NULL);
    r = ftell(f);
    ps_ret("  ftell", r, errno, 48, NULL);
    ps_check("  fgets at EOF returns NULL", fgets(line, sizeof(line), f) == NULL && feof(f), NULL);
    r = fclose(f);
    ps_ret("  fclose", r, errno, 0, NULL);
}

static void stdio_fdopen_lines(void)
{
    char line[64] = "";
    int fd = open("fdopen.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    FILE *f = fdopen(fd, "w+");
    ps_ret("fdopen w+", f ? 0 : -1, errno, 0, NULL);
    if (!f)
        return;
    long r = fputs("through fdopen\n", f);
    ps_ret("  fputs", r >= 0 ? 0 : -1, errno, 0, NULL);
    r = fseek(f, 0, SEEK_SET);
    ps_ret("  fseek 0", r, errno, 0, NULL);
    ps_check("  fgets reads it back",
             fgets(line, sizeof(line), f) && !strcmp(line, "through fdopen\n"), NULL);
    r = fclose(f);
    ps_ret("  fclose", r, errno, 0, NULL);
    r = fcntl(fd, F_GETFD);
    ps_err("  fd closed by fclose", r, errno, EBADF);
}

void ps_group_stdio(void)
{
    FILE *f = fopen("stdio.txt", "w");
    ps_ret("fopen w", f ? 0 : -1, errno, 0, NULL);
    long r = fprintf(f, "line %d of %d\n", 1, 3) + fprintf(f, "line 2 of 3 %s\n", "....");
    ps_ret("  fprintf x2", r, errno, 29, NULL);
    r = fclose(f);
    ps_ret("  fclose", r, errno, 0, NULL);
    f = fopen("stdio.txt", "a");
    r = f ? fprintf(f, "line 3\nappended %d\n", 42) : -1;
    ps_ret("fopen a + fprintf", r, errno, 19, NULL);
    r = f ? fclose(f) : -1;
    ps_ret("  fclose", r, errno, 0, NULL);
    stdio_read_lines();
    f = fopen("stdio.txt", "r+");
    r = f ? fseek(f, 5, SEEK_SET) + (fputc('#', f) == '#' ? 0 : -1) + fclose(f) : -1;
    ps_ret("fopen r+, fseek 5, fputc, fclose", r, errno, 0, NULL);
    ps_check("  r+ overwrote one byte",
             ps_file_is("stdio.txt", "line # of 3\nline 2 of 3 ....\n"
                                     "line 3\nappended 42\n"),
             NULL);
    f = fopen("nosuchdir/x", "w");
    ps_err("fopen w in a missing directory", f ? 0 : -1, errno, ENOENT);
    stdio_fdopen_lines();
    char buf[8192];
    f = fopen("pre/b.bin", "rb");
    size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    ps_ret("fopen+fread a pre-existing file", (long)n, errno, 4096, NULL);
    ps_check("  fread data", n == 4096 && drv_verify(buf, n, PS_B_SEED, 0) < 0, NULL);
    if (f)
        fclose(f);
}

static void mmap_read_line(const char *path, size_t len, uint64_t seed, int flags)
{
    int fd = open(path, O_RDONLY);
    void *p = mmap(NULL, len, PROT_READ, flags, fd, 0);
    ps_ret(flags == MAP_SHARED ? "mmap PROT_READ MAP_SHARED" : "mmap PROT_READ MAP_PRIVATE",
           p == MAP_FAILED ? -1 : 0, errno, 0, NULL);
    if (p != MAP_FAILED) {
        ps_check("  mapped bytes equal the file", drv_verify(p, len, seed, 0) < 0, NULL);
        munmap(p, len);
    }
    close(fd);
}

static void mmap_write_line(void)
{
    int fd = open("mmap.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    long r = ftruncate(fd, 8192);
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ps_ret("mmap PROT_WRITE MAP_SHARED a new file", p == MAP_FAILED ? -1 : r, errno, 0, NULL);
    if (p == MAP_FAILED)
        return (void)close(fd);
    drv_fill(p, 8192, 0x3a, 0);
    r = msync(p, 8192, MS_SYNC);
    ps_ret("  msync", r, errno, 0, NULL);
    munmap(p, 8192);
    char buf[8192];
    r = pread(fd, buf, 8192, 0);
    ps_check("  pread sees the stores", r == 8192 && drv_verify(buf, 8192, 0x3a, 0) < 0, NULL);
    close(fd);
}

static void copy_lines(void)
{
    char buf[8192];
    int in = open("pre/b.bin", O_RDONLY), out = open("cfr.bin", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    long r = copy_file_range(in, NULL, out, NULL, 4096, 0);
    ps_ret("copy_file_range 4096 from a pre-existing file", r, errno, 4096, NULL);
    close(in), close(out);
    int fd = open("cfr.bin", O_RDONLY);
    r = drv_read_upto(fd, buf, sizeof(buf));
    ps_check("  copy equals the source", r == 4096 && drv_verify(buf, 4096, PS_B_SEED, 0) < 0,
             NULL);
    close(fd);
    in = open("vec.bin", O_RDONLY), out = open("sendfile.bin", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    off_t off = 2;
    r = sendfile(out, in, &off, 100);
    ps_ret("sendfile 100 from offset 2 (27 available)", r, errno, 27, NULL);
    ps_ret("  sendfile advanced the offset argument", (long)off, 0, 29, NULL);
    close(in), close(out);
    static const char want[27] = "lloworldXYZ\0\0\0\0\0\0\0\0\0pwritev";
    fd = open("sendfile.bin", O_RDONLY);
    r = drv_read_upto(fd, buf, sizeof(buf));
    close(fd);
    ps_check("  sendfile output", r == 27 && !memcmp(buf, want, 27), NULL);
}

static void statx_lines(void)
{
    struct statx sx;
    long r = statx(AT_FDCWD, "vec.bin", 0, STATX_SIZE | STATX_MODE | STATX_TYPE, &sx);
    ps_ret("statx size/mode", r, errno, 0, NULL);
    ps_check("  statx values",
             (sx.stx_mask & (STATX_SIZE | STATX_MODE)) == (STATX_SIZE | STATX_MODE) &&
                 sx.stx_size == 29 && sx.stx_mode == (S_IFREG | 0644),
             "\"size\":%llu,\"mode\":\"%o\"", (unsigned long long)sx.stx_size,
             (unsigned)sx.stx_mode);
    int fd = open("hole.bin", O_RDONLY);
    r = statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx);
    ps_ret("statx(fd, \\\"\\\", AT_EMPTY_PATH)", r, errno, 0, NULL);
    ps_check("  size", sx.stx_size == 20000, "\"size\":%llu", (unsigned long long)sx.stx_size);
    r = statx(AT_FDCWD, "nosuch.txt", 0, STATX_SIZE, &sx);
    ps_err("statx missing", r, errno, ENOENT);
    struct statfs sf;
    r = fstatfs(fd, &sf);
    ps_ret("fstatfs on a managed fd", r, errno, 0, NULL);
    r = statfs("pre", &sf);
    ps_ret("statfs on a managed directory", r, errno, 0, NULL);
    close(fd);
}

void ps_group_map_copy(void)
{
    mmap_read_line("pre/b.bin", 4096, PS_B_SEED, MAP_PRIVATE);
    mmap_read_line("pre/b.bin", 4096, PS_B_SEED, MAP_SHARED);
    mmap_write_line();
    mmap_read_line("mmap.bin", 8192, 0x3a, MAP_SHARED);
    copy_lines();
    statx_lines();
}

void ps_group_at(void)
{
    int dfd = open("pre", O_RDONLY | O_DIRECTORY);
    int fd = openat(dfd, "exe.sh", O_RDONLY);
    ps_fd("openat(dirfd, name)", fd, errno);
    close(fd);
    struct stat st;
    long r = fstatat(dfd, "exe.sh", &st, 0);
    ps_ret("fstatat(dirfd)", r, errno, 0, NULL);
    ps_check("  mode 0755", st.st_mode == (S_IFREG | 0755), "\"mode\":\"%o\"",
             (unsigned)st.st_mode);
    r = mkdirat(dfd, "made_at", 0750);
    ps_ret("mkdirat", r, errno, 0, NULL);
    r = unlinkat(dfd, "sub2", 0);
    ps_err("unlinkat directory without AT_REMOVEDIR", r, errno, EISDIR);
    r = renameat(dfd, "exe.sh", AT_FDCWD, "moved.sh");
    ps_ret("renameat(dirfd -> cwd)", r, errno, 0, NULL);
    r = faccessat(AT_FDCWD, "moved.sh", X_OK, 0);
    ps_ret("  faccessat X_OK on the moved file", r, errno, 0, NULL);
    fd = openat(dfd, "at.txt", O_CREAT | O_WRONLY | O_EXCL, 0604);
    r = fd < 0 ? -1 : write(fd, "at\n", 3);
    ps_ret("openat(O_CREAT) + write", r, errno, 3, NULL);
    close(fd);
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    r = utimensat(dfd, "at.txt", ts, 0);
    ps_ret("utimensat 2001-09-09", r, errno, 0, NULL);
    r = stat("pre/at.txt", &st);
    ps_check("  mtime set", r == 0 && st.st_mtime == 1000000000, "\"mtime\":%lld",
             (long long)st.st_mtime);
    close(dfd);
}
