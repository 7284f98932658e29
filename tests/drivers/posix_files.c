/* posix_files.c - posix_suite groups: open flags, sizes and holes, names and directories. */
#define _GNU_SOURCE
#include "drv.h"
#include "posix_suite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void stat_line(const char *call, const char *path, long want_size, unsigned want_mode)
{
    struct stat st;
    long r = stat(path, &st);
    int err = errno;
    char extra[128] = "";
    if (r == 0 && S_ISREG(st.st_mode)) /* directory sizes differ between file systems */
        snprintf(extra, sizeof(extra), "\"size\":%lld,", (long long)st.st_size);
    if (r == 0)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "\"mode\":\"%o\"",
                 (unsigned)st.st_mode);
    ps_ret(call, r, err, 0, extra);
    if (r == 0)
        ps_check("  size and mode as expected",
                 (want_size < 0 || st.st_size == want_size) && st.st_mode == want_mode,
                 "\"want_size\":%ld,\"want_mode\":\"%o\"", want_size, want_mode);
}

void ps_group_open(void)
{
    long r = open("pre/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644);
    ps_err("open(O_CREAT|O_EXCL) on a pre-existing file", r, errno, EEXIST);
    int fd = open("new1.txt", O_CREAT | O_EXCL | O_WRONLY, 0640);
    ps_fd("open(O_CREAT|O_EXCL, 0640) new file", fd, errno);
    r = write(fd, "hello\n", 6);
    ps_ret("write 6 bytes", r, errno, 6, NULL);
    r = close(fd);
    ps_ret("close", r, errno, 0, NULL);
    r = open("new1.txt", O_CREAT | O_EXCL | O_RDWR, 0644);
    ps_err("open(O_CREAT|O_EXCL) on a file the job created", r, errno, EEXIST);
    stat_line("stat new file: mode from open, umask 022", "new1.txt", 6, S_IFREG | 0640);
    fd = open("pre/a.txt", O_CREAT | O_TRUNC | O_WRONLY, 0600);
    ps_fd("open(O_CREAT|O_TRUNC) on a pre-existing file", fd, errno);
    stat_line("stat after O_TRUNC: size 0, mode unchanged", "pre/a.txt", 0, S_IFREG | 0644);
    r = write(fd, "rewritten\n", 10);
    ps_ret("write after O_TRUNC", r, errno, 10, NULL);
    close(fd);
    ps_check("pre/a.txt holds the new content", ps_file_is("pre/a.txt", "rewritten\n"), NULL);
    r = open("nosuch.txt", O_RDONLY);
    ps_err("open missing file", r, errno, ENOENT);
    r = open("nosuchdir/x", O_CREAT | O_WRONLY, 0644);
    ps_err("open(O_CREAT) in a missing directory", r, errno, ENOENT);
    r = open("pre/sub", O_WRONLY);
    ps_err("open directory O_WRONLY", r, errno, EISDIR);
    r = open("pre/a.txt/x", O_RDONLY);
    ps_err("open file/x", r, errno, ENOTDIR);
    r = open("pre/a.txt", O_RDONLY | O_DIRECTORY);
    ps_err("open(O_DIRECTORY) on a file", r, errno, ENOTDIR);
    fd = open("pre", O_RDONLY | O_DIRECTORY);
    ps_fd("open(O_DIRECTORY) on a pre-existing directory", fd, errno);
    close(fd);
}

static void hole_reads(int fd)
{
    char buf[100], zero[100] = {0};
    long r = pread(fd, buf, 100, 0);
    ps_ret("pread 100 in the hole", r, errno, 100, NULL);
    ps_check("  hole reads as zeros", r == 100 && !memcmp(buf, zero, 100), NULL);
    r = pread(fd, buf, 100, 10000);
    ps_ret("pread 100 at 10000", r, errno, 100, NULL);
    ps_check("  data past the hole", r == 100 && drv_verify(buf, 100, 7, 0) < 0, NULL);
    r = pread(fd, buf, 100, 10050);
    ps_ret("pread 100 at 10050 (50 before EOF)", r, errno, 50, NULL);
    r = pread(fd, buf, 100, 20000);
    ps_ret("pread beyond EOF", r, errno, 0, NULL);
}

static void seek_lines(int fd)
{
    long r = lseek(fd, 0, SEEK_END);
    ps_ret("lseek(0, SEEK_END)", r, errno, 10100, NULL);
    r = lseek(fd, -100, SEEK_END);
    ps_ret("lseek(-100, SEEK_END)", r, errno, 10000, NULL);
    r = lseek(fd, -1, SEEK_SET);
    ps_err("lseek(-1, SEEK_SET)", r, errno, EINVAL);
    int b = open("pre/b.bin", O_RDONLY);
    r = lseek(b, 0, SEEK_DATA);
    ps_ret("lseek(0, SEEK_DATA) on a full file", r, errno, 0, NULL);
    r = lseek(b, 0, SEEK_HOLE);
    ps_ret("lseek(0, SEEK_HOLE) on a full file: EOF", r, errno, 8192, NULL);
    r = lseek(b, 8192, SEEK_DATA);
    ps_err("lseek(EOF, SEEK_DATA)", r, errno, ENXIO);
    close(b);
}

static void truncate_lines(int fd)
{
    struct stat st;
    char buf[100], zero[100] = {0};
    long r = ftruncate(fd, 50);
    ps_ret("ftruncate shrink to 50", r, errno, 0, NULL);
    r = fstat(fd, &st);
    ps_ret("fstat after shrink", r, errno, 0, NULL);
    ps_check("  size 50", st.st_size == 50, "\"size\":%lld", (long long)st.st_size);
    r = ftruncate(fd, 20000);
    ps_ret("ftruncate grow to 20000", r, errno, 0, NULL);
    r = pread(fd, buf, 100, 10000);
    ps_ret("pread where data was before the shrink", r, errno, 100, NULL);
    ps_check("  zeros after shrink+grow", r == 100 && !memcmp(buf, zero, 100), NULL);
    stat_line("stat after grow", "hole.bin", 20000, S_IFREG | 0644);
    r = truncate("pre/b.bin", 4096);
    ps_ret("truncate(path) pre-existing file to 4096", r, errno, 0, NULL);
    stat_line("stat after truncate(path): mode 0600 kept", "pre/b.bin", 4096, S_IFREG | 0600);
    r = truncate("nosuch.txt", 0);
    ps_err("truncate(path) missing file", r, errno, ENOENT);
    r = ftruncate(fd, -1);
    ps_err("ftruncate(-1)", r, errno, EINVAL);
}

void ps_group_size(void)
{
    char data[100];
    drv_fill(data, 100, 7, 0);
    int fd = open("hole.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    ps_fd("open hole.bin", fd, errno);
    long r = pwrite(fd, data, 100, 10000);
    ps_ret("pwrite 100 at 10000 (past EOF: hole)", r, errno, 100, NULL);
    stat_line("stat after pwrite past EOF", "hole.bin", 10100, S_IFREG | 0644);
    hole_reads(fd);
    seek_lines(fd);
    truncate_lines(fd);
    r = fsync(fd);
    ps_ret("fsync", r, errno, 0, NULL);
    r = fdatasync(fd);
    ps_ret("fdatasync", r, errno, 0, NULL);
    close(fd);
    r = chmod("new1.txt", 0600);
    ps_ret("chmod 0600", r, errno, 0, NULL);
    stat_line("stat after chmod", "new1.txt", 6, S_IFREG | 0600);
    stat_line("stat pre-existing directory", "pre/sub", -1, S_IFDIR | 0755);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print the sorted names of dir as a JSON array and compare with want (sorted, comma-joined). */
static void list_line(const char *dir, const char *want)
{
    char *names[64], joined[1024] = "", json[1200] = "\"names\":[";
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    ps_ret("opendir", d ? 0 : -1, errno, 0, NULL);
    while (d && (e = readdir(d)) && n < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
    for (int i = 0; i < n; i++) {
        snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", i ? "," : "",
                 names[i]);
        snprintf(json + strlen(json), sizeof(json) - strlen(json), "%s\"%s\"", i ? "," : "",
                 names[i]);
        free(names[i]);
    }
    strcat(json, "]");
    ps_check("  readdir names (sorted)", strcmp(joined, want) == 0, "%s", json);
}

static void rename_lines(void)
{
    long r = rename("new1.txt", "pre/victim.txt");
    ps_ret("rename over a pre-existing file", r, errno, 0, NULL);
    ps_check("  target has the source's content", ps_file_is("pre/victim.txt", "hello\n"), NULL);
    stat_line("  stat target: source's mode", "pre/victim.txt", 6, S_IFREG | 0600);
    r = access("new1.txt", F_OK);
    ps_err("  access(old name)", r, errno, ENOENT);
    r = mkdir("d1", 0755);
    ps_ret("mkdir", r, errno, 0, NULL);
    r = mkdir("d1", 0755);
    ps_err("mkdir existing", r, errno, EEXIST);
    r = mkdir("pre", 0755);
    ps_err("mkdir pre-existing directory", r, errno, EEXIST);
    r = ps_put("d1/f1", "f1 data\n", 0644) | ps_put("d1/f2", "f2\n", 0644) | mkdir("d1/sub", 0700);
    ps_ret("create d1/f1, d1/f2, d1/sub", r, errno, 0, NULL);
    r = rename("d1", "d2");
    ps_ret("rename a job-created directory", r, errno, 0, NULL);
    ps_check("  file moved with it", ps_file_is("d2/f1", "f1 data\n") && access("d1", F_OK) < 0,
             NULL);
    r = rename("pre/sub", "pre/sub2");
    ps_ret("rename a pre-existing directory", r, errno, 0, NULL);
    ps_check("  its file moved with it", ps_file_is("pre/sub2/c.txt", "c\n"), NULL);
    r = rename("nosuch.txt", "x.txt");
    ps_err("rename missing source", r, errno, ENOENT);
    r = rename("d2", "pre/a.txt");
    ps_err("rename directory over a file", r, errno, ENOTDIR);
}

static void unlink_lines(void)
{
    char buf[32] = {0};
    long r = rmdir("d2");
    ps_err("rmdir non-empty job directory", r, errno, ENOTEMPTY);
    r = rmdir("pre/sub2");
    ps_err("rmdir non-empty pre-existing directory", r, errno, ENOTEMPTY);
    r = rmdir("d2/sub");
    ps_ret("rmdir empty directory", r, errno, 0, NULL);
    r = rmdir("pre/a.txt");
    ps_err("rmdir a file", r, errno, ENOTDIR);
    int fd = open("d2/f1", O_RDONLY);
    r = unlink("d2/f1");
    ps_ret("unlink an open file", r, errno, 0, NULL);
    r = read(fd, buf, sizeof(buf) - 1);
    ps_ret("  read from its fd after unlink", r, errno, 8, NULL);
    ps_check("  data still readable", !strcmp(buf, "f1 data\n"), NULL);
    r = access("d2/f1", F_OK);
    ps_err("  access after unlink", r, errno, ENOENT);
    close(fd);
    r = unlink("pre/gone.txt");
    ps_ret("unlink a pre-existing file", r, errno, 0, NULL);
    r = open("pre/gone.txt", O_RDONLY);
    ps_err("  open after unlink", r, errno, ENOENT);
    r = unlink("pre/sub2");
    ps_err("unlink a directory", r, errno, EISDIR);
    r = unlink("nosuch.txt");
    ps_err("unlink missing", r, errno, ENOENT);
    list_line("pre", "a.txt,b.bin,exe.sh,sub2,victim.txt");
    list_line(".", "d2,hole.bin,pre");
    list_line("d2", "f2");
}

void ps_group_names(void)
{
    rename_lines();
    unlink_lines();
    long r = access("pre/exe.sh", X_OK);
    ps_ret("access X_OK on 0755", r, errno, 0, NULL);
    r = access("pre/a.txt", X_OK);
    ps_err("access X_OK on 0644 (even root)", r, errno, EACCES);
    r = access("pre/a.txt", R_OK | W_OK);
    ps_ret("access R_OK|W_OK", r, errno, 0, NULL);
    r = access("nosuch.txt", F_OK);
    ps_err("access missing", r, errno, ENOENT);
}
