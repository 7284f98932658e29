/* proc.c - managed fds across exec: hand them to the next image, or find them at start-up. */
#define _GNU_SOURCE
#include "client.h"
#include "log.h"
#include "path.h"
#include "real.h"
#include "rundir.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int handover_path(char *out)
{
    int n = snprintf(out, PATH_MAX, "%s/exec.%d", ebt.stage_dir, (int)getpid());
    return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* One line per inherited fd: "fd kind flags track meta_ino based published base lock_fd\tlogical
 * \tstage phys\tstage layer\n". Data is published first, so no extents travel. */
static int handover_line(char *line, size_t cap, int fd, struct ebt_ofd *o)
{
    struct ebt_stage *s = o->stage;
    return snprintf(line, cap, "%d %d %d %d %llu %d %d %llu %d\t%s\t%s\t%s\n", fd, o->kind,
                    o->flags, o->track, o->meta_ino, s ? s->based : 0, s ? s->published : 0,
                    s ? (unsigned long long)s->base_size : 0ULL, o->lock_fd, o->logical,
                    s ? s->phys : "-", s ? s->layer : "-");
}

/* A lock held through a handed-over fd stays held in the next image (natively the open file
 * description carries it); one that only a CLOEXEC fd holds goes with that fd. */
static void handover_lock_fd(struct ebt_ofd *o, int borrowed)
{
    if (!borrowed) /* a vfork child must not store an fd of its own table in shared memory */
        ebt_lock_prepare_share(o);
    if (o->lock_fd >= 0)
        syscall(SYS_fcntl, o->lock_fd, F_SETFD, 0);
}

void ebt_exec_prepare(void)
{
    if (!ebt.enabled)
        return;
    char path[PATH_MAX], line[3 * PATH_MAX + 128];
    int out = -1, borrowed = ebt.pid != getpid();
    if (!borrowed)
        fflush(NULL);
    for (int fd = 0; fd < ebt_fd_table_size(); fd++) {
        struct ebt_ofd *o = ebt_fd_get(fd);
        if (!o)
            continue;
        if (!borrowed) /* (a vfork child borrows the parent's memory: the parent publishes) */
            ebt_sync_managed(fd); /* an exec closes CLOEXEC fds and starts a new table */
        if (syscall(SYS_fcntl, fd, F_GETFD) & FD_CLOEXEC)
            continue;
        if (out < 0 &&
            (handover_path(path) < 0 ||
             (out = ebt_sys_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0))
            return;
        handover_lock_fd(o, borrowed);
        int n = handover_line(line, sizeof(line), fd, o);
        if (n > 0 && (size_t)n < sizeof(line))
            ebt_write_full(out, line, (size_t)n);
    }
    if (out >= 0)
        ebt_sys_close(out);
}

/* Records handed over in one exec, by their lock fd: two inherited fds of one record (`>out 2>&1`)
 * carry the same lock fd and become one record again, as before the exec (dup sharing). */
#define ADOPT_MAX 256
static struct {
    int lock_fd;
    struct ebt_ofd *o;
} adopted[ADOPT_MAX];
static int nadopted;

static struct ebt_ofd *adopted_record(int lock_fd)
{
    for (int i = 0; lock_fd >= 0 && i < nadopted; i++)
        if (adopted[i].lock_fd == lock_fd)
            return adopted[i].o;
    return NULL;
}

/* The lock fd of a handed-over record, if still open (CLOEXEC again: ours, not the program's). */
static int adopt_lock_fd(int lock_fd)
{
    if (lock_fd < 0 || syscall(SYS_fcntl, lock_fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    return lock_fd;
}

static void adopt_line(char *line)
{
    int fd, kind, flags, track, based, published, lock_fd;
    unsigned long long ino, base;
    char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    char *tab3 = tab2 ? strchr(tab2 + 1, '\t') : NULL;
    if (!tab3 || sscanf(line, "%d %d %d %d %llu %d %d %llu %d", &fd, &kind, &flags, &track, &ino,
                        &based, &published, &base, &lock_fd) != 9)
        return;
    *tab1 = *tab2 = *tab3 = '\0';
    char *nl = strchr(tab3 + 1, '\n');
    if (nl)
        *nl = '\0';
    if (syscall(SYS_fcntl, fd, F_GETFD) < 0 || ebt_fd_get(fd))
        return; /* closed meanwhile, or already known */
    struct ebt_ofd *o = adopted_record(lock_fd);
    if (o) { /* another fd of the same record */
        ebt_ofd_ref(o);
        ebt_fd_set(fd, o);
        return;
    }
    o = ebt_ofd_new(kind, flags, tab1 + 1);
    if (!o)
        return;
    o->track = track;
    o->untracked_writes = track; /* the new image may write through stdio: publish whole */
    o->lock_fd = adopt_lock_fd(lock_fd);
    o->meta_ino = ino;
    if (kind == EBT_OFD_STAGE) {
        o->stage = ebt_stage_adopt(tab1 + 1, tab2 + 1, tab3 + 1);
        if (!o->stage) {
            free(o);
            return;
        }
        o->stage->based = based;
        o->stage->published = published;
        o->stage->base_size = base;
        __atomic_add_fetch(&o->stage->users, 1, __ATOMIC_ACQ_REL);
    }
    if (o->lock_fd >= 0 && nadopted < ADOPT_MAX)
        adopted[nadopted++] = (__typeof__(adopted[0])){o->lock_fd, o};
    else if (o->lock_fd >= 0 && adopted_record(o->lock_fd) == NULL && nadopted >= ADOPT_MAX)
        o->lock_fd = (int)syscall(SYS_fcntl, o->lock_fd, F_DUPFD_CLOEXEC, 0); /* never shared */
    ebt_fd_set(fd, o);
}

static int adopt_handover(void)
{
    char path[PATH_MAX];
    nadopted = 0;
    if (handover_path(path) < 0)
        return 0;
    int fd = ebt_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    char *buf = malloc(1 << 20);
    ssize_t n = buf ? ebt_sys_read(fd, buf, (1 << 20) - 1) : -1;
    ebt_sys_close(fd);
    ebt_sys_unlink(path);
    if (n <= 0) {
        free(buf);
        return 0;
    }
    buf[n] = '\0';
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        adopt_line(l);
    free(buf);
    return 1;
}

/* A layer file inherited without hand-over: recognise it by its path. */
static void adopt_fd_by_path(int fd)
{
    char link[64], phys[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = ebt_sys_readlink(link, phys, sizeof(phys) - 1);
    if (n <= 0)
        return;
    phys[n] = '\0';
    size_t k = ebt_path_under(phys, ebt.up_root);
    if (!k)
        k = ebt_path_under(phys, ebt.task_root);
    if (!k) {
        if (ebt_path_under(phys, ebt.stage_dir))
            ebt_warn_once("inherited a private stage without hand-over; it stays private", phys);
        return;
    }
    struct stat st;
    int flags = (int)syscall(SYS_fcntl, fd, F_GETFL);
    if (ebt_sys_fstat(fd, &st) < 0 || flags < 0)
        return;
    struct ebt_ofd *o =
        ebt_ofd_new(S_ISDIR(st.st_mode) ? EBT_OFD_DIR : EBT_OFD_LAYER, flags, phys + k);
    if (!o)
        return;
    if (!S_ISDIR(st.st_mode) && ebt_meta_exists(st.st_ino)) {
        o->track = 1;
        o->untracked_writes = 1;
        o->meta_ino = st.st_ino;
    }
    ebt_fd_set(fd, o);
}

/* Without a hand-over (posix_spawn, a non-preloaded parent): look at the open fds only. */
static void adopt_by_scan(void)
{
    int dir = ebt_sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    char buf[4096];
    ssize_t n;
    if (dir < 0)
        return;
    while ((n = ebt_sys_getdents64(dir, buf, sizeof(buf))) > 0) {
        for (ssize_t pos = 0; pos < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + pos);
            pos += d->d_reclen;
            int fd = atoi(d->d_name);
            if (d->d_name[0] != '.' && fd != dir)
                adopt_fd_by_path(fd);
        }
    }
    ebt_sys_close(dir);
}

void ebt_exec_adopt(void)
{
    if (!adopt_handover())
        adopt_by_scan();
}
