/* journal.c - append-only flush journal with an in-memory set of finished paths. */
#define _GNU_SOURCE
#include "journal.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

int ebt_journal_escape(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in; in++) {
        int two = *in == '\\' || *in == '\n';
        if (o + 2 + 1 > cap)
            return -ENAMETOOLONG;
        if (two) {
            out[o++] = '\\';
            out[o++] = *in == '\n' ? 'n' : '\\';
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
    return 0;
}

int ebt_journal_unescape(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 1 >= cap)
            return -ENAMETOOLONG;
        if (in[i] == '\\' && i + 1 < n) {
            i++;
            out[o++] = in[i] == 'n' ? '\n' : in[i];
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
    return 0;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static char **set_slot(char **slots, size_t nslots, const char *s)
{
    size_t i = hash_str(s) & (nslots - 1);
    while (slots[i] && strcmp(slots[i], s) != 0)
        i = (i + 1) & (nslots - 1);
    return &slots[i];
}

static int set_grow(struct ebt_journal *j)
{
    size_t n = j->nslots ? j->nslots * 2 : 1024;
    char **s = calloc(n, sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < j->nslots; i++)
        if (j->slots[i])
            *set_slot(s, n, j->slots[i]) = j->slots[i];
    free(j->slots);
    j->slots = s;
    j->nslots = n;
    return 0;
}

static int set_add(struct ebt_journal *j, const char *path)
{
    if ((j->nused + 1) * 2 > j->nslots && set_grow(j) < 0)
        return -ENOMEM;
    char **slot = set_slot(j->slots, j->nslots, path);
    if (*slot)
        return 0;
    if (!(*slot = strdup(path)))
        return -ENOMEM;
    j->nused++;
    return 0;
}

static void set_clear(struct ebt_journal *j)
{
    for (size_t i = 0; i < j->nslots; i++)
        free(j->slots[i]);
    free(j->slots);
    j->slots = NULL;
    j->nslots = j->nused = 0;
}

static void read_time(const char *text, size_t n, struct timespec *out)
{
    char buf[64];
    long long sec, nsec;
    if (n >= sizeof(buf))
        return;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (sscanf(buf, "%lld %lld", &sec, &nsec) == 2 && sec >= 0 && nsec >= 0 && nsec < 1000000000)
        *out = (struct timespec){(time_t)sec, (long)nsec};
}

/* Keep EBT_JOURNAL_RESERVE bytes allocated beyond the journal's end. A file system without
 * fallocate, or one already full, simply gets no reserve: the write that follows reports. */
static off_t reserve_size(int fd)
{
    struct statfs sf;
    off_t total = fstatfs(fd, &sf) == 0 ? (off_t)sf.f_blocks * (off_t)sf.f_bsize : 0;
    off_t r = total / 16; /* a small cache file system gives up no more than 1/16th */
    if (r > (off_t)EBT_JOURNAL_RESERVE || r <= 0)
        r = EBT_JOURNAL_RESERVE;
    return r < 16384 ? 16384 : r & ~(off_t)4095;
}

static void journal_reserve(struct ebt_journal *j, off_t end)
{
    if (j->reserved_to < 0 || (j->reserve && end + j->reserve / 4 < j->reserved_to))
        return;
    if (!j->reserve)
        j->reserve = reserve_size(j->fd);
    off_t to = end + j->reserve;
    if (fallocate(j->fd, FALLOC_FL_KEEP_SIZE, 0, to) == 0)
        j->reserved_to = to;
    else if (errno == EOPNOTSUPP || errno == ENOSYS)
        j->reserved_to = -1;
}

/* Append one line; the reserve is topped up first. Called with j->mu held (or single-threaded). */
static int journal_append(struct ebt_journal *j, const char *line, size_t n)
{
    journal_reserve(j, j->end + (off_t)n);
    int rc = ebt_write_full(j->fd, line, n);
    if (rc == 0)
        j->end += (off_t)n;
    return rc;
}

int ebt_journal_create(const char *run_dir)
{
    char path[PATH_MAX];
    if (ebt_rundir_file(run_dir, EBT_JOURNAL_NAME, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    int fd = ebt_sys_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, reserve_size(fd)) < 0 && errno != EOPNOTSUPP &&
        errno != ENOSYS)
        rc = -errno;
    ebt_sys_close(fd);
    return rc;
}

static int write_time(struct ebt_journal *j, char tag, const struct timespec *t)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%c %lld %ld\n", tag, (long long)t->tv_sec, t->tv_nsec);
    return journal_append(j, line, (size_t)n);
}

static int journal_line(struct ebt_journal *j, const char *line, size_t n)
{
    char path[PATH_MAX];
    if (n == 4 && !memcmp(line, "DONE", 4))
        j->complete = 1;
    else if (n == 1 && line[0] == 'W')
        j->wh_done = 1;
    else if (n == 1 && line[0] == 'D')
        j->dirs_done = 1;
    else if (n > 2 && (line[0] == 'S' || line[0] == 'P') && line[1] == ' ')
        read_time(line + 2, n - 2, line[0] == 'S' ? &j->start : &j->since);
    else if (n > 2 && line[0] == 'F' && line[1] == ' ' &&
             ebt_journal_unescape(line + 2, n - 2, path, sizeof(path)) == 0)
        return set_add(j, path);
    return 0; /* unknown or torn lines are ignored: their step is simply redone */
}

static int journal_load(struct ebt_journal *j)
{
    struct stat st;
    if (ebt_sys_fstat(j->fd, &st) < 0)
        return -errno;
    j->end = st.st_size;
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    ssize_t got = 0;
    while (got < st.st_size) {
        ssize_t r = ebt_sys_pread(j->fd, buf + got, (size_t)(st.st_size - got), got);
        if (r <= 0)
            break;
        got += r;
    }
    int rc = 0;
    for (char *p = buf, *end = buf + got; p < end && rc == 0;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* torn last line: not finished */
        rc = journal_line(j, p, (size_t)(nl - p));
        p = nl + 1;
    }
    free(buf);
    return rc;
}

/* A journal of a completed flush is history: start a new one, which needs to write only what
 * changed since that flush started. */
static int journal_restart(struct ebt_journal *j)
{
    struct timespec last = j->start;
    set_clear(j);
    j->wh_done = j->dirs_done = j->complete = 0;
    j->since = last;
    j->start = (struct timespec){0, 0};
    if (ebt_sys_ftruncate(j->fd, 0) < 0)
        return -errno;
    j->end = 0;
    if (j->reserved_to > 0)
        j->reserved_to = 0;
    journal_reserve(j, 0); /* at once, while the blocks the truncation freed are still free */
    return 0;
}

/* The journal's ctime after a change made once its ctime was read: 0 or -errno. */
static int touch_ctime(struct ebt_journal *j, struct timespec *out)
{
    struct stat st;
    if (ebt_sys_fstat(j->fd, &st) < 0 || futimens(j->fd, NULL) < 0 || ebt_sys_fstat(j->fd, &st) < 0)
        return -errno;
    *out = st.st_ctim;
    return 0;
}

static int ts_after(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* "Now" as the cache file system stamps status changes (journal.h): the journal's ctime after a
 * second change that got a later time than a first one. With multigrain timestamps a change can
 * be stamped with the file system's floor, the fine time last handed out, so one change of the
 * journal may carry the very time of a file changed just before (that file then looked changed
 * at the stamp, and the next flush rewrote it); the second change of an inode whose ctime was
 * read gets a fine time beyond that floor, which no later stamp, coarse or fine, precedes. On a
 * coarse-only file system the loop waits for the next tick of its clock. */
void ebt_journal_stamp(struct ebt_journal *j, struct timespec *out)
{
    struct timespec first, now;
    if (touch_ctime(j, &first) < 0) {
        clock_gettime(CLOCK_REALTIME_COARSE, out); /* never after a later change's stamp */
        return;
    }
    *out = first; /* ties count as changed since: a needless rewrite at worst */
    for (int i = 0; i < 200 && touch_ctime(j, &now) == 0; i++) {
        if (ts_after(&now, &first)) {
            *out = now;
            return;
        }
        usleep(100);
    }
}

/* A new journal says when its flush started (anything changed from then on has a status change
 * time at or after it), and since when it flushes. */
static int journal_begin(struct ebt_journal *j)
{
    ebt_journal_stamp(j, &j->start);
    int rc = write_time(j, 'S', &j->start);
    if (rc == 0 && (j->since.tv_sec || j->since.tv_nsec))
        rc = write_time(j, 'P', &j->since);
    return rc;
}

int ebt_journal_open(const char *run_dir, struct ebt_journal *j)
{
    char path[PATH_MAX];
    memset(j, 0, sizeof(*j));
    if (ebt_rundir_file(run_dir, EBT_JOURNAL_NAME, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    j->fd = ebt_sys_open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0)
        return -errno;
    int rc = syscall(SYS_flock, j->fd, LOCK_EX | LOCK_NB) < 0
                 ? (errno == EWOULDBLOCK ? -EBUSY : -errno)
                 : 0;
    if (rc == 0)
        rc = journal_load(j);
    if (rc == 0 && j->complete)
        rc = journal_restart(j);
    if (rc == 0 && !j->start.tv_sec && !j->start.tv_nsec)
        rc = journal_begin(j);
    if (rc < 0) {
        ebt_journal_close(j);
        return rc;
    }
    pthread_mutex_init(&j->mu, NULL);
    return 0;
}

void ebt_journal_close(struct ebt_journal *j)
{
    if (j->fd >= 0)
        ebt_sys_close(j->fd);
    j->fd = -1;
    set_clear(j);
}

int ebt_journal_has(struct ebt_journal *j, const char *path)
{
    if (j->nslots == 0)
        return 0;
    pthread_mutex_lock(&j->mu);
    int has = *set_slot(j->slots, j->nslots, path) != NULL;
    pthread_mutex_unlock(&j->mu);
    return has;
}

int ebt_journal_file_done(struct ebt_journal *j, const char *path)
{
    char line[PATH_MAX * 2 + 4];
    line[0] = 'F';
    line[1] = ' ';
    if (ebt_journal_escape(path, line + 2, sizeof(line) - 3) < 0)
        return -ENAMETOOLONG;
    size_t n = strlen(line);
    line[n++] = '\n';
    pthread_mutex_lock(&j->mu);
    int rc = journal_append(j, line, n);
    if (rc == 0)
        rc = set_add(j, path);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

int ebt_journal_mark(struct ebt_journal *j, const char *tag)
{
    char line[16];
    size_t n = strlen(tag);
    if (n + 2 > sizeof(line))
        return -EINVAL;
    memcpy(line, tag, n);
    line[n++] = '\n';
    pthread_mutex_lock(&j->mu);
    int rc = journal_append(j, line, n);
    pthread_mutex_unlock(&j->mu);
    if (rc == 0 && !strcmp(tag, "DONE"))
        j->complete = 1;
    return rc;
}
