/* fdtable.c - which kernel fds are managed: a table indexed by fd number -> open-file record. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The table is indexed by the kernel's own fd number. A managed fd is always a real open file
 * (a layer, stage or PFS file), so the kernel can never hand that number to another file while
 * the entry lives: the entry is cleared in the same wrapper that closes the number. */
static struct ebt_ofd **table;
static int table_size;
static int table_high; /* one past the highest fd ever set */

static int ensure_table(void)
{
    if (table)
        return 0;
    struct rlimit rl;
    int n = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
        rl.rlim_max < 1u << 20)
        n = (int)rl.rlim_max;
    table = calloc((size_t)n, sizeof(*table));
    if (!table)
        return -1;
    table_size = n;
    return 0;
}

int ebt_fd_table_size(void)
{
    return table_high;
}

struct ebt_ofd *ebt_fd_get(int fd)
{
    if (fd < 0 || fd >= table_size)
        return NULL;
    return __atomic_load_n(&table[fd], __ATOMIC_ACQUIRE);
}

void ebt_fd_set(int fd, struct ebt_ofd *o)
{
    /* fds 0-2 carry the stdio streams made at start-up: their writes never reach write() */
    if (o && o->track && fd <= 2)
        o->untracked_writes = 1;
    pthread_mutex_lock(&ebt.lock);
    if (ensure_table() == 0 && fd >= 0 && fd < table_size) {
        __atomic_store_n(&table[fd], o, __ATOMIC_RELEASE);
        if (fd >= table_high)
            table_high = fd + 1;
    }
    pthread_mutex_unlock(&ebt.lock);
}

/* After fork both processes may write through shared descriptions, and a child that leaves
 * with _exit() never reports its extents: publish such files whole. Called with ebt.lock. */
void ebt_fd_prepare_fork(void)
{
    for (int fd = 0; fd < table_high; fd++)
        if (table[fd])
            ebt_lock_prepare_share(table[fd]);
}

void ebt_fd_mark_shared_writers(void)
{
    for (int fd = 0; fd < table_high; fd++) {
        struct ebt_ofd *o = table[fd];
        if (o)
            o->forked = 1;
        if (o && o->track)
            o->untracked_writes = 1;
    }
}

/* In the child: the only thread left. A record's mutex may have been held by another thread of
 * the parent (a write in progress) that does not exist here: start every one unlocked, or the
 * child would hang at its first write, close or _exit. */
void ebt_fd_reset_locks_in_child(void)
{
    for (int fd = 0; fd < table_high; fd++)
        if (table[fd])
            pthread_mutex_init(&table[fd]->lock, NULL);
}

struct ebt_ofd *ebt_fd_take(int fd)
{
    if (fd < 0 || fd >= table_size)
        return NULL;
    return __atomic_exchange_n(&table[fd], NULL, __ATOMIC_ACQ_REL);
}

void ebt_ofd_ref(struct ebt_ofd *o)
{
    __atomic_add_fetch(&o->refs, 1, __ATOMIC_ACQ_REL);
}

struct ebt_ofd *ebt_ofd_new(int kind, int flags, const char *logical)
{
    struct ebt_ofd *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->refs = 1;
    o->lock_fd = -1;
    o->kind = kind;
    o->flags = flags;
    pthread_mutex_init(&o->lock, NULL);
    ebt_ivs_init(&o->ext);
    snprintf(o->logical, sizeof(o->logical), "%s", logical);
    return o;
}

int ebt_fd_repoint(struct ebt_ofd *o, int newfd)
{
    for (int i = 0; i < table_high; i++) {
        if (__atomic_load_n(&table[i], __ATOMIC_ACQUIRE) != o)
            continue;
        int cloexec = (int)syscall(SYS_fcntl, i, F_GETFD) & FD_CLOEXEC;
        if (syscall(SYS_dup3, newfd, i, cloexec ? O_CLOEXEC : 0) < 0)
            return -errno;
    }
    return 0;
}
