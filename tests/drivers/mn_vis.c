/* mn_vis - producer/consumer visibility check across (virtual) nodes.
 *
 * The producer creates DIR/vis_MODE.dat and writes it in two chunks while holding it open, then
 * closes it; the consumer (another node) checks after each step what the visibility mode promises.
 * The two synchronise through marker files in SYNC, a directory outside the managed tree:
 *   producer: write chunk 1 -> "w1" ... wait "c1" -> write chunk 2 -> "w2" ... wait "c2"
 *             -> close -> "closed" ... wait "c3" -> exit
 *   consumer: wait "w1" -> check -> "c1"; wait "w2" -> check -> "c2"; wait "closed" -> check ->
 * "c3" Expected (MODE): write: chunk 1, then chunks 1+2, then all (fresh open and stat each time);
 *                  close: ENOENT, ENOENT, all;   task: ENOENT, ENOENT, ENOENT.
 * `check-hidden MODE DIR` (ENOENT) and `check-final MODE DIR` (whole content) are for the script:
 * after the producer exited, and after `ebt flush`.
 * Usage: mn_vis produce|consume MODE DIR SYNC | check-hidden|check-final MODE DIR
 * Exit 0 if every check passed, 1 if one failed, 2 for usage/setup errors. */
#define _GNU_SOURCE
#include "drv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VIS_SEED 0x6d6e7669ULL
#define CHUNK1 65536
#define TOTAL 100003 /* chunk 2 is odd-sized */
#define WAIT_S 30

static const char *g_mode, *g_dir, *g_sync;
static char g_file[4096];

static void mark(const char *name)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", g_sync, name);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || close(fd) < 0)
        drv_die(errno, "create marker %s", p);
}

/* Wait for marker NAME; exit 1 after WAIT_S seconds (the peer failed or hung). */
static void wait_for(const char *name)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", g_sync, name);
    for (int i = 0; i < WAIT_S * 200; i++) {
        if (stat(p, &st) == 0)
            return;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    drv_err(0, "FAIL: waited %d s for marker %s: the other side failed or hangs", WAIT_S, name);
    exit(1);
}

static int in_listing(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    int found = 0;
    if (!d)
        return drv_err(errno, "opendir %s", g_dir), -1;
    while ((e = readdir(d)))
        found |= strcmp(e->d_name, strrchr(g_file, '/') + 1) == 0;
    closedir(d);
    return found;
}

/* The file is absent: stat and open say ENOENT, readdir does not list it. */
static int expect_absent(const char *when)
{
    struct stat st;
    int bad = 0;
    if (stat(g_file, &st) == 0)
        bad = 1, drv_err(0, "FAIL %s: stat %s: expected ENOENT, it exists (size %lld)", when,
                         g_file, (long long)st.st_size);
    else if (errno != ENOENT)
        bad = 1, drv_err(errno, "FAIL %s: stat %s: expected ENOENT", when, g_file);
    int fd = open(g_file, O_RDONLY);
    if (fd >= 0 || errno != ENOENT)
        bad = 1, drv_err(0, "FAIL %s: open: expected ENOENT, got %s", when,
                         fd >= 0 ? "an fd" : strerror(errno));
    if (fd >= 0)
        close(fd);
    if (in_listing() != 0)
        bad = 1, drv_err(0, "FAIL %s: readdir %s lists the file (or failed)", when, g_dir);
    if (!bad)
        printf("ok %s: %s absent (stat, open, readdir)\n", when, g_file);
    return bad;
}

/* The file holds exactly the first n bytes of the pattern: stat, fresh open + read, readdir. */
static int expect_content(const char *when, size_t n)
{
    struct stat st;
    static unsigned char buf[TOTAL + 1];
    if (stat(g_file, &st) < 0)
        return drv_err(errno, "FAIL %s: stat %s", when, g_file), 1;
    if ((size_t)st.st_size != n)
        return drv_err(0, "FAIL %s: stat size %lld, expected %zu", when, (long long)st.st_size, n),
               1;
    int fd = open(g_file, O_RDONLY);
    if (fd < 0)
        return drv_err(errno, "FAIL %s: open %s", when, g_file), 1;
    ssize_t got = drv_read_upto(fd, buf, sizeof(buf));
    close(fd);
    if (got != (ssize_t)n)
        return drv_err(errno, "FAIL %s: read %zd bytes, expected %zu", when, got, n), 1;
    long m = drv_verify(buf, n, VIS_SEED, 0);
    if (m >= 0)
        return drv_err(0, "FAIL %s: wrong byte at offset %ld", when, m), 1;
    if (in_listing() != 1)
        return drv_err(0, "FAIL %s: readdir %s does not list the file", when, g_dir), 1;
    printf("ok %s: %s has the %zu bytes written (stat, open+read, readdir)\n", when, g_file, n);
    return 0;
}

static int produce(void)
{
    static unsigned char buf[TOTAL];
    drv_fill(buf, TOTAL, VIS_SEED, 0);
    int fd = open(g_file, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0)
        drv_die(errno, "create %s", g_file);
    if (drv_write_all(fd, buf, CHUNK1) < 0)
        drv_die(errno, "write chunk 1");
    mark("w1");
    wait_for("c1");
    if (drv_write_all(fd, buf + CHUNK1, TOTAL - CHUNK1) < 0)
        drv_die(errno, "write chunk 2");
    mark("w2");
    wait_for("c2");
    /* the writer always sees its own data */
    int bad = expect_content("producer before close", TOTAL);
    if (close(fd) < 0)
        drv_die(errno, "close");
    mark("closed");
    wait_for("c3");
    return bad;
}

static int consume(void)
{
    int w = strcmp(g_mode, "write") == 0, c = strcmp(g_mode, "close") == 0;
    int bad = 0;
    wait_for("w1");
    bad |= w ? expect_content("after write 1, open", CHUNK1) : expect_absent("after write 1, open");
    mark("c1");
    wait_for("w2");
    bad |= w ? expect_content("after write 2, open", TOTAL) : expect_absent("after write 2, open");
    mark("c2");
    wait_for("closed");
    bad |= (w || c) ? expect_content("after close", TOTAL) : expect_absent("after close");
    mark("c3");
    return bad;
}

int main(int argc, char **argv)
{
    drv_set_prog(argv[0]);
    if (argc < 4 || (strncmp(argv[1], "check-", 6) != 0 && argc != 5)) {
        fprintf(stderr,
                "usage: %s produce|consume MODE DIR SYNC | check-hidden|check-final MODE DIR\n",
                argv[0]);
        return 2;
    }
    g_mode = argv[2], g_dir = argv[3], g_sync = argc > 4 ? argv[4] : NULL;
    if (strcmp(g_mode, "write") && strcmp(g_mode, "close") && strcmp(g_mode, "task"))
        drv_die(0, "MODE must be write, close or task");
    snprintf(g_file, sizeof(g_file), "%s/vis_%s.dat", g_dir, g_mode);
    int bad;
    if (strcmp(argv[1], "produce") == 0)
        bad = produce();
    else if (strcmp(argv[1], "consume") == 0)
        bad = consume();
    else if (strcmp(argv[1], "check-hidden") == 0)
        bad = expect_absent("check-hidden");
    else if (strcmp(argv[1], "check-final") == 0)
        bad = expect_content("check-final", TOTAL);
    else
        drv_die(0, "unknown command %s", argv[1]);
    printf("%s mn_vis %s %s\n", bad ? "FAIL" : "ok", argv[1], g_mode);
    return bad ? 1 : 0;
}
