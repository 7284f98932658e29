/* stdio_mix - output whose bytes' order depends on stdio's buffering of stdout and stderr:
 * printf/fputs lines interleaved with write(2) on the same fds, a fflush now and then, a large
 * fwrite, setvbuf-free; with an argument, the same on a file it opens with fopen. Run natively and
 * under EBT with stdout and stderr redirected to files; the files must be identical (EBT gives such
 * streams glibc's own buffer sizes). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* printf-style lines on f mixed with write(2) on its fd. */
static int mix_file(FILE *f)
{
    char b[64];
    for (int i = 0; i < 3000; i++) {
        fprintf(f, "f%d\n", i);
        if (i % 89 == 0) {
            int n = snprintf(b, sizeof(b), "W%d\n", i);
            if (write(fileno(f), b, (size_t)n) != n) {
                perror("stdio_mix: write(fileno)");
                return 1;
            }
        }
    }
    if (fclose(f) != 0) {
        perror("stdio_mix: fclose");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char big[20000], b[64];
    memset(big, 'x', sizeof(big));
    if (argc > 1) {
        FILE *f = fopen(argv[1], "w");
        if (!f)
            perror("stdio_mix: fopen");
        if (!f || mix_file(f))
            return 1;
    }
    for (int i = 0; i < 3000; i++) {
        printf("p%d\n", i);
        fprintf(stderr, "e%d ", i);
        if (i % 97 == 0) {
            int n = snprintf(b, sizeof(b), "w%d\n", i);
            if (write(1, b, (size_t)n) != n || write(2, b, (size_t)n) != n)
                return 1;
        }
        if (i % 1000 == 999)
            fflush(stdout);
        if (i == 1500)
            fwrite(big, 1, sizeof(big), stdout);
    }
    return 0;
}
