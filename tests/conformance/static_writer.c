/* static_writer.c - a statically linked program (no preload can reach it): write argv[2] and a
 * newline to the file argv[1] with raw open/write/close. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 1;
    size_t n = strlen(argv[2]);
    int ok = write(fd, argv[2], n) == (ssize_t)n && write(fd, "\n", 1) == 1;
    return close(fd) == 0 && ok ? 0 : 1;
}
