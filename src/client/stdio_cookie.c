/* stdio_cookie.c - writable stdio streams on managed files, as fopencookie streams whose writes
 * go through EBT's write(): glibc's stdio writes a regular stream with internal system calls no
 * wrapper sees, so a full cache gave fwrite/fprintf ENOSPC where write() spills and completes.
 * Such a stream has no fd of its own (fileno gives -1): the registry here maps it to its fd. */
#define _GNU_SOURCE
#include "client.h"
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct cookie {
    int fd;
    FILE *f;
    char *buf; /* the stream's buffer (st_blksize, as glibc gives a stream on a regular file) */
    struct cookie *next;
};

#define BUCKETS 256
static struct cookie *buckets[BUCKETS];
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static int nregistered; /* read without the lock: 0 means fileno has nothing to look up */

static unsigned bucket_of(const FILE *f)
{
    uintptr_t p = (uintptr_t)f;
    return (unsigned)((p >> 4) ^ (p >> 12)) % BUCKETS;
}

static void registry_add(struct cookie *c)
{
    pthread_mutex_lock(&registry_mu);
    unsigned b = bucket_of(c->f);
    c->next = buckets[b];
    buckets[b] = c;
    __atomic_add_fetch(&nregistered, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&registry_mu);
}

static void registry_del(struct cookie *c)
{
    pthread_mutex_lock(&registry_mu);
    for (struct cookie **p = &buckets[bucket_of(c->f)]; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            __atomic_sub_fetch(&nregistered, 1, __ATOMIC_RELEASE);
            break;
        }
    pthread_mutex_unlock(&registry_mu);
}

int ebt_cookie_fd(FILE *f)
{
    if (!f || !__atomic_load_n(&nregistered, __ATOMIC_ACQUIRE))
        return -1;
    int fd = -1;
    pthread_mutex_lock(&registry_mu);
    for (struct cookie *c = buckets[bucket_of(f)]; c; c = c->next)
        if (c->f == f) {
            fd = c->fd;
            break;
        }
    pthread_mutex_unlock(&registry_mu);
    return fd;
}

static ssize_t cookie_read(void *arg, char *buf, size_t n)
{
    return read(((struct cookie *)arg)->fd, buf, n);
}

/* All of it or an error: write() (the wrapper) spills and completes on a full cache. */
static ssize_t cookie_write(void *arg, const char *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(((struct cookie *)arg)->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return done ? (ssize_t)done : -1;
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static int cookie_seek(void *arg, off64_t *pos, int whence)
{
    off64_t r = lseek64(((struct cookie *)arg)->fd, *pos, whence);
    if (r < 0)
        return -1;
    *pos = r;
    return 0;
}

/* fclose: the fd closes through EBT's close(), which publishes. */
static int cookie_close(void *arg)
{
    struct cookie *c = arg;
    registry_del(c);
    int rc = close(c->fd);
    free(c->buf); /* (glibc is done with a buffer it did not allocate once the stream closes) */
    free(c);
    return rc;
}

/* The cookie-stream mode for an fd's open flags. */
static const char *mode_of_fd(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
        return NULL;
    if ((fl & O_ACCMODE) == O_RDWR)
        return (fl & O_APPEND) ? "a+" : "r+";
    return (fl & O_APPEND) ? "a" : "w";
}

/* *stream (stdout or stderr, nothing written yet) on managed fd becomes a cookie stream with the
 * buffering glibc gives such a stream (whole blocks of st_blksize, none for stderr). */
static void adopt_std(FILE **stream, int fd, int unbuffered)
{
    struct stat st;
    const char *mode = ebt_fd_get(fd) ? mode_of_fd(fd) : NULL;
    if (!mode || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return;
    FILE *c = ebt_cookie_open(fd, mode);
    if (!c)
        return;
    if (unbuffered)
        setvbuf(c, NULL, _IONBF, 0);
    fflush(*stream);
    *stream = c;
}

void ebt_cookie_adopt_std(void)
{
    /* C++ iostreams write to the FILE they found at their own start (before ours): two streams
     * on one fd would reorder output. Such programs keep glibc's standard streams. */
    if ((!ebt_fd_get(1) && !ebt_fd_get(2)) || dlsym(RTLD_DEFAULT, "_ZSt4cout"))
        return; /* (most processes: nothing to look up) */
    adopt_std(&stdout, 1, 0);
    adopt_std(&stderr, 2, 1);
}

FILE *ebt_cookie_open(int fd, const char *mode)
{
    struct cookie *c = calloc(1, sizeof(*c));
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    c->fd = fd;
    cookie_io_functions_t io = {cookie_read, cookie_write, cookie_seek, cookie_close};
    c->f = fopencookie(c, mode, io);
    if (!c->f) {
        free(c);
        return NULL;
    }
    /* glibc ignores the size of a setvbuf without a buffer (a cookie stream would get BUFSIZ),
     * and output mixed with write(2) on the fd would come in another order than natively */
    struct stat st;
    size_t size = fstat(fd, &st) == 0 && st.st_blksize > 0 ? (size_t)st.st_blksize : BUFSIZ;
    if ((c->buf = malloc(size)))
        setvbuf(c->f, c->buf, _IOFBF, size);
    registry_add(c);
    return c->f;
}
