/* mdfd.c - opens of files under input trees relative to a cached directory fd: the kernel then
 * looks up only the last name on the PFS instead of every component of the path (on Lustre,
 * and on the simulator, each component of a path walk can be an MDS lookup). Per process: 64
 * O_PATH directory fds, kept at high numbers (>= 512, close-on-exec) so the application's own
 * numbering is unchanged, each checked before use (the application may have closed or reused
 * the number: then it is forgotten, never closed by us). */
#define _GNU_SOURCE
#include "client.h"
#include "incache.h"
#include "mdcache.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#define MDFD_SLOTS 64
#define MDFD_MIN 512 /* lowest number of a cached directory fd */

struct mdfd_slot {
    int fd;               /* -1: empty */
    char dir[PATH_MAX];   /* the path it was opened with */
    char kpath[PATH_MAX]; /* what /proc/self/fd/<fd> said then */
};

static struct mdfd_slot slots[MDFD_SLOTS];
static int slots_ready;
static pthread_rwlock_t mdfd_lock = PTHREAD_RWLOCK_INITIALIZER; /* write: change a slot */

/* 0: before fork, 1: after, in the parent; 2: in the child, where glibc's rwlock cannot be
 * unlocked (its writer was another thread id): made new, the slots are the parent's. */
void ebt_mdfd_atfork(int phase)
{
    if (phase == 0)
        pthread_rwlock_wrlock(&mdfd_lock);
    else if (phase == 1)
        pthread_rwlock_unlock(&mdfd_lock);
    else
        pthread_rwlock_init(&mdfd_lock, NULL);
}

static unsigned dir_hash(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h % MDFD_SLOTS;
}

/* The number still reaches the directory it was opened on. */
static int slot_valid(const struct mdfd_slot *s)
{
    char link[64], now[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", s->fd);
    ssize_t n = ebt_sys_readlink(link, now, sizeof(now) - 1);
    if (n <= 0)
        return 0;
    now[n] = '\0';
    return !strcmp(now, s->kpath);
}

/* Open dir O_PATH into slot s (write lock held). 0 or -errno. */
static int slot_fill(struct mdfd_slot *s, const char *dir)
{
    if (s->fd >= 0 && slot_valid(s))
        ebt_sys_close(s->fd);
    s->fd = -1;
    int fd = ebt_sys_open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, MDFD_MIN);
    ebt_sys_close(fd);
    if (high < 0)
        return -errno;
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", high);
    ssize_t n = ebt_sys_readlink(link, s->kpath, sizeof(s->kpath) - 1);
    if (n <= 0) {
        ebt_sys_close(high);
        return -EIO;
    }
    s->kpath[n] = '\0';
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    s->fd = high;
    return 0;
}

/* op on the slot's fd if it holds dir (read lock held): op's value, or 1 (not there). */
static int call_in_slot(const struct mdfd_slot *s, const char *dir, const char *name,
                        int (*op)(int, const char *, void *), void *ctx)
{
    if (s->fd < 0 || strcmp(s->dir, dir) || !slot_valid(s))
        return 1;
    return op(s->fd, name, ctx);
}

int ebt_mdfd_call(const char *phys, int (*op)(int dirfd, const char *name, void *ctx), void *ctx)
{
    const char *slash = strrchr(phys, '/');
    if (!slash || slash == phys || !slash[1] || (size_t)(slash - phys) >= PATH_MAX)
        return op(AT_FDCWD, phys, ctx);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - phys), phys);
    struct mdfd_slot *s = &slots[dir_hash(dir, strlen(dir))];
    pthread_rwlock_rdlock(&mdfd_lock);
    int rc = slots_ready ? call_in_slot(s, dir, slash + 1, op, ctx) : 1;
    pthread_rwlock_unlock(&mdfd_lock);
    if (rc != 1)
        return rc;
    pthread_rwlock_wrlock(&mdfd_lock);
    if (!slots_ready) {
        for (int i = 0; i < MDFD_SLOTS; i++)
            slots[i].fd = -1;
        slots_ready = 1;
    }
    rc = call_in_slot(s, dir, slash + 1, op, ctx);
    if (rc == 1 && slot_fill(s, dir) == 0)
        rc = call_in_slot(s, dir, slash + 1, op, ctx);
    pthread_rwlock_unlock(&mdfd_lock);
    return rc == 1 ? op(AT_FDCWD, phys, ctx) : rc; /* no directory fd: the plain path */
}

struct open_ctx {
    int flags;
    mode_t mode;
};

static int open_op(int dirfd, const char *name, void *ctx)
{
    const struct open_ctx *c = ctx;
    int fd = ebt_sys_openat(dirfd, name, c->flags, c->mode);
    return fd < 0 ? -errno : fd;
}

int ebt_mdfd_open(const char *logical, const char *phys, int flags, mode_t mode)
{
    struct open_ctx c = {flags, mode};
    if (ebt_input_of(logical) < 0)
        return open_op(AT_FDCWD, phys, &c);
    int fd = ebt_incache_open(logical, phys, flags); /* the node's copy of the file */
    return fd >= 0 ? fd : ebt_mdfd_call(phys, open_op, &c);
}
